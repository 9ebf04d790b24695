//! Cutting GEMM problems into tile jobs that fit the array and its scratchpad.

use crate::config::{AcceleratorConfig, Dataflow};
use crate::kernel::{GemmShape, TileJob};

/// The largest M-block, so that a tile job's preemption latency stays bounded.
const MAX_M_BLOCK: usize = 4096;

/// Rows of A per tile job: as many as fit half the scratchpad (the other half is the
/// double buffer) together with the B block and the C block, but no more than gives every
/// array a tile job (with `blocks` tile jobs per M-block: the N-blocks times the packs of
/// problems; with [`AcceleratorConfig::spread_rows`], as if there were one), and at least
/// one array's rows. Rows are cut no finer than the arrays need: each M-block of an N-block
/// reads the same weight block, so every extra cut is a weight block fetched again unless
/// the same array runs both.
pub fn m_block(
    shape: GemmShape,
    n_block: usize,
    blocks: usize,
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
    let blocks = if cfg.spread_rows { 1 } else { blocks.max(1) };
    let spread = shape.m.div_ceil(cfg.arrays.div_ceil(blocks));
    fit.min(spread)
        .max(cfg.rows)
        .min(MAX_M_BLOCK)
        .min(shape.m)
        .max(1)
}

/// How many of `problems` GEMMs of `shape` one tile job packs block-diagonally: as many as
/// fit the array side by side, each in one fold (K within the rows, N within the columns),
/// on a weight-stationary array whose configuration allows packing; 1 otherwise.
pub fn pack_factor(shape: GemmShape, problems: usize, cfg: &AcceleratorConfig) -> usize {
    if !cfg.pack_problems || cfg.dataflow != Dataflow::Ws || shape.k == 0 || shape.n == 0 {
        return 1;
    }
    (cfg.rows / shape.k)
        .min(cfg.cols / shape.n)
        .min(problems)
        .max(1)
}

