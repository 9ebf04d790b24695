//! KV-cache memory: each decoder request holds its whole cache, prompt and generated tokens
//! in whole blocks, from admission to its end; with a capacity (`kv_cache_mib`), a request
//! that does not fit waits, in arrival order, and one larger than the capacity is refused.

use super::Machine;
use crate::error::Result;
use crate::sim::decoder::in_blocks;

/// What a request's KV-cache claim gets at arrival.
pub(super) enum Claim {
    /// It fits (or needs none): it enters now.
    Granted,
    /// It waits for finished requests to free memory (behind any waiting before it).
    Waits,
    /// It is larger than the whole capacity: it never runs (counted unfinished).
    Refused,
}

impl Machine<'_, '_> {
    /// The KV-cache bytes request `i` holds while it runs (0 for a plain request).
    fn kv_need(&self, i: usize) -> u64 {
        let r = self.sim.requests[i];
        match (r.tokens, &self.sim.tenants[r.tenant].decoder) {
            (Some(t), Some(d)) => {
                let tokens = in_blocks(d.kv_block, t.prompt + t.generate);
                d.kv_bytes_per_token.saturating_mul(tokens as u64)
            }
            _ => 0,
        }
    }

    /// Request `i`'s claim at its arrival; a granted claim is held.
    pub(super) fn claim_kv(&mut self, i: usize) -> Claim {
        let need = self.kv_need(i);
        if need == 0 {
            return Claim::Granted;
        }
        if let Some(free) = self.kv_free {
            let capacity = self.sim.cfg.kv_cache_mib.unwrap_or(0) << 20;
            if need > capacity {
                return Claim::Refused;
            }
            if need > free || !self.kv_queue.is_empty() {
                return Claim::Waits;
            }
        }
        self.hold_kv(i, need);
        Claim::Granted
    }

    /// Request `i` holds `need` bytes.
    fn hold_kv(&mut self, i: usize, need: u64) {
        let tenant = self.sim.requests[i].tenant;
        if let Some(free) = self.kv_free.as_mut() {
            *free -= need;
        }
        self.kv_held[tenant] += need;
        let peak = &mut self.out.counters[tenant].kv_peak_bytes;
        *peak = (*peak).max(self.kv_held[tenant]);
    }

    /// Request `i` ended (finished or dropped): its cache is freed, and the requests waiting
    /// for memory enter, first come first, while the first fits.
    pub(super) fn release_kv(&mut self, i: usize) -> Result<()> {
        let need = self.kv_need(i);
        if need == 0 {
            return Ok(());
        }
        self.kv_held[self.sim.requests[i].tenant] -= need;
        if let Some(free) = self.kv_free.as_mut() {
            *free += need;
        }
        while let Some(&next) = self.kv_queue.front() {
            let need = self.kv_need(next);
            if self.kv_free.is_some_and(|free| need > free) {
                break;
            }
            self.kv_queue.pop_front();
            self.hold_kv(next, need);
            self.admit(next)?;
        }
        Ok(())
    }
}
