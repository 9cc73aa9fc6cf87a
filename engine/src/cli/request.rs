//! `marc run`, `marc requests`, `marc deliver`, `marc forward`, `marc dsl`,
//! `marc screen`: thin callers of the request service.

use super::io::{errln, outln, outp};
use super::{exit, usage, Global};
use crate::config::Config;
use crate::pipeline::{self, RequestRecord, RequestState, RobotRunner, RunnerOptions, Settings};
use crate::runtime::{Failure, FailureKind, SecretSource};
use crate::service::{RequestService, Submission};
use anyhow::{anyhow, Context, Result};
use clap::Args;
use marc_request::Principal;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// Topics (departments) to narrow the request to, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub topics: Vec<String>,
    /// The citizen's own name (never redacted).
    #[arg(long, default_value = "")]
    pub name: String,
    /// The citizen's own address (never redacted).
    #[arg(long, default_value = "")]
    pub address: String,
    /// Who asked, if not the citizen (shown on the cover page).
    #[arg(long)]
    pub requester: Option<String>,
    /// Where to put a copy of the answer (the PDF); marc keeps its own in
    /// the data directory.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Also write documents.jsonl and marks.jsonl (every third party's data,
    /// unredacted) into --out.
    #[arg(long)]
    pub export_documents: bool,
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
    /// Continue a stored request that was interrupted or is incomplete.
    #[arg(long)]
    pub resume: Option<String>,
    /// Attempts per system before it counts as failed (at least 1).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
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
    /// Put the request on the shared job queue in PostgreSQL and return at
    /// once: `marc worker`s and `marc serve` run it (`marc requests ID`
    /// follows it). Needs --database.
    #[arg(long)]
    pub queue: bool,
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

pub(super) fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .ok_or_else(|| format!("expected SYSTEM=URL, got {s:?}"))
}

/// The installation's settings from the configuration, the data directory
/// (created if missing: for commands that write) and the store (the data
/// directory's, or the PostgreSQL database `database` names).
pub(crate) fn settings_at(
    data: &Path,
    database: Option<&str>,
    config: &Config,
    robots: Option<PathBuf>,
    scripts: Option<PathBuf>,
) -> Result<Settings> {
    settings_keyed(data, database, config, robots, scripts, None)
}

/// As [`settings_at`]; with `key`, the audit log is keyed by it and its
/// checkpoint kept in the data directory, whatever the environment says
/// (the demo's own installation).
pub(crate) fn settings_keyed(
    data: &Path,
    database: Option<&str>,
    config: &Config,
    robots: Option<PathBuf>,
    scripts: Option<PathBuf>,
    key: Option<&marc_vault::VaultKey>,
) -> Result<Settings> {
    let store = super::open_store(data, database)?;
    let data_dir = std::path::absolute(data)
        .with_context(|| format!("cannot resolve the data directory {}", data.display()))?;
    let audit = match key {
        None => super::admin::open_audit(&store, data)?,
        Some(k) => marc_audit::AuditLog::open_with_checkpoint(
            &store,
            marc_audit::AuditKey::from_vault_key(k),
            Some(data_dir.join(marc_audit::CHECKPOINT_FILE)),
        )
        .context("cannot open the audit log")?,
    };
    let outbox = pipeline::open_outbox(&config.delivery, &data_dir, &store)?;
    Ok(Settings {
        outbox,
        review_all: config.control == "review",
        hold_unreadable: config.hold_unreadable,
        deadline_days: config.deadline_days,
        store,
        audit,
        data_dir,
        robots_dir: robots.unwrap_or_else(|| crate::robot::default_dir("robots")),
        scripts_dir: scripts.unwrap_or_else(|| crate::robot::default_dir("scripts")),
        lists_dir: config.lists_dir(),
        words: config.screening.words.clone(),
        allow_addresses: config.screening.allow_addresses.clone(),
        authority: config.authority(),
        actor: super::admin::actor(),
    })
}

