//! The `learnable` command: a thin binary over the `learnable` library.
//! Each subcommand lives in its own file under `cmd/`. `main` parses, runs, prints the error
//! chain on one line and picks the exit code (0 ok, 1 error, 2 usage error from clap).

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod cmd;
mod flags;
mod prep;
mod progress;

/// learnable: train, evaluate and inspect machine-learning models.
#[derive(Parser)]
#[command(name = "learnable", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on a bundled dataset or a CSV file.
    Train(cmd::train::Args),
    /// Evaluate a trained model on a dataset or CSV file.
    Eval(cmd::eval::Args),
    /// Write predictions (and probabilities or logits) of a trained model as CSV.
    Predict(cmd::predict::Args),
    /// Generate text with a trained language model (--model gpt), streamed as it is drawn.
    Generate(cmd::generate::Args),
    /// List the bundled datasets.
    Datasets(cmd::datasets::Args),
    /// Show logits, softmax, temperature and sampling for a model's output or typed values.
    Logits(cmd::logits::Args),
    /// Count parameters and memory of a model, preset, config.json or safetensors file.
    Params(cmd::params::Args),
    /// Training and validation scores (k-fold) as one setting changes, with a diagnosis:
    /// underfitting, overfitting or the sweet spot.
    ValidationCurve(cmd::curve::ValidationArgs),
    /// Training and validation scores (k-fold) as the training set grows, with a diagnosis.
    LearningCurve(cmd::curve::LearningArgs),
}

/// Restore the default SIGPIPE disposition so that `learnable ... | head` ends quietly when the
/// reader closes the pipe, as other Unix tools (ripgrep, coreutils) do. Rust ignores SIGPIPE by
/// default, which turns every later write into an `EPIPE` error and makes `println!` panic.
fn reset_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at the start of `main`, before any thread is spawned; `signal` with
    // `SIG_DFL` only changes this process's disposition for SIGPIPE and touches no Rust state.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() {
    reset_sigpipe();
    // `--version` also names the kernel path this process takes (benchmarks print it).
    // (clap wants a 'static str; leaked once per process.)
    let version: &'static str = Box::leak(
        format!(
            "{} (kernels: {})",
            env!("CARGO_PKG_VERSION"),
            learnable::kernels::isa::active()
        )
        .into_boxed_str(),
    );
    let matches = Cli::command()
        .version(version)
        .try_get_matches()
        .unwrap_or_else(|e| {
            // A whole-number flag out of range is a range error like the library's (exit 1, the
            // flag and its range named); every other clap error keeps clap's text and exit code.
            if let Some(v) = flags::flag_value_error(&e) {
                eprintln!("error: {v}");
                std::process::exit(1);
            }
            e.exit()
        });
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // The flags the user typed in the subcommand (not those left at their default).
    let given = matches
        .subcommand()
        .map(|(_, m)| flags::Given::from_matches(m))
        .unwrap_or_default();
    let result = match cli.command {
        Command::Train(a) => cmd::train::run(a, &given),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Predict(a) => cmd::predict::run(a, &given),
        Command::Generate(a) => cmd::generate::run(a),
        Command::Datasets(a) => cmd::datasets::run(a),
        Command::Logits(a) => cmd::logits::run(a),
        Command::Params(a) => cmd::params::run(a),
        Command::ValidationCurve(a) => cmd::curve::run_validation(a),
        Command::LearningCurve(a) => cmd::curve::run_learning(a),
    };
    if let Err(e) = result {
        // Settings are named by their flag only where this subcommand has that flag.
        let cli = Cli::command();
        let sub = matches
            .subcommand_name()
            .and_then(|name| cli.find_subcommand(name));
        eprintln!("error: {}", flags::error_message(&e, sub));
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_of_the_setting_table_is_a_flag_of_some_subcommand() {
        // The table in flags.rs is written by hand; a renamed flag must not leave it stale.
        let cli = Cli::command();
        let longs: Vec<String> = cli
            .get_subcommands()
            .flat_map(|s| s.get_arguments())
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        for (setting, flag) in flags::SETTING_FLAGS {
            for f in flag.split(" + ") {
                assert!(
                    longs.iter().any(|l| l == f),
                    "{setting} -> {f}: no such flag"
                );
            }
        }
    }
}
