//! A model directory whose files are damaged is refused at load, naming the file and what is
//! wrong in it: a NaN weight (the tensor and the index), a truncated model.safetensors (the
//! tensor and the sizes). Before the fix `learnable eval` on a model holding NaN weights
//! printed an accuracy and exited 0.

mod common;

use common::{learnable, out_str};
use std::path::Path;

/// Trains a softmax regression on iris into `dir/m` (L-BFGS, a few hundred milliseconds).
fn train(dir: &Path) {
    learnable(dir)
        .args([
            "train",
            "--dataset",
            "iris",
            "--model",
            "softmax",
            "--out",
            "m",
        ])
        .assert()
        .success();
}

/// Replaces `dir/m/model.safetensors` with `bytes`. A config.json that records the weights'
/// SHA-256 (`weights_sha256`) would refuse any edited file for that reason first, so the field
/// is dropped: these tests are about what the loader says about the file's contents.
fn replace_weights(dir: &Path, bytes: &[u8]) {
    std::fs::write(dir.join("m/model.safetensors"), bytes).unwrap();
    let cfg_path = dir.join("m/config.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    if let Some(obj) = cfg.as_object_mut() {
        if obj.remove("weights_sha256").is_some() {
            std::fs::write(&cfg_path, cfg.to_string()).unwrap();
        }
    }
}

/// Runs `learnable ARGS` in `dir`: (exit code, stdout + stderr).
fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let o = learnable(dir).args(args).output().unwrap();
    (o.status.code(), out_str(&o))
}

#[test]
fn eval_refuses_a_model_holding_a_nan_weight_naming_the_tensor() {
    let tmp = tempfile::tempdir().unwrap();
    train(tmp.path());
    let weights = tmp.path().join("m/model.safetensors");
    let mut tensors = learnable::io::load_safetensors(&weights).unwrap();
    let name = tensors
        .keys()
        .find(|k| k.ends_with("weight"))
        .unwrap()
        .clone();
    tensors.get_mut(&name).unwrap().data_mut()[5] = f32::NAN;
    let bytes =
        learnable::io::safetensors_bytes(tensors.iter().map(|(k, v)| (k.as_str(), v)), None)
            .unwrap();
    replace_weights(tmp.path(), &bytes);
    let want = format!("tensor {name} holds NaN (first at index 5 of ");
    for args in [
        &["eval", "--model", "m", "--dataset", "iris"][..],
        &["predict", "--model", "m", "--dataset", "iris"][..],
        &["logits", "--model", "m", "--dataset", "iris", "--row", "0"][..],
    ] {
        let (code, s) = run(tmp.path(), args);
        assert_eq!(code, Some(1), "{args:?}: {s}");
        assert!(
            s.contains("model.safetensors") && s.contains(&want),
            "{args:?}: {s}"
        );
        assert!(!s.contains("accuracy"), "{args:?}: {s}");
    }
    // `learnable params` reads only the header: the count is still there.
    let (code, s) = run(tmp.path(), &["params", "m/model.safetensors"]);
    assert_eq!(code, Some(0), "{s}");
    // iris softmax: 3 x 4 weights + 3 biases = 15 parameters.
    assert!(s.contains("15"), "{s}");
}

#[test]
fn eval_refuses_a_truncated_model_naming_the_tensor_and_the_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    train(tmp.path());
    let weights = tmp.path().join("m/model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    replace_weights(tmp.path(), &bytes[..bytes.len() - 4]);
    let (code, s) = run(tmp.path(), &["eval", "--model", "m", "--dataset", "iris"]);
    assert_eq!(code, Some(1), "{s}");
    assert!(
        s.contains("model.safetensors")
            && s.contains("run past the end of the data section")
            && s.contains("tensor "),
        "{s}"
    );
    // A header length beyond the file.
    let mut b = bytes.clone();
    b[..8].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
    replace_weights(tmp.path(), &b);
    let (code, s) = run(tmp.path(), &["eval", "--model", "m", "--dataset", "iris"]);
    assert_eq!(code, Some(1), "{s}");
    assert!(
        s.contains(&format!(
            "header length {} bytes runs past the end of the file ({} bytes)",
            bytes.len(),
            bytes.len()
        )),
        "{s}"
    );
}

/// Writes `cfg` as `dir/m/config.json`.
fn write_config(dir: &Path, cfg: &serde_json::Value) {
    std::fs::write(
        dir.join("m/config.json"),
        serde_json::to_string_pretty(cfg).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_config_value_of_the_wrong_type_or_range_is_named_by_its_field_path() {
    let tmp = tempfile::tempdir().unwrap();
    learnable(tmp.path())
        .args([
            "train",
            "--dataset",
            "iris",
            "--hidden",
            "4",
            "--epochs",
            "1",
            "--quiet",
        ])
        .args(["--out", "m"])
        .assert()
        .success();
    let cfg_path = tmp.path().join("m/config.json");
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    // Before the fix: "m/config.json is not a learnable model config: invalid value: integer
    // `-5`, expected usize at line L column C", without the field.
    let mut cfg = good.clone();
    cfg["architecture"]["mlp"]["hidden"] = serde_json::json!([-5]);
    write_config(tmp.path(), &cfg);
    let (code, s) = run(tmp.path(), &["eval", "--model", "m", "--dataset", "iris"]);
    assert_eq!(code, Some(1), "{s}");
    assert!(
        s.contains("config.json")
            && s.contains(
                "field architecture.mlp.hidden[0]: invalid value: integer `-5`, expected usize"
            ),
        "{s}"
    );
    let mut cfg = good.clone();
    cfg["architecture"]["mlp"]["dropout"] = serde_json::json!("high");
    write_config(tmp.path(), &cfg);
    let (code, s) = run(tmp.path(), &["eval", "--model", "m", "--dataset", "iris"]);
    assert_eq!(code, Some(1), "{s}");
    assert!(
        s.contains("field architecture.mlp.dropout: invalid type: string"),
        "{s}"
    );
}

#[cfg(unix)]
#[test]
fn a_config_json_that_is_a_device_is_refused_without_reading_it() {
    // Before the fix a config.json linked to /dev/zero was read until memory ran out.
    let tmp = tempfile::tempdir().unwrap();
    train(tmp.path());
    let cfg_path = tmp.path().join("m/config.json");
    std::fs::remove_file(&cfg_path).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &cfg_path).unwrap();
    let o = learnable(tmp.path())
        .args(["eval", "--model", "m", "--dataset", "iris"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let s = out_str(&o);
    assert_eq!(o.status.code(), Some(1), "{s}");
    assert!(
        s.contains("config.json") && s.contains("not a regular file (a character device)"),
        "{s}"
    );
    // `learnable params` on a device: named, not read.
    let (code, s) = run(tmp.path(), &["params", "/dev/zero"]);
    assert_eq!(code, Some(1), "{s}");
    assert!(
        s.contains("/dev/zero: not a regular file (a character device)"),
        "{s}"
    );
}