/// Opens the data directory, audit log and settings.
pub(super) fn settings(
    g: &Global,
    robots: Option<PathBuf>,
    scripts: Option<PathBuf>,
) -> Result<(Settings, Config)> {
    let config = Config::load(g.config.as_deref())?;
    let s = settings_at(
        &g.data,
        super::database(g, &config).as_deref(),
        &config,
        robots,
        scripts,
    )?;
    Ok((s, config))
}

/// The request service over `settings`.
pub(crate) fn service(settings: Settings, config: &Config) -> RequestService {
    RequestService::new(settings, config.topics.clone())
}

/// The operator at this terminal, as the service sees them.
pub(super) fn operator() -> Principal {
    Principal::Staff {
        user: super::admin::actor(),
        role: marc_request::access::Role::Caseworker,
    }
}

/// Secrets from the vault when a key is configured, else `MARC_SECRET_<NAME>`.
pub(super) struct CliSecrets {
    pub(super) vault: Option<marc_vault::Vault>,
}

impl CliSecrets {
    /// The vault of `settings` when a key is configured.
    pub(super) fn open(settings: &Settings) -> Result<CliSecrets> {
        let vault = match marc_vault::VaultKey::from_env() {
            Ok(key) => Some(marc_vault::Vault::open(&settings.store, key)?),
            Err(_) => None,
        };
        Ok(CliSecrets { vault })
    }
}

