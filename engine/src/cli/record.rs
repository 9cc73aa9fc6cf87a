//! `marc record`: write a robot script by doing the work once in a browser.

use super::{exit, Global};
use crate::runtime::SecretSource;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use marc_audit::NewEntry;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct RecordArgs {
    /// The system to record for (its manifest gives the base URL, the
    /// credential and the rights the script will run under).
    #[arg(long)]
    pub system: String,
    /// The script to write (rewritten after every recorded step).
    #[arg(long)]
    pub out: PathBuf,
    /// The system's base URL now, instead of the manifest's.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Robots folder (default ./robots, or the checkout's).
    #[arg(long)]
    pub robots: Option<PathBuf>,
    /// Use this WebDriver server instead of starting chromedriver.
    #[arg(long)]
    pub webdriver: Option<String>,
    /// No browser window: drive the session over WebDriver (its id is printed).
    #[arg(long)]
    pub headless: bool,
}

pub fn record(g: &Global, rt: &tokio::runtime::Runtime, a: RecordArgs) -> Result<i32> {
    if !a.headless && std::env::var_os("DISPLAY").is_none() {
        bail!("no display for the browser window: run `marc record` on a desktop (DISPLAY), or pass --headless and drive the printed WebDriver session");
    }
    let (settings, _config) = super::request::settings(g, a.robots.clone(), None)?;
    let manifest = crate::robot::select(
        crate::robot::load_all(&settings.robots_dir)?,
        std::slice::from_ref(&a.system),
    )?
    .into_iter()
    .next()
    .ok_or_else(|| anyhow!("no robot for system {:?}", a.system))?;
    let base = a
        .base_url
        .clone()
        .unwrap_or_else(|| manifest.base_url.clone());
    let profile = manifest.rights_profile(&base)?;
    let vault = match marc_vault::VaultKey::from_env() {
        Ok(key) => Some(marc_vault::Vault::open(&settings.store, key)?),
        Err(_) => None,
    };
    let source = super::request::CliSecrets { vault };
    let secrets = ["user", "password"]
        .iter()
        .map(|k| format!("{}.{k}", manifest.credential))
        .filter_map(|n| source.get(&n).ok().map(|v| (n, v)))
        .collect();
    let wd = super::WebDriver::start(rt, a.webdriver.clone())?;
    let url = wd.url.clone();
    let opts = crate::recorder::RecordOptions {
        system: manifest.system.clone(),
        base_url: base.clone(),
        credential: manifest.credential.clone(),
        secrets,
        profile,
        out: a.out.clone(),
        webdriver: url.clone(),
        local_browser: wd.local,
        headless: a.headless,
        header: format!(
            "Recorded by {} on {}.",
            settings.actor,
            chrono::Local::now().format("%Y-%m-%d %H:%M")
        ),
    };
    // Enter (or the end of standard input) finishes the recording.
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    std::thread::spawn(move || {
        let _ = std::io::stdin().lock().lines().next();
        s2.store(true, Ordering::Relaxed);
    });
    settings.audit.append(
        NewEntry::user(&settings.actor, "record.started")
            .system(&manifest.system)
            .detail(serde_json::json!({"out": a.out, "base_url": base})),
    )?;
    let ready = |session: &str| {
        eprintln!(
            "recording {} at {base} into {}\nbrowser session {session} on {url}\nwork in the browser; press Enter here (or close the window) to finish",
            manifest.system,
            a.out.display()
        );
    };
    let result =
        crate::recorder::record(rt.handle(), &opts, &|| stop.load(Ordering::Relaxed), &ready);
    wd.stop(rt);
    let events = result.context("the recording stopped")?;
    settings.audit.append(
        NewEntry::user(&settings.actor, "record.finished")
            .system(&manifest.system)
            .detail(serde_json::json!({"out": a.out, "events": events.len()})),
    )?;
    eprintln!(
        "wrote {} ({} steps); check it with `marc check {}`",
        a.out.display(),
        events.len(),
        a.out.display()
    );
    Ok(exit::OK)
}
