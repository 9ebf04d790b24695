//! Cutting GEMM problems into tile jobs that fit the array and its scratchpad.

use crate::config::{AcceleratorConfig, Dataflow};
use crate::kernel::{GemmShape, TileJob};

/// The largest M-block, so that a tile job's preemption latency stays bounded.
const MAX_M_BLOCK: usize = 4096;

/// Rows of A per tile job: as many as fit half the scratchpad (the other half is the
/// double buffer) together with the B block and the C block, but no more than spreads
/// the rows over every array, and at least one array's rows.
pub fn m_block(
    shape: GemmShape,
    n_block: usize,
    cfg: &AcceleratorConfig,
    bytes: [u64; 3],
) -> usize {
    if cfg.dataflow == Dataflow::Os {
        return cfg.rows.min(shape.m).max(1);
    }
    let half = cfg.sram_kib_per_array.saturating_mul(512);
    let [ea, eb, ec] = bytes;
    let b_block = shape.k as u64 * n_block as u64 * eb;
    let per_row = shape.k as u64 * ea + n_block as u64 * ec;
    let fit = (half.saturating_sub(b_block) / per_row.max(1)) as usize;
    let spread = shape.m.div_ceil(cfg.arrays);
    fit.min(spread)
        .max(cfg.rows)
        .min(MAX_M_BLOCK)
        .min(shape.m)
        .max(1)
}

/// Every tile job of `problems` GEMMs of `shape`, problem-major, then M-blocks, then N-blocks.
pub fn tile_jobs(
    shape: GemmShape,
    problems: usize,
    cfg: &AcceleratorConfig,
    bytes: [u64; 3],
) -> Vec<TileJob> {
    if shape.m == 0 || shape.n == 0 {
        return Vec::new();
    }
    let nb = cfg.cols.min(shape.n);
    let mb = m_block(shape, nb, cfg, bytes);
    let mut jobs = Vec::with_capacity(problems * shape.m.div_ceil(mb) * shape.n.div_ceil(nb));
    for problem in 0..problems {
        for m0 in (0..shape.m).step_by(mb) {
            for n0 in (0..shape.n).step_by(nb) {
                jobs.push(TileJob {
                    problem,
                    m0,
                    m: mb.min(shape.m - m0),
                    n0,
                    n: nb.min(shape.n - n0),
                });
            }
        }
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_every_output_once() {
        let cfg = AcceleratorConfig::preset("tiny").unwrap();
        let shape = GemmShape {
            m: 37,
            k: 20,
            n: 19,
        };
        let jobs = tile_jobs(shape, 2, &cfg, [1, 1, 1]);
        let mut seen = vec![0u8; 2 * 37 * 19];
        for j in &jobs {
            assert!(j.n <= cfg.cols);
            for i in j.m0..j.m0 + j.m {
                for c in j.n0..j.n0 + j.n {
                    seen[(j.problem * 37 + i) * 19 + c] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
    }
}
