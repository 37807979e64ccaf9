//! The fit configuration: every hyperparameter of a fit with its default, the named choices
//! (model kind, solver, optimizer, schedule), validation, and which settings a fit ignores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::choice::Choice;
use crate::data::split::SplitSize;
use crate::data::{Options, Source, Task};
use crate::error::{Error, Result};
use crate::models::mlp::{Activation, MlpConfig};
use crate::optim::{AdamConfig, AdamWConfig, LrSchedule, OptimizerConfig, SgdConfig};
use crate::tokenizer::TokenizerKind;
use crate::train::TrainConfig;

use super::FitData;

/// Which model to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Least squares `y = w·x + b`.
    Linear,
    /// Least squares with an L2 penalty `alpha` on the weights.
    Ridge,
    /// Binary logistic regression, L2-regularised with `C`.
    Logistic,
    /// Multinomial (softmax) logistic regression, L2-regularised with `C`.
    Softmax,
    /// Multilayer perceptron trained by mini-batch gradient descent.
    Mlp,
    /// GPT-2-style decoder-only transformer language model, trained on text.
    Gpt,
}

impl Choice for ModelKind {
    const SETTING: &'static str = "model";
    const ALL: &'static [Self] = &[
        ModelKind::Linear,
        ModelKind::Ridge,
        ModelKind::Logistic,
        ModelKind::Softmax,
        ModelKind::Mlp,
        ModelKind::Gpt,
    ];
    fn name(self) -> &'static str {
        match self {
            ModelKind::Linear => "linear",
            ModelKind::Ridge => "ridge",
            ModelKind::Logistic => "logistic",
            ModelKind::Softmax => "softmax",
            ModelKind::Mlp => "mlp",
            ModelKind::Gpt => "gpt",
        }
    }
    fn description(self) -> &'static str {
        match self {
            ModelKind::Linear => "least squares y = w·x + b (closed form, or gradient descent)",
            ModelKind::Ridge => "least squares with an L2 penalty alpha on the weights",
            ModelKind::Logistic => "binary logistic regression, L2-regularised with C (L-BFGS)",
            ModelKind::Softmax => "multinomial logistic regression, L2-regularised with C (L-BFGS)",
            ModelKind::Mlp => "multilayer perceptron trained by mini-batch gradient descent",
            ModelKind::Gpt => "GPT-2-style transformer language model, trained on text",
        }
    }
}
crate::choice_traits!(ModelKind);

impl ModelKind {
    /// The lowercase name (`linear`, ..., `mlp`), as in config.json.
    pub fn name(self) -> &'static str {
        Choice::name(self)
    }

    /// The task the kind solves, if it solves only one.
    pub fn task(self) -> Option<Task> {
        match self {
            ModelKind::Linear | ModelKind::Ridge => Some(Task::Regression),
            ModelKind::Logistic | ModelKind::Softmax => Some(Task::Classification),
            ModelKind::Mlp | ModelKind::Gpt => None,
        }
    }

    /// True for a language model (trained on text, not on a table).
    pub fn is_language_model(self) -> bool {
        self == ModelKind::Gpt
    }
}

/// How linear models (linear, ridge, logistic, softmax) are fitted; an MLP always uses the
/// epoch loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// Least squares (linear, ridge) or L-BFGS to convergence (logistic, softmax).
    Exact,
    /// The epoch loop: mini-batch gradient descent with the chosen optimizer.
    #[serde(rename = "gd")]
    GradientDescent,
}

impl Choice for Solver {
    const SETTING: &'static str = "solver";
    const ALL: &'static [Self] = &[Solver::Exact, Solver::GradientDescent];
    fn name(self) -> &'static str {
        match self {
            Solver::Exact => "exact",
            Solver::GradientDescent => "gd",
        }
    }
    fn description(self) -> &'static str {
        match self {
            Solver::Exact => {
                "least squares (linear, ridge) or L-BFGS to convergence (logistic, softmax)"
            }
            Solver::GradientDescent => {
                "the epoch loop: mini-batch gradient descent with the optimizer"
            }
        }
    }
}
crate::choice_traits!(Solver);

/// The optimizer of the epoch loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// `torch.optim.SGD` with `momentum`; `weight_decay` is L2 added to the gradient.
    Sgd,
    /// `torch.optim.Adam`; `weight_decay` is L2 added to the gradient.
    Adam,
    /// `torch.optim.AdamW` (decoupled weight decay, Loshchilov & Hutter 2019).
    #[serde(rename = "adamw")]
    AdamW,
}

