//! GPT-2's byte-level BPE (`learnable::tokenizer::Gpt2Tokenizer`, r50k_base through tiktoken-rs)
//! against `fixtures/reference/tokenizer_gpt2.json` (README section 5, made by
//! `gen_tokenizer_gpt2.py` with transformers' `GPT2Tokenizer` and cross-checked there against
//! OpenAI's encoder.py and tiktoken): ids, the byte-level token strings and decoding, exactly.

use learnable::tokenizer::{
    ENDOFTEXT_ID, Gpt2Tokenizer, StreamDecoder, TextTokenizer, Tokenizer, TokenizerKind,
};

fn fixture() -> serde_json::Value {
    let path = format!(
        "{}/../../fixtures/reference/tokenizer_gpt2.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// GPT-2's `bytes_to_unicode` (encoder.py): printable Latin-1 bytes map to themselves, the
/// other 68 bytes to U+0100 onwards, in byte order (a space is 'Ġ', a newline 'Ċ').
fn byte_to_unicode() -> Vec<char> {
    let printable = |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || b >= 174;
    let mut n = 0;
    (0u32..256)
        .map(|b| {
            if printable(b) {
                char::from_u32(b).unwrap()
            } else {
                n += 1;
                char::from_u32(255 + n).unwrap()
            }
        })
        .collect()
}

#[test]
fn gpt2_bpe_matches_transformers_on_every_fixture_string() {
    let f = fixture();
    let t = Gpt2Tokenizer::new();
    let map = byte_to_unicode();
    assert_eq!(map[b' ' as usize], 'Ġ');
    assert_eq!(map[b'\n' as usize], 'Ċ');
    let cases = f["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want: Vec<usize> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        let ids = t.encode(text).unwrap();
        assert_eq!(ids, want, "{text:?}");
        assert_eq!(ids.len() as u64, case["n_tokens"].as_u64().unwrap());
        // Each token's bytes, written in encoder.json's alphabet, is the fixture's token.
        let tokens: Vec<String> = ids
            .iter()
            .map(|&id| {
                t.bytes_of(id)
                    .unwrap()
                    .iter()
                    .map(|&b| map[b as usize])
                    .collect()
            })
            .collect();
        let want_tokens: Vec<&str> = case["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert_eq!(tokens, want_tokens, "{text:?}");
        assert!(case["decode_roundtrip_equal"].as_bool().unwrap());
        assert_eq!(t.decode(&ids).unwrap(), text);
        // Token by token, as generation streams it: the same text, no broken characters.
        let mut d = StreamDecoder::new();
        let mut streamed: String = ids
            .iter()
            .map(|&id| d.push(&t.bytes_of(id).unwrap()))
            .collect();
        streamed.push_str(&d.finish());
        assert_eq!(streamed, text);
    }
}

#[test]
fn a_token_may_hold_part_of_a_character_and_endoftext_is_50256() {
    let t = TextTokenizer::for_text(TokenizerKind::Gpt2, "ignored").unwrap();
    // The fixture's 'café naïve résumé 日本語 😀': '😀' (4 bytes) is not one token.
    let ids = t.encode("😀").unwrap();
    assert!(ids.len() > 1, "{ids:?}");
    assert!(std::str::from_utf8(&t.token_bytes(ids[0]).unwrap()).is_err());
    assert_eq!(t.decode(&ids[..1]).unwrap(), "\u{FFFD}");
    assert_eq!(t.encode("<|endoftext|>").unwrap(), vec![ENDOFTEXT_ID]);
    assert_eq!(t.decode(&[ENDOFTEXT_ID]).unwrap(), "<|endoftext|>");
    assert_eq!(t.vocab_size(), 50257);
    let e = t.token_bytes(50257).unwrap_err().to_string();
    assert!(e.contains("50257"), "{e}");
}
