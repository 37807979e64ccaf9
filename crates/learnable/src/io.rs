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
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
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

/// Serialises named f32 tensors to safetensors bytes (keys sorted, as PyTorch's
/// `safetensors.torch.save_file` would lay them out).
pub fn safetensors_bytes<'a>(
    tensors: impl IntoIterator<Item = (&'a str, &'a Tensor)>,
    metadata: Option<std::collections::HashMap<String, String>>,
) -> Result<Vec<u8>> {
    use safetensors::tensor::{Dtype, TensorView};
    let mut views = Vec::new();
    for (name, t) in tensors {
        let bytes: &[u8] = bytemuck::cast_slice(t.data());
        let view = TensorView::new(Dtype::F32, t.shape().to_vec(), bytes)
            .map_err(|e| Error::Other(format!("safetensors: tensor {name}: {e}")))?;
        views.push((name.to_string(), view));
    }
    safetensors::serialize(views, metadata).map_err(|e| Error::Other(format!("safetensors: {e}")))
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
    let fmt = |reason: String| Error::Format { path: origin.to_string(), reason };
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| fmt(e.to_string()))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(fmt(format!("tensor {name} has dtype {:?}, expected F32", view.dtype())));
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
