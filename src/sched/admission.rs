//! Moore–Hodgson admission over the processor-demand test, incrementally: requests join in
//! deadline order and, whenever the admitted set fails [`super::demand::feasible`], the one
//! with the most remaining work leaves (the test counting the tenants' expected future
//! arrivals). Each step updates the test's slack instead of
//! re-running it, so a whole admission costs O(n log n) instead of O(n² log n).

use super::demand::Demand;
use super::tenants::{Offered, due_within};
use crate::units::{Cycles, RequestId};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A value no slack reaches (room left for the additions of removed works).
const ABSENT: i128 = i128::MAX / 4;

/// Runs admission on `tasks`, given in deadline order (ties in the order the caller wants
/// the demand test to count them), each with its request id (ties of work go to the lower
/// id). Returns the positions admitted (in order) and the ids given up on (in the order they
/// left). Identical to adding tasks one by one to a list and, whenever
/// `feasible(now, list, arrays, future)` fails, removing the task of largest
/// `(work, Reverse(id))`.
pub fn moore_hodgson(
    now: Cycles,
    tasks: &[(RequestId, Demand)],
    arrays: usize,
    future: &[Offered],
) -> (Vec<usize>, Vec<RequestId>) {
    let a = arrays.max(1) as i128;
    let n = tasks.len();
    // slack[p] = arrays·(d_p − now) − expected future work due by d_p − Σ work of admitted
    // tasks up to p, for admitted p.
    let mut slack = MinAddTree::new(n);
    let mut in_set = vec![false; n];
    let mut heaviest = BinaryHeap::with_capacity(n);
    let (mut total, mut own_fails) = (0i128, 0usize);
    let mut rejected = Vec::new();
    let own_fails_alone = |d: &Demand| {
        let window = i128::from(d.deadline.0.saturating_sub(now.0));
        let own = d.parallelism.clamp(1, arrays.max(1)) as i128;
        i128::from(d.work.0) > own * window
    };
    for (p, (id, d)) in tasks.iter().enumerate() {
        let window = d.deadline.saturating_sub(now);
        let expected = due_within(future, window) as i128;
        let work = i128::from(d.work.0);
        total += work;
        slack.set(p, a * i128::from(window.0) - expected - total);
        in_set[p] = true;
        own_fails += usize::from(own_fails_alone(d));
        heaviest.push((d.work, Reverse(*id), p));
        if own_fails > 0 || slack.min() < 0 {
            let (w, Reverse(gone), q) = heaviest.pop().expect("the set holds p");
            let w = i128::from(w.0);
            total -= w;
            slack.set(q, ABSENT);
            slack.add_from(q + 1, w);
            in_set[q] = false;
            own_fails -= usize::from(own_fails_alone(&tasks[q].1));
            rejected.push(gone);
        }
    }
    let admitted = (0..n).filter(|&p| in_set[p]).collect();
    (admitted, rejected)
}

/// Minimum over positions with point assignment and suffix addition (a lazy segment tree).
struct MinAddTree {
    size: usize,
    min: Vec<i128>,
    add: Vec<i128>,
}

impl MinAddTree {
    fn new(n: usize) -> MinAddTree {
        let size = n.next_power_of_two().max(1);
        MinAddTree {
            size,
            min: vec![ABSENT; 2 * size],
            add: vec![0; 2 * size],
        }
    }

    fn min(&self) -> i128 {
        self.min[1]
    }

    /// Sets position `p` to `v`.
    fn set(&mut self, p: usize, v: i128) {
        self.set_in(1, 0, self.size, p, v);
    }

    fn set_in(&mut self, node: usize, lo: usize, hi: usize, p: usize, v: i128) {
        if hi - lo == 1 {
            self.min[node] = v;
            self.add[node] = 0;
            return;
        }
        self.push_down(node);
        let mid = (lo + hi) / 2;
        if p < mid {
            self.set_in(2 * node, lo, mid, p, v);
        } else {
            self.set_in(2 * node + 1, mid, hi, p, v);
        }
        self.min[node] = self.min[2 * node].min(self.min[2 * node + 1]);
    }

    /// Adds `v` to every position from `from` on.
    fn add_from(&mut self, from: usize, v: i128) {
        if from < self.size {
            self.add_in(1, 0, self.size, from, v);
        }
    }

    fn add_in(&mut self, node: usize, lo: usize, hi: usize, from: usize, v: i128) {
        if from <= lo {
            self.apply(node, v);
            return;
        }
        self.push_down(node);
        let mid = (lo + hi) / 2;
        if from < mid {
            self.add_in(2 * node, lo, mid, from, v);
        }
        self.add_in(2 * node + 1, mid, hi, from, v);
        self.min[node] = self.min[2 * node].min(self.min[2 * node + 1]);
    }

    /// Adds `v` to a whole subtree; absent positions stay absent (they are assigned before
    /// they count).
    fn apply(&mut self, node: usize, v: i128) {
        self.min[node] = (self.min[node] + v).min(ABSENT);
        self.add[node] += v;
    }

