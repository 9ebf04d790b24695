//! The fast datapath: the same arithmetic as the PE-level model, in the same order per output,
//! without simulating registers. Vector microkernels (AVX-512, AVX2/FMA) are chosen at run time
//! from the CPU's features, with a portable fallback; all of them give the PE-level model's
//! bits. Parallel across blocks of output rows only, never inside a reduction.
//!
//! * float with f32 partial sums (fp32 operands, and fp16/bf16 with `psum = "fp32"`): each
//!   output's K-tile partial sum is a chain of fused multiply-adds from +0, `k` ascending,
//!   added into the accumulator (started at the bias) in K-tile order — one vector lane per
//!   output column, so the order is the scalar one. For fp16 operands the fused MAC equals
//!   the model's separate multiply and add because every product is exact in f32.
//! * float with 16-bit partial sums: portable only.
//! * int: integer sums are exact in any order, so the microkernels use 16-bit pair or 8-bit quad
//!   multiply-adds into 32-bit sums, over K-chunks short enough that each chunk's exact sum
//!   fits in 32 bits; chunks and the bias are added in 64 bits so the overflow flag is exact.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod cols;
mod depthwise;
mod pack;
mod planar;
mod portable;
#[cfg(target_arch = "x86_64")]
mod rows;

use super::datapath::{Datapath, ExactProductF32, FloatRule, FusedF32, IntMac, Psum16};
use super::{ArraySpec, Bias, IntGemmOut, assert_operands};
use crate::kernel::{FloatFormat, GemmShape};
pub use depthwise::{
    TAP_PADDING, Taps, depthwise_float, depthwise_float_on, depthwise_int, depthwise_int_on,
};
pub use planar::{PlaneWindow, depthwise_float_planes, depthwise_int_planes};

use multiversion::multiversion;
use rayon::prelude::*;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// Which microkernel family computes a GEMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Scalar Rust, on any CPU: the baseline.
    Portable,
    /// AVX2 and FMA (x86-64).
    Avx2,
    /// AVX-512 F/BW/VL with VNNI (x86-64).
    Avx512,
}

impl Isa {
    /// Every microkernel family, slowest first.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2, Isa::Avx512];

    /// Whether this CPU can run the family.
    pub fn supported(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                Isa::Avx2.supported()
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The family [`gemm_int`] and [`gemm_float`] use: the one set by [`Isa::select`], else
    /// the fastest this CPU supports (detected once).
    pub fn detected() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        match SELECTED.load(Ordering::Relaxed) {
            1 => Isa::Portable,
            2 => Isa::Avx2,
            3 => Isa::Avx512,
            _ => *BEST.get_or_init(|| {
                Isa::ALL
                    .into_iter()
                    .rev()
                    .find(|isa| isa.supported())
                    .unwrap_or(Isa::Portable)
            }),
        }
    }

    /// Makes every later GEMM of the process use `isa` (`None`: the fastest again), so a
    /// benchmark can time whole runs on the portable baseline. All families give the same bits.
    ///
    /// # Panics
    /// If this CPU does not support `isa`.
    pub fn select(isa: Option<Isa>) {
        let code = match isa {
            None => 0,
            Some(isa) => {
                assert!(
                    isa.supported(),
                    "{isa:?} microkernels need CPU features this CPU lacks"
                );
                match isa {
                    Isa::Portable => 1,
                    Isa::Avx2 => 2,
                    Isa::Avx512 => 3,
                }
            }
        };
        SELECTED.store(code, Ordering::Relaxed);
    }
}

/// The family set by [`Isa::select`]: 0 none, else 1 + its index in [`Isa::ALL`].
static SELECTED: AtomicU8 = AtomicU8::new(0);

/// GEMMs with fewer MACs than this run on the calling thread.
const PARALLEL_MACS: u64 = 1 << 20;

