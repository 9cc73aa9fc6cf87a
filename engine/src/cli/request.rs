//! `marc demo`, `marc run`, `marc dsl`, `marc screen`, `marc requests`.

use super::{exit, Global};
use crate::config::Config;
use crate::pipeline::{
    self, RequestRecord, RequestSpec, RequestState, RobotRunner, RunnerOptions, Settings,
};
use crate::runtime::{Failure, FailureKind, SecretSource};
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use marc_model::{Cpr, Period};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where to write the PDF and documents.jsonl.
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
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The citizen's CPR number, DDMMYY-SSSS.
    #[arg(long, required_unless_present = "resume")]
    pub cpr: Option<String>,
    /// First day of the period, YYYY-MM-DD (default: everything).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of the period, YYYY-MM-DD (default: today).
    #[arg(long)]
    pub to: Option<String>,
    /// Systems to search, comma-separated (default: every connected system).
    #[arg(long, value_delimiter = ',')]
    pub systems: Vec<String>,
    /// Topics or departments to narrow the request to.
    #[arg(long, value_delimiter = ',')]
    pub topics: Vec<String>,
    /// The citizen's own name (never redacted).
    #[arg(long, default_value = "")]
    pub name: String,
    /// The citizen's own address (never redacted).
    #[arg(long, default_value = "")]
    pub address: String,
    /// Who asked, if not the citizen (a third party with consent).
    #[arg(long)]
    pub requester: Option<String>,
    /// Output directory for the PDF and documents.jsonl.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Use this WebDriver server (e.g. a Selenium Grid) instead of starting chromedriver.
    #[arg(long)]
    pub webdriver: Option<String>,
    /// Robot manifests directory.
    #[arg(long)]
    pub robots: Option<PathBuf>,
    /// Robot scripts directory.
    #[arg(long)]
    pub scripts: Option<PathBuf>,
    /// Override a system's base URL: SYSTEM=URL (repeatable).
    #[arg(long = "base-url", value_parser = parse_kv)]
    pub base_urls: Vec<(String, String)>,
    /// Continue a stored request that was interrupted.
    #[arg(long)]
    pub resume: Option<String>,
    /// Attempts per system before it counts as failed.
    #[arg(long, default_value_t = 3)]
    pub attempts: u32,
    /// Record a screenshot with every page-changing robot step.
    #[arg(long)]
    pub screenshots: bool,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Run screen robots on this X11 display ("auto": marc starts Xvfb)
    /// instead of a browser canvas.
    #[arg(long)]
    pub display: Option<String>,
}

#[derive(Args, Debug)]
pub struct ScreenArgs {
    /// JSON Lines input: {"id","text","subject":{"name","cpr","address"},"words":[...]}
    #[arg(long)]
    pub input: PathBuf,
    /// JSON Lines output: {"id","marks":[{start,end,kind,text,confidence,review}]}
    #[arg(long)]
    pub output: PathBuf,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .ok_or_else(|| format!("expected SYSTEM=URL, got {s:?}"))
}

/// Opens the data directory, audit log and settings.
pub(super) fn settings(
    g: &Global,
    robots: Option<PathBuf>,
    scripts: Option<PathBuf>,
) -> Result<(Settings, Config)> {
    let config = Config::load(g.config.as_deref())?;
    let store = marc_store::Store::open(&g.data)?;
    let audit = marc_audit::AuditLog::open(&store).context("cannot open the audit log")?;
    let outbox_dir = config
        .delivery
        .outbox
        .clone()
        .unwrap_or_else(|| g.data.join("outbox"));
    let outbox = marc_delivery::Outbox::new(
        outbox_dir.clone(),
        config.delivery.endpoint.clone(),
        store.clone(),
    )
    .with_context(|| format!("cannot open the outbox {}", outbox_dir.display()))?;
    let s = Settings {
        outbox,
        review_all: config.control == "review",
        store,
        audit,
        robots_dir: robots.unwrap_or_else(|| crate::robot::default_dir("robots")),
        scripts_dir: scripts.unwrap_or_else(|| crate::robot::default_dir("scripts")),
        lists_dir: config.lists_dir(),
        words: config.screening.words.clone(),
        allow_addresses: config.screening.allow_addresses.clone(),
        authority: config.authority(),
        actor: super::admin::actor(),
    };
    Ok((s, config))
}

/// Secrets from the vault when a key is configured, else `MARC_SECRET_<NAME>`.
pub(super) struct CliSecrets {
    pub(super) vault: Option<marc_vault::Vault>,
}

