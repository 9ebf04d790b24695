//! [`Constant`]: a shared constant tensor whose values are decoded from the model file's
//! bytes (or generated, for synthetic weights) the first time they are read.
//!
//! A model's weights are most of its file, and many uses of a model never read them:
//! lowering and the timing model need only their types and shapes. A constant therefore
//! keeps its little-endian bytes (a zero-copy slice of the file), or the function that
//! makes its values, next to its type and shape, and decodes them once, when something asks
//! for the values. Everything that can be wrong
//! with the bytes is checked when the constant is made, so decoding later cannot fail and
//! the values are those an eager decode gives. Clones share the constant (and its decoded
//! values), so copying a graph does not copy its weights.

use super::pb::{check_le_bytes, tensor_from_le_bytes};
use super::{DType, Tensor};
use bytes::Bytes;
use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// A constant tensor, shared by its clones, decoded at most once (on first read).
#[derive(Clone)]
pub struct Constant(Arc<Inner>);

struct Inner {
    dtype: DType,
    shape: Vec<usize>,
    value: OnceLock<Tensor>,
    /// Where the values come from when they are first read.
    source: Source,
    /// Values derived from these (see [`Constant::derived`]), with their keys.
    derived: Mutex<Vec<Derived>>,
}

/// The origin of a constant's values that are not decoded yet.
enum Source {
    /// Little-endian element bytes, their length checked against the shape.
    Encoded(Bytes),
    /// A function that makes the values (of the constant's type and shape).
    Generated(Generator),
    /// None: the constant was made from a tensor and holds its values.
    Given,
}

/// Makes a constant's values on first read.
pub type Generator = Box<dyn Fn() -> Tensor + Send + Sync>;

/// A key and the value derived for it.
type Derived = (Box<dyn Any + Send + Sync>, Arc<dyn Any + Send + Sync>);

impl Constant {
    /// A constant of `dtype` and `shape` whose values are the little-endian `bytes`
    /// (bool: one byte, 0 or 1), checked now and decoded when first read. The errors are
    /// those of decoding the bytes at once.
    pub fn from_le_bytes(dtype: DType, shape: &[usize], bytes: Bytes) -> Result<Constant, String> {
        if dtype == DType::Bool {
            // Checking a bool's bytes reads every one of them: decode them now.
            return tensor_from_le_bytes(dtype, shape, &bytes).map(Constant::from);
        }
        check_le_bytes(dtype, shape, bytes.len())?;
        Ok(Constant(Arc::new(Inner {
            dtype,
            shape: shape.to_vec(),
            value: OnceLock::new(),
            source: Source::Encoded(bytes),
            derived: Mutex::default(),
        })))
    }

    /// A constant of `dtype` and `shape` whose values `make` returns when they are first read
    /// (seeded synthetic weights, say); `make` must return a tensor of that type and shape.
    pub fn generated(dtype: DType, shape: &[usize], make: Generator) -> Constant {
        Constant(Arc::new(Inner {
            dtype,
            shape: shape.to_vec(),
            value: OnceLock::new(),
            source: Source::Generated(make),
            derived: Mutex::default(),
        }))
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    /// The dimensions.
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.shape.iter().product()
    }

    /// True when the constant holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the values have been decoded (or were given decoded).
    pub fn is_decoded(&self) -> bool {
        self.0.value.get().is_some()
    }

    /// The values, decoded on the first call.
    pub fn tensor(&self) -> &Tensor {
        let inner = &*self.0;
        inner
            .value
            .get_or_init(|| produce(inner.dtype, &inner.shape, &inner.source))
    }

