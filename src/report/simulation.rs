//! Reports of multi-tenant simulations: per-scheduler summaries, the comparison table, the
//! per-request CSV and the Chrome trace (one track per array, viewable in Perfetto).

use super::metrics::{RequestRecord, SystemMetrics, Traffic, of_run};
use crate::sim::{ArrayCounters, BandwidthSample, Mismatch, SimOutcome, Slice, TenantModel};
use serde::Serialize;
use serde_json::{Value, json};
use std::fmt::Write;

/// One scheduler's results on one workload.
#[derive(Debug, Clone, Serialize)]
pub struct SchedulerReport {
    /// Scheduler name.
    pub scheduler: String,
    /// System and per-tenant metrics (DESIGN section 6 field names).
    #[serde(flatten)]
    pub metrics: SystemMetrics,
    /// Cycle at which the last request finished.
    pub makespan_cycles: u64,
    /// Events the engine processed.
    pub events: u64,
    /// Requests whose values were checked against isolated runs (functional mode).
    pub checked: usize,
    /// Every difference found (functional mode).
    pub mismatches: Vec<Mismatch>,
    /// Per-array busy cycles, DRAM traffic and scratchpad hits, in array order.
    pub arrays: Vec<ArrayCounters>,
    /// Per tenant and layer, the DRAM traffic and scratchpad hits (layers that moved or hit
    /// anything).
    pub layers: Vec<LayerTraffic>,
    /// Per-request records.
    #[serde(skip)]
    pub records: Vec<RequestRecord>,
}

/// One tenant's layer's traffic in a simulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerTraffic {
    /// The tenant's name.
    pub tenant: String,
    /// The layer (node) name.
    pub layer: String,
    /// Its DRAM traffic and scratchpad hits over every request.
    #[serde(flatten)]
    pub traffic: Traffic,
}

impl SchedulerReport {
    /// The report of scheduler `name`'s simulation of `tenants` with outcome `out`, at
    /// `clock_mhz`, its metrics leaving out the first `warmup` requests (every record is
    /// kept for the per-request CSV).
    pub fn new(
        name: &str,
        out: SimOutcome,
        tenants: &[TenantModel],
        clock_mhz: f64,
        warmup: u64,
    ) -> SchedulerReport {
        SchedulerReport {
            scheduler: name.to_string(),
            metrics: of_run(&out, tenants, clock_mhz, warmup),
            makespan_cycles: out
                .records
                .iter()
                .filter_map(|r| r.finish)
                .max()
                .map_or(0, |c| c.0),
            events: out.events,
            checked: out.checked,
            mismatches: out.mismatches,
            arrays: out.arrays,
            layers: (tenants.iter().zip(&out.layers))
                .flat_map(|(t, layers)| {
                    (t.program.nodes.iter().zip(layers))
                        .filter(|(_, traffic)| **traffic != Traffic::default())
                        .map(|(node, traffic)| LayerTraffic {
                            tenant: t.name.clone(),
                            layer: node.name.clone(),
                            traffic: *traffic,
                        })
                })
                .collect(),
            records: out.records,
        }
    }
}

