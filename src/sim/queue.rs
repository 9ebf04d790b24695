//! A deterministic event queue: events pop in time order, equal times in insertion order.
//!
//! The engine's queue holds few events at a time (arrivals stream from a sorted list beside
//! it, so only the pending completions are queued: at most one live completion per array,
//! plus the stale ones a cut job leaves behind). For so few entries a list kept sorted
//! latest first beats a binary heap: a pop takes the last entry, and a push, usually of the
//! latest completion, finds its place after a comparison or two.

use crate::units::Cycles;

/// Min-queue of `(time, event)` with insertion order breaking ties.
#[derive(Debug)]
pub struct EventQueue<E> {
    /// `(time, event)`, latest first; among equal times the latest inserted first.
    entries: Vec<(Cycles, E)>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            entries: Vec::new(),
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `at`.
    pub fn push(&mut self, at: Cycles, event: E) {
        // Before every entry of an equal or earlier time: it pops after those inserted
        // before it.
        let pos = self
            .entries
            .iter()
            .position(|e| e.0 <= at)
            .unwrap_or(self.entries.len());
        self.entries.insert(pos, (at, event));
    }

    /// The time of the next event.
    pub fn peek_time(&self) -> Option<Cycles> {
        self.entries.last().map(|e| e.0)
    }

    /// Removes the next event.
    pub fn pop(&mut self) -> Option<(Cycles, E)> {
        self.entries.pop()
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
