//! `learnable train`: fit a model on a bundled dataset or a CSV file, evaluate it on the held-out
//! test split and save it as a model directory. The flags become one `learnable::fit::FitConfig`
//! and data options; fitting, checkpoints, resume and the model directory are the library's.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use learnable::ParamStore;
use learnable::fit::{self, FitConfig, FitData, FitOptions};
use learnable::model_dir::ModelDir;
use learnable::optim::Optimizer;
use learnable::train::{Observer, TrainState};

use crate::flags::{Given, print_warnings};
use crate::prep::DataArgs;

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

impl From<ModelKind> for fit::ModelKind {
    fn from(k: ModelKind) -> Self {
        match k {
            ModelKind::Linear => fit::ModelKind::Linear,
            ModelKind::Ridge => fit::ModelKind::Ridge,
            ModelKind::Logistic => fit::ModelKind::Logistic,
            ModelKind::Softmax => fit::ModelKind::Softmax,
            ModelKind::Mlp => fit::ModelKind::Mlp,
        }
    }
}

impl ModelKind {
    fn name(self) -> &'static str {
        fit::ModelKind::from(self).name()
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
    #[arg(long, value_delimiter = ',', default_value = "128,64", allow_negative_numbers = true, value_parser = crate::flags::count::<usize>(1))]
    pub hidden: Vec<usize>,
    /// Activation of the MLP's hidden layers: relu, gelu, tanh or sigmoid.
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// Dropout probability after each hidden layer, in [0, 1).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub dropout: f32,
    /// Passes over the training split.
    #[arg(long, default_value_t = 40, allow_negative_numbers = true, value_parser = crate::flags::count::<usize>(1))]
    pub epochs: usize,
    /// Rows per mini-batch.
    #[arg(long, default_value_t = 32, allow_negative_numbers = true, value_parser = crate::flags::count::<usize>(1))]
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
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = crate::flags::count::<u64>(0))]
    pub warmup_steps: u64,
    /// Clip the global gradient norm to this value.
    #[arg(long, allow_negative_numbers = true)]
    pub max_grad_norm: Option<f32>,
    /// Label smoothing of the cross-entropy loss, in [0, 1).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub label_smoothing: f32,
    /// Stop after this many epochs without a better validation loss (best weights are kept).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::count::<usize>(1))]
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
    /// Replace the model (and checkpoint) already in --out.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Print one line per epoch instead of a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

impl Args {
    /// The library's fit configuration of these flags (validated by `fit`).
    pub fn fit_config(&self) -> Result<FitConfig> {
        Ok(FitConfig {
            model: self.model.into(),
            solver: match self.solver {
                Solver::Exact => fit::Solver::Exact,
                Solver::Gd => fit::Solver::GradientDescent,
            },
            hidden: self.hidden.clone(),
            activation: self.activation.parse()?,
            dropout: self.dropout,
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            optimizer: match self.optimizer {
                OptimizerKind::Sgd => fit::OptimizerKind::Sgd,
                OptimizerKind::Adam => fit::OptimizerKind::Adam,
                OptimizerKind::Adamw => fit::OptimizerKind::AdamW,
            },
            weight_decay: self.weight_decay,
            momentum: self.momentum,
            schedule: match self.schedule {
                ScheduleKind::Constant => fit::ScheduleKind::Constant,
                ScheduleKind::Cosine => fit::ScheduleKind::Cosine,
            },
            warmup_steps: self.warmup_steps,
            max_grad_norm: self.max_grad_norm,
            label_smoothing: self.label_smoothing,
            patience: self.patience,
            alpha: self.alpha,
            c: self.c,
            seed: self.data.seed,
        })
    }
}

/// Prints one line per epoch on stdout (results), and draws a progress bar on stderr when
/// stderr is a terminal (never in a log file).
struct Progress {
    bar: Option<ProgressBar>,
    classification: bool,
    epochs: usize,
    legend_shown: bool,
    checkpoint: PathBuf,
}

