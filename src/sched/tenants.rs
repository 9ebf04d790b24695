//! What a policy is told of the tenants before a run, and the demand their future arrivals
//! put on a window of time.

use crate::units::{Cycles, TenantId};

/// One tenant as a policy sees it at [`super::Policy::reset`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TenantInfo {
    /// Its id.
    pub id: TenantId,
    /// PREMA priority level (1, 3 or 9).
    pub priority: u8,
    /// Weight for WSTP and partitioning.
    pub weight: f64,
    /// The load it offers, as a serving system's contract states it (a rate and an SLA);
    /// `None` when it is unknown (fewer than two requests, or a decoder, whose work per
    /// request depends on its lengths).
    pub offered: Option<Offered>,
    /// Whether its requests are token loops (a decoder, see [`crate::sim::Decoder`]): sessions
    /// of one model whose every token is due one time-per-token after the last.
    pub decoder: bool,
}

/// A tenant's offered load: a request every `interval` on average, each `work` array-cycles
/// due `deadline` after it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offered {
    /// Mean time between its arrivals (at least one cycle).
    pub interval: Cycles,
    /// One request's work: Σ estimated cost of its jobs.
    pub work: Cycles,
    /// Its relative deadline (the shortest of its requests').
    pub deadline: Cycles,
}

impl Offered {
    /// Array-cycles per cycle it offers.
    pub fn utilisation(&self) -> f64 {
        self.work.0 as f64 / self.interval.0.max(1) as f64
    }

    /// Array-cycles of its requests expected to arrive after now and be due within `window`
    /// of now: those arriving in the first `window − deadline` cycles, at its mean rate
    /// (fluid: `(window − deadline) · work / interval`, rounded down).
    pub fn due_within(&self, window: Cycles) -> u128 {
        let arriving = u128::from(window.saturating_sub(self.deadline).0);
        arriving * u128::from(self.work.0) / u128::from(self.interval.0.max(1))
    }
}

/// Σ [`Offered::due_within`] over `offered`.
pub fn due_within(offered: &[Offered], window: Cycles) -> u128 {
    offered.iter().map(|o| o.due_within(window)).sum()
}

/// Up to two offered loads drawn from the given ranges, for property tests.
#[cfg(test)]
pub(crate) fn offered_loads(
    interval: std::ops::Range<u64>,
    work: std::ops::Range<u64>,
    deadline: std::ops::Range<u64>,
) -> impl proptest::strategy::Strategy<Value = Vec<Offered>> {
    use proptest::strategy::Strategy;
    let load = (interval, work, deadline).prop_map(|(i, w, d)| Offered {
        interval: Cycles(i),
        work: Cycles(w),
        deadline: Cycles(d),
    });
    proptest::collection::vec(load, 0..3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_worked_future_demand() {
        // A request of 300 array-cycles every 1 000 cycles, due 2 000 after it arrives: none
        // of its future requests is due within 2 000 cycles; within 5 000, those arriving in
        // the first 3 000 cycles are, 3 of them, 900 array-cycles.
        let o = Offered {
            interval: Cycles(1_000),
            work: Cycles(300),
            deadline: Cycles(2_000),
        };
        assert_eq!(o.due_within(Cycles(1_500)), 0);
        assert_eq!(o.due_within(Cycles(2_000)), 0);
        assert_eq!(o.due_within(Cycles(5_000)), 900);
        // Fluid: half an interval's arrivals count half a request, 150 more.
        assert_eq!(o.due_within(Cycles(5_500)), 1_050);
        let p = Offered {
            interval: Cycles(4),
            work: Cycles(1),
            deadline: Cycles(0),
        };
        assert_eq!(due_within(&[o, p], Cycles(5_000)), 900 + 1_250);
        assert!((o.utilisation() - 0.3).abs() < 1e-12);
    }
}
