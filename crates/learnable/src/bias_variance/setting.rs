//! One hyperparameter of a [`FitConfig`], set by the name config.json gives it.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::fit::FitConfig;

/// Which way a larger value of a hyperparameter moves model complexity (capacity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Complexity {
    /// Larger is more complex (`hidden`, `width`, `depth`, `epochs`, `C`).
    Increasing,
    /// Larger is simpler: more regularisation (`alpha`, `weight_decay`, `dropout`,
    /// `label_smoothing`).
    Decreasing,
    /// No order of complexity (`learning_rate`, `batch_size`, ...).
    Unordered,
}

/// Settings a curve may vary besides the fields of [`FitConfig`]: `width` (every hidden layer
/// this wide, depth kept) and `depth` (this many hidden layers, each as wide as the first).
pub const DERIVED: &[&str] = &["width", "depth"];

/// Fields that are not hyperparameters of the fitted function (or not of a tabular model).
const NOT_VARIED: &[&str] = &[
    "model",
    "solver",
    "seed",
    "max_time",
    "n_layer",
    "n_head",
    "n_embd",
    "block_size",
    "max_steps",
    "eval_interval",
    "eval_iters",
    "class_weight",
    "optimizer",
    "schedule",
    "activation",
];

/// The complexity direction of setting `name`.
pub fn complexity(name: &str) -> Complexity {
    match name {
        "hidden" | "width" | "depth" | "epochs" | "C" => Complexity::Increasing,
        "alpha" | "weight_decay" | "dropout" | "label_smoothing" => Complexity::Decreasing,
        _ => Complexity::Unordered,
    }
}

/// The names [`with_setting`] accepts.
pub fn names() -> Vec<String> {
    let fields = serde_json::to_value(FitConfig::default()).expect("FitConfig serialises");
    let mut names: Vec<String> = fields
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| !NOT_VARIED.contains(&k.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    names.extend(DERIVED.iter().map(|s| s.to_string()));
    names.sort();
    names
}

/// `config` with setting `name` (its config.json name) set to `value` as the user wrote it:
/// a number, or for `hidden` widths joined by `x` (`128x64`).
///
/// Errors ([`Error::InvalidArgument`], naming the setting): an unknown or fixed name (listing
/// the ones accepted); a value of the wrong type (text for a number, a fraction for a count);
/// a value out of the setting's range (see [`FitConfig::validate`]).
pub fn with_setting(config: &FitConfig, name: &str, value: &str) -> Result<FitConfig> {
    let bad = |why: &str| Error::invalid(name, value, why);
    let value = value.trim();
    let mut fields = serde_json::to_value(config).expect("FitConfig serialises");
    let obj = fields.as_object_mut().expect("FitConfig is an object");
    let count =
        |v: &str| -> Result<usize> { v.parse::<usize>().map_err(|_| bad("a whole number >= 0")) };
    match name {
        "width" => {
            let w = count(value)?;
            let depth = config.hidden.len().max(1);
            obj.insert("hidden".into(), Value::from(vec![w; depth]));
        }
        "depth" => {
            let d = count(value)?;
            let w = config.hidden.first().copied().unwrap_or(64);
            obj.insert("hidden".into(), Value::from(vec![w; d]));
        }
        "hidden" => {
            let widths = if value.is_empty() || value == "none" {
                Vec::new()
            } else {
                value
                    .split('x')
                    .map(|w| w.trim().parse::<usize>())
                    .collect::<std::result::Result<Vec<usize>, _>>()
                    .map_err(|_| bad("hidden widths joined by x, e.g. 128x64"))?
            };
            obj.insert("hidden".into(), Value::from(widths));
        }
        _ if NOT_VARIED.contains(&name) || !obj.contains_key(name) => {
            return Err(Error::invalid(
                "param",
                name,
                &format!("one of {}", names().join(", ")),
            ));
        }
        _ => {
            let current = &obj[name];
            let new = if current.is_u64() {
                Value::from(count(value)?)
            } else {
                let x: f64 = value.parse().map_err(|_| bad("a number"))?;
                if !x.is_finite() {
                    return Err(bad("a finite number"));
                }
                Value::from(x)
            };
            obj.insert(name.to_string(), new);
        }
    }
    let out: FitConfig = serde_json::from_value(fields).map_err(|e| bad(&e.to_string()))?;
    out.validate()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_set_by_their_config_names() {
        let c = FitConfig::default();
        assert_eq!(with_setting(&c, "alpha", "0.5").unwrap().alpha, 0.5);
        assert_eq!(with_setting(&c, "C", "10").unwrap().c, 10.0);
        assert_eq!(with_setting(&c, "epochs", "7").unwrap().epochs, 7);
        assert_eq!(
            with_setting(&c, "hidden", "32x16").unwrap().hidden,
            vec![32, 16]
        );
        assert_eq!(with_setting(&c, "width", "8").unwrap().hidden, vec![8, 8]);
        assert_eq!(
            with_setting(&c, "depth", "3").unwrap().hidden,
            vec![128, 128, 128]
        );
        assert_eq!(with_setting(&c, "dropout", "0.25").unwrap().dropout, 0.25);
    }

    #[test]
    fn unknown_names_and_bad_values_are_errors_naming_them() {
        let c = FitConfig::default();
        let e = with_setting(&c, "size", "3").unwrap_err().to_string();
        assert!(e.contains("size") && e.contains("alpha"), "{e}");
        let e = with_setting(&c, "epochs", "2.5").unwrap_err().to_string();
        assert!(e.contains("epochs") && e.contains("whole number"), "{e}");
        let ridge = FitConfig {
            model: crate::fit::ModelKind::Ridge,
            ..FitConfig::default()
        };
        let e = with_setting(&ridge, "alpha", "-1").unwrap_err().to_string();
        assert!(e.contains("alpha"), "{e}");
        let e = with_setting(&c, "seed", "1").unwrap_err().to_string();
        assert!(e.contains("param"), "{e}");
    }
}
