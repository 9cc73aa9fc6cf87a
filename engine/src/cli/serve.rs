//! `marc serve`: the web app and a worker pool in one process. Requests
//! submitted on the web (or left unfinished by an earlier run) are queued
//! and run concurrently, within the pool's and each system's limits. On
//! PostgreSQL the queue is shared: `marc worker`s on other machines take
//! robot jobs from it too, and `--workers 0` leaves them all to them.

use super::request::{check_base_urls, settings_at, CliSecrets};
use super::{exit, Global};
use crate::config::Config;
use crate::pipeline::{RobotRunner, RunnerOptions, Settings};
use crate::runtime::SecretSource;
use crate::service::pool::{Pool, Takes, DEFAULT_MAX_SESSIONS};
use crate::service::queue::SharedQueue;
use crate::service::web::WebBackend;
use crate::service::RequestService;
use anyhow::{Context, Result};
use clap::Args;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the robots are and what their browsers and systems are: the
/// options of every long-running command (`marc serve`, `marc worker`).
#[derive(Args, Debug)]
pub struct RobotArgs {
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
    #[arg(long = "base-url", value_parser = super::request::parse_kv)]
    pub base_urls: Vec<(String, String)>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Robot sessions that may run at once in this process, over all
    /// systems (each system also keeps to its manifest's `max_sessions`).
    /// 0 (with a PostgreSQL store only): run no robot here, leave them to
    /// `marc worker`s.
    #[arg(long, default_value_t = 2)]
    pub workers: u32,
    /// Address to listen on (default: `[web] listen` in marc.toml, 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    #[command(flatten)]
    pub robots: RobotArgs,
    /// Everything on this machine, for trying marc: the testbed's case
    /// systems, a test identity provider (not MitID) with test logins, and
    /// the web app, in a data directory of their own (`out/serve-demo`).
    #[cfg(feature = "testbed")]
    #[arg(long)]
    pub demo: bool,
    /// Serve only these systems' robots (default: every robot).
    #[arg(long, value_delimiter = ',')]
    pub systems: Vec<String>,
    /// With --demo: write the testbed's log of every request it served here.
    #[cfg(feature = "testbed")]
    #[arg(long)]
    pub testbed_log: Option<PathBuf>,
}

pub fn serve(g: &Global, rt: &tokio::runtime::Runtime, a: ServeArgs) -> Result<i32> {
    #[cfg(feature = "testbed")]
    if a.demo {
        return serve_demo(g, rt, a);
    }
    let config = Config::load(g.config.as_deref())?;
    let database = super::database(g, &config);
    if a.workers == 0 && database.is_none() {
        return Err(super::usage(
            "--workers 0 leaves the robots to `marc worker`s, which need a shared PostgreSQL store: give --database postgres://… (or run at least one worker here)",
        ));
    }
    let settings = settings_at(
        &g.data,
        database.as_deref(),
        &config,
        a.robots.robots.clone(),
        a.robots.scripts.clone(),
    )?;
    check_base_urls(&settings.robots_dir, &a.robots.base_urls)?;
    let secrets: Arc<dyn SecretSource> = Arc::new(CliSecrets::open(&settings)?);
    let listen = a
        .listen
        .clone()
        .unwrap_or_else(|| config.web.listen.clone());
    let listener = bind(rt, &listen)?;
    let server = Server {
        listener,
        public_url: config.web.public_url.clone(),
        oidc: config.web.oidc.as_ref().map(|o| marc_web::OidcSettings {
            issuer: o.issuer.clone(),
            client_id: o.client_id.clone(),
            scopes: o.scopes.clone(),
            cpr_claim: o.cpr_claim.clone(),
            cvr_claim: o.cvr_claim.clone(),
            name_claim: o.name_claim.clone(),
            org_name_claim: o.org_name_claim.clone(),
        }),
        workers: a.workers as usize,
        base_urls: a.robots.base_urls.iter().cloned().collect(),
        webdriver: a.robots.webdriver.clone(),
        secrets,
        topics: config.topics.clone(),
        systems: a.systems.clone(),
        lease: config.store.lease(),
        database,
    };
    server.run(g, rt, settings, |url| {
        println!("marc serve: {url}");
    })?;
    Ok(exit::OK)
}

