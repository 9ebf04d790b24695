//! `Tensor`: typed n-dimensional storage shared by every layer, and its file formats.

mod constant;
pub mod convert;
mod dtype;
pub mod npy;
pub mod ops;
pub mod pb;
pub mod permute;
mod random;

pub use constant::{Constant, Generator};
pub use dtype::DType;

use crate::error::{Error, Result};
use half::{bf16, f16};
use ndarray::{ArrayD, IxDyn};

/// A dense tensor of one of the supported element types.
#[derive(Debug, Clone, PartialEq)]
pub enum Tensor {
    /// 32-bit float.
    F32(ArrayD<f32>),
    /// IEEE half precision.
    F16(ArrayD<f16>),
    /// bfloat16.
    BF16(ArrayD<bf16>),
    /// Signed 8-bit integer.
    I8(ArrayD<i8>),
    /// Unsigned 8-bit integer.
    U8(ArrayD<u8>),
    /// Signed 32-bit integer.
    I32(ArrayD<i32>),
    /// Signed 64-bit integer.
    I64(ArrayD<i64>),
    /// Boolean.
    Bool(ArrayD<bool>),
}

/// Applies the same expression to the array inside any variant.
#[macro_export]
macro_rules! map_tensor {
    ($t:expr, $a:ident => $e:expr) => {
        match $t {
            $crate::tensor::Tensor::F32($a) => $e,
            $crate::tensor::Tensor::F16($a) => $e,
            $crate::tensor::Tensor::BF16($a) => $e,
            $crate::tensor::Tensor::I8($a) => $e,
            $crate::tensor::Tensor::U8($a) => $e,
            $crate::tensor::Tensor::I32($a) => $e,
            $crate::tensor::Tensor::I64($a) => $e,
            $crate::tensor::Tensor::Bool($a) => $e,
        }
    };
}

/// Like [`map_tensor!`], but rebuilds a tensor of the same variant from the expression.
#[macro_export]
macro_rules! map_tensor_same {
    ($t:expr, $a:ident => $e:expr) => {
        match $t {
            $crate::tensor::Tensor::F32($a) => $crate::tensor::Tensor::F32($e),
            $crate::tensor::Tensor::F16($a) => $crate::tensor::Tensor::F16($e),
            $crate::tensor::Tensor::BF16($a) => $crate::tensor::Tensor::BF16($e),
            $crate::tensor::Tensor::I8($a) => $crate::tensor::Tensor::I8($e),
            $crate::tensor::Tensor::U8($a) => $crate::tensor::Tensor::U8($e),
            $crate::tensor::Tensor::I32($a) => $crate::tensor::Tensor::I32($e),
            $crate::tensor::Tensor::I64($a) => $crate::tensor::Tensor::I64($e),
            $crate::tensor::Tensor::Bool($a) => $crate::tensor::Tensor::Bool($e),
        }
    };
}

