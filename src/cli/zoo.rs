//! `cdmsa zoo`: writes the timing model zoo's networks as `.onnx` files.

use super::EXIT_PASS;
use crate::error::{Error, Result};
use crate::zoo::{NAMES, build};
use std::path::PathBuf;

/// Arguments of `cdmsa zoo`.
#[derive(clap::Args)]
pub struct ZooArgs {
    /// The models to write (default: all of them).
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(NAMES))]
    names: Vec<String>,
    /// The directory to write them to (made if missing).
    #[arg(long, default_value = ".")]
    out: PathBuf,
}

/// Runs the command; returns the exit code.
pub fn run(args: ZooArgs) -> Result<i32> {
    std::fs::create_dir_all(&args.out).map_err(|source| Error::Io {
        path: args.out.clone(),
        source,
    })?;
    let names: Vec<&str> = if args.names.is_empty() {
        NAMES.to_vec()
    } else {
        args.names.iter().map(String::as_str).collect()
    };
    for name in names {
        let path = build(name)?.write(&args.out)?;
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        println!(
            "{} ({:.1} MiB)",
            path.display(),
            size as f64 / f64::from(1 << 20)
        );
    }
    Ok(EXIT_PASS)
}
