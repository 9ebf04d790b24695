//! A tournament: one scheduler (the contender, CD-MSA by default) against the best of the
//! others on seeded random workloads nobody tuned for ([`crate::workload::generate`]). Each
//! workload is swept over fixed load factors and its latency-bounded throughput (LBT) found
//! by bisection, every number over several seeds with its 95 % interval; at each load, and on
//! LBT, the contender wins, ties or loses against the best other scheduler there.

use super::stats::{Interval, Outcome, Tally};
use super::{PolicyFactory, knee, point, replica};
use crate::error::{Error, Result};
use crate::sim::tenants;
use crate::units::Cycles;
use crate::workload::generate::generate;
use crate::workload::{Arrival, Sla, Stop, Workload};
use crate::zoo::ModelSource;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::PathBuf;

/// What a tournament runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TournamentSpec {
    /// How many workloads.
    pub workloads: u64,
    /// The generator's seed.
    pub seed: u64,
    /// Requests per simulation, at least.
    pub requests: u64,
    /// The fewest multiples of a workload's longest SLA its arrivals span
    /// ([`Workload::min_span_slas`]).
    pub min_span_slas: f64,
    /// Seeds per swept point and per LBT (the workload's seed plus 0, 1, ...).
    pub replicates: usize,
    /// The load factors swept (1 fills the accelerator nominally).
    pub loads: Vec<f64>,
    /// The schedulers, the contender among them.
    pub schedulers: Vec<String>,
    /// The scheduler held against the best of the others.
    pub contender: String,
}

/// One scheduler on one workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    /// Scheduler name.
    pub scheduler: String,
    /// SLA satisfaction (fraction) at each swept load.
    pub sla: Vec<Interval>,
    /// Latency-bounded throughput, requests per second.
    pub lbt_rps: Interval,
}

/// The contender against the best other scheduler on one measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The other scheduler with the best mean there.
    pub best_other: String,
    /// The contender's result against it.
    pub outcome: Outcome,
}

/// One workload's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// The workload's index in the tournament.
    pub index: u64,
    /// The accelerator preset it runs on.
    pub accelerator: String,
    /// Its tenants' names (`t<i>-<zoo model>`).
    pub tenants: Vec<String>,
    /// The workload as a file: `cdmsa sweep` or `simulate` re-run it alone.
    pub workload_toml: String,
    /// Every scheduler's standing, in the spec's order.
    pub standings: Vec<Standing>,
    /// The verdict on SLA satisfaction at each swept load.
    pub sla: Vec<Verdict>,
    /// The verdict on LBT.
    pub lbt: Verdict,
}

impl Match {
    /// The standing of the scheduler `name`.
    ///
    /// # Panics
    /// If `name` did not play (every match holds every scheduler of its tournament).
    pub fn standing(&self, name: &str) -> &Standing {
        self.standings
            .iter()
            .find(|s| s.scheduler == name)
            .expect("every scheduler of the tournament stands")
    }
}

/// A whole tournament.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TournamentReport {
    /// What was run.
    pub spec: TournamentSpec,
    /// Per workload.
    pub matches: Vec<Match>,
    /// The contender's verdicts on SLA over every workload and load.
    pub sla_totals: Tally,
    /// The contender's verdicts on LBT over every workload.
    pub lbt_totals: Tally,
}

/// Runs the tournament (on the current rayon pool).
///
/// # Errors
/// A scheduler name `make` refuses, a contender that is not among the schedulers or is the
/// only one, or a simulation error.
pub fn tournament(spec: &TournamentSpec, make: &PolicyFactory) -> Result<TournamentReport> {
    if !spec.schedulers.contains(&spec.contender) || spec.schedulers.len() < 2 {
        return Err(Error::Config {
            field: "schedulers".into(),
            msg: format!(
                "the contender '{}' and at least one other scheduler are needed",
                spec.contender
            ),
        });
    }
    for name in &spec.schedulers {
        make(name)?;
    }
    let mut isolated = IsolatedCache::default();
    let mut matches = Vec::new();
    for index in 0..spec.workloads {
        let mut w = generate(spec.seed, index, spec.requests, &mut |m, p| {
            isolated.ms(m, p)
        })?;
        w.min_span_slas = spec.min_span_slas;
        matches.push(play(spec, index, &w, make)?);
    }
    let mut sla_totals = Tally::default();
    let mut lbt_totals = Tally::default();
    for m in &matches {
        m.sla.iter().for_each(|v| sla_totals.add(v.outcome));
        lbt_totals.add(m.lbt.outcome);
    }
    Ok(TournamentReport {
        spec: spec.clone(),
        matches,
        sla_totals,
        lbt_totals,
    })
}

