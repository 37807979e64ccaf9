//! Logits processors and samplers (being built).
