//! What CD-MSA keeps of the active requests between decisions: each one's place, deadline
//! and running jobs, and the best-effort requests with a ready job kept ranked (as a whole,
//! and grouped by their next tile for fusion). A decision told which requests changed
//! ([`crate::sched::Policy::decide_changed`]) re-ranks only those, so it never sorts the
//! queue; only a change of the set of requests (an arrival, a departure, a decoder request's
//! next deadline), which re-runs admission, ranks every request anew.

use crate::kernel::TileProfile;
use crate::sched::{Place, RequestView, View};
use crate::units::{Cycles, RequestId};
use std::collections::{BTreeSet, HashMap};

/// A best-effort request's rank: those that can still make their deadline first (laxity
/// with every array they can use not negative), then the least remaining work (most
/// deadlines met per cycle), then deadline and id.
pub(super) type Rank = (bool, Cycles, Cycles, RequestId);

/// The rank of best-effort request `r` at `now` on `arrays` arrays.
pub(super) fn rank(r: &RequestView, now: Cycles, arrays: usize) -> Rank {
    let late = r.laxity(now, r.parallelism().min(arrays)) < 0;
    (late, r.remaining, r.deadline, r.id)
}

/// The last cycle at which `r`, unchanged, is not late on `arrays` arrays: its laxity,
/// `deadline − now − estimate`, falls by one a cycle.
fn last_on_time(r: &RequestView, arrays: usize) -> i128 {
    let estimate = r.estimate(r.parallelism().min(arrays));
    i128::from(r.deadline.0) - i128::from(estimate.0)
}

/// A ranked request's entry: its rank, next tile and, while it is on time, the last cycle it
/// is.
#[derive(Debug, Clone, Copy)]
struct Ranked {
    rank: Rank,
    tile: Option<TileProfile>,
    on_time_until: Option<i128>,
}

/// One active request, at its position in the view.
#[derive(Debug, Clone, Copy)]
struct Entry {
    place: Place,
    deadline: Cycles,
    running: usize,
    /// Set when it is ranked: best-effort, with a ready job.
    ranked: Option<Ranked>,
}

/// The requests of one set (the view positions stay those of the view it was built on), the
/// best-effort ones ranked.
#[derive(Debug, Clone, Default)]
pub(super) struct Tracked {
    entries: Vec<Entry>,
    /// Σ running jobs of every request.
    running: usize,
    /// The ranked requests, best first: (rank, view position).
    ranked: BTreeSet<(Rank, usize)>,
    /// The same, grouped by next tile (requests whose next job is a tile).
    by_tile: HashMap<TileProfile, BTreeSet<(Rank, usize)>>,
    /// The ranked requests on time, by the last cycle they are.
    on_time: BTreeSet<(i128, usize)>,
    /// Arrays of the accelerator.
    arrays: usize,
}

impl Tracked {
    /// Tracks every request of `view` anew, ranking those not `admitted` (by view position)
    /// that have a ready job.
    pub(super) fn rebuild(&mut self, view: &View, admitted: &[bool]) {
        self.arrays = view.num_arrays();
        self.entries.clear();
        self.running = 0;
        self.ranked.clear();
        self.by_tile.clear();
        self.on_time.clear();
        let mut ranked = Vec::new();
        for (i, r) in view.requests.iter().enumerate() {
            self.running += r.running;
            let entry = Entry {
                place: r.place(),
                deadline: r.deadline,
                running: r.running,
                ranked: (!admitted[i] && r.ready > 0).then(|| self.entry(r, view.now)),
            };
            if let Some(e) = entry.ranked {
                ranked.push((e.rank, i));
                if let Some(t) = e.on_time_until {
                    self.on_time.insert((t, i));
                }
            }
            self.entries.push(entry);
        }
        ranked.sort_unstable();
        for &(rank, i) in &ranked {
            if let Some(tile) = self.entries[i].ranked.and_then(|e| e.tile) {
                self.by_tile.entry(tile).or_default().insert((rank, i));
            }
        }
        self.ranked = ranked.into_iter().collect();
    }

