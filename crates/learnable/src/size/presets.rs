//! Published architectures, each written out from its published configuration.
//!
//! Every value below is copied from the source named next to it. The parameter counts that
//! these configurations give are checked in `tests/size_counts.rs` against the numbers the
//! model cards and papers publish.

use super::transformer::TransformerConfig;

/// A named, published configuration.
#[derive(Clone, Debug)]
pub struct Preset {
    /// The name accepted on the command line, e.g. `llama-2-7b`.
    pub name: &'static str,
    /// What it is, e.g. `GPT-2 small (124M)`.
    pub description: &'static str,
    /// Where the configuration values come from.
    pub source: &'static str,
    /// The configuration.
    pub config: TransformerConfig,
}

/// GPT-2 vocabulary: 50,000 BPE merges + 256 byte tokens + `<|endoftext|>` (Radford et al. 2019).
const GPT2_VOCAB: u64 = 50257;

/// Names of all presets, in the order [`presets`] lists them.
pub const PRESET_NAMES: [&str; 11] = [
    "gpt2",
    "gpt2-medium",
    "gpt2-large",
    "gpt2-xl",
    "gpt3-175b",
    "llama-2-7b",
    "llama-2-13b",
    "llama-2-70b",
    "llama-3-8b",
    "llama-3-70b",
    "mistral-7b",
];

/// Every preset.
pub fn presets() -> Vec<Preset> {
    PRESET_NAMES.iter().filter_map(|n| preset(n)).collect()
}

/// The preset called `name` (case-insensitive), if any.
pub fn preset(name: &str) -> Option<Preset> {
    let name = name.to_ascii_lowercase();
    let p = match name.as_str() {
        // n_embd 768, n_layer 12, n_head 12, n_positions 1024, vocab_size 50257.
        "gpt2" => Preset {
            name: "gpt2",
            description: "GPT-2 small",
            source: "https://huggingface.co/openai-community/gpt2/blob/main/config.json",
            config: TransformerConfig::gpt2(GPT2_VOCAB, 1024, 768, 12, 12),
        },
        // n_embd 1024, n_layer 24, n_head 16.
        "gpt2-medium" => Preset {
            name: "gpt2-medium",
            description: "GPT-2 medium",
            source: "https://huggingface.co/openai-community/gpt2-medium/blob/main/config.json",
            config: TransformerConfig::gpt2(GPT2_VOCAB, 1024, 1024, 24, 16),
        },
        // n_embd 1280, n_layer 36, n_head 20.
        "gpt2-large" => Preset {
            name: "gpt2-large",
            description: "GPT-2 large",
            source: "https://huggingface.co/openai-community/gpt2-large/blob/main/config.json",
            config: TransformerConfig::gpt2(GPT2_VOCAB, 1024, 1280, 36, 20),
        },
        // n_embd 1600, n_layer 48, n_head 25.
        "gpt2-xl" => Preset {
            name: "gpt2-xl",
            description: "GPT-2 XL",
            source: "https://huggingface.co/openai-community/gpt2-xl/blob/main/config.json",
            config: TransformerConfig::gpt2(GPT2_VOCAB, 1024, 1600, 48, 25),
        },
        // Table 2.1 of the paper: n_layers 96, d_model 12288, n_heads 96, d_head 128, context
        // 2048 tokens; d_ff = 4·d_model (section 2.1: "we use the same model and architecture as
        // GPT-2"); the GPT-2 tokenizer (50257 tokens); the head is tied to the token embedding.
        // The alternating dense / locally banded sparse attention has no extra parameters.
        "gpt3-175b" => Preset {
            name: "gpt3-175b",
            description: "GPT-3 175B",
            source: "Brown et al. 2020, Language Models are Few-Shot Learners, Table 2.1 (arXiv:2005.14165)",
            config: {
                let mut c = TransformerConfig::gpt2(GPT2_VOCAB, 2048, 12288, 96, 96);
                c.model_type = "gpt3".to_string();
                c
            },
        },
        // hidden 4096, intermediate 11008, 32 layers, 32 heads, 32 kv heads, vocab 32000,
        // max_position_embeddings 4096, tie_word_embeddings false.
        "llama-2-7b" => Preset {
            name: "llama-2-7b",
            description: "Llama 2 7B",
            source: "https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json",
            config: TransformerConfig::llama("llama", 32000, 4096, 11008, 32, 32, 32, 4096),
        },
        // hidden 5120, intermediate 13824, 40 layers, 40 heads, 40 kv heads, vocab 32000.
        "llama-2-13b" => Preset {
            name: "llama-2-13b",
            description: "Llama 2 13B",
            source: "https://huggingface.co/meta-llama/Llama-2-13b-hf/blob/main/config.json",
            config: TransformerConfig::llama("llama", 32000, 5120, 13824, 40, 40, 40, 4096),
        },
        // hidden 8192, intermediate 28672, 80 layers, 64 heads, 8 kv heads (GQA), vocab 32000.
        "llama-2-70b" => Preset {
            name: "llama-2-70b",
            description: "Llama 2 70B",
            source: "https://huggingface.co/meta-llama/Llama-2-70b-hf/blob/main/config.json",
            config: TransformerConfig::llama("llama", 32000, 8192, 28672, 80, 64, 8, 4096),
        },
        // hidden 4096, intermediate 14336, 32 layers, 32 heads, 8 kv heads, vocab 128256,
        // max_position_embeddings 8192.
        "llama-3-8b" => Preset {
            name: "llama-3-8b",
            description: "Llama 3 8B",
            source: "https://huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/config.json",
            config: TransformerConfig::llama("llama", 128256, 4096, 14336, 32, 32, 8, 8192),
        },
        // hidden 8192, intermediate 28672, 80 layers, 64 heads, 8 kv heads, vocab 128256.
        "llama-3-70b" => Preset {
            name: "llama-3-70b",
            description: "Llama 3 70B",
            source: "https://huggingface.co/meta-llama/Meta-Llama-3-70B/blob/main/config.json",
            config: TransformerConfig::llama("llama", 128256, 8192, 28672, 80, 64, 8, 8192),
        },
        // hidden 4096, intermediate 14336, 32 layers, 32 heads, 8 kv heads, vocab 32000,
        // max_position_embeddings 32768 (sliding_window 4096), tie_word_embeddings false.
        "mistral-7b" => Preset {
            name: "mistral-7b",
            description: "Mistral 7B v0.1",
            source: "https://huggingface.co/mistralai/Mistral-7B-v0.1/blob/main/config.json",
            config: TransformerConfig::llama("mistral", 32000, 4096, 14336, 32, 32, 8, 32768),
        },
        _ => return None,
    };
    Some(p)
}
