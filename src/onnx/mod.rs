//! (stand-in until the decoder lands)
use crate::error::Result;
use crate::ir::Graph;
use std::path::Path;
pub fn load_model(_path: &Path) -> Result<Graph> {
    Err(crate::Error::Invalid("decoder missing".into()))
}
pub fn decode_model(_bytes: &[u8], _base: Option<&Path>) -> Result<Graph> {
    Err(crate::Error::Invalid("decoder missing".into()))
}
