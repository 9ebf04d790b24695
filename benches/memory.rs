//! Peak memory of a timing-mode simulation against its request count and the thread count:
//! `cdmsa simulate --scheduler all` on one digits tenant (`tiny`) with 10⁵ and 10⁶ requests,
//! on one thread and on two, each run in a process of its own whose peak resident set
//! (VmHWM) is reported. The bound stated in docs/reliability.md: 10⁶ requests within ~1.5 GB
//! at any thread count, memory growing with the requests and not with the threads.
//!
//! `cargo bench --bench memory`; `CDMSA_BENCH_REQUESTS=N` replaces the largest count.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Set in a child: the process runs `cdmsa` with its arguments and reports its peak.
const CHILD: &str = "CDMSA_MEMORY_CHILD";

/// The allocator of the `cdmsa` binary, so that the peaks are the CLI's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if std::env::var_os(CHILD).is_some() {
        let code = cdmsa::cli::main();
        eprintln!("peak_kib {}", peak_kib());
        std::process::exit(code);
    }
    let largest: u64 = std::env::var("CDMSA_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("cdmsa-memory-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/digits/int8_qop/model.onnx");
    println!(
        "{:>10} {:>8} {:>10} {:>12} {:>9}",
        "requests", "threads", "peak MiB", "bytes/req", "time s"
    );
    let mut peaks = Vec::new();
    for requests in [largest / 10, largest] {
        let workload = dir.join(format!("w{requests}.toml"));
        std::fs::write(
            &workload,
            format!(
                "seed = 1\nrequests = {requests}\naccel = \"tiny\"\n[[tenants]]\nname = \"digits\"\n\
                 model = \"{}\"\nsla_factor = 5.0\narrival = {{ kind = \"poisson\", rate_per_s = 40000.0 }}\n",
                model.display()
            ),
        )
        .expect("the workload file");
        for threads in [1, 2] {
            let start = Instant::now();
            let out = Command::new(std::env::current_exe().expect("this bench's path"))
                .args([
                    "simulate",
                    &workload.to_string_lossy(),
                    "--scheduler",
                    "all",
                ])
                .env(CHILD, "1")
                .env("RAYON_NUM_THREADS", threads.to_string())
                .output()
                .expect("the child runs");
            let secs = start.elapsed().as_secs_f64();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "simulate failed: {stderr}");
            let kib: u64 = stderr
                .lines()
                .find_map(|l| l.strip_prefix("peak_kib "))
                .and_then(|v| v.trim().parse().ok())
                .expect("the child reports its peak");
            println!(
                "{requests:>10} {threads:>8} {:>10.1} {:>12.0} {secs:>9.2}",
                kib as f64 / 1024.0,
                kib as f64 * 1024.0 / requests as f64
            );
            peaks.push((requests, threads, kib));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let at = |r, t| {
        peaks
            .iter()
            .find(|p| p.0 == r && p.1 == t)
            .map_or(0.0, |p| p.2 as f64)
    };
    println!(
        "two threads / one thread at {largest} requests: {:.2}; {largest} / {} requests at two threads: {:.2}",
        at(largest, 2) / at(largest, 1),
        largest / 10,
        at(largest, 2) / at(largest / 10, 2)
    );
}

/// This process's peak resident set in KiB (`VmHWM` of /proc/self/status; 0 where absent).
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