impl SecretSource for CliSecrets {
    fn get(&self, name: &str) -> Result<String, Failure> {
        if let Some(v) = &self.vault {
            if let Ok(s) = v.get(name) {
                return Ok(s.expose().to_string());
            }
        }
        let env = secret_env(name);
        std::env::var(&env).map_err(|_| {
            Failure::new(FailureKind::Script, format!("no secret {name:?}: add it with `marc secret set {name}` (vault key in MARC_VAULT_KEY or MARC_VAULT_KEY_FILE) or set {env}"))
        })
    }
}

/// The environment variable a secret is read from without a vault key:
/// `legacy.password` → `MARC_SECRET_LEGACY_PASSWORD`.
pub(super) fn secret_env(name: &str) -> String {
    format!(
        "MARC_SECRET_{}",
        name.to_uppercase().replace(['.', '-'], "_")
    )
}

/// The demo's own secrets: the testbed's robot accounts, kept in memory.
struct MapSecrets(HashMap<String, String>);

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

pub fn run(g: &Global, rt: &tokio::runtime::Runtime, a: RunArgs) -> Result<i32> {
    // Validate everything before anything is stored or started.
    let today = chrono::Local::now().date_naive();
    let (settings, _config) = settings(g, a.robots.clone(), a.scripts.clone())?;
    let rec = match &a.resume {
        Some(id) => {
            let rec = pipeline::load(&settings.store, id)?.ok_or_else(|| {
                anyhow!(
                    "no request {id:?} in {}; `marc requests` lists them",
                    g.data.display()
                )
            })?;
            if !matches!(
                rec.state,
                RequestState::Received | RequestState::Collecting | RequestState::Collected
            ) {
                eprintln!(
                    "request {id} is already {}; assembling again",
                    rec.state.as_str()
                );
            }
            rec
        }
        None => {
            let cpr_s = a.cpr.as_deref().unwrap_or_default();
            let cpr: Cpr = cpr_s.parse().map_err(|e| anyhow!("--cpr: {e}"))?;
            let period = Period::parse(a.from.as_deref(), a.to.as_deref(), today)
                .map_err(|e| anyhow!("--from/--to: {e}"))?;
            let systems = pipeline::resolve_systems(&settings.robots_dir, &a.systems)?;
            let spec = RequestSpec {
                cpr,
                period,
                systems: systems.clone(),
                topics: a.topics.clone(),
                name: a.name.clone(),
                address: a.address.clone(),
                requester: a.requester.clone().unwrap_or_else(|| a.name.clone()),
            };
            let rec = pipeline::create_request(&settings, &spec, &systems)?;
            pipeline::send_receipt(&settings, &rec)?;
            rec
        }
    };
    let vault = match marc_vault::VaultKey::from_env() {
        Ok(key) => Some(marc_vault::Vault::open(&settings.store, key)?),
        Err(_) => None,
    };
    let secrets: Arc<dyn SecretSource> = Arc::new(CliSecrets { vault });
    let base_urls: HashMap<String, String> = a.base_urls.iter().cloned().collect();
    execute(
        g,
        rt,
        &settings,
        rec,
        secrets,
        base_urls,
        a.webdriver.clone(),
        &a.out,
        a.attempts,
        pipeline::Recording::from_flags(a.screenshots, false),
        a.json,
        None,
        a.display.clone(),
    )
}