/// Every scheduler on workload `w`.
fn play(spec: &TournamentSpec, index: u64, w: &Workload, make: &PolicyFactory) -> Result<Match> {
    let cfg = w.accelerator()?;
    let models = tenants(w, &cfg, false)?;
    let replicas: Vec<Workload> = (0..spec.replicates as u64).map(|r| replica(w, r)).collect();
    let standings = spec
        .schedulers
        .par_iter()
        .map(|scheduler| -> Result<Standing> {
            let sla = spec
                .loads
                .iter()
                .map(|&load| {
                    let values = replicas
                        .iter()
                        .map(|r| {
                            point(r, &cfg, &models, scheduler, load, make)
                                .map(|p| p.metrics.sla_satisfaction)
                        })
                        .collect::<Result<Vec<_>>>()?;
                    Ok(Interval::of(&values))
                })
                .collect::<Result<Vec<_>>>()?;
            let lbt = replicas
                .iter()
                .map(|r| {
                    let factor = knee(r, &cfg, &models, scheduler, 1.0, make)?;
                    Ok(factor * r.offered_rps())
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Standing {
                scheduler: scheduler.clone(),
                sla,
                lbt_rps: Interval::of(&lbt),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let (mine, others): (Vec<&Standing>, Vec<&Standing>) = standings
        .iter()
        .partition(|s| s.scheduler == spec.contender);
    let mine = mine[0];
    let verdict = |get: &dyn Fn(&Standing) -> Interval| {
        let best = others
            .iter()
            .copied()
            .max_by(|a, b| get(a).mean.total_cmp(&get(b).mean))
            .expect("another scheduler");
        Verdict {
            best_other: best.scheduler.clone(),
            outcome: Outcome::of(&get(mine), &get(best)),
        }
    };
    let sla = (0..spec.loads.len())
        .map(|i| verdict(&|s: &Standing| s.sla[i]))
        .collect();
    let lbt = verdict(&|s: &Standing| s.lbt_rps);
    Ok(Match {
        index,
        accelerator: cfg.name.clone(),
        tenants: w.tenants.iter().map(|t| t.name.clone()).collect(),
        workload_toml: w.to_toml()?,
        standings,
        sla,
        lbt,
    })
}

/// Isolated latencies of zoo models by preset, each measured once by the engine.
#[derive(Default)]
struct IsolatedCache(HashMap<(&'static str, &'static str), f64>);

impl IsolatedCache {
    fn ms(&mut self, model: &'static str, preset: &'static str) -> Result<f64> {
        if let Some(&ms) = self.0.get(&(model, preset)) {
            return Ok(ms);
        }
        let alone = Workload {
            seed: 0,
            stop: Stop::Requests(1),
            warmup: 0,
            min_span_slas: 0.0,
            accel: Some(preset.to_string()),
            tenants: vec![crate::workload::TenantSpec {
                id: crate::units::TenantId(0),
                name: model.to_string(),
                model: ModelSource::Zoo(model),
                precision: Default::default(),
                batch: 1,
                priority: 1,
                weight: 1.0,
                sla: Sla::Factor(1.0),
                arrival: Arrival::Periodic {
                    period_ms: 1.0,
                    offset_ms: 0.0,
                },
                decode: None,
            }],
            base_dir: PathBuf::new(),
        };
        let cfg = alone.accelerator()?;
        let Cycles(cycles) = tenants(&alone, &cfg, false)?[0].isolated;
        let ms = cycles as f64 / (cfg.clock_mhz * 1e3);
        self.0.insert((model, preset), ms);
        Ok(ms)
    }
}

impl TournamentReport {
    /// The report as text: per workload, its accelerator and tenants, the contender's verdict
    /// at each load and on LBT with both sides' intervals; then the totals.
    pub fn text(&self) -> String {
        let pct = |i: &Interval| format!("{:.1}±{:.1}", 100.0 * i.mean, 100.0 * i.half_width);
        let rps = |i: &Interval| format!("{:.0}±{:.0}", i.mean, i.half_width);
        let mut s = String::new();
        let contender = &self.spec.contender;
        for m in &self.matches {
            let _ = writeln!(
                s,
                "workload {} on {}: {}",
                m.index,
                m.accelerator,
                m.tenants.join(", ")
            );
            let mine = m.standing(contender);
            for ((load, v), i) in self.spec.loads.iter().zip(&m.sla).zip(0..) {
                let _ = writeln!(
                    s,
                    "  load {load:<5} SLA %  {contender} {:<12} {:<12} {:<12} {:?}",
                    pct(&mine.sla[i]),
                    v.best_other,
                    pct(&m.standing(&v.best_other).sla[i]),
                    v.outcome
                );
            }
            let _ = writeln!(
                s,
                "  LBT req/s      {contender} {:<12} {:<12} {:<12} {:?}",
                rps(&mine.lbt_rps),
                m.lbt.best_other,
                rps(&m.standing(&m.lbt.best_other).lbt_rps),
                m.lbt.outcome
            );
        }
        let t = |x: &Tally| format!("{} wins, {} ties, {} losses", x.wins, x.ties, x.losses);
        let _ = writeln!(
            s,
            "{contender} against the best other scheduler over {} workloads: SLA {}; LBT {}",
            self.matches.len(),
            t(&self.sla_totals),
            t(&self.lbt_totals)
        );
        s
    }
}
