//! The optional speed hooks of a [`Policy`]: standing orders the simulator follows without
//! asking, and copies that simulate later busy periods in parallel. A policy opts in through
//! [`Policy::accelerated`]; whatever it promises, the outcome is the plain loop's.

use super::{Decision, Policy, View};
use crate::units::RequestId;

/// A policy's standing order (see [`Accelerated::standing_order`]): what the next decision points
/// decide without the policy being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The request given every idle array.
    pub request: RequestId,
    /// The request whose next tile job joins the request's on the idle array, fused (the
    /// order then covers decision points with one idle array).
    pub partner: Option<RequestId>,
    /// The order also ends when a job of any other request completes, and each use needs
    /// [`Accelerated::confirm`].
    pub checked: bool,
}

impl Standing {
    /// An order that holds until the requests or their layers change.
    pub fn open(request: RequestId) -> Standing {
        Standing {
            request,
            partner: None,
            checked: false,
        }
    }

    /// An order that holds only while no other request's job completes and
    /// [`Accelerated::confirm`] approves.
    pub fn checked(request: RequestId) -> Standing {
        Standing {
            checked: true,
            ..Standing::open(request)
        }
    }

    /// A checked order that gives the idle array to `request` and `partner`, fused.
    pub fn fused(request: RequestId, partner: RequestId) -> Standing {
        Standing {
            partner: Some(partner),
            ..Standing::checked(request)
        }
    }
}

/// What a policy offers to make a simulation faster without changing it.
pub trait Accelerated {
    /// A standing order, asked right after `decision` on `view` when it dropped and cut
    /// nothing: `Some(s)` promises that every later decision point at which `s.request` has
    /// at least as many ready jobs as there are idle arrays gives every idle array to that
    /// request and decides nothing else (with a partner: at which there is one idle array and
    /// both requests have a ready job, runs their next tile jobs fused on it), for as long as
    ///
    /// * the active requests are the same and each is in the same layer,
    /// * no job has been split between K-tiles,
    /// * for an open order, no fused job has completed,
    /// * for a checked order, only jobs of its request and partner have completed, and
    ///   [`Accelerated::confirm`] approves the decision point.
    ///
    /// Meanwhile the simulator dispatches those jobs without asking, so a policy whose state
    /// changes at every decision must not promise, and one whose choice depends on time or on
    /// the requests' progress within a layer must promise only checked orders.
    /// The default promises nothing.
    fn standing_order(&mut self, _view: &View, _decision: &Decision) -> Option<Standing> {
        None
    }
    /// Whether a [`Standing::checked`] order still holds at a decision point, on `view` with
    /// `idle` arrays idle. Since the order only its request and partner have changed: the
    /// other requests have neither dispatched nor completed a job. The default approves.
    fn confirm(&mut self, _view: &View, _idle: usize) -> bool {
        true
    }
    /// Called right after [`Policy::reset`]: a copy to simulate a later busy period with, on
    /// another thread, from an empty accelerator. `Some` only if this policy, once the
    /// accelerator is empty (no request active, every array idle), decides exactly as the
    /// copy would from then on: its state carries nothing across an empty accelerator that
    /// changes a decision. The default (`None`) keeps the simulation in one pass.
    fn fork(&mut self) -> Option<Box<dyn Policy>> {
        None
    }
    /// Takes in what a copy made by [`Accelerated::fork`] recorded over the busy periods it
    /// simulated (statistics such as CD-MSA's rejections). The default ignores it.
    fn join(&mut self, _fork: Box<dyn Policy>) {}
}
