//! (stand-in)
use super::Tensor;
use crate::error::Result;
use std::path::Path;
pub fn read_npy(_path: &Path) -> Result<Tensor> {
    Err(crate::Error::Invalid("missing".into()))
}
pub fn write_npy(_path: &Path, _t: &Tensor) -> Result<()> {
    Ok(())
}
