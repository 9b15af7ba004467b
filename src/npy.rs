//! NumPy arrays: `.npy` files and `.npz` archives (a zip of `.npy` members), read into a small
//! [`Array`] and written from f32 / i64 values. The datasets loader and the code exports share it.
//!
//! `npyz` parses the header's Python dict; before it sees anything, the header length is capped
//! and the shape's product is checked for overflow (npyz multiplies unchecked). Payloads are
//! checked against the bytes actually present and read incrementally, so memory follows the
//! data that arrives, never what a header claims.

use crate::error::{Error, Result};
use npyz::{DType, Endianness, NpyHeader, Order, TypeChar, WriterBuilder};
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

/// numpy itself refuses headers over 10,000 bytes by default; a little slack for odd writers.
const MAX_HEADER_TEXT: usize = 65_536;
/// The largest array payload we read (8 GiB, as for IDX files).
pub const MAX_ARRAY_BYTES: u64 = 8 << 30;

/// The values of an array, widened to the few types the program works with.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// uint8 and bool.
    U8(Vec<u8>),
    /// Every other integer type.
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// One array in C (row-major) order, whatever order the file stored it in.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub values: Values,
    /// The file's dtype as numpy writes it ("<f4", "|u1", "|b1" for bool), for messages.
    pub dtype: String,
    /// Bytes found after the payload the header describes, in words (ignored, but reported).
    pub extra: Option<String>,
}

impl Array {
    pub fn len(&self) -> usize {
        match &self.values {
            Values::U8(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for numpy's bool dtype (stored as bytes 0 / 1).
    pub fn is_bool(&self) -> bool {
        self.dtype.ends_with("b1")
    }

    pub fn is_integer(&self) -> bool {
        matches!(self.values, Values::U8(_) | Values::I64(_))
    }

    /// Integer values as i64 (None for float arrays).
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        match &self.values {
            Values::U8(v) => Some(v.iter().map(|&x| x as i64).collect()),
            Values::I64(v) => Some(v.clone()),
            _ => None,
        }
    }

    /// Every value as f64 (for tests and small arrays).
    pub fn to_f64(&self) -> Vec<f64> {
        match &self.values {
            Values::U8(v) => v.iter().map(|&x| x as f64).collect(),
            Values::I64(v) => v.iter().map(|&x| x as f64).collect(),
            Values::F32(v) => v.iter().map(|&x| x as f64).collect(),
            Values::F64(v) => v.clone(),
        }
    }
}

/// True when `prefix` starts like a `.npy` file.
pub fn is_npy(prefix: &[u8]) -> bool {
    prefix.starts_with(b"\x93NUMPY")
}

/// True when `prefix` starts like a zip archive (an `.npz`; an empty zip included).
pub fn is_zip(prefix: &[u8]) -> bool {
    prefix.starts_with(b"PK\x03\x04") || prefix.starts_with(b"PK\x05\x06")
}

fn bad(path: &Path, what: &str, reason: impl std::fmt::Display) -> Error {
    // One line, whatever the parser said (npyz's messages can span several).
    let reason = reason.to_string();
    let mut line: String = reason
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if line.chars().count() > 200 {
        line = line.chars().take(200).collect::<String>() + "...";
    }
    Error::BadHeader {
        path: path.into(),
        reason: format!("{what}: {line}"),
    }
}

/// How far past a stream's claimed payload we read to reach its end (and so a zip member's
/// CRC check); a stream that goes on further is not inflated.
const EXTRA_PROBE: u64 = 1 << 20;

/// Python 2's numpy wrote shapes as `(100L, 784L)`; drops the `L` after a digit so the
/// header parses as Python 3's.
fn drop_long_suffixes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev_digit = false;
    for c in text.chars() {
        if (c == 'L' || c == 'l') && prev_digit {
            prev_digit = false;
            continue;
        }
        prev_digit = c.is_ascii_digit();
        out.push(c);
    }
    out
}

/// The dims of the header's `'shape': (a, b, ...)`, parsed only to check them before npyz
/// multiplies them.
fn shape_in_header_text(text: &str) -> Option<Vec<u64>> {
    let after = &text[text.find("'shape'")? + 7..];
    let open = after.find('(')?;
    let close = after[open..].find(')')? + open;
    after[open + 1..close]
        .split(',')
        .map(|s| s.trim().trim_end_matches('L'))
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u64>().ok())
        .collect()
}

