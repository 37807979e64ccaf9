//! The command line's side of library settings: which flag sets which setting (so an error
//! names the `--batch-size` the user typed, not the library's `batch_size`), and which flags
//! the user gave explicitly (so an option that does not apply can be warned about, while a
//! default that does not apply stays quiet).

use std::collections::BTreeSet;

use clap::ArgMatches;
use clap::parser::ValueSource;

/// Library setting name (as in `learnable::Error::InvalidArgument::name` and
/// `SamplingError::InvalidParameter::name`) -> the flag that sets it, for every setting that has
/// a flag in some subcommand. Settings without a flag (`rows`, `eps`, ...) keep their name.
pub const SETTING_FLAGS: &[(&str, &str)] = &[
    // learnable-data (prep.rs: DataArgs)
    ("dataset", "--dataset"),
    ("task", "--task"),
    ("impute", "--impute"),
    ("max_categories", "--max-categories"),
    ("features", "--features"),
    ("drop", "--drop"),
    ("categorical", "--categorical"),
    ("numeric", "--numeric"),
    ("val_fraction", "--val-fraction"),
    ("test_fraction", "--test-fraction"),
    (
        "val_fraction + test_fraction",
        "--val-fraction + --test-fraction",
    ),
    ("val_size", "--val-size"),
    ("test_size", "--test-size"),
    ("val_size + test_size", "--val-size + --test-size"),
    // train: model, optimizer, loop (cmd/train.rs)
    ("hidden", "--hidden"),
    ("activation", "--activation"),
    ("dropout", "--dropout"),
    ("epochs", "--epochs"),
    ("batch_size", "--batch-size"),
    (
        "gradient_accumulation_steps",
        "--gradient-accumulation-steps",
    ),
    ("learning_rate", "--learning-rate"),
    ("weight_decay", "--weight-decay"),
    ("momentum", "--momentum"),
    ("warmup_steps", "--warmup-steps"),
    ("max_grad_norm", "--max-grad-norm"),
    ("max_norm", "--max-grad-norm"),
    ("label_smoothing", "--label-smoothing"),
    ("class_weight", "--class-weight"),
    ("n_layer", "--n-layer"),
    ("n_head", "--n-head"),
    ("n_embd", "--n-embd"),
    ("block_size", "--block-size"),
    ("max_steps", "--max-steps"),
    ("eval_interval", "--eval-interval"),
    ("eval_iters", "--eval-iters"),
    ("tokenizer", "--tokenizer"),
    ("max_time", "--max-time"),
    ("prompt", "--prompt"),
    ("max_new_tokens", "--max-new-tokens"),
    ("patience", "--patience"),
    ("alpha", "--alpha"),
    ("C", "--C"),
    ("model", "--model"),
    ("solver", "--solver"),
    ("optimizer", "--optimizer"),
    ("schedule", "--schedule"),
    ("seed", "--seed"),
    ("resume", "--resume"),
    ("split_seed", "--seed"),
    ("standardize", "--no-standardize"),
    ("source", "--dataset"),
    ("model directory", "--model"),
    // predict and logits: sampling (learnable::sampling)
    ("temperature", "--temperature"),
    ("top_k", "--top-k"),
    ("top_p", "--top-p"),
    ("min_p", "--min-p"),
    ("typical_p", "--typical-p"),
    ("epsilon", "--epsilon"),
    ("repetition_penalty", "--repetition-penalty"),
    ("min_tokens_to_keep", "--min-tokens-to-keep"),
];

/// The flag that sets the library setting `name`, if one does.
pub fn flag_for(name: &str) -> Option<&'static str> {
    SETTING_FLAGS
        .iter()
        .find(|(setting, _)| *setting == name)
        .map(|(_, flag)| *flag)
}

