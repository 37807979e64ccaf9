//! [`Gpt2Tokenizer`]: GPT-2's byte-level BPE (OpenAI's `r50k_base`, the vocabulary of GPT-2 and
//! of transformers' `GPT2Tokenizer`), through the `tiktoken-rs` crate, which embeds the
//! 50,256 merges' ranks (no file or network access at run time).
//!
//! Text is split by GPT-2's pre-tokenisation pattern (`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+|
//! ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`), each piece's UTF-8 bytes are merged by rank, and
//! the single special token `<|endoftext|>` is id [`ENDOFTEXT_ID`] = 50256. Ids match
//! transformers' `GPT2Tokenizer` (add_prefix_space false, no BOS/EOS added) exactly: tested on
//! `fixtures/reference/tokenizer_gpt2.json`. Every UTF-8 text encodes (byte-level: no unknown
//! characters); a single token may hold part of a character's bytes, so decoding token by
//! token goes through [`super::StreamDecoder`].

use tiktoken_rs::CoreBPE;

use super::Tokenizer;
use crate::error::{Error, Result};

/// Id of `<|endoftext|>`, GPT-2's only special token (document separator, also its BOS/EOS).
pub const ENDOFTEXT_ID: usize = 50256;
/// `<|endoftext|>`.
pub const ENDOFTEXT: &str = "<|endoftext|>";
/// GPT-2's vocabulary size: 50,000 merges + 256 bytes + `<|endoftext|>`.
pub const GPT2_VOCAB_SIZE: usize = 50257;

/// GPT-2's byte-level BPE tokenizer (`r50k_base`). Cheap to copy: the tables are built once
/// per process, on first use, and shared.
#[derive(Clone, Copy)]
pub struct Gpt2Tokenizer {
    bpe: &'static CoreBPE,
}

impl std::fmt::Debug for Gpt2Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gpt2Tokenizer(r50k_base)")
    }
}

impl PartialEq for Gpt2Tokenizer {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Default for Gpt2Tokenizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Gpt2Tokenizer {
    /// The tokenizer (its tables are built on first use, then shared).
    pub fn new() -> Self {
        Gpt2Tokenizer {
            bpe: tiktoken_rs::r50k_base_singleton(),
        }
    }

    /// The bytes of token `id` (a piece of UTF-8 text, possibly part of a character).
    ///
    /// # Errors
    /// [`Error::Data`] naming `id` if it is `>= 50257`.
    pub fn bytes_of(&self, id: usize) -> Result<Vec<u8>> {
        let rank = u32::try_from(id)
            .ok()
            .filter(|_| id < GPT2_VOCAB_SIZE)
            .ok_or_else(|| {
                Error::Data(format!(
                    "token id {id} is outside GPT-2's vocabulary of {GPT2_VOCAB_SIZE} tokens"
                ))
            })?;
        self.bpe.decode_bytes(&[rank]).map_err(|e| {
            Error::Data(format!(
                "token id {} has no bytes in GPT-2's vocabulary",
                e.token
            ))
        })
    }
}

impl Tokenizer for Gpt2Tokenizer {
    /// The BPE ids of `text`; the literal text `<|endoftext|>` becomes id 50256 (as
    /// transformers' `GPT2Tokenizer` does). Never fails: every UTF-8 text has an encoding.
    fn encode(&self, text: &str) -> Result<Vec<usize>> {
        Ok(self
            .bpe
            .encode_with_special_tokens(text)
            .into_iter()
            .map(|r| r as usize)
            .collect())
    }

    /// The text of `ids`; byte sequences that are not UTF-8 (a character cut in two at either
    /// end) become U+FFFD, as transformers decodes (`errors="replace"`).
    ///
    /// # Errors
    /// [`Error::Data`] naming the first id `>= 50257` and its position.
    fn decode(&self, ids: &[usize]) -> Result<String> {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for (pos, &id) in ids.iter().enumerate() {
            let b = self
                .bytes_of(id)
                .map_err(|e| Error::Data(format!("{e} (position {pos})")))?;
            bytes.extend_from_slice(&b);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn vocab_size(&self) -> usize {
        GPT2_VOCAB_SIZE
    }

    fn token_bytes(&self, id: usize) -> Result<Vec<u8>> {
        self.bytes_of(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endoftext_is_50256_and_round_trips() {
        let t = Gpt2Tokenizer::new();
        assert_eq!(t.vocab_size(), 50257);
        // "Hello world" = [15496, 995] in GPT-2 (tiktoken's README, HF's GPT2Tokenizer).
        assert_eq!(t.encode("Hello world").unwrap(), vec![15496, 995]);
        let ids = t.encode("a<|endoftext|>b").unwrap();
        assert_eq!(ids, vec![64, ENDOFTEXT_ID, 65]);
        assert_eq!(t.decode(&ids).unwrap(), "a<|endoftext|>b");
        let e = t.decode(&[64, 50257]).unwrap_err().to_string();
        assert!(e.contains("50257") && e.contains("position 1"), "{e}");
    }
}
