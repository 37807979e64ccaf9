//! llm.c's GPT-2 checkpoint (`gpt2_124M.bin`, Karpathy's llm.c: `train_gpt2.py` `write_model`
//! writes it, `train_gpt2.c` `gpt2_build_from_checkpoint` reads it).
//!
//! Layout, all little-endian:
//! - a header of 256 `int32`: `[0]` magic 20240326, `[1]` version (3: float32 with a padded
//!   vocabulary; 1: float32, unpadded; 5, bfloat16, is refused), `[2]` maxT (context), `[3]` V
//!   (vocabulary), `[4]` L (layers), `[5]` NH (heads), `[6]` C (width), `[7]` Vp (padded
//!   vocabulary, version 3), the rest 0;
//! - then float32 parameters, each tensor in nanoGPT's `nn.Linear` layout `[out, in]`, layers
//!   stacked per kind (`fill_in_parameter_sizes`): wte `[Vp, C]` (rows `V..Vp` are padding),
//!   wpe `[maxT, C]`, ln1w `[L, C]`, ln1b `[L, C]`, qkvw `[L, 3C, C]`, qkvb `[L, 3C]`,
//!   attprojw `[L, C, C]`, attprojb `[L, C]`, ln2w `[L, C]`, ln2b `[L, C]`, fcw `[L, 4C, C]`,
//!   fcb `[L, 4C]`, fcprojw `[L, C, 4C]`, fcprojb `[L, C]`, lnfw `[C]`, lnfb `[C]`.
//!
//! Our parameters are already `[out, in]`, so nothing is transposed; the head is tied to wte.
//! Reading checks the header against the file's length before allocating anything: a
//! truncated or hostile file is an error naming what is wrong, never a huge allocation.

use std::io::Read;
use std::path::Path;

use super::GptConfig;
use crate::error::{Error, Result};
use crate::param::ParamStore;
use crate::tensor::Tensor;

/// `model_header[0]` of an llm.c GPT-2 checkpoint.
pub const LLMC_MAGIC: i32 = 20240326;
/// Bytes of the header (256 `int32`).
pub const LLMC_HEADER_BYTES: usize = 1024;
/// llm.c pads the vocabulary to a multiple of this when it writes version 3.
pub const LLMC_VOCAB_MULTIPLE: usize = 128;

/// Whether the file at `path` starts with the llm.c magic number.
pub fn is_llmc_file(path: impl AsRef<Path>) -> bool {
    let mut b = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok_and(|_| i32::from_le_bytes(b) == LLMC_MAGIC)
}

