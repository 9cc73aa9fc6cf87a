//! `marc demo`: the whole job on the testbed, with its own data directory
//! and settings, so it can never write into a real store, use real
//! secrets or post to a real Digital Post endpoint.

use super::request::{report, settings_keyed, Inline};
use super::Global;
use crate::config::Config;
use crate::runtime::{Failure, FailureKind, SecretSource};
use crate::service::{RequestService, Submission};
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where to write the PDF; the demo's own data directory is `<out>/data`
    /// (emptied at every start).
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Seed of the testbed's generated data.
    #[arg(long, default_value_t = marc_testbed::DEMO_SEED)]
    pub seed: u64,
    /// Record a screenshot with every page-changing robot step.
    #[arg(long)]
    pub screenshots: bool,
    /// Write the testbed's log of every request it served (JSON Lines) here.
    #[arg(long)]
    pub testbed_log: Option<PathBuf>,
    /// Record only each session's start and outcome, no steps: for measuring
    /// what recording costs; never for real requests.
    #[arg(long, hide = true)]
    pub no_recording: bool,
    /// Only these testbed systems (default: all three).
    #[arg(long, value_delimiter = ',')]
    pub systems: Vec<String>,
    /// Screen robots read a browser canvas (`canvas`) or a real terminal
    /// program in an X11 window under an Xvfb marc starts (`x11`).
    #[arg(long, default_value = "canvas", value_parser = ["canvas", "x11"])]
    pub screen: String,
    /// Also write documents.jsonl and marks.jsonl into --out.
    #[arg(long)]
    pub export_documents: bool,
}

/// The demo's robot accounts: the testbed's, kept in memory.
pub(super) struct MapSecrets(pub HashMap<String, String>);

impl SecretSource for MapSecrets {
    fn get(&self, name: &str) -> Result<String, Failure> {
        self.0.get(name).cloned().ok_or_else(|| {
            Failure::new(
                FailureKind::Script,
                format!("the demo has no secret {name:?}"),
            )
        })
    }
}

/// The testbed's robot accounts as secrets.
pub(super) fn testbed_secrets() -> MapSecrets {
    let mut secrets = HashMap::new();
    for (sys, user, pass) in marc_testbed::CREDENTIALS {
        secrets.insert(format!("{sys}.user"), user.to_string());
        secrets.insert(format!("{sys}.password"), pass.to_string());
    }
    MapSecrets(secrets)
}

/// A fresh data directory for a demo: `dir`, emptied. Refuses a directory
/// that holds anything but an earlier demo's data.
pub(super) fn fresh_data_dir(dir: &std::path::Path) -> Result<()> {
    if dir.exists() {
        let marker = dir.join("conf");
        let empty = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_none();
        if !empty && !marker.exists() {
            bail!(
                "{} holds something that is not marc data; the demo empties its data directory at every start, so choose another --out",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot empty the demo's data directory {}", dir.display()))?;
    }
    Ok(())
}

/// A fresh key for a demo's own installation, written (as `marc secret
/// keygen` prints it, 0600) to `<out>/demo.key`: beside its data
/// directory, never in it, so `marc audit verify` can check it afterwards.
pub(super) fn demo_key(out: &std::path::Path) -> Result<marc_vault::VaultKey> {
    let key = marc_vault::VaultKey::generate();
    crate::pipeline::write_private(
        &out.join("demo.key"),
        format!("{}\n", key.to_hex()).as_bytes(),
    )?;
    Ok(key)
}

/// The testbed's three systems, served on 127.0.0.1: ESDH and legacy, and
/// the terminal system's canvas front end on the same seeded world.
pub(super) struct Systems {
    pub world: Arc<marc_testbed::World>,
    pub base_urls: HashMap<String, String>,
    testbed: marc_testbed::Testbed,
    terminal: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Systems {
    pub fn start(rt: &tokio::runtime::Runtime, seed: u64, log: Option<PathBuf>) -> Result<Systems> {
        let cfg = marc_testbed::TestbedConfig {
            seed,
            log_file: log,
            ..Default::default()
        };
        let testbed = rt
            .block_on(marc_testbed::Testbed::start(cfg))
            .context("cannot start the testbed")?;
        let (terminal_url, terminal) = rt
            .block_on(marc_testbed_terminal::web::serve(testbed.world.clone(), 0))
            .context("cannot start the testbed's terminal system")?;
        let mut base_urls = HashMap::new();
        base_urls.insert("esdh".to_string(), testbed.esdh_url.clone());
        base_urls.insert("legacy".to_string(), testbed.legacy_url.clone());
        base_urls.insert("terminal".to_string(), format!("{terminal_url}/"));
        Ok(Systems {
            world: testbed.world.clone(),
            base_urls,
            testbed,
            terminal,
        })
    }

    pub fn stop(self, rt: &tokio::runtime::Runtime) {
        self.terminal.abort();
        rt.block_on(self.testbed.stop());
    }
}

pub fn demo(g: &Global, rt: &tokio::runtime::Runtime, a: DemoArgs) -> Result<i32> {
    super::request::check_out_dir(&a.out)?;
    let data = a.out.join("data");
    fresh_data_dir(&data)?;
    // The demo's own settings: defaults, never MARC_CONFIG's endpoint or
    // lists, and its own key.
    let config = Config::default();
    let key = demo_key(&a.out)?;
    let key_file = a.out.join("demo.key");
    let settings = settings_keyed(&data, None, &config, None, None, Some(&key))?;
    let systems_up = Systems::start(rt, a.seed, a.testbed_log.clone())?;
    let citizen = systems_up.world.demo_citizen().clone();
    let base_urls = systems_up.base_urls.clone();
    let systems: Vec<String> = crate::robot::load_all(&settings.robots_dir)?
        .into_iter()
        .map(|m| m.system)
        .filter(|s| base_urls.contains_key(s))
        .filter(|s| a.systems.is_empty() || a.systems.contains(s))
        .collect();
    if systems.is_empty() {
        bail!(
            "no robots for the testbed systems in {}",
            settings.robots_dir.display()
        );
    }
    if !a.json {
        println!(
            "testbed: esdh {}  legacy {}  terminal {}",
            base_urls["esdh"], base_urls["legacy"], base_urls["terminal"]
        );
        println!("demo citizen: {} ({})", citizen.name, citizen.cpr);
        println!(
            "demo data directory: {} (inspect it with MARC_VAULT_KEY_FILE={} marc --data {} requests | audit verify)",
            data.display(),
            key_file.display(),
            data.display()
        );
    }
    let service = RequestService::new(settings, config.topics.clone());
    let sub = Submission {
        cpr: citizen.cpr.clone(),
        systems,
        name: citizen.name.clone(),
        address: citizen.address.clone(),
        ..Default::default()
    };
    let rec = service
        .submit(&super::request::operator(), sub)
        .map_err(|e| anyhow!("the demo request was refused: {e}"))?;
    let extra = serde_json::json!({ "seed": a.seed, "testbed": base_urls });
    let inline = Inline {
        secrets: Arc::new(testbed_secrets()),
        base_urls,
        webdriver: None,
        attempts: 3,
        recording: crate::pipeline::Recording::from_flags(a.screenshots, a.no_recording),
        x11_display: (a.screen == "x11").then(|| "auto".to_string()),
    };
    let r = inline.execute(g, rt, &service.settings, rec).and_then(|o| {
        report(
            &service.settings,
            &o,
            &a.out,
            a.export_documents,
            a.json,
            Some(extra),
        )
    });
    systems_up.stop(rt);
    r
}
