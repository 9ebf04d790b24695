//! What CD-MSA's fast path keeps of the active requests between decisions, by place: each
//! one's deadline, work and running jobs, the requests in deadline order, the admitted ones,
//! and the best-effort ones with a ready job ranked (as a whole, and grouped by next tile for
//! fusion). A decision told which requests changed ([`crate::sched::Policy::decide_changed`])
//! updates only those, and admission passes only the requests whose deadline is still ahead
//! (see [`Tracked::admit`]), so no step of a decision passes the whole queue.

use super::admit_among;
use crate::kernel::TileProfile;
use crate::sched::{Offered, Place, RequestView, View};
use crate::units::{Cycles, RequestId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound::{Excluded, Included, Unbounded};

/// A best-effort request's rank: those that can still make their deadline first (laxity
/// with every array they can use not negative), then the least remaining work (most
/// deadlines met per cycle), then deadline and id.
pub(super) type Rank = (bool, Cycles, Cycles, RequestId);

/// The greatest place: `(deadline, LAST)` bounds every request due at `deadline` from above.
const LAST: Place = (Cycles::MAX, RequestId(u64::MAX));

/// The last cycle at which `r`, unchanged, is not late on `arrays` arrays (laxity with every
/// array it can use, `deadline − now − estimate`, not negative): laxity falls by one a cycle.
fn last_on_time(r: &RequestView, arrays: usize) -> i128 {
    let estimate = r.estimate(r.parallelism().min(arrays));
    i128::from(r.deadline.0) - i128::from(estimate.0)
}

/// One active request.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    id: RequestId,
    deadline: Cycles,
    /// Its remaining work (what the demand test counts).
    work: Cycles,
    running: usize,
    /// Its next tile, when it has a ready job.
    ready: Option<Option<TileProfile>>,
    admitted: bool,
    /// Best-effort and on time: the last cycle it is.
    on_time_until: Option<i128>,
    /// Best-effort with a ready job: its rank.
    rank: Option<Rank>,
}

/// The active requests as of the last decision.
#[derive(Debug, Clone, Default)]
pub(super) struct Tracked {
    entries: BTreeMap<Place, Entry>,
    /// Σ running jobs of every request.
    running: usize,
    /// Every request in deadline order: (deadline, place), place being (arrival, id).
    by_deadline: BTreeSet<(Cycles, Place)>,
    /// The requests without work left (every job running).
    no_work: BTreeSet<Place>,
    /// The admitted requests, in deadline order.
    admitted: BTreeSet<(Cycles, Place)>,
    /// The best-effort requests on time, by the last cycle they are.
    on_time: BTreeSet<(i128, Place)>,
    /// The best-effort requests with a ready job, best first.
    ranked: BTreeSet<(Rank, Place)>,
    /// The same, grouped by next tile (requests whose next job is a tile).
    by_tile: HashMap<TileProfile, BTreeSet<(Rank, Place)>>,
    /// Arrays of the accelerator.
    arrays: usize,
    /// Admission is off: every request is admitted as it arrives.
    admit_all: bool,
    /// Whether the set of requests or a deadline changed since the last admission.
    unadmitted: bool,
    /// When admission last ran, and the places since found with work left where they had
    /// none then, or due at another time (arrived, given more work, a decoder's next step).
    last_admission: Option<Cycles>,
    since_admission: Vec<Place>,
}

impl Tracked {
    /// Nothing tracked yet; with `admit_all`, every request is admitted as it arrives.
    pub(super) fn new(admit_all: bool) -> Tracked {
        Tracked {
            admit_all,
            ..Tracked::default()
        }
    }

