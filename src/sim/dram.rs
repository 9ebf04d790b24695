//! The shared DRAM as a fluid: each array's running job is one stream of the bytes it moves;
//! the bandwidth is divided among the streams active at each instant and re-rated whenever
//! one starts or ends (processor sharing). A tenant's share weights each of its streams
//! (default 1, so by default every stream gets an equal part) and a tenant's cap bounds its
//! streams together, the bandwidth a capped tenant leaves going to the others (water
//! filling). Bytes are counted in 2⁻³² fractions, rates rounded up, so the arithmetic is
//! integer and deterministic, and a division that is exact in bytes per cycle stays exact.

use crate::config::AcceleratorConfig;
use crate::units::Cycles;

/// Fraction bits of a byte.
const FRAC: u32 = 32;

/// One array's stream.
#[derive(Debug, Clone, Copy, Default)]
struct Stream {
    /// Bytes left, in 2⁻³² bytes.
    left: u128,
    /// Rate, in 2⁻³² bytes per cycle.
    rate: u128,
    /// The tenant whose job it is.
    tenant: usize,
    /// Started and not yet stopped.
    open: bool,
}

impl Stream {
    /// Still moving bytes.
    fn flowing(&self) -> bool {
        self.open && self.left > 0
    }
}

/// A tenant's claim, scaled.
#[derive(Debug, Clone, Copy)]
struct Claim {
    share: u128,
    cap: Option<u128>,
}

/// The DRAM and its streams.
#[derive(Debug, Clone)]
pub(super) struct Dram {
    /// Bandwidth in 2⁻³² bytes per cycle.
    bandwidth: u128,
    streams: Vec<Stream>,
    claims: Vec<Claim>,
    /// Whether any tenant is capped (the division needs water filling).
    capped: bool,
    /// When the streams were last brought up to date.
    last: Cycles,
    /// How many times the bandwidth was divided anew.
    rerates: u64,
    /// How many streams were flowing when it last was: none started since (each start of a
    /// stream with bytes re-rates), so fewer flowing now means some have drained.
    flowing_at_rerate: usize,
    /// Per tenant: the weight of its flowing streams, and whether it is held at its cap
    /// (scratch space of [`Dram::water_fill`]).
    weight: Vec<u128>,
    held: Vec<bool>,
}

