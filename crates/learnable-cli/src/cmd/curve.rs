//! `learnable validation-curve` and `learnable learning-curve`: k-fold training and validation
//! scores as one setting (or the training-set size) changes, with the library's diagnosis
//! (underfit / overfit / good, the one-standard-error choice, the remedy). Every training flag
//! of `learnable train` applies to the fitted models; the test split stays held out, and the
//! folds are cut from the training rows (the validation split is not used: the folds are the
//! validation).

use std::io::IsTerminal;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use learnable::bias_variance::{self, Curve, CurveOptions, Diagnosis, Verdict};
use learnable::data::SplitSize;
use learnable::fit::FitData;
use serde_json::json;

use crate::cmd::train;

/// Options shared by both curves.
#[derive(clap::Args, Debug)]
pub struct CurveArgs {
    /// Number of folds (stratified for classification), >= 2.
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = crate::flags::count::<usize>(2))]
    pub folds: usize,
    /// Shuffle the training rows (with --seed) before cutting folds; default: consecutive
    /// rows, as scikit-learn's unshuffled KFold / StratifiedKFold.
    #[arg(long)]
    pub shuffle: bool,
    /// Print every number (curve and diagnosis) as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `learnable validation-curve`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  learnable validation-curve --dataset digits --model mlp --param width --values 1,4,16,64,256 --epochs 20\n  \
learnable validation-curve --dataset diabetes --model ridge --param alpha --values 0.01,1,100,10000\n\
Settings: width, depth, hidden (e.g. 64x32), epochs, alpha, C, weight_decay, dropout, learning_rate, batch_size, ..."
)]
pub struct ValidationArgs {
    /// The setting to vary, by its config.json name.
    #[arg(long)]
    pub param: String,
    /// Its values, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        allow_negative_numbers = true
    )]
    pub values: Vec<String>,
    #[command(flatten)]
    pub curve: CurveArgs,
    #[command(flatten)]
    pub train: train::Args,
}

/// Arguments of `learnable learning-curve`.
#[derive(clap::Args, Debug)]
pub struct LearningArgs {
    /// Training-set sizes as fractions in (0, 1] of a fold's training rows, comma-separated
    /// (scikit-learn's default).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.1,0.325,0.55,0.775,1.0",
        allow_negative_numbers = true
    )]
    pub sizes: Vec<f64>,
    #[command(flatten)]
    pub curve: CurveArgs,
    #[command(flatten)]
    pub train: train::Args,
}

/// Runs `learnable validation-curve`.
pub fn run_validation(args: ValidationArgs) -> Result<()> {
    let (config, data, options) = prepare(&args.train, &args.curve)?;
    let bar = progress(args.values.len() * args.curve.folds);
    let tick = |done: usize, _total: usize| bar.set_position(done as u64);
    let curve = bias_variance::validation_curve(
        &config,
        &data,
        &args.param,
        &args.values,
        options,
        Some(&tick),
    )?;
    bar.finish_and_clear();
    report(&curve, &data, &args.train, &args.curve, "validation curve")
}

/// Runs `learnable learning-curve`.
pub fn run_learning(args: LearningArgs) -> Result<()> {
    let (config, data, options) = prepare(&args.train, &args.curve)?;
    let bar = progress(args.sizes.len() * args.curve.folds);
    let tick = |done: usize, _total: usize| bar.set_position(done as u64);
    let curve = bias_variance::learning_curve(&config, &data, &args.sizes, options, Some(&tick))?;
    bar.finish_and_clear();
    report(&curve, &data, &args.train, &args.curve, "learning curve")
}

fn prepare(
    args: &train::Args,
    curve: &CurveArgs,
) -> Result<(learnable::fit::FitConfig, FitData, CurveOptions)> {
    let config = args.fit_config();
    if config.model.is_language_model() {
        bail!("curves are for tabular models (linear, ridge, logistic, softmax, mlp), not gpt");
    }
    if args.resume {
        bail!("--resume continues one training run; a curve fits many models from scratch");
    }
    let source = args.data.source()?;
    let mut options = args.data.options()?;
    if matches!(source, learnable::data::Source::Csv { .. }) {
        options.task = options.task.or(config.model.task());
    }
    options.val_size = SplitSize::Fraction(0.0);
    let data = FitData::prepare(&source, &options)?;
    let options = CurveOptions {
        folds: curve.folds,
        shuffle_seed: curve.shuffle.then_some(options.seed),
    };
    Ok((config, data, options))
}

fn progress(total: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("fits {pos}/{len} [{bar:30}] {elapsed_precise} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

fn report(
    curve: &Curve,
    data: &FitData,
    args: &train::Args,
    opts: &CurveArgs,
    what: &str,
) -> Result<()> {
    let d = bias_variance::diagnose(curve);
    let json = json!({"curve": curve.to_json(), "diagnosis": d.to_json(curve)});
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create --out {}", dir.display()))?;
        let text = serde_json::to_string_pretty(&json)?;
        learnable::io::write_atomic(dir.join("curve.json"), text.as_bytes())?;
        learnable::io::write_atomic(dir.join("curve.csv"), curve.to_csv().as_bytes())?;
    }
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_table(curve, &d, data, what);
        if let Some(dir) = &args.out {
            println!("wrote {0}/curve.csv and {0}/curve.json", dir.display());
        }
    }
    Ok(())
}

fn print_table(curve: &Curve, d: &Diagnosis, data: &FitData, what: &str) {
    let m = curve.metric;
    println!(
        "{what} of {} on {} ({}-fold{}, {m}, mean ± std over folds)",
        curve.param,
        data.source_name(),
        curve.folds,
        if data.classes().is_some() {
            ", stratified"
        } else {
            ""
        },
    );
    let head_train = format!("train {m}");
    let head_val = format!("validation {m}");
    let w = curve
        .points
        .iter()
        .map(|p| p.value.chars().count())
        .max()
        .unwrap_or(0)
        .max(curve.param.len());
    println!(
        "  {:<w$}  {:>8}  {:<19}  {:<19}  verdict",
        curve.param, "rows", head_train, head_val
    );
    for (i, p) in curve.points.iter().enumerate() {
        let (tm, ts) = p.train();
        let (vm, vs) = p.val();
        let mut verdict = d.verdicts[i].label().to_string();
        if i == d.best {
            verdict.push_str("  * best");
        }
        if i == d.chosen {
            verdict.push_str("  <- chosen");
        }
        println!(
            "  {:<w$}  {:>8}  {:<19}  {:<19}  {verdict}",
            p.value,
            p.train_rows,
            format!("{tm:.4} ± {ts:.4}"),
            format!("{vm:.4} ± {vs:.4}"),
        );
    }
    for n in &d.notes {
        println!("{n}");
    }
    if d.verdicts.iter().all(|v| *v == Verdict::Good) {
        println!(
            "every value is within one standard error of the best: the setting barely matters in this range"
        );
    }
}
