//! NumPy `.npy` files (format versions 1.0, 2.0 and 3.0) ↔ [`Tensor`].
//!
//! A `.npy` file is the magic `\x93NUMPY`, a major and a minor version byte, the header
//! length (little-endian `u16` in version 1, `u32` in versions 2 and 3), a header that is a
//! Python dict literal with the keys `descr`, `fortran_order` and `shape`, and then the
//! elements. The header is parsed by a small parser of exactly that literal syntax.
//!
//! Supported element types: `<f4`, `<f2`, `|i1`, `|u1`, `<i4`, `<i8`, `|b1` (one-byte types
//! with any byte-order mark), C order only. NumPy has no bfloat16, so a bfloat16 tensor is
//! written as `<f4` (every bfloat16 is exactly representable in float32; reading the file
//! back gives a float32 tensor). Writing produces the same bytes as `numpy.save`.

use super::pb::{element_count, tensor_from_le_bytes, tensor_to_le_bytes};
use super::{DType, Tensor};
use crate::error::{Error, Result, write_file};
use crate::limits::Limits;
use std::path::Path;

const WHAT: &str = ".npy";
const MAGIC: &[u8] = b"\x93NUMPY";
/// NumPy aligns the start of the data to this many bytes.
const ALIGN: usize = 64;
/// NumPy leaves room for the first dimension to grow to this many digits.
const GROWTH_DIGITS: usize = 21;

/// Reads a `.npy` file of at most the default [`Limits::max_bytes`].
pub fn read_npy(path: &Path) -> Result<Tensor> {
    read_npy_within(path, Limits::default().max_bytes)
}

/// [`read_npy`] of a file of at most `max_bytes`, refused before it is read.
pub fn read_npy_within(path: &Path, max_bytes: u64) -> Result<Tensor> {
    let bytes = crate::files::read(path, max_bytes, "--max-bytes")?;
    decode_npy(&bytes).map_err(|e| e.in_file(path))
}

/// Writes a tensor as a `.npy` file (bfloat16 is widened to float32, see the module docs).
pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    write_file(path, &encode_npy(t))
}

/// Decodes the bytes of a `.npy` file.
pub fn decode_npy(bytes: &[u8]) -> Result<Tensor> {
    let bad = |msg: &str| Error::malformed(WHAT, msg);
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("missing the \\x93NUMPY magic"))?;
    let (header, data) = match rest {
        [1, _, a, b, rest @ ..] => rest.split_at_checked(usize::from(u16::from_le_bytes([*a, *b]))),
        [2 | 3, _, a, b, c, d, rest @ ..] => {
            let len = u32::from_le_bytes([*a, *b, *c, *d]);
            rest.split_at_checked(usize::try_from(len).unwrap_or(usize::MAX))
        }
        [major, minor, ..] => {
            return Err(bad(&format!("unsupported format version {major}.{minor}")));
        }
        _ => None,
    }
    .ok_or_else(|| bad("truncated header"))?;
    let header = Header::parse(header).map_err(|msg| bad(&msg))?;
    if header.fortran_order {
        return Err(bad(
            "fortran_order True (column-major data) is not supported",
        ));
    }
    let dtype = dtype_of(&header.descr)?;
    tensor_from_le_bytes(dtype, &header.shape, data).map_err(|msg| bad(&msg))
}

/// Encodes a tensor as the bytes of a `.npy` file, as `numpy.save` writes it.
pub fn encode_npy(t: &Tensor) -> Vec<u8> {
    let (descr, data) = match t {
        Tensor::BF16(a) => ("<f4", tensor_to_le_bytes(&Tensor::F32(a.mapv(f32::from)))),
        _ => (descr_of(t.dtype()), tensor_to_le_bytes(t)),
    };
    let shape = match t.shape() {
        [d] => format!("({d},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    if let Some(first) = t.shape().first() {
        let digits = first.to_string().len();
        header.push_str(&" ".repeat(GROWTH_DIGITS.saturating_sub(digits)));
    }
    // Version 1 stores the header length in a u16; longer headers need version 2.
    let v1_len = padded_len(header.len(), 2);
    let (version, len_bytes) = match u16::try_from(v1_len) {
        Ok(len) => (1u8, len.to_le_bytes().to_vec()),
        Err(_) => (
            2u8,
            (padded_len(header.len(), 4) as u32).to_le_bytes().to_vec(),
        ),
    };
    let total = padded_len(header.len(), len_bytes.len());
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + len_bytes.len() + total + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    out.extend_from_slice(&len_bytes);
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + total - header.len() - 1, b' ');
    out.push(b'\n');
    out.extend_from_slice(&data);
    out
}

/// The header length after NumPy's padding (spaces and a final newline, so that the data
/// starts on an [`ALIGN`]-byte boundary; a full block is added when already aligned).
fn padded_len(header_len: usize, len_field: usize) -> usize {
    let unpadded = header_len + 1;
    unpadded + ALIGN - (MAGIC.len() + 2 + len_field + unpadded) % ALIGN
}

/// The NumPy type string of a (non-bfloat16) element type.
fn descr_of(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 | DType::BF16 => "<f4",
        DType::F16 => "<f2",
        DType::I8 => "|i1",
        DType::U8 => "|u1",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::Bool => "|b1",
    }
}

