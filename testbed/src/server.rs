//! The simulated case systems, served over HTTP (or HTTPS, with a CA of the
//! testbed's own: [`TestbedConfig::https`]) on 127.0.0.1.
//!
//! [`Testbed::start`] generates the [`World`] for a seed and serves its web
//! systems on their own ephemeral ports — in the standard world two:
//! * `esdh`: a modern, well-behaved ESDH (see [`esdh`]);
//! * `legacy`: an old system full of traps (see [`legacy`]);
//!
//! in a load world ([`TestbedConfig::load`]) many instances of both
//! (`esdh01`, `legacy01`, `esdh02`, …), each with its own cookie name.
//!
//! Every request either system serves is recorded in one shared
//! [`RequestLog`] (also readable at `GET /__testbed/log` and, optionally,
//! appended to a JSON Lines file) so tests can prove a robot never sent a
//! request its read-only role forbids.

mod esdh;
mod legacy;
mod log;

use crate::world::{LoadSpec, SystemKind, TbSystem, World};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use log::{LogEntry, RequestLog};

/// The robot accounts each system accepts: `(system, user, password)`.
/// Both web accounts are read-only; the terminal entry is for the
/// terminal-style system built on the same world.
pub const CREDENTIALS: &[(&str, &str, &str)] = &[
    ("esdh", "marc-robot", "laes-kun-2018"),
    ("legacy", "ROBOT01", "LAES2018"),
    ("terminal", "ROBOT03", "TERM2018"),
];

/// The password of `user` on `system`, if that account exists.
pub fn password_of(system: &str, user: &str) -> Option<&'static str> {
    CREDENTIALS
        .iter()
        .find(|(s, u, _)| *s == system && *u == user)
        .map(|(_, _, p)| *p)
}

/// How the testbed behaves. The defaults are what `marc demo` uses.
#[derive(Clone, Debug)]
pub struct TestbedConfig {
    /// Seed of the generated [`World`].
    pub seed: u64,
    /// Probability that the legacy system answers a page request with 503.
    pub fail_rate: f64,
    /// The legacy session expires after this many requests.
    pub session_requests: u32,
    /// How long the legacy case list waits before fetching its data.
    pub js_delay_ms: u64,
    /// Also append every log entry to this file as JSON Lines.
    pub log_file: Option<PathBuf>,
    /// Serve HTTPS with a certificate from a CA made for this testbed (as a
    /// municipality's internal CA): [`Testbed::ca_pem`] is its certificate.
    pub https: bool,
    /// Serve a load world ([`World::generate_load`]) instead of the standard
    /// one: many systems, and a load citizen with many documents.
    pub load: Option<LoadSpec>,
}

impl Default for TestbedConfig {
    fn default() -> Self {
        TestbedConfig {
            seed: crate::world::DEMO_SEED,
            fail_rate: 0.1,
            session_requests: 12,
            js_delay_ms: 600,
            log_file: None,
            https: false,
            load: None,
        }
    }
}

/// One system a [`Testbed`] serves, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedSystem {
    pub id: String,
    pub kind: SystemKind,
    /// `http(s)://127.0.0.1:PORT` (no trailing slash).
    pub url: String,
}

/// A running testbed: its web systems, their world and their request log.
pub struct Testbed {
    /// `http(s)://127.0.0.1:PORT` of the (first) ESDH system (no trailing slash).
    pub esdh_url: String,
    /// `http(s)://127.0.0.1:PORT` of the (first) legacy system (no trailing slash).
    pub legacy_url: String,
    /// Every web system served, in the world's order (the terminal system
    /// is another crate's).
    pub systems: Vec<ServedSystem>,
    pub world: Arc<World>,
    pub log: RequestLog,
    /// With [`TestbedConfig::https`]: the testbed CA's certificate (PEM),
    /// which clients must trust (a robot manifest's `tls_ca`).
    pub ca_pem: Option<String>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: Vec<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
}

impl Testbed {
    /// Generates the world and serves its web systems, each on its own
    /// `127.0.0.1:0`. Call it several times for several independent testbeds.
    pub async fn start(cfg: TestbedConfig) -> std::io::Result<Testbed> {
        let world = Arc::new(match &cfg.load {
            None => World::generate(cfg.seed),
            Some(spec) => World::generate_load(cfg.seed, spec),
        });
        let log = RequestLog::new(cfg.log_file.as_deref())?;
        let ca = if cfg.https {
            Some(crate::tls::TestCa::generate("marc testbed CA").map_err(std::io::Error::other)?)
        } else {
            None
        };
        let mut tb = Testbed {
            esdh_url: String::new(),
            legacy_url: String::new(),
            systems: Vec::new(),
            world: world.clone(),
            log: log.clone(),
            ca_pem: ca.as_ref().map(|c| c.ca_pem.clone()),
            tls: ca.map(|c| c.server_config),
            shutdown: Vec::new(),
            tasks: Vec::new(),
        };
        for system in &world.systems {
            let served = Served::new(system);
            let app = match system.kind {
                SystemKind::Esdh => esdh::router(served, world.clone(), log.clone()),
                SystemKind::Legacy => legacy::router(served, world.clone(), log.clone(), &cfg),
                SystemKind::Terminal => continue,
            };
            let url = tb.serve(app).await?;
            let first = match system.kind {
                SystemKind::Esdh => &mut tb.esdh_url,
                _ => &mut tb.legacy_url,
            };
            if first.is_empty() {
                first.clone_from(&url);
            }
            tb.systems.push(ServedSystem {
                id: system.id.clone(),
                kind: system.kind,
                url,
            });
        }
        Ok(tb)
    }

