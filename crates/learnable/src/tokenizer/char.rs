//! [`CharTokenizer`]: one token per Unicode scalar value (`char`), the vocabulary being the
//! sorted distinct characters of the training text, as nanoGPT's
//! `data/shakespeare_char/prepare.py` (`chars = sorted(list(set(data)))`, `stoi = {ch: i}`).
//!
//! Serialised as JSON (`{"chars": ["\n", " ", "!", ...]}`, the ids being the indices), stored
//! next to the model so that generation decodes with the vocabulary training used.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Tokenizer;
use crate::error::{Error, Result};

/// A character-level tokenizer: id `i` is the `i`-th character of a sorted, duplicate-free
/// vocabulary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CharVocab", into = "CharVocab")]
pub struct CharTokenizer {
    chars: Vec<char>,
    index: HashMap<char, usize>,
}

/// The serialised form: the characters in id order.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CharVocab {
    chars: Vec<char>,
}

impl TryFrom<CharVocab> for CharTokenizer {
    type Error = String;
    fn try_from(v: CharVocab) -> std::result::Result<Self, String> {
        CharTokenizer::from_chars(v.chars).map_err(|e| e.to_string())
    }
}

impl From<CharTokenizer> for CharVocab {
    fn from(t: CharTokenizer) -> Self {
        CharVocab { chars: t.chars }
    }
}

/// `c` written so that whitespace and control characters are visible (`'\n'`, `' '`, `'\u{7}'`).
fn show(c: char) -> String {
    format!("{c:?}")
}

impl CharTokenizer {
    /// The vocabulary of `text`: its distinct characters, sorted by code point.
    ///
    /// # Errors
    /// [`Error::Data`] if `text` is empty.
    pub fn from_text(text: &str) -> Result<Self> {
        if text.is_empty() {
            return Err(Error::Data(
                "cannot build a character vocabulary from empty text".into(),
            ));
        }
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        Self::from_chars(chars)
    }

    /// A tokenizer with exactly these characters as ids `0..n`.
    ///
    /// # Errors
    /// [`Error::Data`] if `chars` is empty, not sorted or holds a character twice (a saved
    /// vocabulary that was edited).
    pub fn from_chars(chars: Vec<char>) -> Result<Self> {
        if chars.is_empty() {
            return Err(Error::Data("empty character vocabulary".into()));
        }
        if let Some(w) = chars.windows(2).find(|w| w[0] >= w[1]) {
            let what = if w[0] == w[1] {
                "twice"
            } else {
                "out of order"
            };
            return Err(Error::Data(format!(
                "character vocabulary has {} {what} (it must be sorted, each character once)",
                show(w[1])
            )));
        }
        let index = chars.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        Ok(CharTokenizer { chars, index })
    }

    /// The characters, in id order.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// The id of `c`, if it is in the vocabulary.
    pub fn id(&self, c: char) -> Option<usize> {
        self.index.get(&c).copied()
    }

    /// Encodes `text`, skipping characters outside the vocabulary: returns the ids and how many
    /// characters were skipped (for a caller that asked to drop them and reports the count).
    pub fn encode_lossy(&self, text: &str) -> (Vec<usize>, usize) {
        let mut skipped = 0;
        let ids = text
            .chars()
            .filter_map(|c| {
                let id = self.id(c);
                skipped += id.is_none() as usize;
                id
            })
            .collect();
        (ids, skipped)
    }

    /// The vocabulary as JSON text (`{"chars": [...]}`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A tokenizer from [`CharTokenizer::to_json`]'s text; `origin` names the file in errors.
    ///
    /// # Errors
    /// [`Error::Format`] for invalid JSON or an invalid vocabulary.
    pub fn from_json(text: &str, origin: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Format {
            path: origin.to_string(),
            reason: e.to_string(),
        })
    }
}

