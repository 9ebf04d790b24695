//! The cost model: what a tile job and a vector job cost (compute cycles and DRAM bytes, by
//! operand), what a fused pair and a K-tile split cost, and the isolated-run cost and traffic
//! of every layer. The simulator and `inspect`/`run` both cost jobs here.

use super::memory::{BlockRef, JobTraffic, Scratchpad, Traffic};
use crate::array::{ArraySpec, scalesim_traffic_for, tile_cycles};
use crate::config::{AcceleratorConfig, TimingMode};
use crate::kernel::{GemmKernel, GemmShape, Kernel, Program, TileJob, VectorKernel};
use crate::units::Cycles;
use serde::Serialize;

/// What one job costs: its compute cycles on an array (or the vector unit) and the DRAM bytes
/// it moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobCost {
    /// Compute cycles.
    pub compute: Cycles,
    /// DRAM bytes.
    pub bytes: u64,
}

impl JobCost {
    /// Cycles when the job has the DRAM (`dram_bytes_per_cycle`) to itself and nothing is
    /// resident: the longer of its compute and its traffic. The policies' estimates rest on
    /// it (an upper bound of the job alone).
    pub fn nominal(&self, dram_bytes_per_cycle: u64) -> Cycles {
        self.compute
            .max(dram_cycles(self.bytes, dram_bytes_per_cycle))
    }
}

impl JobCost {
    /// Cycles when the job's stream gets an equal share of the DRAM among `streams` (every
    /// array streaming at once): the longer of its compute and its traffic at
    /// `dram_bytes_per_cycle / streams`. The policies' estimates rest on it: with at most
    /// `streams` streams sharing DRAM equally it bounds the job's time from above.
    pub fn contended(&self, dram_bytes_per_cycle: u64, streams: usize) -> Cycles {
        let bytes = self.bytes.saturating_mul(streams.max(1) as u64);
        self.compute.max(dram_cycles(bytes, dram_bytes_per_cycle))
    }
}

/// Cycles to move `bytes` at `dram_bytes_per_cycle`.
pub fn dram_cycles(bytes: u64, dram_bytes_per_cycle: u64) -> Cycles {
    Cycles(bytes.div_ceil(dram_bytes_per_cycle.max(1)))
}

/// A tile job split between K-tiles ([`CostModel::split_k`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KSplit {
    /// Cycles from the job's start until the array frees up: the folds done, then writing
    /// the partial sums to DRAM.
    pub until_free: Cycles,
    /// The rest: its remaining folds, with reading the partial sums back.
    pub rest: JobCost,
    /// The rest's traffic: the rest of its blocks, the partial sums read back, its outputs.
    pub rest_traffic: JobTraffic,
    /// Bytes of partial sums written at the cut.
    pub saved: u64,
    /// The rest's GEMM shape (the K rows left).
    pub rest_shape: GemmShape,
}

/// Bytes of one partial sum saved between K-tiles (an i32 or f32 accumulator).
const PARTIAL_SUM_BYTES: usize = 4;

/// The cost of every job on one accelerator.
#[derive(Debug, Clone, Copy)]
pub struct CostModel {
    spec: ArraySpec,
    vector_lanes: u64,
}

impl CostModel {
    /// The cost model of `cfg`.
    pub fn new(cfg: &AcceleratorConfig) -> CostModel {
        CostModel {
            spec: ArraySpec::from_config(cfg),
            vector_lanes: cfg.vector_lanes.max(1) as u64,
        }
    }

    /// Tile job `t` of GEMM kernel `g`: its M-block × N-block with all of K.
    pub fn tile(&self, g: &GemmKernel, t: &TileJob) -> JobCost {
        JobCost {
            compute: tile_cycles(&self.spec, tile_shape(g, t)),
            bytes: tile_traffic(g, t).bytes(),
        }
    }

