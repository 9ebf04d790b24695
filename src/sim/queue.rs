//! A deterministic event queue: events pop in time order, equal times in insertion order.

use crate::units::Cycles;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Min-queue of `(time, event)` with insertion order breaking ties.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<(Cycles, u64, Slot<E>)>>,
    seq: u64,
}

/// Wrapper that keeps events out of the ordering.
#[derive(Debug)]
struct Slot<E>(E);

impl<E> PartialEq for Slot<E> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<E> Eq for Slot<E> {}
impl<E> PartialOrd for Slot<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Slot<E> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedules `event` at `at`.
    pub fn push(&mut self, at: Cycles, event: E) {
        self.heap.push(Reverse((at, self.seq, Slot(event))));
        self.seq += 1;
    }

    /// The time of the next event.
    pub fn peek_time(&self) -> Option<Cycles> {
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Removes the next event.
    pub fn pop(&mut self) -> Option<(Cycles, E)> {
        self.heap.pop().map(|Reverse((t, _, Slot(e)))| (t, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_pop_in_insertion_order() {
        let mut q = EventQueue::default();
        q.push(Cycles(5), 'c');
        q.push(Cycles(1), 'a');
        q.push(Cycles(5), 'd');
        q.push(Cycles(1), 'b');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd']);
    }
}
