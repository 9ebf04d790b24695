//! Static partitioning: each tenant owns a fixed set of arrays, in proportion to the load it
//! offers (array-cycles per cycle, as a deployment sizes a partition), or to its weight when
//! some tenant's load is unknown; within its partition a tenant's requests run oldest first.
//! With more tenants than arrays, tenants share arrays round-robin (tenant i on array
//! i mod arrays), oldest request first.
//!
//! Each tenant's active requests are kept in arrival order between decisions, updated from the
//! requests that changed ([`Policy::decide_changed`]): an idle array takes the first request
//! of its tenants' queues with a ready job, passing over only requests whose jobs all run or
//! were given out in this decision (at most three per array), so a decision costs
//! O(a² t log n) for `a` arrays, `t` tenants per array and `n` queued requests, however many
//! queue.

use super::{Accelerated, Decision, Place, Policy, TenantInfo, View};
use crate::units::{ArrayId, RequestId, TenantId};
use std::collections::{BTreeSet, HashMap};

/// Fixed spatial partition by offered load or weight (every tenant gets at least one array
/// while arrays last; with more tenants than arrays, tenants share round-robin).
#[derive(Debug, Clone, Default)]
pub struct StaticPartition {
    /// The tenants each array serves.
    owners: Vec<Vec<TenantId>>,
    /// Each tenant's active requests, in arrival order (as of the last decision).
    queues: HashMap<TenantId, BTreeSet<Place>>,
    /// The tenant of each request in `queues`.
    tenant_of: HashMap<Place, TenantId>,
    /// Jobs given out in the decision being made, by request.
    given: Vec<(RequestId, usize)>,
}

impl StaticPartition {
    /// Arrays per tenant by largest remainder of `share / Σ share · arrays`, at least one each,
    /// where a tenant's share is its offered utilisation when every tenant's is known, else
    /// its weight.
    fn partition(tenants: &[TenantInfo], arrays: usize) -> Vec<Vec<TenantId>> {
        if tenants.is_empty() {
            return Vec::new();
        }
        if tenants.len() >= arrays {
            let mut owners = vec![Vec::new(); arrays];
            for (i, t) in tenants.iter().enumerate() {
                owners[i % arrays].push(t.id);
            }
            return owners;
        }
        let share: Vec<f64> = match tenants
            .iter()
            .map(|t| t.offered)
            .collect::<Option<Vec<_>>>()
        {
            Some(offered) => offered.iter().map(|o| o.utilisation()).collect(),
            None => tenants.iter().map(|t| t.weight.max(0.0)).collect(),
        };
        let total = share.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let spare = arrays - tenants.len();
        let shares: Vec<f64> = share.iter().map(|s| s / total * spare as f64).collect();
        let mut counts: Vec<usize> = shares.iter().map(|s| 1 + s.floor() as usize).collect();
        let mut left = arrays - counts.iter().sum::<usize>();
        let mut by_remainder: Vec<usize> = (0..tenants.len()).collect();
        by_remainder.sort_by(|&a, &b| {
            (shares[b] - shares[b].floor())
                .total_cmp(&(shares[a] - shares[a].floor()))
                .then(a.cmp(&b))
        });
        for i in by_remainder {
            if left == 0 {
                break;
            }
            counts[i] += 1;
            left -= 1;
        }
        tenants
            .iter()
            .zip(counts)
            .flat_map(|(t, c)| std::iter::repeat_n(vec![t.id], c))
            .collect()
    }
}