    /// A vector kernel's one job on the vector unit.
    pub fn vector(&self, v: &VectorKernel) -> JobCost {
        JobCost {
            compute: Cycles(v.work.div_ceil(self.vector_lanes)),
            bytes: vector_traffic(v).bytes(),
        }
    }

    /// Two tile jobs of shapes `a` and `b` fused block-diagonally on one array: one fold of
    /// the joint tile (the longer stream, the joint K and N), moving both jobs' bytes.
    pub fn fused(&self, a: (GemmShape, JobCost), b: (GemmShape, JobCost)) -> (GemmShape, JobCost) {
        let ((a, ca), (b, cb)) = (a, b);
        let joint = GemmShape {
            m: a.m.max(b.m),
            k: a.k + b.k,
            n: a.n + b.n,
        };
        let cost = JobCost {
            compute: tile_cycles(&self.spec, joint),
            bytes: ca.bytes + cb.bytes,
        };
        (joint, cost)
    }

    /// Splits a tile job of `shape` and `cost`, started `elapsed` cycles ago and lasting
    /// `duration`, at its next K-tile (fold) boundary, its partial sums written to DRAM at
    /// `dram_bytes_per_cycle`; `None` when it has a single fold or is in its last one.
    pub fn split_k(
        &self,
        shape: GemmShape,
        cost: JobCost,
        traffic: &JobTraffic,
        elapsed: Cycles,
        duration: Cycles,
        dram_bytes_per_cycle: u64,
    ) -> Option<KSplit> {
        let rows = self.spec.rows;
        let folds = shape.k.div_ceil(rows.max(1)) as u64;
        let d = duration.0.max(1);
        let boundary = elapsed.0 * folds / d + 1;
        if folds < 2 || boundary >= folds {
            return None;
        }
        let psum_bytes = (shape.m * shape.n * PARTIAL_SUM_BYTES) as u64;
        let save = dram_cycles(psum_bytes, dram_bytes_per_cycle);
        let left = folds - boundary;
        let rest_of = |b: BlockRef| BlockRef {
            bytes: b.bytes * left / folds,
            ..b
        };
        let rest_traffic = JobTraffic {
            weights: traffic.weights.map(rest_of),
            inputs: traffic.inputs.map(rest_of),
            streamed: traffic.streamed + psum_bytes,
            writes: traffic.writes,
            keep: false,
        };
        Some(KSplit {
            until_free: Cycles((d * boundary).div_ceil(folds)) + save,
            rest: JobCost {
                compute: Cycles((cost.compute.0 * left).div_ceil(folds)),
                bytes: rest_traffic.bytes(),
            },
            rest_traffic,
            saved: psum_bytes,
            rest_shape: GemmShape {
                k: shape.k.saturating_sub(boundary as usize * rows),
                ..shape
            },
        })
    }
}

/// The DRAM traffic of tile job `t` of `g`: its B blocks (K × its columns) when weights
/// stream, its A rows (its rows × K) and its C blocks when activations do not stay on chip,
/// for each problem it packs. A weight block is numbered by (first problem, first column), an
/// input block by (first problem, first row), so that the tile jobs sharing one have the same.
pub fn tile_traffic(g: &GemmKernel, t: &TileJob) -> JobTraffic {
    let (m, k, n, packed) = (t.m as u64, g.shape.k as u64, t.n as u64, t.packed as u64);
    let [ea, eb, ec] = g.elem_bytes;
    let problem = t.problem as u64;
    let (acts, weights) = (g.traffic.activations, g.traffic.weights);
    JobTraffic {
        weights: weights.then_some(BlockRef {
            block: problem * g.shape.n as u64 + t.n0 as u64,
            bytes: packed * k * n * eb,
        }),
        inputs: acts.then_some(BlockRef {
            block: problem * g.shape.m as u64 + t.m0 as u64,
            bytes: packed * m * k * ea,
        }),
        streamed: 0,
        writes: if acts { packed * m * n * ec } else { 0 },
        keep: true,
    }
}

