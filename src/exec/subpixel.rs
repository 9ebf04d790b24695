//! A float transposed convolution computed per sub-pixel phase: the output positions that
//! agree modulo the stride read the same kernel taps of the zero-inserted input, so each phase
//! is one product over its own taps instead of over every tap, three quarters of which are
//! inserted zeros for a stride-2 2×2 kernel.
//!
//! The array multiplies the inserted zeros too, and each such tap adds `0·w` to a partial sum:
//! with `w` finite that is a signed zero, which changes nothing but the sign of a zero sum.
//! Each phase's product keeps the array's K-tiles (a K-tile's taps stay together, in order,
//! each tile padded with `0·0` entries to the longest one), so every output gets the array's
//! value up to the sign of a zero. Zeros are then signed as the array signs them: +0 when the
//! last K-tile is short (its lower PE rows add `0·0`), otherwise by computing the outputs that
//! came out zero over the whole reduction again. Weights that are not all finite (`0·∞` is
//! NaN) are left to the tile path. `tests/lowering.rs` checks every bit against the
//! tile-by-tile recording on random transposed convolutions, on every float datapath.

use super::conv::group_bias;
use super::gemm::{Epilogue, Values, prepare, round_to_format};
use super::operands::{PADDING, rhs, tap_offsets};
use crate::array::{ArraySpec, Bias, gemm_float, unsign_zeros, vector};
use crate::config::Dataflow;
use crate::error::{Error, Result};
use crate::kernel::{FloatFormat, GemmKernel, GemmLayout, GemmShape, Window};
use crate::tensor::{Constant, DType, Tensor};
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;

/// Whether [`run`] may compute kernel `k`: a transposed convolution with a stride above 1,
/// whose phases skip taps.
pub fn applies(k: &GemmKernel) -> bool {
    matches!(
        &k.layout,
        GemmLayout::Conv { transposed: true, window, .. } if window.strides.iter().any(|&s| s > 1)
    )
}

/// Computes the transposed convolution lowered to `k` (reading `ins`, with the constant behind
/// each input in `consts`) phase by phase: its output tensor, or `None` when the tile path must
/// compute it (an integer datapath, an output unit that adds after the bias, weights that
/// are not all finite).
pub fn run(
    k: &GemmKernel,
    ins: &[Option<&Tensor>],
    consts: &[Option<&Constant>],
    spec: &ArraySpec,
    out_dtype: DType,
    out_shape: &[usize],
) -> Result<Option<Tensor>> {
    let GemmLayout::Conv {
        window,
        batch,
        cin_per_group: cin,
        cout_per_group: cpg,
        groups,
        transposed: true,
    } = &k.layout
    else {
        return Ok(None);
    };
    let (batch, cin, cpg, groups) = (*batch, *cin, *cpg, *groups);
    let prepared = prepare(k, ins, consts, out_dtype)?;
    let (
        Values::Float { fmt, x, w, bias },
        Epilogue::Float {
            alpha: 1.0,
            c: None,
            relu,
            ..
        },
    ) = (prepared.values, prepared.epilogue)
    else {
        return Ok(None);
    };
    if !w.iter().all(|v| v.is_finite()) {
        return Ok(None);
    }
    let channels = ins
        .first()
        .copied()
        .flatten()
        .and_then(|t| t.shape().get(1).copied())
        .unwrap_or(0);
    let (plane_in, plane_out) = (window.input.iter().product(), window.output_size());
    let kk = k.shape.k;
    let total: usize = out_shape.iter().product();
    if total != batch * groups * cpg * plane_out
        || kk != cin * window.kernel_size()
        || x.len() < batch * channels * plane_in
        || channels < groups * cin
        || w.len() < groups * cpg * kk
    {
        return Err(Error::Shape(format!(
            "output {out_shape:?} or operands do not fit a {batch}×{groups}×{cpg} transposed \
             convolution over {plane_out} positions"
        )));
    }
    let biases = (0..groups)
        .map(|g| group_bias(bias.as_deref(), g, cpg))
        .collect::<Result<Vec<_>>>()?;
    let phases = Phase::all(window);
    let tiling = phases
        .iter()
        .map(|p| Tiling::of(spec, kk, cin, window.kernel_size(), p))
        .collect::<Vec<_>>();
    // Per phase and group, the weights of its slots: `cpg × slots`, as the product's A.
    let weights = |p: usize, g: usize| -> Vec<f32> {
        let (slots, taps) = (&tiling[p].slots, window.kernel_size());
        let mut a = Vec::with_capacity(cpg * slots.len());
        for j in 0..cpg {
            a.extend(slots.iter().map(|s| match *s {
                Some((c, t)) => w[((g * cin + c) * cpg + j) * taps + phases[p].taps[t]],
                None => 0.0,
            }));
        }
        a
    };
    let per_phase: Vec<Vec<Vec<f32>>> = (0..phases.len())
        .map(|p| (0..groups).map(|g| weights(p, g)).collect())
        .collect();
    let blocks = Block::plan(&phases, &tiling, batch, groups);
    let input = Input {
        x: &x,
        channels,
        plane: plane_in,
        window,
        cin,
    };
    let done = blocks
        .par_iter()
        .map(|blk| {
            let (phase, tiles) = (&phases[blk.phase], &tiling[blk.phase]);
            let cols = input.columns(blk, phase, &tiles.slots);
            let n = blk.rows.len() * phase.width();
            let shape = GemmShape {
                m: cpg,
                k: tiles.slots.len(),
                n,
            };
            let bias = biases[blk.group].as_deref().map_or(Bias::None, Bias::Rows);
            let a = &per_phase[blk.phase][blk.group];
            gemm_float(&tiles.spec, fmt, shape, a, &cols, bias)
        })
        .collect::<Vec<_>>();
    let mut out = vec![0f32; total];
    for (blk, values) in blocks.iter().zip(done) {
        let phase = &phases[blk.phase];
        let positions = phase.positions(window, blk.rows.clone());
        for (j, row) in values.chunks(positions.len().max(1)).take(cpg).enumerate() {
            let plane = &mut out[((blk.image * groups + blk.group) * cpg + j) * plane_out..];
            for (&pos, &v) in positions.iter().zip(row) {
                plane[pos] = v;
            }
        }
    }
    if spec.pads_last_k_tile(kk) {
        // The PE rows below the short last K-tile add `0·0`: no output is −0.
        unsign_zeros(&mut out);
    } else {
        let dense = Dense {
            k,
            input: &input,
            w: &w,
            spec,
            fmt,
            groups,
            cpg,
        };
        for image in 0..batch {
            for (g, bias) in biases.iter().enumerate() {
                dense.resign_zeros(image, g, bias.as_deref(), &mut out);
            }
        }
    }
    // The output is written in the datapath's format, once.
    round_to_format(fmt, &mut out);
    if relu {
        vector::relu_in_place(&mut out);
    }
    let arr =
        ArrayD::from_shape_vec(IxDyn(out_shape), out).map_err(|e| Error::Shape(e.to_string()))?;
    Ok(Some(Tensor::from_f32(arr, out_dtype)))
}

