//! The header-only safetensors reader: counts on real files, hostile headers, fuzzing, and
//! agreement with the safetensors crate (the reference implementation) on what is valid.

use learnable::size::safetensors_header::{MAX_HEADER_BYTES, parse_header};
use learnable::size::{self, HeaderErrorKind, Options, Target, read_header};
use learnable::{ParamStore, Rng, Tensor};
use proptest::prelude::*;
use serde_json::json;

fn fixture(rel: &str) -> String {
    format!(
        "{}/../../fixtures/reference/{rel}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A safetensors file from a JSON header and a data section of `data_len` zero bytes.
fn file_with(header: &serde_json::Value, data_len: usize) -> Vec<u8> {
    let h = serde_json::to_vec(header).unwrap();
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend(std::iter::repeat_n(0u8, data_len));
    out
}

fn kind_of(bytes: &[u8]) -> HeaderErrorKind {
    let e = parse_header(bytes, "hostile.safetensors").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("hostile.safetensors"),
        "error does not name the file: {msg}"
    );
    e.kind().cloned().expect("an invalid-file error, not I/O")
}

#[test]
fn mlp_init_counts_the_sum_of_its_tensor_sizes() {
    // README section 3: layers 0, 2, 4 of a 64-32-32-10 MLP:
    // 64*32 + 32 + 32*32 + 32 + 32*10 + 10 = 3,466.
    let h = read_header(fixture("mlp_init.safetensors")).unwrap();
    assert_eq!(h.tensors.len(), 6);
    assert_eq!(
        h.total_elements(),
        64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10
    );
    assert_eq!(h.metadata.get("seed").map(String::as_str), Some("0"));
    let w = h
        .tensors
        .iter()
        .find(|t| t.name == "layers.0.weight")
        .unwrap();
    assert_eq!((w.shape.clone(), w.numel), (vec![32, 64], 2048));
}

#[test]
fn gpt2_tiny_stores_1_637_792_parameters_without_the_tied_head() {
    // README section 4: "1637792 unique parameters"; lm_head.weight is not stored.
    let h = read_header(fixture("gpt2_tiny_model/model.safetensors")).unwrap();
    assert_eq!(h.total_elements(), 1_637_792);
    assert!(h.tensors.iter().all(|t| t.name != "lm_head.weight"));
    assert_eq!(h.data_len, 1_637_792 * 4);
}

#[test]
fn the_header_agrees_with_the_safetensors_crate_on_the_fixture_files() {
    for f in [
        "mlp_init.safetensors",
        "gpt2_tiny_model/model.safetensors",
        "gpt2_tiny_grads.safetensors",
    ] {
        let bytes = std::fs::read(fixture(f)).unwrap();
        let ours = parse_header(&bytes, f).unwrap();
        let (n, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        assert_eq!(ours.header_len, n as u64);
        let theirs = meta.tensors();
        assert_eq!(ours.tensors.len(), theirs.len());
        for t in &ours.tensors {
            let r = theirs[&t.name];
            let shape: Vec<u64> = r.shape.iter().map(|&d| d as u64).collect();
            assert_eq!(t.shape, shape, "{}", t.name);
            assert_eq!(
                t.data_offsets,
                [r.data_offsets.0 as u64, r.data_offsets.1 as u64]
            );
            assert_eq!(t.dtype.name(), format!("{:?}", r.dtype));
        }
    }
}

#[test]
fn a_learnable_checkpoint_reports_the_same_total_as_the_model_in_memory() {
    // A ParamStore shaped like a small MLP (784-16-10) plus an odd-shaped tensor.
    let mut rng = Rng::new(7, "size-test");
    let mut store = ParamStore::new();
    store
        .add(
            "layers.0.weight",
            Tensor::uniform(&[16, 784], -0.1, 0.1, &mut rng),
        )
        .unwrap();
    store.add("layers.0.bias", Tensor::zeros(&[16])).unwrap();
    store
        .add(
            "layers.2.weight",
            Tensor::uniform(&[10, 16], -0.1, 0.1, &mut rng),
        )
        .unwrap();
    store.add("layers.2.bias", Tensor::zeros(&[10])).unwrap();
    store.add("scale", Tensor::scalar(1.0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    store.save(dir.path().join("model.safetensors")).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"model": "mlp", "sizes": [784, 16, 10], "activation": "relu"}"#,
    )
    .unwrap();
    let r = size::analyze(
        &Target::ModelDir(dir.path().to_path_buf()),
        &Options::default(),
    )
    .unwrap();
    // By hand: 784*16 + 16 + 16*10 + 10 + 1 = 12,731.
    assert_eq!(store.num_params(), 12_731);
    assert_eq!(r.parameters.total, store.num_params() as u64);
    assert_eq!(r.parameters.trainable, store.num_trainable() as u64);
    assert_eq!(r.tensors.len(), store.len());
    assert!(r.kv_cache.is_none());
    let scalar = r.tensors.iter().find(|t| t.name == "scale").unwrap();
    assert_eq!((scalar.shape.len(), scalar.count), (0, 1));
}

#[test]
fn a_directory_without_weights_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let e = size::analyze(
        &Target::ModelDir(dir.path().to_path_buf()),
        &Options::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("model.safetensors") && e.contains(&dir.path().display().to_string()),
        "{e}"
    );
}

#[test]
fn sharded_checkpoints_sum_every_shards_header() {
    let dir = tempfile::tempdir().unwrap();
    let a = Tensor::zeros(&[3, 4]);
    let b = Tensor::zeros(&[5]);
    let c = Tensor::zeros(&[2, 2, 2]);
    learnable::io::save_safetensors(
        dir.path().join("model-00001-of-00002.safetensors"),
        [("a", &a), ("b", &b)],
    )
    .unwrap();
    learnable::io::save_safetensors(
        dir.path().join("model-00002-of-00002.safetensors"),
        [("c", &c)],
    )
    .unwrap();
    let index = json!({"metadata": {"total_size": (12 + 5 + 8) * 4},
        "weight_map": {"a": "model-00001-of-00002.safetensors",
                       "b": "model-00001-of-00002.safetensors",
                       "c": "model-00002-of-00002.safetensors"}});
    let path = dir.path().join("model.safetensors.index.json");
    std::fs::write(&path, index.to_string()).unwrap();
    let r = size::analyze(&Target::ShardIndex(path.clone()), &Options::default()).unwrap();
    assert_eq!(r.parameters.total, 12 + 5 + 8);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    // The directory form finds the index too.
    let r = size::analyze(
        &Target::ModelDir(dir.path().to_path_buf()),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(r.parameters.total, 25);

    // A tensor mapped to a shard that does not hold it, and a shard path leaving the directory.
    let bad = json!({"weight_map": {"a": "model-00002-of-00002.safetensors"}});
    std::fs::write(&path, bad.to_string()).unwrap();
    let e = size::analyze(&Target::ShardIndex(path.clone()), &Options::default()).unwrap_err();
    assert!(e.to_string().contains("tensor a"), "{e}");
    let bad = json!({"weight_map": {"a": "../elsewhere.safetensors"}});
    std::fs::write(&path, bad.to_string()).unwrap();
    let e = size::analyze(&Target::ShardIndex(path.clone()), &Options::default()).unwrap_err();
    assert!(e.to_string().contains("plain file name"), "{e}");
}

// ---- hostile headers -------------------------------------------------------------------------

#[test]
fn a_file_shorter_than_eight_bytes_is_refused() {
    assert_eq!(
        kind_of(&[1, 2, 3]),
        HeaderErrorKind::TooShort { file_len: 3 }
    );
}

#[test]
fn a_header_length_over_the_cap_is_refused_before_any_allocation() {
    let mut bytes = u64::MAX.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    assert_eq!(
        kind_of(&bytes),
        HeaderErrorKind::HeaderTooLarge {
            len: u64::MAX,
            cap: MAX_HEADER_BYTES
        }
    );
    // The same through the file reader: 10 bytes on disk claiming a 100,000,001-byte header.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.safetensors");
    let mut bytes = (MAX_HEADER_BYTES + 1).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    std::fs::write(&path, &bytes).unwrap();
    let e = read_header(&path).unwrap_err();
    assert!(
        matches!(e.kind(), Some(HeaderErrorKind::HeaderTooLarge { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("big.safetensors"));
}

#[test]
fn a_header_length_past_the_end_of_the_file_is_refused() {
    let mut bytes = 1000u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    assert_eq!(
        kind_of(&bytes),
        HeaderErrorKind::HeaderPastEnd {
            len: 1000,
            file_len: 10
        }
    );
    // Through the file reader as well (a 1 MB claim in a 10-byte file).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.safetensors");
    let mut bytes = 1_000_000u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    std::fs::write(&path, &bytes).unwrap();
    let e = read_header(&path).unwrap_err();
    assert!(
        matches!(e.kind(), Some(HeaderErrorKind::HeaderPastEnd { .. })),
        "{e}"
    );
}

#[test]
fn invalid_json_non_utf8_and_non_objects_are_refused() {
    for header in [
        &b"{not json"[..],
        b"[1, 2]",
        b"\xff\xfe{}",
        b"{\"a\": 3}",
        b"  {}",
    ] {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        assert!(
            matches!(kind_of(&bytes), HeaderErrorKind::InvalidJson { .. }),
            "{:?}",
            String::from_utf8_lossy(header)
        );
    }
    // Metadata values must be strings, as the format says.
    let bytes = file_with(&json!({"__metadata__": {"seed": 0}}), 0);
    assert!(matches!(
        kind_of(&bytes),
        HeaderErrorKind::InvalidJson { .. }
    ));
}

#[test]
fn overlapping_offsets_are_refused_naming_both_tensors() {
    let h = json!({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                   "v": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}});
    match kind_of(&file_with(&h, 12)) {
        HeaderErrorKind::Overlap { tensor, other, .. } => {
            assert_eq!((tensor, other), ("v".into(), "w".into()))
        }
        k => panic!("{k:?}"),
    }
    // Two tensors on the same bytes (an attempt to alias) as well.
    let h = json!({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                   "v": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}});
    assert!(matches!(
        kind_of(&file_with(&h, 8)),
        HeaderErrorKind::Overlap { .. }
    ));
}

#[test]
fn offsets_past_the_end_of_the_data_are_refused() {
    let h = json!({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}});
    assert_eq!(
        kind_of(&file_with(&h, 4)),
        HeaderErrorKind::OffsetsPastEnd {
            tensor: "w".into(),
            begin: 0,
            end: 8,
            data_len: 4
        }
    );
    let h = json!({"w": {"dtype": "F32", "shape": [2], "data_offsets": [u64::MAX - 7, u64::MAX]}});
    assert!(matches!(
        kind_of(&file_with(&h, 8)),
        HeaderErrorKind::OffsetsPastEnd { .. }
    ));
}

#[test]
fn offsets_that_disagree_with_shape_times_dtype_are_refused() {
    let h = json!({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}});
    let k = kind_of(&file_with(&h, 8));
    assert_eq!(
        k,
        HeaderErrorKind::SizeMismatch {
            tensor: "w".into(),
            shape: "[3]".into(),
            dtype: learnable::size::StDtype::F32,
            expected: 12,
            got: 8
        }
    );
    assert!(k.to_string().contains("tensor w"));
    let h = json!({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}});
    assert!(matches!(
        kind_of(&file_with(&h, 8)),
        HeaderErrorKind::OffsetsReversed { .. }
    ));
}

