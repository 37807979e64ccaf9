//! `learnable train` (being built).

/// Arguments of `learnable train`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `learnable train`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("learnable train is not available yet")
}