/// Checks a call of an entry point (the family runs on this CPU, the spec is valid, the
/// buffers hold the shape) and returns the number of outputs and A and B cut to the shape.
fn checked<'x, T, B>(
    isa: Isa,
    spec: &ArraySpec,
    shape: GemmShape,
    a: &'x [T],
    b: &'x [T],
    bias: Bias<'_, B>,
) -> (usize, &'x [T], &'x [T]) {
    assert!(
        isa.supported(),
        "{isa:?} microkernels need CPU features this CPU lacks"
    );
    spec.assert_valid();
    let len = assert_operands(shape, a, b, bias);
    let GemmShape { m, k, n } = shape;
    (len, &a[..m * k], &b[..k * n])
}

/// Integer K-chunk length: `32768 · 255² < 2^31`, so a chunk's exact sum of products of
/// operands in `[-255, 255]` fits in an i32 and its wrapping sum is exact.
const INT_K_CHUNK: usize = 32768;

/// Integer GEMM `bias + A·B` (see the [module docs](super) for the semantics).
///
/// `a` is `m×k` and `b` is `k×n`, row-major; `bias` has one value per output column or row. Any
/// `m, k, n ≥ 0`; the output is `m×n`, row-major.
///
/// # Panics
/// If a buffer is shorter than the shape needs, or the spec has no rows or columns.
pub fn gemm_int(
    spec: &ArraySpec,
    shape: GemmShape,
    a: &[i16],
    b: &[i16],
    bias: Bias<'_, i32>,
) -> IntGemmOut {
    gemm_int_on(Isa::detected(), spec, shape, a, b, bias)
}

/// [`gemm_int`] on microkernel family `isa` (tests and benchmarks compare the families).
///
/// # Panics
/// As [`gemm_int`], and if this CPU does not support `isa`.
pub fn gemm_int_on(
    isa: Isa,
    spec: &ArraySpec,
    shape: GemmShape,
    a: &[i16],
    b: &[i16],
    bias: Bias<'_, i32>,
) -> IntGemmOut {
    gemm_int_with(
        isa,
        spec,
        shape,
        a,
        b,
        Prepared::default(),
        bias,
        &|_, _| {},
    )
}

/// An integer GEMM's B operand (`k×n`, row-major) prepared once for many products with
/// different A, as a layer's constant weights are by every run: its range checked and its
/// vector-microkernel packings made on first use and kept. [`gemm_int_packed`] with it gives the
/// bits of [`gemm_int`] on the same B.
pub struct PackedIntB {
    k: usize,
    n: usize,
    /// Every value within `[-255, 255]` (the vector microkernels' domain).
    in_range: bool,
    /// The 8-bit quad packing of the whole of K (`None`: a column spans too many values).
    quads: OnceLock<Option<pack::PackedQuads>>,
    /// The 16-bit pair packing of the whole of K.
    pairs: OnceLock<pack::PackedPairs>,
}

impl PackedIntB {
    /// Prepares `b` (`k×n`, row-major); the packings are made when a product first needs them.
    ///
    /// # Panics
    /// If `b` holds fewer than `k·n` values.
    pub fn new(b: &[i16], k: usize, n: usize) -> PackedIntB {
        PackedIntB {
            k,
            n,
            in_range: in_int_range(&b[..k * n]),
            quads: OnceLock::new(),
            pairs: OnceLock::new(),
        }
    }
}

/// [`gemm_int`] with B also given as prepared by [`PackedIntB::new`] from the same `b`.
///
/// # Panics
/// As [`gemm_int`], and if `packed` was made for another shape.
pub fn gemm_int_packed(
    spec: &ArraySpec,
    shape: GemmShape,
    a: &[i16],
    b: &[i16],
    packed: &PackedIntB,
    bias: Bias<'_, i32>,
) -> IntGemmOut {
    assert_eq!(
        (packed.k, packed.n),
        (shape.k, shape.n),
        "B was prepared for another shape"
    );
    let pre = Prepared {
        b: Some(packed),
        ..Prepared::default()
    };
    gemm_int_with(Isa::detected(), spec, shape, a, b, pre, bias, &|_, _| {})
}

