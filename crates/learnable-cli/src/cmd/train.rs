//! `learnable train`: fit a model on a bundled dataset or a CSV file, evaluate it on the held-out
//! test split and save it as a model directory. The flags become one `learnable::fit::FitConfig`
//! and data options; fitting, checkpoints, resume, the model directory and which settings a run
//! ignores are the library's.

use std::path::PathBuf;

use anyhow::{Result, bail};
use learnable::fit::{self, DataShape, FitConfig, FitData, FitOptions};
use learnable::model_dir::ModelDir;
use learnable::models::mlp::Activation;

use crate::flags::{self, Given, print_warnings};
use crate::prep::DataArgs;
use crate::progress::Progress;

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
    #[arg(long, default_value = "mlp", value_parser = flags::choice::<fit::ModelKind>())]
    pub model: fit::ModelKind,
    /// Solver for linear, ridge, logistic and softmax models.
    #[arg(long, default_value = "exact", value_parser = flags::choice::<fit::Solver>())]
    pub solver: fit::Solver,
    /// Hidden layer widths of the MLP, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "128,64", allow_negative_numbers = true, value_parser = flags::count::<usize>(1))]
    pub hidden: Vec<usize>,
    /// Activation of the MLP's hidden layers.
    #[arg(long, default_value = "relu", value_parser = flags::choice::<Activation>())]
    pub activation: Activation,
    /// Dropout probability after each hidden layer (gpt: in each block), in [0, 1) (default 0).
    #[arg(long, allow_negative_numbers = true)]
    pub dropout: Option<f32>,
    /// Passes over the training split (default 40).
    #[arg(long, allow_negative_numbers = true, value_parser = flags::count::<usize>(1))]
    pub epochs: Option<usize>,
    /// Rows per mini-batch (default 32; gpt: 12 windows).
    #[arg(long, allow_negative_numbers = true, value_parser = flags::count::<usize>(1))]
    pub batch_size: Option<usize>,
    /// Micro-batches of --batch-size per optimizer step (gradient accumulation: each loss
    /// divided by N; one step sees N·batch-size rows in the memory of one batch).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = flags::count::<usize>(1))]
    pub gradient_accumulation_steps: usize,
    /// Base learning rate (default 1e-3).
    #[arg(long, allow_negative_numbers = true)]
    pub learning_rate: Option<f64>,
    /// Optimizer.
    #[arg(long, default_value = "adamw", value_parser = flags::choice::<fit::OptimizerKind>())]
    pub optimizer: fit::OptimizerKind,
    /// Weight decay, AdamW: decoupled; SGD/Adam: L2 added to the gradient (default 0.01; gpt:
    /// 0.1, on weight matrices only).
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Momentum for SGD.
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    pub momentum: f64,
    /// Learning-rate schedule (default constant; gpt: cosine).
    #[arg(long, value_parser = flags::choice::<fit::ScheduleKind>())]
    pub schedule: Option<fit::ScheduleKind>,
    /// Warmup steps of the cosine schedule (default 0; gpt: 100).
    #[arg(long, allow_negative_numbers = true, value_parser = flags::count::<u64>(0))]
    pub warmup_steps: Option<u64>,
    /// Clip the global gradient norm to this value (default: no clipping; gpt: 1.0).
    #[arg(long, allow_negative_numbers = true)]
    pub max_grad_norm: Option<f32>,
    /// Label smoothing of the cross-entropy loss, in [0, 1).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub label_smoothing: f32,
    /// Class weights of the loss, for imbalanced classes (gradient descent): balanced weighs
    /// class c by n_samples / (n_classes * count[c]) in the training split, as scikit-learn.
    #[arg(long, default_value = "none", value_parser = flags::choice::<fit::ClassWeight>())]
    pub class_weight: fit::ClassWeight,
    /// Stop after this many epochs (gpt: evaluations) without a better validation loss (best
    /// weights are kept).
    #[arg(long, allow_negative_numbers = true, value_parser = flags::count::<usize>(1))]
    pub patience: Option<usize>,
    /// Ridge penalty alpha (>= 0).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub alpha: f64,
    /// Inverse regularisation strength C of logistic/softmax regression (> 0), as scikit-learn.
    #[arg(
        id = "C",
        long = "C",
        alias = "c",
        default_value_t = 1.0,
        allow_negative_numbers = true
    )]
    pub c: f64,
    /// gpt: transformer blocks (default 4).
    #[arg(long, allow_negative_numbers = true, value_parser = flags::count::<usize>(1))]
    pub n_layer: Option<usize>,
    /// gpt: attention heads per block, dividing --n-embd (default 4).
    #[arg(long, allow_negative_numbers = true, value_parser = flags::count::<usize>(1))]
    pub n_head: Option<usize>,
    /// gpt: embedding width (default 128).
    #[arg(long, allow_negative_numbers = true, value_parser = flags::count::<usize>(1))]
    pub n_embd: Option<usize>,
    /// gpt: context length in tokens (default 64).
    #[arg(long, allow_negative_numbers = true, value_parser = flags::count::<usize>(1))]
    pub block_size: Option<usize>,
    /// gpt: optimizer steps in all (default 2000).
    #[arg(long, allow_negative_numbers = true, value_parser = flags::count::<usize>(1))]
    pub max_steps: Option<usize>,
    /// gpt: steps between validation-loss evaluations and checkpoints (default 250).
    #[arg(long, allow_negative_numbers = true, value_parser = flags::count::<usize>(1))]
    pub eval_interval: Option<usize>,
    /// gpt: validation batches per evaluation (default 20).
    #[arg(long, allow_negative_numbers = true, value_parser = flags::count::<usize>(1))]
    pub eval_iters: Option<usize>,
    /// gpt: tokenizer, char (the text's characters) or gpt2 (GPT-2's byte-level BPE, 50,257
    /// tokens).
    #[arg(long, default_value = "char", value_parser = flags::choice::<learnable::tokenizer::TokenizerKind>())]
    pub tokenizer: learnable::tokenizer::TokenizerKind,
    /// Stop after the first epoch (gpt: evaluation) past this many seconds of training.
    #[arg(long, allow_negative_numbers = true)]
    pub max_time: Option<f64>,
    /// gpt: a UTF-8 text file to train on (the last --val-fraction of it validates), instead of
    /// --dataset tiny_shakespeare.
    #[arg(long, conflicts_with_all = ["data", "dataset"])]
    pub text: Option<PathBuf>,
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
    pub fn fit_config(&self) -> FitConfig {
        let d = FitConfig::defaults(self.model);
        FitConfig {
            model: self.model,
            solver: self.solver,
            hidden: self.hidden.clone(),
            activation: self.activation,
            dropout: self.dropout.unwrap_or(d.dropout),
            epochs: self.epochs.unwrap_or(d.epochs),
            batch_size: self.batch_size.unwrap_or(d.batch_size),
            gradient_accumulation_steps: self.gradient_accumulation_steps,
            learning_rate: self.learning_rate.unwrap_or(d.learning_rate),
            optimizer: self.optimizer,
            weight_decay: self.weight_decay.unwrap_or(d.weight_decay),
            momentum: self.momentum,
            schedule: self.schedule.unwrap_or(d.schedule),
            warmup_steps: self.warmup_steps.unwrap_or(d.warmup_steps),
            max_grad_norm: self.max_grad_norm.or(d.max_grad_norm),
            label_smoothing: self.label_smoothing,
            class_weight: self.class_weight,
            patience: self.patience,
            alpha: self.alpha,
            c: self.c,
            n_layer: self.n_layer.unwrap_or(d.n_layer),
            n_head: self.n_head.unwrap_or(d.n_head),
            n_embd: self.n_embd.unwrap_or(d.n_embd),
            block_size: self.block_size.unwrap_or(d.block_size),
            max_steps: self.max_steps.unwrap_or(d.max_steps),
            eval_interval: self.eval_interval.unwrap_or(d.eval_interval),
            eval_iters: self.eval_iters.unwrap_or(d.eval_iters),
            tokenizer: self.tokenizer,
            max_time: self.max_time,
            seed: self.data.seed,
        }
    }
}

