//! `learnable train`: fit a model on a bundled dataset or a CSV file, evaluate it on the held-out
//! test split and save it as a model directory.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use learnable::models::mlp::{Activation, Mlp, MlpConfig};
use learnable::optim::{LrSchedule, Optimizer, OptimizerConfig};
use learnable::train::{self, Observer, Resume, TrainConfig, TrainState};
use learnable::{ParamStore, Rng, Tensor};

use crate::flags::{Given, print_warnings};
use crate::model_dir::{FORMAT_VERSION, ModelConfig, ModelDir, default_out_dir};
use crate::prep::{self, DataArgs, Prepared};

/// Which model to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
    /// Least squares y = w·x + b (closed form; --solver gd for gradient descent).
    Linear,
    /// Least squares with an L2 penalty --alpha on the weights (closed form).
    Ridge,
    /// Binary logistic regression, L2-regularised with scikit-learn's C (L-BFGS).
    Logistic,
    /// Multinomial (softmax) logistic regression, L2-regularised with C (L-BFGS).
    Softmax,
    /// Multilayer perceptron trained by mini-batch gradient descent.
    Mlp,
}

impl ModelKind {
    fn name(self) -> &'static str {
        match self {
            ModelKind::Linear => "linear",
            ModelKind::Ridge => "ridge",
            ModelKind::Logistic => "logistic",
            ModelKind::Softmax => "softmax",
            ModelKind::Mlp => "mlp",
        }
    }
}

/// How linear models are fitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Solver {
    /// Exact: least squares (linear, ridge) or L-BFGS to convergence (logistic, softmax).
    Exact,
    /// The epoch loop: mini-batch gradient descent with the chosen optimizer.
    Gd,
}

/// Optimizer of the epoch loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerKind {
    /// SGD with optional --momentum (PyTorch torch.optim.SGD).
    Sgd,
    /// Adam (L2 weight decay added to the gradient).
    Adam,
    /// AdamW (decoupled weight decay), the default.
    Adamw,
}

/// Learning-rate schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScheduleKind {
    /// The same learning rate at every step.
    Constant,
    /// Linear warmup over --warmup-steps, then cosine decay to 0.
    Cosine,
}

/// Arguments of `learnable train`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "With no arguments: trains an MLP on the bundled digits dataset.\n\
Examples:\n  learnable train\n  learnable train --dataset iris --model softmax\n  \
learnable train --data houses.csv --target price --model ridge --alpha 0.5\n  \
learnable train --dataset mnist --hidden 256,128 --epochs 10 --out runs/mnist"
)]
pub struct Args {
    #[command(flatten)]
    pub data: DataArgs,
    /// Model to fit.
    #[arg(long, value_enum, default_value = "mlp")]
    pub model: ModelKind,
    /// Solver for linear, ridge, logistic and softmax models.
    #[arg(long, value_enum, default_value = "exact")]
    pub solver: Solver,
    /// Hidden layer widths of the MLP, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "128,64")]
    pub hidden: Vec<usize>,
    /// Activation of the MLP's hidden layers: relu, gelu, tanh or sigmoid.
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// Dropout probability after each hidden layer, in [0, 1).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub dropout: f32,
    /// Passes over the training split.
    #[arg(long, default_value_t = 40)]
    pub epochs: usize,
    /// Rows per mini-batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Base learning rate.
    #[arg(long, default_value_t = 1e-3, allow_negative_numbers = true)]
    pub learning_rate: f64,
    /// Optimizer.
    #[arg(long, value_enum, default_value = "adamw")]
    pub optimizer: OptimizerKind,
    /// Weight decay (AdamW: decoupled; SGD/Adam: L2 added to the gradient).
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub weight_decay: f64,
    /// Momentum for SGD.
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    pub momentum: f64,
    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value = "constant")]
    pub schedule: ScheduleKind,
    /// Warmup steps of the cosine schedule.
    #[arg(long, default_value_t = 0)]
    pub warmup_steps: u64,
    /// Clip the global gradient norm to this value.
    #[arg(long, allow_negative_numbers = true)]
    pub max_grad_norm: Option<f32>,
    /// Label smoothing of the cross-entropy loss, in [0, 1).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub label_smoothing: f32,
    /// Stop after this many epochs without a better validation loss (best weights are kept).
    #[arg(long, value_parser = parse_patience)]
    pub patience: Option<usize>,
    /// Ridge penalty alpha (>= 0).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub alpha: f64,
    /// Inverse regularisation strength C of logistic/softmax regression (> 0), as scikit-learn.
    #[arg(
        long = "C",
        alias = "c",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    pub c: f64,
    /// Output directory of the model (default: runs/<data>-<model>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Resume from the checkpoint in --out (same arguments as the interrupted run).
    #[arg(long)]
    pub resume: bool,
    /// Print one line per epoch instead of a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Parses --patience: a whole number of epochs, at least 1 (0 would stop after the first epoch).
