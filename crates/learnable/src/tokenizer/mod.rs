//! Tokenizers: text to token ids and back.
//!
//! - [`char`]: one token per character, the vocabulary built from the training text (nanoGPT's
//!   `shakespeare_char`).
//! - [`gpt2`]: GPT-2's byte-level BPE (`r50k_base`, 50,257 ids, `<|endoftext|>` = 50256), the
//!   vocabulary of every GPT-2 checkpoint.
//!
//! [`TextTokenizer`] is either, as a language model stores it in its directory
//! (`learnable.tokenizer` in config.json: `{"chars": [...]}` or `{"name": "gpt2"}`);
//! [`TokenizerKind`] is the `--tokenizer char|gpt2` choice of training.

pub mod char;
pub mod gpt2;

pub use self::char::CharTokenizer;
pub use self::gpt2::{ENDOFTEXT_ID, Gpt2Tokenizer};

use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::error::{Error, Result};

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

    /// The UTF-8 bytes of one token: a whole character for a character tokenizer, possibly a
    /// part of one for a byte-level BPE (see [`StreamDecoder`]).
    ///
    /// # Errors
    /// [`crate::Error::Data`] naming `id` if it is `>= vocab_size()`.
    fn token_bytes(&self, id: usize) -> Result<Vec<u8>> {
        self.decode(&[id]).map(String::into_bytes)
    }
}

/// Which tokenizer a language model is trained with (`--tokenizer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenizerKind {
    /// One token per character of the training text's vocabulary.
    #[default]
    Char,
    /// GPT-2's byte-level BPE (50,257 tokens).
    Gpt2,
}

impl Choice for TokenizerKind {
    const SETTING: &'static str = "tokenizer";
    const ALL: &'static [Self] = &[TokenizerKind::Char, TokenizerKind::Gpt2];
    fn name(self) -> &'static str {
        match self {
            TokenizerKind::Char => "char",
            TokenizerKind::Gpt2 => "gpt2",
        }
    }
    fn description(self) -> &'static str {
        match self {
            TokenizerKind::Char => {
                "one token per character, the vocabulary built from the training text"
            }
            TokenizerKind::Gpt2 => "GPT-2's byte-level BPE (r50k_base, 50,257 tokens)",
        }
    }
}
crate::choice_traits!(TokenizerKind);

/// A language model's tokenizer: a character vocabulary or GPT-2's BPE.
#[derive(Clone, Debug, PartialEq)]
pub enum TextTokenizer {
    /// Characters of the training text.
    Char(CharTokenizer),
    /// GPT-2's byte-level BPE.
    Gpt2(Gpt2Tokenizer),
}

impl TextTokenizer {
    /// The tokenizer of `kind` for `text`: the text's character vocabulary, or GPT-2's BPE
    /// (which does not depend on the text).
    ///
    /// # Errors
    /// [`Error::Data`] for an empty text with `char`.
    pub fn for_text(kind: TokenizerKind, text: &str) -> Result<Self> {
        Ok(match kind {
            TokenizerKind::Char => TextTokenizer::Char(CharTokenizer::from_text(text)?),
            TokenizerKind::Gpt2 => TextTokenizer::Gpt2(Gpt2Tokenizer::new()),
        })
    }

    /// Which kind this is.
    pub fn kind(&self) -> TokenizerKind {
        match self {
            TextTokenizer::Char(_) => TokenizerKind::Char,
            TextTokenizer::Gpt2(_) => TokenizerKind::Gpt2,
        }
    }

    /// The character vocabulary, for a character tokenizer.
    pub fn as_char(&self) -> Option<&CharTokenizer> {
        match self {
            TextTokenizer::Char(c) => Some(c),
            TextTokenizer::Gpt2(_) => None,
        }
    }

    /// The stored form: `{"chars": [...]}` (characters in id order) or `{"name": "gpt2"}`.
    pub fn to_json_value(&self) -> serde_json::Value {
        match self {
            TextTokenizer::Char(c) => serde_json::to_value(c).unwrap_or_default(),
            TextTokenizer::Gpt2(_) => serde_json::json!({"name": "gpt2"}),
        }
    }

    /// A tokenizer from [`TextTokenizer::to_json_value`]'s form.
    ///
    /// # Errors
    /// [`Error::Data`] saying what is wrong: an invalid character vocabulary, an unknown name.
    pub fn from_json_value(v: &serde_json::Value) -> Result<Self> {
        if let Some(name) = v.get("name") {
            return match name.as_str() {
                Some("gpt2") => Ok(TextTokenizer::Gpt2(Gpt2Tokenizer::new())),
                _ => Err(Error::Data(format!(
                    "unknown tokenizer name {name} (known: gpt2, or a character vocabulary \
                     {{\"chars\": [...]}})"
                ))),
            };
        }
        serde_json::from_value::<CharTokenizer>(v.clone())
            .map(TextTokenizer::Char)
            .map_err(|e| Error::Data(e.to_string()))
    }

