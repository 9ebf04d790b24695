//! The crate's one error type: every fallible path returns [`Result`].

use std::path::PathBuf;

/// Everything that can go wrong in cdmsa, from reading a file to a shape that does not fit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Bytes that are not a valid protobuf message / `.npy` file / TOML document.
    #[error("malformed {what}: {msg}")]
    Malformed {
        /// What was being decoded ("ONNX model", "TensorProto", ".npy", ...).
        what: &'static str,
        /// Why it was rejected.
        msg: String,
    },
    /// An operator the emulator does not implement.
    #[error("node '{node}': unsupported op '{op}'{}", if domain.is_empty() { String::new() } else { format!(" in domain '{domain}'") })]
    Unsupported {
        /// The node's name.
        node: String,
        /// The op type.
        op: String,
        /// The op's domain ("" for the default ONNX domain).
        domain: String,
    },
    /// A node whose attributes, inputs or shapes are invalid.
    #[error("node '{node}' ({op}): {msg}")]
    Node {
        /// The node's name.
        node: String,
        /// The op type.
        op: String,
        /// Why it was rejected.
        msg: String,
    },
    /// A tensor with a data type this path does not handle.
    #[error("unsupported data type: {0}")]
    DType(String),
    /// A shape that does not match what was expected.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A configuration or workload value that is out of range.
    #[error("invalid {field}: {msg}")]
    Config {
        /// The offending field.
        field: String,
        /// Why it was rejected.
        msg: String,
    },
    /// Any other invalid input.
    #[error("{0}")]
    Invalid(String),
    /// A resource bound (the `limits` module) that the input would exceed.
    #[error("resource limit: {0}")]
    Limit(String),
    /// An error that happened while processing a file.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file being processed.
        path: PathBuf,
        /// The underlying error.
        source: Box<Error>,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Attaches the file being processed to an error (once; an error already naming a file keeps it).
    pub fn in_file(self, path: impl Into<PathBuf>) -> Error {
        match self {
            e @ (Error::InFile { .. } | Error::Io { .. }) => e,
            e => Error::InFile {
                path: path.into(),
                source: Box::new(e),
            },
        }
    }

    /// Builds a [`Error::Node`].
    pub fn node(node: &str, op: &str, msg: impl Into<String>) -> Error {
        Error::Node {
            node: node.to_string(),
            op: op.to_string(),
            msg: msg.into(),
        }
    }

    /// Builds a [`Error::Malformed`].
    pub fn malformed(what: &'static str, msg: impl Into<String>) -> Error {
        Error::Malformed {
            what,
            msg: msg.into(),
        }
    }
}

/// Writes a whole file, naming it in the error.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}
