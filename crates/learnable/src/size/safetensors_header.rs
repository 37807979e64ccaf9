//! A safetensors header reader that never touches the data section.
//!
//! Format (<https://github.com/huggingface/safetensors>, "Format" section of its README):
//!
//! ```text
//! [8 bytes: N, u64 little-endian] [N bytes: UTF-8 JSON header] [data section]
//! header = { "__metadata__": {str: str}?,  NAME: {"dtype": "F32", "shape": [d0, d1, ...],
//!            "data_offsets": [begin, end]}, ... }
//! ```
//!
//! `begin` and `end` are byte offsets into the data section (which starts right after the
//! header). The reference implementation requires the tensors to tile the data section exactly:
//! sorted by offset, each tensor starts where the previous one ended, the last ends at the end of
//! the file, and `end - begin = numel * bits(dtype) / 8`. This reader enforces the same rules.
//!
//! Why our own reader: counting the parameters of a 140 GB checkpoint must not read (or map)
//! 140 GB. [`read_header`] reads 8 bytes, checks the length against the file size and a cap
//! ([`MAX_HEADER_BYTES`]), then reads exactly the header. Every allocation is bounded by the
//! header length, which is bounded by the file size and the cap, so a hostile length cannot
//! trigger a huge allocation. Every failure is a [`HeaderError`] naming the file and, where one
//! is involved, the tensor.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// Largest header accepted, in bytes (100 MB; the reference implementation also caps it at
/// 100 MB, `MAX_HEADER_SIZE` in safetensors' `tensor.rs`).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// Element types a safetensors file may declare, with their width in bits (as in the
/// safetensors crate 0.8, `Dtype::bitsize`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[allow(non_camel_case_types, missing_docs)]
pub enum StDtype {
    BOOL,
    F4,
    F6_E2M3,
    F6_E3M2,
    U8,
    I8,
    F8_E5M2,
    F8_E4M3,
    F8_E8M0,
    F8_E4M3FNUZ,
    F8_E5M2FNUZ,
    I16,
    U16,
    F16,
    BF16,
    I32,
    U32,
    F32,
    C64,
    F64,
    I64,
    U64,
}

impl StDtype {
    /// Every dtype, for lookups by name.
    pub const ALL: [StDtype; 22] = [
        StDtype::BOOL,
        StDtype::F4,
        StDtype::F6_E2M3,
        StDtype::F6_E3M2,
        StDtype::U8,
        StDtype::I8,
        StDtype::F8_E5M2,
        StDtype::F8_E4M3,
        StDtype::F8_E8M0,
        StDtype::F8_E4M3FNUZ,
        StDtype::F8_E5M2FNUZ,
        StDtype::I16,
        StDtype::U16,
        StDtype::F16,
        StDtype::BF16,
        StDtype::I32,
        StDtype::U32,
        StDtype::F32,
        StDtype::C64,
        StDtype::F64,
        StDtype::I64,
        StDtype::U64,
    ];

    /// The name used in the header, e.g. `"F32"`.
    pub fn name(self) -> &'static str {
        match self {
            StDtype::BOOL => "BOOL",
            StDtype::F4 => "F4",
            StDtype::F6_E2M3 => "F6_E2M3",
            StDtype::F6_E3M2 => "F6_E3M2",
            StDtype::U8 => "U8",
            StDtype::I8 => "I8",
            StDtype::F8_E5M2 => "F8_E5M2",
            StDtype::F8_E4M3 => "F8_E4M3",
            StDtype::F8_E8M0 => "F8_E8M0",
            StDtype::F8_E4M3FNUZ => "F8_E4M3FNUZ",
            StDtype::F8_E5M2FNUZ => "F8_E5M2FNUZ",
            StDtype::I16 => "I16",
            StDtype::U16 => "U16",
            StDtype::F16 => "F16",
            StDtype::BF16 => "BF16",
            StDtype::I32 => "I32",
            StDtype::U32 => "U32",
            StDtype::F32 => "F32",
            StDtype::C64 => "C64",
            StDtype::F64 => "F64",
            StDtype::I64 => "I64",
            StDtype::U64 => "U64",
        }
    }

    /// Parses a header dtype name; `None` if unknown.
    pub fn from_name(name: &str) -> Option<StDtype> {
        StDtype::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Width of one element in bits.
    pub fn bits(self) -> u64 {
        match self {
            StDtype::F4 => 4,
            StDtype::F6_E2M3 | StDtype::F6_E3M2 => 6,
            StDtype::BOOL
            | StDtype::U8
            | StDtype::I8
            | StDtype::F8_E5M2
            | StDtype::F8_E4M3
            | StDtype::F8_E8M0
            | StDtype::F8_E4M3FNUZ
            | StDtype::F8_E5M2FNUZ => 8,
            StDtype::I16 | StDtype::U16 | StDtype::F16 | StDtype::BF16 => 16,
            StDtype::I32 | StDtype::U32 | StDtype::F32 => 32,
            StDtype::C64 | StDtype::F64 | StDtype::I64 | StDtype::U64 => 64,
        }
    }
}