/// The options the user typed that this run ignores, one line each (`--hidden has no effect
/// with --model linear (closed-form solver)`): the library's list, in flag words.
pub fn ignored_options(
    args: &Args,
    given: &Given,
    config: &FitConfig,
    data: &DataShape,
) -> Vec<String> {
    let (val_flag, val_value) = args.data.val_setting();
    let mut lines: Vec<String> = config
        .unused_settings_on(data)
        .into_iter()
        .filter(|(setting, _)| given.has(setting))
        .map(|(setting, why)| {
            let why = why.replace(
                &format!("`val_size` {}", data.val_size),
                &format!("{val_flag} {val_value}"),
            );
            let flag = flags::flag_for(setting).unwrap_or(setting);
            flags::options_as_flags(&format!("{flag} has no effect {why}"))
        })
        .collect();
    if args.data.data.is_none() && given.has("target") {
        lines.push(
            "--target has no effect without --data (a bundled dataset has its own target)".into(),
        );
    }
    lines
}

/// Runs `learnable train`; `given` names the flags typed on the command line (warnings are
/// printed for those this run ignores).
pub fn run(args: Args, given: &Given) -> Result<()> {
    let config = args.fit_config();
    // Validate the settings before loading anything, so a typo costs no time.
    config.validate()?;
    if config.model.is_language_model() {
        return crate::cmd::train_lm::run(&args, given, &config);
    }
    if args.text.is_some() {
        bail!("--text is the training text of a language model: add --model gpt");
    }
    let source = args.data.source()?;
    let mut options = args.data.options()?;
    // The model kind already says the task of a CSV target (a whole-number target of a linear
    // model is numeric); a bundled dataset has its own task.
    if matches!(source, learnable::data::Source::Csv { .. }) {
        options.task = options.task.or(config.model.task());
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs").join(format!("{}-{}", source.short_name(), config.model))
    });
    let md = ModelDir::new(&out);
    if !args.resume && !args.force && md.holds_a_model() {
        let what = match learnable::checkpoint::committed_epoch(&md.checkpoint()) {
            Some(e) if !md.config().exists() => format!(" (a training checkpoint after epoch {e})"),
            _ => String::new(),
        };
        bail!(
            "{} already holds a model{what}; choose another --out, add --force to replace it, or --resume to continue its training",
            out.display()
        );
    }
    let data = FitData::prepare(&source, &options)?;
    if let Some(note) = crate::prep::categorical_note(&data.guessed_categorical) {
        eprintln!("{note}");
    }
    print_warnings(&ignored_options(&args, given, &config, &data.shape()));
    let classes = data.classes().map(|c| c.len());
    println!(
        "data: {} — {} train, {} validation, {} test rows, {} features{}",
        data.source_name(),
        data.train.y.len(),
        data.val.as_ref().map_or(0, |v| v.y.len()),
        data.test.as_ref().map_or(0, |v| v.y.len()),
        data.n_features(),
        classes
            .map(|k| format!(", {k} classes"))
            .unwrap_or_default()
    );
    if config.uses_epoch_loop() {
        let net = config.network(&data);
        println!(
            "model: {} {} -> {:?} -> {} ({}), {} epoch{}, batch {}, {} lr {}",
            config.model,
            net.input_dim,
            net.hidden,
            net.output_dim,
            net.num_params()
                .map_or("too many parameters".into(), |n| format!("{n} parameters")),
            config.epochs,
            if config.epochs == 1 { "" } else { "s" },
            config.batch_size,
            config.optimizer.display_name(),
            config.learning_rate
        );
    }
    let ckpt = md.checkpoint();
    let mut progress = Progress::new(
        if classes.is_some() { "accuracy" } else { "r2" },
        config.epochs,
        None,
        ckpt.clone(),
        args.quiet,
    );
    let options = FitOptions {
        checkpoint_dir: Some(ckpt.clone()),
        resume: args.resume,
        observer: Some(&mut progress),
    };
    let result = fit::fit_with(&config, &data, options);
    progress.finish();
    let model = result.map_err(|e| flags::training_error(e, &ckpt))?;
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
    let metric = model.metric_name();
    let get = |k: &str| m.get(k).copied().unwrap_or(f64::NAN);
    println!(
        "{split} {metric}: {:.4}   ({split} loss {:.4}, {} parameters, {:.1}s)",
        get(&format!("{split}_{metric}")),
        get(&format!("{split}_loss")),
        model.num_params(),
        m.get("train_seconds").copied().unwrap_or(0.0)
    );
    println!("model saved to {}", out.display());
    Ok(())
}