/// The element type of a NumPy type string.
fn dtype_of(descr: &str) -> Result<DType> {
    let (order, code) = match descr.as_bytes().first() {
        Some(b'<' | b'>' | b'|' | b'=') => descr.split_at(1),
        _ => ("", descr),
    };
    let dtype = match code {
        "i1" => Some(DType::I8),
        "u1" => Some(DType::U8),
        "b1" => Some(DType::Bool),
        "f2" if order == "<" => Some(DType::F16),
        "f4" if order == "<" => Some(DType::F32),
        "i4" if order == "<" => Some(DType::I32),
        "i8" if order == "<" => Some(DType::I64),
        _ => None,
    };
    dtype.ok_or_else(|| {
        Error::DType(format!(
            ".npy element type '{descr}' (supported: <f4 <f2 |i1 |u1 <i4 <i8 |b1)"
        ))
    })
}

/// The three entries of a `.npy` header.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A value of the header dict.
enum Literal {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

impl Header {
    /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` plus padding.
    fn parse(text: &[u8]) -> Result<Header, String> {
        let mut p = Parser { s: text, pos: 0 };
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        p.expect(b'{')?;
        while !p.eat(b'}') {
            let key = p.string()?;
            if !matches!(key.as_str(), "descr" | "fortran_order" | "shape") {
                return Err(format!("unexpected header key '{key}'"));
            }
            p.expect(b':')?;
            let duplicate = match (key.as_str(), p.literal()?) {
                ("descr", Literal::Str(s)) => descr.replace(s).is_some(),
                ("fortran_order", Literal::Bool(b)) => fortran_order.replace(b).is_some(),
                ("shape", Literal::Tuple(t)) => shape.replace(t).is_some(),
                _ => return Err(format!("header key '{key}' has a value of the wrong kind")),
            };
            if duplicate {
                return Err(format!("header key '{key}' appears twice"));
            }
            if !p.eat(b',') {
                p.expect(b'}')?;
                break;
            }
        }
        if p.rest().iter().any(|b| !b.is_ascii_whitespace()) {
            return Err("text after the header dict".into());
        }
        let shape = shape.ok_or("header has no 'shape'")?;
        element_count(&shape)?;
        Ok(Header {
            descr: descr.ok_or("header has no 'descr'")?,
            fortran_order: fortran_order.ok_or("header has no 'fortran_order'")?,
            shape,
        })
    }
}

/// A cursor over the header text.
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a [u8] {
        self.s.get(self.pos..).unwrap_or_default()
    }

    /// The next non-blank byte, without consuming it.
    fn peek(&mut self) -> Option<u8> {
        while self.rest().first().is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
        self.rest().first().copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "expected '{}' at byte {} of the header",
                c as char, self.pos
            ))
        }
    }

    /// A quoted string without escapes.
    fn string(&mut self) -> Result<String, String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => {
                return Err(format!(
                    "expected a string at byte {} of the header",
                    self.pos
                ));
            }
        };
        let body = self.rest().get(1..).unwrap_or_default();
        let len = body
            .iter()
            .position(|&b| b == quote)
            .ok_or("unterminated string in the header")?;
        let text = body.get(..len).unwrap_or_default();
        if text.contains(&b'\\') {
            return Err("escape sequences in header strings are not supported".into());
        }
        self.pos += len + 2;
        String::from_utf8(text.to_vec()).map_err(|_| "header string is not UTF-8".into())
    }

    /// A string, `True`, `False` or a tuple of non-negative integers.
    fn literal(&mut self) -> Result<Literal, String> {
        match self.peek() {
            Some(b'\'' | b'"') => self.string().map(Literal::Str),
            Some(b'(') => self.tuple().map(Literal::Tuple),
            _ if self.rest().starts_with(b"True") => {
                self.pos += 4;
                Ok(Literal::Bool(true))
            }
            _ if self.rest().starts_with(b"False") => {
                self.pos += 5;
                Ok(Literal::Bool(false))
            }
            _ => Err(format!(
                "unsupported value at byte {} of the header (structured dtypes are not supported)",
                self.pos
            )),
        }
    }

    /// `()`, `(3,)`, `(2, 3)`; Python 2's `3L` is accepted.
    fn tuple(&mut self) -> Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut items = Vec::new();
        while !self.eat(b')') {
            items.push(self.integer()?);
            self.eat(b'L');
            if !self.eat(b',') {
                self.expect(b')')?;
                if items.len() == 1 {
                    return Err("a one-element shape tuple needs a trailing comma".into());
                }
                break;
            }
        }
        Ok(items)
    }

    fn integer(&mut self) -> Result<usize, String> {
        self.peek();
        let digits = self
            .rest()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return Err(format!(
                "expected a dimension at byte {} of the header",
                self.pos
            ));
        }
        let value = self.rest().iter().take(digits).try_fold(0usize, |n, &d| {
            n.checked_mul(10)?.checked_add(usize::from(d - b'0'))
        });
        self.pos += digits;
        value.ok_or_else(|| "a dimension in the header is too large".into())
    }
}
