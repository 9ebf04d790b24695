//! erf of f32 values, bit for bit `libm::erf(f64::from(x)) as f32` (libm 0.2.16, FreeBSD's
//! `s_erf.c` and `e_exp.c`), in loops the compiler vectorises.
//!
//! libm splits |x| into pieces: below 2⁻²⁸, below 0.84375, below 1.25, below 1/0.35, below 6,
//! above. A block of values is evaluated in two vector passes: every value through the cheap
//! pieces (below 1.25, from 6 on, NaN), then the values in [1.25, 6), gathered by a bit mask,
//! through the two pieces that take two `exp`s, and scattered back. Within a pass, each lane
//! computes each of its pass's pieces and keeps the one libm's branches would take.
//!
//! Each piece performs libm's IEEE operations in libm's order (Rust never contracts `a*b + c`
//! into a fused multiply-add), so it gives libm's f64 and so, rounded, libm's f32. Two
//! rewritings are exact rather than literal:
//!
//! * two pieces whose rational functions have the same shape share one evaluation, their
//!   coefficients chosen per lane and the shorter polynomial padded with zero coefficients
//!   at its high end: `c + t·0` is `c` for finite `t`, so Horner's steps give the same
//!   values;
//! * libm's `exp` takes its reduction branches per lane by selects as well, and its final
//!   `scalbn(y, k)` is `y·2ᵏ`, exact because erf's arguments to it lie in [−36.6, −0.02],
//!   where the result is a normal number.
//!
//! libm's branch tests on the high 32 bits of an f64 are comparisons of |x| with the f64
//! whose high word is the threshold (`h ≥ H` is `|x| ≥ H·2³²` on the bits, and IEEE order is
//! the order of the bits of non-negative values). `examples/erf_exhaustive.rs` checks all 2³²
//! inputs against libm.

// libm's constants are copied as its source spells them (21 significant digits, each the
// same f64 as its hexadecimal comment there), to be checked against it by eye.
#![allow(clippy::excessive_precision)]

use multiversion::multiversion;

/// The f64 whose high word is `h` and low word 0.
const fn high(h: u64) -> f64 {
    f64::from_bits(h << 32)
}

const ERX: f64 = 8.45062911510467529297e-01;
const EFX8: f64 = 1.02703333676410069053e+00;

// erf on [0, 0.84375] in z = x² (PP, QQ), and erf − ERX on [0.84375, 1.25] in s = |x| − 1
// (PA, QA): numerators padded to 7 coefficients, denominators (after the leading 1) to 6.
const PP: [f64; 7] = [
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
    0.0,
    0.0,
];
const QQ: [f64; 6] = [
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
    0.0,
];
const PA: [f64; 7] = [
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
];
const QA: [f64; 6] = [
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
];

// erfc on [1.25, 1/0.35] (RA, SA) and on [1/0.35, 28] (RB, SB) in s = 1/x²: numerators
// padded to 8 coefficients, denominators (after the leading 1) to 8.
const RA: [f64; 8] = [
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e+01,
    -6.23753324503260060396e+01,
    -1.62396669462573470355e+02,
    -1.84605092906711035994e+02,
    -8.12874355063065934246e+01,
    -9.81432934416914548592e+00,
];
const SA: [f64; 8] = [
    1.96512716674392571292e+01,
    1.37657754143519042600e+02,
    4.34565877475229228821e+02,
    6.45387271733267880336e+02,
    4.29008140027567833386e+02,
    1.08635005541779435134e+02,
    6.57024977031928170135e+00,
    -6.04244152148580987438e-02,
];
const RB: [f64; 8] = [
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e+01,
    -1.60636384855821916062e+02,
    -6.37566443368389627722e+02,
    -1.02509513161107724954e+03,
    -4.83519191608651397019e+02,
    0.0,
];
const SB: [f64; 8] = [
    3.03380607434824582924e+01,
    3.25792512996573918826e+02,
    1.53672958608443695994e+03,
    3.19985821950859553908e+03,
    2.55305040643316442583e+03,
    4.74528541206955367215e+02,
    -2.24409524465858183362e+01,
    0.0,
];

/// `c[0] + t·(c[1] + t·(… + t·c[n−1]))`, each coefficient `a[i]` where `pick_a`, else `b[i]`.
#[inline(always)]
fn horner<const N: usize>(t: f64, pick_a: bool, a: &[f64; N], b: &[f64; N]) -> f64 {
    let c = |i: usize| if pick_a { a[i] } else { b[i] };
    (0..N - 1).rev().fold(c(N - 1), |acc, i| c(i) + t * acc)
}