fn parse_patience(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be >= 1 (0 would stop after the first epoch)".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// The training arguments a resumed run must repeat (every one but --epochs, --patience,
/// --resume, --quiet, --out and --learning-rate), as flag -> value; saved as
/// checkpoint/args.json. The learning rate may change: lowering it is how a run that diverged
/// continues from its last good checkpoint.
fn resume_args(args: &Args) -> std::collections::BTreeMap<String, String> {
    let d = &args.data;
    let opt = |v: Option<String>| v.unwrap_or_else(|| "(none)".to_string());
    [
        ("--dataset", opt(d.dataset.clone())),
        (
            "--data",
            opt(d.data.as_ref().map(|p| p.display().to_string())),
        ),
        ("--target", opt(d.target.clone())),
        ("--task", opt(d.task.clone())),
        ("--impute", opt(d.impute.clone())),
        ("--val-fraction", d.val_fraction.to_string()),
        ("--test-fraction", d.test_fraction.to_string()),
        ("--seed", d.seed.to_string()),
        ("--no-standardize", d.no_standardize.to_string()),
        ("--model", args.model.name().to_string()),
        ("--solver", format!("{:?}", args.solver).to_lowercase()),
        ("--hidden", format!("{:?}", args.hidden)),
        ("--activation", args.activation.to_lowercase()),
        ("--dropout", args.dropout.to_string()),
        ("--batch-size", args.batch_size.to_string()),
        (
            "--optimizer",
            format!("{:?}", args.optimizer).to_lowercase(),
        ),
        ("--weight-decay", args.weight_decay.to_string()),
        ("--momentum", args.momentum.to_string()),
        ("--schedule", format!("{:?}", args.schedule).to_lowercase()),
        ("--warmup-steps", args.warmup_steps.to_string()),
        (
            "--max-grad-norm",
            opt(args.max_grad_norm.map(|m| m.to_string())),
        ),
        ("--label-smoothing", args.label_smoothing.to_string()),
        ("--alpha", args.alpha.to_string()),
        ("--C", args.c.to_string()),
    ]
    .into_iter()
    .chain(d.resume_pairs())
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Refuses --resume when checkpoint/args.json differs from this run's arguments, listing each
/// difference (`--seed: checkpoint 0, now 7`). A checkpoint without args.json is not checked.
fn check_resume_args(dir: &std::path::Path, args: &Args) -> Result<()> {
    let path = dir.join("args.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let saved: std::collections::BTreeMap<String, String> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a list of training arguments", path.display()))?;
    let now = resume_args(args);
    let none = "(none)".to_string();
    let diffs: Vec<String> = now
        .iter()
        .filter_map(|(k, v)| {
            let s = saved.get(k).unwrap_or(&none);
            (s != v).then(|| format!("{k}: checkpoint {s}, now {v}"))
        })
        .collect();
    if !diffs.is_empty() {
        bail!(
            "--resume: the checkpoint in {} was trained with other arguments ({}); repeat the \
             interrupted run's arguments, or train without --resume",
            dir.display(),
            diffs.join("; ")
        );
    }
    Ok(())
}

/// Draws a progress bar on a terminal, plain lines when output is piped, and writes the
/// checkpoint (atomically) after every epoch.
struct Progress {
    bar: Option<ProgressBar>,
    ckpt_dir: PathBuf,
    classification: bool,
    /// Epochs held by the checkpoint in `ckpt_dir` that this run wrote or resumed from.
    saved_epoch: Option<usize>,
    /// checkpoint/args.json: the arguments --resume must repeat.
    args_json: String,
}

impl Observer for Progress {
    fn on_step(&mut self, epoch: usize, step: usize, steps: usize, loss: f32) {
        if let Some(bar) = &self.bar {
            if step == 1 {
                bar.set_length(steps as u64);
                bar.set_position(0);
                bar.set_prefix(format!("epoch {epoch}"));
            }
            bar.set_position(step as u64);
            bar.set_message(format!("loss {loss:.4}"));
        }
    }

    fn on_epoch(
        &mut self,
        store: &ParamStore,
        opt: &dyn Optimizer,
        state: &TrainState,
        is_best: bool,
    ) -> learnable::Result<()> {
        let r = state.history.last().expect("on_epoch after an epoch");
        let metric = if self.classification {
            "accuracy"
        } else {
            "r2"
        };
        let val = match (r.val_loss, r.val_metric) {
            (Some(l), Some(m)) => format!(
                "  val_loss {l:.4}  val_{metric} {m:.4}{}",
                if is_best { " *" } else { "" }
            ),
            _ => String::new(),
        };
        let line = format!(
            "epoch {:>3}  train_loss {:.4}  train_{metric} {:.4}{val}  grad_norm {:.3}  lr {:.2e}  {:.1}s",
            r.epoch, r.train_loss, r.train_metric, r.grad_norm, r.learning_rate, r.seconds
        );
        match &self.bar {
            Some(bar) => bar.println(line),
            None => println!("{line}"),
        }
        // Checkpoint: parameters, optimizer state, loop state, and the best parameters so far.
        std::fs::create_dir_all(&self.ckpt_dir)
            .map_err(|e| learnable::Error::io(&self.ckpt_dir, e))?;
        store.save(self.ckpt_dir.join("model.safetensors"))?;
        opt.save_state(&self.ckpt_dir.join("optimizer.safetensors"))?;
        if is_best {
            store.save(self.ckpt_dir.join("best.safetensors"))?;
        }
        let json = serde_json::to_string_pretty(state)
            .map_err(|e| learnable::Error::Other(e.to_string()))?;
        learnable::io::write_atomic(self.ckpt_dir.join("args.json"), self.args_json.as_bytes())?;
        learnable::io::write_atomic(self.ckpt_dir.join("state.json"), json.as_bytes())?;
        self.saved_epoch = Some(state.epochs_done);
        Ok(())
    }
}

fn optimizer_config(args: &Args) -> OptimizerConfig {
    use learnable::optim::{AdamConfig, AdamWConfig, SgdConfig};
    match args.optimizer {
        OptimizerKind::Sgd => OptimizerConfig::Sgd(SgdConfig {
            learning_rate: args.learning_rate,
            momentum: args.momentum,
            weight_decay: args.weight_decay,
            ..SgdConfig::default()
        }),
        OptimizerKind::Adam => OptimizerConfig::Adam(AdamConfig {
            learning_rate: args.learning_rate,
            weight_decay: args.weight_decay,
            ..AdamConfig::default()
        }),
        OptimizerKind::Adamw => OptimizerConfig::AdamW(AdamWConfig {
            learning_rate: args.learning_rate,
            weight_decay: args.weight_decay,
            ..AdamWConfig::default()
        }),
    }
}

fn train_config(args: &Args, train_rows: usize) -> TrainConfig {
    let schedule = match args.schedule {
        ScheduleKind::Constant => LrSchedule::Constant,
        ScheduleKind::Cosine => {
            let total = (train_rows.div_ceil(args.batch_size.max(1)) * args.epochs) as u64;
            LrSchedule::CosineWithWarmup {
                warmup_steps: args.warmup_steps,
                total_steps: total,
                min_lr: 0.0,
            }
        }
    };
    TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        schedule,
        patience: args.patience,
        max_grad_norm: args.max_grad_norm,
        label_smoothing: args.label_smoothing,
        seed: args.data.seed,
    }
}