impl SecretSource for CliSecrets {
    fn get(&self, name: &str) -> Result<String, Failure> {
        if let Some(v) = &self.vault {
            if let Ok(s) = v.get(name) {
                return Ok(s.expose().to_string());
            }
        }
        let env = secret_env(name);
        let value = std::env::var(&env).map_err(|_| {
            Failure::new(FailureKind::Script, format!("no secret {name:?}: add it with `marc secret set {name}` (vault key in MARC_VAULT_KEY or MARC_VAULT_KEY_FILE) or set {env}"))
        })?;
        marc_vault::register_secret(&value);
        Ok(value)
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

/// Checks before anything is stored or started that `dir` can take the
/// answer (it, or the directory it would be made in, is a directory marc
/// may write): an unwritable `--out` is found now, not after the robots
/// ran. Nothing is created.
pub(super) fn check_out_dir(dir: &Path) -> Result<()> {
    let abs = std::path::absolute(dir)
        .with_context(|| format!("cannot resolve the output directory {}", dir.display()))?;
    let existing = abs
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    if !existing.is_dir() {
        return Err(usage(format!(
            "--out {}: {} is a file, not a directory",
            dir.display(),
            existing.display()
        )));
    }
    let c = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(existing.as_os_str()))
        .map_err(|_| usage(format!("--out {}: not a usable path", dir.display())))?;
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call;
    // access(2) only reads it.
    let writable = unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0;
    if !writable {
        return Err(usage(format!(
            "--out {}: marc may not write in {}; choose another directory",
            dir.display(),
            existing.display()
        )));
    }
    Ok(())
}

/// Checks `--base-url SYSTEM=URL` against the connected systems: a typo
/// must not send a robot, with real credentials, to the manifest's default.
pub(super) fn check_base_urls(robots_dir: &Path, urls: &[(String, String)]) -> Result<()> {
    let known: Vec<String> = crate::robot::load_all(robots_dir)?
        .into_iter()
        .map(|m| m.system)
        .collect();
    for (system, url) in urls {
        if !known.contains(system) {
            return Err(usage(format!(
                "--base-url {system}={url}: no system {system:?}; connected systems are: {}",
                known.join(", ")
            )));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(usage(format!(
                "--base-url {system}={url}: the URL must start with http:// or https://"
            )));
        }
    }
    Ok(())
}

pub fn run(g: &Global, rt: &tokio::runtime::Runtime, a: RunArgs) -> Result<i32> {
    // Validate everything before anything is stored or started.
    let (settings, config) = settings(g, a.robots.clone(), a.scripts.clone())?;
    if a.queue && super::database(g, &config).is_none() {
        return Err(usage(
            "--queue puts the request on the shared job queue in PostgreSQL: give --database postgres://… (or MARC_DATABASE_URL, or [store] url)",
        ));
    }
    check_base_urls(&settings.robots_dir, &a.base_urls)?;
    check_out_dir(&a.out)?;
    let secrets: Arc<dyn SecretSource> = Arc::new(CliSecrets::open(&settings)?);
    let service = service(settings, &config);
    let rec = match &a.resume {
        Some(id) => {
            let (rec, _) = service.resume(id)?;
            if rec.state.is_closed() || rec.state == RequestState::ManualHandling {
                outln!(
                    "request {id} is {}; there is nothing to resume",
                    rec.state.as_str()
                );
                return Ok(exit::OK);
            }
            rec
        }
        None => {
            let sub = Submission {
                cpr: a.cpr.clone().unwrap_or_default(),
                from: a.from.clone().unwrap_or_default(),
                to: a.to.clone().unwrap_or_default(),
                topics: a.topics.clone(),
                systems: a.systems.clone(),
                name: a.name.clone(),
                address: a.address.clone(),
                requester: a.requester.clone(),
                ..Default::default()
            };
            service.submit(&operator(), sub).map_err(submit_error)?
        }
    };
    if a.queue {
        return queue(rt, &service, &config, g, rec, a.json);
    }
    let base_urls: HashMap<String, String> = a.base_urls.iter().cloned().collect();
    let inline = Inline {
        secrets,
        base_urls,
        webdriver: a.webdriver.clone(),
        attempts: a.attempts,
        recording: pipeline::Recording::from_flags(a.screenshots, false),
        x11_display: a.display.clone(),
    };
    let outcome = inline.execute(g, rt, &service.settings, rec)?;
    report(
        &service.settings,
        &outcome,
        &a.out,
        a.export_documents,
        a.json,
        None,
    )
}

/// `marc run --queue`: the request's jobs onto the shared queue.
fn queue(
    rt: &tokio::runtime::Runtime,
    service: &RequestService,
    config: &Config,
    g: &Global,
    rec: RequestRecord,
    json: bool,
) -> Result<i32> {
    let url = super::database(g, config).unwrap_or_default();
    let queue = rt
        .block_on(crate::service::queue::SharedQueue::connect(
            &url,
            config.store.lease(),
        ))
        .map_err(|e| anyhow!(super::scrub_password(&e.to_string(), &url)))?;
    let jobs = service.jobs(&rec);
    for job in &jobs {
        rt.block_on(queue.push_job(job.clone(), &rec))?;
    }
    if json {
        outln!(
            "{}",
            serde_json::json!({"request_id": rec.id, "state": rec.state.as_str(), "queued": jobs.len()})
        );
    } else {
        outln!(
            "request {} queued ({} job(s)); follow it with `marc requests {}`",
            rec.id,
            jobs.len(),
            rec.id
        );
    }
    Ok(exit::OK)
}

/// A refused submission: bad input is a usage error (exit 2), the rest errors.
fn submit_error(e: crate::service::ServiceError) -> anyhow::Error {
    use crate::service::ServiceError as E;
    match e {
        E::BadCpr(m) => usage(format!("--cpr: {m}")),
        E::BadPeriod(m) => usage(format!("--from/--to: {m}")),
        E::UnknownTopic(..) | E::NoSystem => usage(e.to_string()),
        E::Internal(e) => e,
        other => anyhow!(other.to_string()),
    }
}

/// How `marc run` and `marc demo` run a request in this process.
pub(super) struct Inline {
    pub secrets: Arc<dyn SecretSource>,
    pub base_urls: HashMap<String, String>,
    pub webdriver: Option<String>,
    pub attempts: u32,
    pub recording: pipeline::Recording,
    pub x11_display: Option<String>,
}

impl Inline {
    /// Starts chromedriver if needed and runs the request to its end.
    pub fn execute(
        self,
        g: &Global,
        rt: &tokio::runtime::Runtime,
        settings: &Settings,
        rec: RequestRecord,
    ) -> Result<pipeline::Outcome> {
        // An exempt citizen's request runs no robot: no browser to start.
        let rec = pipeline::check_exemption(settings, rec)?;
        let robots = matches!(rec.state, RequestState::Received | RequestState::Collecting);
        let wd = if robots {
            super::WebDriver::start(rt, self.webdriver)?
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
                secrets: self.secrets,
                base_urls: self.base_urls,
                attempts: self.attempts,
                recording: self.recording,
                verbose: g.verbose,
                x11_display: self.x11_display,
            },
        };
        let result = pipeline::execute(settings, &runner, rec);
        if let Some(b) = &bars {
            b.finish();
        }
        wd.stop(rt);
        result
    }
}

