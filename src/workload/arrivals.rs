//! Request arrival generation: each tenant's stream of arrival times, merged in time order,
//! with each decoder request's token counts.
//!
//! Every tenant's times come from its own iterator; a heap merges them lazily, so memory
//! grows with the arrivals kept, never with the arrivals a stop condition discards.

use super::spec::positive;
use super::{Arrival, MAX_ARRIVALS, Stop, TenantSpec, Workload, invalid};
use crate::error::Result;
use crate::units::{Cycles, RequestId, TenantId};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One generated request arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrivalEvent {
    /// The tenant the request belongs to.
    pub tenant: TenantId,
    /// The request's number: its position in the merged arrival order.
    pub request: RequestId,
    /// Arrival time.
    pub at: Cycles,
    /// (prompt tokens, generated tokens) of the request: `None` for a tenant without
    /// [`decode`](TenantSpec::decode); for a decoder tenant, its trace's pair for this
    /// arrival when the trace has token columns, else the tenant's `decode` counts.
    pub tokens: Option<(usize, usize)>,
}

/// How far generation goes.
enum Bound {
    /// This many arrivals over all tenants.
    Count(u64),
    /// Arrivals strictly before this time.
    Before(Cycles),
}

/// All arrivals of all tenants, merged and sorted by (time, tenant, per-tenant sequence);
/// RequestIds are numbered 0.. in that order.
///
/// Times are in cycles at `clock_mhz`: `round(ms × clock_mhz × 1000)`, to the nearest cycle
/// (halves away from zero). Poisson and bursty times are drawn from a
/// ChaCha8 generator keyed by `w.seed` on stream number = the tenant's index, so adding a
/// tenant does not change the others' arrivals. `Stop::Requests(n)`: the first `n`
/// arrivals overall (fewer if every tenant is a finite trace); `Stop::DurationMs(d)`: all
/// arrivals before `d`, compared in cycles.
///
/// # Errors
/// A clock or arrival parameter that is not positive and finite (a hand-built or
/// [`Workload::scaled`] workload is checked again here), or more than [`MAX_ARRIVALS`]
/// arrivals.
pub fn arrivals(w: &Workload, clock_mhz: f64) -> Result<Vec<ArrivalEvent>> {
    positive(clock_mhz, "clock_mhz")?;
    let cycles_per_ms = clock_mhz * 1e3;
    let bound = match w.stop {
        Stop::Requests(n) if n <= MAX_ARRIVALS => Bound::Count(n),
        Stop::Requests(n) => {
            return Err(invalid(
                "requests",
                format!("must be at most {MAX_ARRIVALS}, got {n}"),
            ));
        }
        Stop::DurationMs(ms) => {
            positive(ms, "duration_ms")?;
            fits_cycles(ms, cycles_per_ms, "duration_ms", clock_mhz)?;
            Bound::Before(to_cycles(ms, cycles_per_ms))
        }
    };
    let mut streams = Vec::with_capacity(w.tenants.len());
    let mut heap = BinaryHeap::with_capacity(w.tenants.len());
    for (index, tenant) in w.tenants.iter().enumerate() {
        let field = format!("tenants[{index}].arrival");
        tenant.arrival.validate(&field)?;
        check_decode(tenant, index)?;
        span_fits_cycles(&tenant.arrival, &field, clock_mhz)?;
        let mut times = stream(&tenant.arrival, w.seed, index as u64);
        if let Some(ms) = times.next() {
            heap.push(Reverse((
                to_cycles(ms, cycles_per_ms),
                tenant.id,
                0u64,
                index,
            )));
        }
        streams.push(times);
    }
    let mut events: Vec<ArrivalEvent> = Vec::new();
    while let Some(Reverse((at, tenant, seq, index))) = heap.pop() {
        match bound {
            Bound::Count(n) if events.len() as u64 >= n => break,
            Bound::Before(end) if at >= end => break,
            _ => {}
        }
        if events.len() as u64 == MAX_ARRIVALS {
            return Err(invalid(
                "duration_ms",
                format!("yields more than {MAX_ARRIVALS} arrivals"),
            ));
        }
        events.push(ArrivalEvent {
            tenant,
            request: RequestId(events.len() as u64),
            at,
            tokens: tokens(&w.tenants[index], seq),
        });
        if let Some(ms) = streams[index].next() {
            heap.push(Reverse((
                to_cycles(ms, cycles_per_ms),
                tenant,
                seq + 1,
                index,
            )));
        }
    }
    Ok(events)
}

/// Checks a hand-built tenant's token loop: valid counts, and token columns in its trace
/// only if it has a token loop.
fn check_decode(tenant: &TenantSpec, index: usize) -> Result<()> {
    if let Some(decode) = &tenant.decode {
        decode.validate(&format!("tenants[{index}].decode"))?;
    } else if let Arrival::Trace { tokens, .. } = &tenant.arrival
        && !tokens.is_empty()
    {
        return Err(invalid(
            format!("tenants[{index}].arrival.file"),
            "token columns are only for a decoder tenant (one with decode)",
        ));
    }
    Ok(())
}