    async fn serve(&mut self, app: axum::Router) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let stopped = async {
            let _ = rx.await;
        };
        let (url, task) = match &self.tls {
            None => (
                format!("http://{addr}"),
                tokio::spawn(async move {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(stopped)
                        .await
                }),
            ),
            Some(config) => {
                let listener = crate::tls::TlsListener::new(listener, config.clone())?;
                (
                    format!("https://{addr}"),
                    tokio::spawn(async move {
                        axum::serve(listener, app)
                            .with_graceful_shutdown(stopped)
                            .await
                    }),
                )
            }
        };
        self.shutdown.push(tx);
        self.tasks.push(task);
        Ok(url)
    }

    /// The base URL of a system by id (`esdh`, `legacy`, `esdh01`, …).
    pub fn url(&self, system: &str) -> Option<&str> {
        self.systems
            .iter()
            .find(|s| s.id == system)
            .map(|s| s.url.as_str())
    }

    /// Stops both servers; connections still open after two seconds are cut.
    pub async fn stop(self) {
        for tx in self.shutdown {
            let _ = tx.send(());
        }
        for mut task in self.tasks {
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

// ------------------------------------------------------------ shared parts

/// A logged-in session.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub user: String,
    /// Requests made in this session so far.
    pub requests: u32,
}

pub(crate) type Sessions = Arc<Mutex<HashMap<String, Session>>>;

/// Locks a mutex even if a panicking handler poisoned it: the data is simple
/// and stays consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Put into a response's extensions by a handler that knows who the user is
/// (e.g. the login handler), so the log shows it.
#[derive(Clone, Debug)]
pub(crate) struct AuthUser(pub String);

/// A fresh session token.
pub(crate) fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The value of cookie `name` in the request, if sent.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// HTML-escapes text for element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Percent-encodes a query parameter value.
pub(crate) fn url_enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// A PDF response with a download name (RFC 6266 `filename*` for æøå).
pub(crate) fn pdf_response(name: &str, bytes: Vec<u8>) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disp = format!(
        "inline; filename=\"{ascii}\"; filename*=UTF-8''{}",
        url_enc(name)
    );
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, disp),
        ],
        bytes,
    )
        .into_response()
}

/// Which system a router serves: one of possibly many instances of a kind.
#[derive(Clone, Debug)]
pub(crate) struct Served {
    /// The `system` of its cases, documents and log entries.
    pub id: Arc<str>,
    /// Decides the accounts it accepts ([`CREDENTIALS`] by kind).
    pub kind: SystemKind,
    /// Its session cookie, `<id>_sid`: browsers share cookies across the
    /// ports of one host, so two instances must not share a name.
    pub cookie: Arc<str>,
}

impl Served {
    pub(crate) fn new(system: &TbSystem) -> Served {
        Served {
            id: system.id.as_str().into(),
            kind: system.kind,
            cookie: format!("{}_sid", system.id).into(),
        }
    }

    /// Whether `user`/`pass` is this system's robot account.
    pub(crate) fn password_ok(&self, user: &str, pass: &str) -> bool {
        !pass.is_empty() && password_of(self.kind.as_str(), user) == Some(pass)
    }
}

/// What the logging middleware needs to know about its system.
#[derive(Clone)]
pub(crate) struct LogCtx {
    pub served: Served,
    pub log: RequestLog,
    pub sessions: Sessions,
}

/// The path of the log endpoint; requests to it are not logged.
pub(crate) const LOG_PATH: &str = "/__testbed/log";

/// Records every request (except to [`LOG_PATH`]) after it was answered.
/// A request is `forbidden` when it is anything but a read (GET/HEAD) or the
/// login form: the robot accounts are read-only.
pub(crate) async fn log_requests(State(ctx): State<LogCtx>, req: Request, next: Next) -> Response {
    if req.uri().path() == LOG_PATH {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let forbidden =
        !(method == Method::GET || method == Method::HEAD) && req.uri().path() != "/login";
    let before = cookie(req.headers(), &ctx.served.cookie)
        .and_then(|t| lock(&ctx.sessions).get(&t).map(|s| s.user.clone()));
    let resp = next.run(req).await;
    let user = resp
        .extensions()
        .get::<AuthUser>()
        .map(|u| u.0.clone())
        .or(before);
    ctx.log.push(LogEntry {
        system: ctx.served.id.to_string(),
        method: method.to_string(),
        path,
        user,
        status: resp.status().as_u16(),
        forbidden,
    });
    resp
}

/// `GET /__testbed/log`: every entry so far, both systems, as JSON.
pub(crate) async fn log_endpoint(State(ctx): State<LogCtx>) -> Json<Vec<LogEntry>> {
    Json(ctx.log.entries())
}

/// Answer for any write the read-only role attempts.
pub(crate) fn forbidden_page() -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::response::Html(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Adgang nægtet</title></head>\
             <body><h1>Adgang nægtet</h1><p id=\"forbidden\">Din rolle har kun læseadgang. \
             Handlingen er ikke udført.</p></body></html>",
        ),
    )
        .into_response()
}
