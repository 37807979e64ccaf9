//! Named choices: a setting whose value is one of a closed set of names (a model kind, a solver,
//! an optimizer, an activation). One trait gives every such setting its names, a one-line
//! description of each, parsing with an error that lists the names, and display; config.json,
//! error messages and the command line's `--help` all read the same table.

use crate::error::{Error, Result};

/// A closed set of named values, e.g. [`crate::fit::ModelKind`] (`linear`, ..., `mlp`).
pub trait Choice: Copy + PartialEq + 'static {
    /// The setting's name, as in config.json and in error messages (`model`, `optimizer`).
    const SETTING: &'static str;
    /// Every value, in the order they are listed to users.
    const ALL: &'static [Self];
    /// The value's name, lowercase, as written in config.json (`adamw`).
    fn name(self) -> &'static str;
    /// One line saying what the value does.
    fn description(self) -> &'static str;
}

/// Parses a name of `T` (case-insensitive).
///
/// # Errors
/// [`Error::InvalidArgument`] naming the setting ([`Choice::SETTING`]), the text given and every
/// allowed name, e.g. `invalid value for optimizer: adamx (allowed: sgd, adam or adamw)`.
pub fn parse<T: Choice>(s: &str) -> Result<T> {
    let lower = s.trim().to_ascii_lowercase();
    T::ALL
        .iter()
        .copied()
        .find(|v| v.name() == lower)
        .ok_or_else(|| Error::invalid(T::SETTING, s, &names::<T>()))
}

/// Every name of `T` as a list for messages: `sgd, adam or adamw`.
pub fn names<T: Choice>() -> String {
    let all: Vec<&str> = T::ALL.iter().map(|v| v.name()).collect();
    match all.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Implements `FromStr` (via [`parse`]) and `Display` (the name) for a [`Choice`].
#[macro_export]
#[doc(hidden)]
macro_rules! choice_traits {
    ($t:ty) => {
        impl std::str::FromStr for $t {
            type Err = $crate::Error;
            fn from_str(s: &str) -> $crate::Result<Self> {
                $crate::choice::parse(s)
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::choice::Choice::name(*self))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::{ModelKind, OptimizerKind};
    use crate::models::mlp::Activation;

    #[test]
    fn names_parse_back_and_unknown_names_list_every_choice() {
        for &k in ModelKind::ALL {
            assert_eq!(parse::<ModelKind>(k.name()).unwrap(), k);
            assert_eq!(k.to_string(), k.name());
        }
        assert_eq!(
            parse::<OptimizerKind>("AdamW").unwrap(),
            OptimizerKind::AdamW
        );
        let e = parse::<OptimizerKind>("adamx").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid value for optimizer: adamx (allowed: sgd, adam or adamw)"
        );
        let e = "swish".parse::<Activation>().unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid value for activation: swish (allowed: relu, gelu, tanh or sigmoid)"
        );
    }
}