/// Each system's `max_sessions`.
pub(super) fn session_limits(manifests: &[crate::robot::Manifest]) -> HashMap<String, u32> {
    manifests
        .iter()
        .map(|m| {
            (
                m.system.clone(),
                m.max_sessions.unwrap_or(DEFAULT_MAX_SESSIONS),
            )
        })
        .collect()
}

/// The robot runner of a long-running process (`marc serve`, `marc worker`).
pub(super) fn robot_runner(
    g: &Global,
    rt: &tokio::runtime::Runtime,
    wd: &super::WebDriver,
    secrets: Arc<dyn SecretSource>,
    base_urls: HashMap<String, String>,
    x11_display: Option<String>,
) -> Arc<RobotRunner> {
    Arc::new(RobotRunner {
        handle: rt.handle().clone(),
        options: RunnerOptions {
            progress: None,
            webdriver: wd.url.clone(),
            local_browser: wd.local,
            secrets,
            base_urls,
            attempts: 3,
            recording: crate::pipeline::Recording::Steps,
            verbose: g.verbose,
            x11_display,
        },
    })
}

/// Binds the web app's address.
fn bind(rt: &tokio::runtime::Runtime, listen: &str) -> Result<tokio::net::TcpListener> {
    rt.block_on(tokio::net::TcpListener::bind(listen))
        .with_context(|| format!("cannot listen on {listen}"))
}

/// What a running server needs besides the installation's settings.
pub(super) struct Server {
    pub listener: tokio::net::TcpListener,
    pub public_url: Option<String>,
    pub oidc: Option<marc_web::OidcSettings>,
    pub workers: usize,
    pub base_urls: HashMap<String, String>,
    pub webdriver: Option<String>,
    pub secrets: Arc<dyn SecretSource>,
    pub topics: Vec<String>,
    /// The systems it serves (empty: every robot).
    pub systems: Vec<String>,
    /// The PostgreSQL database its state is in (`None`: the data directory).
    pub database: Option<String>,
    /// The shared queue's lease (with a database).
    pub lease: crate::service::queue::Lease,
}

impl Server {
    /// Starts the pool and the web app, calls `ready` with the app's URL,
    /// and serves until Ctrl-C or SIGTERM.
    pub fn run(
        self,
        g: &Global,
        rt: &tokio::runtime::Runtime,
        settings: Settings,
        ready: impl FnOnce(&str),
    ) -> Result<()> {
        let manifests =
            crate::robot::select(crate::robot::load_all(&settings.robots_dir)?, &self.systems)?;
        let limits = session_limits(&manifests);
        let systems = manifests
            .iter()
            .map(|m| (m.system.clone(), m.name.clone()))
            .collect();
        let authority = settings.authority.name.clone();
        // The command line's commands run here while the server holds the store.
        let _socket = super::control::serve(
            rt,
            &settings.data_dir,
            self.database.clone(),
            settings.audit.clone(),
        )?;
        let mut service = RequestService::new(settings, self.topics);
        service.connected = self.systems;
        let wd = if self.workers > 0 {
            super::WebDriver::start(rt, self.webdriver)?
        } else {
            super::WebDriver::none()
        };
        let runner = robot_runner(g, rt, &wd, self.secrets.clone(), self.base_urls, None);
        let pool = match &self.database {
            None => {
                let _enter = rt.enter();
                Pool::start(service.clone(), runner, self.workers, &limits)
            }
            Some(url) => {
                let queue = rt
                    .block_on(SharedQueue::connect(url, self.lease))
                    .map_err(|e| anyhow::anyhow!(super::scrub_password(&e.to_string(), url)))?;
                let takes = Takes {
                    // The robots run here only if this node runs any.
                    systems: if self.workers > 0 {
                        limits
                    } else {
                        HashMap::new()
                    },
                    // Finishing writes the answers and the outbox: into this
                    // node's data directory, where the web app reads them.
                    finish: true,
                };
                let _enter = rt.enter();
                Pool::start_shared(service.clone(), runner, self.workers, queue, takes)
            }
        };
        // What an earlier run left unfinished runs again (on the shared
        // queue, a job that is there already is not added twice).
        let outstanding = service.outstanding()?;
        if !outstanding.is_empty() {
            tracing::info!("queuing {} outstanding job(s)", outstanding.len());
        }
        rt.block_on(pool.push_all(outstanding));
        let backend = Arc::new(WebBackend {
            service,
            pool,
            handle: rt.handle().clone(),
            secrets: self.secrets,
            systems,
        });
        let listener = self.listener;
        let addr = listener.local_addr()?;
        let public_url = self.public_url.unwrap_or_else(|| format!("http://{addr}"));
        let state = marc_web::AppState::new(
            backend,
            marc_web::WebSettings {
                public_url: public_url.clone(),
                authority,
                oidc: self.oidc,
                session_minutes: 30,
            },
        )
        .context("the web app's login configuration is wrong")?;
        let app = marc_web::router(state);
        ready(&public_url);
        let served = rt.block_on(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
        });
        wd.stop(rt);
        served.context("the web server stopped")?;
        Ok(())
    }
}

