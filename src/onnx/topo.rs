//! Topological order of nodes by Kahn's algorithm, stable with respect to file order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A dependency cycle: `node` consumes a value produced by `producer`, and both lie on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cycle {
    /// A node on the cycle.
    pub node: usize,
    /// The node on the cycle that produces one of `node`'s inputs.
    pub producer: usize,
}

/// Orders nodes `0..deps.len()` so that each comes after the nodes it depends on;
/// `deps[i]` lists the nodes whose outputs node `i` reads (indices below `deps.len()`,
/// repeats allowed). Among nodes that are ready at the same time the one earlier in the
/// file goes first, so an already sorted list keeps its order.
pub(super) fn sort(deps: &[Vec<usize>]) -> Result<Vec<usize>, Cycle> {
    let n = deps.len();
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut users = vec![Vec::new(); n];
    for (node, ds) in deps.iter().enumerate() {
        for &d in ds {
            users[d].push(node);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| waiting[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(node)) = ready.pop() {
        order.push(node);
        for &user in &users[node] {
            waiting[user] -= 1;
            if waiting[user] == 0 {
                ready.push(Reverse(user));
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every node left waits for another node left: walk those edges until one repeats.
    let mut seen = vec![false; n];
    let mut node = (0..n).find(|&i| waiting[i] > 0).unwrap_or_default();
    loop {
        seen[node] = true;
        let producer = deps[node]
            .iter()
            .copied()
            .find(|&d| waiting[d] > 0)
            .unwrap_or(node);
        if seen[producer] {
            return Err(Cycle { node, producer });
        }
        node = producer;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_file_order_when_already_sorted() {
        assert_eq!(
            sort(&[vec![], vec![0], vec![1], vec![0, 2]]),
            Ok(vec![0, 1, 2, 3])
        );
    }

    #[test]
    fn moves_producers_first_and_breaks_ties_by_file_order() {
        // 0 reads 2, 1 reads nothing, 2 reads 1, 3 reads nothing.
        assert_eq!(
            sort(&[vec![2], vec![], vec![1, 1], vec![]]),
            Ok(vec![1, 2, 0, 3])
        );
    }

    #[test]
    fn reports_a_node_on_the_cycle() {
        // 0 → 1 → 2 → 1 (0 only hangs off the cycle).
        let cycle = sort(&[vec![1], vec![2], vec![1]]).unwrap_err();
        assert!([1, 2].contains(&cycle.node) && [1, 2].contains(&cycle.producer));
        assert_ne!(cycle.node, cycle.producer);
        assert_eq!(
            sort(&[vec![0]]),
            Err(Cycle {
                node: 0,
                producer: 0
            })
        );
    }
}
