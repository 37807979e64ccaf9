//! The report of `learnable params`: a serialisable struct, its text rendering and the
//! one-line summary. Byte sizes in text use SI units (1 MB = 10^6 bytes, as accelerate and
//! the "124.4M parameters, 498 MB in fp32" summary do); JSON holds exact integers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::memory::{TrainingMemory, WeightDtype};
use super::transformer::{Layout, ParamCounts, TransformerConfig};

/// What kind of target was counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A published architecture.
    Preset,
    /// A Hugging Face config.json.
    HfConfig,
    /// A single safetensors file.
    Safetensors,
    /// A sharded safetensors index.
    ShardedSafetensors,
    /// A model directory.
    ModelDir,
}

/// Parameter counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Parameters {
    /// Every parameter (for files: every stored element), tied tensors once.
    pub total: u64,
    /// Parameters an optimizer updates (total minus known buffers).
    pub trainable: u64,
    /// Input token embedding parameters.
    pub embedding: u64,
    /// `total - embedding`.
    pub non_embedding: u64,
    /// Split by component, when an architecture is known (and agrees with the weights).
    pub breakdown: Option<ParamCounts>,
}

/// One stored tensor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TensorRow {
    /// Name in the file.
    pub name: String,
    /// Shape.
    pub shape: Vec<u64>,
    /// Stored dtype, e.g. `F32`.
    pub dtype: String,
    /// Element count.
    pub count: u64,
    /// Stored bytes.
    pub bytes: u64,
    /// The shard holding it (sharded checkpoints only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// What the files hold, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stored {
    /// Bytes of tensor data.
    pub bytes: u64,
    /// Elements per stored dtype.
    pub elements_by_dtype: BTreeMap<String, u64>,
}

/// Bytes at one dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DtypeBytes {
    /// The dtype.
    pub dtype: WeightDtype,
    /// Bytes.
    pub bytes: u64,
}

/// AdamW training memory in fp32 and in mixed precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Training {
    /// Everything in fp32.
    pub fp32: TrainingMemory,
    /// fp16/bf16 compute with fp32 master weights and moments.
    pub mixed_precision: TrainingMemory,
}

/// KV-cache size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KvCache {
    /// `2 · n_layer · n_kv_head · head_dim`.
    pub elements_per_token: u64,
    /// Bytes per token at each dtype.
    pub per_token: Vec<DtypeBytes>,
    /// Batch size of `total`.
    pub batch_size: u64,
    /// Sequence length of `total`.
    pub seq_len: u64,
    /// `batch_size · seq_len`.
    pub tokens: u64,
    /// Bytes for `tokens` tokens at each dtype.
    pub total: Vec<DtypeBytes>,
}

/// Everything `learnable params` reports.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The target as given (preset name or path).
    pub target: String,
    /// Its kind.
    pub kind: TargetKind,
    /// A short description, e.g. `GPT-2 small`.
    pub description: Option<String>,
    /// Where a preset's configuration comes from.
    pub source: Option<String>,
    /// The transformer configuration, when known.
    pub architecture: Option<TransformerConfig>,
    /// Parameter counts.
    pub parameters: Parameters,
    /// Stored tensors (file targets), in file order.
    pub tensors: Vec<TensorRow>,
    /// Stored bytes and dtypes (file targets).
    pub stored: Option<Stored>,
    /// Weight bytes at each requested dtype.
    pub weights: Vec<DtypeBytes>,
    /// AdamW training memory.
    pub training_adamw: Training,
    /// KV cache (transformer configurations only).
    pub kv_cache: Option<KvCache>,
    /// Remarks (config cross-checks, buffers, context length).
    pub notes: Vec<String>,
    /// E.g. `124.4M parameters, 498 MB in fp32`.
    pub summary: String,
}

/// `124.4M parameters, 498 MB in fp32`.
pub fn summary_line(params: u64, weights: DtypeBytes) -> String {
    format!(
        "{} parameters, {} in {}",
        human_count(params),
        human_bytes(weights.bytes),
        weights.dtype.name()
    )
}

