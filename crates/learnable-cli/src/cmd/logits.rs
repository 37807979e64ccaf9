//! `learnable logits` (being built).

/// Arguments of `learnable logits`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `learnable logits`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("learnable logits is not available yet")
}
