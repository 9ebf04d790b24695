//! CD-MSA's decision as the readable specification says it (after admission): the
//! production policy decides by it when built with [`CdMsa::reference`](super::CdMsa), and
//! the fast path in `super` is proven to decide the same.

use super::{CdMsaOptions, job, pick_arrays};
use crate::kernel::TileProfile;
use crate::sched::{Decision, RequestView, View};
use crate::units::{ArrayId, RequestId, TenantId};

/// CD-MSA's decision on `view` with `options`, once admission has marked each request
/// `is_admitted` or best-effort (by view position): every request ranked by one full sort, each
/// admitted request granted its minimum (one array, or every array it can use when one does
/// not meet its deadline by the estimate), then the idle arrays left handed out one at a time
/// by rank, every grant within what the admitted requests ahead lend and none to a late
/// best-effort request while an admitted one is active; arrays go out in the
/// order requests were first considered, each request taking those that last ran its tenant
/// first; then fusion. A request whose tenant has an admitted request ahead holding arrays
/// takes no minimum while one array meets its deadline, unless the tenant is one of `decoders`.
pub(super) fn decide(
    options: CdMsaOptions,
    decoders: &[TenantId],
    is_admitted: &[bool],
    view: &View,
    d: &mut Decision,
) {
    let (n, rs) = (view.num_arrays(), view.requests);
    let cap = if options.cooperation { n } else { 1 };
    let laxity = |r: &RequestView| r.laxity(view.now, r.parallelism().min(n));
    let mut admitted: Vec<usize> = (0..rs.len()).filter(|&i| is_admitted[i]).collect();
    admitted.sort_by_key(|&i| {
        let r = &rs[i];
        (laxity(r) > 0, r.deadline, r.arrival, r.id)
    });
    let mut best_effort: Vec<usize> = (0..rs.len()).filter(|&i| !is_admitted[i]).collect();
    best_effort.sort_by_key(|&i| {
        let r = &rs[i];
        (r.is_late(view.now, n), r.remaining, r.deadline, r.id)
    });
    let ranked: Vec<usize> = admitted.iter().chain(&best_effort).copied().collect();
    // One array when one meets the deadline by the estimate, else every array it can use.
    let minimum = |r: &RequestView| {
        let slack = r.deadline.0.saturating_sub(view.now.0);
        if r.estimate(1).0 <= slack { 1 } else { cap }
    };
    // Arrays r holds: running its jobs, or granted to it in this decision.
    let held = |grants: &[(usize, usize, usize)], i: usize| {
        grants
            .iter()
            .find(|g| g.0 == i)
            .map_or(rs[i].running, |g| g.1)
    };
    // (view position, arrays held, arrays granted), in the order first considered.
    let mut grants: Vec<(usize, usize, usize)> = Vec::new();
    let mut idle = view.idle().count();
    let grant =
        |grants: &mut Vec<(usize, usize, usize)>, i: usize, limit: usize, idle: &mut usize| {
            let g = match grants.iter().position(|g| g.0 == i) {
                Some(g) => g,
                None => {
                    grants.push((i, rs[i].running, 0));
                    grants.len() - 1
                }
            };
            let g = &mut grants[g];
            while *idle > 0 && g.1 < limit && g.2 < rs[i].ready {
                (g.1, g.2, *idle) = (g.1 + 1, g.2 + 1, *idle - 1);
            }
        };
    // Lending is bounded by every admitted request ahead that holds some arrays but fewer
    // than it can use: a job lent an array must end within that request's laxity, and the
    // arrays held behind it must leave it its minimum.
    let limit = |grants: &[(usize, usize, usize)], pos: usize, want: usize| {
        let r = &rs[ranked[pos]];
        let mut room = usize::MAX;
        for (p, &a) in ranked[..pos].iter().enumerate() {
            let lender = &rs[a];
            let k = lender.parallelism().min(cap);
            if !is_admitted[a] || held(grants, a) == 0 || held(grants, a) >= k {
                continue;
            }
            let lax = lender.laxity(view.now, k);
            let behind: usize = ranked[p + 1..].iter().map(|&j| held(grants, j)).sum();
            let spare = (k - minimum(lender).min(k)).saturating_sub(behind);
            room = room.min(if job(r) <= lax { spare } else { 0 });
        }
        want.min(held(grants, ranked[pos]).saturating_add(room))
    };
    for (pos, &i) in admitted.iter().enumerate() {
        if idle == 0 {
            break;
        }
        // While one array meets its deadline, a request whose tenant has a request ahead
        // holding arrays waits for them instead of taking its own (a decoder's sessions do
        // not queue: each token is due one time-per-token after the last).
        let r = &rs[i];
        let queued = !decoders.contains(&r.tenant)
            && admitted[..pos]
                .iter()
                .any(|&j| rs[j].tenant == r.tenant && held(&grants, j) > 0);
        let want = if queued && minimum(r) == 1 {
            0
        } else {
            minimum(r)
        };
        let l = limit(&grants, pos, want);
        grant(&mut grants, i, l, &mut idle);
    }
    for (pos, &i) in ranked.iter().enumerate() {
        if idle == 0 {
            break;
        }
        // A late best-effort request (laxity negative with every array it can use) waits
        // while an admitted request is active.
        if !is_admitted[i] && !admitted.is_empty() && rs[i].is_late(view.now, n) {
            continue;
        }
        let l = limit(&grants, pos, cap);
        grant(&mut grants, i, l, &mut idle);
    }
    // Each grant's arrays: those that last ran its tenant first (see `pick_arrays`).
    let arrays = pick_arrays(view, grants.iter().map(|g| (rs[g.0].tenant, g.2)));
    let mut arrays = arrays.iter();
    let mut taken: Vec<RequestId> = Vec::new();
    let mut plan: Vec<(ArrayId, usize, bool)> = Vec::new();
    for &(i, _, granted) in &grants {
        for &a in arrays.by_ref().take(granted) {
            plan.push((a, i, granted == 1));
            taken.push(rs[i].id);
        }
    }
    for (a, i, single) in plan {
        let room = |s: &TileProfile| view.has_room(&s.shape);
        let partner = rs[i]
            .next_tile
            .filter(|s| options.fusion && single && room(s))
            .and_then(|s| {
                ranked.iter().map(|&j| &rs[j]).find(|q| {
                    !taken.contains(&q.id)
                        && q.ready > 0
                        && q.next_tile.is_some_and(|t| view.fusible(s, t))
                })
            });
        match partner {
            Some(q) => {
                taken.push(q.id);
                d.fuse.push((a, rs[i].id, q.id));
            }
            None => d.assign.push((a, rs[i].id)),
        }
    }
}