/// One sub-pixel phase: the output positions whose coordinate along every spatial dim `d` is
/// `first[d] + stride[d]·i` (`i < count[d]`), and the kernel taps they read.
struct Phase {
    first: Vec<usize>,
    count: Vec<usize>,
    /// The taps the phase reads (row-major over the kernel, ascending).
    taps: Vec<usize>,
    /// Per tap of `taps`, per dim: the input coordinate that `i = 0` reads (`i` reads
    /// `base + i`).
    bases: Vec<Vec<isize>>,
}

impl Phase {
    /// The phases of `win` that hold an output position: one per residue of the output
    /// coordinates (plus the padding) modulo the strides, built one dim at a time.
    fn all(win: &Window) -> Vec<Phase> {
        let mut phases = vec![Phase {
            first: vec![],
            count: vec![],
            taps: vec![0],
            bases: vec![vec![]],
        }];
        for d in 0..win.output.len() {
            let residues = (0..win.strides[d]).map(|q| Residue::of(win, d, q));
            let residues = residues.collect::<Vec<_>>();
            phases = phases
                .iter()
                .flat_map(|p| residues.iter().map(|r| p.along(r, win.kernel[d])))
                .collect();
        }
        phases.retain(|p| p.count.iter().all(|&c| c > 0));
        phases
    }

    /// This phase (over the dims before `d`) extended by residue `r` of dim `d`, whose kernel
    /// has `kd` taps.
    fn along(&self, r: &Residue, kd: usize) -> Phase {
        let mut next = Phase {
            first: [self.first.as_slice(), &[r.first]].concat(),
            count: [self.count.as_slice(), &[r.count]].concat(),
            taps: vec![],
            bases: vec![],
        };
        for (t, base) in self.taps.iter().zip(&self.bases) {
            for &(k, b) in &r.taps {
                next.taps.push(t * kd + k);
                next.bases.push([base.as_slice(), &[b]].concat());
            }
        }
        next
    }

    /// Output positions along the last dim of one row of the phase.
    fn width(&self) -> usize {
        self.count.last().copied().unwrap_or(1)
    }

    /// Rows of the phase: its positions along every dim but the last.
    fn rows(&self) -> usize {
        let r = self.count.len().saturating_sub(1);
        self.count[..r].iter().product()
    }

