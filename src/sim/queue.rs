//! A deterministic event queue: events pop in time order, equal times in insertion order.
//!
//! The engine's queue holds few events at a time (arrivals stream from a sorted list beside
//! it, so only the pending completions are queued: at most one live completion per array,
//! plus the stale ones a cut job leaves behind). For so few entries an unsorted list with the
//! position of its minimum kept up to date beats a binary heap: a push is one comparison, a
//! pop one scan of a handful of entries, and nothing moves but the popped entry.

use crate::units::Cycles;

/// Min-queue of `(time, event)` with insertion order breaking ties.
#[derive(Debug)]
pub struct EventQueue<E> {
    /// `(time, insertion number, event)`, in no particular order.
    entries: Vec<(Cycles, u64, E)>,
    /// Position of the least `(time, insertion number)` in `entries` (meaningless when empty).
    first: usize,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            entries: Vec::new(),
            first: 0,
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `at`.
    pub fn push(&mut self, at: Cycles, event: E) {
        // A later insertion never comes before an equal time, so only a strictly earlier
        // time takes the lead.
        if self.entries.get(self.first).is_none_or(|e| at < e.0) {
            self.first = self.entries.len();
        }
        self.entries.push((at, self.seq, event));
        self.seq += 1;
    }

    /// The time of the next event.
    pub fn peek_time(&self) -> Option<Cycles> {
        self.entries.get(self.first).map(|e| e.0)
    }

    /// Removes the next event.
    pub fn pop(&mut self) -> Option<(Cycles, E)> {
        if self.entries.is_empty() {
            return None;
        }
        let (at, _, event) = self.entries.swap_remove(self.first);
        self.first = self
            .entries
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| (e.0, e.1))
            .map_or(0, |(i, _)| i);
        Some((at, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    #[test]
    fn equal_times_pop_in_insertion_order() {
        let mut q = EventQueue::default();
        q.push(Cycles(5), 'c');
        q.push(Cycles(1), 'a');
        q.push(Cycles(5), 'd');
        q.push(Cycles(1), 'b');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd']);
        assert_eq!(q.peek_time(), None);
    }

    proptest! {
        /// Interleaved pushes and pops give the events in the order of a binary heap keyed by
        /// (time, insertion number), the queue this one replaced.
        #[test]
        fn pops_in_the_order_of_a_heap(
            ops in proptest::collection::vec(proptest::option::of(0u64..20), 0..200),
        ) {
            let mut q = EventQueue::default();
            let mut heap = BinaryHeap::new();
            for (n, op) in ops.into_iter().enumerate() {
                match op {
                    Some(t) => {
                        q.push(Cycles(t), n);
                        heap.push(Reverse((Cycles(t), n)));
                    }
                    None => {
                        let want = heap.pop().map(|Reverse(e)| e);
                        prop_assert_eq!(q.pop(), want);
                    }
                }
                prop_assert_eq!(q.peek_time(), heap.peek().map(|Reverse(e)| e.0));
            }
            while let Some(Reverse(want)) = heap.pop() {
                prop_assert_eq!(q.pop(), Some(want));
            }
            prop_assert_eq!(q.pop(), None);
        }
    }
}
