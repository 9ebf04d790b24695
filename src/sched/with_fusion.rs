//! Any policy with CD-MSA's dynamic task fusion added, for the ablation that shows what the
//! scheduler contributes beyond fusion: the policy decides, then every array it gave to a
//! request granted that one array, whose next tile job leaves rows and columns free, takes
//! along the earliest-deadline request that got no array and whose next tile job fits beside
//! it block-diagonally (CD-MSA's rule, with its priority order read as deadline order).

use super::{Decision, Place, Policy, TenantInfo, View};
use crate::units::RequestId;

/// `inner` with task fusion.
pub struct WithFusion {
    inner: Box<dyn Policy>,
    name: &'static str,
    /// Reused buffers: the requests that got an array, and the candidates by deadline.
    taken: Vec<RequestId>,
    by_deadline: Vec<usize>,
}

impl WithFusion {
    /// `inner` with fusion, reported as `name`.
    pub fn new(inner: Box<dyn Policy>, name: &'static str) -> WithFusion {
        WithFusion {
            inner,
            name,
            taken: Vec::new(),
            by_deadline: Vec::new(),
        }
    }

    /// Moves the arrays of `out.assign` whose request finds a partner to `out.fuse`.
    fn fuse(&mut self, view: &View, out: &mut Decision) {
        if view.fusion_geometry.is_none() || out.assign.is_empty() {
            return;
        }
        let rs = view.requests;
        self.taken.clear();
        self.taken.extend(out.assign.iter().map(|&(_, r)| r));
        self.taken
            .extend(out.fuse.iter().flat_map(|&(_, a, b)| [a, b]));
        self.by_deadline.clear();
        self.by_deadline
            .extend((0..rs.len()).filter(|&i| rs[i].ready > 0 && rs[i].next_tile.is_some()));
        self.by_deadline
            .sort_unstable_by_key(|&i| (rs[i].deadline, rs[i].arrival, rs[i].id));
        let mut kept = 0;
        for e in 0..out.assign.len() {
            let (array, id) = out.assign[e];
            let single = out.assign.iter().filter(|&&(_, r)| r == id).count() == 1;
            let tile = rs
                .iter()
                .find(|r| r.id == id)
                .and_then(|r| r.next_tile)
                .filter(|t| single && view.has_room(&t.shape));
            let partner = tile.and_then(|a| {
                self.by_deadline.iter().map(|&j| &rs[j]).find(|p| {
                    !self.taken.contains(&p.id) && p.next_tile.is_some_and(|b| view.fusible(a, b))
                })
            });
            match partner {
                Some(p) => {
                    self.taken.push(p.id);
                    out.fuse.push((array, id, p.id));
                }
                None => {
                    out.assign[kept] = (array, id);
                    kept += 1;
                }
            }
        }
        out.assign.truncate(kept);
    }
}

impl Policy for WithFusion {
    fn name(&self) -> &'static str {
        self.name
    }

    fn reset(&mut self, tenants: &[TenantInfo], arrays: usize) {
        self.inner.reset(tenants, arrays);
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        self.inner.decide_into(view, out);
        self.fuse(view, out);
    }

    fn decide_changed(&mut self, view: &View, changed: &[Place], out: &mut Decision) {
        self.inner.decide_changed(view, changed, out);
        self.fuse(view, out);
    }

    fn preempts_within_jobs(&self) -> bool {
        self.inner.preempts_within_jobs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{Datapath, GemmShape, TileProfile};
    use crate::sched::{Edf, Outlook, RequestView};
    use crate::units::{ArrayId, Cycles, TenantId};

    fn request(id: u64, deadline: u64, k: usize, after: &Outlook) -> RequestView<'_> {
        RequestView {
            id: RequestId(id),
            tenant: TenantId(id as u32),
            priority: 1,
            weight: 1.0,
            arrival: Cycles(id),
            deadline: Cycles(deadline),
            isolated: Cycles(1),
            remaining: Cycles(10),
            ready: 1,
            running: 0,
            served: Cycles::ZERO,
            after,
            remaining_in_layer: Cycles(10),
            next_tile: Some(TileProfile {
                shape: GemmShape { m: 4, k, n: 2 },
                datapath: Datapath::Int8,
            }),
        }
    }

    #[test]
    fn the_array_edf_grants_takes_the_earliest_deadline_tile_that_fits_beside() {
        // One idle 8×8 array. EDF gives it to request 0 (due at 10, K = 2). Request 1 (due
        // at 30, K = 4) and request 2 (due at 20, K = 4) fit beside it (2 + 4 ≤ 8); request
        // 3 (due at 15, K = 7) does not. The partner is request 2.
        let after = Outlook::default();
        let rs = [
            request(0, 10, 2, &after),
            request(1, 30, 4, &after),
            request(2, 20, 4, &after),
            request(3, 15, 7, &after),
        ];
        let view = View {
            now: Cycles::ZERO,
            arrays: &[None],
            last_tenant: &[],
            requests: &rs,
            fusion_geometry: Some((8, 8)),
        };
        let mut p = WithFusion::new(Box::new(Edf), "edf+fusion");
        let d = p.decide(&view);
        assert!(d.assign.is_empty());
        assert_eq!(d.fuse, [(ArrayId(0), RequestId(0), RequestId(2))]);
        // Without fusion geometry (an output-stationary array) EDF's decision stands.
        let view = View {
            fusion_geometry: None,
            ..view
        };
        assert_eq!(p.decide(&view).assign, [(ArrayId(0), RequestId(0))]);
    }
}