#[test]
fn an_unknown_dtype_is_refused_naming_the_tensor() {
    let h = json!({"w": {"dtype": "F33", "shape": [2], "data_offsets": [0, 8]}});
    assert_eq!(
        kind_of(&file_with(&h, 8)),
        HeaderErrorKind::UnknownDtype {
            tensor: "w".into(),
            dtype: "F33".into()
        }
    );
}

#[test]
fn shapes_whose_size_overflows_are_refused_without_allocating() {
    let h =
        json!({"w": {"dtype": "F32", "shape": [1u64 << 40, 1u64 << 40], "data_offsets": [0, 8]}});
    assert!(matches!(
        kind_of(&file_with(&h, 8)),
        HeaderErrorKind::ShapeOverflow { .. }
    ));
    let h = json!({"w": {"dtype": "F64", "shape": [1u64 << 61], "data_offsets": [0, 8]}});
    assert!(matches!(
        kind_of(&file_with(&h, 8)),
        HeaderErrorKind::ShapeOverflow { .. }
    ));
}

#[test]
fn duplicate_names_gaps_trailing_bytes_and_half_bytes_are_refused() {
    let dup = br#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#;
    let mut bytes = (dup.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(dup);
    bytes.extend_from_slice(&[0; 8]);
    assert_eq!(
        kind_of(&bytes),
        HeaderErrorKind::DuplicateTensor { tensor: "w".into() }
    );

    let h = json!({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}});
    assert!(matches!(
        kind_of(&file_with(&h, 8)),
        HeaderErrorKind::Gap {
            begin: 0,
            end: 4,
            ..
        }
    ));
    let h = json!({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}});
    assert!(matches!(
        kind_of(&file_with(&h, 9)),
        HeaderErrorKind::Gap {
            begin: 4,
            end: 9,
            ..
        }
    ));
    let h = json!({"w": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}});
    assert!(matches!(
        kind_of(&file_with(&h, 2)),
        HeaderErrorKind::MisalignedBits { .. }
    ));
    // Four F4 elements pack into two bytes and are fine.
    let h = json!({"w": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]}});
    assert_eq!(
        parse_header(&file_with(&h, 2), "ok")
            .unwrap()
            .total_elements(),
        4
    );
}

