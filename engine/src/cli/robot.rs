//! The robot developer's loop: `marc robot new` (a manifest and a script
//! with the conventions), `marc robot try` (one robot alone, printing what
//! it extracted and what it cost), and `marc check` (compile and check
//! scripts without running them).

use super::io::{errln, outln};
use super::{exit, Global};
use crate::pipeline::{self, RequestSpec, RobotRunner, RunState, RunStatus, RunnerOptions};
use crate::runtime::SecretSource;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use marc_model::{Cpr, Period};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Subcommand, Debug)]
pub enum RobotCommand {
    /// Write a new robot: robots/NAME/robot.toml and scripts/NAME.rhai, with
    /// the conventions filled in (rights profile, login, a search-and-emit loop).
    New(NewArgs),
    /// Run one robot alone for one CPR number (no screening, no PDF, no
    /// delivery) and print what it extracted and how many WebDriver commands it took.
    Try(TryArgs),
}

#[derive(Args, Debug)]
pub struct NewArgs {
    /// The system id: lower-case letters, digits, `-` and `_`.
    pub name: String,
    /// The system's address, e.g. https://sag.kommune.dk
    #[arg(long)]
    pub base_url: String,
    /// Robots folder (default ./robots, or the checkout's).
    #[arg(long)]
    pub robots: Option<PathBuf>,
    /// Scripts folder (default ./scripts, or the checkout's).
    #[arg(long)]
    pub scripts: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct TryArgs {
    /// The system id (a folder in robots/).
    pub name: String,
    /// The citizen's CPR number, DDMMYY-SSSS.
    #[arg(long)]
    pub cpr: String,
    /// First day of the period, YYYY-MM-DD (default: everything).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of the period, YYYY-MM-DD (default: today).
    #[arg(long)]
    pub to: Option<String>,
    /// The system's base URL now, instead of the manifest's.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Use this WebDriver server instead of starting chromedriver.
    #[arg(long)]
    pub webdriver: Option<String>,
    /// Robots folder.
    #[arg(long)]
    pub robots: Option<PathBuf>,
    /// Scripts folder.
    #[arg(long)]
    pub scripts: Option<PathBuf>,
    /// Attempts before giving up (a trial usually wants to see the first failure).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub attempts: u32,
    /// Also write the documents as JSON Lines to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Keep the trial's data (session recording, audit log) in this
    /// directory, for `marc --data DIR replay`; by default it is thrown away.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// Record a screenshot with every page-changing step (with --keep).
    #[arg(long)]
    pub screenshots: bool,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn robot(g: &Global, rt: &tokio::runtime::Runtime, c: RobotCommand) -> Result<i32> {
    match c {
        RobotCommand::New(a) => new(a),
        RobotCommand::Try(a) => try_robot(g, rt, a),
    }
}

fn new(a: NewArgs) -> Result<i32> {
    let name = a.name.as_str();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        bail!("the system id {name:?} may hold only lower-case letters, digits, - and _");
    }
    let base = a.base_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        bail!("--base-url {base:?} must start with http:// or https://");
    }
    let robots = a
        .robots
        .unwrap_or_else(|| crate::robot::default_dir("robots"));
    let scripts = a
        .scripts
        .unwrap_or_else(|| crate::robot::default_dir("scripts"));
    let manifest = robots.join(name).join("robot.toml");
    let script = scripts.join(format!("{name}.rhai"));
    for p in [&manifest, &script] {
        if p.exists() {
            bail!(
                "{} exists already; choose another name or remove it",
                p.display()
            );
        }
    }
    std::fs::create_dir_all(robots.join(name))
        .with_context(|| format!("cannot create {}", robots.join(name).display()))?;
    std::fs::create_dir_all(&scripts)
        .with_context(|| format!("cannot create {}", scripts.display()))?;
    std::fs::write(&manifest, manifest_template(name, base))
        .with_context(|| format!("cannot write {}", manifest.display()))?;
    std::fs::write(&script, script_template(name, base))
        .with_context(|| format!("cannot write {}", script.display()))?;
    let env = super::request::secret_env(&format!("{name}.password"));
    outln!(
        "wrote {}\nwrote {}\n\nnext:\n  1. fill in [rights] and [session] in robot.toml for the system's pages\n  2. give the robot its system user: marc secret set {name}.user; marc secret set {name}.password\n     (for a trial, {} and {env} in the environment do too)\n  3. marc check {}\n  4. marc robot try {name} --cpr DDMMYY-SSSS",
        manifest.display(),
        script.display(),
        super::request::secret_env(&format!("{name}.user")),
        script.display()
    );
    Ok(exit::OK)
}