impl fmt::Display for StDtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One tensor as the header declares it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TensorInfo {
    /// Tensor name, e.g. `transformer.h.0.attn.c_attn.weight`.
    pub name: String,
    /// Element type.
    pub dtype: StDtype,
    /// Shape; `[]` is a scalar (1 element).
    pub shape: Vec<u64>,
    /// Number of elements (product of `shape`).
    pub numel: u64,
    /// `[begin, end)` byte offsets into the data section.
    pub data_offsets: [u64; 2],
}

/// A validated header: tensors in header order, plus the metadata map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafetensorsHeader {
    /// Tensors in the order the header lists them.
    pub tensors: Vec<TensorInfo>,
    /// The optional `__metadata__` map (string to string).
    pub metadata: BTreeMap<String, String>,
    /// Length of the JSON header in bytes (N).
    pub header_len: u64,
    /// Length of the data section in bytes (file length - 8 - N).
    pub data_len: u64,
}

impl SafetensorsHeader {
    /// Sum of the element counts of all tensors.
    pub fn total_elements(&self) -> u64 {
        // Cannot overflow: each tensor's bytes are within data_len, and numel <= 8 * bytes / 4.
        self.tensors.iter().map(|t| t.numel).sum()
    }
}

/// What is wrong with a safetensors file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderErrorKind {
    /// The path is not a regular file (a device such as `/dev/zero`, a directory, a pipe): its
    /// length is unknown, so it is not read.
    #[error("not a regular file ({what})")]
    NotAFile {
        /// What it is, e.g. `a character device`.
        what: &'static str,
    },
    /// The file is shorter than the 8-byte length prefix.
    #[error("file is {file_len} bytes, too short to hold the 8-byte header length")]
    TooShort {
        /// File length in bytes.
        file_len: u64,
    },
    /// The declared header length exceeds [`MAX_HEADER_BYTES`].
    #[error("header length {len} bytes exceeds the cap of {cap} bytes")]
    HeaderTooLarge {
        /// Declared header length.
        len: u64,
        /// The cap.
        cap: u64,
    },
    /// The declared header length runs past the end of the file.
    #[error("header length {len} bytes runs past the end of the file ({file_len} bytes)")]
    HeaderPastEnd {
        /// Declared header length.
        len: u64,
        /// File length in bytes.
        file_len: u64,
    },
    /// The header is not valid UTF-8 JSON of the expected form.
    #[error("header is not valid safetensors JSON: {reason}")]
    InvalidJson {
        /// The parser's message.
        reason: String,
    },
    /// The same tensor name appears twice.
    #[error("tensor {tensor} appears twice in the header")]
    DuplicateTensor {
        /// Tensor name.
        tensor: String,
    },
    /// A dtype name that safetensors does not define.
    #[error("tensor {tensor}: unknown dtype {dtype:?}")]
    UnknownDtype {
        /// Tensor name.
        tensor: String,
        /// The dtype string found.
        dtype: String,
    },
    /// The product of the shape, or its size in bytes, does not fit in 64 bits.
    #[error(
        "tensor {tensor}: shape {shape} is too large (element or byte count overflows 64 bits)"
    )]
    ShapeOverflow {
        /// Tensor name.
        tensor: String,
        /// The shape, formatted.
        shape: String,
    },
    /// `begin > end`.
    #[error("tensor {tensor}: data_offsets [{begin}, {end}] end before they begin")]
    OffsetsReversed {
        /// Tensor name.
        tensor: String,
        /// Declared begin.
        begin: u64,
        /// Declared end.
        end: u64,
    },
    /// `end` is past the end of the data section.
    #[error(
        "tensor {tensor}: data_offsets [{begin}, {end}] run past the end of the data section ({data_len} bytes)"
    )]
    OffsetsPastEnd {
        /// Tensor name.
        tensor: String,
        /// Declared begin.
        begin: u64,
        /// Declared end.
        end: u64,
        /// Data section length in bytes.
        data_len: u64,
    },
    /// `end - begin` differs from `numel * bits / 8`.
    #[error(
        "tensor {tensor}: data_offsets span {got} bytes but shape {shape} of {dtype} needs {expected} bytes"
    )]
    SizeMismatch {
        /// Tensor name.
        tensor: String,
        /// The shape, formatted.
        shape: String,
        /// The dtype.
        dtype: StDtype,
        /// Bytes the shape and dtype need.
        expected: u64,
        /// Bytes the offsets span.
        got: u64,
    },
    /// A sub-byte dtype whose elements do not fill a whole number of bytes.
    #[error("tensor {tensor}: {numel} elements of {dtype} do not fill a whole number of bytes")]
    MisalignedBits {
        /// Tensor name.
        tensor: String,
        /// Element count.
        numel: u64,
        /// The dtype.
        dtype: StDtype,
    },
    /// Two tensors' byte ranges overlap.
    #[error(
        "tensor {tensor}: data_offsets [{begin}, {end}] overlap tensor {other} [{other_begin}, {other_end}]"
    )]
    Overlap {
        /// Tensor name.
        tensor: String,
        /// Its begin.
        begin: u64,
        /// Its end.
        end: u64,
        /// The tensor it overlaps.
        other: String,
        /// That tensor's begin.
        other_begin: u64,
        /// That tensor's end.
        other_end: u64,
    },
    /// Bytes of the data section that belong to no tensor (before `tensor`, or at the end).
    #[error("data section bytes [{begin}, {end}) belong to no tensor (next tensor: {next})")]
    Gap {
        /// First uncovered byte.
        begin: u64,
        /// One past the last uncovered byte.
        end: u64,
        /// The tensor after the gap, or `end of file`.
        next: String,
    },
}