    /// A value derived from the values (a layer's weights prepared for the datapath, say):
    /// made by `make` the first time `key` is asked for, then shared by every clone of the
    /// constant for as long as it lives. Keys are told apart by type and equality, so the
    /// key must hold everything the value depends on besides the constant.
    pub fn derived<K, V, E>(
        &self,
        key: K,
        make: impl FnOnce(&Tensor) -> Result<V, E>,
    ) -> Result<Arc<V>, E>
    where
        K: PartialEq + Send + Sync + 'static,
        V: Send + Sync + 'static,
    {
        let find = |list: &[Derived]| {
            list.iter().find_map(|(k, v)| {
                let same = k.downcast_ref::<K>().is_some_and(|k| *k == key);
                same.then(|| Arc::clone(v).downcast::<V>().ok()).flatten()
            })
        };
        let lock = || self.0.derived.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = find(&lock()) {
            return Ok(v);
        }
        // Made without the lock held (making may use the thread pool); a value made meanwhile
        // by another thread for the same key is the one kept.
        let made = Arc::new(make(self.tensor())?);
        let mut list = lock();
        if let Some(v) = find(&list) {
            return Ok(v);
        }
        list.push((Box::new(key), made.clone()));
        Ok(made)
    }

    /// The values as an owned tensor (no copy when this is the only handle and they are
    /// decoded).
    pub fn into_tensor(self) -> Tensor {
        match Arc::try_unwrap(self.0) {
            Ok(inner) => inner
                .value
                .into_inner()
                .unwrap_or_else(|| produce(inner.dtype, &inner.shape, &inner.source)),
            Err(shared) => Constant(shared).tensor().clone(),
        }
    }
}

/// The values of a constant not read yet: bytes that [`Constant::from_le_bytes`] checked,
/// decoded, or the generator's tensor (a constant made from a tensor has its values and
/// never gets here).
fn produce(dtype: DType, shape: &[usize], source: &Source) -> Tensor {
    match source {
        Source::Encoded(bytes) => tensor_from_le_bytes(dtype, shape, bytes)
            .expect("the bytes were checked against the type and shape when the constant was made"),
        Source::Generated(make) => {
            let t = make();
            assert!(
                t.dtype() == dtype && t.shape() == shape,
                "a constant's generator returned {} {:?} for {dtype} {shape:?}",
                t.dtype(),
                t.shape()
            );
            t
        }
        Source::Given => unreachable!("a constant made from a tensor holds its values"),
    }
}

impl From<Tensor> for Constant {
    fn from(t: Tensor) -> Constant {
        Constant(Arc::new(Inner {
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            value: OnceLock::from(t),
            source: Source::Given,
            derived: Mutex::default(),
        }))
    }
}

impl PartialEq for Constant {
    /// Equal values (decoding both), as for tensors: a NaN differs from itself.
    fn eq(&self, other: &Constant) -> bool {
        self.dtype() == other.dtype()
            && self.shape() == other.shape()
            && self.tensor() == other.tensor()
    }
}

impl fmt::Debug for Constant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.value.get() {
            Some(t) => t.fmt(f),
            None => write!(
                f,
                "Constant {{ dtype: {}, shape: {:?}, not decoded }}",
                self.dtype(),
                self.shape()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::pb::tensor_to_le_bytes;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn decodes_on_first_read_to_the_eager_values_and_clones_share_them() {
        let t = Tensor::F32(
            ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0, -2.5, 0.0, 3.25, f32::MAX, -0.0])
                .expect("6 elements"),
        );
        let bytes = Bytes::from(tensor_to_le_bytes(&t));
        let c = Constant::from_le_bytes(DType::F32, &[2, 3], bytes).expect("valid");
        let copy = c.clone();
        assert!(!c.is_decoded());
        assert_eq!(
            (c.dtype(), c.shape(), c.len()),
            (DType::F32, &[2usize, 3][..], 6)
        );
        assert_eq!(copy.tensor(), &t);
        assert!(c.is_decoded(), "clones share the decoded values");
        assert_eq!(c.into_tensor(), t);
        assert_eq!(Constant::from(t.clone()).into_tensor(), t);
    }

    #[test]
    fn bad_bytes_are_refused_when_made() {
        let short = Constant::from_le_bytes(DType::F32, &[2], Bytes::from_static(&[0; 7]));
        assert_eq!(
            short.err(),
            tensor_from_le_bytes(DType::F32, &[2], &[0; 7]).err()
        );
        let bool_byte = Constant::from_le_bytes(DType::Bool, &[2], Bytes::from_static(&[1, 2]));
        assert_eq!(
            bool_byte.err(),
            Some("bool byte 2 is neither 0 nor 1".to_string())
        );
    }
}