fn manifest_template(name: &str, base: &str) -> String {
    format!(
        r##"# The robot for {name}. It logs in as its own system user, whose secrets are
# {name}.user and {name}.password in the vault (`marc secret set {name}.password`);
# never the secret itself here.
system = "{name}"
name = "{name}"
base_url = "{base}"
script = "{name}.rhai"
credential = "{name}"
driver = "webdriver"
departments = []

# What the robot may do, enforced by marc outside the script (and by a proxy
# every browser request goes through). Narrow allow_paths to the pages the
# robot needs; anything else is refused and stops the robot.
[rights]
origins = ["$base"]
allow_paths = ["/*"]
deny_paths = ["*/delete*", "*/edit*", "*/admin*"]
methods = ["GET", "HEAD"]
submit = ["POST /login"]            # the login form (method and path)
never_click = ["text:Slet", "text:Gem"]
max_documents = 2000
time_budget_secs = 900

# How to log in, and what an expired session and an error page look like:
# login() logs in, and every wait and download logs in again or waits out an
# error page by itself. A refused login (failure) is never tried again.
[session]
login_url = "/login"
user = "input[name=username]"
password = "input[name=password]"
submit = "button[type=submit]"
success = "#search"                 # something only a logged-in page shows
failure = ".error"                  # what a wrong password shows
expired = "input[name=password]"    # the login form, coming back mid-run
error_pages = ["body > pre"]        # e.g. a plain-text 503; 5xx statuses count anyway
"##
    )
}

fn script_template(name: &str, base: &str) -> String {
    format!(
        r##"// Robot for {name} ({base}), written by `marc robot new`.
// Check it with `marc check`, try it alone with `marc robot try {name} --cpr ...`.
// The API: docs/DSL.md; the conventions: README, "Writing a robot".

login();                                    // as robot.toml's [session] says

// 1. The citizen's cases: a search page, or a URL with the CPR number.
navigate("/cases?cpr=" + request.cpr);
wait_for("#cases", 10000);                  // waits in the page; recovers expiry and 503s
let cases = table("#cases");                // the whole table in one round trip
log(`found ${{cases.len()}} cases`);

// 2. Every document of every case, in the request's period.
for c in cases {{
    navigate(c["case_href"]);               // a link in the column keyed "case"
    wait_for("#documents", 10000);
    for d in table("#documents") {{
        let date = iso_date(d["date"]);
        if !in_period(date) {{ continue; }}
        navigate(d["title_href"]);
        wait_for("#document", 10000);
        // 3. Hand it to marc: the system's own ids, the text, attachments
        //    as #{{name, url}} (fetched and read by marc).
        emit(#{{
            case_id: c["case"],
            doc_id: d["id"],
            title: d["title"],
            date: date,
            kind: "",
            department: "",
            text: text("#document .body"),
            attachments: [],
        }});
    }}
}}
"##
    )
}

fn try_robot(g: &Global, rt: &tokio::runtime::Runtime, a: TryArgs) -> Result<i32> {
    let today = chrono::Local::now().date_naive();
    let cpr: Cpr = a.cpr.parse().map_err(|e| anyhow!("--cpr: {e}"))?;
    let period = Period::parse(a.from.as_deref(), a.to.as_deref(), today)
        .map_err(|e| anyhow!("--from/--to: {e}"))?;
    // The robot's secrets come from the real vault (read only); everything
    // the trial writes goes to its own data directory.
    let config = crate::config::Config::load(g.config.as_deref())?;
    let database = super::database(g, &config);
    let vault = match marc_vault::VaultKey::from_env() {
        Ok(key) if g.data.is_dir() || database.is_some() => {
            let store = super::open_store(&g.data, database.as_deref())?;
            Some(marc_vault::Vault::open(&store, key)?)
        }
        _ => None,
    };
    let secrets: Arc<dyn SecretSource> = Arc::new(super::request::CliSecrets { vault });
    let scratch = match &a.keep {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            None
        }
        None => Some(tempfile::tempdir().context("cannot create a scratch directory")?),
    };
    let data = a
        .keep
        .clone()
        .or_else(|| scratch.as_ref().map(|d| d.path().to_path_buf()))
        .ok_or_else(|| anyhow!("no data directory for the trial"))?;
    // Never the installation's database: the trial's state is its own.
    let trial = Global {
        data: data.clone(),
        config: None,
        database: None,
        ..g.clone()
    };
    let (settings, _) = super::request::settings(&trial, a.robots.clone(), a.scripts.clone())?;
    let manifest = crate::robot::select(
        crate::robot::load_all(&settings.robots_dir)?,
        std::slice::from_ref(&a.name),
    )?
    .into_iter()
    .next()
    .ok_or_else(|| anyhow!("no robot {:?}", a.name))?;
    let spec = RequestSpec {
        cpr,
        period,
        systems: vec![manifest.system.clone()],
        topics: vec![],
        name: String::new(),
        address: String::new(),
        requester: settings.actor.clone(),
        requested_by: None,
        consent: None,
    };
    let rec = pipeline::create_request(&settings, &spec, &spec.systems, &settings.actor, None)?;
    let wd = super::WebDriver::start(rt, a.webdriver.clone())?;
    let mut base_urls = HashMap::new();
    if let Some(u) = &a.base_url {
        base_urls.insert(manifest.system.clone(), u.clone());
    }
    let runner = RobotRunner {
        handle: rt.handle().clone(),
        options: RunnerOptions {
            webdriver: wd.url.clone(),
            local_browser: wd.local,
            secrets,
            base_urls,
            attempts: a.attempts,
            recording: pipeline::Recording::from_flags(a.screenshots, false),
            verbose: true,
            x11_display: None,
            progress: None,
        },
    };
    let state = runner.run_robot(&settings, &rec, &manifest, RunState::default());
    wd.stop(rt);
    let docs = pipeline::documents(&settings.store, &rec.id)?;
    if let Some(out) = &a.out {
        let mut text = String::new();
        for d in &docs {
            text.push_str(&serde_json::to_string(d)?);
            text.push('\n');
        }
        std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    }
    report(&a, &manifest.system, &state, &docs, a.keep.as_deref())?;
    Ok(if state.status == RunStatus::Complete {
        exit::OK
    } else {
        exit::ERROR
    })
}

