//! Seeded synthetic weights: normal values from a ChaCha8 stream per weight, made in
//! parallel chunks, the same on every machine and thread count.

use crate::tensor::{Constant, DType, Tensor};
use ndarray::{ArrayD, IxDyn};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Values drawn from one generator position onwards: a chunk's stream never reaches the
/// next chunk's (a normal takes a few words, a chunk holds `CHUNK` of them).
const CHUNK: usize = 1 << 16;
/// Word distance between two chunks' starting positions.
const CHUNK_WORDS: u128 = 1 << 32;

/// One float32 weight tensor: standard normal values times `scale`, from stream `stream`
/// of the model's `seed`.
#[derive(Debug, Clone)]
pub(super) struct Synthetic {
    /// The initializer's name.
    pub name: String,
    /// Its dimensions.
    pub shape: Vec<usize>,
    /// Standard deviation.
    pub scale: f32,
    /// The model's seed.
    pub seed: u64,
    /// The weight's stream (its position among the model's synthetic weights).
    pub stream: u64,
}

impl Synthetic {
    /// The values.
    pub fn tensor(&self) -> Tensor {
        let n: usize = self.shape.iter().product();
        let mut values = vec![0f32; n];
        values
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
                rng.set_stream(self.stream);
                rng.set_word_pos(c as u128 * CHUNK_WORDS);
                for v in chunk {
                    let x: f32 = StandardNormal.sample(&mut rng);
                    *v = x * self.scale;
                }
            });
        let a = ArrayD::from_shape_vec(IxDyn(&self.shape), values).expect("n values");
        Tensor::F32(a)
    }

    /// A constant whose values are made when first read.
    pub fn constant(&self) -> Constant {
        let me = self.clone();
        Constant::generated(DType::F32, &self.shape, Box::new(move || me.tensor()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weight(shape: &[usize], scale: f32, stream: u64) -> Synthetic {
        Synthetic {
            name: "w".into(),
            shape: shape.to_vec(),
            scale,
            seed: 7,
            stream,
        }
    }

    #[test]
    fn values_are_normal_with_the_given_scale_and_differ_between_streams() {
        // 3·2^16 + 5 values: several chunks, the last one short.
        let n = 3 * CHUNK + 5;
        let a = weight(&[n], 0.5, 0).tensor().to_f32();
        let b = weight(&[n], 0.5, 1).tensor().to_f32();
        let mean = a.iter().sum::<f32>() / n as f32;
        let var = a.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n as f32;
        // The sample mean of n normals of σ = 0.5 is within 5σ/√n of 0.
        assert!(mean.abs() < 5.0 * 0.5 / (n as f32).sqrt(), "mean {mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.01, "std {}", var.sqrt());
        assert_ne!(a, b, "streams give different values");
        // Chunks start at different positions: no chunk repeats the first one.
        let first = a.as_slice().expect("contiguous");
        assert_ne!(&first[..64], &first[CHUNK..CHUNK + 64]);
    }

    #[test]
    fn values_do_not_depend_on_the_thread_count() {
        let w = weight(&[2, CHUNK + 3], 1.0, 4);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("a pool");
        let one = pool.install(|| w.tensor());
        assert_eq!(one, w.tensor());
        assert_eq!(
            w.constant().tensor(),
            &one,
            "the lazy constant makes the same"
        );
    }
}
