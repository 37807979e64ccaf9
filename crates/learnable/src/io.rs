//! File helpers: atomic writes and safetensors reading/writing of named f32 tensors.

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

/// Reads every tensor of a safetensors file as f32 (F32 stored tensors only).
/// A truncated or malformed file gives [`Error::Format`] naming the file.
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<BTreeMap<String, Tensor>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_safetensors(&bytes, &path.display().to_string())
}

/// Parses safetensors bytes into f32 tensors; `origin` names the source in errors.
pub fn parse_safetensors(bytes: &[u8], origin: &str) -> Result<BTreeMap<String, Tensor>> {
    use safetensors::tensor::Dtype;
    let fmt = |reason: String| Error::Format {
        path: origin.to_string(),
        reason,
    };
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| fmt(e.to_string()))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(fmt(format!(
                "tensor {name} has dtype {:?}, expected F32",
                view.dtype()
            )));
        }
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let t = Tensor::new(data, view.shape()).map_err(|e| fmt(e.to_string()))?;
        out.insert(name, t);
    }
    Ok(out)
}