impl Progress {
    /// Prints a result line on stdout without tearing the bar.
    fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }
}

impl Observer for Progress {
    fn on_start(&mut self, state: &TrainState) {
        if state.epochs_done > 0 {
            self.println(&format!(
                "resuming from {} after epoch {}",
                self.checkpoint.display(),
                state.epochs_done
            ));
        }
    }

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
        _store: &ParamStore,
        _opt: &dyn Optimizer,
        state: &TrainState,
        is_best: bool,
    ) -> learnable::Result<()> {
        let Some(r) = state.history.last() else {
            return Ok(());
        };
        let metric = if self.classification {
            "accuracy"
        } else {
            "r2"
        };
        if !self.legend_shown && r.val_loss.is_some() {
            self.println("(* marks a new best validation loss; the best epoch's weights are kept)");
            self.legend_shown = true;
        }
        let val = match (r.val_loss, r.val_metric) {
            (Some(l), Some(m)) => format!(
                " | val loss {l:.4}  {metric} {m:.4}{}",
                if is_best { " *" } else { "  " }
            ),
            _ => String::new(),
        };
        let width = self.epochs.to_string().len();
        self.println(&format!(
            "epoch {:>width$}/{}  loss {:.4}  {metric} {:.4}{val}  lr {:.1e}  {:.1}s",
            r.epoch, self.epochs, r.train_loss, r.train_metric, r.learning_rate, r.seconds
        ));
        Ok(())
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
    let config = args.fit_config()?;
    // Validate the settings before loading anything, so a typo costs no time.
    config.validate()?;
    let source = args.data.source()?;
    let mut options = args.data.options()?;
    // The model kind already says the task of a CSV target (a whole-number target of a linear
    // model is numeric); a bundled dataset has its own task.
    if matches!(source, learnable::data::Source::Csv { .. }) {
        options.task = options.task.or(config.model.task());
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(&source, args.model.name()));
    let md = ModelDir::new(&out);
    if !args.resume && !args.force && md.holds_a_model() {
        bail!(
            "{} already holds a model{}; choose another --out, add --force to replace it, or --resume to continue its training",
            out.display(),
            match learnable::checkpoint::committed_epoch(&md.checkpoint()) {
                Some(e) if !md.config().exists() =>
                    format!(" (a training checkpoint after epoch {e})"),
                _ => String::new(),
            }
        );
    }
    let data = FitData::prepare(&source, &options)?;
    if let Some(note) = crate::prep::categorical_note(&data.guessed_categorical) {
        eprintln!("{note}");
    }
    let classification = data.classes().is_some();
    print_warnings(&ignored_options(
        &args,
        given,
        data.val.is_some(),
        classification,
    ));
    println!(
        "data: {} — {} train, {} validation, {} test rows, {} features{}",
        data.source_name(),
        data.train.y.len(),
        data.val.as_ref().map_or(0, |v| v.y.len()),
        data.test.as_ref().map_or(0, |v| v.y.len()),
        data.n_features(),
        data.classes()
            .map(|c| format!(", {} classes", c.len()))
            .unwrap_or_default()
    );
    if config.uses_epoch_loop() {
        println!(
            "model: {} {} -> {:?} -> {} ({}), {} epoch{}, batch {}, {} lr {}",
            config.model,
            data.n_features(),
            if config.model == fit::ModelKind::Mlp {
                config.hidden.clone()
            } else {
                vec![]
            },
            data.classes().map_or(1, |c| c.len()),
            parameter_count(&config, &data),
            config.epochs,
            if config.epochs == 1 { "" } else { "s" },
            config.batch_size,
            config.optimizer.display_name(),
            config.learning_rate
        );
    }
    let bar = if std::io::stderr().is_terminal() && !args.quiet {
        let b = ProgressBar::with_draw_target(Some(1), indicatif::ProgressDrawTarget::stderr());
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
        classification,
        epochs: config.epochs,
        legend_shown: false,
        checkpoint: md.checkpoint(),
    };
    let ckpt = md.checkpoint();
    let result = fit::fit_with(
        &config,
        &data,
        FitOptions {
            checkpoint_dir: Some(ckpt.clone()),
            resume: args.resume,
            observer: Some(&mut progress),
        },
    );
    if let Some(b) = &progress.bar {
        b.finish_and_clear();
    }
    let model = result.map_err(|e| training_error(e, &ckpt))?;
    print_warnings(&model.warnings);
    model.save(&out)?;
    let record = &model.config.training;
    if let Some(reason) = &record.stop_reason {
        println!("{reason}");
    }
    if let Some((loss, epoch)) = record.best_val_loss {
        println!("best validation loss {loss:.4} at epoch {epoch} (weights restored)");
    }
    let m = &model.config.metrics;
    let split = if m.contains_key("test_loss") {
        "test"
    } else {
        "train"
    };
    let metric_name = model.metric_name();
    println!(
        "{split} {metric_name}: {:.4}   ({split} loss {:.4}, {} parameters, {:.1}s)",
        m.get(&format!("{split}_{metric_name}"))
            .copied()
            .unwrap_or(f64::NAN),
        m.get(&format!("{split}_loss")).copied().unwrap_or(f64::NAN),
        model.num_params(),
        m.get("train_seconds").copied().unwrap_or(0.0)
    );
    println!("model saved to {}", out.display());
    Ok(())
}