/// Documents stored per system for a request: what each robot delivered,
/// counted the same way as the total.
fn stored_per_system(
    settings: &Settings,
    id: &str,
) -> Result<std::collections::BTreeMap<String, usize>> {
    let mut m = std::collections::BTreeMap::new();
    for d in pipeline::documents(&settings.store, id)? {
        *m.entry(d.system).or_insert(0) += 1;
    }
    Ok(m)
}

/// Copies the answer to `out`, exports the documents when asked, prints
/// the outcome and returns the exit code.
pub(super) fn report(
    settings: &Settings,
    outcome: &pipeline::Outcome,
    out: &Path,
    export_documents: bool,
    json: bool,
    extra: Option<serde_json::Value>,
) -> Result<i32> {
    let rec = &outcome.record;
    let pdf = match &outcome.pdf {
        Some(p) => {
            let copy = out.join(format!("aktindsigt-{}.pdf", rec.id));
            let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            pipeline::write_private(&copy, &bytes)?;
            Some(copy)
        }
        None => None,
    };
    let jsonl = if export_documents && outcome.pdf.is_some() {
        Some(pipeline::export_documents(settings, rec, out)?)
    } else {
        None
    };
    let stored = stored_per_system(settings, &rec.id)?;
    let stored_total: usize = stored.values().sum();
    if json {
        let mut v = serde_json::json!({
            "request_id": rec.id,
            "cpr": rec.cpr,
            "name": rec.name,
            "state": rec.state.as_str(),
            "pdf": pdf,
            "documents_jsonl": jsonl,
            "documents": outcome.documents,
            "documents_stored": stored_total,
            "marks": outcome.marks,
            "deadline": rec.deadline,
            "data": settings.data_dir,
            "systems": rec.runs.iter().map(|(k, r)| (k.clone(), serde_json::json!({
                "status": r.status, "documents": stored.get(k).copied().unwrap_or(0), "attempts": r.attempts, "error": r.error,
                "seconds": r.seconds, "webdriver_commands": r.webdriver_commands, "sessions": r.sessions,
            }))).collect::<serde_json::Map<_, _>>(),
            "note": rec.note,
            "delivery": rec.delivery,
        });
        if let (Some(o), Some(serde_json::Value::Object(e))) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        outln!(
            "request {}  CPR {}  {}  period {} – {}  deadline {}",
            rec.id,
            rec.cpr,
            rec.name,
            rec.period_from,
            rec.period_to,
            rec.deadline
        );
        for (sys, r) in &rec.runs {
            let status = match r.status {
                pipeline::RunStatus::Complete => "complete".to_string(),
                pipeline::RunStatus::Failed => {
                    format!("FAILED: {}", r.error.as_deref().unwrap_or(""))
                }
                pipeline::RunStatus::Pending => "pending".to_string(),
            };
            outln!(
                "  {sys:<10} {:>4} documents  {:>6.1} s  {:>5} WebDriver commands  {status}",
                stored.get(sys).copied().unwrap_or(0),
                r.seconds,
                r.webdriver_commands
            );
        }
        outln!(
            "documents: {stored_total} stored, {} in the answer   marks: {}",
            outcome.documents,
            outcome.marks
        );
        if let Some(j) = &jsonl {
            outln!("documents.jsonl: {}", j.display());
        }
        if let Some(p) = &pdf {
            outln!("PDF: {}", p.display());
        }
        outln!(
            "state: {}{}",
            rec.state.as_str(),
            if rec.note.is_empty() {
                String::new()
            } else {
                format!(" — {}", rec.note)
            }
        );
    }
    Ok(exit_code(rec))
}