/// An integer GEMM's A operand (`m×k`, row-major) prepared once for many products with
/// different B, as a convolution's constant weights are when the product is taken in their
/// layout: its range checked and its 8-bit encoding (rows shifted into bytes, with their sums)
/// made on first use and kept. [`gemm_int_packed_a`] with it gives the bits of [`gemm_int`]
/// on the same A.
pub struct PackedIntA {
    m: usize,
    k: usize,
    /// Every value within `[-255, 255]` (the vector microkernels' domain).
    in_range: bool,
    /// The whole of A in bytes (`None`: the values span more than a byte).
    bytes: OnceLock<Option<ABytes>>,
}

/// A for the 8-bit quad microkernel: every row as bytes `a - offset`, `k` padded to a multiple
/// of 4, with each row's sum of those bytes.
struct ABytes {
    offset: i32,
    bytes: Vec<u8>,
    sums: Vec<i32>,
}

impl PackedIntA {
    /// Prepares `a` (`m×k`, row-major); the encoding is made when a product first needs it.
    ///
    /// # Panics
    /// If `a` holds fewer than `m·k` values.
    pub fn new(a: &[i16], m: usize, k: usize) -> PackedIntA {
        PackedIntA {
            m,
            k,
            in_range: in_int_range(&a[..m * k]),
            bytes: OnceLock::new(),
        }
    }

    /// The byte encoding of `a` (the values it was prepared from), made on first use.
    fn bytes(&self, a: &[i16]) -> Option<(i32, &[u8], &[i32])> {
        let (m, k) = (self.m, self.k);
        kept(&self.bytes, || {
            let a = &a[..m * k];
            pack::unsigned_offset(a).map(|offset| {
                let (bytes, sums) = pack::unsigned_rows(a, k, 0..m, (0, k), offset);
                ABytes {
                    offset,
                    bytes,
                    sums,
                }
            })
        })
        .as_ref()
        .map(|e| (e.offset, e.bytes.as_slice(), e.sums.as_slice()))
    }
}

/// [`gemm_int`] with A also given as prepared by [`PackedIntA::new`] from the same `a`, and
/// `finish` run on each block of finished output rows where it was computed (see
/// [`RowFinish`]).
///
/// # Panics
/// As [`gemm_int`], and if `packed` was made for another shape.
pub fn gemm_int_packed_a(
    spec: &ArraySpec,
    shape: GemmShape,
    (a, packed): (&[i16], &PackedIntA),
    b: &[i16],
    bias: Bias<'_, i32>,
    finish: RowFinish<'_>,
) -> IntGemmOut {
    with_packed_a(spec, shape, (a, packed), b, None, bias, finish)
}

/// [`gemm_int_packed_a`] for a B whose every value lies within `[b_lo, b_lo + 255]`,
/// `-255 ≤ b_lo ≤ 0` (an 8-bit activation shifted by its zero point, and its zero padding):
/// B's range is not scanned, and its 8-bit packing takes one offset for all columns. Same bits
/// as [`gemm_int_packed_a`] when B keeps the promise; a B that breaks it gives wrong sums
/// (checked in debug builds).
///
/// # Panics
/// As [`gemm_int_packed_a`], and if `b_lo` is outside `[-255, 0]`.
pub fn gemm_int_packed_a_within(
    spec: &ArraySpec,
    shape: GemmShape,
    a: (&[i16], &PackedIntA),
    (b, b_lo): (&[i16], i32),
    bias: Bias<'_, i32>,
    finish: RowFinish<'_>,
) -> IntGemmOut {
    assert!(
        (-255..=0).contains(&b_lo),
        "B's lower bound {b_lo} is outside [-255, 0]"
    );
    with_packed_a(spec, shape, a, b, Some(b_lo), bias, finish)
}

