//! llm.c's GPT-2 checkpoint (`models::gpt::llmc`; layout of llm.c's `train_gpt2.py`
//! `write_model` / `train_gpt2.c` `gpt2_build_from_checkpoint`): a file the test writes round
//! trips bit for bit, its bytes sit where llm.c's `fill_in_parameter_sizes` puts them (offsets
//! computed here by hand), the gpt2_tiny fixture converted to `.bin` still gives transformers'
//! logits through `LanguageModel::load`, version 1 (unpadded) reads the same, and truncated or
//! hostile files are clear errors.

use learnable::io::load_safetensors;
use learnable::lm::LanguageModel;
use learnable::models::gpt::llmc::{LLMC_MAGIC, read_llmc, write_llmc};
use learnable::models::gpt::{Gpt, GptConfig, hf};
use learnable::{ParamStore, Rng};

fn fixture(name: &str) -> String {
    format!(
        "{}/../../fixtures/reference/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn small() -> (GptConfig, ParamStore) {
    let config = GptConfig {
        n_layer: 2,
        n_head: 2,
        n_embd: 8,
        block_size: 6,
        vocab_size: 65,
        dropout: 0.0,
        bias: true,
    };
    let mut store = ParamStore::new();
    Gpt::new(config.clone(), &mut store, &mut Rng::new(7, "init")).unwrap();
    (config, store)
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn a_written_checkpoint_has_llmc_layout_and_round_trips_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("small.bin");
    let (config, store) = small();
    write_llmc(&path, &config, &store).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    // Header: magic, version 3, maxT 6, V 65, L 2, NH 2, C 8, Vp 128 (65 padded to 128).
    let header: Vec<i32> = bytes[..1024]
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(&header[..8], &[LLMC_MAGIC, 3, 6, 65, 2, 2, 8, 128]);
    assert!(header[8..].iter().all(|&x| x == 0));
    let (c, l, vp, v, t) = (8usize, 2usize, 128usize, 65usize, 6usize);
    let params = config.num_params() as usize;
    assert_eq!(bytes.len(), 1024 + 4 * (params + (vp - v) * c));
    let f = floats(&bytes[1024..]);
    let val = |name: &str| store.value(store.id(name).unwrap()).data().to_vec();
    // wte rows 0..V, then zero padding rows.
    assert_eq!(&f[..v * c], &val("transformer.wte.weight")[..]);
    assert!(f[v * c..vp * c].iter().all(|&x| x == 0.0));
    // Offsets by llm.c's order: wte, wpe, ln1w, ln1b, qkvw (L × 3C × C, [out, in]), ...
    let wpe = vp * c;
    assert_eq!(&f[wpe..wpe + t * c], &val("transformer.wpe.weight")[..]);
    let ln1b = wpe + t * c + l * c;
    assert_eq!(
        &f[ln1b + c..ln1b + 2 * c],
        &val("transformer.h.1.ln_1.bias")[..]
    );
    let qkvw = ln1b + l * c;
    let qkvw1 = &f[qkvw + 3 * c * c..qkvw + 6 * c * c];
    assert_eq!(qkvw1, &val("transformer.h.1.attn.c_attn.weight")[..]);
    let fcprojb =
        qkvw + l * (3 * c * c + 3 * c + c * c + c + c + c + 4 * c * c + 4 * c + 4 * c * c);
    assert_eq!(
        &f[fcprojb..fcprojb + c],
        &val("transformer.h.0.mlp.c_proj.bias")[..]
    );
    let lnf = fcprojb + l * c;
    assert_eq!(&f[lnf..lnf + c], &val("transformer.ln_f.weight")[..]);
    assert_eq!(lnf + 2 * c, f.len());

    let (config2, store2) = read_llmc(&path).unwrap();
    assert_eq!(config2, config);
    assert_eq!(store2.len(), store.len());
    for (id, p) in store.iter() {
        let q = store2.value(store2.id(&p.name).unwrap());
        assert_eq!(q.shape(), p.value.shape(), "{}", p.name);
        let same = q
            .data()
            .iter()
            .zip(p.value.data())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{} ({id:?})", p.name);
    }

    // Version 1: no padding, header[7] unused; the same model.
    let mut v1 = bytes[..1024].to_vec();
    v1[4..8].copy_from_slice(&1i32.to_le_bytes());
    v1[28..32].copy_from_slice(&0i32.to_le_bytes());
    v1.extend_from_slice(&bytes[1024..1024 + 4 * v * c]);
    v1.extend_from_slice(&bytes[1024 + 4 * vp * c..]);
    let p1 = tmp.path().join("v1.bin");
    std::fs::write(&p1, &v1).unwrap();
    let (config1, store1) = read_llmc(&p1).unwrap();
    assert_eq!(config1, config);
    assert_eq!(
        store1
            .value(store1.id("transformer.ln_f.bias").unwrap())
            .data(),
        &val("transformer.ln_f.bias")[..]
    );
}

#[test]
fn the_gpt2_tiny_fixture_as_an_llmc_file_gives_transformers_logits() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("gpt2_tiny_model/config.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let t = learnable::size::hf_config::from_json(&v, "config.json").unwrap();
    let config = GptConfig::from_transformer(&t).unwrap();
    let store = hf::from_hf_tensors(
        load_safetensors(fixture("gpt2_tiny_model/model.safetensors")).unwrap(),
    )
    .unwrap();
    let path = tmp.path().join("gpt2_tiny.bin");
    write_llmc(&path, &config, &store).unwrap();
    let model = LanguageModel::load(&path).unwrap();
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("gpt2_tiny.json")).unwrap()).unwrap();
    let ids: Vec<usize> = j["token_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let logits = model.net.forward_inference(&model.store, &ids).unwrap();
    let want = load_safetensors(fixture("gpt2_tiny_logits.safetensors"))
        .unwrap()
        .remove("logits")
        .unwrap();
    let err = logits.max_abs_diff(&want);
    assert!(err < 1e-5, "{err:e}");
    let loss = model
        .evaluate_text(j["text"].as_str().unwrap())
        .unwrap()
        .loss;
    let want_loss = j["loss"].as_f64().unwrap();
    assert!((loss - want_loss).abs() < 1e-5 * want_loss, "{loss}");
    // Written back from the loaded model: the same bytes.
    let again = tmp.path().join("again.bin");
    model.save_llmc(&again).unwrap();
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&path).unwrap()
    );
}