#[test]
fn a_truncated_real_checkpoint_is_refused_naming_a_tensor() {
    let bytes = std::fs::read(fixture("mlp_init.safetensors")).unwrap();
    let k = kind_of(&bytes[..bytes.len() - 100]);
    assert!(matches!(k, HeaderErrorKind::OffsetsPastEnd { .. }), "{k:?}");
    assert!(k.to_string().contains("layers."), "{k}");
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let e = read_header("/nonexistent/dir/model.safetensors").unwrap_err();
    assert!(e.kind().is_none());
    assert!(e.to_string().contains("/nonexistent/dir/model.safetensors"));
}

// ---- fuzzing ---------------------------------------------------------------------------------

fn fuzz_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

const DTYPES: [&str; 6] = ["F32", "F16", "BF16", "I8", "F4", "X9"];

/// A header built from parts, with offsets that are right unless perturbed.
fn build(parts: &[(usize, Vec<u64>, i64)], tail: i64) -> Vec<u8> {
    let mut map = serde_json::Map::new();
    let mut offset: i64 = 0;
    for (i, (dtype, shape, jitter)) in parts.iter().enumerate() {
        let name = DTYPES[*dtype];
        let bits: i64 = match name {
            "F32" => 32,
            "F16" | "BF16" => 16,
            "I8" | "X9" => 8,
            _ => 4,
        };
        let numel: i64 = shape.iter().map(|&d| d as i64).product();
        let size = numel * bits / 8;
        let begin = (offset + jitter).max(0);
        let end = begin + size;
        map.insert(
            format!("t{i}"),
            json!({"dtype": name, "shape": shape, "data_offsets": [begin, end]}),
        );
        offset = end;
    }
    file_with(
        &serde_json::Value::Object(map),
        (offset + tail).max(0) as usize,
    )
}