/// An invalid setting as the user sees it: `--batch-size 0 is out of range: allowed >= 1`, with
/// the setting's name replaced by its flag (also inside `allowed`, e.g. `0 <= --top-p <= 1`).
/// `None` when the setting has no flag (the library's message is kept).
pub fn invalid_flag_message(name: &str, value: &str, allowed: &str) -> Option<String> {
    let flag = flag_for(name)?;
    // Only multi-word names are replaced inside `allowed`: a short one such as `C` could be part
    // of another word.
    let allowed = if name.contains('_') {
        allowed.replace(name, flag)
    } else {
        allowed.to_string()
    };
    let what = if value.trim().parse::<f64>().is_ok() {
        "is out of range"
    } else {
        "is not valid"
    };
    Some(format!("{flag} {value} {what}: allowed {allowed}"))
}

/// The message of one error of the chain, with a library setting named by its flag when the
/// error is an invalid setting that has one and `command` (the subcommand that ran; `None`:
/// any) defines that flag. A setting the subcommand has no flag for came from somewhere else (a
/// model's config.json) and keeps the library's words rather than naming a flag the user never
/// had.
pub fn cause_message(
    cause: &(dyn std::error::Error + 'static),
    command: Option<&clap::Command>,
) -> String {
    use learnable::sampling::SamplingError;
    if let Some(learnable::Error::TooManyCategories {
        path,
        column,
        distinct,
        rows,
        max,
    }) = cause.downcast_ref::<learnable::Error>()
    {
        return format!(
            "invalid file {path}: column '{column}' has {distinct} distinct values in {rows} \
             rows, more than the {max} categories one-hot encoding allows (--max-categories); it \
             looks like an identifier or free text: leave it out with --drop {}",
            shell_word(column)
        );
    }
    if let Some(e @ learnable::Error::OnlyCheckpoint { .. }) =
        cause.downcast_ref::<learnable::Error>()
    {
        return format!(
            "{e}: run the same `learnable train` command again with --resume (or, if it is still \
             running, wait for it to finish)"
        );
    }
    let invalid = match cause.downcast_ref::<learnable::Error>() {
        Some(learnable::Error::InvalidArgument {
            name,
            value,
            allowed,
        }) => Some((name.as_str(), value.as_str(), allowed.as_str())),
        Some(learnable::Error::Sampling(SamplingError::InvalidParameter {
            name,
            value,
            allowed,
        })) => Some((*name, value.as_str(), *allowed)),
        _ => match cause.downcast_ref::<SamplingError>() {
            Some(SamplingError::InvalidParameter {
                name,
                value,
                allowed,
            }) => Some((*name, value.as_str(), *allowed)),
            _ => None,
        },
    };
    let defined = |name: &str| match (command, flag_for(name)) {
        (None, _) => true,
        (Some(cmd), Some(flag)) => flag.split(" + ").all(|f| {
            cmd.get_arguments().any(|a| {
                a.get_long()
                    .is_some_and(|l| f.strip_prefix("--") == Some(l))
            })
        }),
        (Some(_), None) => false,
    };
    let msg = invalid
        .filter(|(n, _, _)| defined(n))
        .and_then(|(n, v, a)| invalid_flag_message(n, v, a))
        .unwrap_or_else(|| cause.to_string());
    if cause.downcast_ref::<learnable::Error>().is_some() {
        options_as_flags(&msg)
    } else {
        msg
    }
}

/// A library message with each option named as the library writes it, ``option `NAME` `` or
/// ``the `NAME` option``, replaced by the flag that sets it (`--NAME`), for the settings of
/// [`SETTING_FLAGS`]; other text is kept.
pub fn options_as_flags(msg: &str) -> String {
    let mut out = msg.to_string();
    for (setting, flag) in SETTING_FLAGS {
        for form in [
            format!("option `{setting}`"),
            format!("the `{setting}` option"),
        ] {
            if out.contains(&form) {
                out = out.replace(&form, flag);
            }
        }
        let quoted = format!("`{setting}`");
        if out.contains(&quoted) {
            out = out.replace(&quoted, flag);
        }
    }
    out
}

/// `name` as one shell word: unchanged when it holds only letters, digits and `_-./:@+%`,
/// else in single quotes (a `'` written as `'\''`).
pub fn shell_word(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@+%".contains(c));
    if plain {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "'\\''"))
    }
}

