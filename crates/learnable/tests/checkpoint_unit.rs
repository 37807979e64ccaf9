//! A checkpoint is one unit: a crash between any two of its file-system operations leaves a
//! checkpoint that resumes into exactly the model an uninterrupted run ends with (bit for bit),
//! and a torn or edited checkpoint is refused naming the file.
//!
//! The crash is simulated with `Checkpointer::fail_at_operation(n)`: the n-th file-system
//! operation of the checkpoint writer (create the staging directory, write a file, rename,
//! remove) fails instead of running, leaving the directory exactly as a SIGKILL at that point
//! would (a kill inside a single file write leaves a partial file in the staging directory,
//! which has no manifest yet and is discarded the same way). The real-process version with
//! SIGKILL is `crates/learnable-cli/tests/cli_kill_resume.rs` and `scripts/kill_resume.sh`.

use std::path::Path;

use learnable::checkpoint::Checkpointer;
use learnable::data::{Options, Source};
use learnable::fit::{FitConfig, FitData, FitOptions, fit_with};
use learnable::models::mlp::{Mlp, MlpConfig};
use learnable::train;
use learnable::{ParamStore, Rng};

fn config() -> FitConfig {
    FitConfig {
        hidden: vec![8],
        epochs: 4,
        batch_size: 16,
        learning_rate: 0.01,
        dropout: 0.1,
        ..FitConfig::default()
    }
}

fn data() -> FitData {
    FitData::prepare(&Source::Bundled("iris".into()), &Options::default()).unwrap()
}

/// The bits of every parameter, by name.
fn bits(store: &ParamStore) -> Vec<(String, Vec<u32>)> {
    store
        .named_values()
        .map(|(n, t)| {
            (
                n.to_string(),
                t.data().iter().map(|v| v.to_bits()).collect(),
            )
        })
        .collect()
}

/// Runs the epoch loop as `fit_with` does, with a checkpointer that crashes at operation `n`;
/// returns whether the crash happened.
fn crashing_run(cfg: &FitConfig, data: &FitData, ckpt: &Path, n: usize) -> bool {
    let mut store = ParamStore::new();
    let net_cfg = MlpConfig {
        input_dim: data.n_features(),
        hidden: cfg.hidden.clone(),
        output_dim: 3,
        activation: cfg.activation,
        dropout: cfg.dropout,
    };
    let net = Mlp::new(net_cfg, &mut store, &mut Rng::new(cfg.seed, "init")).unwrap();
    let mut opt = cfg.optimizer_config().build().unwrap();
    let mut ck = Checkpointer::new(ckpt, cfg.resume_settings(&data.source, &data.options));
    ck.fail_at_operation(n);
    let r = train::fit(
        &net,
        &mut store,
        opt.as_mut(),
        &data.train,
        data.val.as_ref(),
        &cfg.train_config(data.train.y.len()),
        None,
        &mut ck,
    );
    match r {
        Err(e) => {
            assert!(e.to_string().contains("injected crash"), "{e}");
            true
        }
        Ok(_) => false,
    }
}

#[test]
fn a_crash_between_any_two_checkpoint_writes_resumes_into_the_uninterrupted_model() {
    let cfg = config();
    let data = data();
    let tmp = tempfile::tempdir().unwrap();
    let whole = fit_with(
        &cfg,
        &data,
        FitOptions {
            checkpoint_dir: Some(tmp.path().join("whole/checkpoint")),
            ..FitOptions::default()
        },
    )
    .unwrap();
    let expected = bits(&whole.store);
    let mut crashes = 0;
    for n in 0.. {
        let ckpt = tmp.path().join(format!("run{n}/checkpoint"));
        if !crashing_run(&cfg, &data, &ckpt, n) {
            break; // n is past the last operation of the run
        }
        crashes += 1;
        let resumed = fit_with(
            &cfg,
            &data,
            FitOptions {
                checkpoint_dir: Some(ckpt.clone()),
                resume: true,
                observer: None,
            },
        );
        let resumed = match resumed {
            Ok(m) => m,
            // A crash before the first checkpoint was committed: nothing to resume, and the
            // error says so; a fresh run is then the only way (and gives the same model).
            Err(e) => {
                assert!(e.to_string().contains("no checkpoint"), "crash at {n}: {e}");
                assert!(n < 12, "crash at {n} lost a committed checkpoint");
                continue;
            }
        };
        assert_eq!(
            bits(&resumed.store),
            expected,
            "crash before checkpoint operation {n}: the resumed model differs"
        );
        assert_eq!(resumed.history.as_ref().unwrap().history.len(), 4);
        // No staging or old directory is left behind.
        let parent = ckpt.parent().unwrap();
        for leftover in [".checkpoint.new", ".checkpoint.old"] {
            assert!(
                !parent.join(leftover).exists(),
                "{leftover} left after crash {n}"
            );
        }
    }
    // 4 epochs of about 10 operations each, every one of them a crash point.
    assert!(crashes >= 35, "only {crashes} crash points");
}

