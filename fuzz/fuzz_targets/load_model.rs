//! Fuzz target: model bytes through load, specialisation, lowering and execution
//! (`cdmsa::verify::hostile::run_model_bytes`, the body the stable mutation suite runs too).
//! Any input must end in `Ok` or a typed error.
#![no_main]

use cdmsa::kernel::Precision;
use cdmsa::verify::hostile::{hostile_limits, run_model_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = run_model_bytes(data, &hostile_limits(), Precision::Native);
});
