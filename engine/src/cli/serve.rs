//! `marc serve`: the web app and a worker pool in one process. Requests
//! submitted on the web (or left unfinished by an earlier run) are queued
//! and run concurrently, within the pool's and each system's limits.

use super::request::{check_base_urls, settings_at, CliSecrets};
use super::{exit, Global};
use crate::config::Config;
use crate::pipeline::{RobotRunner, RunnerOptions, Settings};
use crate::runtime::SecretSource;
use crate::service::pool::{Pool, DEFAULT_MAX_SESSIONS};
use crate::service::web::WebBackend;
use crate::service::RequestService;
use anyhow::{Context, Result};
use clap::Args;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Robot sessions that may run at once, over all systems (each system
    /// also keeps to its manifest's `max_sessions`).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub workers: u32,
    /// Address to listen on (default: `[web] listen` in marc.toml, 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
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

pub fn serve(g: &Global, rt: &tokio::runtime::Runtime, a: ServeArgs) -> Result<i32> {
    let config = Config::load(g.config.as_deref())?;
    let settings = settings_at(&g.data, &config, a.robots.clone(), a.scripts.clone())?;
    check_base_urls(&settings.robots_dir, &a.base_urls)?;
    let secrets: Arc<dyn SecretSource> = Arc::new(CliSecrets::open(&settings)?);
    let server = Server {
        listen: a
            .listen
            .clone()
            .unwrap_or_else(|| config.web.listen.clone()),
        public_url: config.web.public_url.clone(),
        oidc: config.web.oidc.as_ref().map(|o| marc_web::OidcSettings {
            issuer: o.issuer.clone(),
            client_id: o.client_id.clone(),
            scopes: o.scopes.clone(),
            cpr_claim: o.cpr_claim.clone(),
            cvr_claim: o.cvr_claim.clone(),
            name_claim: o.name_claim.clone(),
        }),
        workers: a.workers as usize,
        base_urls: a.base_urls.iter().cloned().collect(),
        webdriver: a.webdriver.clone(),
        secrets,
        topics: config.topics.clone(),
    };
    server.run(g, rt, settings, |url| {
        println!("marc serve: {url}");
    })?;
    Ok(exit::OK)
}

/// What a running server needs besides the installation's settings.
pub(super) struct Server {
    pub listen: String,
    pub public_url: Option<String>,
    pub oidc: Option<marc_web::OidcSettings>,
    pub workers: usize,
    pub base_urls: HashMap<String, String>,
    pub webdriver: Option<String>,
    pub secrets: Arc<dyn SecretSource>,
    pub topics: Vec<String>,
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
        let manifests = crate::robot::load_all(&settings.robots_dir)?;
        let limits: HashMap<String, u32> = manifests
            .iter()
            .map(|m| {
                (
                    m.system.clone(),
                    m.max_sessions.unwrap_or(DEFAULT_MAX_SESSIONS),
                )
            })
            .collect();
        let systems = manifests
            .iter()
            .map(|m| (m.system.clone(), m.name.clone()))
            .collect();
        let authority = settings.authority.name.clone();
        // The command line's commands run here while the server holds the store.
        let _socket = super::control::serve(rt, &settings.data_dir)?;
        let service = RequestService {
            settings: Arc::new(settings),
            topics: self.topics,
        };
        let wd = super::WebDriver::start(rt, self.webdriver)?;
        let runner = Arc::new(RobotRunner {
            handle: rt.handle().clone(),
            options: RunnerOptions {
                progress: None,
                webdriver: wd.url.clone(),
                local_browser: wd.local,
                secrets: self.secrets.clone(),
                base_urls: self.base_urls,
                attempts: 3,
                recording: crate::pipeline::Recording::Steps,
                verbose: g.verbose,
                x11_display: None,
            },
        });
        let pool = {
            let _enter = rt.enter();
            Pool::start(service.clone(), runner, self.workers, &limits)
        };
        // What an earlier run left unfinished runs again.
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
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(&self.listen))
            .with_context(|| format!("cannot listen on {}", self.listen))?;
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
