//! CD-MSA's checked standing orders: when a decision gives every idle array to one request
//! (alone, or with one partner fused), how long the same decision stands while only that
//! request and its partner progress.
//!
//! Between the order and a later decision point only the request `r` and its partner `p`
//! change (their jobs dispatch and complete); every other request's view is as it was, and
//! only time moves. Every idle array goes to `r` when
//!
//! * `r` is the first request with a ready job in the priority order and no other admitted
//!   request is short of its minimum (pass 2 gives `r` every array pass 1 left), or
//! * `r` is admitted, takes every idle array for its own minimum, and no admitted request
//!   ahead of it is short of its minimum (pass 1 ends with `r`).
//!
//! It goes fused with `p` when there is one idle array, `r`'s next tile leaves room, and
//! `p`'s is the only other next tile that fits beside it; alone when no other fits.
//!
//! The unchanged requests' part in these conditions moves only with time, and
//! monotonically: a request's laxity and slack only shrink, so it is promoted at a known
//! time and falls short of its minimum at a known time. Those times bound the order; `r`'s
//! and `p`'s part is checked at each use.

use super::tracked::Rank;
use super::{CdMsa, has_laxity, minimum};
use crate::kernel::TileProfile;
use crate::sched::{RequestView, View, fusible, has_room};
use crate::units::{Cycles, RequestId};

/// What a checked standing order holds to, worked out at its first use (most orders end
/// before one).
#[derive(Debug, Clone, Default)]
pub(super) struct Promise {
    /// The request's position in the view.
    index: usize,
    /// Its partner's position, when its tiles run fused with the partner's.
    partner: Option<usize>,
    /// Whether the rest is worked out.
    known: bool,
    /// Arrays of the accelerator.
    arrays: usize,
    /// The request as the other requests are compared with it.
    request: Rival,
    /// Rows and columns of an array, when tiles may fuse.
    fusion_geometry: Option<(usize, usize)>,
    /// The next tiles of the unchanged requests with a ready job: a tile of the request's
    /// that fits beside one of them would fuse with it.
    others: Vec<TileProfile>,
    /// The unchanged requests' part.
    leeway: Leeway,
}

/// The request of a promise, as the others are ranked against it.
#[derive(Debug, Clone, Copy, Default)]
struct Rival {
    admitted: bool,
    /// Its class, which must stay the same: zero laxity (admitted) or late (best-effort).
    class: bool,
    /// Its deadline order key.
    key: (Cycles, Cycles, RequestId),
    /// Its best-effort rank when the promise was worked out (it only shrinks since).
    late_key: Rank,
}

/// The other requests' part in a promise: last times, `None` meaning not even now.
#[derive(Debug, Clone, Copy)]
struct Leeway {
    /// Some request with a ready job is ahead of the promise's request.
    ahead: bool,
    /// Last time no request behind has been promoted ahead.
    behind: Option<Cycles>,
    /// Last time no admitted request is short of its minimum.
    content: Option<Cycles>,
    /// Last time no admitted request ahead is short of its minimum.
    content_ahead: Option<Cycles>,
}

impl Default for Leeway {
    fn default() -> Self {
        Leeway {
            ahead: false,
            behind: Some(Cycles::MAX),
            content: Some(Cycles::MAX),
            content_ahead: Some(Cycles::MAX),
        }
    }
}

/// The earlier of two last times, `None` (never) winning.
fn earliest(a: Option<Cycles>, b: Option<Cycles>) -> Option<Cycles> {
    Some(a?.min(b?))
}

/// Request `r`'s class at `now` on `arrays` arrays: zero laxity when admitted (promoted
/// ahead of the others), late when best-effort (ranked after the others).
#[inline]
fn class(r: &RequestView, now: Cycles, arrays: usize, admitted: bool) -> bool {
    let k = r.parallelism().min(arrays);
    match admitted {
        true => !has_laxity(r, now, k),
        false => r.laxity(now, k) < 0,
    }
}

/// Last time `w` has laxity left (its laxity shrinks by one a cycle while it waits); `None`
/// when it has none.
fn last_lax(w: &RequestView, arrays: usize) -> Option<Cycles> {
    let estimate = w.estimate(w.parallelism().min(arrays));
    w.deadline
        .0
        .checked_sub(estimate.0)?
        .checked_sub(1)
        .map(Cycles)
}

