//! Warm-up requests and unfinished requests: a workload's `warmup` is read, validated and
//! written back; its requests are left out of every metric; requests with no finish count
//! as missed and as `unfinished`. Oracles are worked by hand or read from the per-request
//! CSV.

use approx::assert_relative_eq;
use cdmsa::report::metrics::{RequestRecord, TenantCounters, compute, measured};
use cdmsa::units::{Cycles, RequestId, TenantId};
use cdmsa::workload::Workload;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A record of tenant 0, isolated 10 cycles, deadline arrival + 30; `finish` None =
/// unfinished.
fn record(request: u64, arrival: u64, finish: Option<u64>) -> RequestRecord {
    RequestRecord {
        tenant: TenantId(0),
        request: RequestId(request),
        arrival: Cycles(arrival),
        start: finish.map(|_| Cycles(arrival)),
        finish: finish.map(Cycles),
        deadline: Cycles(arrival + 30),
        isolated: Cycles(10),
        tokens: None,
    }
}

fn one_tenant() -> Vec<(TenantId, String, f64, TenantCounters)> {
    vec![(TenantId(0), "a".into(), 1.0, TenantCounters::default())]
}

/// Five requests; 1 and 3 never finish. By hand: 5 measured, 2 unfinished, met {0, 4}
/// → SLA 2/5; NP of the finished: 10/20, 10/40 (request 2, late), 10/10 → mean 7/12.
/// With a warm-up of 2 (requests 0 and 1 left out): 3 measured, 1 unfinished (request 3),
/// met {4} → SLA 1/3, NP 10/40 and 10/10 → mean 5/8, ANTT (4 + 1)/2 = 2.5.
#[test]
fn unfinished_requests_are_missed_and_warmup_requests_are_left_out() {
    let records = vec![
        record(0, 0, Some(20)),
        record(1, 5, None),
        record(2, 10, Some(50)),
        record(3, 15, None),
        record(4, 20, Some(30)),
    ];
    let all = compute(&records, &one_tenant(), 1.0);
    assert_eq!((all.requests, all.unfinished), (5, 2));
    assert_relative_eq!(all.sla_satisfaction, 0.4);
    assert_relative_eq!(all.tenants[0].mean_np, 7.0 / 12.0);
    assert_eq!(all.tenants[0].dropped, 2);
    let after = compute(&measured(&records, 2), &one_tenant(), 1.0);
    assert_eq!((after.requests, after.unfinished), (3, 1));
    assert_relative_eq!(after.sla_satisfaction, 1.0 / 3.0);
    assert_relative_eq!(after.tenants[0].mean_np, 5.0 / 8.0);
    assert_relative_eq!(after.antt, 2.5);
    // p50 of the two measured latencies (10, 40) by nearest rank is the first.
    assert_eq!(after.tenants[0].latency_p50_cycles, 10);
    assert_eq!(measured(&records, 0), records);
    assert!(measured(&records, 5).is_empty());
    let v = serde_json::to_value(&after).unwrap();
    assert_eq!(v["unfinished"], 1);
}

const WORKLOAD: &str = r#"
requests = 10
warmup = 4
[[tenants]]
name = "a"
model = "zoo:resnet50"
sla_factor = 2.0
arrival = { kind = "poisson", rate_per_s = 10.0 }
"#;