/// The (prompt, generated) tokens of the `seq`-th request of `tenant` (see
/// [`ArrivalEvent::tokens`]).
fn tokens(tenant: &TenantSpec, seq: u64) -> Option<(usize, usize)> {
    let decode = tenant.decode?;
    let from_trace = match &tenant.arrival {
        // A validated trace has one pair per time.
        Arrival::Trace { tokens, .. } => usize::try_from(seq)
            .ok()
            .and_then(|k| tokens.get(k).copied()),
        _ => None,
    };
    Some(from_trace.unwrap_or((decode.prompt, decode.generate)))
}

/// The arrival times in ms of one tenant, in order; `stream` selects its random generator.
fn stream(arrival: &Arrival, seed: u64, stream: u64) -> Box<dyn Iterator<Item = f64> + '_> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    match arrival {
        Arrival::Poisson { rate_per_s } => {
            let rate_per_ms = rate_per_s / 1e3;
            let mut t = 0.0;
            Box::new(std::iter::repeat_with(move || {
                t += exponential(&mut rng) / rate_per_ms;
                t
            }))
        }
        &Arrival::Bursty {
            rate_per_s,
            on_ms,
            off_ms,
        } => {
            let rate_per_ms = rate_per_s / 1e3;
            // The first period is on with its stationary probability.
            let mut on = rng.random::<f64>() < on_ms / (on_ms + off_ms);
            let mut t = 0.0;
            let mut end = exponential(&mut rng) * if on { on_ms } else { off_ms };
            Box::new(std::iter::from_fn(move || {
                loop {
                    if on {
                        // Exponential gaps are memoryless: restarting the draw at each on
                        // period's start leaves the process Poisson within the period.
                        let next = t + exponential(&mut rng) / rate_per_ms;
                        if next < end {
                            t = next;
                            return Some(t);
                        }
                    }
                    t = end;
                    on = !on;
                    end = t + exponential(&mut rng) * if on { on_ms } else { off_ms };
                }
            }))
        }
        &Arrival::Periodic {
            period_ms,
            offset_ms,
        } => Box::new((0u64..).map(move |k| offset_ms + k as f64 * period_ms)),
        Arrival::Trace { times_ms, .. } => Box::new(times_ms.iter().copied()),
    }
}

/// Checks that the arrival's times are counted in cycles without saturating: a Poisson
/// stream's mean inter-arrival time, a periodic stream's period and offset, a trace's last
/// time. A rate so low that its mean gap exceeds 2^64 cycles would put every request past
/// the end of time and report an empty, perfect run.
fn span_fits_cycles(arrival: &Arrival, field: &str, clock_mhz: f64) -> Result<()> {
    let cycles_per_ms = clock_mhz * 1e3;
    match arrival {
        Arrival::Poisson { rate_per_s } => {
            let mean_ms = 1e3 / rate_per_s;
            // The rate is positive and finite (validated): the mean is positive, maybe inf.
            if mean_ms * cycles_per_ms >= CYCLE_RANGE {
                return Err(invalid(
                    format!("{field}.rate_per_s"),
                    format!(
                        "{rate_per_s:e} requests/s is one every {mean_ms:e} ms on average, beyond the 2^64 cycles of a simulation at {clock_mhz} MHz"
                    ),
                ));
            }
            Ok(())
        }
        Arrival::Periodic {
            period_ms,
            offset_ms,
        } => {
            fits_cycles(
                *period_ms,
                cycles_per_ms,
                &format!("{field}.period_ms"),
                clock_mhz,
            )?;
            fits_cycles(
                *offset_ms,
                cycles_per_ms,
                &format!("{field}.offset_ms"),
                clock_mhz,
            )
        }
        Arrival::Bursty {
            rate_per_s,
            on_ms,
            off_ms,
        } => {
            let gap_field = format!("{field}.rate_per_s");
            fits_cycles(1e3 / rate_per_s, cycles_per_ms, &gap_field, clock_mhz)?;
            fits_cycles(*on_ms, cycles_per_ms, &format!("{field}.on_ms"), clock_mhz)?;
            fits_cycles(
                *off_ms,
                cycles_per_ms,
                &format!("{field}.off_ms"),
                clock_mhz,
            )
        }
        Arrival::Trace { times_ms, .. } => times_ms.last().map_or(Ok(()), |&last| {
            fits_cycles(last, cycles_per_ms, &format!("{field}.file"), clock_mhz)
        }),
    }
}

/// 2^64: the first number of cycles a [`Cycles`] cannot count.
const CYCLE_RANGE: f64 = 18_446_744_073_709_551_616.0;

/// Checks that `ms` is fewer than 2^64 cycles at `cycles_per_ms`.
fn fits_cycles(ms: f64, cycles_per_ms: f64, field: &str, clock_mhz: f64) -> Result<()> {
    if ms * cycles_per_ms < CYCLE_RANGE {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{ms:e} ms is beyond the 2^64 cycles of a simulation at {clock_mhz} MHz"),
        ))
    }
}

/// An exponentially distributed number of mean 1: −ln(1 − u) with u uniform in [0, 1).
fn exponential(rng: &mut ChaCha8Rng) -> f64 {
    -(-rng.random::<f64>()).ln_1p()
}

/// Milliseconds to the nearest cycle (saturating at `u64::MAX`).
fn to_cycles(ms: f64, cycles_per_ms: f64) -> Cycles {
    Cycles((ms * cycles_per_ms).round() as u64)
}
