//! `cdmsa conformance`: every onnx backend-test directory under the given roots.

use super::inputs::data_sets;
use super::{AccelArg, EXIT_MISMATCH, EXIT_PASS};
use crate::config::AcceleratorConfig;
use crate::error::{Error, Result};
use crate::kernel::Precision;
use crate::limits::Limits;
use crate::pipeline::Model;
use crate::verify::{RunRequest, verified_run};
use std::path::{Path, PathBuf};

/// Arguments of `cdmsa conformance`.
#[derive(clap::Args)]
pub struct ConformanceArgs {
    /// Directories searched (recursively) for `model.onnx` with `test_data_set_*`.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    #[command(flatten)]
    accel: AccelArg,
    #[command(flatten)]
    limits: super::LimitArgs,
}

fn find_tests(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if dir.join("model.onnx").is_file() {
        out.push(dir.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for e in entries {
        find_tests(&e, out)?;
    }
    Ok(())
}

enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

fn run_one(dir: &Path, cfg: &AcceleratorConfig, limits: &Limits) -> Outcome {
    let skip_or_fail = |e: Error| match &e {
        Error::InFile { source, .. }
            if matches!(**source, Error::Unsupported { .. } | Error::DType(_)) =>
        {
            Outcome::Skip(e.to_string())
        }
        Error::Unsupported { .. } | Error::DType(_) => Outcome::Skip(e.to_string()),
        _ => Outcome::Fail(e.to_string()),
    };
    let model = match Model::load(&dir.join("model.onnx"), limits) {
        Ok(m) => m,
        Err(e) => return skip_or_fail(e),
    };
    let sets = match data_sets(dir, limits) {
        Ok(s) => s,
        Err(e) => return Outcome::Fail(e.to_string()),
    };
    for set in &sets {
        let req = RunRequest {
            model: dir.display().to_string(),
            graph: &model.graph,
            inputs: &set.inputs,
            references: &set.outputs,
            // The default policy of `run`, output by output.
            tolerance: None,
            labels: None,
            precision: Precision::Native,
        };
        match verified_run(&req, cfg) {
            Err(e) => return skip_or_fail(e),
            Ok((r, _)) => {
                if let Some(c) = r.outputs.iter().find(|c| !c.pass) {
                    return Outcome::Fail(format!(
                        "{}: output {} max_abs_error={:.3e} max_ulp={}",
                        set.dir.display(),
                        c.name,
                        c.max_abs_error,
                        c.max_ulp
                    ));
                }
            }
        }
    }
    Outcome::Pass
}

/// Runs the command; returns the exit code.
pub fn run(args: ConformanceArgs) -> Result<i32> {
    let cfg = args.accel.load()?;
    let limits = args.limits.limits();
    let mut tests = Vec::new();
    for d in &args.dirs {
        find_tests(d, &mut tests)?;
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for t in &tests {
        let name = t.file_name().map_or_else(
            || t.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        match run_one(t, &cfg, &limits) {
            Outcome::Pass => {
                passed += 1;
                println!("PASS {name}");
            }
            Outcome::Fail(why) => {
                failed += 1;
                println!("FAIL {name}: {why}");
            }
            Outcome::Skip(why) => {
                skipped += 1;
                println!("SKIP {name}: {why}");
            }
        }
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    Ok(if failed == 0 {
        EXIT_PASS
    } else {
        EXIT_MISMATCH
    })
}
