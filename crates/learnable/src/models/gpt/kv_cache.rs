//! [`KvCache`]: the keys and values of every position seen so far, per layer and head, so that
//! generating a token costs one row through the model instead of the whole context (as Hugging
//! Face's `past_key_values`; nanoGPT recomputes the context at every step).
//!
//! Memory: `2 · n_layer · block_size · n_embd` f32 (`size::transformer`'s
//! `kv_elements_per_token` × `block_size` × 4 bytes), allocated once by [`KvCache::new`].

use super::config::GptConfig;

/// Keys and values of positions `0..len()` for every layer, laid out per head
/// (`[n_head, block_size, head_dim]` per layer, K and V apart) so that one head's keys are one
/// contiguous `[len, head_dim]` matrix. Filled by [`super::Gpt::forward_cached`].
#[derive(Clone, Debug)]
pub struct KvCache {
    n_head: usize,
    head_dim: usize,
    capacity: usize,
    len: usize,
    /// Per layer: K `[n_head, capacity, head_dim]`.
    k: Vec<Vec<f32>>,
    /// Per layer: V `[n_head, capacity, head_dim]`.
    v: Vec<Vec<f32>>,
}

impl KvCache {
    /// An empty cache for a model with `config` (capacity `block_size` positions). Call on a
    /// validated config (as [`super::Gpt::new_cache`] does).
    pub fn new(config: &GptConfig) -> Self {
        let per_layer = config.block_size * config.n_embd;
        KvCache {
            n_head: config.n_head,
            head_dim: config.head_dim(),
            capacity: config.block_size,
            len: 0,
            k: vec![vec![0.0; per_layer]; config.n_layer],
            v: vec![vec![0.0; per_layer]; config.n_layer],
        }
    }

    /// Positions held (the next token fed goes to position `len()`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first token.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most positions it can hold (`block_size`).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Positions still free, `capacity() - len()`.
    pub fn remaining(&self) -> usize {
        self.capacity - self.len
    }

    /// Forgets every position (keeps the memory).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Whether it was made for a model with `config`'s layers, heads and context.
    pub fn fits(&self, config: &GptConfig) -> bool {
        self.k.len() == config.n_layer
            && self.n_head == config.n_head
            && self.head_dim == config.head_dim()
            && self.capacity == config.block_size
    }

    /// Number of layers.
    pub fn n_layer(&self) -> usize {
        self.k.len()
    }

    /// Stores the key and value of position `pos` in layer `layer`; `kv` is `k | v` (`[2C]`,
    /// heads in order, as in GPT-2's `c_attn` output after `q`).
    pub(crate) fn write(&mut self, layer: usize, pos: usize, kv: &[f32]) {
        let (d, cap) = (self.head_dim, self.capacity);
        let c = self.n_head * d;
        for h in 0..self.n_head {
            let dst = (h * cap + pos) * d;
            self.k[layer][dst..dst + d].copy_from_slice(&kv[h * d..(h + 1) * d]);
            self.v[layer][dst..dst + d].copy_from_slice(&kv[c + h * d..c + (h + 1) * d]);
        }
    }

    /// K and V of layer `layer`, each `[n_head, capacity, head_dim]`.
    pub(crate) fn layer(&self, layer: usize) -> (&[f32], &[f32]) {
        (&self.k[layer], &self.v[layer])
    }

    /// Records that `n` more positions are filled.
    pub(crate) fn advance(&mut self, n: usize) {
        self.len += n;
    }
}
