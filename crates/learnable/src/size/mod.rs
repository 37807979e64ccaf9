//! Model size: exact parameter counts and the memory they take.
//!
//! Answers "how big is this model, and what does it take to run or train it?" for:
//!
//! * a model directory (`model.safetensors` or a sharded `model.safetensors.index.json`, plus
//!   an optional `config.json`): the count comes from the safetensors headers, tensor by tensor;
//! * a preset ([`presets`]): a published architecture written out from its published config;
//! * a Hugging Face `config.json` ([`hf_config`]): GPT-2, Llama and Mistral layouts;
//! * a `.safetensors` file, of which only the header is read ([`safetensors_header`]);
//! * a sharded `model.safetensors.index.json`: every shard's header is read.
//!
//! [`analyze`] turns a [`Target`] into a [`report::Report`]: total, trainable, embedding and
//! non-embedding parameters, weight bytes at each dtype, AdamW training memory as accelerate's
//! `estimate-memory` counts it ([`memory`]), and the KV cache per token for transformers.
//!
//! Parameter counts follow PyTorch's `sum(p.numel() for p in model.parameters())`: tied tensors
//! count once, buffers do not count. "Embedding" is the input token embedding, as in
//! `fixtures/reference/param_counts.json` ("non_embedding = total - input embedding").

pub mod hf_config;
pub mod memory;
pub mod presets;
pub mod report;
pub mod safetensors_header;
pub mod transformer;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use memory::{TrainingMemory, WeightDtype};
pub use presets::{PRESET_NAMES, Preset, preset};
pub use report::Report;
pub use safetensors_header::{
    HeaderError, HeaderErrorKind, SafetensorsHeader, StDtype, TensorInfo, read_header,
};
pub use transformer::{FieldNames, Layout, ParamCounts, TransformerConfig};

use report::{DtypeBytes, KvCache, Parameters, Stored, TargetKind, TensorRow, Training};

/// Largest JSON file (config or shard index) read, in bytes.
pub const MAX_JSON_BYTES: u64 = 100_000_000;

/// Errors of the size module; each names the file (or target) it concerns.
#[derive(Debug, thiserror::Error)]
pub enum SizeError {
    /// A safetensors file is unreadable or malformed.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A config.json is malformed or describes an unsupported architecture.
    #[error("invalid config {path}: {reason}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A sharded index is malformed or disagrees with its shards.
    #[error("invalid shard index {path}: {reason}")]
    Index {
        /// The index file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A model directory holds no weights.
    #[error("{path}: not a model directory ({reason})")]
    NotAModel {
        /// The directory.
        path: String,
        /// What is missing.
        reason: String,
    },
    /// The target is neither an existing path nor a preset name.
    #[error(
        "{target:?} is neither an existing file or directory nor a preset (presets: {presets})"
    )]
    UnknownTarget {
        /// What was given.
        target: String,
        /// The preset names.
        presets: String,
    },
    /// An option is outside its allowed range, or a size overflows 64 bits.
    #[error("invalid value for {name}: {value} (allowed: {allowed})")]
    InvalidArgument {
        /// The option.
        name: String,
        /// The value.
        value: String,
        /// What is allowed.
        allowed: String,
    },
}

impl From<SizeError> for crate::Error {
    fn from(e: SizeError) -> Self {
        match e {
            SizeError::Io { path, source } => crate::Error::Io { path, source },
            SizeError::Header(e) => e.into(),
            SizeError::Config { path, reason }
            | SizeError::Index { path, reason }
            | SizeError::NotAModel { path, reason } => crate::Error::Format { path, reason },
            SizeError::InvalidArgument {
                name,
                value,
                allowed,
            } => crate::Error::InvalidArgument {
                name,
                value,
                allowed,
            },
            e @ SizeError::UnknownTarget { .. } => crate::Error::Other(e.to_string()),
        }
    }
}