/// The text summary of one scheduler's run.
pub fn scheduler_text(r: &SchedulerReport, functional: bool) -> String {
    let m = &r.metrics;
    let mut s = String::new();
    let _ = writeln!(s, "scheduler: {}", r.scheduler);
    let _ = writeln!(
        s,
        "{:<16} {:>8} {:>6} {:>7} {:>8} {:>10} {:>10} {:>14} {:>11} {:>10} {:>10} {:>7}",
        "tenant",
        "requests",
        "met",
        "SLA",
        "mean NP",
        "p50 ms",
        "p99 ms",
        "busy cycles",
        "preemptions",
        "dram rd MB",
        "dram wr MB",
        "hit %"
    );
    for t in &m.tenants {
        let name: String = t.name.chars().take(16).collect();
        let _ = writeln!(
            s,
            "{name:<16} {:>8} {:>6} {:>6.1}% {:>8.3} {:>10.4} {:>10.4} {:>14} {:>11} {:>10.3} {:>10.3} {:>6.1}%",
            t.requests,
            t.met,
            100.0 * t.sla_satisfaction,
            t.mean_np,
            t.latency_p50_ms,
            t.latency_p99_ms,
            t.busy_cycles,
            t.preemptions,
            t.traffic.dram_read_bytes as f64 / 1e6,
            t.traffic.dram_write_bytes as f64 / 1e6,
            100.0 * hit_ratio(&t.traffic)
        );
    }
    for t in &m.tenants {
        if let Some(k) = &t.tokens {
            let _ = writeln!(
                s,
                "{:<16} tokens {}  TTFT p50 {:.3} p99 {:.3} ms (met {}/{})  TPOT p50 {:.3} p99 {:.3} ms (met {}/{})  KV peak {:.1} MiB, read {:.1} MB",
                t.name.chars().take(16).collect::<String>(),
                k.produced,
                k.ttft_p50_ms,
                k.ttft_p99_ms,
                k.met_ttft,
                t.requests,
                k.tpot_p50_ms,
                k.tpot_p99_ms,
                k.met_tpot,
                t.requests,
                k.kv_peak_mib,
                k.kv_read_mb,
            );
        }
    }
    let _ = writeln!(
        s,
        "system: SLA {:.1}%  STP {:.3}  WSTP {:.3}  ANTT {:.3}  fairness {:.3}  makespan {} cycles",
        100.0 * m.sla_satisfaction,
        m.stp,
        m.wstp,
        m.antt,
        m.fairness,
        r.makespan_cycles
    );
    if functional {
        let _ = writeln!(
            s,
            "checked: {} requests, mismatches: {}",
            r.checked,
            r.mismatches.len()
        );
        for x in r.mismatches.iter().take(10) {
            let _ = writeln!(
                s,
                "  mismatch: tenant {} request {} layer {} tile {:?}: {}",
                x.tenant.0, x.request.0, x.layer, x.tile, x.what
            );
        }
    }
    s
}

/// The share of operand bytes read that a scratchpad held.
fn hit_ratio(t: &Traffic) -> f64 {
    let asked = t.sram_hit_bytes + t.dram_read_bytes;
    if asked == 0 {
        0.0
    } else {
        t.sram_hit_bytes as f64 / asked as f64
    }
}

/// One row per scheduler.
pub fn comparison_table(reports: &[SchedulerReport]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<20} {:>7} {:>7} {:>7} {:>7} {:>9} {:>12}",
        "scheduler", "SLA", "STP", "WSTP", "ANTT", "fairness", "makespan"
    );
    for r in reports {
        let m = &r.metrics;
        let _ = writeln!(
            s,
            "{:<20} {:>6.1}% {:>7.3} {:>7.3} {:>7.3} {:>9.3} {:>12}",
            r.scheduler,
            100.0 * m.sla_satisfaction,
            m.stp,
            m.wstp,
            m.antt,
            m.fairness,
            r.makespan_cycles
        );
    }
    s
}

/// Per-request CSV for every scheduler; a decoder request's first token and tokens produced
/// fill the last two columns (empty for other requests).
pub fn requests_csv(reports: &[SchedulerReport]) -> String {
    let mut s = String::from(
        "scheduler,tenant,request,arrival,start,finish,deadline,isolated,met,first_token,tokens\n",
    );
    let opt = |v: Option<crate::units::Cycles>| v.map_or(String::new(), |c| c.0.to_string());
    for r in reports {
        for q in &r.records {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{}",
                r.scheduler,
                q.tenant.0,
                q.request.0,
                q.arrival.0,
                opt(q.start),
                opt(q.finish),
                q.deadline.0,
                q.isolated.0,
                q.met(),
                opt(q.tokens.and_then(|t| t.first)),
                q.tokens.map_or(String::new(), |t| t.produced.to_string()),
            );
        }
    }
    s
}