    /// The phase's indices along the dims but the last of its row `r`.
    fn outer(&self, r: usize) -> Vec<usize> {
        let last = self.count.len().saturating_sub(1);
        let mut idx = vec![0; last];
        let mut rem = r;
        for d in (0..last).rev() {
            idx[d] = rem % self.count[d];
            rem /= self.count[d];
        }
        idx
    }

    /// The offsets within an output plane of `win` of the phase's positions in rows `rows`,
    /// row-major.
    fn positions(&self, win: &Window, rows: std::ops::Range<usize>) -> Vec<usize> {
        let rank = self.count.len();
        let mut strides = vec![1usize; rank];
        for d in (0..rank.saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * win.output[d + 1];
        }
        let (last, width) = (rank - 1, self.width());
        let mut out = Vec::with_capacity(rows.len() * width);
        for r in rows {
            let row: usize = self
                .outer(r)
                .iter()
                .enumerate()
                .map(|(d, &i)| (self.first[d] + win.strides[d] * i) * strides[d])
                .sum();
            out.extend((0..width).map(|i| row + self.first[last] + win.strides[last] * i));
        }
        out
    }
}

/// The output coordinates along one dim whose coordinate plus the padding is `q` modulo the
/// stride: `first + stride·i` for `i < count`; and the kernel taps `k` they read, each with
/// the input coordinate `base` that `i = 0` reads.
struct Residue {
    first: usize,
    count: usize,
    /// `(k, base)`: `o + pad − k·dilation` divides by the stride exactly for these `k` alone.
    taps: Vec<(usize, isize)>,
}

impl Residue {
    fn of(win: &Window, d: usize, q: usize) -> Residue {
        let (s, pad, dil) = (win.strides[d], win.pad_begin[d], win.dilations[d]);
        let first = (q + s - pad % s) % s;
        // (first + pad) and k·dil are both q modulo s: their difference divides exactly.
        let taps = (0..win.kernel[d])
            .filter(|k| (k * dil) % s == q)
            .map(|k| (k, ((first + pad) / s) as isize - (k * dil / s) as isize))
            .collect();
        Residue {
            first,
            count: win.output[d].saturating_sub(first).div_ceil(s),
            taps,
        }
    }
}

/// A phase's reduction cut as the array cuts the whole one: per K-tile of the whole reduction
/// (`(channel, tap)` ascending), its entries that the phase reads, each tile padded with empty
/// slots to the longest; and the spec whose K-tiles are those padded tiles.
struct Tiling {
    /// Per slot, `(channel, index into the phase's taps)`, or `None` for a `0·0` entry.
    slots: Vec<Option<(usize, usize)>>,
    spec: ArraySpec,
}

impl Tiling {
    fn of(spec: &ArraySpec, kk: usize, cin: usize, taps: usize, phase: &Phase) -> Tiling {
        let r = spec.k_tile(kk).min(kk.max(1));
        let mut tiles: Vec<Vec<Option<(usize, usize)>>> = vec![vec![]; kk.div_ceil(r).max(1)];
        for c in 0..cin {
            for (i, &t) in phase.taps.iter().enumerate() {
                tiles[(c * taps + t) / r].push(Some((c, i)));
            }
        }
        // At least one slot a tile: a tile of inserted zeros only adds +0, as `0·0` does.
        let len = tiles.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let slots = tiles
            .into_iter()
            .flat_map(|mut t| {
                t.resize(len, None);
                t
            })
            .collect();
        Tiling {
            slots,
            spec: ArraySpec {
                rows: len,
                dataflow: Dataflow::Ws,
                ..*spec
            },
        }
    }
}

/// im2col values per block: a block's columns and their packing stay within a core's L2.
const BLOCK_VALUES: usize = 1 << 16;

/// Rows `rows` of phase `phase` of image `image`, group `group`: one product.
struct Block {
    image: usize,
    group: usize,
    phase: usize,
    rows: std::ops::Range<usize>,
}

impl Block {
    /// Every phase of every image and group cut into blocks of whole phase rows whose
    /// columns hold about [`BLOCK_VALUES`] values.
    fn plan(phases: &[Phase], tiling: &[Tiling], batch: usize, groups: usize) -> Vec<Block> {
        let mut blocks = Vec::new();
        for image in 0..batch {
            for group in 0..groups {
                for (phase, (p, t)) in phases.iter().zip(tiling).enumerate() {
                    let per_row = t.slots.len().max(1) * p.width();
                    let step = (BLOCK_VALUES / per_row.max(1)).max(1);
                    let rows = p.rows();
                    blocks.extend((0..rows).step_by(step).map(|r0| Block {
                        image,
                        group,
                        phase,
                        rows: r0..(r0 + step).min(rows),
                    }));
                }
            }
        }
        blocks
    }
}