/// Options the user gave (`given`, by clap id) that this run ignores, one line each, e.g.
/// `--hidden has no effect with --model linear (closed-form solver)`. Each option is named once,
/// with the first reason that applies. `has_val`: the validation split has rows;
/// `classification`: the target is categorical.
fn ignored_options(args: &Args, given: &Given, has_val: bool, classification: bool) -> Vec<String> {
    let model = args.model.name();
    let exact = args.model != ModelKind::Mlp && args.solver == Solver::Exact;
    let exact_why = format!(
        "with --model {model} ({})",
        match args.model {
            ModelKind::Linear | ModelKind::Ridge => "closed-form solver",
            _ => "L-BFGS solver",
        }
    );
    let mut ignored: Vec<(&str, &str, String)> = Vec::new();
    if args.model == ModelKind::Mlp {
        ignored.push((
            "solver",
            "--solver",
            "with --model mlp (always trained by gradient descent)".into(),
        ));
    } else {
        let why = if exact {
            exact_why.clone()
        } else {
            format!("with --model {model} --solver gd (no hidden layers)")
        };
        for (id, flag) in [
            ("hidden", "--hidden"),
            ("activation", "--activation"),
            ("dropout", "--dropout"),
        ] {
            ignored.push((id, flag, why.clone()));
        }
    }
    if exact {
        for (id, flag) in [
            ("epochs", "--epochs"),
            ("batch_size", "--batch-size"),
            ("learning_rate", "--learning-rate"),
            ("optimizer", "--optimizer"),
            ("weight_decay", "--weight-decay"),
            ("momentum", "--momentum"),
            ("schedule", "--schedule"),
            ("warmup_steps", "--warmup-steps"),
            ("max_grad_norm", "--max-grad-norm"),
            ("label_smoothing", "--label-smoothing"),
            ("patience", "--patience"),
            ("resume", "--resume"),
        ] {
            ignored.push((id, flag, exact_why.clone()));
        }
    } else {
        if args.optimizer != OptimizerKind::Sgd {
            let opt = format!("{:?}", args.optimizer).to_lowercase();
            ignored.push((
                "momentum",
                "--momentum",
                format!("with --optimizer {opt} (sgd only)"),
            ));
        }
        if args.schedule == ScheduleKind::Constant {
            ignored.push((
                "warmup_steps",
                "--warmup-steps",
                "with --schedule constant (cosine only)".into(),
            ));
        }
        if !has_val {
            ignored.push((
                "patience",
                "--patience",
                if args.data.no_validation() {
                    format!("with {} 0 (no validation set)", args.data.val_setting().0)
                } else {
                    let (flag, value) = args.data.val_setting();
                    format!("with {flag} {value} (the validation split has no rows)")
                },
            ));
        }
        if !classification {
            ignored.push((
                "label_smoothing",
                "--label-smoothing",
                "with a regression target (mean squared error loss)".into(),
            ));
        }
    }
    match (args.model, exact) {
        (ModelKind::Ridge, true) => {}
        (ModelKind::Ridge, false) => ignored.push((
            "alpha",
            "--alpha",
            "with --solver gd (closed-form ridge only; use --weight-decay)".into(),
        )),
        _ => ignored.push((
            "alpha",
            "--alpha",
            format!("with --model {model} (ridge only)"),
        )),
    }
    match (args.model, exact) {
        (ModelKind::Logistic | ModelKind::Softmax, true) => {}
        (ModelKind::Logistic | ModelKind::Softmax, false) => ignored.push((
            "c",
            "--C",
            "with --solver gd (L-BFGS only; use --weight-decay)".into(),
        )),
        _ => ignored.push((
            "c",
            "--C",
            format!("with --model {model} (logistic and softmax only)"),
        )),
    }
    if args.data.data.is_none() {
        ignored.push((
            "target",
            "--target",
            "without --data (a bundled dataset has its own target)".into(),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    ignored
        .into_iter()
        .filter(|(id, _, _)| given.has(id) && seen.insert(*id))
        .map(|(_, flag, why)| format!("{flag} has no effect {why}"))
        .collect()
}

/// Runs `learnable train`; `given` names the flags typed on the command line (warnings are
/// printed for those this run ignores).
pub fn run(args: Args, given: &Given) -> Result<()> {
    let started = Instant::now();
    let data = prep::prepare_training(&args.data)?;
    let classification = data.classes.is_some();
    match (args.model, classification) {
        (ModelKind::Linear | ModelKind::Ridge, true) => bail!(
            "--model {} is a regression model but the target {:?} is categorical; use --model logistic, softmax or mlp",
            args.model.name(),
            data.target
        ),
        (ModelKind::Logistic | ModelKind::Softmax, false) => bail!(
            "--model {} is a classifier but the target {:?} is numeric; use --model linear, ridge or mlp (or --task classification)",
            args.model.name(),
            data.target
        ),
        _ => {}
    }
    if args.model == ModelKind::Logistic && data.classes.as_ref().is_some_and(|c| c.len() != 2) {
        bail!(
            "--model logistic is binary but the target has {} classes; use --model softmax",
            data.classes.as_ref().map_or(0, |c| c.len())
        );
    }
    print_warnings(&ignored_options(
        &args,
        given,
        data.val.is_some(),
        classification,
    ));
    let kind = args.model.name();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(&data.source, kind));
    println!(
        "data: {} — {} train, {} validation, {} test rows, {} features{}",
        data.source,
        data.train.y.len(),
        data.val.as_ref().map_or(0, |v| v.y.len()),
        data.test.as_ref().map_or(0, |v| v.y.len()),
        data.train.x.last_dim(),
        data.classes
            .as_ref()
            .map(|c| format!(", {} classes", c.len()))
            .unwrap_or_default()
    );

    let exact = args.model != ModelKind::Mlp && args.solver == Solver::Exact;
    let (store, net, solver, history, target_scaling) = if exact {
        let (store, net, solver) = fit_exact(&args, &data)?;
        (store, net, solver, None, None)
    } else {
        let (store, net, state, scaling) = fit_gd(&args, &data, &out)?;
        (
            store,
            net,
            "gradient-descent".to_string(),
            Some(state),
            scaling,
        )
    };

    // Final evaluation on the test split (or the training split when there is none).
    let cfg = train_config(&args, data.train.y.len());
    let mut metrics = serde_json::Map::new();
    let (eval_name, eval_split) = match &data.test {
        Some(t) if !t.y.is_empty() => ("test", t),
        _ => ("train", &data.train),
    };
    let (loss, metric) = train::evaluate(&net, &store, eval_split, &cfg)?;
    metrics.insert(format!("{eval_name}_loss"), loss.into());
    let metric_name = if classification { "accuracy" } else { "r2" };
    metrics.insert(format!("{eval_name}_{metric_name}"), metric.into());
    metrics.insert(
        "train_seconds".into(),
        started.elapsed().as_secs_f64().into(),
    );

    let config = ModelConfig {
        format: "learnable-model".into(),
        version: FORMAT_VERSION,
        kind: kind.into(),
        solver,
        network: net.config.clone(),
        task: if classification {
            "classification".into()
        } else {
            "regression".into()
        },
        classes: data.classes.clone().unwrap_or_default(),
        target: data.target.clone(),
        feature_names: data.feature_names.clone(),
        preprocessing: data.preprocessing.clone(),
        source: data.source_spec.clone(),
        options: data.options.clone(),
        training: serde_json::json!({
            "train_config": cfg,
            "optimizer": optimizer_config(&args),
            "alpha": args.alpha,
            "C": args.c,
            "seed": args.data.seed,
            "stop_reason": history.as_ref().and_then(|h| h.stop_reason.clone()),
            // Regression by gradient descent trains on (y - mean) / std; the stored last layer
            // already maps back to original units (see fit_gd), so this is for the record.
            "target_scaling": target_scaling.map(|(mean, std)| serde_json::json!({"mean": mean, "std": std})),
        }),
        metrics: serde_json::Value::Object(metrics),
    };
    ModelDir::save(
        &out,
        &config,
        &store,
        history.as_ref().map(|h| h.history_csv()).as_deref(),
    )?;
    if let Some(h) = &history {
        if let Some(reason) = &h.stop_reason {
            println!("{reason}");
        }
        if let Some((bl, be)) = h.best {
            // Training saw standardised targets: an MSE in original units is std² times it.
            let bl = bl as f64 * target_scaling.map_or(1.0, |(_, std)| std * std);
            println!("best validation loss {bl:.4} at epoch {be} (weights restored)");
        }
    }
    println!(
        "{eval_name} {metric_name}: {metric:.4}   ({eval_name} loss {loss:.4}, {} parameters, {:.1}s)",
        store.num_params(),
        started.elapsed().as_secs_f64()
    );
    println!("model saved to {}", out.display());
    Ok(())
}

/// Closed-form / full-batch fits, stored as a single Linear layer.
fn fit_exact(args: &Args, data: &Prepared) -> Result<(ParamStore, Mlp, String)> {
    use learnable::models::linear_regression::LinearRegressionConfig;
    use learnable::models::logistic_regression::LogisticRegressionConfig;
    let (x, n, d) = data.train_f64();
    let mut store = ParamStore::new();
    let (weight, bias, out_dim, solver) = match args.model {
        ModelKind::Linear | ModelKind::Ridge => {
            let y = data.train_values_f64();
            let cfg = if args.model == ModelKind::Linear {
                LinearRegressionConfig::ols()
            } else {
                LinearRegressionConfig::ridge(args.alpha)
            };
            let fitted = cfg.fit(&x, n, d, &y)?;
            let w: Vec<f32> = fitted.coef().iter().map(|&v| v as f32).collect();
            let solver = match fitted.lstsq_info() {
                Some(info) => format!("least squares (SVD, rank {} of {d})", info.rank),
                None => "least squares".to_string(),
            };
            (w, vec![fitted.intercept() as f32], 1, solver)
        }
        ModelKind::Logistic | ModelKind::Softmax => {
            let y = data.train_classes();
            let k = data.classes.as_ref().map_or(0, |c| c.len());
            let cfg = LogisticRegressionConfig {
                c: args.c,
                ..LogisticRegressionConfig::default()
            };
            let fitted = cfg.fit(&x, n, d, &y)?;
            if fitted.n_classes() != k {
                bail!(
                    "the training split holds {} of the {k} classes; use a larger dataset or smaller --val-fraction/--test-fraction",
                    fitted.n_classes()
                );
            }
            // A binary model's single logit z becomes the two logits [0, z]: softmax([0, z]) =
            // [1 − σ(z), σ(z)], so every classifier is stored and served as softmax logits.
            let (mut w, mut b): (Vec<f32>, Vec<f32>) = (Vec::new(), Vec::new());
            if fitted.n_outputs() == 1 {
                w.extend(std::iter::repeat_n(0.0f32, d));
                b.push(0.0);
            }
            w.extend(fitted.coef().iter().map(|&v| v as f32));
            b.extend(fitted.intercept().iter().map(|&v| v as f32));
            if let Some(info) = fitted.fit_info().filter(|i| !i.converged) {
                eprintln!(
                    "warning: lbfgs stopped at max_iter ({} iterations) without converging (max|grad| {:.2e}); the model is not at the optimum",
                    info.n_iter, info.grad_max
                );
            }
            (w, b, k, format!("lbfgs ({} iterations)", fitted.n_iter()))
        }
        ModelKind::Mlp => unreachable!("mlp is trained by gradient descent"),
    };
    let config = MlpConfig {
        input_dim: d,
        hidden: vec![],
        output_dim: out_dim,
        activation: Activation::Relu,
        dropout: 0.0,
    };
    store.add("layers.0.weight", Tensor::new(weight, &[out_dim, d])?)?;
    store.add("layers.0.bias", Tensor::new(bias, &[out_dim])?)?;
    let net = Mlp::from_store(config, &store)?;
    Ok((store, net, solver))
}

/// The epoch loop for MLPs and gradient-descent linear models.
/// Mean and population std (ddof = 0, 1 when the std is 0 or not finite) of a regression
/// split's targets, as scikit-learn's StandardScaler; `None` for class targets.
fn target_stats(split: &train::Split) -> Option<(f64, f64)> {
    let train::Targets::Values(v) = &split.y else {
        return None;
    };
    let n = v.numel().max(1) as f64;
    let mean = v.data().iter().map(|&a| a as f64).sum::<f64>() / n;
    let var = v
        .data()
        .iter()
        .map(|&a| (a as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    let std = var.sqrt();
    Some((
        mean,
        if std > 0.0 && std.is_finite() {
            std
        } else {
            1.0
        },
    ))
}

/// `split` with regression targets mapped to `(y - mean) / std`.
fn scale_targets(split: &train::Split, (mean, std): (f64, f64)) -> Result<train::Split> {
    let mut s = split.clone();
    if let train::Targets::Values(v) = &mut s.y {
        v.data_mut()
            .iter_mut()
            .for_each(|a| *a = ((*a as f64 - mean) / std) as f32);
    }
    Ok(s)
}

/// Trains by gradient descent. Regression targets are standardised with the training split's
/// mean and std (as scikit-learn's TransformedTargetRegressor with a StandardScaler); after
/// training the last Linear layer is rescaled (`W·std`, `b·std + mean`) so the stored model
/// outputs original units and predict/eval need no inverse step. Returns the (mean, std) used.
#[allow(clippy::type_complexity)]
fn fit_gd(
    args: &Args,
    data: &Prepared,
    out: &std::path::Path,
) -> Result<(ParamStore, Mlp, TrainState, Option<(f64, f64)>)> {
    let scaling = target_stats(&data.train);
    // Scaled copies for regression only (class targets are used as they are, uncopied).
    let scaled = match scaling {
        Some(ms) => Some((
            scale_targets(&data.train, ms)?,
            data.val
                .as_ref()
                .map(|v| scale_targets(v, ms))
                .transpose()?,
        )),
        None => None,
    };
    let (train_split, val_split) = match &scaled {
        Some((t, v)) => (t, v.as_ref()),
        None => (&data.train, data.val.as_ref()),
    };
    let d = data.train.x.last_dim();
    let (hidden, output_dim) = match (&args.model, &data.classes) {
        (ModelKind::Mlp, Some(c)) => (args.hidden.clone(), c.len()),
        (ModelKind::Mlp, None) => (args.hidden.clone(), 1),
        (_, Some(c)) => (vec![], c.len()),
        (_, None) => (vec![], 1),
    };
    let activation: Activation = args.activation.parse()?;
    let config = MlpConfig {
        input_dim: d,
        hidden,
        output_dim,
        activation,
        dropout: args.dropout,
    };
    let mut store = ParamStore::new();
    let net = Mlp::new(config, &mut store, &mut Rng::new(args.data.seed, "init"))?;
    let mut opt = optimizer_config(args).build()?;
    let cfg = train_config(args, data.train.y.len());
    cfg.validate()?;
    let ckpt_dir = out.join("checkpoint");
    let resume = if args.resume {
        check_resume_args(&ckpt_dir, args)?;
        Some(load_checkpoint(&ckpt_dir, &mut store, opt.as_mut())?)
    } else {
        None
    };
    if let Some(r) = &resume {
        println!(
            "resuming from {} after epoch {}",
            ckpt_dir.display(),
            r.state.epochs_done
        );
    }
    println!(
        "model: {} {} -> {:?} -> {} ({} parameters), {} epoch{}, batch {}, {} lr {}",
        args.model.name(),
        d,
        net.config.hidden,
        net.config.output_dim,
        store.num_params(),
        args.epochs,
        if args.epochs == 1 { "" } else { "s" },
        args.batch_size,
        match args.optimizer {
            OptimizerKind::Sgd => "SGD",
            OptimizerKind::Adam => "Adam",
            OptimizerKind::Adamw => "AdamW",
        },
        args.learning_rate
    );
    let bar = if std::io::stderr().is_terminal() && !args.quiet {
        let b = ProgressBar::new(1);
        b.set_style(
            ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
                .expect("template")
                .progress_chars("=> "),
        );
        Some(b)
    } else {
        None
    };
    let mut progress = Progress {
        bar,
        ckpt_dir,
        classification: data.classes.is_some(),
        args_json: serde_json::to_string_pretty(&resume_args(args))?,
        saved_epoch: resume.as_ref().map(|r| r.state.epochs_done),
    };
    let state = train::fit(
        &net,
        &mut store,
        opt.as_mut(),
        train_split,
        val_split,
        &cfg,
        resume,
        &mut progress,
    )
    .map_err(|e| {
        // The hyperparameters were validated above, so this is divergence or a failed write.
        let note = match progress.saved_epoch {
            Some(epoch) => format!(
                "the last good checkpoint (after epoch {epoch}) is in {}; continue from it with --resume",
                progress.ckpt_dir.display()
            ),
            None => "no checkpoint was written (training stopped in its first epoch)".to_string(),
        };
        anyhow::anyhow!("{e}; {note}")
    })?;
    if let Some(b) = &progress.bar {
        b.finish_and_clear();
    }
    if let Some((mean, std)) = scaling {
        let specs = net.config.layer_specs();
        let (w_name, b_name, _) = specs.last().context("the network has no layers")?;
        for (name, shift) in [(w_name, 0.0), (b_name, mean)] {
            let id = store
                .id(name)
                .with_context(|| format!("parameter {name} missing"))?;
            store
                .get_mut(id)
                .value
                .data_mut()
                .iter_mut()
                .for_each(|a| *a = (*a as f64 * std + shift) as f32);
        }
    }
    Ok((store, net, state, scaling))
}

fn load_checkpoint(
    dir: &std::path::Path,
    store: &mut ParamStore,
    opt: &mut dyn Optimizer,
) -> Result<Resume> {
    let state_path = dir.join("state.json");
    let text = std::fs::read_to_string(&state_path).with_context(|| {
        format!(
            "--resume: no checkpoint at {} (train without --resume first)",
            state_path.display()
        )
    })?;
    let state: TrainState = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a training state", state_path.display()))?;
    store.load(dir.join("model.safetensors")).with_context(|| {
        format!(
            "--resume: the checkpoint in {} holds another architecture than this run's ({} parameters)",
            dir.display(),
            store.num_params()
        )
    })?;
    opt.load_state(&dir.join("optimizer.safetensors"), store)?;
    let best_path = dir.join("best.safetensors");
    let best = if state.best.is_some() && best_path.exists() {
        let mut b = store.clone();
        b.load(&best_path)?;
        Some(b)
    } else {
        None
    };
    Ok(Resume { state, best })
}