    /// The places of every tracked request.
    pub(super) fn places(&self) -> impl Iterator<Item = Place> + '_ {
        self.entries.keys().copied()
    }

    /// Brings the requests at `changed` up to date from `view` (a place not in it has left).
    pub(super) fn update(&mut self, view: &View, changed: impl IntoIterator<Item = Place>) {
        self.arrays = view.num_arrays();
        for place in changed {
            let Some(r) = view.find(place) else {
                if let Some(e) = self.entries.remove(&place) {
                    self.file(place, Some(&e), None);
                    self.running -= e.running;
                    self.unadmitted = true;
                }
                continue;
            };
            let old = self.entries.get(&place).copied();
            let admitted = old.map_or(self.admit_all, |e| e.admitted);
            if old.is_none_or(|e| e.deadline != r.deadline) {
                self.unadmitted = true;
            }
            let new = self.entry(r, view.now, admitted);
            self.running = self.running - old.map_or(0, |e| e.running) + new.running;
            self.file(place, old.as_ref(), Some(&new));
            self.entries.insert(place, new);
            let listed = old.is_some_and(|e| e.work > Cycles::ZERO && e.deadline == new.deadline);
            if new.work > Cycles::ZERO && !listed {
                self.since_admission.push(place);
            }
        }
    }

    /// Ranks every best-effort request that turned late by `now` as late.
    pub(super) fn advance(&mut self, now: Cycles) {
        while let Some(&(until, place)) = self.on_time.first()
            && until < i128::from(now.0)
        {
            self.on_time.pop_first();
            if let Some(e) = self.entries.get_mut(&place) {
                let old = *e;
                e.on_time_until = None;
                e.rank = e
                    .rank
                    .map(|(_, remaining, deadline, id)| (true, remaining, deadline, id));
                let new = *e;
                self.file(place, Some(&old), Some(&new));
            }
        }
    }

    /// Whether admission must run again: the set of requests or a deadline changed.
    pub(super) fn unadmitted(&self) -> bool {
        self.unadmitted
    }

    /// Admission on `view` with the `offered` loads' future arrivals set aside, as
    /// [`super::CdMsa`]'s definition runs it over every request, but passing only the requests due after now and those without work left; `rejected`
    /// gets every request given up on.
    ///
    /// Why the others need no test: in deadline order, the requests whose deadline has
    /// passed come first, and one with work left fails the demand test on its own (work > 0
    /// in no time). Moore–Hodgson then gives up the request with the most work in the set,
    /// which, since every request before it in that prefix was given up on or has no work,
    /// is the request itself. So each leaves at once, changing nothing for the others, and
    /// is given up on. The ones given up on are found among the requests whose deadline
    /// passed since the last admission and those found since with work where they had none
    /// or with another deadline (an excluded request was then due later by the same
    /// deadline, due at another time, without work, or absent; one overdue with work then
    /// was given up then).
    pub(super) fn admit(
        &mut self,
        view: &View,
        offered: &[Offered],
        rejected: &mut impl FnMut(RequestId),
    ) {
        self.unadmitted = false;
        let now = view.now;
        let since = std::mem::take(&mut self.since_admission);
        let passed_from = match self.last_admission.replace(now) {
            Some(last) => Excluded((last, LAST)),
            None => Unbounded,
        };
        if self.admit_all {
            return;
        }
        let passed = self
            .by_deadline
            .range((passed_from, Included((now, LAST))))
            .map(|&(_, place)| place);
        for place in passed.chain(since) {
            if let Some(e) = self.entries.get(&place)
                && e.deadline <= now
                && e.work > Cycles::ZERO
            {
                rejected(e.id);
            }
        }
        let due_later = self
            .by_deadline
            .range((Excluded((now, LAST)), Unbounded))
            .map(|&(_, place)| place);
        let without_work = self
            .no_work
            .iter()
            .copied()
            .filter(|place| self.entries.get(place).is_some_and(|e| e.deadline <= now));
        let mut candidates: Vec<usize> = due_later
            .chain(without_work)
            .filter_map(|place| view.position(place))
            .collect();
        let (admitted, given_up) = admit_among(view, &mut candidates, offered);
        for id in given_up {
            rejected(id);
        }
        let admitted: BTreeSet<(Cycles, Place)> = admitted
            .iter()
            .map(|&i| (view.requests[i].deadline, view.requests[i].place()))
            .collect();
        // Those admitted before and not now, then those admitted now and not before.
        let left: Vec<Place> = self.admitted.difference(&admitted).map(|k| k.1).collect();
        let joined: Vec<Place> = admitted.difference(&self.admitted).map(|k| k.1).collect();
        for (places, admitted) in [(left, false), (joined, true)] {
            for place in places {
                if let (Some(r), Some(&old)) = (view.find(place), self.entries.get(&place)) {
                    let new = self.entry(r, now, admitted);
                    self.file(place, Some(&old), Some(&new));
                    self.entries.insert(place, new);
                }
            }
        }
    }

    /// Σ running jobs of every request.
    pub(super) fn running(&self) -> usize {
        self.running
    }

    /// Whether the request at `place` is admitted.
    pub(super) fn is_admitted(&self, place: Place) -> bool {
        self.entries.get(&place).is_some_and(|e| e.admitted)
    }

    /// The admitted requests, in deadline order.
    pub(super) fn admitted(&self) -> impl Iterator<Item = Place> + '_ {
        self.admitted.iter().map(|&(_, place)| place)
    }

    /// The ranked requests (best-effort, with a ready job), best first.
    pub(super) fn ranked(&self) -> impl Iterator<Item = Place> + '_ {
        self.ranked.iter().map(|&(_, place)| place)
    }

    /// The best-ranked request, not `skip`ped, whose next tile `fits`.
    pub(super) fn partner(
        &self,
        fits: impl Fn(TileProfile) -> bool,
        skip: impl Fn(Place) -> bool,
    ) -> Option<Place> {
        self.by_tile
            .iter()
            .filter(|(t, _)| fits(**t))
            .filter_map(|(_, group)| group.iter().find(|(_, p)| !skip(*p)))
            .min()
            .map(|&(_, place)| place)
    }

    /// The best rank of the ranked requests not `skip`ped.
    pub(super) fn best_rank(&self, skip: impl Fn(Place) -> bool) -> Option<Rank> {
        self.ranked
            .iter()
            .find(|(_, p)| !skip(*p))
            .map(|&(rank, _)| rank)
    }

    /// The next tiles of the ranked requests not `skip`ped, each tile once.
    pub(super) fn tiles(&self, skip: impl Fn(Place) -> bool) -> impl Iterator<Item = TileProfile> {
        self.by_tile
            .iter()
            .filter(move |(_, group)| group.iter().any(|(_, p)| !skip(*p)))
            .map(|(t, _)| *t)
    }

    /// The entry of request `r` at `now`.
    fn entry(&self, r: &RequestView, now: Cycles, admitted: bool) -> Entry {
        let ready = (r.ready > 0).then_some(r.next_tile);
        // Lateness matters to best-effort requests only.
        let until = (!admitted).then(|| last_on_time(r, self.arrays));
        let late = until.is_some_and(|u| u < i128::from(now.0));
        Entry {
            id: r.id,
            deadline: r.deadline,
            work: r.remaining,
            running: r.running,
            ready,
            admitted,
            on_time_until: until.filter(|_| !late),
            rank: (!admitted && ready.is_some()).then_some((late, r.remaining, r.deadline, r.id)),
        }
    }

    /// Moves the request at `place` from the sets its entry `old` was filed in to those
    /// `new` belongs in (`None`: none), touching only the sets whose key changed.
    fn file(&mut self, place: Place, old: Option<&Entry>, new: Option<&Entry>) {
        let key = |e: Option<&Entry>| e.map(|e| (e.deadline, place));
        refile(&mut self.by_deadline, key(old), key(new));
        let key = |e: Option<&Entry>| e.filter(|e| e.work == Cycles::ZERO).map(|_| place);
        refile(&mut self.no_work, key(old), key(new));
        let key = |e: Option<&Entry>| e.filter(|e| e.admitted).map(|e| (e.deadline, place));
        refile(&mut self.admitted, key(old), key(new));
        let key = |e: Option<&Entry>| e.and_then(|e| e.on_time_until).map(|u| (u, place));
        refile(&mut self.on_time, key(old), key(new));
        let key = |e: Option<&Entry>| e.and_then(|e| e.rank).map(|r| (r, place));
        refile(&mut self.ranked, key(old), key(new));
        let key = |e: Option<&Entry>| {
            let e = e?;
            Some((e.ready.flatten()?, (e.rank?, place)))
        };
        let (a, b) = (key(old), key(new));
        if a != b {
            if let Some((tile, k)) = a
                && let Some(group) = self.by_tile.get_mut(&tile)
            {
                group.remove(&k);
                if group.is_empty() {
                    self.by_tile.remove(&tile);
                }
            }
            if let Some((tile, k)) = b {
                self.by_tile.entry(tile).or_default().insert(k);
            }
        }
    }
}

/// Moves key `old` of `set` to `new` (`None`: absent), when they differ.
fn refile<K: Ord + Copy>(set: &mut BTreeSet<K>, old: Option<K>, new: Option<K>) {
    if old != new {
        if let Some(k) = old {
            set.remove(&k);
        }
        if let Some(k) = new {
            set.insert(k);
        }
    }
}
