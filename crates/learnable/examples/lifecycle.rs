//! A trained model's whole life through the library alone, no binary:
//! fit an MLP on the bundled digits dataset, save it as a model directory, load it back,
//! predict a few rows and print the test accuracy.
//!
//!     cargo run --release --example lifecycle
//!
//! (`learnable train` does the same, with a progress bar and flags.)

use learnable::data::{Options, Source};
use learnable::fit::{FitConfig, FitData, fit};
use learnable::inference::{ModelInputs, Predictor};
use learnable::metrics::{ClassReport, argmax_rows};

fn main() -> learnable::Result<()> {
    // 1. Data: the bundled digits (8x8 images, 10 classes), split 70/10/20 with seed 0,
    //    standardised with the training split's mean and std.
    let data = FitData::prepare(&Source::Bundled("digits".into()), &Options::default())?;
    println!(
        "digits: {} train, {} validation rows, {} features",
        data.train.y.len(),
        data.val.as_ref().map_or(0, |v| v.y.len()),
        data.n_features()
    );

    // 2. Fit: an MLP 64 -> 128 -> 64 -> 10 with AdamW; every other setting keeps its default.
    let config = FitConfig {
        hidden: vec![128, 64],
        epochs: 20,
        ..FitConfig::default()
    };
    let model = fit(&config, &data)?;
    println!(
        "fitted {} parameters; {}",
        model.num_params(),
        model.config.training.stop_reason.as_deref().unwrap_or("")
    );

    // 3. Save the model directory (config.json, model.safetensors, history.csv) and load it.
    let dir = std::env::temp_dir().join(format!("learnable-lifecycle-{}", std::process::id()));
    model.save(&dir)?;
    let predictor = Predictor::load(&dir)?; // weights packed once for inference

    // 4. Predict the model's own test split (as training drew it) and a few rows of it.
    let inputs = ModelInputs::from_bundled(predictor.model(), "digits")?;
    let predictions = predictor.predict(&inputs)?;
    for i in 0..3 {
        println!("row {i}: predicted {}", predictions.label(i));
    }
    let truth = inputs.dataset.labels().unwrap_or_default();
    let report = ClassReport::new(
        truth,
        &argmax_rows(&predictions.outputs),
        predictions.classes.len(),
    )?;
    println!("test accuracy: {:.4}", report.accuracy);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
