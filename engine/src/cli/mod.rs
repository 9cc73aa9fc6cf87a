//! The `marc` command line: thin handlers over the library.

mod admin;
mod control;
mod delivery;
#[cfg(feature = "testbed")]
mod demo;
mod io;
mod progress;
mod record;
mod request;
mod robot;
mod serve;
#[cfg(feature = "testbed")]
mod testbed;
mod worker;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Exit codes, so scripts and schedulers can tell outcomes apart.
pub mod exit {
    /// Done, complete.
    pub const OK: i32 = 0;
    /// An error (bad input, a system down, an I/O failure).
    pub const ERROR: i32 = 1;
    /// Bad command-line usage: clap's own errors, and arguments marc
    /// refuses (a malformed CPR number or period, an unknown system, ...).
    pub const USAGE: i32 = 2;
    /// The request is incomplete: at least one system failed after retries.
    pub const INCOMPLETE: i32 = 3;
    /// The request is held for a caseworker (leak check, control level, or an
    /// exempt citizen).
    pub const HELD: i32 = 4;
}

/// marc — software robots for digital aktindsigt (access to records).
///
/// Robots log in to each case system as their own system user, extract every
/// document about a CPR number, screen them for other people's data, and
/// assemble one redacted PDF for the citizen.
#[derive(Parser, Debug)]
#[command(name = "marc", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Data directory (requests, documents, audit log, recordings, vault).
    #[arg(long, global = true, default_value = "data", env = "MARC_DATA")]
    pub data: PathBuf,
    /// Configuration file (authority, screening words and lists, delivery).
    #[arg(long, global = true, env = "MARC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Keep the state (requests, documents, audit log, vault, ...) in this
    /// PostgreSQL database (postgres://user@host:port/database) instead of
    /// the data directory, which still holds marc's files. Overrides
    /// `[store] url` in the configuration.
    #[arg(
        long,
        global = true,
        env = "MARC_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database: Option<DatabaseUrl>,
    /// Log as JSON lines on stderr instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
    /// More output (robot log lines, debug logs).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// A store URL as given: its password never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty; give a postgres://user@host:port/database URL".into());
        }
        Ok(DatabaseUrl(s.to_string()))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", marc_store::redact_url(&self.0))
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&marc_store::redact_url(&self.0))
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the whole job on the built-in testbed: start the simulated case
    /// systems, pick a citizen, run the robots, screen, assemble the PDF, stop.
    /// Uses its own data directory and settings (under --out), never yours.
    #[cfg(feature = "testbed")]
    Demo(demo::DemoArgs),
    /// The web app and a worker pool: citizens and third parties request,
    /// follow and download; queued requests run concurrently.
    Serve(serve::ServeArgs),
    /// Take robot jobs from the shared queue in PostgreSQL and run them on
    /// this machine, beside other workers and `marc serve` nodes.
    Worker(worker::WorkerArgs),
    /// Run an access-to-records request for one CPR number across the connected systems.
    Run(request::RunArgs),
    /// Compile robot scripts and check every call against the API, without running them.
    Check {
        /// Script files (.rhai).
        #[arg(required = true)]
        scripts: Vec<PathBuf>,
    },
    /// Print the robot DSL reference, generated from the registered API.
    Dsl,
    /// Screen JSON Lines of texts for other people's data (see README for the format).
    Screen(request::ScreenArgs),
    /// List stored requests, or show one.
    Requests {
        /// Show this request in full.
        id: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Deliver a request's PDF to the requester's digital mailbox (after a caseworker's review).
    Deliver {
        /// Request id.
        id: String,
    },
    /// The Digital Post ledger: list deliveries, confirm or retry one that is in doubt.
    #[command(subcommand)]
    Delivery(delivery::DeliveryCommand),
    /// Forward a request's PDF to another municipality's secure mailbox.
    Forward {
        /// Request id.
        id: String,
        /// The receiving municipality's CVR number.
        #[arg(long)]
        cvr: String,
        /// The receiving municipality's name.
        #[arg(long)]
        name: String,
    },
    /// The simulated case systems used by the demo and the tests.
    #[cfg(feature = "testbed")]
    #[command(subcommand)]
    Testbed(testbed::TestbedCommand),
    /// In a build without the testbed (a production build): says how to get it.
    #[cfg(not(feature = "testbed"))]
    #[command(hide = true, disable_help_flag = true)]
    Demo {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    #[cfg(not(feature = "testbed"))]
    #[command(hide = true, disable_help_flag = true)]
    Testbed {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print the effective configuration (marc.toml with every default filled in).
    Config,
    /// Manage the robots' secrets in the encrypted vault (key from MARC_VAULT_KEY or MARC_VAULT_KEY_FILE).
    #[command(subcommand)]
    Secret(admin::SecretCommand),
    /// Citizens exempt from automatic handling (their requests go to a caseworker).
    #[command(subcommand)]
    Exempt(admin::ExemptCommand),
    /// Staff accounts of the web app (caseworkers, managers, administrators, auditors).
    #[command(subcommand)]
    Staff(admin::StaffCommand),
    /// Inspect and verify the hash-chained audit log.
    #[command(subcommand)]
    Audit(admin::AuditCommand),
    /// Step through a recorded robot session, write its trace page, or re-run it as a dry run.
    Replay(admin::ReplayArgs),
    /// Do the work once in a browser; marc writes it as a robot script.
    Record(record::RecordArgs),
    /// Write a new robot, or try one alone against its system.
    #[command(subcommand)]
    Robot(robot::RobotCommand),
    /// Internal: one robot attempt in its own process, started by the engine
    /// (see the `worker` module); speaks JSON Lines on stdin and stdout.
    #[command(name = "robot-worker", hide = true)]
    RobotWorker {
        /// The system this robot works on (shown in process lists).
        #[arg(long)]
        system: String,
    },
}

/// Parses arguments, runs the command and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
        }
    };
    init_tracing(&cli.global);
    marc_vault::install_panic_redaction();
    if let Command::RobotWorker { .. } = cli.command {
        return crate::worker::child::main();
    }
    // While `marc serve` holds this data directory, its commands run there.
    if let Some(code) = control::forward_if_served(&cli) {
        return code;
    }
    let runtime = match new_runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    install_signal_handlers(&runtime);
    dispatch(cli, &runtime)
}