#[test]
fn truncated_and_hostile_checkpoints_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("small.bin");
    let (config, store) = small();
    write_llmc(&path, &config, &store).unwrap();
    let good = std::fs::read(&path).unwrap();
    let with_header = |i: usize, x: i32| {
        let mut b = good.clone();
        b[4 * i..4 * i + 4].copy_from_slice(&x.to_le_bytes());
        b
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", good[..good.len() - 4].to_vec(), "(truncated)"),
        (
            "trailing",
            [good.clone(), vec![0; 4]].concat(),
            "(trailing bytes)",
        ),
        (
            "short header",
            good[..100].to_vec(),
            "shorter than llm.c's 1024-byte header",
        ),
        ("magic", with_header(0, 20240327), "magic number 20240327"),
        ("bf16", with_header(1, 5), "bfloat16"),
        ("version", with_header(1, 2), "version 2"),
        ("negative V", with_header(3, -5), "header[3] V = -5"),
        (
            "Vp < V",
            with_header(7, 64),
            "Vp = 64 is smaller than V = 65",
        ),
        ("heads", with_header(5, 3), "n_embd"),
        // 2^30 layers of width 2^20 would be 2^71 parameters: refused before any allocation.
        ("huge", with_header(4, 1 << 30), "header"),
        ("huge width", with_header(6, i32::MAX), "header"),
    ];
    for (what, bytes, needle) in cases {
        let p = tmp.path().join(format!("{what}.bin"));
        std::fs::write(&p, &bytes).unwrap();
        let e = read_llmc(&p).unwrap_err().to_string();
        assert!(
            e.contains(needle) && e.contains(&*p.display().to_string()),
            "{what}: {e}"
        );
    }
    // A non-GPT-2 vocabulary cannot be tokenized: the model loader says so.
    let e = LanguageModel::load(&path).unwrap_err().to_string();
    assert!(e.contains("GPT-2's BPE"), "{e}");
    // NaN in the weights.
    let mut nan = good.clone();
    let at = nan.len() - 4;
    nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&path, &nan).unwrap();
    let e = read_llmc(&path).unwrap_err().to_string();
    assert!(e.contains("not finite"), "{e}");
}
