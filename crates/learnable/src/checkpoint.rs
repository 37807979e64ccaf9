//! Checkpoints as one unit: everything needed to resume training, committed atomically after
//! every epoch, verified before it is used.
//!
//! A checkpoint is the directory `checkpoint/` of a model directory:
//!
//! | file | what |
//! |---|---|
//! | `model.safetensors` | the parameters after the epoch (PyTorch names and layouts) |
//! | `optimizer.safetensors` | the optimizer's step count, learning rate and moment buffers |
//! | `best.safetensors` | the parameters of the best validation epoch so far (if any) |
//! | `state.json` | the loop's [`TrainState`]: epochs done, global step, history, best |
//! | `settings.json` | the settings a resumed run must repeat (setting name -> value) |
//! | `manifest.json` | written last: the epoch and the size and SHA-256 of every file above |
//!
//! **Commit protocol.** Each epoch's files are written into a fresh staging directory
//! `.checkpoint.new/` beside `checkpoint/`, each file fsynced, `manifest.json` last; then
//! `checkpoint/` is renamed to `.checkpoint.old/`, the staging directory renamed to
//! `checkpoint/`, and the old one removed. A kill at any point leaves either the previous
//! checkpoint or the new one recoverable, never a mix: before every commit and resume,
//! [`Checkpointer`] finishes an interrupted switch (a staging directory with a manifest is
//! complete; one without is discarded) and removes leftovers. On resume every file is checked
//! against the manifest (size and SHA-256), so a torn or edited checkpoint is refused with the
//! file named, never silently trained on. This is the write-new-then-switch scheme of
//! databases and of PyTorch Lightning's / Orbax's "save to a temporary directory, then rename".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::optim::Optimizer;
use crate::param::ParamStore;
use crate::train::{Observer, Resume, TrainState};

/// `manifest.json`'s `format` value.
pub const MANIFEST_FORMAT: &str = "learnable-checkpoint";
/// `manifest.json`'s current `version`.
pub const MANIFEST_VERSION: u32 = 1;
/// The largest manifest, state or settings file read (64 MiB: a history of a million epochs).
const MAX_JSON_BYTES: u64 = 64 << 20;

/// Size and SHA-256 (lowercase hex) of one file of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    /// Length in bytes.
    pub bytes: u64,
    /// SHA-256 of the contents, lowercase hex.
    pub sha256: String,
}

/// `manifest.json`: what a complete checkpoint holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// [`MANIFEST_VERSION`].
    pub version: u32,
    /// Epochs completed when it was written.
    pub epoch: usize,
    /// Optimizer steps taken when it was written.
    pub global_step: u64,
    /// Every other file of the checkpoint, by file name.
    pub files: BTreeMap<String, FileDigest>,
}

/// Digest of `bytes`.
fn digest(bytes: &[u8]) -> FileDigest {
    FileDigest {
        bytes: bytes.len() as u64,
        sha256: crate::model_dir::sha256_hex(bytes),
    }
}

/// The staging and old directories that belong to checkpoint directory `dir`.
fn siblings(dir: &Path) -> (PathBuf, PathBuf) {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "checkpoint".into());
    (
        parent.join(format!(".{name}.new")),
        parent.join(format!(".{name}.old")),
    )
}

/// Reads a small file (JSON) with a size cap, naming the file in errors.
fn read_small(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > MAX_JSON_BYTES {
        return Err(Error::Format {
            path: path.display().to_string(),
            reason: format!(
                "{} bytes, more than the {MAX_JSON_BYTES} a checkpoint file of this kind may have",
                meta.len()
            ),
        });
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Reads `dir/manifest.json`.
fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("manifest.json");
    let bytes = read_small(&path)?;
    let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| Error::Format {
        path: path.display().to_string(),
        reason: format!("not a checkpoint manifest: {e}"),
    })?;
    if m.format != MANIFEST_FORMAT || m.version != MANIFEST_VERSION {
        return Err(Error::Format {
            path: path.display().to_string(),
            reason: format!(
                "format {:?} version {} (expected {MANIFEST_FORMAT} version {MANIFEST_VERSION})",
                m.format, m.version
            ),
        });
    }
    Ok(m)
}

/// Finishes a checkpoint switch that a kill interrupted and removes leftovers, so that `dir`
/// is either absent or the last committed checkpoint.
///
/// `dir` missing with a complete staging directory (it has its manifest): the kill came between
/// the two renames; the staging directory is the newest checkpoint and becomes `dir`. `dir`
/// missing with only the old one: the old one comes back. Then an incomplete staging directory
/// and a finished switch's old directory are removed.
pub fn recover(dir: &Path) -> Result<()> {
    let (staging, old) = siblings(dir);
    let rename = |from: &Path, to: &Path| std::fs::rename(from, to).map_err(|e| Error::io(to, e));
    if !dir.exists() {
        if staging.join("manifest.json").is_file() {
            rename(&staging, dir)?;
        } else if old.exists() {
            rename(&old, dir)?;
        }
    }
    for leftover in [&staging, &old] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover).map_err(|e| Error::io(leftover, e))?;
        }
    }
    Ok(())
}