/// The async runtime a command's blocking code drives its I/O on.
pub(crate) fn new_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(4)
        .build()
}

/// Runs a parsed command (in this process, or for the command line in a
/// running `marc serve`) and returns its exit code; errors are written as
/// one line to (captured) standard error.
pub(crate) fn dispatch(cli: Cli, runtime: &tokio::runtime::Runtime) -> i32 {
    let r = match cli.command {
        #[cfg(feature = "testbed")]
        Command::Demo(a) => demo::demo(&cli.global, runtime, a),
        Command::Serve(a) => serve::serve(&cli.global, runtime, a),
        Command::Worker(a) => worker::worker(&cli.global, runtime, a),
        Command::Config => config(&cli.global),
        Command::Run(a) => request::run(&cli.global, runtime, a),
        Command::Check { scripts } => robot::check(runtime, &scripts),
        Command::Dsl => request::dsl(runtime),
        Command::Screen(a) => request::screen(&cli.global, a),
        Command::Requests { id, json } => request::requests(&cli.global, id, json),
        Command::Deliver { id } => request::deliver(&cli.global, &id),
        Command::Forward { id, cvr, name } => request::forward(&cli.global, &id, &cvr, &name),
        Command::Delivery(c) => delivery::run(&cli.global, c),
        #[cfg(feature = "testbed")]
        Command::Testbed(c) => testbed::run(runtime, c),
        #[cfg(not(feature = "testbed"))]
        Command::Demo { .. } | Command::Testbed { .. } => Err(usage(
            "this marc is a production build without the testbed (the simulated case systems); \
             build it with `cargo build -p marc --features testbed`, or run `make demo` in a checkout",
        )),
        Command::Secret(c) => admin::secret(&cli.global, c),
        Command::Exempt(c) => admin::exempt(&cli.global, c),
        Command::Staff(c) => admin::staff(&cli.global, c),
        Command::Audit(c) => admin::audit(&cli.global, c),
        Command::Replay(a) => admin::replay(&cli.global, runtime, a),
        Command::Record(a) => record::record(&cli.global, runtime, a),
        Command::Robot(c) => robot::robot(&cli.global, runtime, c),
        Command::RobotWorker { .. } => Ok(crate::worker::child::main()),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            io::errln!("error: {}", chain(&e));
            if e.downcast_ref::<UsageError>().is_some() {
                exit::USAGE
            } else {
                exit::ERROR
            }
        }
    }
}

/// An argument marc refuses: the command exits with [`exit::USAGE`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

/// A usage error with this message.
pub(crate) fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// The database the state is in: `--database` (or `MARC_DATABASE_URL`),
/// else `[store] url`; `None`: the data directory.
pub(crate) fn database(g: &Global, config: &crate::config::Config) -> Option<String> {
    g.database
        .as_ref()
        .map(|d| d.as_str().to_string())
        .or_else(|| config.store.url.clone())
        .filter(|u| !u.trim().is_empty())
}

