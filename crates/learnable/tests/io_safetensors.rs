//! Loading safetensors checkpoints (`learnable::io::load_safetensors`, `ParamStore::load`, the
//! model directory loader) goes through the hardened header reader of
//! `learnable::size::safetensors_header`: every malformed file is refused with the file, the
//! tensor and the declared and actual sizes, and nothing is read into memory before the header
//! length has been checked against the file size and the 100 MB cap.
//!
//! Before the fix these files gave the `safetensors` crate's generic messages ("invalid header
//! length", "metadata is incomplete"), and `/dev/zero` was read until memory ran out.

use learnable::io::{load_safetensors, parse_safetensors, read_safetensors, save_safetensors};
use learnable::{ParamStore, Tensor};
use std::path::{Path, PathBuf};

/// Bytes of a safetensors file: the 8-byte length, `header` (JSON) and `data`.
fn file_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut b = (header.len() as u64).to_le_bytes().to_vec();
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(data);
    b
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The error of loading `path`, as text, checked to name the file; the in-memory parser must
/// give the same message.
fn load_err(path: &Path) -> String {
    let e = load_safetensors(path).unwrap_err().to_string();
    assert!(e.contains(&path.display().to_string()), "{e}");
    let name = path.display().to_string();
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(parse_safetensors(&bytes, &name).unwrap_err().to_string(), e);
    e
}

/// A valid two-tensor file: `a` [2] = [1, 2], `b` [1] = [3] (12 data bytes).
fn valid() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v.safetensors");
    let a = Tensor::new(vec![1.0, 2.0], &[2]).unwrap();
    let b = Tensor::new(vec![3.0], &[1]).unwrap();
    save_safetensors(&p, [("a", &a), ("b", &b)]).unwrap();
    std::fs::read(&p).unwrap()
}

#[test]
fn a_valid_file_round_trips_with_its_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "v.safetensors", &valid());
    let f = read_safetensors(&p).unwrap();
    assert_eq!(f.tensors["a"].data(), &[1.0, 2.0]);
    assert_eq!(f.tensors["a"].shape(), &[2]);
    assert_eq!(f.tensors["b"].data(), &[3.0]);
    assert!(f.metadata.is_empty());
    // Metadata, written by hand: {"__metadata__":{"k":"v"},"x":{...}} with one f32 of 0.5.
    let header =
        r#"{"__metadata__":{"k":"v"},"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#;
    let p = write(
        tmp.path(),
        "m.safetensors",
        &file_bytes(header, &0.5f32.to_le_bytes()),
    );
    let f = read_safetensors(&p).unwrap();
    assert_eq!(f.metadata["k"], "v");
    assert_eq!(f.tensors["x"].data(), &[0.5]);
}

#[test]
fn a_truncated_file_names_the_tensor_and_the_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let full = valid();
    // Cut inside the data: tensor b declares [8, 12] but the data section is now 10 bytes.
    let p = write(tmp.path(), "cut.safetensors", &full[..full.len() - 2]);
    let e = load_err(&p);
    assert!(
        e.contains(
            "tensor b: data_offsets [8, 12] run past the end of the data section (10 bytes)"
        ),
        "{e}"
    );
    // Cut inside the header: the header length runs past the end of the file.
    let p = write(tmp.path(), "head.safetensors", &full[..20]);
    let e = load_err(&p);
    let len = u64::from_le_bytes(full[..8].try_into().unwrap());
    assert!(
        e.contains(&format!(
            "header length {len} bytes runs past the end of the file (20 bytes)"
        )),
        "{e}"
    );
    // Shorter than the 8-byte length itself.
    let p = write(tmp.path(), "tiny.safetensors", &full[..5]);
    let e = load_err(&p);
    assert!(e.contains("file is 5 bytes, too short"), "{e}");
    // Empty.
    let p = write(tmp.path(), "empty.safetensors", b"");
    assert!(load_err(&p).contains("file is 0 bytes"));
}

#[test]
fn a_header_length_larger_than_the_file_or_the_cap_is_refused_before_reading_it() {
    let tmp = tempfile::tempdir().unwrap();
    // 1,000,000 declared, 10 bytes on disk.
    let mut b = 1_000_000u64.to_le_bytes().to_vec();
    b.extend_from_slice(b"{}");
    let p = write(tmp.path(), "long.safetensors", &b);
    let e = load_err(&p);
    assert!(
        e.contains("header length 1000000 bytes runs past the end of the file (10 bytes)"),
        "{e}"
    );
    // u64::MAX declared: over the 100 MB cap; an allocation of that size would abort.
    let mut b = u64::MAX.to_le_bytes().to_vec();
    b.extend_from_slice(b"{}");
    let p = write(tmp.path(), "huge.safetensors", &b);
    let e = load_err(&p);
    assert!(
        e.contains(&format!(
            "header length {} bytes exceeds the cap of 100000000 bytes",
            u64::MAX
        )),
        "{e}"
    );
}