proptest! {
    // 512 cases per property in CI; set PROPTEST_CASES to fuzz longer.
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_header(&bytes, "fuzz");
    }

    #[test]
    fn random_bytes_after_a_plausible_length_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut bytes = (body.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&body);
        let _ = parse_header(&bytes, "fuzz");
    }

    #[test]
    fn mutated_real_headers_never_panic_and_agree_with_the_reference(
        pos in 0usize..600, byte in any::<u8>(), cut in 0usize..64,
    ) {
        let mut bytes = std::fs::read(fixture("mlp_init.safetensors")).unwrap();
        let i = pos % (8 + 480);
        bytes[i] = byte;
        bytes.truncate(bytes.len() - cut);
        let ours = parse_header(&bytes, "fuzz");
        let theirs = safetensors::SafeTensors::read_metadata(&bytes);
        // We are at least as strict as the reference: whatever we accept, it accepts too.
        if ours.is_ok() {
            prop_assert!(theirs.is_ok(), "accepted what safetensors refuses: {:?}", theirs.err());
        }
    }

    #[test]
    fn structured_headers_are_valid_exactly_when_the_reference_says_so(
        parts in proptest::collection::vec(
            (0usize..DTYPES.len(), proptest::collection::vec(1u64..6, 0..3), prop_oneof![8 => Just(0i64), 1 => -4i64..5]),
            0..5),
        tail in prop_oneof![8 => Just(0i64), 1 => -3i64..4],
    ) {
        let bytes = build(&parts, tail);
        let ours = parse_header(&bytes, "fuzz");
        let theirs = safetensors::SafeTensors::read_metadata(&bytes);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "ours {:?} theirs {:?}", ours.as_ref().err(), theirs.as_ref().err());
        if let Ok(h) = ours {
            let total: u64 = h.tensors.iter().map(|t| t.numel).sum();
            let expected: u64 = parts.iter().map(|(_, s, _)| s.iter().product::<u64>()).sum();
            prop_assert_eq!(total, expected);
        }
    }
}

#[test]
fn a_70000_character_tensor_name_is_shortened_in_the_text_report_instead_of_panicking() {
    // Before the fix render_text padded the name column with format!("{:<w0$}") and
    // w0 = 70,007 > 65,535 panicked ("Formatting argument out of range").
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.safetensors");
    let long = format!("{}.weight", "n".repeat(70_000));
    let w = Tensor::zeros(&[2, 3]);
    let b = Tensor::zeros(&[2]);
    learnable::io::save_safetensors(&path, [(long.as_str(), &w), ("bias", &b)]).unwrap();
    let r = size::analyze(&Target::Safetensors(path), &Options::default()).unwrap();
    assert_eq!(r.tensors.iter().filter(|t| t.name == long).count(), 1);
    let text = size::report::render_text(&r);
    assert!(text.lines().all(|l| l.chars().count() < 400), "{text}");
    // Names are shortened to 200 characters, keeping the .weight suffix; the bias row is
    // padded to that width ("  " indent, 200 name characters, "  ", the shape).
    let row = text.lines().find(|l| l.contains('…')).unwrap();
    assert!(
        row.starts_with("  nnn") && row.contains("n.weight  [2, 3]"),
        "{text}"
    );
    let bias = text.lines().find(|l| l.starts_with("  bias")).unwrap();
    assert!(
        bias.starts_with(&format!("  {:<200}  [2]", "bias")),
        "{text}"
    );
}