#[test]
fn warmup_is_read_written_back_and_must_leave_requests_to_measure() {
    let w = Workload::from_toml(WORKLOAD, Path::new("")).unwrap();
    assert_eq!(w.warmup, 4);
    let text = w.to_toml().unwrap();
    assert!(text.contains("warmup = 4"), "{text}");
    assert_eq!(Workload::from_toml(&text, Path::new("")).unwrap(), w);
    // Absent: 0, and not written.
    let none = Workload::from_toml(&WORKLOAD.replace("warmup = 4\n", ""), Path::new("")).unwrap();
    assert_eq!(none.warmup, 0);
    assert!(!none.to_toml().unwrap().contains("warmup"));
    for bad in ["warmup = 10", "warmup = 11"] {
        let err = Workload::from_toml(&WORKLOAD.replace("warmup = 4", bad), Path::new(""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("warmup") && err.contains("10 requests"),
            "{err}"
        );
    }
    // With a duration the count of requests is not known in advance: any warm-up is read.
    let timed = WORKLOAD.replace("requests = 10", "duration_ms = 5.0");
    assert_eq!(
        Workload::from_toml(&timed.replace("warmup = 4", "warmup = 99"), Path::new(""))
            .unwrap()
            .warmup,
        99
    );
    assert!(
        Workload::from_toml(
            &WORKLOAD.replace("warmup = 4", "warmup = -1"),
            Path::new("")
        )
        .is_err()
    );
}

fn cdmsa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cdmsa"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// The default workload at twice its rates (so that some requests miss), model paths made
/// absolute, with `extra` after its `requests` line, written into `dir`.
fn busy_default(dir: &Path, extra: &str) -> PathBuf {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(Path::new(root).join("workloads/default.toml"))
        .unwrap()
        .replace("\"../models/", &format!("\"{root}/models/"))
        .replace("= 12000.0", "= 24000.0")
        .replace("= 9000.0", "= 18000.0")
        .replace("= 6000.0", "= 12000.0")
        .replace("\nrequests = 60\n", &format!("\nrequests = 60\n{extra}\n"));
    let path = dir.join("w.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A warm-up of 20 of 60 requests: `simulate` measures the 40 requests numbered 20 and
/// on, and their SLA satisfaction is the share of them the per-request CSV (which keeps
/// every record) marks met; `sweep` measures the same 40. A warm-up leaving no request to
/// measure is refused with exit 2, naming the file and the field.
#[test]
fn simulate_and_sweep_leave_the_warmup_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w = busy_default(d, "warmup = 20");
    let (out, csv) = (d.join("sim.json"), d.join("sim.csv"));
    let o = cdmsa(&[
        "simulate",
        s(&w),
        "--scheduler",
        "fcfs,edf",
        "--json",
        s(&out),
        "--csv",
        s(&csv),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let csv = std::fs::read_to_string(&csv).unwrap();
    let mut misses = 0;
    for r in json(&out)["results"].as_array().unwrap() {
        let name = r["scheduler"].as_str().unwrap();
        let rows: Vec<Vec<&str>> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| f[0] == name)
            .collect();
        assert_eq!(rows.len(), 60, "every record stays in the CSV");
        let kept: Vec<&Vec<&str>> = rows
            .iter()
            .filter(|f| f[2].parse::<u64>().unwrap() >= 20)
            .collect();
        let met = kept.iter().filter(|f| f[8] == "true").count();
        let unfinished = kept.iter().filter(|f| f[5].is_empty()).count();
        misses += 40 - met;
        assert_eq!(r["requests"], 40, "{name}");
        assert_eq!(r["unfinished"], unfinished as u64, "{name}");
        let sla = r["sla_satisfaction"].as_f64().unwrap();
        assert!(
            (sla - met as f64 / 40.0).abs() < 1e-12,
            "{name}: {sla} vs {met}/40"
        );
        let per_tenant: u64 = (r["tenants"].as_array().unwrap().iter())
            .map(|t| t["requests"].as_u64().unwrap())
            .sum();
        assert_eq!(per_tenant, 40, "{name}");
    }
    // Not a test of a run where every request meets its deadline anyway.
    assert!(misses > 0);
    let sweep = d.join("sweep.json");
    let o = cdmsa(&[
        "sweep",
        s(&w),
        "--loads",
        "1:1:1",
        "--schedulers",
        "fcfs",
        "--json",
        s(&sweep),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(json(&sweep)["results"][0]["points"][0]["requests"], 40);

    let w = busy_default(d, "warmup = 60");
    let o = cdmsa(&["simulate", s(&w), "--scheduler", "fcfs"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("warmup") && err.contains("w.toml"), "{err}");
}
