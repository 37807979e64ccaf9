//! Memory from parameter counts: weights at a dtype, training with AdamW, and the KV cache.
//!
//! # Training with AdamW, as `accelerate estimate-memory` counts it
//!
//! Hugging Face accelerate (`accelerate/commands/estimate.py`, `estimate_training_usage`)
//! starts from the model's size in fp32, `S = 4·P` bytes for `P` parameters, and counts:
//!
//! | precision | model | gradients | optimizer (Adam m, v) | "step" |
//! |---|---|---|---|---|
//! | fp32 | S | S | 2S | 4S |
//! | mixed (fp16/bf16) | S | S + S/2 | 2S | 2S |
//!
//! and prints the largest of these four numbers as "Training using Adam": `4S = 16·P` bytes in
//! fp32 and `2S = 8·P` bytes in mixed precision. We report the three components (weights,
//! gradients, moments), their sum (`16·P` in fp32; `18·P` in mixed precision: fp32 master
//! weights, fp32 + fp16 gradients, fp32 moments) and accelerate's printed figure
//! ([`TrainingMemory::accelerate`]). Gradients and moments are counted for trainable
//! parameters only; accelerate's figure uses all parameters, as accelerate does. Activations,
//! temporary buffers and framework overhead are not included (accelerate: "for a batch size of 1",
//! without activations).
//!
//! # KV cache
//!
//! During generation every layer keeps a key and a value vector per token and per key/value
//! head: `2 · n_layer · n_kv_head · head_dim` elements per token, times the element size.

use serde::Serialize;

/// The dtypes weights and the KV cache can be counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightDtype {
    /// IEEE float32, 4 bytes.
    Fp32,
    /// IEEE float16, 2 bytes.
    Fp16,
    /// bfloat16, 2 bytes.
    Bf16,
    /// 8-bit integer quantisation, 1 byte (scales and zero points not counted).
    Int8,
    /// 4-bit integer quantisation, half a byte (scales and zero points not counted).
    Int4,
}

impl WeightDtype {
    /// All dtypes, in the default report order.
    pub const ALL: [WeightDtype; 5] = [
        WeightDtype::Fp32,
        WeightDtype::Fp16,
        WeightDtype::Bf16,
        WeightDtype::Int8,
        WeightDtype::Int4,
    ];

    /// Bits per element.
    pub fn bits(self) -> u64 {
        match self {
            WeightDtype::Fp32 => 32,
            WeightDtype::Fp16 | WeightDtype::Bf16 => 16,
            WeightDtype::Int8 => 8,
            WeightDtype::Int4 => 4,
        }
    }

    /// Short name, e.g. `fp32`.
    pub fn name(self) -> &'static str {
        match self {
            WeightDtype::Fp32 => "fp32",
            WeightDtype::Fp16 => "fp16",
            WeightDtype::Bf16 => "bf16",
            WeightDtype::Int8 => "int8",
            WeightDtype::Int4 => "int4",
        }
    }

    /// Parses `fp32`, `float32`, `fp16`, `float16`, `half`, `bf16`, `bfloat16`, `int8`, `int4`.
    pub fn parse(s: &str) -> Option<WeightDtype> {
        match s.to_ascii_lowercase().as_str() {
            "fp32" | "float32" | "f32" => Some(WeightDtype::Fp32),
            "fp16" | "float16" | "f16" | "half" => Some(WeightDtype::Fp16),
            "bf16" | "bfloat16" => Some(WeightDtype::Bf16),
            "int8" | "i8" => Some(WeightDtype::Int8),
            "int4" | "i4" => Some(WeightDtype::Int4),
            _ => None,
        }
    }

    /// Bytes for `elements` elements, rounded up to a whole byte (int4 packs two per byte).
    /// `None` on overflow.
    pub fn bytes(self, elements: u64) -> Option<u64> {
        let bits = (elements as u128) * (self.bits() as u128);
        u64::try_from(bits.div_ceil(8)).ok()
    }
}

/// Training memory in bytes, split as accelerate splits it (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TrainingMemory {
    /// Weights held in fp32 (the master copy in mixed precision): 4 bytes per parameter.
    pub weights: u64,
    /// Gradients: 4 bytes per trainable parameter in fp32, 4 + 2 in mixed precision.
    pub gradients: u64,
    /// AdamW's two moment buffers (m, v) in fp32: 8 bytes per trainable parameter.
    pub optimizer_moments: u64,
    /// weights + gradients + optimizer_moments.
    pub total: u64,
    /// The figure `accelerate estimate-memory` prints ("Training using Adam"): the largest of
    /// its model / gradients / optimizer / step entries, computed from all parameters.
    pub accelerate: u64,
}

/// AdamW training in full fp32: weights 4P, gradients 4T, moments 8T (P parameters, T of them
/// trainable); accelerate prints 16P. `None` on overflow.
pub fn adamw_fp32(params: u64, trainable: u64) -> Option<TrainingMemory> {
    let weights = params.checked_mul(4)?;
    let gradients = trainable.checked_mul(4)?;
    let optimizer_moments = trainable.checked_mul(8)?;
    let total = weights
        .checked_add(gradients)?
        .checked_add(optimizer_moments)?;
    // accelerate: model S, gradients S, optimizer 2S, step 4S with S = 4P; max = 4S.
    let s = params.checked_mul(4)?;
    let accelerate = [s, s, s.checked_mul(2)?, s.checked_mul(4)?]
        .into_iter()
        .max()?;
    Some(TrainingMemory {
        weights,
        gradients,
        optimizer_moments,
        total,
        accelerate,
    })
}

/// AdamW training in mixed precision (fp16 or bf16 compute, fp32 master weights): weights 4P,
/// gradients 4T + 2T, moments 8T; accelerate prints 8P. `None` on overflow.
pub fn adamw_mixed(params: u64, trainable: u64) -> Option<TrainingMemory> {
    let weights = params.checked_mul(4)?;
    let gradients = trainable
        .checked_mul(4)?
        .checked_add(trainable.checked_mul(4)? / 2)?;
    let optimizer_moments = trainable.checked_mul(8)?;
    let total = weights
        .checked_add(gradients)?
        .checked_add(optimizer_moments)?;
    // accelerate: model S, gradients S + S//2, optimizer 2S, step 2S with S = 4P; max = 2S.
    let s = params.checked_mul(4)?;
    let accelerate = [
        s,
        s.checked_add(s / 2)?,
        s.checked_mul(2)?,
        s.checked_mul(2)?,
    ]
    .into_iter()
    .max()?;
    Some(TrainingMemory {
        weights,
        gradients,
        optimizer_moments,
        total,
        accelerate,
    })
}
