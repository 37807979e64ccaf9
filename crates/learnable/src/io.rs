//! File helpers: atomic writes, capped reads of small text files, JSON parsing whose errors
//! name the field path, and safetensors reading/writing of named f32 tensors.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, rename.
/// A crash leaves either the old file or the new one, never a half-written file.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{}.tmp{}", file_name, std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Largest model `config.json` read, in bytes (64 MiB; a real one is a few kilobytes, or a few
/// megabytes with many one-hot categories).
pub const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// Reads a small text file whole (a config.json, an index), refusing before reading it one
/// that is not a regular file (`/dev/zero`, a pipe, a directory) or is larger than `max_bytes`;
/// `what` says what the file is in errors (`model config`). A file that grows while being read
/// is cut at `max_bytes + 1` bytes and refused the same way, so no more than that is ever read.
///
/// # Errors
/// [`Error::Io`] naming the file if it cannot be opened or read; [`Error::Format`] naming the
/// file for a non-regular file (`not a regular file (a character device); a model config must
/// be a file`), a file over the cap (`200000000 bytes, more than the 67108864 bytes a model
/// config may have`), or text that is not UTF-8.
pub fn read_to_string_capped(path: impl AsRef<Path>, max_bytes: u64, what: &str) -> Result<String> {
    use std::io::Read;
    let path = path.as_ref();
    let bad = |reason: String| Error::Format {
        path: path.display().to_string(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(bad(format!(
            "not a regular file ({}); a {what} must be a file",
            crate::size::safetensors_header::file_type_name(&meta.file_type())
        )));
    }
    let too_big = |len: u64| {
        bad(format!(
            "{len} bytes, more than the {max_bytes} bytes a {what} may have"
        ))
    };
    if meta.len() > max_bytes {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_big(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        bad(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Parses JSON `text` into `T`; `origin` (the file) is named in errors, with the path of the
/// field at fault as written in the file: `field network.hidden[0]: invalid value: integer
/// `-5`, expected usize at line 7 column 13` (the field path comes from
/// `serde_path_to_error`; `.` would be the document itself, and is left out).
///
/// # Errors
/// [`Error::Format`] naming `origin`, the field path and serde's message, for malformed JSON,
/// a missing field, or a value of the wrong type or range.
pub fn parse_json<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(e, origin))?;
    de.end().map_err(|e| Error::Format {
        path: origin.to_string(),
        reason: e.to_string(),
    })?;
    Ok(value)
}

/// As [`parse_json`], for JSON already parsed into a [`serde_json::Value`] (serde gives no
/// line and column then, but the field path is named all the same).
pub fn from_json_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    origin: &str,
) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| json_error(e, origin))
}

/// Reads a JSON file with [`read_to_string_capped`] and parses it with [`parse_json`].
pub fn read_json_file<T: serde::de::DeserializeOwned>(
    path: impl AsRef<Path>,
    max_bytes: u64,
    what: &str,
) -> Result<T> {
    let path = path.as_ref();
    let text = read_to_string_capped(path, max_bytes, what)?;
    parse_json(&text, &path.display().to_string())
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>, origin: &str) -> Error {
    let path = e.path().to_string();
    let inner = e.into_inner();
    Error::Format {
        path: origin.to_string(),
        reason: if path == "." {
            inner.to_string()
        } else {
            format!("field {path}: {inner}")
        },
    }
}

/// Serialises named f32 tensors to safetensors bytes, deterministically: tensors sorted by name,
/// data in that order, header keys (and metadata keys) sorted, header padded with spaces to a
/// multiple of 8 bytes as the format asks. The same tensors and metadata always give the same
/// bytes (the `safetensors` crate writes metadata in `HashMap` order, which varies by run).
/// Format: <https://github.com/huggingface/safetensors#format>.
pub fn safetensors_bytes<'a>(
    tensors: impl IntoIterator<Item = (&'a str, &'a Tensor)>,
    metadata: Option<std::collections::HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let mut items: Vec<(&str, &Tensor)> = tensors.into_iter().collect();
    items.sort_by(|a, b| a.0.cmp(b.0));
    let mut header = serde_json::Map::new();
    if let Some(meta) = metadata {
        let sorted: BTreeMap<String, String> = meta.into_iter().collect();
        header.insert(
            "__metadata__".into(),
            serde_json::to_value(sorted).map_err(|e| Error::Other(e.to_string()))?,
        );
    }
    let mut offset = 0usize;
    for (name, t) in &items {
        if header.contains_key(*name) {
            return Err(Error::Other(format!(
                "safetensors: tensor {name} given twice"
            )));
        }
        let end = offset + t.numel() * 4;
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": "F32", "shape": t.shape(), "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    // serde_json's Map is a BTreeMap (no preserve_order feature): keys come out sorted.
    let mut json = serde_json::to_string(&header)
        .map_err(|e| Error::Other(e.to_string()))?
        .into_bytes();
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + offset);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    for (_, t) in &items {
        for v in t.data() {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    Ok(out)
}

/// Writes named f32 tensors to a safetensors file, atomically.
pub fn save_safetensors<'a>(
    path: impl AsRef<Path>,
    tensors: impl IntoIterator<Item = (&'a str, &'a Tensor)>,
) -> Result<()> {
    let bytes = safetensors_bytes(tensors, None)?;
    write_atomic(path, &bytes)
}

/// The tensors and metadata of a safetensors file.
#[derive(Clone, Debug, Default)]
pub struct SafetensorsFile {
    /// Every tensor, by name, as f32.
    pub tensors: BTreeMap<String, Tensor>,
    /// The header's `__metadata__` map (empty when absent).
    pub metadata: BTreeMap<String, String>,
}