impl Choice for OptimizerKind {
    const SETTING: &'static str = "optimizer";
    const ALL: &'static [Self] = &[
        OptimizerKind::Sgd,
        OptimizerKind::Adam,
        OptimizerKind::AdamW,
    ];
    fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
        }
    }
    fn description(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "SGD with momentum (torch.optim.SGD)",
            OptimizerKind::Adam => "Adam, weight decay as L2 in the gradient (torch.optim.Adam)",
            OptimizerKind::AdamW => "AdamW, decoupled weight decay (torch.optim.AdamW)",
        }
    }
}
crate::choice_traits!(OptimizerKind);

impl OptimizerKind {
    /// The optimizer's usual name: `SGD`, `Adam`, `AdamW`.
    pub fn display_name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "SGD",
            OptimizerKind::Adam => "Adam",
            OptimizerKind::AdamW => "AdamW",
        }
    }
}

/// The learning-rate schedule over optimizer steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// The same learning rate at every step.
    Constant,
    /// Linear warmup over `warmup_steps`, then cosine decay to 0 at the last step
    /// (Loshchilov & Hutter 2017, as Hugging Face's `get_cosine_schedule_with_warmup`).
    Cosine,
}

impl Choice for ScheduleKind {
    const SETTING: &'static str = "schedule";
    const ALL: &'static [Self] = &[ScheduleKind::Constant, ScheduleKind::Cosine];
    fn name(self) -> &'static str {
        match self {
            ScheduleKind::Constant => "constant",
            ScheduleKind::Cosine => "cosine",
        }
    }
    fn description(self) -> &'static str {
        match self {
            ScheduleKind::Constant => "the same learning rate at every step",
            ScheduleKind::Cosine => "linear warmup over warmup_steps, then cosine decay to 0",
        }
    }
}
crate::choice_traits!(ScheduleKind);

/// Settings only a language model (`gpt`) uses.
const GPT_ONLY: [&str; 8] = [
    "n_layer",
    "n_head",
    "n_embd",
    "block_size",
    "max_steps",
    "eval_interval",
    "eval_iters",
    "tokenizer",
];

/// What [`FitConfig::unused_settings_on`] needs to know of the data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataShape {
    /// The validation split has rows (windows).
    pub validation: bool,
    /// The target is classes (or tokens), so the loss is cross-entropy.
    pub classification: bool,
    /// The validation size asked for.
    pub val_size: SplitSize,
}

/// How the classes of a classification target are weighted in the cross-entropy loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    /// Every class weighs 1.
    #[default]
    None,
    /// Scikit-learn's `class_weight='balanced'`: class `c` weighs
    /// `n_samples / (n_classes · count[c])` over the training split, so a rare class counts as
    /// much in total as a frequent one (King & Zeng 2001; [`crate::loss::balanced_class_weight`]),
    /// passed to the loss as PyTorch's `CrossEntropyLoss(weight=...)`.
    Balanced,
}

impl Choice for ClassWeight {
    const SETTING: &'static str = "class_weight";
    const ALL: &'static [Self] = &[ClassWeight::None, ClassWeight::Balanced];
    fn name(self) -> &'static str {
        match self {
            ClassWeight::None => "none",
            ClassWeight::Balanced => "balanced",
        }
    }
    fn description(self) -> &'static str {
        match self {
            ClassWeight::None => "every class weighs 1",
            ClassWeight::Balanced => {
                "weigh class c by n_samples / (n_classes * count[c]) (scikit-learn's 'balanced')"
            }
        }
    }
}
crate::choice_traits!(ClassWeight);