#[test]
fn a_tensor_whose_bytes_exceed_the_file_or_its_shape_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    // w declares shape [100] (400 bytes) at [0, 400], the file holds 8 data bytes.
    let h = r#"{"w":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}}"#;
    let p = write(tmp.path(), "past.safetensors", &file_bytes(h, &[0; 8]));
    let e = load_err(&p);
    assert!(
        e.contains(
            "tensor w: data_offsets [0, 400] run past the end of the data section (8 bytes)"
        ),
        "{e}"
    );
    // Offsets that fit the file but not the shape: [3] of F32 needs 12 bytes, not 8.
    let h = r#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#;
    let p = write(tmp.path(), "shape.safetensors", &file_bytes(h, &[0; 8]));
    let e = load_err(&p);
    assert!(
        e.contains("tensor w: data_offsets span 8 bytes but shape [3] of F32 needs 12 bytes"),
        "{e}"
    );
    // A dtype the loader does not convert is named, with the tensor.
    let h = r#"{"w":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}"#;
    let p = write(tmp.path(), "f16.safetensors", &file_bytes(h, &[0; 8]));
    assert!(load_err(&p).contains("tensor w has dtype F16, expected F32"));
}

#[cfg(unix)]
#[test]
fn dev_zero_and_directories_are_refused_without_reading() {
    // /dev/zero would be read forever (until memory runs out) by a whole-file read.
    let e = load_safetensors("/dev/zero").unwrap_err().to_string();
    assert!(
        e.contains("/dev/zero") && e.contains("not a regular file (a character device)"),
        "{e}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let e = load_safetensors(tmp.path()).unwrap_err().to_string();
    assert!(e.contains("not a regular file (a directory)"), "{e}");
    let mut store = ParamStore::new();
    store.add("w", Tensor::zeros(&[1])).unwrap();
    let e = store.load("/dev/zero").unwrap_err().to_string();
    assert!(
        e.contains("/dev/zero") && e.contains("not a regular file"),
        "{e}"
    );
}

#[test]
fn param_store_load_gives_the_same_named_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let full = valid();
    let p = write(tmp.path(), "cut.safetensors", &full[..full.len() - 2]);
    let mut store = ParamStore::new();
    store.add("a", Tensor::zeros(&[2])).unwrap();
    store.add("b", Tensor::zeros(&[1])).unwrap();
    let e = store.load(&p).unwrap_err().to_string();
    assert!(
        e.contains("cut.safetensors") && e.contains("tensor b: data_offsets [8, 12]"),
        "{e}"
    );
    let p = write(tmp.path(), "ok.safetensors", &full);
    store.load(&p).unwrap();
    assert_eq!(store.value(store.id("a").unwrap()).data(), &[1.0, 2.0]);
}

#[test]
fn a_nan_or_infinite_weight_is_refused_naming_the_tensor_the_value_and_its_index() {
    // Before the fix such a file loaded, and a model built on it printed NaN outputs (or an
    // accuracy computed from them) and exited 0.
    let tmp = tempfile::tempdir().unwrap();
    for (bad, shown) in [
        (f32::NAN, "NaN"),
        (f32::INFINITY, "inf"),
        (f32::NEG_INFINITY, "-inf"),
    ] {
        let mut w = Tensor::zeros(&[4, 12]);
        w.data_mut()[12] = bad;
        w.data_mut()[30] = bad;
        let ok = Tensor::zeros(&[4]);
        let p = tmp.path().join("model.safetensors");
        save_safetensors(&p, [("layers.0.bias", &ok), ("layers.1.weight", &w)]).unwrap();
        let e = load_err(&p);
        assert!(
            e.contains(&format!(
                "tensor layers.1.weight holds {shown} (first at index 12 of 48)"
            )),
            "{e}"
        );
        let mut store = ParamStore::new();
        store.add("layers.0.bias", Tensor::zeros(&[4])).unwrap();
        store
            .add("layers.1.weight", Tensor::zeros(&[4, 12]))
            .unwrap();
        let e = store.load(&p).unwrap_err().to_string();
        assert!(
            e.contains("model.safetensors") && e.contains("tensor layers.1.weight holds"),
            "{e}"
        );
        // The header alone (what `learnable params` reads) is still readable.
        let h = learnable::size::read_header(&p).unwrap();
        assert_eq!(h.total_elements(), 52);
    }
}
