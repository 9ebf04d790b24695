//! Isolated-run timing of one layer, worked by hand from DESIGN section 4.

use cdmsa::config::{AcceleratorConfig, Residency};
use cdmsa::exec::layer_costs;
use cdmsa::ir::{Graph, InputBinding, Node, Op, Value};
use cdmsa::lower::lower;
use cdmsa::tensor::{DType, Tensor};
use cdmsa::units::Cycles;

/// MatMulInteger of a runtime u8 [20, 10] by a constant i8 [10, 12].
fn matmul_integer() -> Graph {
    let mut g = Graph {
        opset: 17,
        ..Graph::default()
    };
    let a = g.add_value(Value {
        name: "a".into(),
        dtype: Some(DType::U8),
        shape: None,
        constant: None,
    });
    let w = Tensor::zeros(DType::I8, &[10, 12]);
    let b = g.add_value(Value {
        name: "b".into(),
        dtype: Some(DType::I8),
        shape: None,
        constant: Some(w.into()),
    });
    let y = g.add_value(Value {
        name: "y".into(),
        dtype: None,
        shape: None,
        constant: None,
    });
    g.nodes.push(Node {
        name: "mm".into(),
        op: Op::MatMulInteger,
        inputs: vec![Some(a), Some(b)],
        outputs: vec![y],
    });
    g.inputs = vec![a];
    g.outputs = vec![y];
    g
}

#[test]
fn a_layer_costs_its_busiest_array_or_its_dram_time() {
    let g = matmul_integer();
    let mut cfg = AcceleratorConfig::preset("tiny").unwrap(); // 2 arrays of 8×8, 16 B/cycle
    let bind = [InputBinding::shape_only(DType::U8, vec![20, 10])];
    let p = lower(&g, &bind, &cfg).unwrap();
    let c = &layer_costs(&p, &cfg)[0];
    // N = 12 → N-blocks 8 and 4: one tile job per array already, so M = 20 stays whole (rows
    // are cut only as far as the arrays need). 2 tile jobs of m = 20 with K = 10 → F = 2
    // folds, pipelined:
    //   R + (F−1)·max(m, R) + m + R + C − 2 = 8 + 20 + 20 + 8 + 8 − 2 = 62 cycles each,
    // one per array → 62 cycles on the busiest array.
    assert_eq!(c.tiles, 2);
    assert_eq!(c.macs, 20 * 10 * 12);
    assert_eq!(c.compute_cycles, Cycles(62));
    // DRAM: the activations (200 B in, 960 B out) fit on chip, so only the weights come from
    // DRAM: a B block of k·n = 80 (n = 8) or 40 (n = 4) bytes, each read once by the one
    // tile job that needs it: 120 bytes at 16 B/cycle = 8 cycles; the layer is compute-bound.
    assert_eq!(c.traffic.dram_read_bytes, 120);
    assert_eq!((c.traffic.sram_hits, c.traffic.sram_hit_bytes), (0, 0));
    assert_eq!(c.dram_cycles, Cycles(8));
    assert_eq!(c.cycles, Cycles(62));
    // At 1 B/cycle the weights take 120 cycles and bound the layer.
    cfg.dram_bytes_per_cycle = 1;
    let c = &layer_costs(&lower(&g, &bind, &cfg).unwrap(), &cfg)[0];
    assert_eq!((c.dram_cycles, c.cycles), (Cycles(120), Cycles(120)));
    // Without residency the same: no block is read twice.
    cfg.residency = Residency::None;
    let c = &layer_costs(&lower(&g, &bind, &cfg).unwrap(), &cfg)[0];
    assert_eq!((c.dram_cycles, c.cycles), (Cycles(120), Cycles(120)));
    // With 1 KiB of scratchpad per array (half of 2 KiB < 1160 B) the activations stream too,
    // and the rows are cut by what fits: (512 − 80) / (10 + 8·4) = 10 rows (≥ R = 8) per
    // M-block, so 4 tile jobs, (m0, n0), (m0, n8), (m10, n0) and (m10, n8) in order, each to
    // the array that frees first: an A block m·k = 100, outputs m·n·4 = 320 (n = 8) or 160
    // (n = 4). Array 0 reads B(n0) 80
    // and A(m0) 100, then A(m10) 100 with B(n0) resident; array 1 reads B(n8) 40 and A(m0),
    // then A(m10): reads 80 + 100 + 100 + 40 + 100 + 100 = 520, writes 2·320 + 2·160 = 960;
    // 1480 bytes at 16 B/cycle = 93 cycles.
    cfg.dram_bytes_per_cycle = 16;
    cfg.sram_kib_per_array = 1;
    cfg.residency = Residency::Lru;
    let c = &layer_costs(&lower(&g, &bind, &cfg).unwrap(), &cfg)[0];
    assert_eq!(
        (c.traffic.dram_read_bytes, c.traffic.dram_write_bytes),
        (520, 960)
    );
    assert_eq!((c.dram_cycles, c.cycles), (Cycles(93), Cycles(93)));
    // Without residency: per tile m·k + k·n + m·n·4: 500, 300, 500, 300 = 1600 bytes, 100 cycles.
    cfg.residency = Residency::None;
    let c = &layer_costs(&lower(&g, &bind, &cfg).unwrap(), &cfg)[0];
    assert_eq!((c.dram_cycles, c.cycles), (Cycles(100), Cycles(100)));
}

/// With `timing = "scalesim"`, inspect's traffic of a GEMM layer is SCALE-Sim v3's for the
/// layer on one array (checked against SCALE-Sim itself in tests/scalesim_traffic.rs), in
/// bytes: the u8 A and i8 B of one byte, the i32 C of four.
#[test]
fn scalesim_timing_reports_scalesim_traffic() {
    use cdmsa::array::scalesim_traffic_for;
    use cdmsa::config::TimingMode;
    use cdmsa::kernel::GemmShape;
    let g = matmul_integer();
    let cfg = AcceleratorConfig {
        arrays: 1,
        timing: TimingMode::Scalesim,
        ..AcceleratorConfig::preset("tiny").unwrap()
    };
    let bind = [InputBinding::shape_only(DType::U8, vec![20, 10])];
    let c = &layer_costs(&lower(&g, &bind, &cfg).unwrap(), &cfg)[0];
    let s = scalesim_traffic_for(
        &cfg,
        GemmShape {
            m: 20,
            k: 10,
            n: 12,
        },
    );
    assert_eq!(
        c.traffic.dram_read_bytes,
        s.dram_ifmap_reads + s.dram_filter_reads
    );
    assert_eq!(c.traffic.dram_write_bytes, 4 * s.dram_ofmap_writes);
    // A and B are read once each (they fit SCALE-Sim's window); C once per K fold (2).
    assert_eq!((s.dram_ifmap_reads, s.dram_filter_reads), (200, 120));
    assert!(s.dram_ofmap_writes >= 2 * 240);
}