/// Last time the arrays `w` holds are at least its minimum, so that it asks for no more in
/// pass 1 (`Cycles::MAX`: always; `None`: not now). Its minimum is one array until it turns
/// tight (one array no longer meets its deadline by the estimate, which only gets closer
/// while it waits), then every array.
fn last_content(w: &RequestView, arrays: usize) -> Option<Cycles> {
    if w.running >= arrays {
        return Some(Cycles::MAX);
    }
    if w.running == 0 {
        return None;
    }
    match w.estimate(1).0 {
        0 => Some(Cycles::MAX),
        e => w.deadline.0.checked_sub(e).map(Cycles),
    }
}

impl Leeway {
    /// Adds request `w` (`admitted` or best-effort) at `now`.
    #[inline]
    fn add(&mut self, w: &RequestView, admitted: bool, r: &Rival, now: Cycles, arrays: usize) {
        if w.ready == 0 {
            self.add_lender(w, admitted, r, now, arrays);
            return;
        }
        if !admitted {
            // Behind an admitted r; behind a best-effort r unless ahead now (its key only
            // grows while r's only shrinks).
            let late = w.is_late(now, arrays);
            self.ahead |= !r.admitted && (late, w.remaining, w.deadline, w.id) < r.late_key;
            return;
        }
        let until = last_content(w, arrays);
        self.content = earliest(self.content, until);
        if !r.admitted {
            self.ahead = true;
            return;
        }
        // Zero laxity from the cycle after its last one with laxity left.
        let lax = last_lax(w, arrays);
        let promoted = lax.is_none_or(|last| now > last);
        let earlier = (w.deadline, w.arrival, w.id) < r.key;
        // Promoted requests go first, then the others, each group in deadline order.
        let (ahead_now, ahead_once_promoted) = match r.class {
            true => (promoted && earlier, !promoted && earlier),
            false => (promoted || earlier, !promoted && !earlier),
        };
        if ahead_now {
            self.ahead = true;
            self.content_ahead = earliest(self.content_ahead, until);
            if w.running > 0 && w.running < w.parallelism().min(arrays) {
                // A lender ahead: how much it lends moves with time.
                self.content_ahead = None;
            }
        } else if ahead_once_promoted {
            self.behind = earliest(self.behind, lax);
        }
    }

    /// Adds request `w` without a ready job: it matters only as an admitted lender (holding
    /// some arrays but fewer than it can use) ahead of the request, which it would lend arrays to by
    /// rules that move with time; so the order stands only until the lender could be ahead.
    fn add_lender(&mut self, w: &RequestView, admitted: bool, r: &Rival, now: Cycles, n: usize) {
        if !admitted || w.running == 0 || w.running >= w.parallelism().min(n) {
            return;
        }
        let lax = last_lax(w, n);
        let promoted = lax.is_none_or(|last| now > last);
        let earlier = (w.deadline, w.arrival, w.id) < r.key;
        let (ahead_now, ahead_once_promoted) = match (r.admitted, r.class) {
            (false, _) => (true, false),
            (true, true) => (promoted && earlier, !promoted && earlier),
            (true, false) => (promoted || earlier, !promoted && !earlier),
        };
        if ahead_now {
            self.ahead = true;
            self.content_ahead = None;
        } else if ahead_once_promoted {
            self.behind = earliest(self.behind, lax);
        }
    }

    /// Whether every idle array goes to the request at `now`, by `needs_all`: whether its
    /// own minimum takes them all.
    fn stands(&self, r: &Rival, now: Cycles, needs_all: impl FnOnce() -> bool) -> bool {
        let within = |t: Option<Cycles>| t.is_some_and(|t| now <= t);
        (!self.ahead && within(earliest(self.behind, self.content)))
            || (r.admitted && within(earliest(self.behind, self.content_ahead)) && needs_all())
    }
}

