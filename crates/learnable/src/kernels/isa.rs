//! Which instruction set the hand-written kernels use, decided once per process.
//!
//! Three paths exist: [`Isa::Avx512`] (x86-64 with AVX-512F; 16-wide `zmm` vectors, 32 registers),
//! [`Isa::Avx2`] (x86-64 with AVX2 and FMA; 8-wide `ymm` vectors, 16 registers) and
//! [`Isa::Portable`] (plain Rust, whatever the compiler vectorises for the baseline target).
//! [`active`] is the best path the CPU supports (`is_x86_feature_detected!`, run once), unless the
//! environment variable `LEARNABLE_ISA` names another one:
//!
//! - `LEARNABLE_ISA=avx512|avx2|portable` forces that path, for tests and benchmarks;
//! - a forced path the CPU lacks (or an unknown value) is **not** an error: the process prints one
//!   warning on stderr and falls back to the best path the CPU has, so a script that sets
//!   `LEARNABLE_ISA=avx512` still runs (slower) on an AVX2-only machine. [`active`] then names the
//!   path really taken, which is what benchmarks print.
//!
//! Each path is deterministic on its own (the same floating-point operations in the same order per
//! output element, whatever the thread count or batch size); two paths may differ from each other
//! in the last bits (fused vs separate multiply-add, different vector widths in reductions).
//!
//! Tests run every path the machine has through the `*_with(isa, ..)` entry points of the kernels
//! (e.g. [`crate::kernels::fused_linear::PackedLinear::with_isa`]), not through the variable.

use std::sync::OnceLock;

/// A kernel path (instruction-set level).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// Plain Rust, no target-specific intrinsics.
    Portable,
    /// x86-64 AVX2 + FMA (256-bit vectors).
    Avx2,
    /// x86-64 AVX-512F (512-bit vectors); implies AVX2 and FMA on every CPU that has it.
    Avx512,
}

impl Isa {
    /// Every path, slowest first.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2, Isa::Avx512];

    /// Lower-case name, as `LEARNABLE_ISA` spells it: `portable`, `avx2`, `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Parses a `LEARNABLE_ISA` value (case-insensitive, surrounding blanks ignored); `None` if
    /// it names no path.
    pub fn parse(s: &str) -> Option<Isa> {
        match s.trim().to_ascii_lowercase().as_str() {
            "portable" => Some(Isa::Portable),
            "avx2" => Some(Isa::Avx2),
            "avx512" | "avx512f" | "avx-512" => Some(Isa::Avx512),
            _ => None,
        }
    }

    /// Whether this CPU can run the path (checked once per process for each feature).
    pub fn supported(self) -> bool {
        match self {
            Isa::Portable => true,
            Isa::Avx2 => has_avx2_fma(),
            Isa::Avx512 => has_avx512f(),
        }
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static OK: OnceLock<bool> = OnceLock::new();
        *OK.get_or_init(|| {
            std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn has_avx512f() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static OK: OnceLock<bool> = OnceLock::new();
        *OK.get_or_init(|| std::is_x86_feature_detected!("avx512f") && has_avx2_fma())
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The best path this CPU supports, ignoring `LEARNABLE_ISA`.
pub fn detected() -> Isa {
    if Isa::Avx512.supported() {
        Isa::Avx512
    } else if Isa::Avx2.supported() {
        Isa::Avx2
    } else {
        Isa::Portable
    }
}

/// Resolves a `LEARNABLE_ISA` value against the CPU: the path to take and, when the request
/// cannot be honoured, the warning to print.
fn resolve(request: Option<&str>) -> (Isa, Option<String>) {
    let best = detected();
    let Some(raw) = request else {
        return (best, None);
    };
    if raw.trim().is_empty() {
        return (best, None);
    }
    match Isa::parse(raw) {
        Some(isa) if isa.supported() => (isa, None),
        Some(isa) => (
            best,
            Some(format!(
                "learnable: LEARNABLE_ISA={raw}: this CPU has no {isa} support; using {best}"
            )),
        ),
        None => (
            best,
            Some(format!(
                "learnable: LEARNABLE_ISA={raw} is not one of avx512, avx2, portable; using {best}"
            )),
        ),
    }
}

/// The path every kernel takes in this process: `LEARNABLE_ISA` if set and supported, else the
/// best the CPU has ([`detected`]). Decided on the first call; a request the CPU cannot honour
/// prints one warning on stderr and falls back (see the module docs).
pub fn active() -> Isa {
    static ACTIVE: OnceLock<Isa> = OnceLock::new();
    *ACTIVE.get_or_init(|| {
        let var = std::env::var("LEARNABLE_ISA").ok();
        let (isa, warning) = resolve(var.as_deref());
        if let Some(w) = warning {
            eprintln!("{w}");
        }
        isa
    })
}

/// The paths this machine can run, slowest first (always includes [`Isa::Portable`]).
pub fn available() -> Vec<Isa> {
    Isa::ALL.into_iter().filter(|i| i.supported()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_values_are_rejected() {
        for isa in Isa::ALL {
            assert_eq!(Isa::parse(isa.name()), Some(isa));
            assert_eq!(
                Isa::parse(&format!(" {} ", isa.name().to_uppercase())),
                Some(isa)
            );
        }
        assert_eq!(Isa::parse("sse9"), None);
        assert_eq!(Isa::parse(""), None);
    }

    #[test]
    fn requests_resolve_to_a_supported_path_with_a_warning_when_refused() {
        let best = detected();
        assert!(best.supported());
        assert_eq!(resolve(None), (best, None));
        assert_eq!(resolve(Some("")), (best, None));
        assert_eq!(resolve(Some("portable")), (Isa::Portable, None));
        for isa in [Isa::Avx2, Isa::Avx512] {
            let (got, warning) = resolve(Some(isa.name()));
            if isa.supported() {
                assert_eq!((got, warning), (isa, None));
            } else {
                assert_eq!(got, best);
                assert!(warning.unwrap().contains("no "));
            }
        }
        let (got, warning) = resolve(Some("neon9"));
        assert_eq!(got, best);
        assert!(warning.unwrap().contains("not one of"));
        // The best path is at least as wide as every supported one.
        assert!(available().iter().all(|&i| i <= best));
        assert!(active().supported());
    }
}
