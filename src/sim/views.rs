//! The policy's view of the accelerator, kept between decisions: a [`RequestView`] for each
//! active request in arrival order, rebuilt only for the requests that changed, and the owner
//! of each array. The machine tells it what changed; [`Views::view`] is then what building
//! every view anew would give, and [`Views::changed`] the places of the requests whose views
//! arrived, changed or left since the policy was last asked.

use super::TenantModel;
use super::machine::Active;
use crate::config::{AcceleratorConfig, Dataflow};
use crate::sched::{Place, RequestView, View};
use crate::units::{Cycles, RequestId, TenantId};

/// The views of the active requests, each request known by its slot (its arrival position
/// less the machine's base).
pub(super) struct Views<'t> {
    /// Slots of the active requests, in arrival order.
    order: Vec<usize>,
    /// The view of each request in `order`.
    views: Vec<RequestView<'t>>,
    /// Position of each slot in `order` (`usize::MAX` when not active).
    pos: Vec<usize>,
    /// Slots whose view changed since the last refresh (each once, flagged in `is_stale`).
    stale: Vec<usize>,
    is_stale: Vec<bool>,
    /// Views in `views` with a ready job.
    ready: usize,
    /// For each array, the request whose job it runs (the first of a fused pair).
    owners: Vec<Option<RequestId>>,
    /// For each array, the tenant whose job it ran last.
    last_tenant: Vec<Option<TenantId>>,
    /// Places of the requests inserted, refreshed or removed since [`Views::clear_changed`]
    /// (each once: their slots are in `changed_slots`, flagged in `is_changed`).
    changed: Vec<Place>,
    changed_slots: Vec<usize>,
    is_changed: Vec<bool>,
}

/// Sets the fields of `v` that change while request `a` runs (the others are fixed at its
/// arrival; a decoder request's deadline and isolated latency change with its step).
fn refresh_view<'t>(v: &mut RequestView<'t>, a: &Active<'t>) {
    v.deadline = a.deadline;
    v.isolated = a.isolated;
    v.remaining = a.remaining;
    v.ready = a.ready();
    v.running = a.running;
    v.served = a.served;
    v.after = a.after;
    v.remaining_in_layer = a.remaining_in_layer;
    v.next_tile = a.jobs.get(a.next_job).and_then(|j| j.profile);
}

/// The view of request `a` of `tenant`.
fn new_view<'t>(a: &Active<'t>, tenant: &TenantModel) -> RequestView<'t> {
    let mut v = RequestView {
        id: a.id,
        tenant: tenant.id,
        priority: tenant.priority,
        weight: tenant.weight,
        arrival: a.arrival,
        deadline: a.deadline,
        isolated: a.isolated,
        remaining: Cycles::ZERO,
        ready: 0,
        running: 0,
        served: Cycles::ZERO,
        after: a.after,
        remaining_in_layer: Cycles::ZERO,
        next_tile: None,
    };
    refresh_view(&mut v, a);
    v
}

impl<'t> Views<'t> {
    /// No request, `arrays` idle arrays.
    pub(super) fn new(arrays: usize) -> Self {
        Views {
            order: Vec::new(),
            views: Vec::new(),
            pos: Vec::new(),
            stale: Vec::new(),
            is_stale: Vec::new(),
            ready: 0,
            owners: vec![None; arrays],
            last_tenant: vec![None; arrays],
            changed: Vec::new(),
            changed_slots: Vec::new(),
            is_changed: Vec::new(),
        }
    }

    /// No request active.
    pub(super) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Some active request has a ready job.
    pub(super) fn any_ready(&self) -> bool {
        self.ready > 0
    }

    /// Makes room for the request arrived in slot `k` (the next slot), not in the view until
    /// [`Views::restore`] puts it there.
    pub(super) fn reserve(&mut self, k: usize) {
        debug_assert_eq!(k, self.pos.len(), "arrivals in order");
        self.pos.push(usize::MAX);
        self.is_stale.push(false);
        self.is_changed.push(false);
    }