/// What is done to each block of finished output rows of an integer GEMM (`bias + A·B`,
/// wrapped), on the thread that computed it while it is in cache: `finish(rows, values)`,
/// the rows' values row-major (an output unit, say). It changes no overflow flag.
pub type RowFinish<'a> = &'a (dyn Fn(std::ops::Range<usize>, &mut [i32]) + Sync);

/// The product of an A prepared by [`PackedIntA::new`] and B, B's range given or not.
fn with_packed_a(
    spec: &ArraySpec,
    shape: GemmShape,
    (a, packed): (&[i16], &PackedIntA),
    b: &[i16],
    b_lo: Option<i32>,
    bias: Bias<'_, i32>,
    finish: RowFinish<'_>,
) -> IntGemmOut {
    assert_eq!(
        (packed.m, packed.k),
        (shape.m, shape.k),
        "A was prepared for another shape"
    );
    let pre = Prepared {
        a: Some(packed),
        b: None,
        b_lo,
    };
    gemm_int_with(Isa::detected(), spec, shape, a, b, pre, bias, finish)
}

/// The operands of an integer GEMM prepared ahead of it, if any.
#[derive(Clone, Copy, Default)]
struct Prepared<'p> {
    a: Option<&'p PackedIntA>,
    b: Option<&'p PackedIntB>,
    /// Every value of B lies within `[lo, lo + 255]`, with `-255 ≤ lo ≤ 0` (known to the
    /// caller: an 8-bit activation shifted by its zero point).
    b_lo: Option<i32>,
}

/// The value in `cell`, made by `make` if there is none yet. Unlike `OnceLock::get_or_init`
/// nothing waits on a maker (packing runs on the thread pool, whose threads could otherwise
/// come back to the same cell); two threads may both make it, and the first is kept.
fn kept<T>(cell: &OnceLock<T>, make: impl FnOnce() -> T) -> &T {
    if let Some(v) = cell.get() {
        return v;
    }
    let _ = cell.set(make());
    cell.get().expect("set just now")
}

