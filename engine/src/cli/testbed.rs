//! `marc testbed serve|truth`: the simulated case systems.

use super::exit;
use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum TestbedCommand {
    /// Serve the simulated case systems on 127.0.0.1 until Ctrl-C.
    Serve {
        #[arg(long, default_value_t = marc_testbed::DEMO_SEED)]
        seed: u64,
        /// Probability of a transient 503 from the legacy system.
        #[arg(long, default_value_t = 0.1)]
        fail_rate: f64,
        /// Append every request served to this JSON Lines file.
        #[arg(long)]
        log: Option<PathBuf>,
    },
    /// Run the terminal system in this terminal (for an xterm; the X11 robots use it).
    Terminal {
        #[arg(long, default_value_t = marc_testbed::DEMO_SEED)]
        seed: u64,
    },
    /// Write the ground truth (every document per citizen) as JSON.
    Truth {
        #[arg(long, default_value_t = marc_testbed::DEMO_SEED)]
        seed: u64,
        /// Only this citizen's documents.
        #[arg(long)]
        cpr: Option<String>,
        /// Output file ("-" for stdout).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
}

pub fn run(rt: &tokio::runtime::Runtime, c: TestbedCommand) -> Result<i32> {
    match c {
        TestbedCommand::Serve {
            seed,
            fail_rate,
            log,
        } => {
            let cfg = marc_testbed::TestbedConfig {
                seed,
                fail_rate,
                log_file: log,
                ..Default::default()
            };
            let tb = rt
                .block_on(marc_testbed::Testbed::start(cfg))
                .context("cannot start the testbed")?;
            let c = tb.world.demo_citizen();
            println!("esdh    {}", tb.esdh_url);
            println!("legacy  {}", tb.legacy_url);
            println!("demo citizen: {} {} ({})", c.cpr, c.name, c.address);
            println!("run against it with, e.g.:");
            println!(
                "  marc run --cpr {} --name '{}' --base-url esdh={} --base-url legacy={}",
                c.cpr, c.name, tb.esdh_url, tb.legacy_url
            );
            println!("(robot passwords: MARC_SECRET_<SYSTEM>_USER/_PASSWORD or `marc secret set`; see testbed/README.md)");
            rt.block_on(async {
                let _ = tokio::signal::ctrl_c().await;
            });
            rt.block_on(tb.stop());
            Ok(exit::OK)
        }
        TestbedCommand::Terminal { seed } => {
            let world = std::sync::Arc::new(marc_testbed::World::generate(seed));
            marc_testbed_terminal::tty::run_tty(world).context("the terminal front end failed")?;
            Ok(exit::OK)
        }
        TestbedCommand::Truth { seed, cpr, out } => {
            let world = marc_testbed::World::generate(seed);
            let truth = world.truth(cpr.as_deref());
            let json = serde_json::to_string_pretty(&truth)?;
            if out.as_os_str() == "-" {
                println!("{json}");
            } else {
                std::fs::write(&out, json)
                    .with_context(|| format!("cannot write {}", out.display()))?;
            }
            Ok(exit::OK)
        }
    }
}
