//! Policies that rank requests by a key, kept ranked between decisions: [`Keyed`] holds the
//! active requests in a B-tree by key and, told which requests changed since the last
//! decision ([`Policy::decide_changed`]), re-keys only those, so a decision costs
//! O((a + c) log n) for `a` arrays, `c` changed requests and `n` queued ones, instead of a scan
//! of every queued request.

use super::{Accelerated, Decision, Place, Policy, RequestView, Standing, TenantInfo, View};
use std::collections::{BTreeSet, HashMap};

/// A policy whose decision is [`Decision::assign_greedy_by_key`] over a key.
pub trait Ordered: Policy + Clone {
    /// The rank of a request.
    type Key: Ord + Copy + Send + 'static;
    /// Whether a request's key never changes over its life (the policy may then leave a
    /// standing order: the first request with a ready job keeps taking idle arrays).
    const FIXED: bool;
    /// `r`'s key on accelerators of `arrays` arrays. It depends on `r`'s view only, and on the
    /// decision's time through no more than a shift common to every request: the ranking by
    /// it, ties by place, is the policy's ranking at every decision.
    fn key(&self, r: &RequestView, arrays: usize) -> Self::Key;
}

/// `P` with its active requests kept ranked; decides as `P` does (`P::decide_into` is the
/// definition, and what [`Policy::decide_into`] runs).
#[derive(Debug, Clone)]
pub struct Keyed<P: Ordered> {
    policy: P,
    /// The active requests by (key, place) as of the last decision.
    ranked: BTreeSet<(P::Key, Place)>,
    /// The key each place is ranked under.
    keys: HashMap<Place, P::Key>,
    /// Places found gone while walking the ranking (removed after the walk).
    gone: Vec<(P::Key, Place)>,
    /// Whether the last decision was told what changed (and so the ranking is its view's).
    told: bool,
}

impl<P: Ordered> Keyed<P> {
    /// `policy`, ranked.
    pub fn new(policy: P) -> Self {
        Keyed {
            policy,
            ranked: BTreeSet::new(),
            keys: HashMap::new(),
            gone: Vec::new(),
            told: false,
        }
    }

    /// Re-ranks the requests at `changed` from `view` (those not in it have left).
    fn update(&mut self, view: &View, changed: &[Place]) {
        let arrays = view.num_arrays();
        for &place in changed {
            if let Some(k) = self.keys.remove(&place) {
                self.ranked.remove(&(k, place));
            }
            if let Some(r) = view.find(place) {
                let k = self.policy.key(r, arrays);
                self.ranked.insert((k, place));
                self.keys.insert(place, k);
            }
        }
    }

    /// The ranked requests with a ready job, best first. A request without a ready job has
    /// one running, so at most two per array (fused pairs) are passed over; a place no longer
    /// in the view (left while a copy of the policy decided elsewhere) is noted in `gone`.
    fn ready<'v>(
        ranked: &'v BTreeSet<(P::Key, Place)>,
        gone: &'v mut Vec<(P::Key, Place)>,
        view: &'v View<'v>,
    ) -> impl Iterator<Item = &'v RequestView<'v>> + 'v {
        ranked.iter().filter_map(move |e| match view.find(e.1) {
            None => {
                gone.push(*e);
                None
            }
            Some(r) => (r.ready > 0).then_some(r),
        })
    }

    fn forget_gone(&mut self) {
        for e in self.gone.drain(..) {
            self.ranked.remove(&e);
            self.keys.remove(&e.1);
        }
    }
}

impl<P: Ordered> Policy for Keyed<P> {
    fn name(&self) -> &'static str {
        self.policy.name()
    }

    fn reset(&mut self, tenants: &[TenantInfo], arrays: usize) {
        self.policy.reset(tenants, arrays);
        self.ranked.clear();
        self.keys.clear();
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        self.told = false;
        self.policy.decide_into(view, out);
    }

    fn decide_changed(&mut self, view: &View, changed: &[Place], out: &mut Decision) {
        self.told = true;
        self.update(view, changed);
        let mut idle = view.idle().peekable();
        for r in Keyed::<P>::ready(&self.ranked, &mut self.gone, view) {
            if idle.peek().is_none() {
                break;
            }
            for a in idle.by_ref().take(r.ready) {
                out.assign.push((a, r.id));
            }
        }
        self.forget_gone();
    }

    fn accelerated(&mut self) -> Option<&mut dyn Accelerated> {
        Some(self)
    }
}

impl<P: Ordered> Accelerated for Keyed<P> {
    /// With fixed keys, the first ranked request with a ready job (as `P`'s own order); after a
    /// decision on the view alone, `P`'s own order.
    fn standing_order(&mut self, view: &View, decision: &Decision) -> Option<Standing> {
        if !P::FIXED {
            return None;
        }
        if !self.told {
            return self
                .policy
                .accelerated()
                .and_then(|a| a.standing_order(view, decision));
        }
        let first = Keyed::<P>::ready(&self.ranked, &mut self.gone, view)
            .next()
            .map(|r| Standing::open(r.id));
        self.forget_gone();
        first
    }

    /// The ranking holds only active requests: a copy starts empty.
    fn fork(&mut self) -> Option<Box<dyn Policy>> {
        Some(Box::new(Keyed::new(self.policy.clone())))
    }
}