/// Every tile job of `problems` GEMMs of `shape`, problem-major (packs of
/// [`pack_factor`] problems), then M-blocks, then N-blocks.
pub fn tile_jobs(
    shape: GemmShape,
    problems: usize,
    cfg: &AcceleratorConfig,
    bytes: [u64; 3],
) -> Vec<TileJob> {
    if shape.m == 0 || shape.n == 0 {
        return Vec::new();
    }
    let pack = pack_factor(shape, problems, cfg);
    let nb = cfg.cols.min(shape.n);
    // A pack holds its problems' blocks together: size its M-block by the joint shape.
    let joint = GemmShape {
        k: shape.k * pack,
        n: shape.n * pack,
        ..shape
    };
    let packs = problems.div_ceil(pack);
    let mb = m_block(joint, nb * pack, packs * shape.n.div_ceil(nb), cfg, bytes);
    let mut jobs = Vec::with_capacity(packs * shape.m.div_ceil(mb) * shape.n.div_ceil(nb));
    for first in (0..problems).step_by(pack) {
        for m0 in (0..shape.m).step_by(mb) {
            for n0 in (0..shape.n).step_by(nb) {
                jobs.push(TileJob {
                    problem: first,
                    packed: pack.min(problems - first),
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
        assert_covers_once(&jobs, 2, shape, cfg.cols);
    }

    #[test]
    fn rows_are_cut_only_as_far_as_the_arrays_need() {
        // tpu-msa: 4 arrays of 128×128, a 6 MiB scratchpad (rows never limited by it here).
        let cfg = AcceleratorConfig::preset("tpu-msa").unwrap();
        let rows = |shape: GemmShape, problems: usize, cfg: &AcceleratorConfig| -> Vec<usize> {
            let jobs = tile_jobs(shape, problems, cfg, [1, 1, 4]);
            assert_covers_once(&jobs, problems, shape, cfg.cols);
            jobs.iter().map(|j| j.m).collect()
        };
        // N = 768: 6 column blocks, at least one per array: the 1 000 rows stay whole.
        let wide = GemmShape {
            m: 1000,
            k: 64,
            n: 768,
        };
        assert_eq!(rows(wide, 1, &cfg), [1000; 6]);
        // N = 256: 2 column blocks for 4 arrays: ⌈4 / 2⌉ = 2 M-blocks of 500 rows each.
        let narrow = GemmShape { n: 256, ..wide };
        assert_eq!(rows(narrow, 1, &cfg), [500, 500, 500, 500]);
        // 3 problems of N = 128 (1 column block each, too wide to pack): ⌈4 / 3⌉ = 2 M-blocks.
        let three = GemmShape { n: 128, ..wide };
        assert_eq!(rows(three, 3, &cfg), [500; 6]);
        // Spread over every array, rows are cut in 4 blocks of ⌈1000 / 4⌉ = 250 whatever N.
        let spread = AcceleratorConfig {
            spread_rows: true,
            ..cfg.clone()
        };
        assert_eq!(rows(wide, 1, &spread), [250; 24]);
        // Never below one array's rows: 300 rows on 4 arrays with one column block are cut
        // into blocks of 128, not 75.
        let short = GemmShape {
            m: 300,
            n: 64,
            ..wide
        };
        assert_eq!(rows(short, 1, &cfg), [128, 128, 44]);
    }

    /// Every output of every problem lies in exactly one job, and no job's N-block is wider
    /// than the array.
    fn assert_covers_once(jobs: &[TileJob], problems: usize, shape: GemmShape, cols: usize) {
        let (m, n) = (shape.m, shape.n);
        let mut seen = vec![0u8; problems * m * n];
        for j in jobs {
            assert!(j.n * j.packed <= cols);
            for p in j.problem..j.problem + j.packed {
                for i in j.m0..j.m0 + j.m {
                    for c in j.n0..j.n0 + j.n {
                        seen[(p * m + i) * n + c] += 1;
                    }
                }
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
    }

    #[test]
    fn depthwise_channels_pack_as_many_as_fit_the_array() {
        // A 3×3 depthwise layer of 40 channels on 128×128 WS arrays: each channel is a GEMM
        // of K = 9, N = 1; ⌊128 / 9⌋ = 14 fit side by side, so 40 channels make packs of
        // 14, 14 and 12.
        let cfg = AcceleratorConfig::preset("tpu-msa").unwrap();
        let shape = GemmShape { m: 56, k: 9, n: 1 };
        let jobs = tile_jobs(shape, 40, &cfg, [1, 1, 1]);
        let packs: Vec<usize> = jobs.iter().map(|j| j.packed).collect();
        assert_eq!(packs, [14, 14, 12]);
        assert_covers_once(&jobs, 40, shape, cfg.cols);
        // Heads of 6 × 16 × 6: ⌊128 / 16⌋ = 8 rows' worth, ⌊128 / 6⌋ = 21 columns' worth.
        let heads = GemmShape { m: 6, k: 16, n: 6 };
        assert_eq!(pack_factor(heads, 12, &cfg), 8);
        // A problem as wide as the array, or one folding over K, is not packed.
        assert_eq!(
            pack_factor(
                GemmShape {
                    m: 6,
                    k: 16,
                    n: 128
                },
                4,
                &cfg
            ),
            1
        );
        assert_eq!(pack_factor(GemmShape { m: 6, k: 129, n: 6 }, 4, &cfg), 1);
        // Nor on an output-stationary array, nor when the accelerator turns packing off.
        let os = AcceleratorConfig {
            dataflow: Dataflow::Os,
            ..cfg.clone()
        };
        assert_eq!(pack_factor(shape, 40, &os), 1);
        let off = AcceleratorConfig {
            pack_problems: false,
            ..cfg
        };
        assert_eq!(tile_jobs(shape, 40, &off, [1, 1, 1]).len(), 40);
    }
}
