//! Small JSON files (model config.json, Hugging Face configs, shard indexes) are read with a cap
//! (`learnable::io::read_to_string_capped`), and a value of the wrong type or range is named by
//! its field path (`learnable::io::parse_json`). Before the fix `/dev/zero` as config.json was
//! read until memory ran out, and a negative width gave serde's bare "invalid value: integer
//! `-5`, expected usize at line 7 column 13" without the field.

use learnable::io::{from_json_value, parse_json, read_json_file, read_to_string_capped};
use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq)]
struct Network {
    hidden: Vec<usize>,
    dropout: f32,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Config {
    kind: String,
    network: Network,
}

#[test]
fn a_capped_read_refuses_large_files_and_devices_naming_the_file_size_and_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("config.json");
    std::fs::write(&p, "x".repeat(101)).unwrap();
    assert_eq!(
        read_to_string_capped(&p, 101, "model config")
            .unwrap()
            .len(),
        101
    );
    let e = read_to_string_capped(&p, 100, "model config")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("config.json")
            && e.contains("101 bytes, more than the 100 bytes a model config may have"),
        "{e}"
    );
    #[cfg(unix)]
    {
        let e = read_to_string_capped("/dev/zero", 100, "model config")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/dev/zero")
                && e.contains(
                    "not a regular file (a character device); a model config must be a file"
                ),
            "{e}"
        );
    }
    let e = read_to_string_capped(tmp.path(), 100, "model config")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a regular file (a directory)"), "{e}");
    std::fs::write(&p, b"{\"a\": \"\xff\"}").unwrap();
    let e = read_to_string_capped(&p, 100, "model config")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not UTF-8 text (invalid byte at offset 7)"),
        "{e}"
    );
    let e = read_to_string_capped(tmp.path().join("absent.json"), 100, "model config")
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.json"), "{e}");
}

#[test]
fn a_wrong_value_is_named_by_its_field_path() {
    // Line 7 column 8 is where serde_json stops reading -5 in this text (counted by hand:
    // line 7 is six spaces then `-5`, so the `5` is its 8th character).
    let text = "{\n  \"kind\": \"mlp\",\n  \"network\": {\n    \"dropout\": 0.5,\n    \"hidden\": [\n\
                \x20     16,\n      -5\n    ]\n  }\n}";
    let e = parse_json::<Config>(text, "m/config.json")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "invalid file m/config.json: field network.hidden[1]: invalid value: integer `-5`, \
         expected usize at line 7 column 8"
    );
    let ok: Config = parse_json(
        r#"{"kind": "mlp", "network": {"hidden": [4], "dropout": 0}}"#,
        "c",
    )
    .unwrap();
    assert_eq!(ok.network.hidden, vec![4]);
    // A missing field names the object it is missing from; the document itself is not "."
    let e = parse_json::<Config>(r#"{"kind": "mlp", "network": {"hidden": []}}"#, "c")
        .unwrap_err()
        .to_string();
    assert!(e.contains("field network: missing field `dropout`"), "{e}");
    let e = parse_json::<Config>(r#"{"network": {"hidden": [], "dropout": 0}}"#, "c")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("invalid file c: missing field `kind`"), "{e}");
    // Wrong type, trailing text, and a Value already parsed.
    let e = parse_json::<Config>(r#"{"kind": 3}"#, "c")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("field kind: invalid type: integer `3`, expected a string"),
        "{e}"
    );
    let e = parse_json::<Vec<u8>>("[1] x", "c").unwrap_err().to_string();
    assert!(e.contains("trailing characters"), "{e}");
    let v = serde_json::json!({"kind": "mlp", "network": {"hidden": [1, -2], "dropout": 0}});
    let e = from_json_value::<Config>(v, "c").unwrap_err().to_string();
    assert!(
        e.contains("field network.hidden[1]: invalid value: integer `-2`, expected usize"),
        "{e}"
    );
    // read_json_file = capped read + parse_json.
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("c.json");
    std::fs::write(
        &p,
        r#"{"kind": "mlp", "network": {"hidden": [3], "dropout": 2}}"#,
    )
    .unwrap();
    let c: Config = read_json_file(&p, 1000, "model config").unwrap();
    assert_eq!(c.network.dropout, 2.0);
}