/// The DRAM traffic of vector kernel `v`'s job: its operands stream.
pub fn vector_traffic(v: &VectorKernel) -> JobTraffic {
    JobTraffic {
        streamed: v.reads,
        writes: v.writes,
        ..JobTraffic::default()
    }
}

/// A GEMM layer's DRAM traffic as SCALE-Sim v3 counts it for one problem on one array
/// ([`crate::array::scalesim_traffic`]), times its problems, in bytes of its operands. It has
/// no notion of residency between layers, so it reports no scratchpad hits.
pub fn scalesim_layer_traffic(g: &GemmKernel, cfg: &AcceleratorConfig) -> Traffic {
    let s = scalesim_traffic_for(cfg, g.shape);
    let [ea, eb, ec] = g.elem_bytes;
    let problems = g.problems as u64;
    Traffic {
        dram_read_bytes: problems * (s.dram_ifmap_reads * ea + s.dram_filter_reads * eb),
        dram_write_bytes: problems * s.dram_ofmap_writes * ec,
        ..Traffic::default()
    }
}

/// The GEMM shape tile job `t` of `g` occupies the array with: its block, or the joint
/// block-diagonal shape of the problems it packs (their K-tiles and N-blocks side by side).
pub fn tile_shape(g: &GemmKernel, t: &TileJob) -> GemmShape {
    GemmShape {
        m: t.m,
        k: g.shape.k * t.packed,
        n: t.n * t.packed,
    }
}

/// Cycles and work of one layer (node) run alone on the whole accelerator.
#[derive(Debug, Clone, Serialize)]
pub struct LayerCost {
    /// Node name.
    pub name: String,
    /// ONNX op type.
    pub op: String,
    /// "array" or "vector".
    pub unit: &'static str,
    /// GEMM shape of each problem (array layers).
    pub gemm: Option<GemmShape>,
    /// Independent GEMM problems (batch × groups).
    pub problems: usize,
    /// Tile jobs.
    pub tiles: usize,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Busiest array's compute cycles (array layers) or vector-unit cycles.
    pub compute_cycles: Cycles,
    /// Cycles to move the layer's DRAM traffic at the shared bandwidth.
    pub dram_cycles: Cycles,
    /// Its DRAM traffic and scratchpad hits, from cold scratchpads.
    #[serde(flatten)]
    pub traffic: Traffic,
    /// The layer's latency: the larger of the two.
    pub cycles: Cycles,
}