/// The input a transposed convolution reads: `channels` planes of `plane` values per image,
/// `cin` of them per group.
struct Input<'x> {
    x: &'x [f32],
    channels: usize,
    plane: usize,
    window: &'x Window,
    cin: usize,
}

impl Input<'_> {
    /// Block `blk`'s columns (`slots × positions`): per slot, the value its tap reads at each
    /// of the block's positions, 0 outside the input and in an empty slot.
    fn columns(&self, blk: &Block, phase: &Phase, slots: &[Option<(usize, usize)>]) -> Vec<f32> {
        let win = self.window;
        let rank = win.input.len();
        let last = rank - 1;
        let (width, iw) = (phase.width(), win.input[last]);
        let n = blk.rows.len() * width;
        let mut cols = vec![0f32; slots.len() * n];
        let outer: Vec<Vec<usize>> = blk.rows.clone().map(|r| phase.outer(r)).collect();
        for (dst, slot) in cols.chunks_mut(n.max(1)).zip(slots) {
            let Some((c, t)) = *slot else { continue };
            let base = &phase.bases[t];
            let plane = (blk.image * self.channels + blk.group * self.cin + c) * self.plane;
            let src = &self.x[plane..plane + self.plane];
            // Along the last dim, phase index i reads input base + i: inside for i in lo..hi.
            let b = base[last];
            let lo = usize::try_from(-b).unwrap_or(0).min(width);
            let hi = usize::try_from(iw as isize - b).unwrap_or(0).min(width);
            for (row, idx) in dst.chunks_mut(width.max(1)).zip(&outer) {
                let mut offset = 0usize;
                let mut stride = iw;
                let mut inside = true;
                for d in (0..last).rev() {
                    match usize::try_from(base[d] + idx[d] as isize) {
                        Ok(coord) if coord < win.input[d] => offset += coord * stride,
                        _ => inside = false,
                    }
                    stride *= win.input[d];
                }
                if inside && lo < hi {
                    let first = (offset as isize + b + lo as isize) as usize;
                    row[lo..hi].copy_from_slice(&src[first..first + (hi - lo)]);
                }
            }
        }
        cols
    }
}

/// The whole reduction of chosen outputs, as the tile path computes it: every tap, inserted
/// zeros included.
struct Dense<'a> {
    k: &'a GemmKernel,
    input: &'a Input<'a>,
    w: &'a [f32],
    spec: &'a ArraySpec,
    fmt: FloatFormat,
    groups: usize,
    cpg: usize,
}

impl Dense<'_> {
    /// Computes again over the whole reduction every output position of image `image`, group
    /// `g` where some output channel came out zero, so that its zeros carry the array's sign.
    fn resign_zeros(&self, image: usize, g: usize, bias: Option<&[f32]>, out: &mut [f32]) {
        let (input, win, cpg) = (self.input, self.input.window, self.cpg);
        let plane_out = win.output_size();
        let first = (image * self.groups + g) * cpg * plane_out;
        let planes = &out[first..first + cpg * plane_out];
        let zeros: Vec<usize> = (0..plane_out)
            .filter(|&o| (0..cpg).any(|j| planes[j * plane_out + o] == 0.0))
            .collect();
        if zeros.is_empty() {
            return;
        }
        // Each zero position's row of the whole im2col: every tap, inserted zeros included.
        let taps = win.kernel_size();
        let offsets = tap_offsets(win, true);
        let kk = input.cin * taps;
        let mut a = vec![0f32; zeros.len() * kk];
        for (row, &o) in a.chunks_mut(kk).zip(&zeros) {
            for (t, &offset) in offsets[o * taps..(o + 1) * taps].iter().enumerate() {
                if offset == PADDING {
                    continue;
                }
                for c in 0..input.cin {
                    let plane = image * input.channels + g * input.cin + c;
                    row[c * taps + t] = input.x[plane * input.plane + offset];
                }
            }
        }
        let b = rhs(self.k, self.w, g);
        let shape = GemmShape {
            m: zeros.len(),
            k: kk,
            n: cpg,
        };
        let bias = bias.map_or(Bias::None, Bias::Columns);
        let values = gemm_float(self.spec, self.fmt, shape, &a, &b, bias);
        let planes = &mut out[first..first + cpg * plane_out];
        for (&o, row) in zeros.iter().zip(values.chunks(cpg)) {
            for (j, &v) in row.iter().enumerate() {
                planes[j * plane_out + o] = v;
            }
        }
    }
}