impl Policy for StaticPartition {
    fn name(&self) -> &'static str {
        "static"
    }

    fn reset(&mut self, tenants: &[TenantInfo], arrays: usize) {
        *self = StaticPartition {
            owners: StaticPartition::partition(tenants, arrays),
            ..StaticPartition::default()
        };
    }

    fn decide_changed(&mut self, view: &View, changed: &[Place], out: &mut Decision) {
        for &place in changed {
            if let Some(t) = self.tenant_of.remove(&place)
                && let Some(q) = self.queues.get_mut(&t)
            {
                q.remove(&place);
            }
            if let Some(r) = view.find(place) {
                self.queues.entry(r.tenant).or_default().insert(place);
                self.tenant_of.insert(place, r.tenant);
            }
        }
        self.given.clear();
        for ArrayId(a) in view.idle() {
            let Some(owners) = self.owners.get(a) else {
                continue;
            };
            // The owners' oldest request with a ready job not yet given out.
            let given = &self.given;
            let left = |place: &Place| {
                let r = view.find(*place)?;
                let taken = given.iter().find(|g| g.0 == r.id).map_or(0, |g| g.1);
                (r.ready > taken).then_some(r.id)
            };
            let first = owners
                .iter()
                .filter_map(|t| self.queues.get(t))
                .filter_map(|q| q.iter().find_map(|p| left(p).map(|id| (*p, id))))
                .min();
            if let Some((_, id)) = first {
                match self.given.iter_mut().find(|g| g.0 == id) {
                    Some(g) => g.1 += 1,
                    None => self.given.push((id, 1)),
                }
                out.assign.push((ArrayId(a), id));
            }
        }
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        let mut ready: HashMap<_, usize> = view.requests.iter().map(|r| (r.id, r.ready)).collect();
        for ArrayId(a) in view.idle() {
            let Some(owners) = self.owners.get(a) else {
                continue;
            };
            // The owners' oldest request with a ready job (requests are in arrival order).
            if let Some(r) = view
                .requests
                .iter()
                .find(|r| owners.contains(&r.tenant) && ready[&r.id] > 0)
            {
                *ready.get_mut(&r.id).expect("listed") -= 1;
                out.assign.push((ArrayId(a), r.id));
            }
        }
    }

    fn accelerated(&mut self) -> Option<&mut dyn Accelerated> {
        Some(self)
    }
}

impl Accelerated for StaticPartition {
    /// The partition is fixed at reset; a copy's queues start empty.
    fn fork(&mut self) -> Option<Box<dyn Policy>> {
        Some(Box::new(StaticPartition {
            owners: self.owners.clone(),
            ..StaticPartition::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::sched::Offered;
    use crate::units::Cycles;

    fn t(id: u32, weight: f64, offered: Option<(u64, u64)>) -> TenantInfo {
        TenantInfo {
            id: TenantId(id),
            priority: 1,
            weight,
            offered: offered.map(|(interval, work)| Offered {
                interval: Cycles(interval),
                work: Cycles(work),
                deadline: Cycles(interval),
            }),
            decoder: false,
        }
    }

    fn count(p: &[Vec<TenantId>], id: u32) -> usize {
        p.iter().filter(|x| x == &&vec![TenantId(id)]).count()
    }

    #[test]
    fn partition_follows_weights_with_one_array_each_at_least() {
        // 8 arrays, weights 3:1: one array each, the 6 spare split 4.5 : 1.5 → floors 4 and 1
        // (counts 5 and 2); the last spare goes to the larger remainder, a 0.5 tie won by the
        // lower index → 6 and 2.
        let p = StaticPartition::partition(&[t(0, 3.0, None), t(1, 1.0, None)], 8);
        assert_eq!(p.len(), 8);
        assert_eq!((count(&p, 0), count(&p, 1)), (6, 2));
        // More tenants than arrays: round robin, array 0 serving tenants 0 and 2.
        let p = StaticPartition::partition(&[t(0, 1.0, None), t(1, 1.0, None), t(2, 1.0, None)], 2);
        assert_eq!(p, vec![vec![TenantId(0), TenantId(2)], vec![TenantId(1)]]);
    }

    #[test]
    fn partition_follows_offered_loads_when_all_are_known() {
        // Weights 3:1 but loads 0.5 and 4.5 array-cycles per cycle (500 per 1 000, 900 per
        // 200): the 8 spare of 10 arrays split 0.8 : 7.2 → counts 1 and 8, the last spare to
        // the larger remainder (0.8) → 2 and 8.
        let p = StaticPartition::partition(
            &[t(0, 3.0, Some((1_000, 500))), t(1, 1.0, Some((200, 900)))],
            10,
        );
        assert_eq!((count(&p, 0), count(&p, 1)), (2, 8));
        // One load unknown: weights decide, 3:1 of the 8 spare → 7 and 3.
        let p = StaticPartition::partition(&[t(0, 3.0, Some((1_000, 500))), t(1, 1.0, None)], 10);
        assert_eq!((count(&p, 0), count(&p, 1)), (7, 3));
    }
}