/// Every hyperparameter of a fit, with its default. Plain data: build it with struct update
/// syntax (`FitConfig { epochs: 10, ..FitConfig::default() }`); [`fit`] validates it.
///
/// Fields that a kind/solver does not use are ignored by it (`hidden` for a linear model,
/// `alpha` for anything but ridge, ...); the model directory records only what was used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FitConfig {
    /// The model kind. Default `mlp`.
    pub model: ModelKind,
    /// How linear kinds are fitted. Default `exact`.
    pub solver: Solver,
    /// MLP hidden layer widths, input to output. Default `[128, 64]`.
    pub hidden: Vec<usize>,
    /// MLP hidden activation. Default ReLU (the only one with the fused inference kernel).
    pub activation: Activation,
    /// Dropout probability after each hidden layer, in [0, 1). Default 0.
    pub dropout: f32,
    /// Passes over the training split (>= 1). Default 40.
    pub epochs: usize,
    /// Rows per mini-batch (>= 1). Default 32.
    pub batch_size: usize,
    /// Micro-batches of `batch_size` per optimizer step (gradient accumulation: the loss of
    /// each is divided by N, one optimizer step after N backward passes). Default 1.
    pub gradient_accumulation_steps: usize,
    /// Base learning rate (> 0). Default 1e-3 ([`crate::optim::DEFAULT_LEARNING_RATE`]).
    pub learning_rate: f64,
    /// Optimizer of the epoch loop. Default AdamW.
    pub optimizer: OptimizerKind,
    /// Weight decay (AdamW: decoupled; SGD/Adam: L2 in the gradient), >= 0. Default 0.01
    /// (PyTorch's AdamW default).
    pub weight_decay: f64,
    /// SGD momentum in [0, 1). Default 0.9.
    pub momentum: f64,
    /// Learning-rate schedule. Default constant.
    pub schedule: ScheduleKind,
    /// Warmup steps of the cosine schedule. Default 0.
    pub warmup_steps: u64,
    /// Clip the global gradient L2 norm to this value (> 0). Default none.
    pub max_grad_norm: Option<f32>,
    /// Label smoothing of the cross-entropy loss, in [0, 1). Default 0.
    pub label_smoothing: f32,
    /// Class weights of the cross-entropy loss (epoch loop, classification). Default none.
    pub class_weight: ClassWeight,
    /// Stop after this many epochs (>= 1) without a better validation loss; the best weights
    /// are kept. Default none.
    pub patience: Option<usize>,
    /// Ridge penalty (>= 0). Default 1 (scikit-learn's).
    pub alpha: f64,
    /// Inverse regularisation strength of logistic/softmax regression (> 0). Default 1
    /// (scikit-learn's).
    #[serde(rename = "C")]
    pub c: f64,
    /// gpt: transformer blocks. Default 4 (nanoGPT's CPU recipe).
    pub n_layer: usize,
    /// gpt: attention heads per block; must divide `n_embd`. Default 4.
    pub n_head: usize,
    /// gpt: embedding width. Default 128.
    pub n_embd: usize,
    /// gpt: context length in tokens. Default 64.
    pub block_size: usize,
    /// gpt: optimizer steps in all. Default 2000.
    pub max_steps: usize,
    /// gpt: steps between evaluations of the validation loss (checkpoint, history line,
    /// early stopping). Default 250.
    pub eval_interval: usize,
    /// gpt: batches of validation windows per evaluation. Default 20.
    pub eval_iters: usize,
    /// gpt: the tokenizer, `char` (the training text's characters) or `gpt2` (GPT-2's
    /// byte-level BPE, 50,257 tokens). Default char.
    pub tokenizer: TokenizerKind,
    /// Stop after the first evaluation past this many seconds of training (a wall-clock
    /// budget). Default none.
    pub max_time: Option<f64>,
    /// Seed of the initialisation, shuffling and dropout streams.
    pub seed: u64,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            model: ModelKind::Mlp,
            solver: Solver::Exact,
            hidden: vec![128, 64],
            activation: Activation::Relu,
            dropout: 0.0,
            epochs: 40,
            batch_size: 32,
            gradient_accumulation_steps: 1,
            learning_rate: crate::optim::DEFAULT_LEARNING_RATE,
            optimizer: OptimizerKind::AdamW,
            weight_decay: 0.01,
            momentum: 0.9,
            schedule: ScheduleKind::Constant,
            warmup_steps: 0,
            max_grad_norm: None,
            label_smoothing: 0.0,
            class_weight: ClassWeight::None,
            patience: None,
            alpha: 1.0,
            c: 1.0,
            n_layer: 4,
            n_head: 4,
            n_embd: 128,
            block_size: 64,
            max_steps: 2000,
            eval_interval: 250,
            eval_iters: 20,
            tokenizer: TokenizerKind::Char,
            max_time: None,
            seed: 0,
        }
    }
}

