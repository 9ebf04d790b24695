//! The processor-demand (schedulability) test: can every task meet its deadline?

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

/// Demand test for tasks all ready at `now` on `arrays` identical arrays: for every deadline
/// `d_k` (in increasing order) the work due by `d_k` fits the capacity `arrays · (d_k − now)`,
/// and each task fits alone with the arrays it can use, `min(parallelism, arrays) · (d − now)`.
/// Necessary on any number of arrays; exact on one array (EDF meets every deadline of a set
/// that passes, and some deadline of a set that fails is missed by any schedule).
pub fn feasible(now: Cycles, tasks: &[Demand], arrays: usize) -> bool {
    let mut sorted: Vec<&Demand> = tasks.iter().collect();
    sorted.sort_by_key(|t| t.deadline);
    let mut due: u128 = 0;
    for t in sorted {
        let window = u128::from(t.deadline.0.saturating_sub(now.0));
        due += u128::from(t.work.0);
        let own = t.parallelism.clamp(1, arrays.max(1)) as u128;
        if due > arrays.max(1) as u128 * window || u128::from(t.work.0) > own * window {
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
            1
        ));
        // One cycle less for the last deadline fails: 12 > 11.
        assert!(!feasible(
            Cycles(0),
            &[d(11, 5, 1), d(3, 3, 1), d(7, 4, 1)],
            1
        ));
        // Two arrays: 10 units due at 5 fit 2·5 = 10 only if the task can use both arrays.
        assert!(feasible(Cycles(0), &[d(5, 10, 2)], 2));
        assert!(!feasible(Cycles(0), &[d(5, 10, 1)], 2));
        // Time already passed counts: at now = 4 only 1 cycle is left before deadline 5.
        assert!(!feasible(Cycles(4), &[d(5, 2, 1)], 1));
    }
}
