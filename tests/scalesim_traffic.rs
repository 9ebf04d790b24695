//! `array::scalesim_traffic` against SCALE-Sim v3: every row of
//! tests/data/scalesim_traffic/reference.csv (SCALE-Sim 3.0.0's reports on single GEMM layers,
//! written by benches/scalesim/make_traffic_reference.py) must be reproduced exactly.

use cdmsa::array::{ArraySpec, ScalesimSram, ScalesimTraffic, scalesim_traffic, tile_cycles};
use cdmsa::config::{Dataflow, PsumType, TimingMode};
use cdmsa::kernel::GemmShape;
use std::collections::HashMap;

const REFERENCE: &str = include_str!("data/scalesim_traffic/reference.csv");

/// One reference row: its columns by name.
struct Row<'a> {
    fields: HashMap<&'a str, &'a str>,
}

impl Row<'_> {
    fn text(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    fn num(&self, name: &str) -> u64 {
        let v = self.text(name);
        v.parse()
            .unwrap_or_else(|_| panic!("column {name}: '{v}' is not a count"))
    }

    fn label(&self) -> String {
        format!(
            "{} {} {} {}x{} sram {}/{}/{} KiB (m,k,n)=({},{},{})",
            self.text("set"),
            self.text("name"),
            self.text("dataflow"),
            self.text("rows"),
            self.text("cols"),
            self.text("ifmap_kib"),
            self.text("filter_kib"),
            self.text("ofmap_kib"),
            self.text("m"),
            self.text("k"),
            self.text("n"),
        )
    }
}

fn rows() -> Vec<Row<'static>> {
    let mut lines = REFERENCE.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let values: Vec<&str> = l.split(',').collect();
            assert_eq!(values.len(), header.len(), "row '{l}'");
            Row {
                fields: header.iter().copied().zip(values).collect(),
            }
        })
        .collect()
}

/// cdmsa's traffic and SCALE-Sim's "Total Cycles" (demand rows − 1 + stalls) for a row.
fn ours(row: &Row) -> (ScalesimTraffic, u64) {
    let dataflow = match row.text("dataflow") {
        "ws" => Dataflow::Ws,
        "os" => Dataflow::Os,
        "is" => Dataflow::Is,
        other => panic!("dataflow {other}"),
    };
    let shape = GemmShape {
        m: row.num("m") as usize,
        k: row.num("k") as usize,
        n: row.num("n") as usize,
    };
    let (rows, cols) = (row.num("rows") as usize, row.num("cols") as usize);
    let sram = ScalesimSram {
        ifmap_kib: row.num("ifmap_kib"),
        filter_kib: row.num("filter_kib"),
        ofmap_kib: row.num("ofmap_kib"),
    };
    let t = scalesim_traffic(shape, dataflow, rows, cols, sram);
    let spec = ArraySpec {
        rows,
        cols,
        dataflow,
        timing: TimingMode::Scalesim,
        psum: PsumType::Fp32,
    };
    (t, tile_cycles(&spec, shape).0 - 1 + t.stall_cycles)
}

#[test]
fn every_reference_row_is_reproduced_exactly() {
    let rows = rows();
    assert!(rows.len() >= 200, "only {} reference rows", rows.len());
    let mut differ = Vec::new();
    for row in &rows {
        let (t, total) = ours(row);
        let got = [
            ("sram_ifmap_reads", t.sram_ifmap_reads),
            ("sram_filter_reads", t.sram_filter_reads),
            ("sram_ofmap_writes", t.sram_ofmap_writes),
            ("dram_ifmap_reads", t.dram_ifmap_reads),
            ("dram_filter_reads", t.dram_filter_reads),
            ("dram_ofmap_writes", t.dram_ofmap_writes),
            ("stall_cycles", t.stall_cycles),
            ("total_cycles", total),
        ];
        for (name, value) in got {
            if value != row.num(name) {
                differ.push(format!(
                    "{}: {name} SCALE-Sim {} cdmsa {value}",
                    row.label(),
                    row.num(name)
                ));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "{} differences:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

/// The reference exercises each rule: ifmap and filter re-fetched after the window moved or
/// held across column folds, ofmap line padding written, and all three dataflows and sets.
/// (The ofmap buffer never stalls these arrays: a drain of `⌈D/C⌉` cycles ends before an
/// array writing at most `C` a cycle fills the other half, as long as `D ≥ C`; every row has
/// 0 stall cycles and the stall rule is tested by hand in the module's unit tests.)
#[test]
fn the_reference_covers_every_rule() {
    let rows = rows();
    let count = |f: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count();
    let mk = |r: &Row| r.num("m") * r.num("k");
    let kn = |r: &Row| r.num("k") * r.num("n");
    assert!(count(&|r| r.num("dram_ifmap_reads") > mk(r)) >= 10);
    assert!(count(&|r| r.num("dram_ifmap_reads") == mk(r) && r.num("n") > r.num("cols")) >= 10);
    assert!(count(&|r| r.num("dram_filter_reads") > kn(r)) >= 10);
    // The ofmap elements demanded: per K fold for WS and IS, once for OS.
    let demanded = |r: &Row| match r.text("dataflow") {
        "os" => r.num("m") * r.num("n"),
        _ => r.num("sram_ofmap_writes"),
    };
    assert!(count(&|r| r.num("dram_ofmap_writes") > demanded(r)) >= 10);
    for df in ["ws", "os", "is"] {
        assert!(count(&|r| r.text("dataflow") == df) >= 20, "{df}");
    }
    for set in ["gemm", "resnet50", "random"] {
        assert!(count(&|r| r.text("set") == set) >= 10, "{set}");
    }
}
