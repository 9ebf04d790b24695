//! Scaling sweeps out: `--jobs` does not change a sweep's report, and shards run as
//! separate processes and merged with `cdmsa merge` give the whole run's report byte for
//! byte; merge refuses incomplete, repeated, foreign and malformed parts with exit 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A small sweep: 2 schedulers × 2 loads and 2 bisections, 6 units.
const SWEEP: &[&str] = &[
    "sweep",
    "workloads/default.toml",
    "--loads",
    "1:2:1",
    "--schedulers",
    "fcfs,cd-msa",
];

fn cdmsa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cdmsa"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

/// Runs the small sweep with `extra` arguments; asserts it succeeded.
fn sweep(extra: &[&str]) -> Output {
    let o = cdmsa(&[SWEEP, extra].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    o
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

/// Writes shard `i` of `n` of the small sweep into `dir`; returns the part's path.
fn shard(dir: &Path, i: usize, n: usize) -> PathBuf {
    let part = dir.join(format!("part-{i}.json"));
    let o = sweep(&["--shard", &format!("{i}/{n}"), "--json", s(&part)]);
    let out = String::from_utf8_lossy(&o.stdout);
    // A shard prints one line saying what it wrote, not the table.
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains(&format!("shard {i}/{n}")), "{out}");
    part
}

/// Runs `cdmsa merge` on `parts` into `dir/merged.json`; returns the process output.
fn merge(dir: &Path, parts: &[&Path]) -> Output {
    let (json, svg) = (dir.join("merged.json"), dir.join("merged.svg"));
    let mut args = vec!["merge"];
    args.extend(parts.iter().map(|p| s(p)));
    args.extend(["--json", s(&json), "--plot", s(&svg)]);
    cdmsa(&args)
}

#[test]
fn jobs_do_not_change_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.json");
    let two = dir.path().join("two.json");
    let out1 = sweep(&["--jobs", "1", "--json", s(&one)]).stdout;
    let out2 = sweep(&["--jobs", "2", "--json", s(&two)]).stdout;
    assert_eq!(read(&one), read(&two));
    assert_eq!(out1, out2);
    // The report has both schedulers' two points and a throughput each.
    let v: serde_json::Value = serde_json::from_slice(&read(&one)).unwrap();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[1]["scheduler"], "cd-msa");
    assert_eq!(results[0]["points"].as_array().unwrap().len(), 2);
    assert!(
        results[0]["latency_bounded_throughput_rps"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[test]
fn three_merged_shards_equal_the_whole_run_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (whole, whole_svg) = (d.join("whole.json"), d.join("whole.svg"));
    let table = sweep(&["--json", s(&whole), "--plot", s(&whole_svg)]).stdout;
    let parts: Vec<PathBuf> = (0..3).map(|i| shard(d, i, 3)).collect();
    // Every part holds 2 of the 6 units, round robin: shard 1 has units 1 and 4.
    let p1: serde_json::Value = serde_json::from_slice(&read(&parts[1])).unwrap();
    assert_eq!(p1["format"], "cdmsa-sweep-part/2");
    let indices: Vec<u64> = p1["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [1, 4]);
    // Any order of the parts.
    let o = merge(d, &[&parts[2], &parts[0], &parts[1]]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(read(&d.join("merged.json")), read(&whole));
    assert_eq!(read(&d.join("merged.svg")), read(&whole_svg));
    assert_eq!(o.stdout, table);
}

#[test]
fn merge_refuses_a_missing_or_repeated_shard_and_foreign_or_malformed_parts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let parts: Vec<PathBuf> = (0..3).map(|i| shard(d, i, 3)).collect();
    let refused = |parts: &[&Path], says: &[&str]| {
        let o = merge(d, parts);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        for s in says {
            assert!(err.contains(s), "{s:?} not in {err}");
        }
        assert!(!d.join("merged.json").exists(), "{err}");
    };
    // Shard 1 (units 1 and 4) missing.
    refused(
        &[&parts[0], &parts[2]],
        &["units missing: 1, 4", "shard 1/3 not given"],
    );
    // Shard 2 given twice, under two names.
    let copy = d.join("copy.json");
    std::fs::copy(&parts[2], &copy).unwrap();
    refused(
        &[&parts[0], &parts[1], &parts[2], &copy],
        &["copy.json", "unit 2 given twice", "part-2.json"],
    );
    // A shard of another sweep (other loads).
    let other = d.join("other.json");
    let o = cdmsa(
        &[
            &SWEEP[..3],
            &[
                "1:3:1",
                "--schedulers",
                "fcfs,cd-msa",
                "--shard",
                "1/3",
                "--json",
                s(&other),
            ],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    refused(
        &[&parts[0], &other, &parts[2]],
        &["other.json", "another sweep", "loads"],
    );
    // Truncated JSON, and a whole report instead of a part.
    let bytes = read(&parts[0]);
    let cut = d.join("cut.json");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    refused(
        &[&cut, &parts[1], &parts[2]],
        &["cut.json", "malformed sweep part"],
    );
    let report = d.join("report.json");
    sweep(&["--json", s(&report)]);
    refused(
        &[&report],
        &["report.json", "malformed sweep part", "format"],
    );
}

#[test]
fn bad_shards_and_jobs_are_refused_with_exit_2() {
    for (args, says) in [
        (&["--shard", "3/3", "--json", "x.json"][..], "0..=2"),
        (&["--shard", "0/0", "--json", "x.json"][..], "N = 0"),
        (&["--shard", "1", "--json", "x.json"][..], "I/N"),
        (&["--shard", "0/2"][..], "--json"),
        (&["--jobs", "0"][..], "--jobs"),
    ] {
        let o = cdmsa(&[SWEEP, args].concat());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(
        !Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("x.json")
            .exists()
    );
}

/// With two seeds a sweep of 2 schedulers × 2 loads has 8 point units and 4 bisections;
/// three shards merged give the whole run's table, JSON, CSV and plot byte for byte, and
/// a part of the same sweep with another seed count is refused.
#[test]
fn seeded_shards_merge_to_the_whole_run_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (json, svg, csv) = (
        d.join("whole.json"),
        d.join("whole.svg"),
        d.join("whole.csv"),
    );
    let table = sweep(&[
        "--seeds",
        "2",
        "--json",
        s(&json),
        "--plot",
        s(&svg),
        "--csv",
        s(&csv),
    ])
    .stdout;
    let parts: Vec<PathBuf> = (0..3)
        .map(|i| {
            let part = d.join(format!("seeded-{i}.json"));
            sweep(&[
                "--seeds",
                "2",
                "--shard",
                &format!("{i}/3"),
                "--json",
                s(&part),
            ]);
            part
        })
        .collect();
    let units: usize = parts
        .iter()
        .map(|p| {
            let v: serde_json::Value = serde_json::from_slice(&read(p)).unwrap();
            v["units"].as_array().unwrap().len()
        })
        .sum();
    assert_eq!(units, 12);
    let (mj, ms, mc) = (d.join("m.json"), d.join("m.svg"), d.join("m.csv"));
    let mut args = vec!["merge"];
    args.extend(parts.iter().rev().map(|p| s(p)));
    args.extend(["--json", s(&mj), "--plot", s(&ms), "--csv", s(&mc)]);
    let o = cdmsa(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(o.stdout, table);
    assert_eq!(read(&mj), read(&json));
    assert_eq!(read(&ms), read(&svg));
    assert_eq!(read(&mc), read(&csv));
    // Every point of the merged report has its two-seed spread.
    let v: serde_json::Value = serde_json::from_slice(&read(&mj)).unwrap();
    assert_eq!(v["results"][1]["points"][1]["over_seeds"]["seeds"], 2);
    // A shard of the one-seed sweep does not belong to the two-seed one.
    let lone = shard(d, 1, 3);
    let o = merge(d, &[&parts[0], &lone, &parts[2]]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("seeds"), "{}", stderr(&o));
}