impl FitConfig {
    /// The defaults for a model kind: [`FitConfig::default`] for the tabular kinds; for `gpt`
    /// nanoGPT's CPU recipe for tiny Shakespeare (README: 4 layers, 4 heads, 128 wide, block
    /// 64, batch 12, learning rate 1e-3, 2000 steps, no dropout) with its optimizer settings
    /// (AdamW, weight decay 0.1 on matrices only, warmup 100 steps then cosine decay, gradient
    /// clipping at 1.0).
    pub fn defaults(model: ModelKind) -> FitConfig {
        let base = FitConfig {
            model,
            ..FitConfig::default()
        };
        match model {
            ModelKind::Gpt => FitConfig {
                batch_size: 12,
                learning_rate: 1e-3,
                weight_decay: 0.1,
                schedule: ScheduleKind::Cosine,
                warmup_steps: 100,
                max_grad_norm: Some(1.0),
                ..base
            },
            _ => base,
        }
    }

    /// True when this configuration runs the epoch loop (an MLP, a GPT, or a linear kind with
    /// the gradient-descent solver); false for a closed-form or L-BFGS fit.
    pub fn uses_epoch_loop(&self) -> bool {
        matches!(self.model, ModelKind::Mlp | ModelKind::Gpt)
            || self.solver == Solver::GradientDescent
    }

