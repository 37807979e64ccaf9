//! The tensors of a trained model's model.safetensors are those of the equivalent PyTorch
//! module: names, dtypes and shapes equal the safetensors header that
//! `safetensors.torch.save_file(module.state_dict())` writes, recorded by
//! fixtures/pytorch_state_dict/gen.py (torch 2.15) in state_dicts.json. The module is one whose
//! `layers` attribute is `nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64),
//! nn.ReLU(), nn.Linear(64, 10))` (with `nn.Dropout` after each ReLU when dropout is on).

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/pytorch_state_dict/state_dicts.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The JSON header of a safetensors file (tensor name -> {dtype, shape}), metadata left out.
fn header(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut h: serde_json::Map<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    h.remove("__metadata__");
    let entries = h
        .into_iter()
        .map(|(k, v)| {
            let e = serde_json::json!({"dtype": v["dtype"], "shape": v["shape"]});
            (k, e)
        })
        .collect();
    Value::Object(entries)
}

fn train(dir: &Path, args: &[&str]) {
    let o = Command::cargo_bin("learnable")
        .unwrap()
        .current_dir(dir)
        .args(["train", "--epochs", "1", "--quiet"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_default_digits_mlp_has_the_tensors_of_pytorchs_sequential() {
    let fx = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    train(d, &["--out", "plain"]);
    train(d, &["--dropout", "0.1", "--out", "dropout"]);
    for (dir, key) in [
        ("plain", "mlp_64_128_64_10"),
        ("dropout", "mlp_64_128_64_10_dropout"),
    ] {
        let expected = &fx["models"][key]["safetensors_header"];
        assert!(expected.is_object(), "{key} missing from the fixture");
        let got = header(&d.join(dir).join("model.safetensors"));
        assert_eq!(&got, expected, "{key}");
        // The checkpoint for --resume holds the same tensors.
        let ckpt = header(&d.join(dir).join("checkpoint/model.safetensors"));
        assert_eq!(&ckpt, expected, "{key} checkpoint");
    }
    // With dropout the Linear layers sit at 0, 3, 6 (nn.Dropout takes an index).
    let names: Vec<&String> = fx["models"]["mlp_64_128_64_10_dropout"]["state_dict"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert!(names.iter().any(|n| *n == "layers.6.weight"), "{names:?}");
}

#[test]
fn a_closed_form_softmax_model_is_one_pytorch_linear_layer() {
    let fx = fixture();
    let tmp = tempfile::tempdir().unwrap();
    train(
        tmp.path(),
        &["--dataset", "iris", "--model", "softmax", "--out", "sm"],
    );
    let got = header(&tmp.path().join("sm/model.safetensors"));
    assert_eq!(got, fx["models"]["linear_4_3"]["safetensors_header"]);
}