/// `1 + t·(c[0] + t·(… + t·c[n−1]))`, coefficients chosen as in [`horner`].
#[inline(always)]
fn one_plus<const N: usize>(t: f64, pick_a: bool, a: &[f64; N], b: &[f64; N]) -> f64 {
    1.0 + t * horner(t, pick_a, a, b)
}

const LN2HI: f64 = 6.93147180369123816490e-01;
const LN2LO: f64 = 1.90821492927058770002e-10;
/// libm's `INVLN2`, 1.44269504088896338700 (0x3ff71547_652b82fe): the same f64.
const INVLN2: f64 = std::f64::consts::LOG2_E;
const P1: f64 = 1.66666666666666019037e-01;
const P2: f64 = -2.77777777770155933842e-03;
const P3: f64 = 6.61375632143793436117e-05;
const P4: f64 = -1.65339022054652515390e-06;
const P5: f64 = 4.13813679705723846039e-08;

/// libm's `exp(v)` for `v` in (−708, 708), branch-free (other arguments give a meaningless
/// value, not a panic). erf's arguments lie in [−36.6, −0.02].
#[inline(always)]
fn exp(v: f64) -> f64 {
    let a = v.abs();
    let neg = v.is_sign_negative();
    // hx ≥ 0x3ff0a2b2 (|v| ≥ 1.5·ln 2): k rounded from v/ln 2; hx > 0x3fd62e42 (|v| > ln 2 / 2):
    // k = ±1; hx > 0x3e300000 (|v| > 2⁻²⁸): k = 0; below, the result is 1 + v.
    let rounded = (INVLN2 * v + if neg { -0.5 } else { 0.5 }).trunc();
    let one = if neg { -1.0 } else { 1.0 };
    let k = if a >= high(0x3ff0_a2b2) {
        rounded
    } else if a >= high(0x3fd6_2e43) {
        one
    } else {
        0.0
    };
    // With k = 0, hi = v − 0 = v and lo = 0 as libm sets them.
    let hi = v - k * LN2HI;
    let lo = k * LN2LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
    let y = 1. + (r * c / (2. - c) - lo + hi);
    // 2ᵏ: k + 1023 + 2⁵² holds k + 1023 in its low mantissa bits, moved to the exponent.
    let two_k = f64::from_bits((k + (1023.0 + 4_503_599_627_370_496.0)).to_bits() << 52);
    if a >= high(0x3e30_0001) {
        y * two_k
    } else {
        1. + v
    }
}

/// erf of `x` where |x| < 1.25, |x| ≥ 6 or `x` is NaN (meaningless in between).
#[inline(always)]
fn outside_tail(x: f32) -> f32 {
    let x = f64::from(x);
    let a = x.abs();
    // |x| < 0.84375: x + x·P(z)/Q(z), z = x²; |x| < 1.25: 1 − (1 − ERX − P(s)/Q(s)), s = |x| − 1.
    let small = a < high(0x3feb_0000);
    let t = if small { x * x } else { a - 1.0 };
    let ratio = horner(t, small, &PP, &PA) / one_plus(t, small, &QQ, &QA);
    let below_084 = if a < high(0x3e30_0000) {
        0.125 * (8.0 * x + EFX8 * x)
    } else {
        x + x * ratio
    };
    let magnitude = if a < high(0x3ff4_0000) {
        1.0 - (1.0 - ERX - ratio)
    } else {
        1.0 - f64::from_bits(0x0010_0000_0000_0000)
    };
    let y = if small {
        below_084
    } else if x.is_nan() {
        // libm's 1 − 2·sign + 1/x: the NaN itself, quieted.
        x + x
    } else if x.is_sign_negative() {
        -magnitude
    } else {
        magnitude
    };
    y as f32
}

/// Whether erf of `x` takes the pieces with `exp`: 1.25 ≤ |x| < 6.
#[inline(always)]
fn in_tail(x: f32) -> bool {
    (1.25..6.0).contains(&x.abs())
}

/// erf of `x` where 1.25 ≤ |x| < 6: 1 − exp(−z² − 0.5625)·exp((z − |x|)(z + |x|) + R(s)/S(s))/|x|,
/// s = 1/x², z = |x| with its low word cleared, R and S those of [1.25, 1/0.35] or of
/// [1/0.35, 6].
#[inline(always)]
fn tail(x: f32) -> f32 {
    let x = f64::from(x);
    let a = x.abs();
    let near = a < high(0x4006_db6d);
    let s = 1.0 / (a * a);
    let rs = horner(s, near, &RA, &RB) / one_plus(s, near, &SA, &SB);
    let z = f64::from_bits(a.to_bits() & 0xffff_ffff_0000_0000);
    let y = 1.0 - exp(-z * z - 0.5625) * exp((z - a) * (z + a) + rs) / a;
    (if x.is_sign_negative() { -y } else { y }) as f32
}