impl Dram {
    /// The DRAM of `cfg`, shared by tenants named `names` (in tenant order).
    pub(super) fn new<'n>(cfg: &AcceleratorConfig, names: impl Iterator<Item = &'n str>) -> Dram {
        let claims: Vec<Claim> = names
            .map(|n| {
                let c = cfg.dram_claim(n);
                Claim {
                    share: u128::from(c.share),
                    cap: c.cap.map(|b| u128::from(b) << FRAC),
                }
            })
            .collect();
        Dram {
            bandwidth: u128::from(cfg.dram_bytes_per_cycle) << FRAC,
            streams: vec![Stream::default(); cfg.arrays],
            capped: claims.iter().any(|c| c.cap.is_some()),
            weight: vec![0; claims.len()],
            held: vec![false; claims.len()],
            claims,
            last: Cycles::ZERO,
            rerates: 0,
            flowing_at_rerate: 0,
        }
    }

    /// Moves every stream on to `now`.
    fn settle(&mut self, now: Cycles) {
        let dt = u128::from(now.0.saturating_sub(self.last.0));
        if dt > 0 {
            for s in self.streams.iter_mut().filter(|s| s.flowing()) {
                s.left = s.left.saturating_sub(s.rate * dt);
            }
        }
        self.last = now;
    }

    /// `array` starts a stream of `bytes` for `tenant` at `now`. A stream of no bytes joins
    /// no division: when the flowing streams are those of the last division, their rates stand.
    pub(super) fn start(&mut self, now: Cycles, array: usize, tenant: usize, bytes: u64) {
        self.settle(now);
        self.streams[array] = Stream {
            left: u128::from(bytes) << FRAC,
            rate: 0,
            tenant,
            open: bytes > 0,
        };
        if bytes > 0 || self.flowing() != self.flowing_at_rerate {
            self.rerate();
        }
    }

    /// How many streams are flowing.
    fn flowing(&self) -> usize {
        self.streams.iter().filter(|s| s.flowing()).count()
    }

    /// `array`'s stream stops at `now`, whatever it has left.
    pub(super) fn stop(&mut self, now: Cycles, array: usize) {
        self.settle(now);
        let s = &mut self.streams[array];
        if s.open {
            s.open = false;
            self.rerate();
        }
    }

    /// Brings the streams to `now` and stops `array`'s if it has moved all its bytes.
    /// Returns whether it has.
    pub(super) fn drain(&mut self, now: Cycles, array: usize) -> bool {
        self.settle(now);
        if self.streams[array].flowing() {
            return false;
        }
        self.stop(now, array);
        true
    }

    /// When `array`'s stream will have moved its bytes at the present rates (`None` when it
    /// is stopped: it never started, was cut, or was found drained).
    pub(super) fn done_at(&self, array: usize) -> Option<Cycles> {
        let s = &self.streams[array];
        s.open
            .then(|| Cycles(self.last.0 + div_ceil(s.left, s.rate.max(1)) as u64))
    }

    /// How many times the bandwidth was divided anew: the streams' times changed when it did.
    pub(super) fn rerates(&self) -> u64 {
        self.rerates
    }

    /// Bytes per cycle in use, in total and by tenant (into `by_tenant`).
    pub(super) fn in_use(&self, by_tenant: &mut [f64]) -> f64 {
        by_tenant.fill(0.0);
        let unit = (1u128 << FRAC) as f64;
        let mut total = 0.0;
        for s in self.streams.iter().filter(|s| s.flowing()) {
            let r = s.rate.min(self.bandwidth) as f64 / unit;
            by_tenant[s.tenant] += r;
            total += r;
        }
        total.min(self.bandwidth as f64 / unit)
    }

    /// Divides the bandwidth among the flowing streams: by share, a tenant whose streams
    /// would exceed its cap held at it and the rest divided again among the others.
    fn rerate(&mut self) {
        self.rerates += 1;
        let mut open = 0u128;
        self.flowing_at_rerate = 0;
        for s in self.streams.iter().filter(|s| s.flowing()) {
            open += self.claims[s.tenant].share;
            self.flowing_at_rerate += 1;
        }
        let mut free = self.bandwidth;
        if self.capped {
            self.water_fill(&mut free, &mut open);
        }
        // Streams of equal share get equal rates: one division per share in a row.
        let mut last: Option<(u128, u128)> = None;
        for s in self.streams.iter_mut().filter(|s| s.flowing()) {
            let c = self.claims[s.tenant];
            s.rate = match (self.capped && self.held[s.tenant], c.cap) {
                (true, Some(cap)) => div_ceil(cap * c.share, self.weight[s.tenant]),
                _ => match last {
                    Some((share, rate)) if share == c.share => rate,
                    _ => {
                        let rate = div_ceil(free * c.share, open.max(1));
                        last = Some((c.share, rate));
                        rate
                    }
                },
            }
            .max(1);
        }
    }

    /// Holds at its cap every tenant whose flowing streams (of weight `open` in all) would
    /// exceed it with `free` divided by share, taking its cap out of `free` and its weight
    /// out of `open`, until no other tenant exceeds its cap.
    fn water_fill(&mut self, free: &mut u128, open: &mut u128) {
        self.weight.fill(0);
        self.held.fill(false);
        for s in self.streams.iter().filter(|s| s.flowing()) {
            self.weight[s.tenant] += self.claims[s.tenant].share;
        }
        loop {
            let mut changed = false;
            for (t, c) in self.claims.iter().enumerate() {
                if let Some(cap) = c.cap
                    && !self.held[t]
                    && self.weight[t] > 0
                    && *free * self.weight[t] > cap * *open
                {
                    self.held[t] = true;
                    *free = free.saturating_sub(cap);
                    *open -= self.weight[t];
                    changed = true;
                }
            }
            if !changed || *open == 0 {
                break;
            }
        }
    }
}

