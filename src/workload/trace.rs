//! Trace files: one arrival time in milliseconds per line; `#` starts a comment, blank
//! lines are skipped.

use super::spec::bad_trace_time;
use super::{MAX_ARRIVALS, invalid};
use crate::error::Result;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The most bytes a trace file may have: [`MAX_ARRIVALS`] lines of up to 64 bytes.
const MAX_TRACE_BYTES: u64 = MAX_ARRIVALS * 64;

/// Reads the arrival times of `path`, checking each as it goes; at most [`MAX_TRACE_BYTES`]
/// are read, so a huge or endless file (`/dev/zero`) is refused, not buffered. Errors name
/// `field` and, for a bad value, the file and line.
pub(super) fn read(path: &Path, field: &str) -> Result<Vec<f64>> {
    let at = |what: String| invalid(field, format!("{}: {what}", path.display()));
    let (file, _) = crate::files::open(path, MAX_TRACE_BYTES, "the bound on trace files")
        .map_err(|e| invalid(field, e.to_string()))?;
    let mut times = Vec::new();
    let mut previous = 0.0;
    let mut total = 0u64;
    let lines = BufReader::new(file.take(MAX_TRACE_BYTES + 1)).lines();
    for (index, line) in lines.enumerate() {
        let line = line.map_err(|e| at(e.to_string()))?;
        total += line.len() as u64 + 1;
        if total > MAX_TRACE_BYTES {
            return Err(at(format!("more than {MAX_TRACE_BYTES} bytes")));
        }
        let number = index + 1;
        let text = line
            .split_once('#')
            .map_or(line.as_str(), |(before, _)| before)
            .trim();
        if text.is_empty() {
            continue;
        }
        let t: f64 = text
            .parse()
            // The line is not repeated: the file may be anything the workload names.
            .map_err(|_| at(format!("line {number} is not a time in ms")))?;
        if let Some(why) = bad_trace_time(previous, t) {
            return Err(at(format!("line {number}: {why}")));
        }
        if times.len() as u64 == MAX_ARRIVALS {
            return Err(at(format!("more than {MAX_ARRIVALS} arrival times")));
        }
        times.push(t);
        previous = t;
    }
    Ok(times)
}
