//! `learnable predict` (being built).

/// Arguments of `learnable predict`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `learnable predict`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("learnable predict is not available yet")
}