    /// Puts request `a` of `tenant` in slot `k` (reserved, or taken out with
    /// [`Views::remove`]) in the view, at its place in arrival order.
    pub(super) fn restore(&mut self, k: usize, a: &Active<'t>, tenant: &TenantModel) {
        let at = self.order.partition_point(|&j| j < k);
        let v = new_view(a, tenant);
        self.ready += usize::from(v.ready > 0);
        self.note_changed(k, &v);
        self.order.insert(at, k);
        self.views.insert(at, v);
        for (p, &j) in self.order.iter().enumerate().skip(at) {
            self.pos[j] = p;
        }
    }

    /// Notes that the view of the request in slot `k`, `v`, arrived, changed or left.
    fn note_changed(&mut self, k: usize, v: &RequestView) {
        if !std::mem::replace(&mut self.is_changed[k], true) {
            self.changed.push(v.place());
            self.changed_slots.push(k);
        }
    }

    /// The places of the requests whose views arrived, changed or left since
    /// [`Views::clear_changed`] (what [`crate::sched::Policy::decide_changed`] is told).
    pub(super) fn changed(&self) -> &[Place] {
        &self.changed
    }

    /// Forgets the changes (the policy has been told).
    pub(super) fn clear_changed(&mut self) {
        for &k in &self.changed_slots {
            self.is_changed[k] = false;
        }
        self.changed.clear();
        self.changed_slots.clear();
    }

    /// Removes the request in slot `k` (nothing when it is not in the view).
    pub(super) fn remove(&mut self, k: usize) {
        let pos = std::mem::replace(&mut self.pos[k], usize::MAX);
        if pos < self.order.len() {
            self.order.remove(pos);
            let view = self.views.remove(pos);
            self.ready -= usize::from(view.ready > 0);
            self.note_changed(k, &view);
            for (p, &j) in self.order.iter().enumerate().skip(pos) {
                self.pos[j] = p;
            }
        }
    }

    /// Notes that the view of the request in slot `k` must be refreshed before the next
    /// decision.
    pub(super) fn touch(&mut self, k: usize) {
        if !std::mem::replace(&mut self.is_stale[k], true) {
            self.stale.push(k);
        }
    }

    /// Sets the request `array` runs a job of (`None`: idle).
    pub(super) fn set_owner(&mut self, array: usize, owner: Option<RequestId>) {
        self.owners[array] = owner;
    }

    /// Forgets which tenant every array ran last (its scratchpad is cold again).
    pub(super) fn forget_tenants(&mut self) {
        self.last_tenant.fill(None);
    }

    /// Notes that `array` runs a job of `tenant`.
    pub(super) fn set_tenant(&mut self, array: usize, tenant: TenantId) {
        self.last_tenant[array] = Some(tenant);
    }

    /// Refreshes every view noted stale, from `active` (by slot).
    pub(super) fn refresh_stale(&mut self, active: &[Option<Box<Active<'t>>>]) {
        let stale = std::mem::take(&mut self.stale);
        for &k in &stale {
            self.is_stale[k] = false;
            self.refresh(k, active);
        }
        self.stale = stale;
        self.stale.clear();
    }

    /// Brings the view of the request in slot `k` up to date (nothing when it is not in the
    /// view).
    #[inline(always)]
    pub(super) fn refresh(&mut self, k: usize, active: &[Option<Box<Active<'t>>>]) {
        if let Some(&pos) = self.pos.get(k).filter(|&&p| p != usize::MAX) {
            let a = active[k].as_ref().expect("active");
            let v = &mut self.views[pos];
            let was_ready = v.ready > 0;
            refresh_view(v, a);
            self.ready = self.ready + usize::from(v.ready > 0) - usize::from(was_ready);
            let place = v.place();
            if !std::mem::replace(&mut self.is_changed[k], true) {
                self.changed.push(place);
                self.changed_slots.push(k);
            }
        }
    }

    /// The policy's view of accelerator `cfg` at `now`.
    pub(super) fn view(&self, now: Cycles, cfg: &AcceleratorConfig) -> View<'_> {
        View {
            now,
            arrays: &self.owners,
            last_tenant: &self.last_tenant,
            requests: &self.views,
            fusion_geometry: (cfg.dataflow == Dataflow::Ws).then_some((cfg.rows, cfg.cols)),
        }
    }
}
