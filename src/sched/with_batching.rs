//! Any policy with continuous batching of decode steps: the policy decides as it does, and
//! the simulator runs each decoder tenant's decode steps in batched iterations (see
//! [`crate::sim::Decoder`]), each shown to the policy as one request.

use super::{Accelerated, Decision, Place, Policy, TenantInfo, View};

/// `inner`, with decode steps batched.
pub struct WithBatching {
    inner: Box<dyn Policy>,
    name: &'static str,
}

impl WithBatching {
    /// `inner` with batching, reported as `name`.
    pub fn new(inner: Box<dyn Policy>, name: &'static str) -> WithBatching {
        WithBatching { inner, name }
    }
}

impl Policy for WithBatching {
    fn name(&self) -> &'static str {
        self.name
    }

    fn reset(&mut self, tenants: &[TenantInfo], arrays: usize) {
        self.inner.reset(tenants, arrays);
    }

    fn decide_into(&mut self, view: &View, out: &mut Decision) {
        self.inner.decide_into(view, out);
    }

    fn decide_changed(&mut self, view: &View, changed: &[Place], out: &mut Decision) {
        self.inner.decide_changed(view, changed, out);
    }

    fn preempts_within_jobs(&self) -> bool {
        self.inner.preempts_within_jobs()
    }

    fn batches_decode(&self) -> bool {
        true
    }

    fn accelerated(&mut self) -> Option<&mut dyn Accelerated> {
        self.inner.accelerated()
    }
}