/// The parameter count of the network `config` builds on `data`.
fn parameter_count(config: &FitConfig, data: &FitData) -> String {
    let hidden = if config.model == fit::ModelKind::Mlp {
        config.hidden.clone()
    } else {
        vec![]
    };
    let net = learnable::models::mlp::MlpConfig {
        input_dim: data.n_features(),
        hidden,
        output_dim: data.classes().map_or(1, |c| c.len()),
        activation: config.activation,
        dropout: config.dropout,
    };
    match net.num_params() {
        Some(n) => format!("{n} parameters"),
        None => "too many parameters".into(),
    }
}

/// A training error as the user should read it: a divergence names the flags to change and
/// where the last good checkpoint is; a resume mismatch names each differing flag.
fn training_error(e: learnable::Error, ckpt: &std::path::Path) -> anyhow::Error {
    match e {
        learnable::Error::Diverged { .. } => {
            let msg = e
                .to_string()
                .replace("learning_rate", "--learning-rate")
                .replace("max_grad_norm", "--max-grad-norm");
            let note = match learnable::checkpoint::committed_epoch(ckpt) {
                Some(epoch) => format!(
                    "the last good checkpoint (after epoch {epoch}) is in {}; continue from it with --resume",
                    ckpt.display()
                ),
                None => {
                    "no checkpoint was written (training stopped in its first epoch)".to_string()
                }
            };
            anyhow::anyhow!("{msg}; {note}")
        }
        learnable::Error::ResumeMismatch { dir, differences } => {
            let diffs: Vec<String> = differences
                .iter()
                .map(|(k, a, b)| {
                    let flag = crate::flags::flag_for(k).unwrap_or(k);
                    format!("{flag}: checkpoint {a}, now {b}")
                })
                .collect();
            anyhow::anyhow!(
                "--resume: the checkpoint in {dir} was trained with other arguments ({}); repeat the interrupted run's arguments, or train without --resume",
                diffs.join("; ")
            )
        }
        learnable::Error::Missing(m) if m.starts_with("no checkpoint to resume from") => {
            anyhow::anyhow!("--resume: {m}")
        }
        e => e.into(),
    }
}

/// The default output directory for a run: `runs/<source>-<kind>`.
fn default_out_dir(source: &learnable::data::Source, kind: &str) -> PathBuf {
    let name = match source {
        learnable::data::Source::Bundled(n) => n.clone(),
        learnable::data::Source::Csv { path, .. } => path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "data".into()),
    };
    PathBuf::from("runs").join(format!("{name}-{kind}"))
}
