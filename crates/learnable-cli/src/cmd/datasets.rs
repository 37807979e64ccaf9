//! `learnable datasets` (being built).

/// Arguments of `learnable datasets`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `learnable datasets`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("learnable datasets is not available yet")
}