/// Prints what a trial extracted and what it cost.
fn report(
    a: &TryArgs,
    system: &str,
    state: &RunState,
    docs: &[marc_model::Document],
    kept: Option<&Path>,
) -> Result<()> {
    let per_doc = state.webdriver_commands as f64 / docs.len().max(1) as f64;
    if a.json {
        let v = serde_json::json!({
            "system": system,
            "status": state.status,
            "failure": state.failure,
            "error": state.error,
            "attempts": state.attempts,
            "seconds": state.seconds,
            "webdriver_commands": state.webdriver_commands,
            "commands_per_document": per_doc,
            "sessions": state.sessions,
            "documents": docs,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    for d in docs {
        let title: String = d.title.chars().take(50).collect();
        outln!(
            "  {}/{}  {}  {title}  ({} chars{})",
            d.case_id,
            d.doc_id,
            d.date,
            d.text.chars().count(),
            d.ocr_confidence
                .map(|c| format!(", OCR {:.0} %", c * 100.0))
                .unwrap_or_default()
        );
        for at in &d.attachments {
            outln!(
                "      + {} ({}, {}: {} chars)",
                at.name,
                at.mime,
                at.method,
                at.text.chars().count()
            );
        }
    }
    let status = match state.status {
        RunStatus::Complete => "complete".to_string(),
        _ => format!(
            "FAILED ({}): {}",
            state.failure.as_deref().unwrap_or("unknown"),
            state.error.as_deref().unwrap_or("")
        ),
    };
    outln!(
        "{system}: {} documents in {:.1} s, {} attempt(s), {} WebDriver commands ({per_doc:.1} per document); {status}",
        docs.len(),
        state.seconds,
        state.attempts,
        state.webdriver_commands
    );
    if let (Some(dir), Some(s)) = (kept, state.sessions.last()) {
        outln!(
            "session recording: marc --data {} replay {s}",
            dir.display()
        );
    }
    Ok(())
}

/// `marc check`: compiles each script with the modules beside it
/// (`scripts/lib`) and checks every call, without running anything.
pub fn check(rt: &tokio::runtime::Runtime, scripts: &[PathBuf]) -> Result<i32> {
    let engine = crate::runtime::check::check_engine(rt.handle().clone());
    let mut problems = 0;
    for s in scripts {
        let name = s.display().to_string();
        let src = std::fs::read_to_string(s).with_context(|| format!("cannot read {name}"))?;
        let libs = libs_beside(s);
        let diags = crate::runtime::check::check_source(&engine, &name, &src, &libs);
        if diags.is_empty() {
            outln!("{name}: ok");
        }
        for d in &diags {
            errln!("{d}");
        }
        problems += diags.len();
    }
    Ok(if problems == 0 { exit::OK } else { exit::ERROR })
}

/// The modules a script can import: `lib/*.rhai` beside it (or its own
/// folder, for a module in `lib/`).
fn libs_beside(script: &Path) -> Vec<(String, String)> {
    let dir = script.parent().unwrap_or(Path::new("."));
    let lib = if dir.file_name().is_some_and(|n| n == "lib") {
        dir.to_path_buf()
    } else {
        dir.join("lib")
    };
    let mut libs: Vec<(String, String)> = std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .filter_map(|p| {
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            Some((stem, std::fs::read_to_string(&p).ok()?))
        })
        .collect();
    libs.sort();
    libs
}