/// Bit `i`: whether `x[i]` is in the tail.
#[inline(always)]
fn tail_mask(x: &[f32; 64]) -> u64 {
    x.iter()
        .enumerate()
        .fold(0, |m, (i, &v)| m | u64::from(in_tail(v)) << i)
}

/// Values evaluated as one block (indices fit a u16).
const BLOCK: usize = 512;

/// `dst[i] = erf(src[i])` (the slices of equal length), in the widest vectors the CPU has.
#[multiversion(targets = "simd")]
pub fn erf_into(src: &[f32], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "one result per value");
    let (mut xs, mut at, mut ys) = ([0f32; BLOCK], [0u16; BLOCK], [0f32; BLOCK]);
    for (src, dst) in src.chunks(BLOCK).zip(dst.chunks_mut(BLOCK)) {
        for (d, &x) in dst.iter_mut().zip(src) {
            *d = outside_tail(x);
        }
        // Gather the tail's values: by the bits of a mask per 64, then one by one.
        let mut n = 0;
        let words = src.chunks_exact(64);
        let rest = words.remainder();
        for (w, word) in words.enumerate() {
            let mut m = tail_mask(word.try_into().expect("64 values"));
            while m != 0 {
                let i = w * 64 + m.trailing_zeros() as usize;
                (xs[n], at[n]) = (src[i], i as u16);
                n += 1;
                m &= m - 1;
            }
        }
        let base = src.len() - rest.len();
        for (i, &x) in rest.iter().enumerate() {
            (xs[n], at[n]) = (x, (base + i) as u16);
            n += usize::from(in_tail(x));
        }
        for (y, &x) in ys[..n].iter_mut().zip(&xs[..n]) {
            *y = tail(x);
        }
        for (&i, &y) in at[..n].iter().zip(&ys[..n]) {
            dst[usize::from(i)] = y;
        }
    }
}

/// erf of one value (as [`erf_into`]).
pub fn erf(x: f32) -> f32 {
    let mut y = [0.0];
    erf_into(&[x], &mut y);
    y[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// Compares `erf_into` with libm over `xs`; NaN matches NaN only where libm gives NaN.
    fn check(xs: &[f32]) {
        let mut got = vec![0f32; xs.len()];
        erf_into(xs, &mut got);
        for (&x, &g) in xs.iter().zip(&got) {
            let want = libm::erf(f64::from(x)) as f32;
            assert!(
                g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan()),
                "erf({x:e} = {:#010x}): {g:e} against libm's {want:e}",
                x.to_bits()
            );
        }
    }

    /// Every f32 within 2¹⁶ ulp of each boundary of libm's pieces (and of exp's inside
    /// them), of both signs, plus the specials.
    #[test]
    fn dense_around_the_boundaries() {
        let centres = [
            0.0f32,
            f32::MIN_POSITIVE,
            2f32.powi(-28),
            0.84375,
            1.0,
            1.25,
            high(0x4006_db6d) as f32,
            6.0,
            f32::INFINITY,
        ];
        let mut xs = Vec::new();
        for c in centres {
            let b = c.to_bits();
            for d in 0..=1u32 << 16 {
                for bits in [b.saturating_sub(d), b.saturating_add(d)] {
                    xs.extend([f32::from_bits(bits), -f32::from_bits(bits)]);
                }
            }
        }
        xs.extend([f32::NAN, -f32::NAN, f32::from_bits(0x7f80_0001), f32::MAX]);
        check(&xs);
    }

    /// Random bit patterns (any exponent) and random values where erf is not ±1.
    #[test]
    fn random_inputs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0xe4f);
        let bits: Vec<f32> = (0..1 << 21).map(|_| f32::from_bits(rng.random())).collect();
        check(&bits);
        let values: Vec<f32> = (0..1 << 21)
            .map(|_| rng.random_range(-6.5f32..6.5))
            .collect();
        check(&values);
    }

    /// Slices of every length around the 64-value masks and the blocks, tail values at
    /// both ends and in between.
    #[test]
    fn lengths_and_block_edges() {
        let v: Vec<f32> = (0..1100).map(|i| (i % 13) as f32 * 0.55 - 3.3).collect();
        for len in [
            0, 1, 2, 63, 64, 65, 127, 511, 512, 513, 575, 576, 1024, 1100,
        ] {
            check(&v[..len]);
            check(&v[v.len() - len..]);
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(erf(0.5), 0.520_499_9);
        assert_eq!(erf(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!((erf(f32::INFINITY), erf(f32::NEG_INFINITY)), (1.0, -1.0));
        assert!(erf(f32::NAN).is_nan());
    }
}