/// Reads one array from `r`. `available`: the bytes the source holds from here on, when known
/// (a file's length, a zip member's size). `what` names the array in messages.
fn read_array(
    path: &Path,
    what: &str,
    r: &mut dyn Read,
    available: Option<u64>,
    streamed: bool,
) -> Result<Array> {
    let truncated = |what_part: &'static str, expected: u64, found: u64| Error::Truncated {
        path: path.into(),
        what: what_part,
        expected,
        found,
    };
    let mut pre = Vec::with_capacity(12);
    r.take(8)
        .read_to_end(&mut pre)
        .map_err(|e| Error::io(path, e))?;
    if pre.len() < 8 {
        return Err(truncated("npy header", 10, pre.len() as u64));
    }
    if !is_npy(&pre) {
        return Err(bad(path, what, "not a .npy array (no \\x93NUMPY magic)"));
    }
    let len_bytes = if pre[6] == 1 { 2 } else { 4 };
    if !(1..=3).contains(&pre[6]) {
        return Err(bad(
            path,
            what,
            format!(".npy format version {} is not supported", pre[6]),
        ));
    }
    let mut len_buf = Vec::new();
    r.take(len_bytes)
        .read_to_end(&mut len_buf)
        .map_err(|e| Error::io(path, e))?;
    if len_buf.len() < len_bytes as usize {
        return Err(truncated(
            "npy header",
            8 + len_bytes,
            8 + len_buf.len() as u64,
        ));
    }
    pre.extend_from_slice(&len_buf);
    let text_len = len_buf
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | b as usize);
    if text_len > MAX_HEADER_TEXT {
        return Err(bad(
            path,
            what,
            format!("a header of {text_len} bytes is not plausible"),
        ));
    }
    let mut text = Vec::with_capacity(text_len);
    r.take(text_len as u64)
        .read_to_end(&mut text)
        .map_err(|e| Error::io(path, e))?;
    let header_len = (pre.len() + text_len) as u64;
    if text.len() < text_len {
        return Err(truncated(
            "npy header",
            header_len,
            (pre.len() + text.len()) as u64,
        ));
    }
    let text_str = String::from_utf8_lossy(&text);
    let dims = shape_in_header_text(&text_str)
        .ok_or_else(|| bad(path, what, "the header has no readable 'shape'"))?;
    let count = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(path, what, format!("shape {dims:?} overflows")))?;
    // npyz parses Python 3 headers; rebuild the header (format 2.0, 4-byte length) from the
    // text without Python 2's `L` suffixes.
    let text_fixed = drop_long_suffixes(&text_str);
    let mut rebuilt = b"\x93NUMPY\x02\x00".to_vec();
    rebuilt.extend_from_slice(&(text_fixed.len() as u32).to_le_bytes());
    rebuilt.extend_from_slice(text_fixed.as_bytes());
    let header = NpyHeader::from_reader(&rebuilt[..])
        .map_err(|e| bad(path, what, format!("not a valid .npy header: {e}")))?;
    let DType::Plain(ts) = header.dtype() else {
        return Err(bad(
            path,
            what,
            "structured (record) arrays are not supported",
        ));
    };
    let dtype = ts.to_string();
    let size = ts.num_bytes().unwrap_or(0) as u64;
    let kind = match (ts.type_char(), size) {
        (TypeChar::Bool | TypeChar::Uint, 1) => 'u',
        (TypeChar::Int | TypeChar::Uint, 1 | 2 | 4 | 8) => 'i',
        (TypeChar::Float, 2 | 4 | 8) => 'f',
        _ => {
            return Err(bad(
                path,
                what,
                format!(
                    "dtype {dtype} is not supported (bool, integers, float16, float32 or float64)"
                ),
            ));
        }
    };
    let payload = count
        .checked_mul(size)
        .filter(|&p| p <= MAX_ARRAY_BYTES)
        .ok_or_else(|| {
            bad(
                path,
                what,
                format!(
                    "shape {dims:?} of {dtype} is more than {} GiB",
                    MAX_ARRAY_BYTES >> 30
                ),
            )
        })?;
    if let Some(avail) = available
        && avail < header_len + payload
    {
        return Err(truncated(
            "npy payload",
            payload,
            avail.saturating_sub(header_len),
        ));
    }
    // The payload, its values widened, and the pixels made of them must fit the budget
    // before a byte is read (a small zip member can claim gigabytes truthfully).
    let widened = match (kind, size) {
        ('u', _) => 0,
        ('f', 2 | 4) => 4,
        _ => 8,
    };
    let needed = count
        .checked_mul(widened + 1)
        .and_then(|v| v.checked_add(payload));
    crate::budget::Budget::current().check(
        &format!("{}: {what} of shape {dims:?} ({dtype})", path.display()),
        needed,
        "use fewer or smaller images",
    )?;
    let mut data = Vec::with_capacity(payload as usize);
    (&mut *r)
        .take(payload)
        .read_to_end(&mut data)
        .map_err(|e| stream_error(path, e))?;
    if (data.len() as u64) < payload {
        return Err(truncated("npy payload", payload, data.len() as u64));
    }
    // What follows the payload: a file's extra bytes are counted from its length; a stream
    // (a zip member) is read a little further to reach its end, where its CRC is checked.
    let extra = match available {
        Some(avail) if !streamed => avail.saturating_sub(header_len + payload),
        _ => {
            let mut sink = Vec::new();
            (&mut *r)
                .take(EXTRA_PROBE + 1)
                .read_to_end(&mut sink)
                .map_err(|e| stream_error(path, e))? as u64
        }
    };
    let extra = (extra > 0).then(|| {
        if extra > EXTRA_PROBE {
            format!("{what}: more than {EXTRA_PROBE} bytes after the payload its header claims (not read)")
        } else {
            format!("{what}: {extra} bytes after the payload its header claims (ignored)")
        }
    });
    let big = ts.endianness() == Endianness::Big;
    let signed = ts.type_char() == TypeChar::Int;
    let values = decode(data, kind, size as usize, big, signed);
    let shape: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
    let values = if header.order() == Order::Fortran && shape.len() > 1 {
        match values {
            Values::U8(v) => Values::U8(fortran_to_c(&v, &shape)),
            Values::I64(v) => Values::I64(fortran_to_c(&v, &shape)),
            Values::F32(v) => Values::F32(fortran_to_c(&v, &shape)),
            Values::F64(v) => Values::F64(fortran_to_c(&v, &shape)),
        }
    } else {
        values
    };
    Ok(Array {
        shape,
        values,
        dtype,
        extra,
    })
}