/// Every scheduler's DRAM traffic and scratchpad hits as CSV: a row per tenant, per array
/// and per tenant's layer (`scope` says which).
pub fn traffic_csv(reports: &[SchedulerReport]) -> String {
    let mut s = String::from(
        "scheduler,scope,tenant,array,layer,dram_read_bytes,dram_write_bytes,sram_hit_bytes,sram_hits\n",
    );
    let mut row =
        |scheduler: &str, scope: &str, tenant: &str, array: &str, layer: &str, t: &Traffic| {
            let _ = writeln!(
                s,
                "{scheduler},{scope},{tenant},{array},{layer},{},{},{},{}",
                t.dram_read_bytes, t.dram_write_bytes, t.sram_hit_bytes, t.sram_hits
            );
        };
    for r in reports {
        for t in &r.metrics.tenants {
            row(&r.scheduler, "tenant", &t.name, "", "", &t.traffic);
        }
        for (a, c) in r.arrays.iter().enumerate() {
            row(&r.scheduler, "array", "", &a.to_string(), "", &c.traffic);
        }
        for l in &r.layers {
            row(&r.scheduler, "layer", &l.tenant, "", &l.layer, &l.traffic);
        }
    }
    s
}

/// One simulation as the trace draws it.
pub struct TraceRun<'a> {
    /// The scheduler.
    pub scheduler: &'a str,
    /// Every job as it ran.
    pub slices: &'a [Slice],
    /// The DRAM bandwidth in use over time.
    pub bandwidth: &'a [BandwidthSample],
}

/// A Chrome trace (JSON object format) of simulations of `tenants`: one process per
/// scheduler, one thread (track) per array, one complete event per job named
/// `tenant/r<request>/<layer>[#tile]`, and a counter track of the DRAM bandwidth in use
/// (bytes per cycle, in total and by tenant); timestamps in microseconds at the accelerator
/// clock.
pub fn chrome_trace(
    runs: &[TraceRun],
    arrays: usize,
    tenants: &[TenantModel],
    clock_mhz: f64,
) -> Value {
    let mut events = Vec::new();
    for (pid, run) in runs.iter().enumerate() {
        let (scheduler, slices) = (run.scheduler, run.slices);
        events.push(json!({"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": scheduler}}));
        for a in 0..arrays {
            events.push(json!({"name": "thread_name", "ph": "M", "pid": pid, "tid": a, "args": {"name": format!("array {a}")}}));
        }
        for sl in slices.iter() {
            let model = tenants.get(sl.tenant.0 as usize);
            let layer = model
                .and_then(|m| m.program.nodes.get(sl.node))
                .map_or("?", |n| n.name.as_str());
            let tenant = model.map_or("?", |m| m.name.as_str());
            let name = match sl.tile {
                Some(i) => format!("{tenant}/r{}/{layer}#{i}", sl.request.0),
                None => format!("{tenant}/r{}/{layer}", sl.request.0),
            };
            events.push(json!({
                "name": name,
                "cat": tenant,
                "ph": "X",
                "pid": pid,
                "tid": sl.array.0,
                "ts": sl.start.0 as f64 / clock_mhz,
                "dur": sl.duration.0 as f64 / clock_mhz,
                "args": {"request": sl.request.0, "cycles": sl.duration.0, "start_cycle": sl.start.0},
            }));
        }
        for b in run.bandwidth {
            let mut args = serde_json::Map::new();
            args.insert("total".into(), json!(b.total));
            for (t, v) in tenants.iter().zip(&b.by_tenant) {
                args.insert(t.name.clone(), json!(v));
            }
            events.push(json!({
                "name": "DRAM bytes/cycle",
                "ph": "C",
                "pid": pid,
                "ts": b.at.0 as f64 / clock_mhz,
                "args": args,
            }));
        }
    }
    json!({"traceEvents": events, "displayTimeUnit": "ns"})
}