/// What to count.
#[derive(Clone, Debug)]
pub enum Target {
    /// A published architecture.
    Preset(Preset),
    /// A Hugging Face config.json.
    HfConfig(PathBuf),
    /// A single .safetensors file.
    Safetensors(PathBuf),
    /// A sharded `model.safetensors.index.json`.
    ShardIndex(PathBuf),
    /// A directory with `model.safetensors` (or a shard index) and optionally `config.json`.
    ModelDir(PathBuf),
}

/// Options of a report.
#[derive(Clone, Debug)]
pub struct Options {
    /// Dtypes to report weight and KV-cache bytes in; the first one is used in the summary.
    pub dtypes: Vec<WeightDtype>,
    /// Batch size for the KV-cache total (default 1).
    pub batch_size: Option<u64>,
    /// Sequence length for the KV-cache total (default: the model's context length).
    pub seq_len: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dtypes: WeightDtype::ALL.to_vec(),
            batch_size: None,
            seq_len: None,
        }
    }
}

fn io_err(path: &Path, source: std::io::Error) -> SizeError {
    SizeError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads a JSON file of at most [`MAX_JSON_BYTES`] (a regular file, its size checked before
/// it is read: `learnable::io::read_to_string_capped`).
fn read_json(path: &Path) -> Result<Value, SizeError> {
    let origin = path.display().to_string();
    let config = |reason: String| SizeError::Config {
        path: origin.clone(),
        reason,
    };
    let text = crate::io::read_to_string_capped(path, MAX_JSON_BYTES, "JSON config or index")
        .map_err(|e| match e {
            crate::Error::Io { path, source } => SizeError::Io { path, source },
            crate::Error::Format { reason, .. } => config(reason),
            e => config(e.to_string()),
        })?;
    crate::io::parse_json(&text, &origin).map_err(|e| match e {
        crate::Error::Format { reason, .. } => config(format!("not valid JSON: {reason}")),
        e => config(e.to_string()),
    })
}

/// Decides what `target` names: an existing directory, a `.safetensors` file, a shard index
/// (`*.index.json`, or any JSON with a `weight_map`), a config.json, else a preset name.
pub fn resolve_target(target: &str) -> Result<Target, SizeError> {
    let path = Path::new(target);
    if path.is_dir() {
        return Ok(Target::ModelDir(path.to_path_buf()));
    }
    if path.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if name.ends_with(".safetensors") {
            return Ok(Target::Safetensors(path.to_path_buf()));
        }
        if name.ends_with(".index.json") {
            return Ok(Target::ShardIndex(path.to_path_buf()));
        }
        if name.ends_with(".json") {
            let v = read_json(path)?;
            if v.get("weight_map").is_some() {
                return Ok(Target::ShardIndex(path.to_path_buf()));
            }
            return Ok(Target::HfConfig(path.to_path_buf()));
        }
        // Anything else: sniff for a safetensors header (8-byte length then '{').
        return Ok(Target::Safetensors(path.to_path_buf()));
    }
    if let Ok(meta) = std::fs::metadata(path) {
        // Exists but is neither a file nor a directory (/dev/zero, a pipe): never read it.
        return Err(io_err(
            path,
            std::io::Error::other(format!(
                "not a regular file ({})",
                safetensors_header::file_type_name(&meta.file_type())
            )),
        ));
    }
    if let Some(p) = preset(target) {
        return Ok(Target::Preset(p));
    }
    let looks_like_path = target.contains('/')
        || target.contains(std::path::MAIN_SEPARATOR)
        || target.ends_with(".json")
        || target.ends_with(".safetensors");
    if looks_like_path {
        return Err(io_err(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    Err(SizeError::UnknownTarget {
        target: target.to_string(),
        presets: PRESET_NAMES.join(", "),
    })
}

/// Tensors found in one or more safetensors files.
struct StoredTensors {
    rows: Vec<TensorRow>,
    notes: Vec<String>,
}

fn rows_of(header: &SafetensorsHeader, file: Option<&str>) -> Vec<TensorRow> {
    header
        .tensors
        .iter()
        .map(|t| TensorRow {
            name: t.name.clone(),
            shape: t.shape.clone(),
            dtype: t.dtype.name().to_string(),
            count: t.numel,
            bytes: t.data_offsets[1] - t.data_offsets[0],
            file: file.map(|s| s.to_string()),
        })
        .collect()
}

fn read_single(path: &Path) -> Result<StoredTensors, SizeError> {
    let header = read_header(path)?;
    Ok(StoredTensors {
        rows: rows_of(&header, None),
        notes: Vec::new(),
    })
}

/// Reads a `model.safetensors.index.json` and the header of every shard it names.
fn read_sharded(index: &Path) -> Result<StoredTensors, SizeError> {
    let origin = index.display().to_string();
    let bad = |reason: String| SizeError::Index {
        path: origin.clone(),
        reason,
    };
    let v = read_json(index).map_err(|e| match e {
        SizeError::Config { reason, .. } => bad(reason),
        e => e,
    })?;
    let map = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| bad("no \"weight_map\" object".to_string()))?;
    let dir = index.parent().unwrap_or(Path::new("."));
    // Shards in order of first appearance.
    let mut shards: Vec<String> = Vec::new();
    let mut expected: HashMap<&str, &str> = HashMap::new();
    for (tensor, file) in map {
        let file = file
            .as_str()
            .ok_or_else(|| bad(format!("weight_map[{tensor:?}] is not a file name")))?;
        let plain = !file.is_empty()
            && file != "."
            && file != ".."
            && !file.contains('/')
            && !file.contains('\\');
        if !plain {
            return Err(bad(format!(
                "weight_map[{tensor:?}] = {file:?} is not a plain file name in the index's directory"
            )));
        }
        if !shards.iter().any(|s| s == file) {
            shards.push(file.to_string());
        }
        expected.insert(tensor.as_str(), file);
    }
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut stored_bytes = 0u64;
    for shard in &shards {
        let header = read_header(dir.join(shard))?;
        for t in &header.tensors {
            if let Some(first) = seen.insert(t.name.clone(), shard.clone()) {
                return Err(bad(format!(
                    "tensor {} is stored in both {first} and {shard}",
                    t.name
                )));
            }
            stored_bytes += t.data_offsets[1] - t.data_offsets[0];
        }
        rows.extend(rows_of(&header, Some(shard)));
    }
    for (tensor, file) in &expected {
        match seen.get(*tensor) {
            None => {
                return Err(bad(format!(
                    "tensor {tensor} is mapped to {file} but not stored there"
                )));
            }
            Some(actual) if actual != file => {
                return Err(bad(format!(
                    "tensor {tensor} is mapped to {file} but stored in {actual}"
                )));
            }
            _ => {}
        }
    }
    let extra: Vec<&str> = rows
        .iter()
        .map(|r| r.name.as_str())
        .filter(|n| !expected.contains_key(n))
        .collect();
    if !extra.is_empty() {
        notes.push(format!(
            "{} tensor(s) stored in the shards are not in weight_map (counted): {}",
            extra.len(),
            extra.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let declared = v
        .get("metadata")
        .and_then(|m| m.get("total_size"))
        .and_then(|t| t.as_u64());
    if let Some(declared) = declared.filter(|&d| d != stored_bytes) {
        notes.push(format!(
            "index metadata.total_size is {declared} bytes; the shards hold {stored_bytes} bytes of tensors"
        ));
    }
    Ok(StoredTensors { rows, notes })
}

/// Name components that mark an input token embedding (GPT-2 `wte`, Llama/Mistral
/// `embed_tokens`, Meta's `tok_embeddings`, BERT-style `word_embeddings`, ...).
const TOKEN_EMBEDDING_NAMES: [&str; 7] = [
    "wte",
    "embed_tokens",
    "tok_embeddings",
    "word_embeddings",
    "tok_emb",
    "token_embedding",
    "embed_in",
];

/// Whether a stored tensor is an input token embedding, judged by its name.
pub fn is_token_embedding(name: &str) -> bool {
    let mut parts = name.rsplit('.');
    matches!(parts.next(), Some("weight"))
        && parts
            .next()
            .is_some_and(|m| TOKEN_EMBEDDING_NAMES.contains(&m))
}

/// Whether a stored tensor is a known buffer rather than a parameter: GPT-2's causal-mask
/// `attn.bias` / `attn.masked_bias` (in older checkpoints) and rotary `inv_freq`.
pub fn is_known_buffer(name: &str, shape: &[u64]) -> bool {
    (name.ends_with(".attn.bias") && shape.len() == 4)
        || name.ends_with(".attn.masked_bias")
        || name.ends_with("rotary_emb.inv_freq")
}

fn dir_weights(dir: &Path) -> Result<(StoredTensors, &'static str), SizeError> {
    let single = dir.join("model.safetensors");
    let index = dir.join("model.safetensors.index.json");
    if single.is_file() {
        Ok((read_single(&single)?, "model.safetensors"))
    } else if index.is_file() {
        Ok((read_sharded(&index)?, "model.safetensors.index.json"))
    } else {
        Err(SizeError::NotAModel {
            path: dir.display().to_string(),
            reason: "it holds neither model.safetensors nor model.safetensors.index.json"
                .to_string(),
        })
    }
}

/// Counts `target` and builds the full report.
///
/// Errors: unreadable or malformed files ([`SizeError`] naming the file and tensor), an empty
/// dtype list, or sizes that overflow 64 bits.
pub fn analyze(target: &Target, opts: &Options) -> Result<Report, SizeError> {
    if opts.dtypes.is_empty() {
        return Err(SizeError::InvalidArgument {
            name: "dtype".into(),
            value: "(none)".into(),
            allowed: "one or more of fp32, fp16, bf16, int8, int4".into(),
        });
    }
    let mut notes = Vec::new();
    let mut description = None;
    let mut source = None;
    let mut arch: Option<TransformerConfig> = None;
    let mut stored: Option<StoredTensors> = None;
    let (name, kind) = match target {
        Target::Preset(p) => {
            description = Some(p.description.to_string());
            source = Some(p.source.to_string());
            arch = Some(p.config.clone());
            (p.name.to_string(), TargetKind::Preset)
        }
        Target::HfConfig(path) => {
            let origin = path.display().to_string();
            let v = read_json(path)?;
            arch = Some(hf_config::from_json(&v, &origin)?);
            (origin, TargetKind::HfConfig)
        }
        Target::Safetensors(path) => {
            stored = Some(read_single(path)?);
            (path.display().to_string(), TargetKind::Safetensors)
        }
        Target::ShardIndex(path) => {
            stored = Some(read_sharded(path)?);
            (path.display().to_string(), TargetKind::ShardedSafetensors)
        }
        Target::ModelDir(dir) => {
            let (s, file) = dir_weights(dir)?;
            description = Some(format!("model directory ({file})"));
            stored = Some(s);
            let config = dir.join("config.json");
            if config.is_file() {
                let origin = config.display().to_string();
                match read_json(&config) {
                    Ok(v) if hf_config::looks_like_hf_config(&v) => {
                        match hf_config::from_json(&v, &origin) {
                            Ok(c) => arch = Some(c),
                            Err(e) => notes.push(format!("config.json not used: {e}")),
                        }
                    }
                    Ok(_) => {}
                    Err(e) => notes.push(format!("config.json not used: {e}")),
                }
            }
            (dir.display().to_string(), TargetKind::ModelDir)
        }
    };

    let counts = arch.as_ref().map(|a| a.counts());
    let (parameters, tensors, stored_summary) = match stored {
        Some(s) => {
            notes.extend(s.notes);
            let total: u64 = s.rows.iter().map(|r| r.count).sum();
            let buffers: u64 = s
                .rows
                .iter()
                .filter(|r| is_known_buffer(&r.name, &r.shape))
                .map(|r| r.count)
                .sum();
            if buffers > 0 {
                notes.push(format!(
                    "{buffers} stored elements are known buffers (attention masks, rotary inv_freq), not trainable"
                ));
            }
            let embedding: u64 = s
                .rows
                .iter()
                .filter(|r| is_token_embedding(&r.name))
                .map(|r| r.count)
                .sum();
            let mut breakdown = None;
            if let (Some(c), Some(a)) = (counts, arch.as_ref()) {
                if c.total == total - buffers {
                    breakdown = Some(c);
                    notes.push(format!(
                        "config.json ({} layout) predicts {} parameters: matches the weights",
                        a.model_type, c.total
                    ));
                } else {
                    notes.push(format!(
                        "config.json ({} layout) predicts {} parameters but the weights hold {}",
                        a.model_type,
                        c.total,
                        total - buffers
                    ));
                }
            }
            let mut by_dtype: BTreeMap<String, u64> = BTreeMap::new();
            for r in &s.rows {
                *by_dtype.entry(r.dtype.clone()).or_default() += r.count;
            }
            let bytes = s.rows.iter().map(|r| r.bytes).sum();
            let p = Parameters {
                total,
                trainable: total - buffers,
                embedding,
                non_embedding: total - embedding,
                breakdown,
            };
            (
                p,
                s.rows,
                Some(Stored {
                    bytes,
                    elements_by_dtype: by_dtype,
                }),
            )
        }
        None => {
            // Preset or config: `arch` is set and validated.
            let c = counts.ok_or_else(|| SizeError::Config {
                path: name.clone(),
                reason: "no architecture".into(),
            })?;
            let p = Parameters {
                total: c.total,
                trainable: c.total,
                embedding: c.embedding(),
                non_embedding: c.non_embedding(),
                breakdown: Some(c),
            };
            (p, Vec::new(), None)
        }
    };

    let overflow = |what: &str| SizeError::InvalidArgument {
        name: what.to_string(),
        value: "too large".into(),
        allowed: "a size that fits in 64 bits".into(),
    };
    let weights = opts
        .dtypes
        .iter()
        .map(|&d| {
            d.bytes(parameters.total)
                .map(|b| DtypeBytes { dtype: d, bytes: b })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| overflow("weight bytes"))?;
    let training = Training {
        fp32: memory::adamw_fp32(parameters.total, parameters.trainable)
            .ok_or_else(|| overflow("training memory"))?,
        mixed_precision: memory::adamw_mixed(parameters.total, parameters.trainable)
            .ok_or_else(|| overflow("training memory"))?,
    };

    let kv_cache = match &arch {
        Some(a) => {
            let batch_size = opts.batch_size.unwrap_or(1);
            let seq_len = opts.seq_len.unwrap_or(a.context_length);
            if seq_len > a.context_length {
                notes.push(format!(
                    "seq_len {seq_len} exceeds the model's context length {}",
                    a.context_length
                ));
            }
            let per_token_elems = a.kv_elements_per_token();
            let tokens = batch_size
                .checked_mul(seq_len)
                .ok_or_else(|| overflow("batch_size x seq_len"))?;
            let total_elems = per_token_elems
                .checked_mul(tokens)
                .ok_or_else(|| overflow("KV cache"))?;
            let per = |n: u64| {
                opts.dtypes
                    .iter()
                    .map(|&d| d.bytes(n).map(|b| DtypeBytes { dtype: d, bytes: b }))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| overflow("KV cache"))
            };
            Some(KvCache {
                elements_per_token: per_token_elems,
                per_token: per(per_token_elems)?,
                batch_size,
                seq_len,
                tokens,
                total: per(total_elems)?,
            })
        }
        None => {
            if opts.batch_size.is_some() || opts.seq_len.is_some() {
                notes.push(
                    "no KV cache: the target has no transformer configuration (add a config.json)"
                        .to_string(),
                );
            }
            None
        }
    };

    let summary = report::summary_line(parameters.total, weights[0]);
    Ok(Report {
        target: name,
        kind,
        description,
        source,
        architecture: arch,
        parameters,
        tensors,
        stored: stored_summary,
        weights,
        training_adamw: training,
        kv_cache,
        notes,
        summary,
    })
}
