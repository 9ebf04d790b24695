//! What the simulator records of each request and tenant: the raw facts the metrics of
//! DESIGN section 6 (in `report::metrics`) are computed from.

pub use crate::exec::Traffic;
use crate::units::{Cycles, RequestId, TenantId};
use serde::Serialize;

/// One finished or dropped request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// The tenant it belongs to.
    pub tenant: TenantId,
    /// The request.
    pub request: RequestId,
    /// When it arrived.
    pub arrival: Cycles,
    /// When its first tile started, if it did.
    pub start: Option<Cycles>,
    /// When its last tile finished; `None` if it was dropped.
    pub finish: Option<Cycles>,
    /// Its SLA deadline.
    pub deadline: Cycles,
    /// Its isolated latency T_alone (the model alone on the accelerator).
    pub isolated: Cycles,
}

impl RequestRecord {
    /// Finished by the deadline (never for a dropped request).
    pub fn met(&self) -> bool {
        self.finish.is_some_and(|f| f <= self.deadline)
    }

    /// T_shared = finish − arrival; `None` if dropped.
    pub fn latency(&self) -> Option<Cycles> {
        self.finish.map(|f| f - self.arrival)
    }

    /// NP = T_alone / T_shared, both at least one cycle; `None` if dropped.
    pub fn normalised_progress(&self) -> Option<f64> {
        self.latency()
            .map(|shared| self.isolated.0.max(1) as f64 / shared.0.max(1) as f64)
    }
}

/// Per-tenant counters the simulator accumulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TenantCounters {
    /// Array-cycles spent on the tenant's tile jobs (one array busy for one cycle = 1).
    pub busy_cycles: u64,
    /// Times one of its tasks was preempted.
    pub preemptions: u64,
    /// Its tile jobs that ran fused with another tenant's on one array.
    pub fused_tiles: u64,
    /// Its DRAM traffic and scratchpad hits.
    #[serde(flatten)]
    pub traffic: Traffic,
}

impl std::ops::AddAssign for TenantCounters {
    fn add_assign(&mut self, other: TenantCounters) {
        self.busy_cycles += other.busy_cycles;
        self.preemptions += other.preemptions;
        self.fused_tiles += other.fused_tiles;
        self.traffic += other.traffic;
    }
}

/// Per-array counters the simulator accumulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ArrayCounters {
    /// Cycles the array ran a job.
    pub busy_cycles: u64,
    /// The DRAM traffic and scratchpad hits of its jobs.
    #[serde(flatten)]
    pub traffic: Traffic,
}

impl std::ops::AddAssign for ArrayCounters {
    fn add_assign(&mut self, o: ArrayCounters) {
        self.busy_cycles += o.busy_cycles;
        self.traffic += o.traffic;
    }
}