    /// A short readable label of token `id` for tables: the character or the token's text with
    /// whitespace and control characters escaped (`\n`), quoted when it starts or ends with a
    /// space (`' '`, `' the'`); bytes of a cut character as
    /// `\xNN`; `<|endoftext|>` as itself.
    pub fn label(&self, id: usize) -> String {
        let Ok(bytes) = self.token_bytes(id) else {
            return format!("<id {id}>");
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(s) => s.to_string(),
            Err(_) => return bytes.iter().map(|b| format!("\\x{b:02x}")).collect(),
        };
        let mut out = String::new();
        for c in text.chars() {
            match c {
                ' ' => out.push(' '),
                c if c.is_whitespace() || c.is_control() => out.extend(c.escape_default()),
                c => out.push(c),
            }
        }
        // A space at either end would be invisible: quote the token (`' '`, `' the'`).
        if out.starts_with(' ') || out.ends_with(' ') {
            out = format!("'{out}'");
        }
        out
    }
}

impl Tokenizer for TextTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<usize>> {
        match self {
            TextTokenizer::Char(t) => t.encode(text),
            TextTokenizer::Gpt2(t) => t.encode(text),
        }
    }
    fn decode(&self, ids: &[usize]) -> Result<String> {
        match self {
            TextTokenizer::Char(t) => t.decode(ids),
            TextTokenizer::Gpt2(t) => t.decode(ids),
        }
    }
    fn vocab_size(&self) -> usize {
        match self {
            TextTokenizer::Char(t) => t.vocab_size(),
            TextTokenizer::Gpt2(t) => t.vocab_size(),
        }
    }
    fn token_bytes(&self, id: usize) -> Result<Vec<u8>> {
        match self {
            TextTokenizer::Char(t) => t.token_bytes(id),
            TextTokenizer::Gpt2(t) => t.token_bytes(id),
        }
    }
}

/// Turns tokens into text as they are generated: a byte-level token may end inside a
/// character, so bytes wait until they complete one; bytes that can never be UTF-8 come out as
/// U+FFFD, as transformers decodes (`errors="replace"`).
#[derive(Clone, Debug, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the bytes of one token; returns the text that is now complete (maybe empty).
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // The prefix up to `valid` is UTF-8 (the error's contract).
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match e.error_len() {
                        // An incomplete character at the end: wait for more bytes.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push('\u{FFFD}');
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// The bytes still waiting, as text (U+FFFD for an unfinished character), emptying the
    /// decoder: call at the end of generation.
    pub fn finish(&mut self) -> String {
        let s = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_decoder_waits_for_whole_characters() {
        // 'é' = c3 a9, '😀' = f0 9f 98 80.
        let mut d = StreamDecoder::new();
        assert_eq!(d.push(b"a\xc3"), "a");
        assert_eq!(d.push(b"\xa9\xf0\x9f"), "é");
        assert_eq!(d.push(b"\x98"), "");
        assert_eq!(d.push(b"\x80b"), "😀b");
        // A byte that starts no character is replaced at once.
        assert_eq!(d.push(b"\xffc"), "\u{FFFD}c");
        assert_eq!(d.push(b"\xe6"), "");
        assert_eq!(d.finish(), "\u{FFFD}");
    }

    #[test]
    fn stored_forms_round_trip_and_unknown_names_are_errors() {
        let c = TextTokenizer::for_text(TokenizerKind::Char, "ba").unwrap();
        assert_eq!(c.to_json_value(), serde_json::json!({"chars": ["a", "b"]}));
        assert_eq!(
            TextTokenizer::from_json_value(&c.to_json_value()).unwrap(),
            c
        );
        let g = TextTokenizer::for_text(TokenizerKind::Gpt2, "").unwrap();
        assert_eq!(g.to_json_value(), serde_json::json!({"name": "gpt2"}));
        assert_eq!(g.vocab_size(), 50257);
        let e = TextTokenizer::from_json_value(&serde_json::json!({"name": "llama"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("llama"), "{e}");
        assert_eq!(
            "GPT2".parse::<TokenizerKind>().unwrap(),
            TokenizerKind::Gpt2
        );
        assert_eq!(g.label(220), "' '");
        assert_eq!(g.label(198), "\\n");
        assert_eq!(g.label(ENDOFTEXT_ID), "<|endoftext|>");
        assert_eq!(c.label(0), "a");
    }
}