/// Whether every value lies within `[-255, 255]`.
fn in_int_range(v: &[i16]) -> bool {
    let (lo, hi) = v
        .iter()
        .fold((0i16, 0i16), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    lo >= -255 && hi <= 255
}

/// [`gemm_int_on`], reusing `pre`'s checks and encodings of A and B when given, then
/// `finish` on the output rows.
#[allow(clippy::too_many_arguments)]
fn gemm_int_with(
    isa: Isa,
    spec: &ArraySpec,
    shape: GemmShape,
    a: &[i16],
    b: &[i16],
    pre: Prepared<'_>,
    bias: Bias<'_, i32>,
    finish: RowFinish<'_>,
) -> IntGemmOut {
    let (len, a, b) = checked(isa, spec, shape, a, b, bias);
    let GemmShape { m, k, n } = shape;
    let a_in_range = pre.a.map_or_else(|| in_int_range(a), |p| p.in_range);
    let b_in_range = match (pre.b, pre.b_lo) {
        (Some(p), _) => p.in_range,
        (None, Some(lo)) => (-255..=0).contains(&lo),
        (None, None) => in_int_range(b),
    };
    let finished = |mut out: IntGemmOut| {
        finish(0..m, &mut out.acc);
        out
    };
    if isa == Isa::Portable || len == 0 || !a_in_range || !b_in_range {
        let mut exact = vec![0i64; len];
        portable::gemm(IntMac, k.max(1), (m, k, n), a, b, bias, &mut exact);
        return finished(IntGemmOut::from_exact(exact));
    }
    let mut acc = vec![0i32; len];
    if k <= INT_K_CHUNK {
        // One chunk: its sum is exact in i32; the bias is added with an overflow check.
        let overflow = AtomicBool::new(false);
        let epilogue = |rows: std::ops::Range<usize>, block: &mut [i32]| {
            let wrapped = match bias {
                Bias::Rows(b) => add_row_bias(block, n, &b[rows.clone()]),
                Bias::Columns(b) => block
                    .chunks_mut(n)
                    .fold(false, |w, row| add_wrapping_each(row, b) | w),
                Bias::None => false,
            };
            if wrapped {
                overflow.store(true, Ordering::Relaxed);
            }
            finish(rows, block);
        };
        int_chunk(isa, shape, a, b, (0, k), pre, &mut acc, &epilogue);
        return IntGemmOut {
            acc,
            overflow: overflow.into_inner(),
        };
    }
    let mut exact: Vec<i64> = bias.fill(m, n).into_iter().map(i64::from).collect();
    for k0 in (0..k).step_by(INT_K_CHUNK) {
        let ks = (k0, (k0 + INT_K_CHUNK).min(k));
        int_chunk(
            isa,
            shape,
            a,
            b,
            ks,
            Prepared::default(),
            &mut acc,
            &|_, _| {},
        );
        for (e, &c) in exact.iter_mut().zip(&acc) {
            *e += i64::from(c);
        }
    }
    finished(IntGemmOut::from_exact(exact))
}

/// Adds `bias(j)` into each `row[j]` with 32-bit wrapping; whether any sum wrapped (the
/// exact value left the i32 range, since both terms are in it).
fn add_wrapping(row: &mut [i32], bias: impl Fn(usize) -> i32) -> bool {
    // A sum wrapped when it differs in sign from both terms; the sign bits are or-ed as
    // integers, without a branch or a flag, so the loop vectorises.
    let mut signs = 0i32;
    for (j, v) in row.iter_mut().enumerate() {
        let b = bias(j);
        let sum = v.wrapping_add(b);
        signs |= (*v ^ sum) & (b ^ sum);
        *v = sum;
    }
    signs < 0
}

/// [`add_wrapping`] of one bias to every value, in the widest vectors the CPU has.
#[multiversion(targets = "simd")]
fn add_wrapping_one(row: &mut [i32], bias: i32) -> bool {
    add_wrapping(row, |_| bias)
}

/// [`add_wrapping`] of `bias[i]` to every value of row `i` of `block` (rows of `n` values),
/// in the widest vectors the CPU has; whether any sum wrapped.
#[multiversion(targets = "simd")]
fn add_row_bias(block: &mut [i32], n: usize, bias: &[i32]) -> bool {
    block
        .chunks_mut(n.max(1))
        .zip(bias)
        .fold(false, |w, (row, &b)| add_wrapping(row, |_| b) | w)
}

/// [`add_wrapping`] of `bias[j]` to each `row[j]`, in the widest vectors the CPU has.
#[multiversion(targets = "simd")]
fn add_wrapping_each(row: &mut [i32], bias: &[i32]) -> bool {
    // As long as the row, so that indexing it needs no check.
    let bias = &bias[..row.len()];
    add_wrapping(row, |j| bias[j])
}

/// `c = Σ_{k in ks} a·b` (exact, as the chunk is short) on a vector family, then
/// `epilogue` on each finished block of whole rows. `pre` (A or B prepared whole) serves the
/// encodings of a chunk that is the whole of K.
#[allow(clippy::too_many_arguments)]
fn int_chunk(
    isa: Isa,
    GemmShape { m, k, n }: GemmShape,
    a: &[i16],
    b: &[i16],
    ks: (usize, usize),
    pre: Prepared<'_>,
    c: &mut [i32],
    epilogue: &(dyn Fn(std::ops::Range<usize>, &mut [i32]) + Sync),
) {
    #[cfg(target_arch = "x86_64")]
    {
        if m < rows::FEW_ROWS {
            // The shapes were checked, and a chunk's sum fits an i32.
            rows::int((m, k, n), a, b, ks, c);
            epilogue(0..m, &mut c[..m * n]);
            return;
        }
        if n <= cols::FEW_COLUMNS {
            let bt = cols::columns(b, (k, n), ks);
            for_row_blocks(c, m, n, k, 1, |rows, block| {
                cols::int(&a[rows.start * k..rows.end * k], k, &bt, ks, block);
                epilogue(rows, block);
            });
            return;
        }
        let whole = ks == (0, k);
        let (pre_a, pre_b) = (pre.a.filter(|_| whole), pre.b.filter(|_| whole));
        let own_quads;
        let quads = match pre_b {
            _ if isa != Isa::Avx512 => None,
            Some(p) => kept(&p.quads, || pack::PackedQuads::new(b, ks, n, avx512::NR)).as_ref(),
            None => {
                own_quads = match pre.b_lo {
                    Some(lo) => Some(pack::PackedQuads::within(b, ks, n, avx512::NR, lo)),
                    None => pack::PackedQuads::new(b, ks, n, avx512::NR),
                };
                own_quads.as_ref()
            }
        };
        // A's bytes: prepared whole, or made per block of rows below.
        let a_bytes = match pre_a {
            Some(p) => p.bytes(a).map(|(off, ua, sums)| (off, Some((ua, sums)))),
            None => pack::unsigned_offset(a).map(|off| (off, None)),
        };
        if let Some(pb) = quads
            && let Some((off_a, prepared_a)) = a_bytes
        {
            let kc = (ks.1 - ks.0) as i32;
            // Σ(a'+oa)(b'+ob) = Σa'b' + ob·Σa' + oa·Σb' + k·oa·ob, modulo 2^32.
            let col_terms: Vec<i32> = (0..n)
                .map(|j| {
                    off_a
                        .wrapping_mul(pb.col_sum[j])
                        .wrapping_add(kc.wrapping_mul(off_a).wrapping_mul(pb.offset[j]))
                })
                .collect();
            let width = k.div_ceil(4) * 4;
            for_row_blocks(c, m, n, k, avx512::MR, |rows, block| {
                let own;
                let (ua, row_sums) = match prepared_a {
                    Some((ua, sums)) => (
                        &ua[rows.start * width..rows.end * width],
                        &sums[rows.clone()],
                    ),
                    None => {
                        own = pack::unsigned_rows(a, k, rows.clone(), ks, off_a);
                        (own.0.as_slice(), own.1.as_slice())
                    }
                };
                // SAFETY: Avx512 is supported (asserted by the caller); `ua` holds
                // rows·4·quads bytes, `row_sums` rows values, `block` rows·n values, and
                // `pb.offset` and `col_terms` n values; `pb` has NR-wide panels.
                unsafe {
                    avx512::quad_rows(
                        (ua, rows.len(), row_sums),
                        pb,
                        (&pb.offset, &col_terms),
                        block,
                        n,
                    )
                };
                epilogue(rows, block);
            });
            return;
        }
        // AVX-512 without an 8-bit encoding of the operands uses the 16-bit pair microkernel.
        let own_pairs;
        let pb = match pre_b {
            Some(p) => kept(&p.pairs, || pack::PackedPairs::new(b, ks, n, avx2::NR)),
            None => {
                own_pairs = pack::PackedPairs::new(b, ks, n, avx2::NR);
                &own_pairs
            }
        };
        for_row_blocks(c, m, n, k, avx2::MR, |rows, block| {
            let pa = pack::padded_rows(a, k, rows.clone(), ks, 2);
            // SAFETY: AVX2 is supported (Avx512 implies it; asserted by the caller); `pa`
            // holds rows·2·pairs values and `block` rows·n; `pb` has NR-wide panels.
            unsafe { avx2::pair_rows(&pa, rows.len(), pb, block, n) };
            epilogue(rows, block);
        });
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (isa, m, k, n, a, b, ks, pre, c, epilogue);
        unreachable!("only the portable family exists on this architecture");
    }
}

/// Floating-point GEMM `bias + A·B` with `fmt` operands (see the [module docs](super)).
///
/// Operand values must be exactly representable in `fmt`. Shapes and layout as [`gemm_int`];
/// the output accumulators are returned as f32, `m×n` row-major.
///
/// # Panics
/// If a buffer is shorter than the shape needs, or the spec has no rows or columns.
pub fn gemm_float(
    spec: &ArraySpec,
    fmt: FloatFormat,
    shape: GemmShape,
    a: &[f32],
    b: &[f32],
    bias: Bias<'_, f32>,
) -> Vec<f32> {
    gemm_float_on(Isa::detected(), spec, fmt, shape, a, b, bias)
}

/// [`gemm_float`] on microkernel family `isa` (tests and benchmarks compare the families).
/// 16-bit partial sums always use the portable microkernel.
///
/// # Panics
/// As [`gemm_float`], and if this CPU does not support `isa`.
pub fn gemm_float_on(
    isa: Isa,
    spec: &ArraySpec,
    fmt: FloatFormat,
    shape: GemmShape,
    a: &[f32],
    b: &[f32],
    bias: Bias<'_, f32>,
) -> Vec<f32> {
    gemm_float_with(isa, spec, fmt, shape, a, b, None, bias)
}

/// A float GEMM's B operand (`k×n`, row-major) prepared once for many products with
/// different A, as a layer's constant weights are by every run: its vector-microkernel packing
/// made on first use and kept. [`gemm_float_packed`] with it gives the bits of
/// [`gemm_float`] on the same B.
pub struct PackedF32B {
    k: usize,
    n: usize,
    /// The packing in the AVX-512 microkernel's panel width.
    wide: OnceLock<pack::PackedF32>,
    /// The packing in the AVX2 microkernel's panel width.
    narrow: OnceLock<pack::PackedF32>,
}

impl PackedF32B {
    /// Prepares a `k×n` B; the packing is made when a product first needs it.
    pub fn new(k: usize, n: usize) -> PackedF32B {
        PackedF32B {
            k,
            n,
            wide: OnceLock::new(),
            narrow: OnceLock::new(),
        }
    }
}

/// [`gemm_float`] with B also given as prepared by [`PackedF32B::new`] for the same `b`.
///
/// # Panics
/// As [`gemm_float`], and if `packed` was made for another shape.
pub fn gemm_float_packed(
    spec: &ArraySpec,
    fmt: FloatFormat,
    shape: GemmShape,
    a: &[f32],
    b: &[f32],
    packed: &PackedF32B,
    bias: Bias<'_, f32>,
) -> Vec<f32> {
    assert_eq!(
        (packed.k, packed.n),
        (shape.k, shape.n),
        "B was prepared for another shape"
    );
    gemm_float_with(Isa::detected(), spec, fmt, shape, a, b, Some(packed), bias)
}

/// [`gemm_float_on`], reusing `pre`'s packing of B when given.
#[allow(clippy::too_many_arguments)]
fn gemm_float_with(
    isa: Isa,
    spec: &ArraySpec,
    fmt: FloatFormat,
    shape: GemmShape,
    a: &[f32],
    b: &[f32],
    pre: Option<&PackedF32B>,
    bias: Bias<'_, f32>,
) -> Vec<f32> {
    let (len, a, b) = checked(isa, spec, shape, a, b, bias);
    let GemmShape { m, k, n } = shape;
    // A K-tile longer than k is all of k; capping it keeps k_tile·n within the checked k·n.
    let k_tile = spec.k_tile(k).min(k.max(1));
    let rule = FloatRule::new(fmt, spec.psum);
    let dims = (m, k, n);
    let mut out = match (rule, fmt, isa) {
        (FloatRule::Psum16(half), _, _) => portable_float(Psum16(half), k_tile, dims, a, b, bias),
        // fp16 products are exact in f32, so a separate multiply and add is the fused MAC.
        (FloatRule::Fused, FloatFormat::Fp16, Isa::Portable) => {
            portable_float(ExactProductF32, k_tile, dims, a, b, bias)
        }
        (FloatRule::Fused, _, Isa::Portable) => portable_float(FusedF32, k_tile, dims, a, b, bias),
        (FloatRule::Fused, _, _) => {
            debug_assert_eq!(len, m * n);
            let mut out = bias.fill(m, n);
            fused_vector(isa, k_tile, dims, a, b, pre, &mut out);
            out
        }
    };
    if spec.pads_last_k_tile(k) {
        unsign_zeros(&mut out);
    }
    out
}

/// The PE rows below a short last K-tile add `0·0` to its partial sums, which turns a −0
/// partial sum into +0 and changes nothing else. The microkernels skip those rows; this restores
/// their one effect. An output is −0 after the last merge (`acc + s`, or its 16-bit rounding)
/// only if both `acc` and `s` were −0, and then the array's `acc + (+0)` gives +0.
pub(crate) fn unsign_zeros(out: &mut [f32]) {
    for v in out.iter_mut().filter(|v| **v == 0.0) {
        *v = 0.0;
    }
}

fn portable_float<D: Datapath<Operand = f32, Bias = f32, Sum = f32>>(
    d: D,
    k_tile: usize,
    dims: (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    bias: Bias<'_, f32>,
) -> Vec<f32> {
    let mut out = vec![d.zero(); dims.0 * dims.2];
    portable::gemm(d, k_tile, dims, a, b, bias, &mut out);
    out
}

/// Adds `A·B`'s K-tile sums into `out` (holding the start values) on a vector family,
/// with `pre`'s packing of B when given.
fn fused_vector(
    isa: Isa,
    k_tile: usize,
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    pre: Option<&PackedF32B>,
    out: &mut [f32],
) {
    if m == 0 || n == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if m < rows::FEW_ROWS {
            rows::float(k_tile, (m, k, n), a, b, out);
            return;
        }
        let (nr, mr) = match isa {
            Isa::Avx512 => (avx512::NR, avx512::MR),
            _ => (avx2::NR, avx2::MR),
        };
        let own;
        let pb = match pre {
            Some(p) => {
                let cell = if isa == Isa::Avx512 {
                    &p.wide
                } else {
                    &p.narrow
                };
                kept(cell, || pack::PackedF32::new(b, k, n, nr))
            }
            None => {
                own = pack::PackedF32::new(b, k, n, nr);
                &own
            }
        };
        for_row_blocks(out, m, n, k, mr, |rows, block| {
            let ra = &a[rows.start * k..rows.end * k];
            // SAFETY: the family is supported (asserted by the caller); `ra` holds rows·k
            // values, `block` rows·n, `pb` packs k×n in nr-wide panels, and k_tile ≥ 1.
            unsafe {
                match isa {
                    Isa::Avx512 => avx512::f32_rows(ra, k, rows.len(), pb, k_tile, block, n),
                    _ => avx2::f32_rows(ra, k, rows.len(), pb, k_tile, block, n),
                }
            }
        });
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (isa, k_tile, k, a, b, pre);
        unreachable!("only the portable family exists on this architecture");
    }
}

/// Runs `f(rows, block)` over blocks of whole output rows of `c` (`m×n`), in parallel when
/// the GEMM is large; each block is a disjoint slice, so the result does not depend on the
/// number of threads. Blocks are multiples of `mr` rows.
fn for_row_blocks<T: Send>(
    c: &mut [T],
    m: usize,
    n: usize,
    k: usize,
    mr: usize,
    f: impl Fn(std::ops::Range<usize>, &mut [T]) + Sync,
) {
    let macs = m as u64 * k as u64 * n as u64;
    let threads = rayon::current_num_threads();
    if macs < PARALLEL_MACS || threads == 1 || m <= mr {
        f(0..m, &mut c[..m * n]);
        return;
    }
    // About four blocks per thread for balance, at most 96 rows to keep A's K-tile cached.
    let rows = m.div_ceil(4 * threads).div_ceil(mr).clamp(1, 96 / mr) * mr;
    c[..m * n]
        .par_chunks_mut(rows * n)
        .enumerate()
        .for_each(|(i, block)| {
            let r0 = i * rows;
            f(r0..r0 + block.len() / n, block);
        });
}