impl Tensor {
    /// Whether `other` holds the same bits: same type, shape and element encodings (so a NaN
    /// equals the same NaN and −0 differs from +0, unlike `==`).
    pub fn bit_identical(&self, other: &Tensor) -> bool {
        fn bits<T, B: PartialEq>(a: &ArrayD<T>, b: &ArrayD<T>, f: impl Fn(&T) -> B) -> bool {
            a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(x, y)| f(x) == f(y))
        }
        match (self, other) {
            (Tensor::F32(a), Tensor::F32(b)) => bits(a, b, |x| x.to_bits()),
            (Tensor::F16(a), Tensor::F16(b)) => bits(a, b, |x| x.to_bits()),
            (Tensor::BF16(a), Tensor::BF16(b)) => bits(a, b, |x| x.to_bits()),
            _ => self == other,
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Tensor::F32(_) => DType::F32,
            Tensor::F16(_) => DType::F16,
            Tensor::BF16(_) => DType::BF16,
            Tensor::I8(_) => DType::I8,
            Tensor::U8(_) => DType::U8,
            Tensor::I32(_) => DType::I32,
            Tensor::I64(_) => DType::I64,
            Tensor::Bool(_) => DType::Bool,
        }
    }

    /// The dimensions.
    pub fn shape(&self) -> &[usize] {
        map_tensor!(self, a => a.shape())
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        map_tensor!(self, a => a.len())
    }

    /// True when the tensor holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A zero-filled tensor.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Tensor {
        let s = IxDyn(shape);
        match dtype {
            DType::F32 => Tensor::F32(ArrayD::zeros(s)),
            DType::F16 => Tensor::F16(ArrayD::from_elem(s, f16::ZERO)),
            DType::BF16 => Tensor::BF16(ArrayD::from_elem(s, bf16::ZERO)),
            DType::I8 => Tensor::I8(ArrayD::zeros(s)),
            DType::U8 => Tensor::U8(ArrayD::zeros(s)),
            DType::I32 => Tensor::I32(ArrayD::zeros(s)),
            DType::I64 => Tensor::I64(ArrayD::zeros(s)),
            DType::Bool => Tensor::Bool(ArrayD::from_elem(s, false)),
        }
    }

    /// The same data with another shape of equal element count.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        if shape.iter().product::<usize>() != self.len() {
            return Err(Error::Shape(format!(
                "cannot reshape {:?} to {:?}",
                self.shape(),
                shape
            )));
        }
        Ok(map_tensor_same!(self, a => {
            ArrayD::from_shape_vec(IxDyn(shape), convert::row_major(a))
                .expect("element count checked")
        }))
    }

    /// Every element converted to f32 (exact for all types but large i32/i64).
    pub fn to_f32(&self) -> ArrayD<f32> {
        match self {
            Tensor::F32(a) => a.clone(),
            Tensor::F16(a) => convert::f16_to_f32(a),
            Tensor::BF16(a) => convert::bf16_to_f32(a),
            Tensor::I8(a) => a.mapv(f32::from),
            Tensor::U8(a) => a.mapv(f32::from),
            Tensor::I32(a) => a.mapv(|v| v as f32),
            Tensor::I64(a) => a.mapv(|v| v as f32),
            Tensor::Bool(a) => a.mapv(|v| if v { 1.0 } else { 0.0 }),
        }
    }

    /// Every element as f32, in row-major order: borrowed from a contiguous f32 tensor, else
    /// converted.
    pub fn f32_values(&self) -> std::borrow::Cow<'_, [f32]> {
        match self {
            Tensor::F32(a) => convert::as_row_major(a),
            t => std::borrow::Cow::Owned(t.to_f32_vec()),
        }
    }

    /// Every element converted to f32, in row-major order.
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match self {
            Tensor::F32(a) => convert::row_major(a),
            t => convert::into_row_major(t.to_f32()),
        }
    }

    /// Every element converted to f64 (exact for all types but large i64).
    pub fn to_f64(&self) -> ArrayD<f64> {
        match self {
            Tensor::F32(a) => a.mapv(f64::from),
            Tensor::F16(a) => a.mapv(f64::from),
            Tensor::BF16(a) => a.mapv(f64::from),
            Tensor::I8(a) => a.mapv(f64::from),
            Tensor::U8(a) => a.mapv(f64::from),
            Tensor::I32(a) => a.mapv(f64::from),
            Tensor::I64(a) => a.mapv(|v| v as f64),
            Tensor::Bool(a) => a.mapv(|v| if v { 1.0 } else { 0.0 }),
        }
    }

    /// Every element of an integer or bool tensor as i64; an error for floats.
    pub fn to_i64(&self) -> Result<ArrayD<i64>> {
        Ok(match self {
            Tensor::I8(a) => convert::map(a, i64::from),
            Tensor::U8(a) => convert::map(a, i64::from),
            Tensor::I32(a) => convert::map(a, i64::from),
            Tensor::I64(a) => a.clone(),
            Tensor::Bool(a) => convert::map(a, i64::from),
            t => {
                return Err(Error::DType(format!(
                    "expected an integer tensor, got {}",
                    t.dtype()
                )));
            }
        })
    }

    /// The elements of an integer tensor as a flat `Vec<i64>` (shape tensors, axes, pads).
    pub fn to_i64_vec(&self) -> Result<Vec<i64>> {
        // Straight from the typed elements: a contiguous tensor is read as a slice (ndarray's
        // element iterator over a dynamic shape is far slower).
        macro_rules! flat {
            ($a:expr) => {
                match $a.as_slice() {
                    Some(s) => s.iter().map(|&v| i64::from(v)).collect(),
                    None => $a.iter().map(|&v| i64::from(v)).collect(),
                }
            };
        }
        Ok(match self {
            Tensor::I8(a) => flat!(a),
            Tensor::U8(a) => flat!(a),
            Tensor::I32(a) => flat!(a),
            Tensor::I64(a) => flat!(a),
            Tensor::Bool(a) => flat!(a),
            t => {
                return Err(Error::DType(format!(
                    "expected an integer tensor, got {}",
                    t.dtype()
                )));
            }
        })
    }

    /// The f32 array inside, or an error naming the actual type.
    pub fn as_f32(&self) -> Result<&ArrayD<f32>> {
        match self {
            Tensor::F32(a) => Ok(a),
            t => Err(Error::DType(format!("expected float32, got {}", t.dtype()))),
        }
    }

    /// Converts to another element type with ONNX `Cast` semantics
    /// (float→int truncates toward zero; float→fp16/bf16 rounds to nearest even).
    pub fn cast(&self, to: DType) -> Tensor {
        if self.dtype() == to {
            return self.clone();
        }
        use convert::map;
        /// An integer source through i64, so that large values keep their bits.
        fn from_ints<A: Copy + Into<i64>>(a: &ArrayD<A>, to: DType) -> Tensor {
            let wide = |x: A| -> i64 { x.into() };
            match to {
                DType::F32 => Tensor::F32(map(a, |x| wide(x) as f32)),
                DType::F16 => Tensor::F16(map(a, |x| f16::from_f32(wide(x) as f32))),
                DType::BF16 => Tensor::BF16(map(a, |x| bf16::from_f32(wide(x) as f32))),
                DType::I8 => Tensor::I8(map(a, |x| wide(x) as i8)),
                DType::U8 => Tensor::U8(map(a, |x| wide(x) as u8)),
                DType::I32 => Tensor::I32(map(a, |x| wide(x) as i32)),
                DType::I64 => Tensor::I64(map(a, wide)),
                DType::Bool => Tensor::Bool(map(a, |x| wide(x) != 0)),
            }
        }
        match self {
            Tensor::I8(a) => return from_ints(a, to),
            Tensor::U8(a) => return from_ints(a, to),
            Tensor::I32(a) => return from_ints(a, to),
            Tensor::I64(a) => return from_ints(a, to),
            Tensor::Bool(a) => return from_ints(a, to),
            Tensor::F32(_) | Tensor::F16(_) | Tensor::BF16(_) => {}
        }
        let v = self.to_f32();
        match to {
            DType::F32 => Tensor::F32(v),
            DType::F16 => Tensor::F16(convert::f32_to_f16(&v)),
            DType::BF16 => Tensor::BF16(convert::f32_to_bf16(&v)),
            DType::I8 => Tensor::I8(map(&v, |x| x as i8)),
            DType::U8 => Tensor::U8(map(&v, |x| x as u8)),
            DType::I32 => Tensor::I32(map(&v, |x| x as i32)),
            DType::I64 => Tensor::I64(map(&v, |x| x as i64)),
            DType::Bool => Tensor::Bool(map(&v, |x| x != 0.0)),
        }
    }

    /// Builds an f32 tensor of `dtype` (rounding to fp16/bf16, saturating-casting to integers).
    pub fn from_f32(a: ArrayD<f32>, dtype: DType) -> Tensor {
        match dtype {
            DType::F32 => Tensor::F32(a),
            _ => Tensor::F32(a).cast(dtype),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(v: &[f32]) -> Tensor {
        Tensor::F32(ArrayD::from_shape_vec(IxDyn(&[v.len()]), v.to_vec()).expect("a vector"))
    }

    #[test]
    fn bit_identity_tells_nans_alike_and_zeros_apart() {
        let nan = f32::NAN;
        assert!(f32s(&[nan, 1.0]).bit_identical(&f32s(&[nan, 1.0])));
        assert_ne!(
            f32s(&[nan]),
            f32s(&[nan]),
            "== says a NaN differs from itself"
        );
        assert!(!f32s(&[-0.0]).bit_identical(&f32s(&[0.0])));
        assert_eq!(f32s(&[-0.0]), f32s(&[0.0]), "== says −0 equals +0");
        assert!(!f32s(&[1.0, 2.0]).bit_identical(&f32s(&[1.0])));
        let half = |x: f32| Tensor::F32(ArrayD::from_elem(IxDyn(&[2]), x)).cast(DType::F16);
        assert!(!half(-0.0).bit_identical(&half(0.0)));
        assert!(!half(1.0).bit_identical(&f32s(&[1.0, 1.0])), "types differ");
    }
}