    /// Brings the requests at `changed` up to date from `view`, with `admitted` as the last
    /// admission decided. Returns `false`, leaving the rest to [`Tracked::rebuild`], when the
    /// set of requests or a deadline changed (admission must run again).
    pub(super) fn update(&mut self, view: &View, changed: &[Place], admitted: &[bool]) -> bool {
        if view.requests.len() != self.entries.len() {
            return false;
        }
        for &place in changed {
            let Ok(i) = view
                .requests
                .binary_search_by_key(&place, RequestView::place)
            else {
                return false;
            };
            let r = &view.requests[i];
            let e = self.entries[i];
            if e.place != place || e.deadline != r.deadline {
                return false;
            }
            self.unrank(i);
            self.running = self.running - e.running + r.running;
            self.entries[i].running = r.running;
            if !admitted[i] && r.ready > 0 {
                let ranked = self.entry(r, view.now);
                self.insert(i, ranked);
            }
        }
        true
    }

    /// Ranks every request that turned late by `now` as late.
    pub(super) fn advance(&mut self, now: Cycles) {
        while let Some(&(until, i)) = self.on_time.first()
            && until < i128::from(now.0)
        {
            self.on_time.pop_first();
            if let Some(mut e) = self.unrank(i) {
                e.rank.0 = true;
                e.on_time_until = None;
                self.insert(i, e);
            }
        }
    }

    /// Σ running jobs of every request.
    pub(super) fn running(&self) -> usize {
        self.running
    }

    /// The view positions of the ranked requests, best first.
    pub(super) fn ranked(&self) -> impl Iterator<Item = usize> + '_ {
        self.ranked.iter().map(|&(_, i)| i)
    }

    /// The best-ranked request, not `skip`ped, whose next tile `fits`.
    pub(super) fn partner(
        &self,
        fits: impl Fn(TileProfile) -> bool,
        skip: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        self.by_tile
            .iter()
            .filter(|(t, _)| fits(**t))
            .filter_map(|(_, group)| group.iter().find(|(_, i)| !skip(*i)))
            .min()
            .map(|&(_, i)| i)
    }

    /// The best rank of the requests not `skip`ped.
    pub(super) fn best_rank(&self, skip: impl Fn(usize) -> bool) -> Option<Rank> {
        self.ranked
            .iter()
            .find(|(_, i)| !skip(*i))
            .map(|&(rank, _)| rank)
    }

    /// The next tiles of the ranked requests not `skip`ped, each tile once.
    pub(super) fn tiles(&self, skip: impl Fn(usize) -> bool) -> impl Iterator<Item = TileProfile> {
        self.by_tile
            .iter()
            .filter(move |(_, group)| group.iter().any(|(_, i)| !skip(*i)))
            .map(|(t, _)| *t)
    }

    /// The ranked entry of request `r` at `now`.
    fn entry(&self, r: &RequestView, now: Cycles) -> Ranked {
        let rank = rank(r, now, self.arrays);
        Ranked {
            rank,
            tile: r.next_tile,
            on_time_until: (!rank.0).then(|| last_on_time(r, self.arrays)),
        }
    }

    /// Ranks request `i` by `e`.
    fn insert(&mut self, i: usize, e: Ranked) {
        self.ranked.insert((e.rank, i));
        if let Some(tile) = e.tile {
            self.by_tile.entry(tile).or_default().insert((e.rank, i));
        }
        if let Some(until) = e.on_time_until {
            self.on_time.insert((until, i));
        }
        self.entries[i].ranked = Some(e);
    }

    /// Takes request `i` out of the ranking; returns its entry when it was ranked.
    fn unrank(&mut self, i: usize) -> Option<Ranked> {
        let e = self.entries[i].ranked.take()?;
        self.ranked.remove(&(e.rank, i));
        if let Some(tile) = e.tile
            && let Some(group) = self.by_tile.get_mut(&tile)
        {
            group.remove(&(e.rank, i));
            if group.is_empty() {
                self.by_tile.remove(&tile);
            }
        }
        if let Some(until) = e.on_time_until {
            self.on_time.remove(&(until, i));
        }
        Some(e)
    }
}