impl Tokenizer for CharTokenizer {
    /// One id per character.
    ///
    /// # Errors
    /// [`Error::Data`] naming the first character outside the vocabulary and its position
    /// (0-based, in characters), e.g. `character 'é' at position 3 is not in the vocabulary
    /// ...`.
    fn encode(&self, text: &str) -> Result<Vec<usize>> {
        text.chars()
            .enumerate()
            .map(|(pos, c)| {
                self.id(c).ok_or_else(|| {
                    Error::Data(format!(
                        "character {} at position {pos} is not in the vocabulary of {} \
                         characters built from the training text (skip such characters to \
                         encode the rest)",
                        show(c),
                        self.chars.len()
                    ))
                })
            })
            .collect()
    }

    /// The characters of `ids`.
    ///
    /// # Errors
    /// [`Error::Data`] naming the first id `>= vocab_size()` and its position.
    fn decode(&self, ids: &[usize]) -> Result<String> {
        ids.iter()
            .enumerate()
            .map(|(pos, &id)| {
                self.chars.get(id).copied().ok_or_else(|| {
                    Error::Data(format!(
                        "token id {id} at position {pos} is outside the vocabulary of {} characters",
                        self.chars.len()
                    ))
                })
            })
            .collect()
    }

    fn vocab_size(&self) -> usize {
        self.chars.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_sorted_distinct_chars_and_ids_are_indices() {
        // "hello world": distinct sorted ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w' -> 0..8.
        let t = CharTokenizer::from_text("hello world").unwrap();
        assert_eq!(t.chars(), &[' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w']);
        assert_eq!(t.vocab_size(), 8);
        let ids = t.encode("hello world").unwrap();
        assert_eq!(ids, vec![3, 2, 4, 4, 5, 0, 7, 5, 6, 4, 1]);
        assert_eq!(t.decode(&ids).unwrap(), "hello world");
        assert_eq!(t.encode("").unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn non_ascii_characters_are_one_token_each() {
        // 'a' (97) < 'é' (233) < '→' (8594).
        let t = CharTokenizer::from_text("é→aé").unwrap();
        assert_eq!(t.chars(), &['a', 'é', '→']);
        assert_eq!(t.encode("aé→").unwrap(), vec![0, 1, 2]);
    }

    #[test]
    fn unknown_character_is_an_error_naming_it_and_its_char_position() {
        let t = CharTokenizer::from_text("abc\n").unwrap();
        // 'é' is 2 bytes: the position counts characters, so 'Z' after it is at 2, not 3.
        let e = t.encode("aéZ").unwrap_err();
        assert!(matches!(e, Error::Data(_)));
        let msg = e.to_string();
        assert!(msg.contains("'é' at position 1"), "{msg}");
        let e = t.encode("ab\tc").unwrap_err().to_string();
        assert!(e.contains("'\\t' at position 2"), "{e}");
        let (ids, skipped) = t.encode_lossy("aéZb\n");
        assert_eq!(ids, vec![1, 2, 0]);
        assert_eq!(skipped, 2);
    }

    #[test]
    fn decode_refuses_ids_outside_the_vocabulary() {
        let t = CharTokenizer::from_text("ab").unwrap();
        let e = t.decode(&[0, 1, 2]).unwrap_err().to_string();
        assert!(e.contains("token id 2 at position 2"), "{e}");
    }

    #[test]
    fn json_round_trip_and_invalid_vocabularies() {
        let t = CharTokenizer::from_text("ba\n").unwrap();
        let j = t.to_json();
        assert_eq!(j, r#"{"chars":["\n","a","b"]}"#);
        assert_eq!(CharTokenizer::from_json(&j, "tokenizer.json").unwrap(), t);
        for bad in [
            r#"{"chars":["a","a"]}"#,
            r#"{"chars":["b","a"]}"#,
            r#"{"chars":[]}"#,
            r#"{"chars":["ab"]}"#,
            r#"{"chars":["a"],"x":1}"#,
        ] {
            let e = CharTokenizer::from_json(bad, "tokenizer.json").unwrap_err();
            assert!(matches!(e, Error::Format { .. }), "{bad}: {e}");
        }
        assert!(CharTokenizer::from_text("").is_err());
    }
}
