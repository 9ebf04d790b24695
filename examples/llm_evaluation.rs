//! Produces `docs/evaluation-llm.md` and its plot: the `llm` workload (a chat tenant and a
//! summarisation tenant served as token loops, and a camera tenant) swept under every
//! scheduler, each with and without continuous batching of decode steps, over several
//! arrival seeds, with the decoder tenants' goodput, TTFT and TPOT.
//!
//! `cargo run --release --example llm_evaluation [--seeds N] [--jobs N]` (default 3 seeds,
//! loads 0.5 to 2, threads one per core). Takes about 20 minutes on 2 cores.

use cdmsa::eval::{
    Interval, Sweep, SweepResult, assemble, sustainable_throughput_rps, table, with_jobs,
};
use cdmsa::report::plot;
use cdmsa::sched;
use cdmsa::sim::tenants;
use cdmsa::workload::Workload;
use clap::Parser;
use std::fmt::Write;
use std::num::NonZeroUsize;
use std::path::Path;

/// Arguments of the example.
#[derive(Parser)]
struct Args {
    /// Arrival seeds per point and per bisection.
    #[arg(long, default_value_t = 3)]
    seeds: usize,
    /// Threads (default: one per core); the results do not depend on it.
    #[arg(long)]
    jobs: Option<NonZeroUsize>,
}

/// The loads swept: factors on every Poisson rate.
const LOADS: [f64; 4] = [0.5, 1.0, 1.5, 2.0];

fn main() -> cdmsa::Result<()> {
    let args = Args::parse();
    with_jobs(args.jobs, || evaluate(args.seeds.max(1)))?
}

/// `mean ± half-width`, scaled.
fn pm(i: Interval, scale: f64, digits: usize) -> String {
    format!(
        "{:.digits$} ± {:.digits$}",
        scale * i.mean,
        scale * i.half_width
    )
}

fn evaluate(seeds: usize) -> cdmsa::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let w = Workload::load(&root.join("workloads/llm.toml"))?;
    let cfg = w.accelerator()?;
    let models = tenants(&w, &cfg, false)?;
    let names: Vec<String> = (sched::ALL.iter().chain(sched::BATCHING))
        .map(|s| s.to_string())
        .collect();
    let sweep = Sweep {
        workload: &w,
        cfg: &cfg,
        tenants: &models,
        schedulers: &names,
        loads: &LOADS,
        seeds,
        make: &sched::by_name,
    };
    eprintln!("{} units", sweep.units().len());
    let outputs = sweep.compute_where(|_| true, &|| {})?;
    let sustainable = sustainable_throughput_rps(&w, &models, &cfg);
    let results = assemble(
        &names,
        LOADS.len(),
        seeds,
        sustainable,
        outputs.into_iter().map(|(_, o)| o).collect(),
    )?;
    let mut doc = String::new();
    let _ = writeln!(
        doc,
        "# Evaluation: LLM tenants\n\nProduced by `cargo run --release --example llm_evaluation` \
         (timing mode, `workloads/llm.toml` on `{}`, {seeds} arrival seeds per point; ± is the 95 % \
         interval over seeds). Each decoder request is a token loop: its prefill gives the first \
         token, then one decode step per token, each step a deadline of its own (`src/sim/decoder.rs`). \
         A request counts as met (goodput) when its time to first token and its mean time per output \
         token both meet their goals. `NAME+batch` runs the same scheduler with the decoder tenants' \
         decode steps batched in iterations.\n",
        cfg.name
    );
    let _ = writeln!(doc, "Tenants (latency of one request alone):\n");
    for (t, spec) in models.iter().zip(&w.tenants) {
        let what = match spec.decode {
            Some(d) => format!(
                "{} prompt + {} generated tokens, TTFT {} ms, TPOT {} ms",
                d.prompt,
                d.generate,
                match spec.sla {
                    cdmsa::workload::Sla::Tokens { ttft_ms, .. } => ttft_ms,
                    _ => 0.0,
                },
                match spec.sla {
                    cdmsa::workload::Sla::Tokens { tpot_ms, .. } => tpot_ms,
                    _ => 0.0,
                }
            ),
            None => "one pass".to_string(),
        };
        let _ = writeln!(
            doc,
            "- `{}` ({}): {:.3} ms alone; {what}",
            t.name,
            spec.model,
            t.isolated.to_ms(cfg.clock_mhz)
        );
    }
    let _ = writeln!(
        doc,
        "\n## At load 1\n\n| scheduler | LBT (req/s) | SLA (all tenants) | chat goodput | chat TPOT p99 (ms) | summarise goodput | camera SLA |\n|---|---|---|---|---|---|---|"
    );
    for r in &results {
        let p = &r.points[1];
        let lbt = r
            .latency_bounded_throughput_over_seeds
            .map_or(format!("{:.1}", r.latency_bounded_throughput_rps), |i| {
                pm(i, 1.0, 1)
            });
        let token = |name: &str| p.tokens_over_seeds.iter().find(|t| t.tenant == name);
        let goodput = |name| token(name).map_or("-".into(), |t| pm(t.goodput, 100.0, 1) + " %");
        let tpot = token("chat").map_or("-".into(), |t| pm(t.tpot_p99_ms, 1.0, 2));
        let camera = p.metrics.tenants.iter().find(|t| t.name == "camera");
        let _ = writeln!(
            doc,
            "| {} | {lbt} | {} % | {} | {tpot} | {} | {} |",
            r.scheduler,
            pm(p.sla(), 100.0, 1),
            goodput("chat"),
            goodput("summarise"),
            camera.map_or("-".into(), |t| format!(
                "{:.1} % (seed 0)",
                100.0 * t.sla_satisfaction
            )),
        );
    }
    let _ = writeln!(
        doc,
        "\n## Every point\n\n```text\n{}```\n",
        table(&results, sustainable)
    );
    let svg = "evaluation-llm.svg";
    let series: Vec<plot::ErrorSeries> =
        results.iter().map(SweepResult::sla_error_series).collect();
    plot::lines_with_errors(
        &root.join("docs").join(svg),
        &format!("llm on {}", cfg.name),
        "offered load (requests/s)",
        "SLA satisfaction (%)",
        &series,
    )?;
    let _ = writeln!(doc, "![SLA satisfaction against load]({svg})");
    let path = root.join("docs/evaluation-llm.md");
    std::fs::write(&path, doc).map_err(|source| cdmsa::Error::Io { path, source })?;
    eprintln!("wrote docs/evaluation-llm.md");
    Ok(())
}
