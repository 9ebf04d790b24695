//! The discrete-event engine: requests arrive, their jobs (tile jobs and vector jobs) are
//! dispatched to arrays by a [`Policy`], fetch from DRAM what their array's scratchpad does
//! not hold, run for their compute cycles or until the shared DRAM, divided among the streams
//! active at each instant, has moved their bytes, whichever is later, and complete. Time is integer cycles. In
//! functional mode every tile is computed on the array datapath when it is dispatched, and
//! every request's values are checked against the tenant's isolated run.
//!
//! The layers, each in its own file: [`dram`] (the DRAM as a fluid shared by the streams),
//! [`machine`] (the
//! accelerator's state and its transitions: arrive, dispatch, complete, preempt between
//! K-tiles), [`views`] (the policy's view of it), [`check`] (functional value checks),
//! [`engine`] (the event loop and decision point: the definition), [`replay`] (the
//! standing-order replay around the decision point), [`segments`] (busy periods in parallel),
//! [`run`] (the entry points), [`decoder`] (decoder tenants' token loops). Job costs come from [`crate::exec::CostModel`].

mod check;
mod decoder;
mod dram;
mod engine;
mod machine;
mod record;
mod replay;
mod run;
mod segments;
mod setup;
mod tenant;
mod views;

pub use decoder::{Decoder, MAX_BATCH, StepShape, Tokens};
pub use record::{ArrayCounters, RequestRecord, TenantCounters, TokenRecord, Traffic};
pub use run::{simulate, simulate_with};
pub use setup::{isolated_latency, requests, tenants, tenants_within};
pub use tenant::{Job, Layer, Pass, TenantModel};

use crate::exec::Fault;
use crate::units::{ArrayId, Cycles, RequestId, TenantId};
use serde::Serialize;

/// One request to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestSpec {
    /// Index of its tenant in the tenant list.
    pub tenant: usize,
    /// Arrival time.
    pub arrival: Cycles,
    /// Absolute deadline (a decoder request's: its last token's).
    pub deadline: Cycles,
    /// A decoder request's token loop (`None`: one pass of its tenant's program).
    pub tokens: Option<Tokens>,
}

/// What a simulation records besides its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimOptions {
    /// Record every job as a [`Slice`] (for the Chrome trace); memory grows with the jobs.
    pub trace: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions { trace: true }
    }
}

/// Timing only, or values too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Job costs only.
    Timing,
    /// Every tile computed when scheduled and checked against the isolated run.
    Functional {
        /// A fault injected on purpose into one tile job (the `n`-th dispatched), to prove
        /// the check catches it.
        fault: Option<(Fault, u64)>,
    },
}

/// One job as it ran: a slice of the Chrome trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slice {
    /// The array.
    pub array: ArrayId,
    /// The tenant.
    pub tenant: TenantId,
    /// The request.
    pub request: RequestId,
    /// Node index in the tenant's program.
    pub node: usize,
    /// Tile index (`None` for a vector job).
    pub tile: Option<usize>,
    /// Start.
    pub start: Cycles,
    /// Duration.
    pub duration: Cycles,
    /// Ran fused with another request's tile job on the same array.
    pub fused: bool,
}

/// The DRAM bandwidth in use from `at` on (a counter track of the trace).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BandwidthSample {
    /// When it changed.
    pub at: Cycles,
    /// Bytes per cycle in use in total.
    pub total: f64,
    /// Bytes per cycle in use by each tenant, in tenant order.
    pub by_tenant: Vec<f64>,
}

/// A value that differed from the isolated run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mismatch {
    /// The tenant.
    pub tenant: TenantId,
    /// The request.
    pub request: RequestId,
    /// The node (layer) name.
    pub layer: String,
    /// The tile, when one tile's values differed.
    pub tile: Option<usize>,
    /// What differed.
    pub what: String,
}

/// What a simulation produced.
#[derive(Debug, Clone, Default)]
pub struct SimOutcome {
    /// One record per request, in request order.
    pub records: Vec<RequestRecord>,
    /// Per-tenant counters, in tenant order.
    pub counters: Vec<TenantCounters>,
    /// Per-array counters, in array order.
    pub arrays: Vec<ArrayCounters>,
    /// Per tenant, per node of its program: the DRAM traffic and scratchpad hits.
    pub layers: Vec<Vec<Traffic>>,
    /// The DRAM bandwidth in use over time (recorded with the trace).
    pub bandwidth: Vec<BandwidthSample>,
    /// Every job as it ran, in dispatch order.
    pub slices: Vec<Slice>,
    /// Requests whose values were checked (functional mode).
    pub checked: usize,
    /// Every difference from the isolated runs.
    pub mismatches: Vec<Mismatch>,
    /// Events processed.
    pub events: u64,
}