/// The one way a command opens its store: the sled store in the data
/// directory `data`, or the PostgreSQL database `database` names. With
/// PostgreSQL the data directory still holds marc's files (audit checkpoint,
/// outbox, control socket); it is created (0700) only once the database
/// answered, so a wrong URL leaves no trace on disk.
pub(crate) fn open_store(
    data: &std::path::Path,
    database: Option<&str>,
) -> anyhow::Result<marc_store::Store> {
    let Some(url) = database else {
        return Ok(marc_store::Store::open(data)?);
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(usage(format!(
            "--database / MARC_DATABASE_URL / [store] url must be a postgres://user@host:port/database URL, not {:?}; leave it unset to keep the state in the data directory (--data)",
            marc_store::redact_url(url)
        )));
    }
    let store = marc_store::Store::connect(url).map_err(|e| {
        anyhow::anyhow!(
            "{} (the database is named by --database, MARC_DATABASE_URL or [store] url in the configuration; the data directory {} was not touched)",
            scrub_password(&e.to_string(), url),
            data.display()
        )
    })?;
    marc_store::private_dir(data).map_err(|e| {
        anyhow::anyhow!(
            "cannot create the data directory {} (marc keeps its files there when the state is in PostgreSQL): {e}",
            data.display()
        )
    })?;
    Ok(store)
}

/// `text` without the password of `url`, should a driver's message quote it.
pub(crate) fn scrub_password(text: &str, url: &str) -> String {
    let mut out = text.to_string();
    let mut secrets = Vec::new();
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if let Some((_, pw)) = userinfo.split_once(':') {
                secrets.push(pw.to_string());
            }
        }
        if let Some((_, query)) = rest.split_once('?') {
            for p in query.split('&') {
                if let Some((k, v)) = p.split_once('=') {
                    if k.eq_ignore_ascii_case("password") {
                        secrets.push(v.to_string());
                    }
                }
            }
        }
    }
    for s in secrets.into_iter().filter(|s| !s.is_empty()) {
        out = out.replace(&s, "***");
    }
    out
}

/// The store of the installation `g` names (its configuration's `[store]`).
pub(crate) fn store(g: &Global) -> anyhow::Result<marc_store::Store> {
    let config = crate::config::Config::load(g.config.as_deref())?;
    open_store(&g.data, database(g, &config).as_deref())
}

/// Opens the store for a command that only reads: a missing data directory
/// is an error, not a new empty store that then "verifies" (with
/// PostgreSQL, the database is the store and the directory may be new).
pub(crate) fn open_existing(g: &Global) -> anyhow::Result<marc_store::Store> {
    let config = crate::config::Config::load(g.config.as_deref())?;
    let database = database(g, &config);
    if database.is_none() && !g.data.exists() {
        return Err(usage(format!(
            "the data directory {} does not exist; pass --data DIR (or MARC_DATA) pointing at marc's data",
            g.data.display()
        )));
    }
    open_store(&g.data, database.as_deref())
}

/// `marc config`: the effective configuration, as TOML.
fn config(g: &Global) -> anyhow::Result<i32> {
    let mut c = crate::config::Config::load(g.config.as_deref())?;
    // The effective store, without its password.
    c.store = crate::config::StoreConfig {
        url: database(g, &c),
        ..c.store.clone()
    }
    .redacted();
    io::outp!("{}", toml::to_string_pretty(&c)?);
    Ok(exit::OK)
}

/// The WebDriver server a command uses: a given URL (a Grid, or a
/// chromedriver someone else runs), or a chromedriver started here.
pub(crate) struct WebDriver {
    own: Option<marc_webdriver::Chromedriver>,
    pub url: String,
    /// The browser runs on this machine (marc gives it a fresh profile).
    pub local: bool,
}

impl WebDriver {
    pub fn start(rt: &tokio::runtime::Runtime, given: Option<String>) -> anyhow::Result<WebDriver> {
        Ok(match given {
            Some(url) => WebDriver {
                own: None,
                url,
                local: false,
            },
            None => {
                let d = rt.block_on(marc_webdriver::Chromedriver::start(None))?;
                WebDriver {
                    url: d.url().to_string(),
                    own: Some(d),
                    local: true,
                }
            }
        })
    }

    /// No server: for work that needs no browser.
    pub fn none() -> WebDriver {
        WebDriver {
            own: None,
            url: String::new(),
            local: true,
        }
    }

    /// Stops the chromedriver started here, and its browsers.
    pub fn stop(self, rt: &tokio::runtime::Runtime) {
        if let Some(d) = self.own {
            rt.block_on(d.stop());
        }
    }
}

