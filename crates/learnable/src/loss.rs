//! Fused, numerically stable losses (being built).