/// The error chain on one line, causes joined by `: `, skipping a cause already spelled out in
/// the message so far (anyhow contexts that embed their source, io errors wrapped with the
/// path), so nothing is printed twice. An invalid setting is named by its flag, also where an
/// earlier context embedded the library's wording.
///
/// `command` is the subcommand that ran: only the flags it defines are named (see
/// [`cause_message`]), so that `learnable eval` on a config.json holding `"dropout": 2.0` does
/// not blame a `--dropout` flag that eval does not have.
pub fn error_message(e: &anyhow::Error, command: Option<&clap::Command>) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let (plain, shown) = (cause.to_string(), cause_message(cause, command));
        if msg.is_empty() {
            msg = shown;
        } else if msg.contains(&plain) {
            msg = msg.replace(&plain, &shown);
        } else if !msg.contains(&shown) {
            msg = format!("{msg}: {shown}");
        }
    }
    msg
}

/// A flag value that is not a whole number or is outside its range, as the user sees it:
/// `--epochs -1 is out of range: allowed >= 1`. [`Count`] returns it (inside clap's error) and
/// `main` prints it as `error: MESSAGE` with exit code 1, as every other range error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagValueError(pub String);

impl std::fmt::Display for FlagValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FlagValueError {}

/// The [`FlagValueError`] inside a clap error, if a [`Count`] parser raised it.
pub fn flag_value_error(e: &clap::Error) -> Option<&FlagValueError> {
    use std::error::Error as _;
    e.source()?.downcast_ref::<FlagValueError>()
}

/// Unsigned integer types a [`Count`] flag can hold.
pub trait CountInt: TryFrom<u64> + Clone + Send + Sync + 'static {
    /// The type's largest value.
    const MAX: u64;
}

impl CountInt for u32 {
    const MAX: u64 = u32::MAX as u64;
}

impl CountInt for u64 {
    const MAX: u64 = u64::MAX;
}

impl CountInt for usize {
    const MAX: u64 = usize::MAX as u64;
}

/// A clap value parser for whole-number flags (counts, sizes, seeds, indices): the value must
/// be a whole number in `min..=max`. Negative numbers, fractions and values beyond the type are
/// reported in the same words as the library's range errors, naming the flag and its range:
/// `--epochs -1 is out of range: allowed >= 1`, `--draw 20000000 is out of range: allowed
/// 0 <= --draw <= 10000000`, `--seed x is not valid: allowed a whole number >= 0`.
/// Give the argument `allow_negative_numbers = true` too, so that clap passes `-1` to the
/// parser instead of reading it as a flag.
#[derive(Clone, Debug)]
pub struct Count<T> {
    min: u64,
    max: u64,
    _type: std::marker::PhantomData<fn() -> T>,
}

/// A [`Count`] parser for values `>= min` (up to the type's largest value).
pub fn count<T: CountInt>(min: u64) -> Count<T> {
    count_in(min, T::MAX)
}

/// A [`Count`] parser for values in `min..=max` (`max` at most the type's largest value).
pub fn count_in<T: CountInt>(min: u64, max: u64) -> Count<T> {
    Count {
        min,
        max: max.min(T::MAX),
        _type: std::marker::PhantomData,
    }
}

impl<T: CountInt> Count<T> {
    /// Checks `value` of `flag` (e.g. `--epochs`).
    pub fn check(&self, flag: &str, value: &str) -> Result<T, FlagValueError> {
        let t = value.trim();
        let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
        let whole = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        // Beyond i128 (39 digits or more) is out of range for every type here.
        let parsed = t.parse::<i128>().ok();
        let above = parsed.is_none_or(|v| v > self.max as i128);
        let allowed = if self.max < T::MAX || (whole && above && !t.starts_with('-')) {
            format!("{} <= {flag} <= {}", self.min, self.max)
        } else {
            format!(">= {}", self.min)
        };
        if !whole {
            return Err(FlagValueError(format!(
                "{flag} {value} is not valid: allowed a whole number {allowed}"
            )));
        }
        match parsed {
            Some(v) if v >= self.min as i128 && v <= self.max as i128 => T::try_from(v as u64)
                .map_err(|_| FlagValueError(format!("{flag} {value} is out of range"))),
            _ => Err(FlagValueError(format!(
                "{flag} {value} is out of range: allowed {allowed}"
            ))),
        }
    }
}

