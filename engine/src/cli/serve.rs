//! `marc serve`: the web app and a worker pool in one process.

use super::{exit, Global};
use anyhow::Result;
use clap::Args;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Robot sessions that may run at once, over all systems (each system
    /// also keeps to its manifest's `max_sessions`).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub workers: u32,
}

pub fn serve(_g: &Global, _rt: &tokio::runtime::Runtime, _a: ServeArgs) -> Result<i32> {
    Ok(exit::OK)
}