/// Reads every tensor of a safetensors file as f32 (F32 stored tensors only), with the
/// header's metadata. A tensor holding NaN or an infinity is refused: weights, gradients and
/// optimizer moments are finite, and a non-finite one would only give NaN outputs later.
///
/// The header goes through the hardened reader of [`crate::size::safetensors_header`]: the
/// 8-byte length is checked against the file size and a 100 MB cap before the header is read,
/// and every tensor's dtype, shape and byte range are checked against the file before any
/// tensor data is read; then the tensors are read one by one, each into its own buffer (no
/// copy of the whole file in memory). Only regular files are read (`/dev/zero` or a pipe is
/// refused at once).
///
/// # Errors
/// [`Error::Io`] naming the file if it cannot be opened or read; [`Error::Format`] naming the
/// file and, where one is involved, the tensor, with the declared and actual sizes: a file
/// shorter than 8 bytes, a header length past the end of the file or over the cap, invalid
/// header JSON, a tensor whose byte range runs past the end of the file or disagrees with its
/// shape, gaps or overlaps between tensors, a dtype other than F32, and a NaN or infinite
/// value (`tensor layers.1.weight holds NaN (first at index 12 of 48)`).
pub fn read_safetensors(path: impl AsRef<Path>) -> Result<SafetensorsFile> {
    use std::io::Read;
    let path = path.as_ref();
    let origin = path.display().to_string();
    let (header, mut file) = crate::size::safetensors_header::open_header(path)?;
    check_f32(&header, &origin)?;
    // The tensors tile the data section (checked by the header reader): read them in offset
    // order, straight from the file into each tensor's f32 buffer.
    let mut order: Vec<&crate::size::TensorInfo> = header.tensors.iter().collect();
    order.sort_by_key(|t| t.data_offsets);
    let mut tensors = BTreeMap::new();
    for t in order {
        let mut data = vec![0f32; t.numel as usize];
        file.read_exact(bytemuck::cast_slice_mut(&mut data))
            .map_err(|e| {
                let reason = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    format!(
                        "tensor {}: the file ended inside its data_offsets [{}, {}] (did it \
                         change while being read?)",
                        t.name, t.data_offsets[0], t.data_offsets[1]
                    )
                } else {
                    format!("tensor {}: {e}", t.name)
                };
                Error::Format {
                    path: origin.clone(),
                    reason,
                }
            })?;
        // Stored little-endian; a no-op on little-endian machines.
        for v in &mut data {
            *v = f32::from_bits(u32::from_le(v.to_bits()));
        }
        tensors.insert(t.name.clone(), tensor_of(t, data, &origin)?);
    }
    Ok(SafetensorsFile {
        tensors,
        metadata: header.metadata,
    })
}

/// Reads every tensor of a safetensors file as f32 (F32 stored tensors only); see
/// [`read_safetensors`] for the checks and errors.
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<BTreeMap<String, Tensor>> {
    Ok(read_safetensors(path)?.tensors)
}

/// Parses safetensors bytes held in memory into f32 tensors and metadata; `origin` names the
/// source in errors. Same checks and errors as [`read_safetensors`].
pub fn parse_safetensors_file(bytes: &[u8], origin: &str) -> Result<SafetensorsFile> {
    let header = crate::size::safetensors_header::parse_header(bytes, origin)?;
    check_f32(&header, origin)?;
    // parse_header checked 8 + header_len + data_len == bytes.len() and every range.
    let data = &bytes[8 + header.header_len as usize..];
    let mut tensors = BTreeMap::new();
    for t in &header.tensors {
        let [begin, end] = t.data_offsets;
        let values: Vec<f32> = data[begin as usize..end as usize]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.insert(t.name.clone(), tensor_of(t, values, origin)?);
    }
    Ok(SafetensorsFile {
        tensors,
        metadata: header.metadata,
    })
}

/// Parses safetensors bytes into f32 tensors; `origin` names the source in errors. See
/// [`parse_safetensors_file`].
pub fn parse_safetensors(bytes: &[u8], origin: &str) -> Result<BTreeMap<String, Tensor>> {
    Ok(parse_safetensors_file(bytes, origin)?.tensors)
}

/// Refuses any tensor not stored as F32, before any data is read.
fn check_f32(header: &crate::size::SafetensorsHeader, origin: &str) -> Result<()> {
    use crate::size::StDtype;
    match header.tensors.iter().find(|t| t.dtype != StDtype::F32) {
        Some(t) => Err(Error::Format {
            path: origin.to_string(),
            reason: format!("tensor {} has dtype {}, expected F32", t.name, t.dtype),
        }),
        None => Ok(()),
    }
}

/// The tensor `info` describes, holding `data`; refuses NaN and infinite values, naming the
/// tensor, the value and the (row-major) index of the first one.
fn tensor_of(info: &crate::size::TensorInfo, data: Vec<f32>, origin: &str) -> Result<Tensor> {
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(Error::Format {
            path: origin.to_string(),
            reason: format!(
                "tensor {} holds {} (first at index {i} of {})",
                info.name,
                data[i],
                data.len()
            ),
        });
    }
    let shape: Vec<usize> = info.shape.iter().map(|&d| d as usize).collect();
    Tensor::new(data, &shape).map_err(|e| Error::Format {
        path: origin.to_string(),
        reason: format!("tensor {}: {e}", info.name),
    })
}
