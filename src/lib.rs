//! cdmsa: a bit-accurate emulator of a multi-systolic-array DNN inference accelerator.
//!
//! Data flows one way: an ONNX file is decoded (`onnx`) into the IR (`ir`), lowered
//! (`lower`) to a `kernel::Program` of tiled GEMMs and vector ops, and run on emulated
//! systolic arrays (`array`), whose values and cycles are the definition of the result.
//! `pipeline` names those stages for the commands and the simulator. `verify` compares
//! outputs with references and `report` prints them; `zoo` builds the timing model zoo in
//! memory.

pub mod array;
pub mod cli;
pub mod config;
pub mod error;
pub mod eval;
pub mod exec;
pub mod files;
pub mod ir;
pub mod kernel;
pub mod limits;
pub mod lower;
pub mod numeric;
pub mod onnx;
pub mod pipeline;
pub mod proto;
pub mod reference;
pub mod report;
pub mod sched;
pub mod sim;
pub mod tensor;
pub mod units;
pub mod verify;
pub mod workload;
pub mod zoo;

pub use error::{Error, Result};