    fn push_down(&mut self, node: usize) {
        let v = std::mem::take(&mut self.add[node]);
        if v != 0 {
            self.apply(2 * node, v);
            self.apply(2 * node + 1, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::demand::feasible;
    use super::super::tenants::offered_loads;
    use super::*;
    use proptest::prelude::*;

    /// The definition: a list, the demand test re-run after every addition.
    fn by_definition(
        now: Cycles,
        tasks: &[(RequestId, Demand)],
        arrays: usize,
        future: &[Offered],
    ) -> (Vec<usize>, Vec<RequestId>) {
        let mut set: Vec<usize> = Vec::new();
        let mut rejected = Vec::new();
        for p in 0..tasks.len() {
            set.push(p);
            let demands: Vec<Demand> = set.iter().map(|&q| tasks[q].1).collect();
            if !feasible(now, &demands, arrays, future) {
                let (k, _) = set
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, q)| (tasks[**q].1.work, Reverse(tasks[**q].0)))
                    .expect("non-empty");
                rejected.push(tasks[set.remove(k)].0);
            }
        }
        (set, rejected)
    }

    fn task(id: u64, deadline: u64, work: u64, parallelism: usize) -> (RequestId, Demand) {
        (
            RequestId(id),
            Demand {
                deadline: Cycles(deadline),
                work: Cycles(work),
                parallelism,
            },
        )
    }

    #[test]
    fn hand_worked_one_array() {
        // Works 3, 4, 5, 2 due at 3, 7, 11, 12 on one array: 3 ≤ 3, 7 ≤ 7, then 12 > 11, so
        // the heaviest (5, id 2) leaves; 3 + 4 + 2 = 9 ≤ 12 keeps the last.
        let tasks = [
            task(0, 3, 3, 1),
            task(1, 7, 4, 1),
            task(2, 11, 5, 1),
            task(3, 12, 2, 1),
        ];
        let (admitted, rejected) = moore_hodgson(Cycles(0), &tasks, 1, &[]);
        assert_eq!(admitted, vec![0, 1, 3]);
        assert_eq!(rejected, vec![RequestId(2)]);
    }

    #[test]
    fn capacity_for_expected_arrivals_is_set_aside() {
        // One array; works 3 and 10 due at 3 and 20. A tenant offering work 2 every 4 cycles,
        // due 4 after arriving, expects (20 − 4) / 4 = 4 requests due by 20, 8 cycles of work:
        // 3 + 10 + 8 = 21 > 20, so the heaviest (10, id 1) leaves. Without them 13 ≤ 20, and
        // with work 9 instead of 10, 20 ≤ 20: both stay.
        let future = [Offered {
            interval: Cycles(4),
            work: Cycles(2),
            deadline: Cycles(4),
        }];
        let tasks = [task(0, 3, 3, 1), task(1, 20, 10, 1)];
        let (admitted, rejected) = moore_hodgson(Cycles(0), &tasks, 1, &future);
        assert_eq!((admitted, rejected), (vec![0], vec![RequestId(1)]));
        assert_eq!(moore_hodgson(Cycles(0), &tasks, 1, &[]).0, vec![0, 1]);
        let lighter = [task(0, 3, 3, 1), task(1, 20, 9, 1)];
        assert_eq!(moore_hodgson(Cycles(0), &lighter, 1, &future).0, vec![0, 1]);
    }

    #[test]
    fn one_removal_per_addition_even_when_the_set_stays_infeasible() {
        // Two arrays. Task 0 (work 15 by 10 on up to 2 arrays) fits. Task 1 (work 13 by 12 on
        // its one array) fails on its own; the heaviest, task 0, leaves, and the set {1}
        // stays infeasible until task 2 arrives and task 1, now the heaviest, leaves.
        let tasks = [task(0, 10, 15, 2), task(1, 12, 13, 1), task(2, 100, 1, 1)];
        let (admitted, rejected) = moore_hodgson(Cycles(0), &tasks, 2, &[]);
        assert_eq!(rejected, vec![RequestId(0), RequestId(1)]);
        assert_eq!(admitted, vec![2]);
    }

    proptest! {
        #[test]
        fn matches_the_definition(
            now in 0u64..50,
            raw in proptest::collection::vec((0u64..400, 0u64..120, 1usize..6), 0..40),
            arrays in 1usize..5,
            future in offered_loads(1..60, 0..40, 0..300),
        ) {
            let mut tasks: Vec<(RequestId, Demand)> = raw
                .iter()
                .enumerate()
                .map(|(i, &(d, w, p))| task((i as u64 * 7) % 41, d, w, p))
                .collect();
            tasks.sort_by_key(|(id, d)| (d.deadline, *id));
            prop_assert_eq!(
                moore_hodgson(Cycles(now), &tasks, arrays, &future),
                by_definition(Cycles(now), &tasks, arrays, &future)
            );
        }
    }
}
