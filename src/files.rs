//! Every file cdmsa reads from input goes through here: it must be a regular file (a FIFO,
//! device, socket or directory is refused before anything can block on it), and its size is
//! checked against a bound before one byte is read or mapped. TOML errors are reported by
//! line and column with a short message, never with the offending source line.

use crate::error::{Error, Result};
use bytes::Bytes;
use std::fs::{File, Metadata, OpenOptions};
use std::io::Read;
use std::path::Path;

/// The most bytes an accelerator or workload TOML file may have (1 MiB): the committed ones
/// have under 2 KB, a workload of thousands of tenants still fits, and the parser's memory
/// (up to about 120 times the text, for a long array of small numbers) stays near 128 MB.
pub const MAX_TOML_BYTES: u64 = 1 << 20;

/// The most characters of a parser's message repeated in an error.
const MAX_MESSAGE_CHARS: usize = 200;

/// What kind of file `meta` describes, when it is not a regular file.
fn irregular_kind(meta: &Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a FIFO");
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Some("a device");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

fn not_regular(path: &Path, kind: &str) -> Error {
    Error::Invalid(format!("{kind}, not a regular file")).in_file(path)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens `path` for reading if it is a regular file; returns the file and its size. The kind
/// is checked on the path before opening and again on the open file, and the open does not
/// block, so a FIFO put in place meanwhile cannot hang it either.
pub fn open_regular(path: &Path) -> Result<(File, u64)> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if let Some(kind) = irregular_kind(&meta) {
        return Err(not_regular(path, kind));
    }
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(io(path))?;
    let meta = file.metadata().map_err(io(path))?;
    if let Some(kind) = irregular_kind(&meta) {
        return Err(not_regular(path, kind));
    }
    Ok((file, meta.len()))
}

/// [`open_regular`], refusing a file of more than `max_bytes` (`limit` names the bound in the
/// error) before anything is read.
pub fn open(path: &Path, max_bytes: u64, limit: &str) -> Result<(File, u64)> {
    let (file, size) = open_regular(path)?;
    if size > max_bytes {
        return Err(Error::Limit(format!(
            "the file has {size} bytes, more than the limit of {max_bytes} ({limit})"
        ))
        .in_file(path));
    }
    Ok((file, size))
}

/// Reads the whole of `path`, a regular file of at most `max_bytes` (see [`open`]). A file
/// that grows while it is read is cut off at the bound and refused.
pub fn read(path: &Path, max_bytes: u64, limit: &str) -> Result<Vec<u8>> {
    let (file, size) = open(path, max_bytes, limit)?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    if bytes.len() as u64 > max_bytes {
        return Err(Error::Limit(format!(
            "the file grew past the limit of {max_bytes} bytes ({limit}) while it was read"
        ))
        .in_file(path));
    }
    Ok(bytes)
}

/// Reads `path` as UTF-8 text of at most [`MAX_TOML_BYTES`]; `what` names the kind of file
/// in errors ("accelerator TOML", "workload TOML").
pub fn read_toml_text(path: &Path, what: &'static str) -> Result<String> {
    let bytes = read(path, MAX_TOML_BYTES, "the bound on TOML files")?;
    String::from_utf8(bytes).map_err(|_| Error::malformed(what, "not UTF-8").in_file(path))
}

/// Maps `path`, a regular file of at most `max_bytes`, into memory read-only.
pub fn map(path: &Path, max_bytes: u64, limit: &str) -> Result<Bytes> {
    let (file, _) = open(path, max_bytes, limit)?;
    // SAFETY: the map is read-only and private. cdmsa never writes a file while it is
    // mapped; one that another process truncates meanwhile is outside what it supports, as
    // for every program that maps its inputs.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io(path))?;
    Ok(Bytes::from_owner(map))
}

/// `text` cut to [`MAX_MESSAGE_CHARS`] characters, with an ellipsis when cut.
pub fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// The line and column (from 1) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

/// Where in `text` a TOML error is, as "line L, column C" (empty when it has no position).
fn toml_position(e: &toml::de::Error, text: &str) -> String {
    e.span().map_or_else(String::new, |span| {
        let (line, column) = line_column(text, span.start);
        format!("line {line}, column {column}")
    })
}

/// At most [`MAX_MESSAGE_CHARS`] characters of the line holding byte `offset` of `text`,
/// centred on it when the line is longer, with ellipses where it is cut.
fn excerpt(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let start = text
        .get(..offset)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let end = text
        .get(offset..)
        .and_then(|t| t.find('\n'))
        .map_or(text.len(), |i| offset + i);
    let line: Vec<char> = text
        .get(start..end)
        .unwrap_or("")
        .trim_end()
        .chars()
        .collect();
    let column = text.get(start..offset).map_or(0, |t| t.chars().count());
    let from = column
        .saturating_sub(MAX_MESSAGE_CHARS / 2)
        .min(line.len().saturating_sub(MAX_MESSAGE_CHARS));
    let to = (from + MAX_MESSAGE_CHARS).min(line.len());
    let mut cut: String = line[from..to].iter().collect();
    if from > 0 {
        cut.insert(0, '…');
    }
    if to < line.len() {
        cut.push('…');
    }
    cut
}

/// A TOML error in `text`: its position, the parser's message and the offending line, each
/// cut to [`MAX_MESSAGE_CHARS`] characters (a line may be megabytes long).
pub fn toml_error(what: &'static str, e: &toml::de::Error, text: &str) -> Error {
    let message = shorten(e.message().trim());
    let msg = match e.span() {
        Some(span) => format!(
            "{}: {message} (in `{}`)",
            toml_position(e, text),
            excerpt(text, span.start)
        ),
        None => message,
    };
    Error::malformed(what, msg)
}

/// A TOML error in a file named by another file: only where it is, never what the parser
/// read there, so pointing a workload at a secret file does not print its content.
pub fn toml_error_quiet(what: &'static str, e: &toml::de::Error, text: &str) -> Error {
    match toml_position(e, text) {
        at if at.is_empty() => Error::Invalid(format!("not a valid {what} file")),
        at => Error::Invalid(format!("not a valid {what} file (error at {at})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        assert_eq!(line_column("a = 1\nbé = ?", 12), (2, 6));
        assert_eq!(line_column("x", 0), (1, 1));
    }

    #[test]
    fn excerpts_are_centred_on_the_error_and_cut() {
        assert_eq!(excerpt("a = 1\nseed = -7\nb = 2", 13), "seed = -7");
        let long = format!("k = [{}x]", "1,".repeat(1000));
        let at = long.find('x').unwrap();
        let cut = excerpt(&long, at);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(cut.starts_with('…') && cut.ends_with("1,x]"), "{cut}");
        let cut = excerpt(&long, 0);
        assert!(cut.starts_with("k = [1,") && cut.ends_with('…'), "{cut}");
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "é".repeat(1000);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert_eq!(shorten("short"), "short");
    }

    #[test]
    fn directories_and_devices_are_refused_before_reading() {
        let dir = std::env::temp_dir();
        let err = read(&dir, 1 << 20, "--max-bytes").unwrap_err().to_string();
        assert!(err.contains("a directory, not a regular file"), "{err}");
        #[cfg(unix)]
        {
            let err = read(Path::new("/dev/zero"), 1 << 20, "--max-bytes")
                .unwrap_err()
                .to_string();
            assert_eq!(err, "/dev/zero: a device, not a regular file");
        }
    }
}