/// Writes a 2-epoch checkpoint into `dir/checkpoint` and returns the checkpoint path.
fn two_epochs(dir: &Path) -> std::path::PathBuf {
    let cfg = FitConfig {
        epochs: 2,
        ..config()
    };
    let ckpt = dir.join("checkpoint");
    fit_with(
        &cfg,
        &data(),
        FitOptions {
            checkpoint_dir: Some(ckpt.clone()),
            ..FitOptions::default()
        },
    )
    .unwrap();
    ckpt
}

fn resume_error(ckpt: &Path) -> String {
    let cfg = config();
    match fit_with(
        &cfg,
        &data(),
        FitOptions {
            checkpoint_dir: Some(ckpt.to_path_buf()),
            resume: true,
            observer: None,
        },
    ) {
        Ok(_) => panic!("resumed from a bad checkpoint"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_modified_checkpoint_file_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = two_epochs(tmp.path());
    let path = ckpt.join("optimizer.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let e = resume_error(&ckpt);
    assert!(
        e.contains("optimizer.safetensors") && e.contains("SHA-256"),
        "{e}"
    );

    // A file of the wrong epoch (an older state.json copied over) has another size or hash.
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = two_epochs(tmp.path());
    std::fs::write(ckpt.join("state.json"), "{}").unwrap();
    let e = resume_error(&ckpt);
    assert!(e.contains("state.json") && e.contains("torn"), "{e}");
}

#[test]
fn a_checkpoint_without_its_manifest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = two_epochs(tmp.path());
    std::fs::remove_file(ckpt.join("manifest.json")).unwrap();
    let e = resume_error(&ckpt);
    assert!(e.contains("no manifest.json"), "{e}");
}

#[test]
fn resuming_with_other_settings_lists_each_difference() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = two_epochs(tmp.path());
    let cfg = FitConfig {
        hidden: vec![4],
        seed: 3,
        ..config()
    };
    let e = fit_with(
        &cfg,
        &data(),
        FitOptions {
            checkpoint_dir: Some(ckpt),
            resume: true,
            observer: None,
        },
    )
    .err()
    .unwrap();
    match e {
        learnable::Error::ResumeMismatch { differences, .. } => {
            let names: Vec<&str> = differences.iter().map(|(k, _, _)| k.as_str()).collect();
            // The data were split with seed 0 and the fit now uses 3: the split seed differs too.
            assert_eq!(names, ["hidden", "seed", "split_seed"], "{differences:?}");
            assert_eq!(differences[1], ("seed".into(), "0".into(), "3".into()));
        }
        e => panic!("{e}"),
    }
}

#[test]
fn the_model_directory_refuses_weights_from_another_save() {
    // config.json holds the SHA-256 of its model.safetensors: a kill between writing the two
    // (or two runs writing into one directory) is caught at load.
    let tmp = tempfile::tempdir().unwrap();
    let d = data();
    let a = fit_with(
        &FitConfig {
            epochs: 1,
            ..config()
        },
        &d,
        FitOptions::default(),
    )
    .unwrap();
    let b = fit_with(
        &FitConfig {
            epochs: 1,
            seed: 1,
            ..config()
        },
        &d,
        FitOptions::default(),
    )
    .unwrap();
    a.save(tmp.path().join("a")).unwrap();
    b.save(tmp.path().join("b")).unwrap();
    std::fs::copy(
        tmp.path().join("b/model.safetensors"),
        tmp.path().join("a/model.safetensors"),
    )
    .unwrap();
    let e = learnable::trained::TrainedModel::load(tmp.path().join("a"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("SHA-256") && e.contains("different saves"),
        "{e}"
    );
    // Stale temporary files of an interrupted write are removed by the next save.
    std::fs::write(tmp.path().join("b/.config.json.tmp4242"), "partial").unwrap();
    b.save(tmp.path().join("b")).unwrap();
    assert!(!tmp.path().join("b/.config.json.tmp4242").exists());
}

#[test]
fn a_directory_with_only_a_checkpoint_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    two_epochs(tmp.path());
    let e = learnable::trained::TrainedModel::load(tmp.path())
        .err()
        .unwrap();
    assert!(
        matches!(e, learnable::Error::OnlyCheckpoint { epoch: 2, .. }),
        "{e}"
    );
}