/// A read error inside a zip member: a bad CRC or corrupt deflate data.
fn stream_error(path: &Path, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput => Error::BadHeader {
            path: path.into(),
            reason: format!("corrupt archive member ({e})"),
        },
        _ => Error::io(path, e),
    }
}

fn decode(data: Vec<u8>, kind: char, size: usize, big: bool, signed: bool) -> Values {
    // Widens one element to 8 little-endian bytes, sign-extending signed types.
    let word = |c: &[u8]| -> [u8; 8] {
        let mut out = [0u8; 8];
        for (k, &b) in c.iter().enumerate() {
            out[if big { c.len() - 1 - k } else { k }] = b;
        }
        if signed && out[c.len() - 1] & 0x80 != 0 {
            out[c.len()..].fill(0xff);
        }
        out
    };
    match (kind, size) {
        ('u', _) => Values::U8(data),
        ('f', 2) => Values::F32(
            data.chunks_exact(2)
                .map(|c| {
                    let b = [c[0], c[1]];
                    if big {
                        half::f16::from_be_bytes(b).to_f32()
                    } else {
                        half::f16::from_le_bytes(b).to_f32()
                    }
                })
                .collect(),
        ),
        ('f', 4) => Values::F32(
            data.chunks_exact(4)
                .map(|c| {
                    let b = [c[0], c[1], c[2], c[3]];
                    if big {
                        f32::from_be_bytes(b)
                    } else {
                        f32::from_le_bytes(b)
                    }
                })
                .collect(),
        ),
        ('f', _) => Values::F64(
            data.chunks_exact(8)
                .map(|c| f64::from_le_bytes(word(c)))
                .collect(),
        ),
        // u64 values above i64::MAX wrap negative; callers refuse negative labels anyway.
        _ => Values::I64(
            data.chunks_exact(size)
                .map(|c| i64::from_le_bytes(word(c)))
                .collect(),
        ),
    }
}