    /// Checks every setting this configuration uses.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the first invalid parameter (as the field is named
    /// here: `batch_size`, `C`, ...), its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        let finite_at_least = |name: &str, v: f64, min: f64, strict: bool| -> Result<()> {
            let ok = v.is_finite() && if strict { v > min } else { v >= min };
            if ok {
                Ok(())
            } else {
                let op = if strict { ">" } else { ">=" };
                Err(Error::invalid(name, v, &format!("finite and {op} {min}")))
            }
        };
        match self.model {
            ModelKind::Ridge if !self.uses_epoch_loop() => {
                finite_at_least("alpha", self.alpha, 0.0, false)?
            }
            ModelKind::Logistic | ModelKind::Softmax if !self.uses_epoch_loop() => {
                finite_at_least("C", self.c, 0.0, true)?
            }
            _ => {}
        }
        if !self.uses_epoch_loop() {
            return Ok(());
        }
        if self.model == ModelKind::Mlp {
            if self.hidden.contains(&0) {
                return Err(Error::invalid(
                    "hidden",
                    format!("{:?}", self.hidden),
                    "widths >= 1",
                ));
            }
            if !(0.0..1.0).contains(&self.dropout) {
                return Err(Error::invalid("dropout", self.dropout, "[0, 1)"));
            }
        }
        if self.model == ModelKind::Gpt {
            for (name, v) in [
                ("n_layer", self.n_layer),
                ("n_head", self.n_head),
                ("n_embd", self.n_embd),
                ("block_size", self.block_size),
                ("max_steps", self.max_steps),
                ("eval_interval", self.eval_interval),
                ("eval_iters", self.eval_iters),
            ] {
                if v == 0 {
                    return Err(Error::invalid(name, 0, ">= 1"));
                }
            }
            if self.n_embd % self.n_head != 0 {
                return Err(Error::invalid(
                    "n_embd",
                    self.n_embd,
                    &format!("a multiple of n_head ({})", self.n_head),
                ));
            }
            if !(0.0..1.0).contains(&self.dropout) {
                return Err(Error::invalid("dropout", self.dropout, "[0, 1)"));
            }
        }
        if let Some(t) = self.max_time {
            finite_at_least("max_time", t, 0.0, true)?;
        }
        if self.epochs == 0 {
            return Err(Error::invalid("epochs", 0, ">= 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::invalid("batch_size", 0, ">= 1"));
        }
        if self.gradient_accumulation_steps == 0 {
            return Err(Error::invalid("gradient_accumulation_steps", 0, ">= 1"));
        }
        finite_at_least("learning_rate", self.learning_rate, 0.0, true)?;
        finite_at_least("weight_decay", self.weight_decay, 0.0, false)?;
        if self.optimizer == OptimizerKind::Sgd && !(0.0..1.0).contains(&self.momentum) {
            return Err(Error::invalid("momentum", self.momentum, "[0, 1)"));
        }
        if self.patience == Some(0) {
            return Err(Error::invalid(
                "patience",
                0,
                ">= 1 (0 would stop after the first epoch)",
            ));
        }
        Ok(())
    }

    /// The network this configuration builds on `data`: the MLP's hidden layers for `mlp`, a
    /// single Linear layer (no hidden layers) for the linear kinds; one output per class, or one
    /// for a regression.
    pub fn network(&self, data: &FitData) -> MlpConfig {
        let output_dim = data.classes().map_or(1, |c| c.len());
        let (hidden, activation, dropout) = if self.model == ModelKind::Mlp {
            (self.hidden.clone(), self.activation, self.dropout)
        } else {
            (vec![], Activation::Relu, 0.0)
        };
        MlpConfig {
            input_dim: data.n_features(),
            hidden,
            output_dim,
            activation,
            dropout,
        }
    }

    /// The settings this configuration ignores on `data`, each with the reason, as
    /// `(setting, reason)` (`("hidden", "with `model` linear (closed-form solver)")`):
    /// a front end warns about those the user set explicitly (a default that does not apply
    /// stays quiet). Settings are named as the fields of [`FitConfig`] (`C` for `c`) plus the
    /// fit option `resume`; names inside a reason are in backquotes, so a front end can put
    /// its own words (a flag) in their place. Each setting is listed once, with the first
    /// reason that applies.
    pub fn unused_settings(&self, data: &FitData) -> Vec<(&'static str, String)> {
        self.unused_settings_on(&data.shape())
    }

    /// [`FitConfig::unused_settings`] for data described by `data` (a table or a text).
    pub fn unused_settings_on(&self, data: &DataShape) -> Vec<(&'static str, String)> {
        let model = self.model;
        let exact = !self.uses_epoch_loop();
        let exact_why = format!(
            "with `model` {model} ({})",
            match model {
                ModelKind::Linear | ModelKind::Ridge => "closed-form solver",
                _ => "L-BFGS solver",
            }
        );
        let mut out: Vec<(&'static str, String)> = Vec::new();
        if model == ModelKind::Gpt {
            out.push((
                "solver",
                "with `model` gpt (always trained by gradient descent)".into(),
            ));
            for s in ["hidden", "activation"] {
                out.push((
                    s,
                    "with `model` gpt (a transformer: `n_layer`, `n_head`, `n_embd`)".into(),
                ));
            }
            out.push((
                "epochs",
                "with `model` gpt (it trains for `max_steps`)".into(),
            ));
            out.push(("class_weight", "with `model` gpt (a language model)".into()));
        } else {
            for s in GPT_ONLY {
                out.push((s, format!("with `model` {model} (gpt only)")));
            }
        }
        if model == ModelKind::Mlp {
            out.push((
                "solver",
                "with `model` mlp (always trained by gradient descent)".into(),
            ));
        } else if model != ModelKind::Gpt {
            let why = if exact {
                exact_why.clone()
            } else {
                format!("with `model` {model} `solver` gd (no hidden layers)")
            };
            for s in ["hidden", "activation", "dropout"] {
                out.push((s, why.clone()));
            }
        }
        if exact {
            for s in [
                "epochs",
                "batch_size",
                "gradient_accumulation_steps",
                "learning_rate",
                "optimizer",
                "weight_decay",
                "momentum",
                "schedule",
                "warmup_steps",
                "max_grad_norm",
                "label_smoothing",
                "class_weight",
                "patience",
                "max_time",
                "resume",
            ] {
                out.push((s, exact_why.clone()));
            }
        } else {
            if self.optimizer != OptimizerKind::Sgd {
                out.push((
                    "momentum",
                    format!("with `optimizer` {} (sgd only)", self.optimizer),
                ));
            }
            if self.schedule == ScheduleKind::Constant {
                out.push((
                    "warmup_steps",
                    "with `schedule` constant (cosine only)".into(),
                ));
            }
            if !data.validation {
                let size = data.val_size;
                out.push((
                    "patience",
                    if size.is_none() {
                        format!("with `val_size` {size} (no validation set)")
                    } else {
                        format!("with `val_size` {size} (the validation split has no rows)")
                    },
                ));
            }
            if !data.classification {
                for s in ["label_smoothing", "class_weight"] {
                    out.push((
                        s,
                        "with a regression target (mean squared error loss)".into(),
                    ));
                }
            }
        }
        let linear_only = |kinds: &[ModelKind], exact_only: &str, only: &str| match (
            kinds.contains(&model),
            exact,
        ) {
            (true, true) => None,
            (true, false) => Some(format!("with `solver` gd ({exact_only})")),
            (false, _) => Some(format!("with `model` {model} ({only})")),
        };
        if let Some(why) = linear_only(
            &[ModelKind::Ridge],
            "closed-form ridge only; use `weight_decay`",
            "ridge only",
        ) {
            out.push(("alpha", why));
        }
        if let Some(why) = linear_only(
            &[ModelKind::Logistic, ModelKind::Softmax],
            "L-BFGS only; use `weight_decay`",
            "logistic and softmax only",
        ) {
            out.push(("C", why));
        }
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|(s, _)| seen.insert(*s));
        out
    }

    /// The optimizer configuration of the epoch loop.
    pub fn optimizer_config(&self) -> OptimizerConfig {
        match self.optimizer {
            OptimizerKind::Sgd => OptimizerConfig::Sgd(SgdConfig {
                learning_rate: self.learning_rate,
                momentum: self.momentum,
                weight_decay: self.weight_decay,
                ..SgdConfig::default()
            }),
            OptimizerKind::Adam => OptimizerConfig::Adam(AdamConfig {
                learning_rate: self.learning_rate,
                weight_decay: self.weight_decay,
                ..AdamConfig::default()
            }),
            OptimizerKind::AdamW => OptimizerConfig::AdamW(AdamWConfig {
                learning_rate: self.learning_rate,
                weight_decay: self.weight_decay,
                ..AdamWConfig::default()
            }),
        }
    }

    /// The loop's configuration for `train_rows` training rows (the cosine schedule spans all
    /// steps of all epochs).
    pub fn train_config(&self, train_rows: usize) -> TrainConfig {
        // A language model's "epoch" is `eval_interval` random batches (nanoGPT's loop);
        // `max_steps` is rounded up to whole evaluation rounds.
        let (epochs, steps_per_epoch) = if self.model == ModelKind::Gpt {
            let interval = self.eval_interval.max(1);
            (self.max_steps.div_ceil(interval), Some(interval))
        } else {
            (self.epochs, None)
        };
        let total_steps = match steps_per_epoch {
            Some(s) => epochs * s,
            None => {
                let step_rows = self.batch_size.max(1) * self.gradient_accumulation_steps.max(1);
                train_rows.div_ceil(step_rows) * epochs
            }
        };
        let schedule = match self.schedule {
            ScheduleKind::Constant => LrSchedule::Constant,
            ScheduleKind::Cosine => LrSchedule::CosineWithWarmup {
                warmup_steps: self.warmup_steps,
                total_steps: total_steps as u64,
                min_lr: 0.0,
            },
        };
        TrainConfig {
            epochs,
            batch_size: self.batch_size,
            gradient_accumulation_steps: self.gradient_accumulation_steps,
            learning_rate: self.learning_rate,
            schedule,
            patience: self.patience,
            max_grad_norm: self.max_grad_norm,
            label_smoothing: self.label_smoothing,
            class_weight: None,
            steps_per_epoch,
            max_seconds: self.max_time,
            seed: self.seed,
        }
    }

    /// This configuration's part of [`FitConfig::resume_settings`]: every field but those a
    /// continued run may change (`epochs`, `patience`, `learning_rate`, `max_steps`,
    /// `max_time`), values as text.
    pub(crate) fn own_resume_settings(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        add_settings(&mut out, serde_json::to_value(self).unwrap_or_default());
        for k in [
            "epochs",
            "patience",
            "learning_rate",
            "max_steps",
            "max_time",
        ] {
            out.remove(k);
        }
        out
    }

    /// The settings a resumed run must repeat, by name, for [`Checkpointer`]: every field but
    /// `epochs`, `patience` and `learning_rate` (more epochs, another patience and a lower
    /// learning rate after a divergence are how a run is continued), plus the data's source and
    /// split options. Values are JSON (strings unquoted).
    pub fn resume_settings(&self, source: &Source, options: &Options) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        add_settings(&mut out, serde_json::to_value(options).unwrap_or_default());
        // The split's seed is the fit's seed unless the caller chose another one.
        out.remove("seed");
        if options.seed != self.seed {
            out.insert("split_seed".into(), options.seed.to_string());
        }
        out.extend(self.own_resume_settings());
        let source = match source {
            Source::Bundled(n) => format!("dataset {n}"),
            Source::Csv { path, target } => {
                format!("file {} target {target}", path.display())
            }
        };
        out.insert("source".into(), source);
        out
    }
}

/// Adds the fields of the JSON object `v` to `out` as text: strings unquoted, a list of names
/// (`drop`, `features`) joined by commas as the user typed it, `null` as `(none)`.
fn add_settings(out: &mut BTreeMap<String, String>, v: serde_json::Value) {
    if let serde_json::Value::Object(m) = v {
        for (k, v) in m {
            let s = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(a) if a.iter().all(|x| x.is_string()) => a
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                serde_json::Value::Null => "(none)".into(),
                v => v.to_string(),
            };
            out.insert(k, s);
        }
    }
}