/// The exit code for a request's state (see [`exit`]).
fn exit_code(rec: &RequestRecord) -> i32 {
    match rec.state {
        RequestState::Incomplete => {
            errln!("error: request {} is INCOMPLETE: {}", rec.id, rec.note);
            exit::INCOMPLETE
        }
        RequestState::DeliveryFailed => {
            errln!("error: request {}: {}", rec.id, rec.note);
            exit::ERROR
        }
        RequestState::HeldForReview => {
            errln!("request {} is held for manual review: {}", rec.id, rec.note);
            exit::HELD
        }
        RequestState::ManualHandling => {
            errln!("request {} goes to manual handling: {}", rec.id, rec.note);
            exit::HELD
        }
        _ => exit::OK,
    }
}

pub fn dsl(rt: &tokio::runtime::Runtime) -> Result<i32> {
    let engine = crate::runtime::check::check_engine(rt.handle().clone());
    outp!("{}", crate::runtime::reference::markdown(&engine));
    Ok(exit::OK)
}

/// Whether two paths name the same file (also through a symlink or a
/// hard link); `false` when `b` does not exist yet.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

pub fn screen(g: &Global, a: ScreenArgs) -> Result<i32> {
    if same_file(&a.input, &a.output) {
        return Err(usage(format!(
            "--output {} is the input file: writing it would destroy the input; choose another file",
            a.output.display()
        )));
    }
    let config = Config::load(g.config.as_deref())?;
    let screener = marc_screening::Screener::new(
        config.lexicon()?,
        marc_screening::ScreenConfig {
            words: config.screening.words.clone(),
            allow_addresses: config.screening.allow_addresses.clone(),
            ..Default::default()
        },
    );
    let input = std::fs::File::open(&a.input)
        .with_context(|| format!("cannot open {}", a.input.display()))?;
    // Written beside the output and renamed at the end: a failed run never
    // leaves half a file, and the input is never truncated.
    let tmp = a.output.with_extension("partial");
    let output =
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let report = marc_screening::screen_jsonl(
        &screener,
        std::io::BufReader::new(input),
        std::io::BufWriter::new(output),
        std::io::stderr(),
    )?;
    std::fs::rename(&tmp, &a.output)
        .with_context(|| format!("cannot write {}", a.output.display()))?;
    errln!(
        "{} lines, {} marks, {} failed",
        report.lines,
        report.marks,
        report.failed
    );
    Ok(if report.failed > 0 {
        exit::ERROR
    } else {
        exit::OK
    })
}

pub fn requests(g: &Global, id: Option<String>, json: bool) -> Result<i32> {
    let store = super::open_existing(g)?;
    let list = match id {
        Some(id) => vec![crate::requests::get(&store, &id)?],
        None => pipeline::list(&store)?,
    };
    if json {
        for r in &list {
            outln!("{}", serde_json::to_string(r)?);
        }
    } else {
        outln!(
            "{:<22} {:<12} {:<24} {:<11} {:<11} {:>5} {:>6}  state",
            "request",
            "cpr",
            "name",
            "created",
            "deadline",
            "docs",
            "marks"
        );
        for r in &list {
            outln!(
                "{:<22} {:<12} {:<24} {:<11} {:<11} {:>5} {:>6}  {}",
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
    let rec = crate::requests::get(&settings.store, id)?;
    let rec = pipeline::deliver(&settings, rec)?;
    match rec.state {
        RequestState::Delivered => {
            outln!("delivered: {}", rec.delivery.clone().unwrap_or_default());
            if !rec.note.is_empty() {
                outln!("{}", rec.note);
            }
            Ok(exit::OK)
        }
        _ => Err(anyhow!("{}", rec.note)),
    }
}

pub fn forward(g: &Global, id: &str, cvr: &str, name: &str) -> Result<i32> {
    let (settings, _) = settings(g, None, None)?;
    let rec = crate::requests::get(&settings.store, id)?;
    let r = pipeline::forward(&settings, &settings.actor, &rec, cvr, name)?;
    outln!(
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