/// A count with one decimal and K/M/B/T (10^3, 10^6, 10^9, 10^12): `124.4M`; below 1000 exact.
pub fn human_count(n: u64) -> String {
    const UNITS: [(f64, &str); 4] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")];
    let x = n as f64;
    for (i, (scale, unit)) in UNITS.iter().enumerate() {
        if x >= *scale {
            let v = x / scale;
            // 999.96M rounds to "1000.0M": say "1.0B" instead.
            if format!("{v:.1}") == "1000.0" && i > 0 {
                return format!("1.0{}", UNITS[i - 1].1);
            }
            return format!("{v:.1}{unit}");
        }
    }
    n.to_string()
}

/// Bytes with three significant digits and SI units: `498 MB`, `13.5 GB`, `1.64 MB`, `512 B`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    if b < 1000 {
        return format!("{b} B");
    }
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    let s = if v >= 99.95 {
        format!("{v:.0}")
    } else if v >= 9.995 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s == "1000" && u + 1 < UNITS.len() {
        return format!("1.00 {}", UNITS[u + 1]);
    }
    format!("{s} {}", UNITS[u])
}

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_shape(shape: &[u64]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

fn describe_arch(a: &TransformerConfig) -> String {
    let layout = match a.layout {
        Layout::Gpt2 => "GPT-2 layout",
        Layout::Llama => "Llama layout",
    };
    let mut parts = vec![
        format!("{} ({layout})", a.model_type),
        format!("{} layers", a.n_layer),
        format!("d_model {}", a.d_model),
        format!("{} heads x {}", a.n_head, a.head_dim),
    ];
    if a.n_kv_head != a.n_head {
        parts.push(format!("{} kv heads (GQA)", a.n_kv_head));
    }
    parts.push(format!("d_ff {}", a.d_ff));
    parts.push(format!("vocab {}", a.vocab_size));
    parts.push(format!("context {}", a.context_length));
    if !a.lm_head {
        parts.push("no output head".to_string());
    } else if a.tied_embeddings {
        parts.push("tied embeddings".to_string());
    } else {
        parts.push("untied embeddings".to_string());
    }
    if a.layout == Layout::Llama {
        parts.push("gated MLP".to_string());
    }
    let biases = match (a.attention_bias, a.mlp_bias) {
        (true, true) => "biases",
        (true, false) => "attention biases",
        (false, true) => "MLP biases",
        (false, false) => "no biases",
    };
    parts.push(biases.to_string());
    if a.cross_attention {
        parts.push("cross-attention".to_string());
    }
    parts.join(", ")
}

/// Renders the report as text (what `learnable params` prints without `--json`).
pub fn render_text(r: &Report) -> String {
    let mut o = String::new();
    match &r.description {
        Some(d) => {
            let _ = writeln!(o, "{}: {d}", r.target);
        }
        None => {
            let _ = writeln!(o, "{}", r.target);
        }
    }
    if let Some(s) = &r.source {
        let _ = writeln!(o, "  config from {s}");
    }
    if let Some(a) = &r.architecture {
        let _ = writeln!(o, "architecture: {}", describe_arch(a));
    }

    if !r.tensors.is_empty() {
        let sharded = r.tensors.iter().any(|t| t.file.is_some());
        let rows: Vec<[String; 5]> = r
            .tensors
            .iter()
            .map(|t| {
                [
                    t.name.clone(),
                    fmt_shape(&t.shape),
                    t.dtype.clone(),
                    thousands(t.count),
                    t.file.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let header = ["name", "shape", "dtype", "count", "file"].map(str::to_string);
        let _ = writeln!(o, "\ntensors ({})", r.tensors.len());
        // The file column (sharded checkpoints only) is last and left unpadded.
        let ncol = if sharded { 5 } else { 4 };
        let cells: Vec<Vec<String>> = std::iter::once(&header)
            .chain(&rows)
            .map(|c| c[..ncol].to_vec())
            .collect();
        use crate::text::{Align, render_table};
        let table = render_table(
            &cells,
            &[
                Align::Left,
                Align::Left,
                Align::Left,
                Align::Right,
                Align::Left,
            ],
            "  ",
        );
        for line in table.lines() {
            let _ = writeln!(o, "  {line}");
        }
        if let Some(s) = &r.stored {
            let dtypes: Vec<String> = s
                .elements_by_dtype
                .iter()
                .map(|(d, n)| format!("{d} {}", thousands(*n)))
                .collect();
            let _ = writeln!(
                o,
                "  stored: {} bytes ({}) of tensor data; elements by dtype: {}",
                thousands(s.bytes),
                human_bytes(s.bytes),
                dtypes.join(", ")
            );
        }
    }

    let p = &r.parameters;
    let _ = writeln!(o, "\nparameters");
    let row = |o: &mut String, label: &str, n: u64, extra: &str| {
        let _ = writeln!(o, "  {label:<20}{:>18}{extra}", thousands(n));
    };
    if let Some(b) = &p.breakdown {
        row(&mut o, "token embedding", b.token_embedding, "");
        if b.position_embedding > 0 {
            row(&mut o, "position embedding", b.position_embedding, "");
        }
        let n_layer = b.layers.checked_div(b.per_layer).unwrap_or(0);
        row(
            &mut o,
            "layers",
            b.layers,
            &format!("  ({n_layer} x {})", thousands(b.per_layer)),
        );
        row(&mut o, "final norm", b.final_norm, "");
        let tied = r
            .architecture
            .as_ref()
            .is_some_and(|a| a.tied_embeddings && a.lm_head);
        if b.lm_head > 0 || !tied {
            row(&mut o, "lm_head", b.lm_head, "");
        } else {
            let _ = writeln!(o, "  {:<20}{:>18}", "lm_head", "tied");
        }
    }
    row(
        &mut o,
        "total",
        p.total,
        &format!("  ({})", human_count(p.total)),
    );
    row(&mut o, "trainable", p.trainable, "");
    row(
        &mut o,
        "embedding",
        p.embedding,
        "  (input token embedding)",
    );
    row(&mut o, "non-embedding", p.non_embedding, "");

    let _ = writeln!(o, "\nweights");
    for d in &r.weights {
        let _ = writeln!(
            o,
            "  {:<6}{:>22} bytes  {:>9}",
            d.dtype.name(),
            thousands(d.bytes),
            human_bytes(d.bytes)
        );
    }

    let _ = writeln!(
        o,
        "\ntraining with AdamW (weights, gradients, 2 moments; as accelerate estimate-memory; no activations)"
    );
    let _ = writeln!(
        o,
        "  {:<14}{:>11}{:>11}{:>11}{:>11}{:>12}",
        "precision", "weights", "gradients", "moments", "total", "accelerate"
    );
    for (label, m) in [
        ("fp32", &r.training_adamw.fp32),
        ("mixed 16-bit", &r.training_adamw.mixed_precision),
    ] {
        let _ = writeln!(
            o,
            "  {:<14}{:>11}{:>11}{:>11}{:>11}{:>12}",
            label,
            human_bytes(m.weights),
            human_bytes(m.gradients),
            human_bytes(m.optimizer_moments),
            human_bytes(m.total),
            human_bytes(m.accelerate)
        );
    }

    if let (Some(kv), Some(a)) = (&r.kv_cache, &r.architecture) {
        let _ = writeln!(
            o,
            "\nKV cache: 2 (K, V) x {} layers x {} kv heads x {} = {} elements per token",
            a.n_layer,
            a.n_kv_head,
            a.head_dim,
            thousands(kv.elements_per_token)
        );
        let col = format!("batch {} x seq {}", kv.batch_size, kv.seq_len);
        let _ = writeln!(
            o,
            "  {:<8}{:>12}{:>w$}",
            "dtype",
            "per token",
            col,
            w = col.len().max(10) + 2
        );
        for (pt, tot) in kv.per_token.iter().zip(&kv.total) {
            let _ = writeln!(
                o,
                "  {:<8}{:>12}{:>w$}",
                pt.dtype.name(),
                human_bytes(pt.bytes),
                human_bytes(tot.bytes),
                w = col.len().max(10) + 2
            );
        }
    }

    if !r.notes.is_empty() {
        let _ = writeln!(o, "\nnotes");
        for n in &r.notes {
            let _ = writeln!(o, "  - {n}");
        }
    }
    let _ = writeln!(o, "\n{}", r.summary);
    o
}
