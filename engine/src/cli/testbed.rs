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
        /// Serve HTTPS, with a certificate from a CA made for this testbed
        /// (like a municipality's internal CA); its certificate is written
        /// to --ca-out for the robot manifests' `tls_ca`.
        #[arg(long)]
        https: bool,
        /// Where --https writes the testbed CA's certificate (PEM).
        #[arg(long, requires = "https", default_value = "testbed-ca.pem")]
        ca_out: PathBuf,
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
            https,
            ca_out,
        } => {
            let cfg = marc_testbed::TestbedConfig {
                seed,
                fail_rate,
                log_file: log,
                https,
                ..Default::default()
            };
            let tb = rt
                .block_on(marc_testbed::Testbed::start(cfg))
                .context("cannot start the testbed")?;
            if let Some(pem) = &tb.ca_pem {
                std::fs::write(&ca_out, pem).with_context(|| {
                    format!(
                        "cannot write the testbed CA certificate to {}",
                        ca_out.display()
                    )
                })?;
            }
            let c = tb.world.demo_citizen();
            println!("esdh    {}", tb.esdh_url);
            println!("legacy  {}", tb.legacy_url);
            if tb.ca_pem.is_some() {
                println!("ca      {}", ca_out.display());
                println!(
                    "(name it in the robots' [rights] as tls_ca = \"{}\")",
                    ca_out.display()
                );
            }
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
