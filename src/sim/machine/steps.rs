//! A request's passes end: a decoder request's token comes, and its next step begins as a
//! pass of its own or, under a policy that batches decode, within its tenant's batched
//! iteration (the rule is in [`crate::sim::Decoder`]'s module).

use super::{Machine, TenantModel, Tokens};
use crate::error::{Error, Result};
use crate::sim::{Decoder, MAX_BATCH};

impl Machine<'_, '_> {
    /// The request in slot `k` has finished its pass. Returns whether it runs another pass
    /// now (its next step's, set up); otherwise it finished, or waits, or another request
    /// leads the iteration it rides in.
    pub(super) fn end_pass(&mut self, k: usize) -> Result<bool> {
        let a = self.active[k].as_ref().expect("active");
        if a.tokens.is_none() {
            self.finish(k)?;
            return Ok(false);
        }
        let tenant = a.tenant;
        if self.iterations[tenant] == Some(k) {
            self.iterations[tenant] = None;
            let members = std::mem::take(&mut self.active[k].as_mut().expect("active").members);
            let mut next = Vec::with_capacity(members.len() + 1);
            for m in std::iter::once(k).chain(members) {
                match self.token(m) {
                    true => next.push(m),
                    false => self.finish(m)?,
                }
            }
            next.append(&mut self.waiting[tenant]);
            return self.form_iteration(tenant, next, Some(k));
        }
        if !self.token(k) {
            self.finish(k)?;
            return Ok(false);
        }
        if !self.sim.batching {
            self.begin_pass(k, Vec::new())?;
            return Ok(true);
        }
        if self.iterations[tenant].is_some() {
            self.park(k);
            self.waiting[tenant].push(k);
            return Ok(false);
        }
        self.form_iteration(tenant, vec![k], Some(k))
    }

    /// The request in slot `k` produced its step's token: records it and moves to the next
    /// step; `false` when that was its last.
    fn token(&mut self, k: usize) -> bool {
        let a = self.active[k].as_mut().expect("active");
        let Some((goals, step)) = a.tokens else {
            return false;
        };
        if let Some(t) = self.out.records[k].tokens.as_mut() {
            t.first.get_or_insert(self.now);
            t.produced = step + 1;
        }
        if step > 0
            && let Some(d) = &self.sim.tenants[a.tenant].decoder
        {
            let cached = (goals.prompt + step - 1) as u64;
            self.out.counters[a.tenant].kv_read_bytes += cached * d.kv_bytes_per_token;
        }
        if step + 1 == goals.generate {
            return false;
        }
        a.tokens = Some((goals, step + 1));
        true
    }

    /// Starts `tenant`'s next decode iteration over the requests `next` (slots, each at a
    /// decode step; the first [`MAX_BATCH`] to arrive, the others wait for the next), led by
    /// the first to arrive and the others parked; `current` is the
    /// request whose pass just ended, if it is active. Returns whether `current` leads it
    /// (and so runs its pass now).
    pub(super) fn form_iteration(
        &mut self,
        tenant: usize,
        mut next: Vec<usize>,
        current: Option<usize>,
    ) -> Result<bool> {
        next.sort_unstable();
        if next.is_empty() {
            return Ok(false);
        }
        // The first to arrive ride; the rest wait for the next iteration.
        if next.len() > MAX_BATCH {
            for &m in &next[MAX_BATCH..] {
                self.park(m);
            }
            self.waiting[tenant].extend(next.drain(MAX_BATCH..));
        }
        let leader = next.remove(0);
        for &m in &next {
            self.park(m);
        }
        self.unpark(leader);
        self.iterations[tenant] = Some(leader);
        self.begin_pass(leader, next)?;
        if current == Some(leader) {
            return Ok(true);
        }
        self.enter_layer(leader)?;
        Ok(false)
    }

    /// Sets up the pass of the request in slot `k` for its current step, with `members`
    /// riding along (a batched iteration over them all): its layers, work, latency alone and
    /// the earliest of their deadlines.
    fn begin_pass(&mut self, k: usize, members: Vec<usize>) -> Result<()> {
        let a = self.active[k].as_ref().expect("active");
        let tenant = &self.sim.tenants[a.tenant];
        let (goals, step) = a.tokens.expect("a token loop");
        let decoder = tenant
            .decoder
            .as_ref()
            .ok_or_else(|| no_pass(tenant, &goals))?;
        let mut deadline = goals.deadline(a.arrival, step);
        let mut past = 0;
        for &m in &members {
            let r = self.active[m].as_ref().expect("active");
            let (g, s) = r.tokens.expect("a token loop");
            deadline = deadline.min(g.deadline(r.arrival, s));
            past = past.max(Decoder::shape(decoder.kv_block, g.prompt, s).past);
        }
        let (pass, isolated) = match members.is_empty() {
            true => decoder
                .pass(goals.prompt, step)
                .ok_or_else(|| no_pass(tenant, &goals))?,
            false => {
                let own = Decoder::shape(decoder.kv_block, goals.prompt, step).past;
                decoder.iteration(members.len() + 1, past.max(own))?
            }
        };
        let a = self.active[k].as_mut().expect("active");
        (a.layers, a.profile, a.outlook) = pass.parts();
        a.isolated = *isolated;
        a.deadline = deadline;
        a.remaining = pass.work();
        a.layer = 0;
        a.members = members;
        self.views.touch(k);
        Ok(())
    }

    /// Takes the request in slot `k` out of the policy's view.
    fn park(&mut self, k: usize) {
        let a = self.active[k].as_mut().expect("active");
        if !a.parked {
            a.parked = true;
            self.forget(k);
        }
    }

    /// Puts a parked request in slot `k` back into the policy's view.
    fn unpark(&mut self, k: usize) {
        let a = self.active[k].as_mut().expect("active");
        if a.parked {
            a.parked = false;
            self.changes.reshaped = true;
            let a = self.active[k].as_ref().expect("active");
            self.views.restore(k, a, &self.sim.tenants[a.tenant]);
        }
    }
}

/// The error for a token loop step whose pass the tenant's decoder was not built with.
pub(super) fn no_pass(tenant: &TenantModel, goals: &Tokens) -> Error {
    Error::Invalid(format!(
        "tenant '{}' has no pass for a request of {} prompt tokens generating {}",
        tenant.name, goals.prompt, goals.generate
    ))
}
