//! `learnable params`: exact parameter counts and memory of a model, preset, config.json or
//! safetensors file (library: `learnable::size`).

use learnable::size::{self, Options, WeightDtype, report};

/// Arguments of `learnable params`.
#[derive(clap::Args)]
#[command(after_help = "\
TARGET is one of:
  a model directory        holds model.safetensors (or model.safetensors.index.json) and config.json
  a preset                 gpt2, gpt2-medium, gpt2-large, gpt2-xl, gpt3-175b, llama-2-7b,
                           llama-2-13b, llama-2-70b, llama-3-8b, llama-3-70b, mistral-7b
  a config.json            Hugging Face GPT-2, Llama or Mistral configuration
  a .safetensors file      only its header is read
  an .index.json           a sharded checkpoint's model.safetensors.index.json

Training memory counts weights, gradients and AdamW's two moments as accelerate's
estimate-memory does (no activations). Sizes in text use SI units (1 MB = 10^6 bytes).")]
pub struct Args {
    /// Model directory, preset name, config.json, .safetensors file or shard index.
    pub target: String,
    /// Dtypes to report weight and KV-cache bytes in (comma-separated); the first is used in
    /// the summary line.
    #[arg(long, value_delimiter = ',', default_value = "fp32,fp16,bf16,int8,int4",
          value_parser = parse_dtype)]
    pub dtype: Vec<WeightDtype>,
    /// Batch size for the KV-cache total (default 1).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::count::<u64>(1))]
    pub batch_size: Option<u64>,
    /// Sequence length for the KV-cache total (default: the model's context length).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::count::<u64>(1))]
    pub seq_len: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_dtype(s: &str) -> Result<WeightDtype, String> {
    WeightDtype::parse(s)
        .ok_or_else(|| format!("unknown dtype {s:?} (allowed: fp32, fp16, bf16, int8, int4)"))
}

/// Runs `learnable params`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut dtypes: Vec<WeightDtype> = Vec::new();
    for d in args.dtype {
        if !dtypes.contains(&d) {
            dtypes.push(d);
        }
    }
    let opts = Options {
        dtypes,
        batch_size: args.batch_size,
        seq_len: args.seq_len,
    };
    let target = size::resolve_target(&args.target)?;
    // Errors name the file (and tensor) themselves.
    let report = size::analyze(&target, &opts)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report::render_text(&report));
    }
    Ok(())
}