/// `a / b` rounded up, in 64 bits when both fit (bytes of one job and the rates they move at
/// almost always do, and a 64-bit division costs a fraction of a 128-bit one).
#[inline]
fn div_ceil(a: u128, b: u128) -> u128 {
    match (u64::try_from(a), u64::try_from(b)) {
        (Ok(a), Ok(b)) => u128::from(a.div_ceil(b)),
        _ => a.div_ceil(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DramClaim;

    fn dram(bw: u64, arrays: usize, claims: &[(&str, u32, Option<u64>)]) -> Dram {
        let mut cfg = AcceleratorConfig::preset("tiny").unwrap();
        cfg.arrays = arrays;
        cfg.dram_bytes_per_cycle = bw;
        for &(n, share, cap) in claims {
            cfg.dram_tenants
                .insert(n.to_string(), DramClaim { share, cap });
        }
        let names: Vec<&str> = claims.iter().map(|c| c.0).collect();
        Dram::new(&cfg, names.into_iter())
    }

    /// Two streams at 10 B/cycle: 100 B from cycle 0 and 300 B from cycle 0 share 5 B/cycle
    /// each until the first ends at 20 (100 B); the second has 200 B left, alone at 10 B/cycle:
    /// done at 40.
    #[test]
    fn two_streams_share_then_the_survivor_speeds_up() {
        let mut d = dram(10, 2, &[("a", 1, None)]);
        d.start(Cycles(0), 0, 0, 100);
        d.start(Cycles(0), 1, 0, 300);
        assert_eq!(d.done_at(0), Some(Cycles(20)));
        assert_eq!(d.done_at(1), Some(Cycles(60)));
        assert!(d.drain(Cycles(20), 0));
        assert_eq!(d.done_at(1), Some(Cycles(40)));
    }

    /// Three streams at 12 B/cycle: A (120 B) at 0, B (120 B) at 0, C (60 B) at 4.
    /// 0–4: A and B at 6 B/cycle (24 B each). From 4, three streams at 4 B/cycle: C's 60 B
    /// take 15 cycles, A and B have 96 B left, 60 of them moved by 19. From 19 A and B at
    /// 6 B/cycle: 36 B left take 6 cycles, done at 25.
    #[test]
    fn three_overlapping_streams() {
        let mut d = dram(12, 3, &[("a", 1, None)]);
        d.start(Cycles(0), 0, 0, 120);
        d.start(Cycles(0), 1, 0, 120);
        assert_eq!(d.done_at(0), Some(Cycles(20)));
        d.start(Cycles(4), 2, 0, 60);
        assert_eq!(d.done_at(2), Some(Cycles(19)));
        assert_eq!(d.done_at(0), Some(Cycles(28)));
        assert!(!d.drain(Cycles(18), 2));
        assert!(d.drain(Cycles(19), 2));
        assert_eq!(d.done_at(0), Some(Cycles(25)));
        assert_eq!(d.done_at(1), Some(Cycles(25)));
    }

    /// A stream of no bytes leaves the others' rates as they are while they are the streams
    /// of the last division (no re-rate at all), and divides anew when one has drained since:
    /// at 10 B/cycle, 100 B and 300 B share 5 B/cycle each; a job with nothing to move starting
    /// at 10 changes nothing (done at 20 and 60). At 20 the first has drained, its event not yet
    /// handled: a job with nothing to move gives the second its whole share, 200 B left at
    /// 10 B/cycle, done at 40.
    #[test]
    fn a_stream_of_no_bytes_re_rates_only_after_a_drain() {
        let mut d = dram(10, 3, &[("a", 1, None)]);
        d.start(Cycles(0), 0, 0, 100);
        d.start(Cycles(0), 1, 0, 300);
        let rerates = d.rerates();
        d.start(Cycles(10), 2, 0, 0);
        assert_eq!(d.rerates(), rerates);
        assert_eq!(d.done_at(0), Some(Cycles(20)));
        assert_eq!(d.done_at(1), Some(Cycles(60)));
        assert_eq!(d.done_at(2), None);
        d.start(Cycles(20), 2, 0, 0);
        assert_eq!(d.rerates(), rerates + 1);
        assert_eq!(d.done_at(1), Some(Cycles(40)));
    }

    /// A stream stopped mid-way (its job cut) gives its bandwidth back at once.
    #[test]
    fn a_stopped_stream_frees_its_share() {
        let mut d = dram(8, 2, &[("a", 1, None)]);
        d.start(Cycles(0), 0, 0, 800);
        d.start(Cycles(0), 1, 0, 80);
        assert_eq!(d.done_at(1), Some(Cycles(20)));
        d.stop(Cycles(10), 0);
        assert_eq!(d.done_at(0), None);
        // 40 B moved by 10, 40 B left at 8 B/cycle.
        assert_eq!(d.done_at(1), Some(Cycles(15)));
    }

    /// Shares weight the division (3:1 of 16 B/cycle), and a cap holds a tenant, the rest
    /// going to the others: tenant b capped at 2 B/cycle leaves 14 to a.
    #[test]
    fn shares_and_caps() {
        let mut d = dram(16, 2, &[("a", 3, None), ("b", 1, None)]);
        d.start(Cycles(0), 0, 0, 120);
        d.start(Cycles(0), 1, 1, 40);
        assert_eq!(d.done_at(0), Some(Cycles(10)));
        assert_eq!(d.done_at(1), Some(Cycles(10)));
        let mut d = dram(16, 2, &[("a", 1, None), ("b", 1, Some(2))]);
        d.start(Cycles(0), 0, 0, 140);
        d.start(Cycles(0), 1, 1, 40);
        assert_eq!(d.done_at(0), Some(Cycles(10)));
        assert_eq!(d.done_at(1), Some(Cycles(20)));
        let mut by = [0.0; 2];
        assert_eq!(d.in_use(&mut by), 16.0);
        assert_eq!(by, [14.0, 2.0]);
    }
}