/// Starts chromedriver if needed, runs the request and prints the outcome.
#[allow(clippy::too_many_arguments)]
fn execute(
    g: &Global,
    rt: &tokio::runtime::Runtime,
    settings: &Settings,
    rec: RequestRecord,
    secrets: Arc<dyn SecretSource>,
    base_urls: HashMap<String, String>,
    webdriver: Option<String>,
    out: &Path,
    attempts: u32,
    recording: pipeline::Recording,
    json: bool,
    extra: Option<serde_json::Value>,
    x11_display: Option<String>,
) -> Result<i32> {
    // An exempt citizen's request runs no robot: no browser to start.
    let rec = pipeline::check_exemption(settings, rec)?;
    let robots = rec.state != RequestState::ManualHandling;
    let wd = if robots {
        super::WebDriver::start(rt, webdriver)?
    } else {
        super::WebDriver::none()
    };
    let bars = robots
        .then(|| super::progress::Bars::for_terminal(&rec.systems, g.verbose))
        .flatten()
        .map(Arc::new);
    let runner = RobotRunner {
        handle: rt.handle().clone(),
        options: RunnerOptions {
            progress: bars.clone().map(|b| b as Arc<dyn pipeline::Progress>),
            webdriver: wd.url.clone(),
            local_browser: wd.local,
            secrets,
            base_urls,
            attempts,
            recording,
            verbose: g.verbose,
            x11_display,
        },
    };
    let result = pipeline::execute(settings, &runner, rec, out);
    if let Some(b) = &bars {
        b.finish();
    }
    wd.stop(rt);
    let outcome = result?;
    let rec = &outcome.record;
    if json {
        let mut v = serde_json::json!({
            "request_id": rec.id,
            "cpr": rec.cpr,
            "name": rec.name,
            "state": rec.state.as_str(),
            "pdf": outcome.pdf,
            "documents_jsonl": outcome.jsonl,
            "documents": outcome.documents,
            "marks": outcome.marks,
            "systems": rec.runs.iter().map(|(k, r)| (k.clone(), serde_json::json!({
                "status": r.status, "documents": r.documents, "attempts": r.attempts, "error": r.error,
                "seconds": r.seconds, "webdriver_commands": r.webdriver_commands, "sessions": r.sessions,
            }))).collect::<serde_json::Map<_, _>>(),
            "note": rec.note,
            "delivery": rec.delivery,
        });
        if let Some(extra) = extra {
            if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
                o.extend(e);
            }
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "request {}  CPR {}  {}  period {} – {}",
            rec.id, rec.cpr, rec.name, rec.period_from, rec.period_to
        );
        for (sys, r) in &rec.runs {
            let status = match r.status {
                pipeline::RunStatus::Complete => "complete".to_string(),
                pipeline::RunStatus::Failed => {
                    format!("FAILED: {}", r.error.as_deref().unwrap_or(""))
                }
                pipeline::RunStatus::Pending => "pending".to_string(),
            };
            println!(
                "  {sys:<10} {:>4} documents  {:>6.1} s  {:>5} WebDriver commands  {status}",
                r.documents, r.seconds, r.webdriver_commands
            );
        }
        println!(
            "documents: {}   marks: {}",
            outcome.documents, outcome.marks
        );
        if let Some(j) = &outcome.jsonl {
            println!("documents.jsonl: {}", j.display());
        }
        if let Some(p) = &outcome.pdf {
            println!("PDF: {}", p.display());
        }
        println!(
            "state: {}{}",
            rec.state.as_str(),
            if rec.note.is_empty() {
                String::new()
            } else {
                format!(" — {}", rec.note)
            }
        );
    }
    Ok(match rec.state {
        RequestState::Incomplete => {
            eprintln!("error: request {} is INCOMPLETE: {}", rec.id, rec.note);
            exit::INCOMPLETE
        }
        RequestState::DeliveryFailed => {
            eprintln!("error: request {}: {}", rec.id, rec.note);
            exit::ERROR
        }
        RequestState::HeldForReview => {
            eprintln!("request {} is held for manual review: {}", rec.id, rec.note);
            exit::HELD
        }
        RequestState::ManualHandling => {
            eprintln!("request {} goes to manual handling: {}", rec.id, rec.note);
            exit::HELD
        }
        _ => exit::OK,
    })
}

pub fn demo(g: &Global, rt: &tokio::runtime::Runtime, a: DemoArgs) -> Result<i32> {
    let (settings, _config) = settings(g, None, None)?;
    let cfg = marc_testbed::TestbedConfig {
        seed: a.seed,
        log_file: a.testbed_log.clone(),
        ..Default::default()
    };
    let testbed = rt
        .block_on(marc_testbed::Testbed::start(cfg))
        .context("cannot start the testbed")?;
    let citizen = testbed.world.demo_citizen().clone();
    // The terminal system's canvas front end, on the same seeded world.
    let (terminal_url, terminal_task) = rt
        .block_on(marc_testbed_terminal::web::serve(testbed.world.clone(), 0))
        .context("cannot start the testbed's terminal system")?;
    let mut base_urls = HashMap::new();
    base_urls.insert("esdh".to_string(), testbed.esdh_url.clone());
    base_urls.insert("legacy".to_string(), testbed.legacy_url.clone());
    base_urls.insert("terminal".to_string(), format!("{terminal_url}/"));
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
    let mut secrets = HashMap::new();
    for (sys, user, pass) in marc_testbed::CREDENTIALS {
        secrets.insert(format!("{sys}.user"), user.to_string());
        secrets.insert(format!("{sys}.password"), pass.to_string());
    }
    let today = chrono::Local::now().date_naive();
    let spec = RequestSpec {
        cpr: citizen
            .cpr
            .parse()
            .map_err(|e| anyhow!("testbed citizen: {e}"))?,
        period: Period::parse(None, None, today)?,
        systems: systems.clone(),
        topics: vec![],
        name: citizen.name.clone(),
        address: citizen.address.clone(),
        requester: citizen.name.clone(),
    };
    if !a.json {
        println!(
            "testbed: esdh {}  legacy {}  terminal {}",
            testbed.esdh_url, testbed.legacy_url, terminal_url
        );
        println!("demo citizen: {} ({})", citizen.name, citizen.cpr);
    }
    let rec = pipeline::create_request(&settings, &spec, &systems)?;
    pipeline::send_receipt(&settings, &rec)?;
    let extra = serde_json::json!({ "seed": a.seed, "testbed": { "esdh": testbed.esdh_url, "legacy": testbed.legacy_url, "terminal": terminal_url } });
    let r = execute(
        g,
        rt,
        &settings,
        rec,
        Arc::new(MapSecrets(secrets)),
        base_urls,
        None,
        &a.out,
        3,
        pipeline::Recording::from_flags(a.screenshots, a.no_recording),
        a.json,
        Some(extra),
        (a.screen == "x11").then(|| "auto".to_string()),
    );
    terminal_task.abort();
    rt.block_on(testbed.stop());
    r
}