/// The epochs held by the committed checkpoint in `dir` (after [`recover`]ing an interrupted
/// switch), or `None` if there is none. Only the manifest is read; [`Checkpointer::resume`]
/// verifies the files.
pub fn committed_epoch(dir: &Path) -> Option<usize> {
    let (staging, old) = siblings(dir);
    [dir, &staging, &old]
        .into_iter()
        .find_map(|d| read_manifest(d).ok())
        .map(|m| m.epoch)
}

/// Checks every file named in `dir`'s manifest against its size and SHA-256 and returns the
/// manifest.
///
/// # Errors
/// [`Error::Format`] naming the checkpoint and the file that is missing, has another size or
/// other contents (a torn or edited checkpoint), or a manifest that is missing or unreadable.
pub fn verify(dir: &Path) -> Result<Manifest> {
    let torn = |reason: String| Error::Format {
        path: dir.display().to_string(),
        reason,
    };
    if !dir.join("manifest.json").is_file() {
        return Err(torn(
            "no manifest.json: not a complete checkpoint (written by an interrupted run, or by a \
             learnable older than checkpoint manifests); train without resuming"
                .into(),
        ));
    }
    let m = read_manifest(dir)?;
    for (name, want) in &m.files {
        let path = dir.join(name);
        let bytes = std::fs::read(&path)
            .map_err(|e| torn(format!("{name} of the checkpoint cannot be read: {e}")))?;
        let got = digest(&bytes);
        if got.bytes != want.bytes {
            return Err(torn(format!(
                "{name} has {} bytes, the manifest of epoch {} says {}: the checkpoint is torn or was modified; train without resuming",
                got.bytes, m.epoch, want.bytes
            )));
        }
        if got.sha256 != want.sha256 {
            return Err(torn(format!(
                "{name} does not match its SHA-256 in the manifest of epoch {}: the checkpoint is torn or was modified; train without resuming",
                m.epoch
            )));
        }
    }
    Ok(m)
}

/// Writes a checkpoint after every epoch (as an [`Observer`] of [`crate::train::fit`]) and
/// restores one for resuming. See the module docs for the files and the commit protocol.
pub struct Checkpointer {
    dir: PathBuf,
    settings: BTreeMap<String, String>,
    saved_epoch: Option<usize>,
    /// Fault injection for tests: fail (as if killed) before the n-th file-system operation.
    fault_at: Option<usize>,
    ops: usize,
}

impl Checkpointer {
    /// A checkpointer writing into `dir` (usually `MODEL_DIR/checkpoint`). `settings` are the
    /// settings a resumed run must repeat, by name (see [`crate::fit::FitConfig::resume_settings`]);
    /// they are saved as `settings.json` and compared by [`Checkpointer::resume`].
    pub fn new(dir: impl Into<PathBuf>, settings: BTreeMap<String, String>) -> Self {
        Checkpointer {
            dir: dir.into(),
            settings,
            saved_epoch: None,
            fault_at: None,
            ops: 0,
        }
    }

    /// The checkpoint directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Epochs held by the last checkpoint this checkpointer wrote or resumed from.
    pub fn saved_epoch(&self) -> Option<usize> {
        self.saved_epoch
    }

    /// For crash tests: every file-system operation of a save counts one; the `n`-th (0-based)
    /// fails instead of running, leaving the directory as a kill at that point would.
    #[doc(hidden)]
    pub fn fail_at_operation(&mut self, n: usize) {
        self.fault_at = Some(n);
        self.ops = 0;
    }

    /// Counts one file-system operation; errors if it is the injected fault.
    fn op(&mut self) -> Result<()> {
        let n = self.ops;
        self.ops += 1;
        if self.fault_at == Some(n) {
            return Err(Error::Other(format!(
                "injected crash before checkpoint operation {n}"
            )));
        }
        Ok(())
    }

