//! `marc secret`, `marc audit`, `marc replay`: the operator's and auditor's tools.

use super::io::{errln, outln, outp};
use super::{exit, Global};
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use marc_audit::{AuditKey, AuditLog, Filter, NewEntry};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum SecretCommand {
    /// Store a secret; the value is read from stdin (never from the command line).
    Set {
        /// e.g. `esdh.password`
        name: String,
    },
    /// List secret names (never values).
    List,
    /// Remove a secret.
    Rm { name: String },
    /// Print a new random vault key (hex) to keep outside the data directory.
    Keygen,
}

#[derive(Subcommand, Debug)]
pub enum ExemptCommand {
    /// Exempt a citizen: their requests go straight to a caseworker, no robot runs.
    Add {
        /// CPR number, DDMMYY-SSSS.
        cpr: String,
        /// Why, for staff (e.g. "fraud investigation"); never shown to the citizen.
        #[arg(long)]
        reason: String,
    },
    /// Lift a citizen's exemption.
    Rm {
        /// CPR number, DDMMYY-SSSS.
        cpr: String,
    },
    /// List exempt citizens.
    List {
        /// JSON Lines instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum StaffCommand {
    /// Make a staff account. The password is read from standard input, or
    /// prompted for (twice, not shown) at a terminal.
    Add {
        /// Login name: lower-case letters, digits, '.', '-', '_'.
        name: String,
        /// caseworker, manager, admin or auditor.
        #[arg(long)]
        role: String,
    },
    /// Remove a staff account.
    Rm { name: String },
    /// List staff accounts.
    List {
        /// JSON Lines instead of a table (without password hashes).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the whole hash chain; names the first broken entry.
    Verify,
    /// Start writing the log from this data directory beside other marc
    /// processes on the same PostgreSQL database (a new worker machine):
    /// verifies the whole chain, starts this directory's checkpoint at its
    /// head and records the joining in the log.
    Join,
    /// Show entries, filtered.
    Log {
        #[arg(long)]
        robot: Option<String>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        request: Option<String>,
        #[arg(long)]
        session: Option<String>,
        /// Action, exact or a prefix ending in `*`.
        #[arg(long)]
        action: Option<String>,
        /// RFC 3339 or YYYY-MM-DD, inclusive.
        #[arg(long)]
        since: Option<String>,
        /// RFC 3339 or YYYY-MM-DD, exclusive.
        #[arg(long)]
        until: Option<String>,
        /// Only the last N entries.
        #[arg(long)]
        limit: Option<usize>,
        /// JSON Lines instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Session id (see `marc replay --list`).
    pub session: Option<String>,
    /// List recorded sessions.
    #[arg(long)]
    pub list: bool,
    /// Write a self-contained trace page (index.html + screenshots) to DIR.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Re-run the recorded actions against the system as a dry run (nothing
    /// is extracted) and report the first step whose outcome differs.
    #[arg(long)]
    pub execute: bool,
    /// With --execute: the system's base URL now, if it moved since the recording.
    #[arg(long)]
    pub base_url: Option<String>,
    /// With --execute: use this WebDriver server instead of starting chromedriver.
    #[arg(long)]
    pub webdriver: Option<String>,
}

use super::store;

thread_local! {
    /// The uid of the person whose command `marc serve` runs on this
    /// thread (from the socket's peer credentials); unset: this process's.
    static CALLER_UID: std::cell::Cell<Option<u32>> = const { std::cell::Cell::new(None) };
}

/// Names the caller of a command forwarded to `marc serve` (see [`actor`]);
/// `None` (the peer's uid unknown) is recorded as such, never as the server's user.
pub(super) fn set_caller_uid(uid: Option<u32>) {
    CALLER_UID.with(|c| c.set(Some(uid.unwrap_or(u32::MAX))));
}

/// Who is at the command line, for the audit log: the OS user this process
/// runs as (its real uid, looked up by the system; `$USER` is whatever the
/// caller set it to).
pub(super) fn actor() -> String {
    let uid = CALLER_UID.with(|c| c.get()).unwrap_or_else(|| {
        // SAFETY: getuid has no preconditions and cannot fail.
        unsafe { libc::getuid() }
    });
    match marc_webdriver::user_name(uid) {
        Some(name) => format!("cli:{name} (uid {uid})"),
        None => format!("cli:uid {uid}"),
    }
}

/// The audit log of `store`, authenticated with the key derived from the vault
/// key, its checkpoint in the data directory `data` (also when the store is
/// PostgreSQL); refuses (clearly) when no key is configured or the log lost
/// entries.
pub(super) fn open_audit(store: &marc_store::Store, data: &std::path::Path) -> Result<AuditLog> {
    if let Some(served) = super::control::served_audit(data) {
        return Ok(served);
    }
    let key = AuditKey::from_env(data)?;
    AuditLog::open_with_checkpoint(store, key, marc_audit::default_checkpoint_path(data))
        .context("cannot open the audit log")
}

fn cpr(s: &str) -> Result<marc_model::Cpr> {
    s.parse()
        .map_err(|e| anyhow!("{s:?} is not a CPR number: {e}"))
}

pub fn staff(g: &Global, c: StaffCommand) -> Result<i32> {
    use crate::service::staff;
    let (settings, _) = super::request::settings(g, None, None)?;
    match c {
        StaffCommand::Add { name, role } => {
            let role = staff::role(&role)?;
            let password = super::io::read_password(&format!("Password for {name}"))
                .context("cannot read the password")?;
            let a = staff::add(&settings, &actor(), &name, role, &password)?;
            errln!("{} can log in as {} at /personale", a.user, a.role.as_str());
        }
        StaffCommand::Rm { name } => {
            staff::remove(&settings, &actor(), &name)?;
            errln!("{name} can no longer log in");
        }
        StaffCommand::List { json } => {
            for a in staff::list(&settings)? {
                let role = a.role.as_str();
                if json {
                    outln!(
                        "{}",
                        serde_json::json!({"user": a.user, "role": role, "created": a.created})
                    );
                } else {
                    outln!(
                        "{:<20} {:<11} {}",
                        a.user,
                        role,
                        a.created.format("%Y-%m-%d")
                    );
                }
            }
        }
    }
    Ok(super::exit::OK)
}

pub fn exempt(g: &Global, c: ExemptCommand) -> Result<i32> {
    use crate::pipeline::exemptions;
    let store = store(g)?;
    let audit = open_audit(&store, &g.data)?;
    match c {
        ExemptCommand::Add { cpr: c, reason } => {
            if reason.trim().is_empty() {
                bail!("say why with --reason (kept for staff, never shown to the citizen)");
            }
            let e = exemptions::add(&store, &audit, &actor(), &cpr(&c)?, &reason)?;
            errln!("{} is exempt from automatic handling", e.cpr);
        }
        ExemptCommand::Rm { cpr: c } => {
            let c = cpr(&c)?;
            if !exemptions::remove(&store, &audit, &actor(), &c)? {
                bail!("{} is not exempt", c.formatted());
            }
            errln!("{} is no longer exempt", c.formatted());
        }
        ExemptCommand::List { json } => {
            for e in exemptions::list(&store)? {
                if json {
                    outln!("{}", serde_json::to_string(&e)?);
                } else {
                    outln!(
                        "{}  {}  {:<16} {}",
                        e.cpr,
                        e.added.format("%Y-%m-%d"),
                        e.by,
                        e.reason
                    );
                }
            }
        }
    }
    Ok(exit::OK)
}

pub fn secret(g: &Global, c: SecretCommand) -> Result<i32> {
    if let SecretCommand::Keygen = c {
        outln!("{}", marc_vault::VaultKey::generate().to_hex());
        return Ok(exit::OK);
    }
    let store = store(g)?;
    let key = marc_vault::VaultKey::from_env().context("no vault key")?;
    let vault = marc_vault::Vault::open(&store, key)?;
    let audit = open_audit(&store, &g.data)?;
    match c {
        SecretCommand::Set { name } => {
            let v = super::io::stdin_bytes().context("cannot read the secret from stdin")?;
            let v = String::from_utf8(v).context("the secret read from stdin is not UTF-8")?;
            let v = v.trim_end_matches(['\n', '\r']);
            if v.is_empty() {
                bail!("the secret read from stdin is empty; pipe it in, e.g. `printf %s \"$PW\" | marc secret set {name}`");
            }
            vault.set(&name, v)?;
            audit.append(
                NewEntry::user(actor(), "secret.set").detail(serde_json::json!({"name": name})),
            )?;
            errln!("stored {name}");
        }
        SecretCommand::List => {
            for n in vault.list()? {
                outln!("{n}");
            }
        }
        SecretCommand::Rm { name } => {
            if !vault.remove(&name)? {
                bail!("no secret named {name:?}");
            }
            audit.append(
                NewEntry::user(actor(), "secret.removed").detail(serde_json::json!({"name": name})),
            )?;
            errln!("removed {name}");
        }
        SecretCommand::Keygen => unreachable!("handled above"),
    }
    Ok(exit::OK)
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| anyhow!("{s:?} is not a time; use YYYY-MM-DD or RFC 3339"))?;
    Ok(d.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default())
}

pub fn audit(g: &Global, c: AuditCommand) -> Result<i32> {
    let store = store(g)?;
    match c {
        AuditCommand::Verify => {
            let key = AuditKey::from_env(&g.data)
                .context("`marc audit verify` checks every entry's MAC, which needs the key")?;
            let checkpoint = marc_audit::default_checkpoint_path(&g.data);
            let r = marc_audit::verify(&store, &key, checkpoint.as_deref())?;
            if r.is_ok() {
                outln!("{r}");
                Ok(exit::OK)
            } else {
                errln!("{r}");
                Ok(exit::ERROR)
            }
        }
        AuditCommand::Join => {
            let key = AuditKey::from_env(&g.data)
                .context("`marc audit join` verifies every entry's MAC, which needs the key")?;
            let checkpoint = marc_audit::default_checkpoint_path(&g.data).context(
                "`marc audit join` keeps the checkpoint in the data directory: give --data",
            )?;
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default();
            let data = std::path::absolute(&g.data).unwrap_or_else(|_| g.data.clone());
            let node = format!("{host}:{}", data.display());
            let (_, entry) = AuditLog::join(&store, key, checkpoint, &actor(), &node)
                .context("cannot join the audit log")?;
            outln!(
                "{node} joined the audit log at entry {} (the {} entries before it verify)",
                entry.seq,
                entry.detail["verified_entries"]
            );
            Ok(exit::OK)
        }
        AuditCommand::Log {
            robot,
            user,
            request,
            session,
            action,
            since,
            until,
            limit,
            json,
        } => {
            let f = Filter {
                robot,
                user,
                request,
                session,
                action,
                since: since.as_deref().map(parse_time).transpose()?,
                until: until.as_deref().map(parse_time).transpose()?,
                limit,
                ..Default::default()
            };
            let entries = marc_audit::query(&store, &f)?;
            if json {
                outp!("{}", marc_audit::render_jsonl(&entries));
            } else {
                outp!("{}", marc_audit::render_table(&entries));
            }
            Ok(exit::OK)
        }
    }
}

pub fn replay(g: &Global, rt: &tokio::runtime::Runtime, a: ReplayArgs) -> Result<i32> {
    if a.execute {
        return replay_execute(g, rt, a);
    }
    let store = store(g)?;
    if a.list || a.session.is_none() {
        for m in marc_recording::list_sessions(&store)? {
            outln!(
                "{:<40} {:<16} {:>5} steps  {}  {}",
                m.id,
                m.robot,
                m.steps,
                m.started,
                marc_recording::outcome_text(&m)
            );
        }
        return Ok(exit::OK);
    }
    let id = a.session.unwrap_or_default();
    let session = marc_recording::load_session(&store, &id)?;
    if let Some(dir) = a.html {
        let index = marc_recording::write_html(&store, &session, &dir)?;
        outln!("{}", index.display());
        return Ok(exit::OK);
    }
    outp!("{}", marc_recording::render_terminal(&session));
    Ok(exit::OK)
}

/// The origin (scheme://host:port) of a URL.
fn origin(url: &str) -> Option<&str> {
    let rest = url.find("://")? + 3;
    Some(match url[rest..].find('/') {
        Some(i) => &url[..rest + i],
        None => url,
    })
}

fn replay_execute(g: &Global, rt: &tokio::runtime::Runtime, a: ReplayArgs) -> Result<i32> {
    use crate::pipeline::{RobotRunner, RunnerOptions};
    let id = a
        .session
        .clone()
        .ok_or_else(|| anyhow!("name the session to re-run; `marc replay --list` lists them"))?;
    let (settings, _) = super::request::settings(g, None, None)?;
    let mut session = marc_recording::load_session(&settings.store, &id)?;
    let system = session
        .meta
        .system
        .clone()
        .ok_or_else(|| anyhow!("session {id} names no system"))?;
    let request = session
        .meta
        .request
        .clone()
        .ok_or_else(|| anyhow!("session {id} names no request"))?;
    let m = crate::robot::select(
        crate::robot::load_all(&settings.robots_dir)?,
        std::slice::from_ref(&system),
    )?
    .into_iter()
    .next()
    .ok_or_else(|| anyhow!("no robot for system {system}"))?;
    let rec = crate::pipeline::load(&settings.store, &request)?
        .ok_or_else(|| anyhow!("no request {request:?}"))?;
    let recorded_origin = session
        .steps
        .iter()
        .find(|s| s.command == "navigate")
        .and_then(|s| s.args.first())
        .and_then(|u| origin(u))
        .map(str::to_string)
        .unwrap_or_else(|| m.base_url.clone());
    let base = a
        .base_url
        .clone()
        .unwrap_or_else(|| recorded_origin.clone());
    if let Some(new_origin) = origin(&base).map(str::to_string) {
        for s in &mut session.steps {
            for arg in &mut s.args {
                *arg = arg.replace(&recorded_origin, &new_origin);
            }
        }
    }
    let source = crate::replay::script(&session);
    let vault = marc_vault::VaultKey::from_env()
        .ok()
        .map(|k| marc_vault::Vault::open(&settings.store, k))
        .transpose()?;
    let wd = super::WebDriver::start(rt, a.webdriver.clone())?;
    let runner = RobotRunner {
        handle: rt.handle().clone(),
        options: RunnerOptions {
            webdriver: wd.url.clone(),
            local_browser: wd.local,
            secrets: std::sync::Arc::new(super::request::CliSecrets { vault }),
            base_urls: Default::default(),
            attempts: 1,
            recording: crate::pipeline::Recording::Steps,
            verbose: g.verbose,
            x11_display: None,
            progress: None,
        },
    };
    let replayed_id = runner.replay(&settings, &rec, &m, &base, &id, &source);
    wd.stop(rt);
    let replayed_id = replayed_id.map_err(|e| anyhow!(e))?;
    let replayed = marc_recording::load_session(&settings.store, &replayed_id)?;
    let (expected, actual) = (
        crate::replay::replayable(&session),
        crate::replay::replayable(&replayed),
    );
    settings.audit.append(
        NewEntry::user(actor(), "session.replayed")
            .session(&id)
            .detail(serde_json::json!({"replay": replayed_id})),
    )?;
    match marc_recording::diff_replay(&expected, &actual) {
        None => {
            outln!(
                "replay {replayed_id}: all {} recorded actions gave the same results",
                expected.steps.len()
            );
            Ok(exit::OK)
        }
        Some(d) => {
            outln!(
                "replay {replayed_id} diverges at step {} ({}):\n  recorded: {}\n  now:      {}",
                d.step,
                d.field,
                d.expected,
                d.actual
            );
            Ok(exit::ERROR)
        }
    }
}
