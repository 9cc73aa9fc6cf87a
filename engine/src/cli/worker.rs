//! `marc worker`: takes robot jobs from the shared job queue in PostgreSQL
//! and runs them on this machine, beside any number of other workers and
//! `marc serve` nodes on the same database (issue 13).
//!
//! A worker runs only the systems it can: those named by `--systems` (all
//! by default), and of those with a desktop program (`program` in the
//! manifest) only where that program is installed, when it drives an X11
//! display (`--display`). Finishing jobs (screening, assembly, delivery)
//! write the answer and the outbox into the data directory, so they run on
//! `marc serve`, or on a worker given `--finish` that shares its data
//! directory.

use super::request::{check_base_urls, settings_at, CliSecrets};
use super::serve::{robot_runner, session_limits, RobotArgs};
use super::{exit, usage, Global};
use crate::config::Config;
use crate::robot::Manifest;
use crate::runtime::SecretSource;
use crate::service::pool::{Pool, Takes};
use crate::service::queue::SharedQueue;
use crate::service::RequestService;
use anyhow::Result;
use clap::Args;
use std::path::Path;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct WorkerArgs {
    /// Robot sessions that may run at once on this machine (each system
    /// also keeps to its manifest's `max_sessions` over all workers).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub workers: u32,
    /// Take only these systems' jobs (default: every robot this machine can run).
    #[arg(long, value_delimiter = ',')]
    pub systems: Vec<String>,
    /// Also take finishing jobs (screening, assembly, delivery), which
    /// write into this worker's data directory.
    #[arg(long)]
    pub finish: bool,
    /// Run screen robots' desktop programs on this X11 display.
    #[arg(long)]
    pub display: Option<String>,
    #[command(flatten)]
    pub robots: RobotArgs,
}

pub fn worker(g: &Global, rt: &tokio::runtime::Runtime, a: WorkerArgs) -> Result<i32> {
    let config = Config::load(g.config.as_deref())?;
    let Some(url) = super::database(g, &config) else {
        return Err(usage(
            "marc worker takes its jobs from the shared queue in PostgreSQL: give --database postgres://… (or MARC_DATABASE_URL, or [store] url in the configuration)",
        ));
    };
    let settings = settings_at(
        &g.data,
        Some(&url),
        &config,
        a.robots.robots.clone(),
        a.robots.scripts.clone(),
    )?;
    check_base_urls(&settings.robots_dir, &a.robots.base_urls)?;
    let manifests =
        crate::robot::select(crate::robot::load_all(&settings.robots_dir)?, &a.systems)?;
    let manifests = runnable(manifests, a.display.is_some(), !a.systems.is_empty())?;
    if manifests.is_empty() && !a.finish {
        return Err(usage(
            "this worker can run none of the robots (their programs are not installed here) and takes no finishing jobs (--finish)",
        ));
    }
    let secrets: Arc<dyn SecretSource> = Arc::new(CliSecrets::open(&settings)?);
    let queue = rt
        .block_on(SharedQueue::connect(&url, config.store.lease()))
        .map_err(|e| anyhow::anyhow!(super::scrub_password(&e.to_string(), &url)))?;
    let service = RequestService::new(settings, config.topics.clone());
    let wd = if manifests.is_empty() {
        super::WebDriver::none()
    } else {
        super::WebDriver::start(rt, a.robots.webdriver.clone())?
    };
    let runner = robot_runner(
        g,
        rt,
        &wd,
        secrets,
        a.robots.base_urls.iter().cloned().collect(),
        a.display.clone(),
    );
    let systems: Vec<&str> = manifests.iter().map(|m| m.system.as_str()).collect();
    println!(
        "marc worker: {} on {}{}",
        if systems.is_empty() {
            "no robots".to_string()
        } else {
            systems.join(", ")
        },
        marc_store::redact_url(&url),
        if a.finish { ", finishing jobs" } else { "" }
    );
    let takes = Takes {
        systems: session_limits(&manifests),
        finish: a.finish,
    };
    let _pool = {
        let _enter = rt.enter();
        Pool::start_shared(service, runner, a.workers as usize, queue, takes)
    };
    rt.block_on(async {
        let _ = tokio::signal::ctrl_c().await;
    });
    wd.stop(rt);
    Ok(exit::OK)
}

/// The robots this machine can run: a desktop program driven on an X11
/// display must be installed here. One named on the command line that
/// cannot run is an error; one that was not named is left to other workers.
fn runnable(manifests: Vec<Manifest>, x11: bool, named: bool) -> Result<Vec<Manifest>> {
    let mut keep = Vec::new();
    for m in manifests {
        let program = m.program.as_ref().and_then(|p| p.first()).filter(|_| x11);
        match program {
            Some(p) if !installed(p) => {
                if named {
                    return Err(usage(format!(
                        "system {}: its program {p:?} is not installed on this machine",
                        m.system
                    )));
                }
                tracing::info!(
                    "not taking {}: its program {p:?} is not installed here",
                    m.system
                );
            }
            _ => keep.push(m),
        }
    }
    Ok(keep)
}

/// Whether `program` (a path, or a name on `PATH`) is an executable file.
fn installed(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if program.contains('/') {
        return executable(Path::new(program));
    }
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|d| executable(&d.join(program))))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_counts_as_installed_only_when_it_is_an_executable_file() {
        assert!(installed("sh"));
        assert!(installed("/bin/sh"));
        assert!(!installed("no-such-program-here"));
        let dir = tempfile::tempdir().expect("a temporary directory");
        let plain = dir.path().join("not-a-program");
        std::fs::write(&plain, "text").expect("a plain file");
        assert!(!installed(plain.to_str().expect("a UTF-8 path")));
        assert!(!installed(dir.path().to_str().expect("a UTF-8 path")));
    }
}