impl<T: CountInt> clap::builder::TypedValueParser for Count<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let flag = arg
            .and_then(|a| a.get_long())
            .map(|l| format!("--{l}"))
            .unwrap_or_else(|| "value".to_string());
        let this = self.clone();
        // clap's parser for a closure keeps the closure's error as the source of its own, which
        // is how `main` finds the FlagValueError again.
        let check = move |s: &str| this.check(&flag, s);
        clap::builder::TypedValueParser::parse_ref(&check, cmd, arg, value)
    }
}

/// A clap value parser for a library [`learnable::choice::Choice`] setting (`--model`,
/// `--optimizer`, ...): its names are the possible values, each with its description in
/// `--help`, so the command line lists exactly the library's table.
pub fn choice<T: learnable::choice::Choice + Clone + Send + Sync>()
-> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        T::ALL
            .iter()
            .map(|v| PossibleValue::new(v.name()).help(v.description())),
    )
    .try_map(|s| learnable::choice::parse::<T>(&s))
}

/// A training error as the user should read it: a divergence names the flags to change and
/// where the last good checkpoint (`ckpt`) is; a resume mismatch names each differing flag.
pub fn training_error(e: learnable::Error, ckpt: &std::path::Path) -> anyhow::Error {
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
                None => "no checkpoint was written (training stopped in its first epoch)".into(),
            };
            anyhow::anyhow!("{msg}; {note}")
        }
        learnable::Error::ResumeMismatch { dir, differences } => {
            let diffs: Vec<String> = differences
                .iter()
                .map(|(k, a, b)| format!("{}: checkpoint {a}, now {b}", flag_for(k).unwrap_or(k)))
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

/// The arguments the user typed on the command line (clap ids: field names such as
/// `batch_size`), as opposed to those left at their default.
#[derive(Clone, Debug, Default)]
pub struct Given(BTreeSet<String>);

impl Given {
    /// The ids of `matches` whose value came from the command line (or the environment).
    pub fn from_matches(matches: &ArgMatches) -> Self {
        Given(
            matches
                .ids()
                .map(|id| id.as_str())
                .filter(|id| {
                    matches!(
                        matches.value_source(id),
                        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                    )
                })
                .map(str::to_string)
                .collect(),
        )
    }

    /// Whether the argument with clap id `id` was typed.
    pub fn has(&self, id: &str) -> bool {
        self.0.contains(id)
    }
}

/// Prints `warning: LINE` on stderr for each line.
pub fn print_warnings(lines: &[String]) {
    for l in lines {
        eprintln!("warning: {l}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_setting_is_named_by_its_flag_and_others_keep_their_name() {
        // Expected strings written by hand from the format documented on invalid_flag_message.
        assert_eq!(
            invalid_flag_message("batch_size", "0", ">= 1").as_deref(),
            Some("--batch-size 0 is out of range: allowed >= 1")
        );
        assert_eq!(
            invalid_flag_message("top_p", "2", "0 <= top_p <= 1").as_deref(),
            Some("--top-p 2 is out of range: allowed 0 <= --top-p <= 1")
        );
        assert_eq!(
            invalid_flag_message("activation", "foo", "relu, gelu, tanh or sigmoid").as_deref(),
            Some("--activation foo is not valid: allowed relu, gelu, tanh or sigmoid")
        );
        assert_eq!(invalid_flag_message("rows", "0", ">= 1"), None);
    }

    #[test]
    fn library_option_names_become_flags_and_shell_words_are_quoted_when_needed() {
        // Expected strings written by hand from the docs of options_as_flags and shell_word.
        assert_eq!(
            options_as_flags(
                "declare it categorical (option `categorical`), or leave it out with the `drop` \
                 option; among `features` when given; `other` stays"
            ),
            "declare it categorical (--categorical), or leave it out with --drop; among \
             --features when given; `other` stays"
        );
        assert_eq!(shell_word("id"), "id");
        assert_eq!(shell_word("user id"), "'user id'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        let e = anyhow::Error::new(learnable::Error::TooManyCategories {
            path: "f.csv".into(),
            column: "name".into(),
            distinct: 5000,
            rows: 6000,
            max: 1000,
        });
        assert_eq!(
            error_message(&e, None),
            "invalid file f.csv: column 'name' has 5000 distinct values in 6000 rows, more than \
             the 1000 categories one-hot encoding allows (--max-categories); it looks like an \
             identifier or free text: leave it out with --drop name"
        );
    }

    #[test]
    fn a_context_that_embeds_the_library_message_gets_the_flag_too() {
        let inner = learnable::Error::invalid("learning_rate", -1, "finite and > 0");
        let e = anyhow::anyhow!("training failed: {inner}").context("train");
        // anyhow's chain here is "train" then "training failed: ..." (a plain message, no
        // downcast): the library wording stays where the error is not typed.
        assert!(error_message(&e, None).contains("learning_rate"));
        let typed = anyhow::Error::new(inner).context("--model mlp");
        assert_eq!(
            error_message(&typed, None),
            "--model mlp: --learning-rate -1 is out of range: allowed finite and > 0"
        );
    }

    #[test]
    fn a_count_flag_names_itself_and_its_range() {
        // Expected strings written by hand from the format documented on Count.
        let epochs = count::<usize>(1);
        assert_eq!(epochs.check("--epochs", "40"), Ok(40));
        let msg = |r: Result<usize, FlagValueError>| r.unwrap_err().0;
        assert_eq!(
            msg(epochs.check("--epochs", "-1")),
            "--epochs -1 is out of range: allowed >= 1"
        );
        assert_eq!(
            msg(epochs.check("--epochs", "0")),
            "--epochs 0 is out of range: allowed >= 1"
        );
        assert_eq!(
            msg(epochs.check("--epochs", "1.5")),
            "--epochs 1.5 is not valid: allowed a whole number >= 1"
        );
        assert_eq!(
            msg(epochs.check("--epochs", "")),
            "--epochs  is not valid: allowed a whole number >= 1"
        );
        // Above the type: the upper bound is named (usize::MAX on a 64-bit target).
        assert_eq!(
            msg(epochs.check("--epochs", "99999999999999999999999999999999999999999")),
            format!(
                "--epochs 99999999999999999999999999999999999999999 is out of range: allowed \
                 1 <= --epochs <= {}",
                usize::MAX
            )
        );
        let draw = count_in::<u64>(0, 10_000_000);
        assert_eq!(draw.check("--draw", "10000000"), Ok(10_000_000));
        assert_eq!(draw.check("--draw", "+0"), Ok(0));
        assert_eq!(
            draw.check("--draw", "18446744073709551615").unwrap_err().0,
            "--draw 18446744073709551615 is out of range: allowed 0 <= --draw <= 10000000"
        );
        assert_eq!(
            draw.check("--draw", "-1").unwrap_err().0,
            "--draw -1 is out of range: allowed 0 <= --draw <= 10000000"
        );
    }

    #[test]
    fn a_setting_is_named_by_a_flag_only_where_the_subcommand_has_that_flag() {
        // `eval` has no --dropout: an invalid dropout there came from a model's config.json.
        let eval = clap::Command::new("eval").arg(clap::Arg::new("model").long("model"));
        let train = clap::Command::new("train").arg(clap::Arg::new("dropout").long("dropout"));
        let e = || anyhow::Error::new(learnable::Error::invalid("dropout", 2, "[0, 1)"));
        assert_eq!(
            error_message(&e(), Some(&eval)),
            "invalid value for dropout: 2 (allowed: [0, 1))"
        );
        assert_eq!(
            error_message(&e(), Some(&train)),
            "--dropout 2 is out of range: allowed [0, 1)"
        );
        // A sum of two settings needs both flags.
        let both = learnable::Error::invalid("val_fraction + test_fraction", 1.2, "< 1");
        let one = clap::Command::new("x").arg(clap::Arg::new("v").long("val-fraction"));
        assert_eq!(
            error_message(&anyhow::Error::new(both), Some(&one)),
            "invalid value for val_fraction + test_fraction: 1.2 (allowed: < 1)"
        );
    }
}