impl Promise {
    /// Becomes a promise for the request at view position `index`, fused with the one at
    /// `partner` when given, to be worked out at its first use (keeping its memory).
    pub(super) fn renew(&mut self, index: usize, partner: Option<usize>) {
        self.index = index;
        self.partner = partner;
        self.known = false;
    }
}

impl CdMsa {
    /// Works out the promise on `view`: since the decision it stands for, only its request
    /// and partner have changed.
    fn work_out(&mut self, view: &View) {
        let (now, n, rs) = (view.now, view.num_arrays(), view.requests);
        let p = &mut self.promise;
        let r = &rs[p.index];
        let admitted = self.tracked.is_admitted(r.place());
        let class_r = class(r, now, n, admitted);
        p.request = Rival {
            admitted,
            class: class_r,
            key: (r.deadline, r.arrival, r.id),
            late_key: (class_r, r.remaining, r.deadline, r.id),
        };
        p.arrays = n;
        p.fusion_geometry = view.fusion_geometry.filter(|_| self.options.fusion);
        p.others.clear();
        p.leeway = Leeway::default();
        let (index, partner) = (p.index, p.partner);
        let other = |i: usize| i != index && Some(i) != partner;
        // The admitted requests each in full.
        for &i in self.admitted_by_deadline.iter().filter(|&&i| other(i)) {
            let w = &rs[i];
            if let Some(tile) = w.next_tile.filter(|_| w.ready > 0) {
                p.others.push(tile);
            }
            p.leeway.add(w, true, &p.request, now, n);
        }
        // Two admitted requests of one tenant: the one behind waits for its minimum while the
        // one ahead holds arrays, and which one is ahead moves with laxities: no order is
        // worked out for that case, so none stands.
        let mut tenants: Vec<_> = self
            .admitted_by_deadline
            .iter()
            .map(|&i| rs[i].tenant)
            .collect();
        tenants.sort_unstable();
        if tenants.windows(2).any(|w| w[0] == w[1]) {
            p.leeway.content = None;
            p.leeway.content_ahead = None;
        }
        // The best-effort ones as ranked: each next tile once; one ranked ahead of a
        // best-effort request is ahead of it (one without a ready job lends nothing).
        let own = |place| place == r.place() || partner.is_some_and(|q| place == rs[q].place());
        self.tracked.advance(now);
        p.others.extend(self.tracked.tiles(own));
        if !p.request.admitted
            && let Some(rank) = self.tracked.best_rank(own)
        {
            p.leeway.ahead |= rank < p.request.late_key;
        }
        p.known = true;
    }

    /// Whether the promise stands on `view` with `idle` arrays idle.
    pub(super) fn holds(&mut self, view: &View, idle: usize) -> bool {
        if !self.promise.known {
            self.work_out(view);
        }
        let (p, now, rs) = (&self.promise, view.now, view.requests);
        let r = &rs[p.index];
        if class(r, now, p.arrays, p.request.admitted) != p.request.class {
            return false;
        }
        // A late best-effort request gets no array while an admitted one is active.
        if !p.request.admitted && p.request.class && !self.admitted_by_deadline.is_empty() {
            return false;
        }
        let fits = |a: TileProfile, b: TileProfile| {
            p.fusion_geometry.is_some_and(|(rows, cols)| {
                has_room(rows, cols, &a.shape) && fusible(rows, cols, a, b)
            })
        };
        let lone = |a: Option<TileProfile>| {
            idle > 1 || a.is_none_or(|a| p.others.iter().all(|&b| !fits(a, b)))
        };
        if !lone(r.next_tile) {
            return false;
        }
        let mut leeway = p.leeway;
        if let Some(qi) = p.partner {
            // The partner changes too: its part is taken as it is now.
            let q = &rs[qi];
            let pair = r.next_tile.zip(q.next_tile);
            if idle != 1 || q.ready == 0 || !pair.is_some_and(|(a, b)| fits(a, b)) {
                return false;
            }
            leeway.add(
                q,
                self.tracked.is_admitted(q.place()),
                &p.request,
                now,
                p.arrays,
            );
        }
        // Pass 1 gives r every idle array for its own minimum (cooperation caps it at every
        // array).
        leeway.stands(&p.request, now, || {
            minimum(r, now, p.arrays) >= r.running + idle
        })
    }
}