    /// Writes one file of the staging directory (not atomically: the staging directory is not
    /// a checkpoint until its manifest exists) and fsyncs it; returns its digest.
    fn put(&mut self, staging: &Path, name: &str, bytes: &[u8]) -> Result<FileDigest> {
        use std::io::Write;
        self.op()?;
        let path = staging.join(name);
        let mut f = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&path, e))?;
        f.sync_all().map_err(|e| Error::io(&path, e))?;
        Ok(digest(bytes))
    }

    /// Commits a checkpoint of the state after an epoch: parameters, optimizer state, loop
    /// state, the best parameters (from `store` when `is_best`, else carried over from the
    /// previous checkpoint) and the settings.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file that could not be written; the previous checkpoint is then
    /// still the committed one.
    pub fn save(
        &mut self,
        store: &ParamStore,
        opt: &dyn Optimizer,
        state: &TrainState,
        is_best: bool,
    ) -> Result<()> {
        self.op()?;
        recover(&self.dir)?;
        let (staging, old) = siblings(&self.dir);
        if let Some(parent) = staging.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        self.op()?;
        std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
        let mut files = BTreeMap::new();
        let model = crate::io::safetensors_bytes(store.named_values(), None)?;
        files.insert(
            "model.safetensors".to_string(),
            self.put(&staging, "model.safetensors", &model)?,
        );
        // The optimizer writes its own file; read it back for the digest.
        self.op()?;
        let opt_path = staging.join("optimizer.safetensors");
        opt.save_state(&opt_path)?;
        let opt_bytes = std::fs::read(&opt_path).map_err(|e| Error::io(&opt_path, e))?;
        files.insert("optimizer.safetensors".to_string(), digest(&opt_bytes));
        if state.best.is_some() {
            let best = if is_best {
                model
            } else {
                let prev = self.dir.join("best.safetensors");
                std::fs::read(&prev).map_err(|e| Error::io(&prev, e))?
            };
            files.insert(
                "best.safetensors".to_string(),
                self.put(&staging, "best.safetensors", &best)?,
            );
        }
        let state_json = json(state)?;
        files.insert(
            "state.json".to_string(),
            self.put(&staging, "state.json", state_json.as_bytes())?,
        );
        let settings_json = json(&self.settings)?;
        files.insert(
            "settings.json".to_string(),
            self.put(&staging, "settings.json", settings_json.as_bytes())?,
        );
        let manifest = Manifest {
            format: MANIFEST_FORMAT.into(),
            version: MANIFEST_VERSION,
            epoch: state.epochs_done,
            global_step: state.global_step,
            files,
        };
        self.put(&staging, "manifest.json", json(&manifest)?.as_bytes())?;
        sync_dir(&staging);
        // The switch: the only window without `checkpoint/` is between these two renames, and
        // `recover` closes it from the staging directory's manifest.
        if self.dir.exists() {
            self.op()?;
            std::fs::rename(&self.dir, &old).map_err(|e| Error::io(&old, e))?;
        }
        self.op()?;
        std::fs::rename(&staging, &self.dir).map_err(|e| Error::io(&self.dir, e))?;
        if let Some(parent) = self.dir.parent() {
            sync_dir(parent);
        }
        self.saved_epoch = Some(state.epochs_done);
        if old.exists() {
            self.op()?;
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        Ok(())
    }

    /// Restores the committed checkpoint into `store` and `opt` (both built for this run's
    /// architecture and optimizer) after recovering an interrupted switch and verifying every
    /// file against the manifest; returns what the loop needs to continue.
    ///
    /// # Errors
    /// [`Error::Missing`] when there is no checkpoint; [`Error::Format`] for a torn or modified
    /// one (naming the file) or one whose tensors do not fit `store`;
    /// [`Error::ResumeMismatch`] listing every setting that differs from this checkpointer's.
    pub fn resume(&mut self, store: &mut ParamStore, opt: &mut dyn Optimizer) -> Result<Resume> {
        recover(&self.dir)?;
        if !self.dir.exists() {
            return Err(Error::Missing(format!(
                "no checkpoint to resume from at {} (train without resuming first)",
                self.dir.display()
            )));
        }
        let manifest = verify(&self.dir)?;
        let settings: BTreeMap<String, String> = parse(&self.dir.join("settings.json"))?;
        let none = "(none)".to_string();
        let differences: Vec<(String, String, String)> = self
            .settings
            .iter()
            .filter_map(|(k, now)| {
                let saved = settings.get(k).unwrap_or(&none);
                (saved != now).then(|| (k.clone(), saved.clone(), now.clone()))
            })
            .collect();
        if !differences.is_empty() {
            return Err(Error::ResumeMismatch {
                dir: self.dir.display().to_string(),
                differences,
            });
        }
        let state: TrainState = parse(&self.dir.join("state.json"))?;
        if state.epochs_done != manifest.epoch {
            return Err(Error::Format {
                path: self.dir.display().to_string(),
                reason: format!(
                    "state.json holds epoch {}, the manifest epoch {}",
                    state.epochs_done, manifest.epoch
                ),
            });
        }
        store.load(self.dir.join("model.safetensors"))?;
        opt.load_state(&self.dir.join("optimizer.safetensors"), store)?;
        let best = if state.best.is_some() {
            let mut b = store.clone();
            b.load(self.dir.join("best.safetensors"))?;
            Some(b)
        } else {
            None
        };
        self.saved_epoch = Some(state.epochs_done);
        Ok(Resume { state, best })
    }
}

impl Observer for Checkpointer {
    fn on_epoch(
        &mut self,
        store: &ParamStore,
        opt: &dyn Optimizer,
        state: &TrainState,
        is_best: bool,
    ) -> Result<()> {
        self.save(store, opt, state, is_best)
    }
}

/// Parses a small JSON file of a checkpoint.
fn parse<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = read_small(path)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Format {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Fsyncs a directory so that the names in it (a rename) survive a power cut; best effort.
fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

/// Pretty JSON of a serialisable value, as a library error on failure.
fn json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Other(e.to_string()))
}
