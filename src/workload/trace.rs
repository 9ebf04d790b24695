//! Trace files: one request per line, either `t_ms` or `t_ms, context_tokens,
//! generated_tokens` (comma separated, the column layout of public LLM inference traces),
//! every data line with the same number of columns; one header line (a first field that is
//! not a number) may come before the data; `#` starts a comment, blank lines are skipped.

use super::spec::{bad_token_count, bad_trace_time};
use super::{MAX_ARRIVALS, invalid};
use crate::error::Result;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The most bytes a trace file may have: [`MAX_ARRIVALS`] lines of up to 64 bytes.
const MAX_TRACE_BYTES: u64 = MAX_ARRIVALS * 64;

/// The arrivals of a trace file.
#[derive(Debug, Default)]
pub(super) struct Trace {
    /// Arrival times in milliseconds, non-negative and non-decreasing.
    pub times_ms: Vec<f64>,
    /// (context tokens, generated tokens) of each arrival; empty for a times-only file.
    pub tokens: Vec<(usize, usize)>,
}

/// Reads the arrivals of `path`, checking each as it goes; at most [`MAX_TRACE_BYTES`]
/// are read, so a huge or endless file (`/dev/zero`) is refused, not buffered. Errors name
/// `field` and, for a bad value, the file and line.
pub(super) fn read(path: &Path, field: &str) -> Result<Trace> {
    let at = |what: String| invalid(field, format!("{}: {what}", path.display()));
    let (file, _) = crate::files::open(path, MAX_TRACE_BYTES, "the bound on trace files")
        .map_err(|e| invalid(field, e.to_string()))?;
    let mut trace = Trace::default();
    let mut previous = 0.0;
    let mut total = 0u64;
    // The column count and line of the first data line; whether a line has been seen.
    let mut layout: Option<(usize, usize)> = None;
    let mut seen_any = false;
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
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        // The line is never repeated in errors: the file may be anything the workload names.
        let Ok(t) = fields[0].parse::<f64>() else {
            if !seen_any {
                seen_any = true;
                continue; // the header
            }
            return Err(at(format!("line {number} is not a time in ms")));
        };
        seen_any = true;
        match layout {
            None if fields.len() == 1 || fields.len() == 3 => layout = Some((fields.len(), number)),
            None => {
                return Err(at(format!(
                    "line {number} has {} columns, not 1 (t_ms) or 3 (t_ms, context_tokens, generated_tokens)",
                    fields.len()
                )));
            }
            Some((columns, first)) if columns != fields.len() => {
                return Err(at(format!(
                    "line {number} has {} columns, line {first} has {columns}",
                    fields.len()
                )));
            }
            Some(_) => {}
        }
        if let Some(why) = bad_trace_time(previous, t) {
            return Err(at(format!("line {number}: {why}")));
        }
        if trace.times_ms.len() as u64 == MAX_ARRIVALS {
            return Err(at(format!("more than {MAX_ARRIVALS} arrival times")));
        }
        if let [_, context, generated] = fields[..] {
            let count = |text: &str, what: &str| -> Result<usize> {
                let n: usize = text.parse().map_err(|_| {
                    at(format!(
                        "line {number}: the {what} tokens are not a whole number"
                    ))
                })?;
                match bad_token_count(n, what) {
                    Some(why) => Err(at(format!("line {number}: {why}"))),
                    None => Ok(n),
                }
            };
            trace
                .tokens
                .push((count(context, "context")?, count(generated, "generated")?));
        }
        trace.times_ms.push(t);
        previous = t;
    }
    Ok(trace)
}