/// Reorders a Fortran-order (first index fastest) array into C order.
fn fortran_to_c<T: Copy>(v: &[T], shape: &[usize]) -> Vec<T> {
    let nd = shape.len();
    let mut stride = vec![1usize; nd];
    for k in 1..nd {
        stride[k] = stride[k - 1] * shape[k - 1];
    }
    let mut out = Vec::with_capacity(v.len());
    let mut idx = vec![0usize; nd];
    let mut off = 0usize;
    for _ in 0..v.len() {
        out.push(v[off]);
        for k in (0..nd).rev() {
            idx[k] += 1;
            off += stride[k];
            if idx[k] < shape[k] {
                break;
            }
            off -= stride[k] * shape[k];
            idx[k] = 0;
        }
    }
    out
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<Array> {
    let (file, len) = crate::budget::open_regular(path)?;
    read_array(path, "array", &mut BufReader::new(file), Some(len), false)
}

/// An open `.npz` archive.
pub struct Npz {
    path: PathBuf,
    archive: zip::ZipArchive<BufReader<File>>,
}

impl Npz {
    pub fn open(path: &Path) -> Result<Self> {
        let (file, _) = crate::budget::open_regular(path)?;
        let archive = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|e| bad(path, "archive", format!("not a valid .npz (zip) file: {e}")))?;
        Ok(Self {
            path: path.into(),
            archive,
        })
    }

    /// The arrays' names (members ending in `.npy`, without it), in archive order.
    pub fn names(&self) -> Vec<String> {
        self.archive
            .file_names()
            .filter_map(|n| n.ok()?.strip_suffix(".npy").map(String::from))
            .collect()
    }

    /// Reads the array called `name`.
    pub fn read(&mut self, name: &str) -> Result<Array> {
        let what = format!("array '{name}'");
        let path = self.path.clone();
        let mut member = self
            .archive
            .by_name(&format!("{name}.npy"))
            .map_err(|e| bad(&path, &what, e))?;
        let size = member.size();
        read_array(&path, &what, &mut member, Some(size), true)
    }
}

/// Reads the first 8 bytes of a file (fewer when it is shorter).
pub(crate) fn peek(path: &Path) -> Result<Vec<u8>> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = Vec::with_capacity(8);
    (&mut f)
        .take(8)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, e))?;
    f.rewind().map_err(|e| Error::io(path, e))?;
    Ok(buf)
}

fn write_err(e: std::io::Error) -> Error {
    Error::InvalidArgument(format!("encoding a .npy array: {e}"))
}

/// A `.npy` file of f32 values (little-endian "<f4", C order) with `shape`.
pub fn npy_f32(shape: &[usize], values: &[f32]) -> Result<Vec<u8>> {
    npy_of(shape, values)
}

/// A `.npy` file of i64 values ("<i8") with `shape`.
pub fn npy_i64(shape: &[usize], values: &[i64]) -> Result<Vec<u8>> {
    npy_of(shape, values)
}

fn npy_of<T: npyz::AutoSerialize + Copy>(shape: &[usize], values: &[T]) -> Result<Vec<u8>> {
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut buf = Vec::new();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(&mut buf)
        .begin_nd()
        .map_err(write_err)?;
    w.extend(values.iter().copied()).map_err(write_err)?;
    w.finish().map_err(write_err)?;
    Ok(buf)
}

/// An `.npz` archive of named `.npy` files, stored uncompressed as `np.savez` does.
pub fn npz(members: &[(&str, Vec<u8>)]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(
            members
                .iter()
                .any(|(_, b)| b.len() as u64 >= u32::MAX as u64),
        );
    let err = |e: String| Error::InvalidArgument(format!("encoding a .npz archive: {e}"));
    for (name, bytes) in members {
        zip.start_file(format!("{name}.npy"), options)
            .map_err(|e| err(e.to_string()))?;
        zip.write_all(bytes).map_err(|e| err(e.to_string()))?;
    }
    let cursor = zip.finish().map_err(|e| err(e.to_string()))?;
    Ok(cursor.into_inner())
}