/// "outer: inner: innermost", without repeating messages that embed their cause.
fn chain(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in e.chain() {
        let s = c.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

fn init_tracing(g: &Global) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MARC_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if g.verbose { "info" } else { "warn" })
    });
    // Every log line is masked with the secrets the process has handled so far.
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(log_writer);
    let _ = if g.log_json {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

/// Where log lines go: stderr, through a writer that masks every secret value
/// the process knows ([`marc_vault::known_secrets`]).
fn log_writer() -> marc_vault::RedactingWriter<std::io::Stderr> {
    marc_vault::RedactingWriter::known(std::io::stderr())
}

/// What a Ctrl-C or SIGTERM says, and the files it removes on the way out
/// (`marc serve` sets its own: its control socket).
pub(crate) struct OnSignal {
    pub message: &'static str,
    pub remove: Vec<std::path::PathBuf>,
}

pub(crate) static ON_SIGNAL: std::sync::Mutex<OnSignal> = std::sync::Mutex::new(OnSignal {
    message:
        "marc: interrupted; stopping browsers. Run the same command with --resume to continue.",
    remove: Vec::new(),
});

/// On Ctrl-C or SIGTERM: stop every chromedriver and browser we started, then exit.
fn install_signal_handlers(rt: &tokio::runtime::Runtime) {
    rt.spawn(async {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        if let Ok(on) = ON_SIGNAL.lock() {
            eprintln!("{}", on.message);
            for f in &on.remove {
                let _ = std::fs::remove_file(f);
            }
        }
        marc_webdriver::kill_all();
        std::process::exit(130);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    const URL: &str = "postgres://marc:s3cret@db:5432/marc?sslmode=require";

    #[test]
    fn the_command_line_names_the_database_and_never_shows_its_password() {
        let cli = Cli::try_parse_from(["marc", "requests", "--database", URL]).unwrap();
        let shown = format!("{cli:?}");
        assert!(
            shown.contains("postgres://marc:***@db:5432/marc"),
            "{shown}"
        );
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(cli.global.database.as_ref().map(|d| d.as_str()), Some(URL));
        assert_eq!(
            cli.global.database.as_ref().map(|d| d.to_string()),
            Some("postgres://marc:***@db:5432/marc?sslmode=require".to_string())
        );
        assert!(Cli::try_parse_from(["marc", "--database", " ", "requests"]).is_err());
    }

    #[test]
    fn the_option_overrides_the_configuration() {
        let mut config = crate::config::Config::default();
        let g = |db: Option<&str>| Global {
            data: "data".into(),
            config: None,
            database: db.map(|d| d.parse().unwrap()),
            log_json: false,
            verbose: false,
        };
        assert_eq!(database(&g(None), &config), None);
        config.store.url = Some("postgres://a/b".into());
        assert_eq!(
            database(&g(None), &config).as_deref(),
            Some("postgres://a/b")
        );
        assert_eq!(
            database(&g(Some("postgres://c/d")), &config).as_deref(),
            Some("postgres://c/d")
        );
        assert!(!format!(
            "{:?}",
            crate::config::StoreConfig {
                url: Some(URL.into()),
                ..Default::default()
            }
        )
        .contains("s3cret"));
    }

    #[test]
    fn a_drivers_message_loses_the_password() {
        assert_eq!(
            scrub_password("bad password s3cret for marc", URL),
            "bad password *** for marc"
        );
        assert_eq!(
            scrub_password("x pw9 y", "postgres://db/marc?user=marc&password=pw9"),
            "x *** y"
        );
        assert_eq!(
            scrub_password("no secret", "postgres://db/marc"),
            "no secret"
        );
    }

    #[test]
    fn only_postgres_urls_are_taken_and_a_refused_one_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let e = open_store(&data, Some("mysql://marc:s3cret@db/marc"))
            .err()
            .expect("a mysql:// URL is refused");
        let msg = format!("{e:#}");
        assert!(e.downcast_ref::<UsageError>().is_some(), "{msg}");
        assert!(msg.contains("mysql://marc:***@db/marc"), "{msg}");
        assert!(!msg.contains("s3cret"), "{msg}");
        let e = open_store(&data, Some("postgres://marc:s3cret@127.0.0.1:1/marc"))
            .err()
            .expect("nobody listens on port 1");
        let msg = format!("{e:#}");
        assert!(
            msg.contains("127.0.0.1:1") && !msg.contains("s3cret"),
            "{msg}"
        );
        assert!(!data.exists());
    }
}
