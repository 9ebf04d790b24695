//! What the simulator records of each request and tenant: the raw facts the metrics of
//! DESIGN section 6 (in `report::metrics`) are computed from.

use super::Tokens;
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
    /// Its isolated latency T_alone (the model alone on the accelerator; a decoder
    /// request's steps alone, one after another).
    pub isolated: Cycles,
    /// A decoder request's tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenRecord>,
}

/// A decoder request's tokens as they came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// Its token loop and goals.
    pub goals: Tokens,
    /// When its first token came (the prefill's end), if it did.
    pub first: Option<Cycles>,
    /// Tokens produced so far (all of them once it finished).
    pub produced: usize,
}

impl RequestRecord {
    /// Finished by the deadline (never for a dropped request); a decoder request finished
    /// within both its goals: its time to first token at most its TTFT and its mean time
    /// per output token after the first at most its TPOT.
    pub fn met(&self) -> bool {
        match (self.finish, self.tokens) {
            (Some(f), None) => f <= self.deadline,
            (Some(f), Some(t)) => t.first.is_some_and(|first| {
                let later = (t.goals.generate as u64).saturating_sub(1);
                first - self.arrival <= t.goals.ttft
                    && (f - first).0 <= t.goals.tpot.0.saturating_mul(later)
            }),
            (None, _) => false,
        }
    }

    /// A decoder request's time to first token, once it came.
    pub fn ttft(&self) -> Option<Cycles> {
        Some(self.tokens?.first? - self.arrival)
    }

    /// A decoder request's mean time per output token after the first, in cycles, once it
    /// finished with at least two tokens.
    pub fn tpot(&self) -> Option<f64> {
        let t = self.tokens?;
        let later = t.goals.generate.checked_sub(1).filter(|&n| n > 0)?;
        Some((self.finish? - t.first?).0 as f64 / later as f64)
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
    /// The most KV-cache bytes its decoder requests held at once (0 for a plain tenant).
    #[serde(skip_serializing_if = "is_zero")]
    pub kv_peak_bytes: u64,
    /// KV-cache bytes its decode steps attended over: each step reads its request's whole
    /// cache (its real tokens, padding left out), wherever the cache lies.
    #[serde(skip_serializing_if = "is_zero")]
    pub kv_read_bytes: u64,
}

/// Whether a count is 0 (left out of the JSON).
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl std::ops::AddAssign for TenantCounters {
    /// Sums the counts; the peak is the larger one's (runs over disjoint periods).
    fn add_assign(&mut self, other: TenantCounters) {
        self.kv_peak_bytes = self.kv_peak_bytes.max(other.kv_peak_bytes);
        self.kv_read_bytes += other.kv_read_bytes;
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
