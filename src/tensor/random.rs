//! Seeded pseudo-random tensors: reproducible inputs for models run without data.

use super::{DType, Tensor};
use rand::{RngExt, SeedableRng};

impl Tensor {
    /// A tensor of `dtype` and `shape` from a ChaCha8 stream seeded with `seed`: uniform in
    /// [0, 1) for floats, uniform codes for 8-bit integers, small integers otherwise.
    pub fn seeded(dtype: DType, shape: &[usize], seed: u64) -> Tensor {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let n: usize = shape.iter().product();
        let vals: Vec<f32> = (0..n)
            .map(|_| match dtype {
                DType::U8 => f32::from(rng.random_range(0..=255u8)),
                DType::I8 => f32::from(rng.random_range(-128..=127i8)),
                DType::I32 | DType::I64 => f32::from(rng.random_range(-1000..=1000i16)),
                DType::Bool => f32::from(u8::from(rng.random::<bool>())),
                _ => rng.random::<f32>(),
            })
            .collect();
        let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), vals)
            .expect("n elements for shape");
        Tensor::from_f32(a, dtype)
    }
}
