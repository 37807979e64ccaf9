//! What `learnable train` shows while the loop runs: one result line per epoch on stdout (so
//! `learnable train > train.log` keeps them) and, when stderr is a terminal, a progress bar
//! there (never in a log file).

use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use learnable::ParamStore;
use learnable::optim::Optimizer;
use learnable::train::{Observer, TrainState};

/// The loop's observer for the terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
    metric: &'static str,
    epochs: usize,
    /// A language model's rounds: `(steps per round, max steps, tokens per step)`; lines then
    /// name steps and tokens per second instead of epochs.
    steps: Option<(usize, usize, usize)>,
    legend_shown: bool,
    checkpoint: PathBuf,
}

impl Progress {
    /// A progress display for `epochs` epochs with the metric column `metric` (`accuracy`,
    /// `r2`); `steps` for a language model (see the field); `checkpoint` is named when a run
    /// resumes. `quiet`: no bar.
    pub fn new(
        metric: &'static str,
        epochs: usize,
        steps: Option<(usize, usize, usize)>,
        checkpoint: PathBuf,
        quiet: bool,
    ) -> Self {
        let bar = (std::io::stderr().is_terminal() && !quiet).then(|| {
            let b = ProgressBar::with_draw_target(Some(1), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        Progress {
            bar,
            metric,
            epochs,
            steps,
            legend_shown: false,
            checkpoint,
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

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

    /// `epoch  3/40  loss 0.1234  accuracy 0.9700 | val loss 0.1500  accuracy 0.9600 *  lr
    /// 1.0e-3  0.2s`, at most 100 columns; the `*` (a new best validation loss) is explained
    /// once, before the first line that can have it.
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
        let metric = self.metric;
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
        if let Some((per_round, max_steps, tokens_per_step)) = self.steps {
            let step = (r.epoch * per_round).min(max_steps);
            let width = max_steps.to_string().len();
            let tps = (per_round * tokens_per_step) as f64 / r.seconds.max(1e-9);
            self.println(&format!(
                "step {step:>width$}/{max_steps}  loss {:.4}{val}  lr {:.1e}  {:.0} tok/s  {:.1}s",
                r.train_loss, r.learning_rate, tps, r.seconds
            ));
            return Ok(());
        }
        let width = self.epochs.to_string().len();
        self.println(&format!(
            "epoch {:>width$}/{}  loss {:.4}  {metric} {:.4}{val}  lr {:.1e}  {:.1}s",
            r.epoch, self.epochs, r.train_loss, r.train_metric, r.learning_rate, r.seconds
        ));
        Ok(())
    }
}