/// A safetensors file that could not be read, with the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid safetensors file.
    #[error("invalid safetensors file {path}: {kind}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        kind: HeaderErrorKind,
    },
}

impl From<HeaderError> for crate::Error {
    /// [`HeaderError::Io`] becomes [`crate::Error::Io`], [`HeaderError::Invalid`] becomes
    /// [`crate::Error::Format`] with the file and the [`HeaderErrorKind`] message.
    fn from(e: HeaderError) -> Self {
        match e {
            HeaderError::Io { path, source } => crate::Error::Io { path, source },
            HeaderError::Invalid { path, kind } => crate::Error::Format {
                path,
                reason: kind.to_string(),
            },
        }
    }
}

impl HeaderError {
    /// The reason, if the file was readable but invalid.
    pub fn kind(&self) -> Option<&HeaderErrorKind> {
        match self {
            HeaderError::Invalid { kind, .. } => Some(kind),
            HeaderError::Io { .. } => None,
        }
    }
}

fn fmt_shape(shape: &[u64]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// Reads and validates the header of the safetensors file at `path`, reading only
/// `8 + N` bytes (N = the declared header length, at most [`MAX_HEADER_BYTES`]).
///
/// Errors: [`HeaderError::Io`] if the file cannot be read; [`HeaderError::Invalid`] for every
/// malformed case listed in [`HeaderErrorKind`], including a path that is not a regular file
/// (`/dev/zero`, a FIFO), whose length is unknown.
pub fn read_header(path: impl AsRef<Path>) -> Result<SafetensorsHeader, HeaderError> {
    open_header(path).map(|(header, _)| header)
}

/// As [`read_header`], also returning the open file positioned at the first byte of the data
/// section, so that a loader reads the tensors without opening the file again (see
/// `learnable::io::read_safetensors`).
pub fn open_header(
    path: impl AsRef<Path>,
) -> Result<(SafetensorsHeader, std::fs::File), HeaderError> {
    let path = path.as_ref();
    let origin = path.display().to_string();
    let io = |source| HeaderError::Io {
        path: origin.clone(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(HeaderError::Invalid {
            path: origin,
            kind: HeaderErrorKind::NotAFile {
                what: file_type_name(&meta.file_type()),
            },
        });
    }
    let header = read_header_from(&mut file, meta.len(), &origin)?;
    Ok((header, file))
}

/// What a non-regular file is, for [`HeaderErrorKind::NotAFile`] and capped reads.
pub(crate) fn file_type_name(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_fifo() {
            return "a pipe";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Reads and validates a header from `reader`, positioned at the start of a safetensors file
/// of `file_len` bytes; `origin` names the file in errors. Reads the 8-byte length, checks it
/// against [`MAX_HEADER_BYTES`] and `file_len`, and only then reads the `N` header bytes, so a
/// hostile length allocates nothing. Leaves `reader` at the first byte of the data section.
pub fn read_header_from(
    reader: &mut impl Read,
    file_len: u64,
    origin: &str,
) -> Result<SafetensorsHeader, HeaderError> {
    let io = |source| HeaderError::Io {
        path: origin.to_string(),
        source,
    };
    let len = check_prefix_len(file_len, |buf| reader.read_exact(buf))
        .map_err(|e| e.into_header_error(origin))?;
    // `len` <= MAX_HEADER_BYTES and 8 + len <= file_len, checked above: the allocation is bounded.
    let mut json = vec![0u8; len as usize];
    reader.read_exact(&mut json).map_err(io)?;
    parse_json(&json, file_len - 8 - len).map_err(|kind| HeaderError::Invalid {
        path: origin.to_string(),
        kind,
    })
}

/// Validates the header of safetensors `bytes` held in memory (the whole file, or at least its
/// first `8 + N` bytes when `file_len` is given separately as `bytes.len()`); `origin` names the
/// source in errors. Same checks as [`read_header`]; used by tests and the fuzzer.
pub fn parse_header(bytes: &[u8], origin: &str) -> Result<SafetensorsHeader, HeaderError> {
    let file_len = bytes.len() as u64;
    let mut cursor = bytes;
    let len = check_prefix_len(file_len, |buf| cursor.read_exact(buf))
        .map_err(|e| e.into_header_error(origin))?;
    let json = &bytes[8..8 + len as usize];
    parse_json(json, file_len - 8 - len).map_err(|kind| HeaderError::Invalid {
        path: origin.to_string(),
        kind,
    })
}

enum PrefixError {
    Io(std::io::Error),
    Kind(HeaderErrorKind),
}

impl PrefixError {
    fn into_header_error(self, origin: &str) -> HeaderError {
        match self {
            PrefixError::Io(source) => HeaderError::Io {
                path: origin.to_string(),
                source,
            },
            PrefixError::Kind(kind) => HeaderError::Invalid {
                path: origin.to_string(),
                kind,
            },
        }
    }
}

/// Reads the 8-byte length and checks it against the cap and the file length.
fn check_prefix_len(
    file_len: u64,
    read8: impl FnOnce(&mut [u8]) -> std::io::Result<()>,
) -> Result<u64, PrefixError> {
    if file_len < 8 {
        return Err(PrefixError::Kind(HeaderErrorKind::TooShort { file_len }));
    }
    let mut prefix = [0u8; 8];
    read8(&mut prefix).map_err(PrefixError::Io)?;
    let len = u64::from_le_bytes(prefix);
    if len > MAX_HEADER_BYTES {
        return Err(PrefixError::Kind(HeaderErrorKind::HeaderTooLarge {
            len,
            cap: MAX_HEADER_BYTES,
        }));
    }
    if len > file_len - 8 {
        return Err(PrefixError::Kind(HeaderErrorKind::HeaderPastEnd {
            len,
            file_len,
        }));
    }
    Ok(len)
}

/// The raw JSON entry of one tensor.
#[derive(Deserialize)]
struct RawTensor {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

/// The header as an ordered list of entries, so that duplicates are seen (serde maps would
/// keep the last one silently).
struct RawHeader {
    metadata: Option<BTreeMap<String, String>>,
    tensors: Vec<(String, RawTensor)>,
    duplicate: Option<String>,
}

impl<'de> Deserialize<'de> for RawHeader {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawHeader;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object mapping tensor names to {dtype, shape, data_offsets}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawHeader, A::Error> {
                let mut out = RawHeader {
                    metadata: None,
                    tensors: Vec::new(),
                    duplicate: None,
                };
                let mut seen = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        if out.duplicate.is_none() {
                            out.duplicate = Some(key.clone());
                        }
                        let _ = map.next_value::<de::IgnoredAny>()?;
                        continue;
                    }
                    if key == "__metadata__" {
                        let m: BTreeMap<String, String> = map.next_value().map_err(|e| {
                            de::Error::custom(format!(
                                "__metadata__ must map strings to strings ({e})"
                            ))
                        })?;
                        out.metadata = Some(m);
                    } else {
                        let t: RawTensor = map
                            .next_value()
                            .map_err(|e| de::Error::custom(format!("tensor {key}: {e}")))?;
                        out.tensors.push((key, t));
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

/// Validates the JSON header against a data section of `data_len` bytes.
fn parse_json(json: &[u8], data_len: u64) -> Result<SafetensorsHeader, HeaderErrorKind> {
    let invalid = |reason: String| HeaderErrorKind::InvalidJson { reason };
    if json.first() != Some(&b'{') {
        return Err(invalid("header does not start with '{'".to_string()));
    }
    let raw: RawHeader = serde_json::from_slice(json).map_err(|e| invalid(e.to_string()))?;
    if let Some(tensor) = raw.duplicate {
        return Err(HeaderErrorKind::DuplicateTensor { tensor });
    }
    let mut tensors = Vec::with_capacity(raw.tensors.len());
    for (name, t) in raw.tensors {
        let dtype = StDtype::from_name(&t.dtype).ok_or_else(|| HeaderErrorKind::UnknownDtype {
            tensor: name.clone(),
            dtype: t.dtype.clone(),
        })?;
        let overflow = || HeaderErrorKind::ShapeOverflow {
            tensor: name.clone(),
            shape: fmt_shape(&t.shape),
        };
        let numel = if t.shape.contains(&0) {
            0
        } else {
            t.shape
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d))
                .ok_or_else(overflow)?
        };
        let bits = numel.checked_mul(dtype.bits()).ok_or_else(overflow)?;
        if bits % 8 != 0 {
            return Err(HeaderErrorKind::MisalignedBits {
                tensor: name,
                numel,
                dtype,
            });
        }
        let expected = bits / 8;
        let [begin, end] = t.data_offsets;
        if begin > end {
            return Err(HeaderErrorKind::OffsetsReversed {
                tensor: name,
                begin,
                end,
            });
        }
        if end > data_len {
            return Err(HeaderErrorKind::OffsetsPastEnd {
                tensor: name,
                begin,
                end,
                data_len,
            });
        }
        if end - begin != expected {
            return Err(HeaderErrorKind::SizeMismatch {
                tensor: name,
                shape: fmt_shape(&t.shape),
                dtype,
                expected,
                got: end - begin,
            });
        }
        tensors.push(TensorInfo {
            name,
            dtype,
            shape: t.shape,
            numel,
            data_offsets: [begin, end],
        });
    }
    // The tensors must tile [0, data_len) exactly, as the reference implementation requires.
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by_key(|&i| (tensors[i].data_offsets, i));
    let mut covered = 0u64;
    let mut prev: Option<usize> = None;
    for &i in &order {
        let t = &tensors[i];
        let [begin, end] = t.data_offsets;
        if begin < covered {
            // `prev` is set: covered > 0 only after a tensor.
            let p = &tensors[prev.unwrap_or(i)];
            return Err(HeaderErrorKind::Overlap {
                tensor: t.name.clone(),
                begin,
                end,
                other: p.name.clone(),
                other_begin: p.data_offsets[0],
                other_end: p.data_offsets[1],
            });
        }
        if begin > covered {
            return Err(HeaderErrorKind::Gap {
                begin: covered,
                end: begin,
                next: t.name.clone(),
            });
        }
        covered = end;
        prev = Some(i);
    }
    if covered != data_len {
        return Err(HeaderErrorKind::Gap {
            begin: covered,
            end: data_len,
            next: "end of file".to_string(),
        });
    }
    Ok(SafetensorsHeader {
        tensors,
        metadata: raw.metadata.unwrap_or_default(),
        header_len: json.len() as u64,
        data_len,
    })
}
