//! The processor-demand (schedulability) test: can every task meet its deadline?

use super::tenants::{Offered, due_within};
use crate::units::Cycles;

/// One task as the demand test sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    /// Absolute deadline.
    pub deadline: Cycles,
    /// Remaining work in array-cycles.
    pub work: Cycles,
    /// The most arrays it can use at once.
    pub parallelism: usize,
}

/// Demand test for tasks all ready at `now` on `arrays` identical arrays, with the tenants'
/// `future` arrivals expected: for every deadline `d_k` (in increasing order) the work due by
/// `d_k`, the tasks' and the future arrivals' ([`due_within`]), fits the capacity
/// `arrays · (d_k − now)`, and each task fits alone with the arrays it can use,
/// `min(parallelism, arrays) · (d − now)`. Without future arrivals, necessary on any number
/// of arrays and exact on one array (EDF meets every deadline of a set that passes, and some
/// deadline of a set that fails is missed by any schedule); with them, the processor-demand
/// test of sporadic tasks in its fluid form.
pub fn feasible(now: Cycles, tasks: &[Demand], arrays: usize, future: &[Offered]) -> bool {
    let mut sorted: Vec<&Demand> = tasks.iter().collect();
    sorted.sort_by_key(|t| t.deadline);
    let mut due: u128 = 0;
    for t in sorted {
        let window = u128::from(t.deadline.0.saturating_sub(now.0));
        due += u128::from(t.work.0);
        let own = t.parallelism.clamp(1, arrays.max(1)) as u128;
        let expected = due_within(future, t.deadline.saturating_sub(now));
        if due + expected > arrays.max(1) as u128 * window || u128::from(t.work.0) > own * window {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(deadline: u64, work: u64, parallelism: usize) -> Demand {
        Demand {
            deadline: Cycles(deadline),
            work: Cycles(work),
            parallelism,
        }
    }

    #[test]
    fn hand_worked_sets() {
        // One array: works 3, 4, 5 due at 3, 7, 12: cumulative 3 ≤ 3, 7 ≤ 7, 12 ≤ 12.
        assert!(feasible(
            Cycles(0),
            &[d(12, 5, 1), d(3, 3, 1), d(7, 4, 1)],
            1,
            &[]
        ));
        // One cycle less for the last deadline fails: 12 > 11.
        assert!(!feasible(
            Cycles(0),
            &[d(11, 5, 1), d(3, 3, 1), d(7, 4, 1)],
            1,
            &[]
        ));
        // Two arrays: 10 units due at 5 fit 2·5 = 10 only if the task can use both arrays.
        assert!(feasible(Cycles(0), &[d(5, 10, 2)], 2, &[]));
        assert!(!feasible(Cycles(0), &[d(5, 10, 1)], 2, &[]));
        // Time already passed counts: at now = 4 only 1 cycle is left before deadline 5.
        assert!(!feasible(Cycles(4), &[d(5, 2, 1)], 1, &[]));
    }

    #[test]
    fn future_arrivals_take_their_share_of_a_window() {
        // One array, a task of work 6 due at 10. A tenant offering 1 array-cycle every 2
        // cycles, due 4 after arriving, expects (10 − 4) / 2 = 3 requests due by 10: 3 + 6 =
        // 9 ≤ 10 fits. Work 8 would not (11 > 10), though alone it fits.
        let future = [Offered {
            interval: Cycles(2),
            work: Cycles(1),
            deadline: Cycles(4),
        }];
        assert!(feasible(Cycles(0), &[d(10, 6, 1)], 1, &future));
        assert!(!feasible(Cycles(0), &[d(10, 8, 1)], 1, &future));
        assert!(feasible(Cycles(0), &[d(10, 8, 1)], 1, &[]));
        // A deadline no later than the tenant's own leaves it no request due in the window.
        assert!(feasible(Cycles(0), &[d(4, 4, 1)], 1, &future));
    }
}
