//! cdmsa's SCALE-Sim v3 memory traffic (`array::scalesim_traffic`) of the GEMM rows of a CSV
//! in the layout of tests/data/scalesim_traffic/reference.csv; used by
//! `benches/scalesim/make_traffic_reference.py --check` on shapes not committed.
//!
//! `cargo run --release --example scalesim_traffic -- ROWS.csv` prints the rows again with
//! cdmsa's counts in place of the recorded ones (`#` lines and the header kept).

use cdmsa::array::{ArraySpec, ScalesimSram, scalesim_traffic, tile_cycles};
use cdmsa::config::{Dataflow, TimingMode};
use cdmsa::kernel::GemmShape;
use std::process::ExitCode;

/// The counts of one row, in the reference's column order.
fn counts(f: &[&str], col: impl Fn(&str) -> Option<usize>) -> Result<Vec<u64>, String> {
    let num = |name: &str| -> Result<u64, String> {
        col(name)
            .and_then(|i| f.get(i))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no number in column '{name}'"))
    };
    let dataflow = match col("dataflow").and_then(|i| f.get(i)).copied() {
        Some("ws") => Dataflow::Ws,
        Some("os") => Dataflow::Os,
        Some("is") => Dataflow::Is,
        other => return Err(format!("dataflow {other:?}")),
    };
    let shape = GemmShape {
        m: num("m")? as usize,
        k: num("k")? as usize,
        n: num("n")? as usize,
    };
    let (rows, cols) = (num("rows")? as usize, num("cols")? as usize);
    let sram = ScalesimSram {
        ifmap_kib: num("ifmap_kib")?,
        filter_kib: num("filter_kib")?,
        ofmap_kib: num("ofmap_kib")?,
    };
    let t = scalesim_traffic(shape, dataflow, rows, cols, sram);
    let spec = ArraySpec {
        rows,
        cols,
        dataflow,
        timing: TimingMode::Scalesim,
        psum: cdmsa::config::PsumType::Fp32,
    };
    // SCALE-Sim's Total Cycles: its demand rows minus one, plus the stalls.
    let total = tile_cycles(&spec, shape).0 - 1 + t.stall_cycles;
    Ok(vec![
        t.sram_ifmap_reads,
        t.sram_filter_reads,
        t.sram_ofmap_writes,
        t.dram_ifmap_reads,
        t.dram_filter_reads,
        t.dram_ofmap_writes,
        t.stall_cycles,
        total,
    ])
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: scalesim_traffic ROWS.csv");
        return ExitCode::from(2);
    };
    let run = || -> Result<(), String> {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let mut lines = text.lines().filter(|l| !l.starts_with('#'));
        let header: Vec<&str> = lines.next().ok_or("no header")?.split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let first = col("sram_ifmap_reads").ok_or("no count columns")?;
        println!("{}", header.join(","));
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let f: Vec<&str> = line.split(',').collect();
            let ours = counts(&f, col).map_err(|e| format!("{path}: row '{line}': {e}"))?;
            let mut out: Vec<String> = f[..first].iter().map(|s| s.to_string()).collect();
            out.extend(ours.iter().map(u64::to_string));
            println!("{}", out.join(","));
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