/// Costs every layer of `program` on `cfg`, alone on the accelerator with cold scratchpads:
/// tile jobs go, in order, to the array that frees up first, each array's scratchpad keeping
/// what its tile jobs reuse. With `timing = "scalesim"` a GEMM layer's traffic is SCALE-Sim
/// v3's for the layer on one array ([`scalesim_layer_traffic`]).
pub fn layer_costs(program: &Program, cfg: &AcceleratorConfig) -> Vec<LayerCost> {
    let model = CostModel::new(cfg);
    program
        .nodes
        .iter()
        .zip(&program.kernels)
        .enumerate()
        .map(|(index, (node, kernel))| {
            let mut traffic = Traffic::default();
            let (gemm, problems, tiles, macs, compute) = match kernel {
                Kernel::Gemm(k) => {
                    let mut load = vec![Cycles::ZERO; cfg.arrays];
                    let mut pads = vec![Scratchpad::new(cfg); cfg.arrays];
                    let scalesim = cfg.timing == TimingMode::Scalesim;
                    for t in &k.tiles {
                        let cost = model.tile(k, t);
                        let idle = (0..cfg.arrays).min_by_key(|&a| load[a]).unwrap_or(0);
                        load[idle] += cost.compute;
                        if !scalesim {
                            traffic +=
                                pads[idle].fetch_job(&tile_traffic(k, t), 0, 0, index as u32);
                        }
                    }
                    if scalesim {
                        traffic = scalesim_layer_traffic(k, cfg);
                    }
                    (
                        Some(k.shape),
                        k.problems,
                        k.tiles.len(),
                        k.macs(),
                        load.into_iter().max().unwrap_or_default(),
                    )
                }
                Kernel::Vector(v) => {
                    traffic.dram_read_bytes = v.reads;
                    traffic.dram_write_bytes = v.writes;
                    (None, 0, 0, 0, model.vector(v).compute)
                }
            };
            let bytes = traffic.dram_read_bytes + traffic.dram_write_bytes;
            let dram = dram_cycles(bytes, cfg.dram_bytes_per_cycle);
            LayerCost {
                name: node.name.clone(),
                op: node.op.to_string(),
                unit: if gemm.is_some() { "array" } else { "vector" },
                gemm,
                problems,
                tiles,
                macs,
                compute_cycles: compute,
                dram_cycles: dram,
                traffic,
                cycles: compute.max(dram),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1,000 bytes among 4 equal streams at 10 bytes a cycle: 2.5 bytes a cycle, 400
    /// cycles, above 150 of compute; alone (1 stream) the compute bounds it.
    #[test]
    fn a_contended_job_moves_its_bytes_at_its_equal_share() {
        let job = JobCost {
            compute: Cycles(150),
            bytes: 1_000,
        };
        assert_eq!(job.contended(10, 4), Cycles(400));
        assert_eq!(job.contended(10, 1), Cycles(150));
        assert_eq!(job.contended(10, 1), job.nominal(10));
    }

    /// A job alone: 1,000 bytes at 10 bytes a cycle take 100 cycles, so 150 cycles of
    /// compute bound it; at 5 bytes a cycle the traffic does (200).
    #[test]
    fn a_job_alone_lasts_the_longer_of_compute_and_traffic() {
        let job = JobCost {
            compute: Cycles(150),
            bytes: 1_000,
        };
        assert_eq!(job.nominal(10), Cycles(150));
        assert_eq!(job.nominal(5), Cycles(200));
        assert_eq!(dram_cycles(1_001, 10), Cycles(101));
    }

    /// A 4-fold job (K = 32 on 8 rows) of 400 cycles, cut 150 cycles in: the boundary after
    /// fold 2 is at cycle 200, then 4 × 4 partial sums of 4 bytes are saved at 8 bytes a
    /// cycle (8 cycles); half the folds, half the bytes and the partial sums are left.
    #[test]
    fn a_k_split_charges_the_partial_sums() {
        let mut cfg = AcceleratorConfig::preset("tiny").expect("preset");
        cfg.rows = 8;
        let model = CostModel::new(&cfg);
        let shape = GemmShape { m: 4, k: 32, n: 4 };
        let cost = JobCost {
            compute: Cycles(400),
            bytes: 1_000,
        };
        let traffic = JobTraffic {
            weights: Some(BlockRef {
                block: 0,
                bytes: 600,
            }),
            inputs: Some(BlockRef {
                block: 0,
                bytes: 300,
            }),
            streamed: 0,
            writes: 100,
            keep: true,
        };
        let split = model
            .split_k(shape, cost, &traffic, Cycles(150), Cycles(400), 8)
            .expect("splits");
        assert_eq!(split.until_free, Cycles(208));
        // Half of each block is left to read, the partial sums come back, the outputs go.
        assert_eq!(
            split.rest,
            JobCost {
                compute: Cycles(200),
                bytes: 300 + 150 + 64 + 100
            }
        );
        assert_eq!(split.saved, 64);
        assert!(!split.rest_traffic.keep);
        assert_eq!(split.rest_shape, GemmShape { m: 4, k: 16, n: 4 });
        // In the last fold, or a single fold: no split.
        assert_eq!(
            model.split_k(shape, cost, &traffic, Cycles(350), Cycles(400), 8),
            None
        );
        let one = GemmShape { m: 4, k: 8, n: 4 };
        assert_eq!(
            model.split_k(one, cost, &traffic, Cycles(0), Cycles(400), 8),
            None
        );
    }
}
