//! Tokenizers: text to token ids and back.
//!
//! - [`char`]: one token per character, the vocabulary built from the training text (nanoGPT's
//!   `shakespeare_char`).

pub mod char;

pub use self::char::CharTokenizer;

use crate::error::Result;

/// Text ↔ token ids.
pub trait Tokenizer {
    /// The ids of `text`.
    ///
    /// # Errors
    /// [`crate::Error::Data`] naming the first piece of text the vocabulary cannot encode and
    /// its position; never a panic, never a wrong id.
    fn encode(&self, text: &str) -> Result<Vec<usize>>;

    /// The text of `ids`.
    ///
    /// # Errors
    /// [`crate::Error::Data`] naming the first id `>= vocab_size()` and its position.
    fn decode(&self, ids: &[usize]) -> Result<String>;

    /// Number of distinct ids (the model's `vocab_size`).
    fn vocab_size(&self) -> usize;
}
