//! Fuzz target: workload bytes through parsing, validation and arrival generation
//! (`cdmsa::verify::hostile::parse_workload_bytes`, shared with the stable mutation suite).
//! Relative paths resolve against the current directory; any input must end in `Ok` or a
//! typed error.
#![no_main]

use cdmsa::verify::hostile::parse_workload_bytes;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = parse_workload_bytes(data, Path::new("."));
});
