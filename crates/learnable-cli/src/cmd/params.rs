//! `learnable params` (being built).

/// Arguments of `learnable params`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `learnable params`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("learnable params is not available yet")
}