pub fn dsl(rt: &tokio::runtime::Runtime) -> Result<i32> {
    let engine = crate::runtime::check::check_engine(rt.handle().clone());
    print!("{}", crate::runtime::reference::markdown(&engine));
    Ok(exit::OK)
}

pub fn screen(g: &Global, a: ScreenArgs) -> Result<i32> {
    let config = Config::load(g.config.as_deref())?;
    let lexicon = config.lexicon()?;
    let screener = marc_screening::Screener::new(
        lexicon,
        marc_screening::ScreenConfig {
            words: config.screening.words.clone(),
            allow_addresses: config.screening.allow_addresses.clone(),
            ..Default::default()
        },
    );
    let input = std::fs::File::open(&a.input)
        .with_context(|| format!("cannot open {}", a.input.display()))?;
    let output = std::fs::File::create(&a.output)
        .with_context(|| format!("cannot create {}", a.output.display()))?;
    let report = marc_screening::screen_jsonl(
        &screener,
        std::io::BufReader::new(input),
        std::io::BufWriter::new(output),
        std::io::stderr(),
    )?;
    eprintln!(
        "{} lines, {} marks, {} failed",
        report.lines, report.marks, report.failed
    );
    Ok(if report.failed > 0 {
        exit::ERROR
    } else {
        exit::OK
    })
}

pub fn requests(g: &Global, id: Option<String>, json: bool) -> Result<i32> {
    let store = marc_store::Store::open(&g.data)?;
    let list = match id {
        Some(id) => vec![pipeline::load(&store, &id)?.ok_or_else(|| anyhow!("no request {id:?}"))?],
        None => pipeline::list(&store)?,
    };
    if json {
        for r in &list {
            println!("{}", serde_json::to_string(r)?);
        }
    } else {
        println!(
            "{:<16} {:<12} {:<24} {:<11} {:<11} {:>5} {:>6}  state",
            "request", "cpr", "name", "created", "deadline", "docs", "marks"
        );
        for r in &list {
            println!(
                "{:<16} {:<12} {:<24} {:<11} {:<11} {:>5} {:>6}  {}",
                r.id,
                r.cpr,
                r.name.chars().take(24).collect::<String>(),
                r.created.format("%Y-%m-%d"),
                r.deadline,
                r.documents,
                r.marks,
                r.state.as_str()
            );
        }
    }
    Ok(exit::OK)
}

pub fn deliver(g: &Global, id: &str) -> Result<i32> {
    let (settings, _) = settings(g, None, None)?;
    let rec = pipeline::load(&settings.store, id)?.ok_or_else(|| anyhow!("no request {id:?}"))?;
    let rec = pipeline::deliver(&settings, rec)?;
    match rec.state {
        RequestState::Delivered => {
            println!("delivered: {}", rec.delivery.clone().unwrap_or_default());
            if !rec.note.is_empty() {
                println!("{}", rec.note);
            }
            Ok(exit::OK)
        }
        _ => bail!("{}", rec.note),
    }
}

pub fn forward(g: &Global, id: &str, cvr: &str, name: &str) -> Result<i32> {
    let (settings, _) = settings(g, None, None)?;
    let rec = pipeline::load(&settings.store, id)?.ok_or_else(|| anyhow!("no request {id:?}"))?;
    let r = pipeline::forward(&settings, &rec, cvr, name)?;
    println!(
        "forwarded to {name} (CVR {cvr}): {}{}",
        r.file.display(),
        if r.repeated {
            " (sent earlier; not sent again)"
        } else {
            ""
        }
    );
    Ok(exit::OK)
}
