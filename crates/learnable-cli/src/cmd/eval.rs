//! `learnable eval` (being built).

/// Arguments of `learnable eval`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `learnable eval`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("learnable eval is not available yet")
}