/// `marc serve --demo`: the testbed's systems, the test identity provider
/// and the web app on 127.0.0.1, in a data directory of their own; stopped
/// together by Ctrl-C (the identity provider dies with marc).
#[cfg(feature = "testbed")]
fn serve_demo(g: &Global, rt: &tokio::runtime::Runtime, a: ServeArgs) -> Result<i32> {
    use marc_testbed::idp::{demo_identities, Idp, IdpConfig};
    if a.workers == 0 {
        return Err(super::usage(
            "marc serve --demo runs its robots itself: --workers must be at least 1",
        ));
    }
    let out = PathBuf::from("out/serve-demo");
    let data = out.join("data");
    super::demo::fresh_data_dir(&data)?;
    let key = super::demo::demo_key(&out)?;
    let testbed = super::demo::Systems::start(rt, marc_testbed::DEMO_SEED, a.testbed_log.clone())?;
    let listener = bind(rt, a.listen.as_deref().unwrap_or("127.0.0.1:0"))?;
    let web_url = format!("http://{}", listener.local_addr()?);
    let client_secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let identities = demo_identities(&testbed.world);
    let idp = Idp::start(IdpConfig::new(
        identities.clone(),
        "marc-demo",
        client_secret.clone(),
        format!("{web_url}/auth/callback"),
    ))
    .context("cannot start the test identity provider")?;
    // The demo's own installation, with what a --config file says (the
    // control level, the authority, the topics).
    let config = Config::load(g.config.as_deref())?;
    // The state in the demo's data directory, or in PostgreSQL when a
    // database is named: the demo is then one node of a shared
    // installation, queue included (its own robots take the jobs).
    let database = super::database(g, &config);
    let settings = super::request::settings_keyed(
        &data,
        database.as_deref(),
        &config,
        None,
        None,
        Some(&key),
    )?;
    let mut secrets = super::demo::testbed_secrets();
    secrets.0.insert("oidc.client_secret".into(), client_secret);
    println!("marc serve --demo (everything on 127.0.0.1; Ctrl-C stops all of it)");
    println!("  web app:                 {web_url}");
    println!(
        "  test identity provider:  {} (TEST — not MitID)",
        idp.issuer
    );
    println!("  test logins (pick one at the provider):");
    for p in &identities.persons {
        println!(
            "    {}  CPR {}  {}",
            p.name,
            p.cpr,
            p.note.as_deref().unwrap_or("")
        );
    }
    for o in &identities.organisations {
        println!(
            "    {} (CVR {}), by {}  {}",
            o.name,
            o.cvr,
            o.person,
            o.note.as_deref().unwrap_or("")
        );
    }
    println!("  data directory: {}", data.display());
    let server = Server {
        listener,
        public_url: Some(web_url),
        oidc: Some(marc_web::OidcSettings {
            issuer: idp.issuer.clone(),
            client_id: "marc-demo".into(),
            scopes: vec!["openid".into(), "profile".into()],
            cpr_claim: "dk.cpr".into(),
            cvr_claim: "dk.cvr".into(),
            name_claim: "name".into(),
            org_name_claim: "organization_name".into(),
        }),
        workers: a.workers as usize,
        base_urls: testbed.base_urls.clone(),
        webdriver: a.robots.webdriver.clone(),
        secrets: Arc::new(secrets),
        topics: config.topics.clone(),
        systems: a.systems.clone(),
        database,
        lease: config.store.lease(),
    };
    let r = server.run(g, rt, settings, |_| {});
    idp.stop();
    testbed.stop(rt);
    r.map(|_| exit::OK)
}
