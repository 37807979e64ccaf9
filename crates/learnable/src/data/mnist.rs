//! MNIST from its IDX files (LeCun et al.): 60000 training and 10000 test images of 28x28 pixels.
//!
//! Format (yann.lecun.com/exdb/mnist): big-endian `u32` magic (`0x00000803` images,
//! `0x00000801` labels), then one big-endian `u32` per dimension (`n, 28, 28` or `n`), then
//! `u8` data. The files are read gzip-compressed (`NAME.gz`, via `flate2`) or, if no `.gz` file
//! exists, uncompressed. Pixels become `f32` in [0, 1] (`p / 255`); features are named
//! `pixel_ROW_COL`; classes are `"0"`..`"9"`.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

use crate::data::dataset::{Dataset, Target, Task};

/// Which of MNIST's two fixed parts to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The 60000 training images (`train-*`).
    Train,
    /// The 10000 test images (`t10k-*`).
    Test,
}

/// Loads one part of MNIST from `dir` (holding `train-images.idx3-ubyte[.gz]`,
/// `train-labels.idx1-ubyte[.gz]`, `t10k-images.idx3-ubyte[.gz]`, `t10k-labels.idx1-ubyte[.gz]`).
///
/// Returns `[n, 784]` `f32` features in [0, 1] and labels 0..9. Errors name the file: missing,
/// bad gzip, wrong magic, truncated data, image/label count mismatch, a label above 9.
pub fn load(dir: &Path, part: Part) -> Result<Dataset> {
    let prefix = match part {
        Part::Train => "train",
        Part::Test => "t10k",
    };
    let (images_path, images) = read_maybe_gz(&dir.join(format!("{prefix}-images.idx3-ubyte")))?;
    let (labels_path, labels) = read_maybe_gz(&dir.join(format!("{prefix}-labels.idx1-ubyte")))?;
    let (n, rows, cols, pixels) = parse_images(&images_path, &images)?;
    let labels = parse_labels(&labels_path, &labels)?;
    if labels.len() != n {
        return Err(Error::Format {
            path: labels_path.display().to_string(),
            reason: format!(
                "{} labels for {n} images in {}",
                labels.len(),
                images_path.display()
            ),
        });
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, l)| **l > 9) {
        return Err(Error::Format {
            path: labels_path.display().to_string(),
            reason: format!("label {l} of item {i} is not a digit 0..9"),
        });
    }
    let features: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
    let names = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| format!("pixel_{r}_{c}")))
        .collect();
    let classes = (0..10).map(|d| d.to_string()).collect();
    let target = Target::Classes(labels.iter().map(|&l| l as usize).collect());
    let name = match part {
        Part::Train => "mnist",
        Part::Test => "mnist (test)",
    };
    Dataset::from_f32(
        name,
        features,
        n,
        names,
        Task::Classification,
        classes,
        target,
    )
}

/// Reads `path.gz` (decompressed) if it exists, else `path`. Returns the path read and bytes.
fn read_maybe_gz(path: &Path) -> Result<(PathBuf, Vec<u8>)> {
    let mut gz = path.as_os_str().to_owned();
    gz.push(".gz");
    let gz = PathBuf::from(gz);
    let mut bytes = Vec::new();
    if gz.is_file() {
        let file = std::fs::File::open(&gz).map_err(|e| Error::io(&gz, e))?;
        flate2::read::GzDecoder::new(std::io::BufReader::new(file))
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Format {
                path: gz.display().to_string(),
                reason: format!("bad gzip data: {e}"),
            })?;
        Ok((gz, bytes))
    } else {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::Missing(format!(
                "cannot read MNIST file {} (or {}): {e}; set LEARNABLE_DATA to the data/ folder of \
                 the learnable repository",
                gz.display(),
                path.display()
            ))
        })?;
        Ok((path.to_path_buf(), bytes))
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<usize> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Parses an IDX3 image file: `(n, rows, cols, pixels)` with pixels `[n * rows * cols]`.
pub fn parse_images<'a>(path: &Path, bytes: &'a [u8]) -> Result<(usize, usize, usize, &'a [u8])> {
    let bad = |reason: String| Error::Format {
        path: path.display().to_string(),
        reason,
    };
    let magic =
        be_u32(bytes, 0).ok_or_else(|| bad("shorter than the 16-byte IDX3 header".into()))?;
    if magic != 0x803 {
        return Err(bad(format!(
            "magic number {magic:#010x}, expected 0x00000803 (IDX3 images)"
        )));
    }
    let (n, rows, cols) = match (be_u32(bytes, 4), be_u32(bytes, 8), be_u32(bytes, 12)) {
        (Some(n), Some(r), Some(c)) => (n, r, c),
        _ => return Err(bad("shorter than the 16-byte IDX3 header".into())),
    };
    let need = n * rows * cols;
    let data = &bytes[16..];
    if data.len() != need {
        return Err(bad(format!(
            "{} pixel bytes, expected {n} x {rows} x {cols} = {need}",
            data.len()
        )));
    }
    Ok((n, rows, cols, data))
}

/// Parses an IDX1 label file: one `u8` per item.
pub fn parse_labels<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a [u8]> {
    let bad = |reason: String| Error::Format {
        path: path.display().to_string(),
        reason,
    };
    let magic =
        be_u32(bytes, 0).ok_or_else(|| bad("shorter than the 8-byte IDX1 header".into()))?;
    if magic != 0x801 {
        return Err(bad(format!(
            "magic number {magic:#010x}, expected 0x00000801 (IDX1 labels)"
        )));
    }
    let n = be_u32(bytes, 4).ok_or_else(|| bad("shorter than the 8-byte IDX1 header".into()))?;
    let data = &bytes[8..];
    if data.len() != n {
        return Err(bad(format!("{} label bytes, expected {n}", data.len())));
    }
    Ok(data)
}