/// The per-tensor layout: `(our name pattern with {i} for the layer, per-layer shape)`, in
/// llm.c's order. wte, wpe and ln_f are not per layer.
fn layer_tensors(c: usize) -> [(&'static str, Vec<usize>); 12] {
    [
        ("ln_1.weight", vec![c]),
        ("ln_1.bias", vec![c]),
        ("attn.c_attn.weight", vec![3 * c, c]),
        ("attn.c_attn.bias", vec![3 * c]),
        ("attn.c_proj.weight", vec![c, c]),
        ("attn.c_proj.bias", vec![c]),
        ("ln_2.weight", vec![c]),
        ("ln_2.bias", vec![c]),
        ("mlp.c_fc.weight", vec![4 * c, c]),
        ("mlp.c_fc.bias", vec![4 * c]),
        ("mlp.c_proj.weight", vec![c, 4 * c]),
        ("mlp.c_proj.bias", vec![c]),
    ]
}

/// Reads an llm.c checkpoint: its architecture (dropout 0, biases on) and its parameters under
/// GPT-2's names in `[out, in]` layout, ready for [`super::Gpt::from_store`]; the padding rows
/// of wte are dropped.
///
/// # Errors
/// [`Error::Io`] naming the file; [`Error::Format`] naming the file and what is wrong: shorter
/// than the header, a wrong magic number, an unsupported version (5 is bfloat16), a header
/// field out of range (`V` 0, `Vp < V`, `C` not divisible by `NH`, more than 2^31 parameters),
/// or a length that is not header + the parameters the header declares (truncated, or
/// trailing bytes); non-finite values.
pub fn read_llmc(path: impl AsRef<Path>) -> Result<(GptConfig, ParamStore)> {
    let path = path.as_ref();
    let bad = |reason: String| Error::Format {
        path: path.display().to_string(),
        reason,
    };
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if file_len < LLMC_HEADER_BYTES as u64 {
        return Err(bad(format!(
            "{file_len} bytes: shorter than llm.c's {LLMC_HEADER_BYTES}-byte header (256 int32)"
        )));
    }
    let mut hb = vec![0u8; LLMC_HEADER_BYTES];
    file.read_exact(&mut hb).map_err(|e| Error::io(path, e))?;
    let h: Vec<i32> = hb
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if h[0] != LLMC_MAGIC {
        return Err(bad(format!(
            "magic number {} (an llm.c GPT-2 checkpoint starts with {LLMC_MAGIC})",
            h[0]
        )));
    }
    match h[1] {
        1 | 3 => {}
        5 => {
            return Err(bad(
                "version 5 (bfloat16 weights) is not supported: write the checkpoint as float32 \
                 (version 3, train_gpt2.py --dtype float32)"
                    .into(),
            ));
        }
        v => return Err(bad(format!("version {v} (supported: 1 and 3)"))),
    }
    let field = |i: usize, name: &str| -> Result<usize> {
        usize::try_from(h[i])
            .ok()
            .filter(|&v| v > 0)
            .ok_or_else(|| bad(format!("header[{i}] {name} = {} (must be >= 1)", h[i])))
    };
    let max_t = field(2, "maxT")?;
    let v = field(3, "V")?;
    let l = field(4, "L")?;
    let nh = field(5, "NH")?;
    let c = field(6, "C")?;
    let vp = if h[1] == 3 { field(7, "Vp")? } else { v };
    if vp < v {
        return Err(bad(format!("header[7] Vp = {vp} is smaller than V = {v}")));
    }
    let config = GptConfig {
        n_layer: l,
        n_head: nh,
        n_embd: c,
        block_size: max_t,
        vocab_size: v,
        dropout: 0.0,
        bias: true,
    };
    // Bounds every size below (at most 2^31 parameters), so the arithmetic cannot overflow.
    config.validate().map_err(|e| bad(format!("header: {e}")))?;
    let padding = (vp - v)
        .checked_mul(c)
        .filter(|&p| p <= 1 << 31)
        .ok_or_else(|| bad(format!("header[7] Vp = {vp}: too much padding")))?;
    let floats = config.num_params() as usize + padding;
    let want = LLMC_HEADER_BYTES as u64 + 4 * floats as u64;
    if file_len != want {
        return Err(bad(format!(
            "{file_len} bytes, but the header (maxT {max_t}, V {v}, Vp {vp}, L {l}, NH {nh}, C {c}) \
             declares {floats} float32 parameters: {want} bytes{}",
            if file_len < want {
                " (truncated)"
            } else {
                " (trailing bytes)"
            }
        )));
    }
    let mut bytes = vec![0u8; floats * 4];
    file.read_exact(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    let data: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(i) = data.iter().position(|x| !x.is_finite()) {
        return Err(bad(format!(
            "parameter value {} at float {i} is not finite",
            data[i]
        )));
    }
    let mut pos = 0usize;
    let mut take = |n: usize| {
        let s = &data[pos..pos + n];
        pos += n;
        s
    };
    let mut named: Vec<(String, Tensor)> = Vec::new();
    let wte = take(vp * c);
    named.push((
        "transformer.wte.weight".into(),
        Tensor::new(wte[..v * c].to_vec(), &[v, c])?,
    ));
    named.push((
        "transformer.wpe.weight".into(),
        Tensor::new(take(max_t * c).to_vec(), &[max_t, c])?,
    ));
    let mut per_layer: Vec<Vec<(String, Tensor)>> = vec![Vec::new(); l];
    for (name, shape) in layer_tensors(c) {
        let n: usize = shape.iter().product();
        for (i, layer) in per_layer.iter_mut().enumerate() {
            layer.push((
                format!("transformer.h.{i}.{name}"),
                Tensor::new(take(n).to_vec(), &shape)?,
            ));
        }
    }
    let lnfw = take(c).to_vec();
    let lnfb = take(c).to_vec();
    debug_assert_eq!(pos, floats);
    // Register in GPT2LMHeadModel.named_parameters() order (as Gpt::new does).
    let mut store = ParamStore::new();
    for (n, t) in named {
        store.add(n, t)?;
    }
    for layer in per_layer {
        for (n, t) in layer {
            store.add(n, t)?;
        }
    }
    store.add("transformer.ln_f.weight", Tensor::new(lnfw, &[c])?)?;
    store.add("transformer.ln_f.bias", Tensor::new(lnfb, &[c])?)?;
    Ok((config, store))
}

/// Writes `store` (a [`super::Gpt`]'s parameters under GPT-2's names) as an llm.c version-3
/// checkpoint, atomically: wte padded with zero rows to a multiple of
/// [`LLMC_VOCAB_MULTIPLE`]. A model without biases gets zero biases (llm.c always has them).
///
/// # Errors
/// [`Error::Missing`] / [`Error::Shape`] naming a parameter that is absent or misshapen;
/// [`Error::InvalidArgument`] for a dimension that does not fit llm.c's `int32` header;
/// [`Error::Io`] naming the file.
pub fn write_llmc(path: impl AsRef<Path>, config: &GptConfig, store: &ParamStore) -> Result<()> {
    config.validate()?;
    let (c, v, l) = (config.n_embd, config.vocab_size, config.n_layer);
    let vp = v.div_ceil(LLMC_VOCAB_MULTIPLE) * LLMC_VOCAB_MULTIPLE;
    let mut header = [0i32; 256];
    let dims = [
        (0, LLMC_MAGIC as usize),
        (1, 3),
        (2, config.block_size),
        (3, v),
        (4, l),
        (5, config.n_head),
        (6, c),
        (7, vp),
    ];
    for (i, x) in dims {
        header[i] = i32::try_from(x)
            .map_err(|_| Error::invalid(&format!("llm.c header[{i}]"), x, "< 2^31"))?;
    }
    let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
        match store.id(name) {
            Some(id) => {
                let t = store.value(id);
                if t.shape() != shape {
                    return Err(Error::Shape {
                        op: "write_llmc",
                        expected: format!("{name} {}", crate::error::fmt_shape(shape)),
                        got: crate::error::fmt_shape(t.shape()),
                    });
                }
                Ok(t.data().to_vec())
            }
            // A model without biases (bias: false): zeros compute the same function.
            None if name.ends_with(".bias") && !config.bias => {
                Ok(vec![0.0; shape.iter().product()])
            }
            None => Err(Error::Missing(format!("parameter {name}"))),
        }
    };
    let mut out: Vec<u8> = Vec::with_capacity(LLMC_HEADER_BYTES + 4 * config.num_params() as usize);
    for x in header {
        out.extend_from_slice(&x.to_le_bytes());
    }
    let mut put = |xs: &[f32]| {
        for x in xs {
            out.extend_from_slice(&x.to_le_bytes());
        }
    };
    put(&get("transformer.wte.weight", &[v, c])?);
    put(&vec![0.0; (vp - v) * c]);
    put(&get("transformer.wpe.weight", &[config.block_size, c])?);
    for (name, shape) in layer_tensors(c) {
        for i in 0..l {
            put(&get(&format!("transformer.h.{i}.{name}"), &shape)?);
        }
    }
    put(&get("transformer.ln_f.weight", &[c])?);
    put(&get("transformer.ln_f.bias", &[c])?);
    crate::io::write_atomic(path, &out)
}
