//! The enforcing forward proxy.
//!
//! HTTP/1.1 with absolute-form request URIs (what browsers send to an HTTP
//! proxy). Every request is checked against the [`RightsProfile`] before
//! anything is sent upstream; a refused request is answered with 403 and an
//! HTML page "Afvist af marc: <reason>" and recorded. Allowed requests are
//! forwarded with hyper's pooled client (keep-alive, streaming bodies with
//! Content-Length or chunked), with hop-by-hop headers removed in both
//! directions.
//!
//! `CONNECT` is allowed only to origins the profile lists with `https://`,
//! and is not an opaque tunnel: the proxy answers the browser's TLS itself
//! with a certificate from its per-run CA (see [`crate::tls`]), and checks
//! every request inside exactly like a plain HTTP one before sending it to
//! the system over its own, verified TLS connection. For an `http://`
//! origin the browser never needs CONNECT except for WebSockets, which would
//! bypass path checks, so it is refused.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::Limited;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Body as _, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::http::uri::Authority;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::profile::{Decision, RightsProfile};
use crate::tls::Interceptor;

type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// At most this many refusals are kept in memory (a page refused in a tight
/// loop must not exhaust memory); later ones are still counted in
/// [`ProxyStats::refused`], broadcast and passed to the callback.
pub const MAX_STORED_REFUSALS: usize = 10_000;

/// Request bodies are read whole (up to this size) when the proxy checks
/// them for other people's CPR numbers; a larger body is refused, as it
/// cannot be checked. Robots submit login and search forms, not uploads.
pub const MAX_CHECKED_BODY: usize = 8 << 20;

/// Chromium flags that switch off most of the browser's own background
/// traffic (update checks, sign-in, time queries, safe browsing). Whatever
/// remains is still refused by the proxy, but is noise in the refusal log.
pub const QUIET_CHROMIUM_ARGS: &[&str] = &[
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--no-pings",
    "--metrics-recording-only",
    "--disable-field-trial-config",
    "--password-store=basic",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,CertificateTransparencyComponentUpdater,AutofillServerCommunication,NetworkTimeServiceQuerying,InterestFeedContentSuggestions,PrivacySandboxSettings4,SafeBrowsing",
];

/// Who most likely made a refused request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initiator {
    /// The page or the robot: navigations, subresources, fetch/XHR, form posts.
    Page,
    /// Chromium's own service traffic (update checks, sign-in, time queries)
    /// to a browser vendor's host, without any of the headers a page request
    /// carries. Still refused; it should be logged, but it is not the robot
    /// misbehaving, so it should not stop the run.
    Browser,
}

/// A request the proxy refused. Kept for the run's log and the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// HTTP method, or `CONNECT`.
    pub method: String,
    /// The absolute URL (for CONNECT: `host:port`).
    pub url: String,
    /// Why it was refused, in words fit for the robot's error.
    pub reason: String,
    /// When it was refused.
    pub time: DateTime<Utc>,
    /// Whether the page/robot or the browser itself made the request.
    pub initiator: Initiator,
}

impl Refusal {
    /// Should the engine stop the robot because of this refusal? True for
    /// everything except recognised browser background traffic.
    pub fn stops_robot(&self) -> bool {
        self.initiator == Initiator::Page
    }
}

/// Hosts (and their subdomains) of Chromium's own background services.
const BROWSER_SERVICE_DOMAINS: &[&str] = &[
    "google.com",
    "googleapis.com",
    "gstatic.com",
    "gvt1.com",
    "gvt2.com",
    "googleusercontent.com",
    "chromium.org",
    // Debian's Chromium preconnects to its default search engine at start.
    "start.duckduckgo.com",
];

/// Classifies a refused request. Conservative: only requests to a browser
/// vendor's service host that carry none of the headers Blink adds to page
/// requests (Referer, Origin, Sec-Fetch-*, Accept-Language) count as
/// browser traffic. A page that mimics this still has its request refused;
/// at worst the run is not stopped for it.
pub fn classify(method: &str, host: &str, headers: &HeaderMap) -> Initiator {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let vendor_host = BROWSER_SERVICE_DOMAINS
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")));
    if !vendor_host {
        return Initiator::Page;
    }
    if method == "CONNECT" {
        return Initiator::Browser;
    }
    let page_like = headers.contains_key(hyper::header::REFERER)
        || headers.contains_key(hyper::header::ORIGIN)
        || headers.contains_key(hyper::header::ACCEPT_LANGUAGE)
        || headers.keys().any(|k| k.as_str().starts_with("sec-fetch-"));
    if page_like {
        Initiator::Page
    } else {
        Initiator::Browser
    }
}

/// Called synchronously, on the proxy's connection task, for every refusal,
/// before the 403 is sent. Keep it short (e.g. set a cancel flag).
pub type RefusalCallback = Arc<dyn Fn(&Refusal) + Send + Sync>;

/// Options for [`Proxy::start_with`].
#[derive(Clone)]
pub struct ProxyOptions {
    /// Called for every refusal (in addition to [`Proxy::subscribe`]).
    pub on_refusal: Option<RefusalCallback>,
    /// Time to connect to the upstream system.
    pub connect_timeout: Duration,
    /// Time until the upstream's response headers arrive.
    pub response_timeout: Duration,
    /// The request's CPR number (any writing). When set, a request whose URL
    /// or body carries another CPR number is refused: a robot works for one
    /// citizen only.
    pub cpr: Option<String>,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            on_refusal: None,
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(120),
            cpr: None,
        }
    }
}

impl std::fmt::Debug for ProxyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyOptions")
            .field("on_refusal", &self.on_refusal.is_some())
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("cpr", &self.cpr.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Counters since the proxy started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyStats {
    /// Every request received (allowed + refused + malformed).
    pub requests: u64,
    /// Requests passed on to the upstream.
    pub allowed: u64,
    /// Requests answered with 403 (never sent upstream).
    pub refused: u64,
    /// Of `refused`, those classified as browser background traffic.
    pub refused_browser: u64,
    /// Allowed requests that failed upstream (answered 502/504).
    pub upstream_errors: u64,
    /// Body bytes sent to upstream systems (request bodies, tunnel traffic).
    pub bytes_up: u64,
    /// Body bytes received from upstream systems.
    pub bytes_down: u64,
    /// CONNECT tunnels whose TLS the proxy took over (and checked inside).
    pub intercepted: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    allowed: AtomicU64,
    refused: AtomicU64,
    refused_browser: AtomicU64,
    upstream_errors: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    intercepted: AtomicU64,
}

struct Shared {
    profile: RwLock<RightsProfile>,
    refusals: Mutex<Vec<Refusal>>,
    counters: Counters,
    tx: broadcast::Sender<Refusal>,
    options: ProxyOptions,
    /// One pooled client for http and https systems; https is verified
    /// against the system roots or the profile's `tls_ca`.
    client: Client<HttpsConnector<HttpConnector>, ProxyBody>,
    /// The per-run CA that answers the browser's TLS inside CONNECT.
    tls: Interceptor,
    /// The request's CPR number, when other numbers are to be refused.
    cpr: Option<[u8; 10]>,
    /// Set to true when the proxy stops, so CONNECT tunnels close too.
    closing: tokio::sync::watch::Sender<bool>,
    /// This proxy's own address, to refuse requests aimed at itself.
    own_addr: SocketAddr,
    /// Token added to `Via` on forwarded requests; seeing it come back means
    /// a loop through this proxy (e.g. via a host name that resolves here).
    via_token: String,
}

/// The enforcing proxy. Dropping it stops accepting connections; call
/// [`Proxy::stop`] to also wait for the accept loop to end.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts a proxy on 127.0.0.1 (random port) enforcing `profile`.
    pub async fn start(profile: RightsProfile) -> std::io::Result<Proxy> {
        Self::start_with(profile, ProxyOptions::default()).await
    }

    /// Like [`Proxy::start`], with a refusal callback and timeouts.
    pub async fn start_with(
        profile: RightsProfile,
        options: ProxyOptions,
    ) -> std::io::Result<Proxy> {
        if profile.origins.iter().any(|o| o.is_placeholder()) {
            tracing::warn!(
                "rights profile still contains \"$base\"; call RightsProfile::resolve before starting the proxy, or every request to the system will be refused"
            );
        }
        let cpr = match &options.cpr {
            None => None,
            Some(c) => Some(crate::cpr::own_digits(c).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the request's CPR number given to the rights proxy does not have ten digits",
                )
            })?),
        };
        let tls = Interceptor::new().map_err(std::io::Error::other)?;
        let upstream_tls = crate::tls::upstream_config(profile.tls_ca.as_deref())
            .map_err(std::io::Error::other)?;
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(options.connect_timeout));
        connector.set_nodelay(true);
        connector.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(upstream_tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let (tx, _) = broadcast::channel(256);
        let shared = Arc::new(Shared {
            profile: RwLock::new(profile),
            refusals: Mutex::new(Vec::new()),
            counters: Counters::default(),
            tx,
            options,
            client,
            tls,
            cpr,
            closing: tokio::sync::watch::channel(false).0,
            own_addr: addr,
            via_token: format!("marc-{}-{}", addr.port(), std::process::id()),
        });
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, shared.clone(), stop_rx));
        tracing::info!(%addr, "rights proxy listening");
        Ok(Proxy {
            addr,
            shared,
            shutdown: Some(stop_tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, for `--proxy-server=`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address (127.0.0.1 and a random port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Chromium flags a browser behind this proxy needs: route *all*
    /// its traffic, loopback included, through the proxy (without
    /// `<-loopback>` Chromium talks to 127.0.0.1/localhost directly and the
    /// testbed would be unprotected); accept the certificates of this
    /// proxy's per-run CA, and only in this browser (its SPKI hash, honoured
    /// only with a `--user-data-dir`); and [`QUIET_CHROMIUM_ARGS`], so the
    /// browser's own background traffic does not fill the refusal log.
    pub fn chromium_args(&self) -> Vec<String> {
        let mut args = vec![
            format!("--proxy-server={}", self.url()),
            "--proxy-bypass-list=<-loopback>".to_string(),
            format!(
                "--ignore-certificate-errors-spki-list={}",
                self.shared.tls.spki_hash()
            ),
        ];
        args.extend(QUIET_CHROMIUM_ARGS.iter().map(|a| a.to_string()));
        args
    }

    /// Base64 SHA-256 of the per-run CA's public key (SubjectPublicKeyInfo),
    /// as Chromium's `--ignore-certificate-errors-spki-list` takes it.
    pub fn spki_hash(&self) -> &str {
        self.shared.tls.spki_hash()
    }

    /// The per-run CA's certificate (public; its key never leaves this
    /// process), PEM: for a client other than Chromium that must trust it.
    pub fn ca_certificate_pem(&self) -> String {
        self.shared.tls.ca_pem()
    }

    /// Every refusal so far, oldest first (the first [`MAX_STORED_REFUSALS`]).
    pub fn refusals(&self) -> Vec<Refusal> {
        lock(&self.shared.refusals).clone()
    }

    /// Number of refusals so far (a cursor for [`Proxy::take_refusals_since`]).
    pub fn refusal_count(&self) -> usize {
        lock(&self.shared.refusals).len()
    }

    /// Refusals after the first `n` (non-destructive): the engine keeps a
    /// cursor and polls after each script action.
    pub fn take_refusals_since(&self, n: usize) -> Vec<Refusal> {
        let all = lock(&self.shared.refusals);
        all.get(n..).map(<[Refusal]>::to_vec).unwrap_or_default()
    }

    /// A channel that receives each refusal as it happens, so the engine can
    /// stop the robot immediately instead of waiting for its next poll.
    pub fn subscribe(&self) -> broadcast::Receiver<Refusal> {
        self.shared.tx.subscribe()
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.shared.counters.requests.load(Ordering::Relaxed)
    }

    /// All counters since start.
    pub fn stats(&self) -> ProxyStats {
        let c = &self.shared.counters;
        ProxyStats {
            requests: c.requests.load(Ordering::Relaxed),
            allowed: c.allowed.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            refused_browser: c.refused_browser.load(Ordering::Relaxed),
            upstream_errors: c.upstream_errors.load(Ordering::Relaxed),
            bytes_up: c.bytes_up.load(Ordering::Relaxed),
            bytes_down: c.bytes_down.load(Ordering::Relaxed),
            intercepted: c.intercepted.load(Ordering::Relaxed),
        }
    }

    /// The profile being enforced.
    pub fn profile(&self) -> RightsProfile {
        self.shared
            .profile
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the enforced profile; takes effect for the next request.
    pub fn set_profile(&self, profile: RightsProfile) {
        *self
            .shared
            .profile
            .write()
            .unwrap_or_else(|e| e.into_inner()) = profile;
    }

    /// Stops accepting, closes open connections and tunnels, and waits for
    /// the accept loop to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    // Dropping the JoinSet at the end aborts every open connection.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "rights proxy: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| handle(shared.clone(), req));
                    let conn = hyper::server::conn::http1::Builder::new()
                        .preserve_header_case(true)
                        .title_case_headers(true)
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades();
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "rights proxy: connection ended with error");
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    let _ = shared.closing.send(true);
    conns.shutdown().await;
}

fn full(status: StatusCode, content_type: &str, body: String) -> Response<ProxyBody> {
    let mut resp = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never: Infallible| match never {})
            .boxed(),
    );
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(hyper::header::CONTENT_TYPE, v);
    }
    h.insert(
        hyper::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    resp
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page the browser shows for a refused request.
fn refusal_page(reason: &str) -> Response<ProxyBody> {
    let r = html_escape(reason);
    let body = format!(
        "<!doctype html>\n<html lang=\"da\"><head><meta charset=\"utf-8\"><title>Afvist af marc</title></head>\
         <body><h1>Afvist af marc: {r}</h1><p>Robottens rettighedsprofil tillader ikke denne forespørgsel. \
         Den er ikke sendt videre til systemet.</p></body></html>\n"
    );
    let mut resp = full(StatusCode::FORBIDDEN, "text/html; charset=utf-8", body);
    resp.headers_mut()
        .insert("x-marc-refused", HeaderValue::from_static("1"));
    resp
}

fn record_refusal(
    shared: &Shared,
    method: &str,
    url: &str,
    reason: &str,
    initiator: Initiator,
) -> Response<ProxyBody> {
    let refusal = Refusal {
        method: method.to_string(),
        url: url.to_string(),
        reason: reason.to_string(),
        time: Utc::now(),
        initiator,
    };
    shared.counters.refused.fetch_add(1, Ordering::Relaxed);
    if initiator == Initiator::Browser {
        shared
            .counters
            .refused_browser
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            method,
            url,
            reason,
            "rights proxy refused browser background traffic"
        );
    } else {
        tracing::warn!(method, url, reason, "rights proxy refused a request");
    }
    {
        let mut stored = lock(&shared.refusals);
        if stored.len() < MAX_STORED_REFUSALS {
            stored.push(refusal.clone());
        }
    }
    if let Some(cb) = &shared.options.on_refusal {
        cb(&refusal);
    }
    let _ = shared.tx.send(refusal);
    refusal_page(reason)
}

/// Headers that apply to one connection only (RFC 9110 §7.6.1) plus the
/// proxy-specific ones, and any header named in `Connection`.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(hyper::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ] {
        headers.remove(n);
    }
}

fn counting(body: Incoming, counter: Arc<Shared>, up: bool) -> ProxyBody {
    body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            let c = if up {
                &counter.counters.bytes_up
            } else {
                &counter.counters.bytes_down
            };
            c.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        frame
    })
    .boxed()
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    if req.method() == hyper::Method::CONNECT {
        return Ok(handle_connect(shared, req));
    }
    let method = req.method().as_str().to_string();
    let url = req.uri().to_string();
    let (Some(scheme), Some(authority)) = (req.uri().scheme_str(), req.uri().authority()) else {
        let reason = format!(
            "{method} {url}: not a proxy request (absolute URL expected); the marc proxy serves nothing itself"
        );
        return Ok(record_refusal(
            &shared,
            &method,
            &url,
            &reason,
            Initiator::Page,
        ));
    };
    let plain = scheme == "http";
    let authority = authority.clone();
    Ok(forward(shared, req, url, authority, plain).await)
}

/// A request read from inside an intercepted TLS tunnel to `authority`
/// (origin-form): checked and forwarded as `https://authority/path`.
async fn handle_tunneled(
    shared: Arc<Shared>,
    authority: Authority,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    let method = req.method().as_str().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let url = format!("https://{authority}{path}");
    // The tunnel was checked for `authority`: a request inside it naming
    // another system (absolute form, or Host) would reach something the
    // CONNECT decision never saw.
    let named = req.uri().authority().cloned().or_else(|| {
        req.headers()
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<Authority>().ok())
    });
    if let Some(named) = named.filter(|n| !same_origin(n, &authority)) {
        let reason = format!(
            "{method} {url}: the request names {named} inside a tunnel opened to {authority}"
        );
        return Ok(record_refusal(
            &shared,
            &method,
            &url,
            &reason,
            Initiator::Page,
        ));
    }
    // Dot segments and the like are for the rights check to normalise.
    Ok(forward(shared, req, url, authority, true).await)
}

/// Whether two authorities name the same https host and port.
fn same_origin(a: &Authority, b: &Authority) -> bool {
    a.host().eq_ignore_ascii_case(b.host())
        && a.port_u16().unwrap_or(443) == b.port_u16().unwrap_or(443)
}

/// Checks a request (absolute `url`) against every rule and, if allowed,
/// sends it to the system. `ok_scheme`: the request came in a form the
/// proxy can forward unchanged (plain http in absolute form, or https from
/// inside an intercepted tunnel).
async fn forward(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    url: String,
    authority: Authority,
    ok_scheme: bool,
) -> Response<ProxyBody> {
    let method = req.method().as_str().to_string();
    let refuse = |reason: String, initiator: Initiator| {
        record_refusal(&shared, &method, &url, &reason, initiator)
    };
    if is_loop(
        &shared,
        authority.host(),
        authority.port_u16(),
        req.headers(),
    ) {
        return refuse(
            format!("{method} {url}: the request is aimed at the marc proxy itself"),
            Initiator::Page,
        );
    }
    let initiator = classify(&method, authority.host(), req.headers());
    let decision = shared
        .profile
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .check_request(&method, &url);
    if let Decision::Refuse(reason) = decision {
        return refuse(reason, initiator);
    }
    if !ok_scheme {
        return refuse(
            format!("{method} {url}: only http:// can be proxied in absolute form; https goes through CONNECT"),
            initiator,
        );
    }
    if req.headers().contains_key(hyper::header::UPGRADE) {
        return refuse(
            format!("{method} {url}: asks to upgrade the connection (a WebSocket), whose messages the proxy could not check"),
            Initiator::Page,
        );
    }
    if let Some(own) = &shared.cpr {
        if let Some(other) = crate::cpr::foreign_cpr(own, &url) {
            return refuse(
                format!("{method} {url}: the URL carries the CPR number {other}, which is not the request's; a robot may look up only the citizen it works for"),
                Initiator::Page,
            );
        }
    }

    // Forward exactly the URL that was checked: parsed and normalised (dot
    // segments resolved), with Host taken from it, so the upstream cannot
    // see a different path or host than the rights decision saw.
    let checked = url::Url::parse(&url).ok().and_then(|u| {
        let host = u.host_str()?.to_string();
        let host = match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        let uri: hyper::Uri = u.as_str().parse().ok()?;
        Some((uri, HeaderValue::from_str(&host).ok()?))
    });
    let Some((uri, host)) = checked else {
        return refuse(
            format!("{method} {url}: the URL cannot be forwarded unchanged"),
            Initiator::Page,
        );
    };
    let (mut parts, body) = req.into_parts();
    let body = match (&shared.cpr, body.is_end_stream()) {
        (Some(own), false) => {
            match Limited::new(body, MAX_CHECKED_BODY).collect().await {
                Ok(collected) => {
                    let bytes = collected.to_bytes();
                    if let Some(other) =
                        crate::cpr::foreign_cpr(own, &String::from_utf8_lossy(&bytes))
                    {
                        return refuse(
                        format!("{method} {url}: the form data carries the CPR number {other}, which is not the request's; a robot may look up only the citizen it works for"),
                        Initiator::Page,
                    );
                    }
                    shared
                        .counters
                        .bytes_up
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    Full::new(bytes)
                        .map_err(|never: Infallible| match never {})
                        .boxed()
                }
                Err(e) => {
                    return refuse(
                    format!("{method} {url}: the request body cannot be checked ({e}; at most {} MiB)", MAX_CHECKED_BODY >> 20),
                    Initiator::Page,
                );
                }
            }
        }
        _ => counting(body, shared.clone(), true),
    };
    shared.counters.allowed.fetch_add(1, Ordering::Relaxed);
    strip_hop_by_hop(&mut parts.headers);
    parts.uri = uri;
    parts.headers.insert(hyper::header::HOST, host);
    parts.version = hyper::Version::HTTP_11;
    let via = format!("1.1 {}", shared.via_token);
    if let Ok(v) = HeaderValue::from_str(&via) {
        parts.headers.append(hyper::header::VIA, v);
    }
    let out = Request::from_parts(parts, body);
    let timeout = shared.options.response_timeout;
    match tokio::time::timeout(timeout, shared.client.request(out)).await {
        Ok(Ok(resp)) => {
            let (mut parts, body) = resp.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, counting(body, shared.clone(), false))
        }
        Ok(Err(e)) => {
            shared
                .counters
                .upstream_errors
                .fetch_add(1, Ordering::Relaxed);
            let why = error_chain(&e);
            tracing::warn!(%url, error = %why, "rights proxy: upstream request failed");
            full(
                StatusCode::BAD_GATEWAY,
                "text/plain; charset=utf-8",
                format!("marc proxy: the system at {authority} did not answer: {why}\n"),
            )
        }
        Err(_) => {
            shared
                .counters
                .upstream_errors
                .fetch_add(1, Ordering::Relaxed);
            full(
                StatusCode::GATEWAY_TIMEOUT,
                "text/plain; charset=utf-8",
                format!(
                    "marc proxy: the system at {authority} sent no response within {} s\n",
                    timeout.as_secs()
                ),
            )
        }
    }
}

/// An error and its causes on one line (hyper's own message is only
/// "client error (Connect)"; the cause says e.g. which certificate failed).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// Is this request aimed at the proxy itself (directly, or looping back)?
fn is_loop(shared: &Shared, host: &str, port: Option<u16>, headers: &HeaderMap) -> bool {
    let looped = headers
        .get_all(hyper::header::VIA)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(&shared.via_token));
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let local = host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    looped || (local && port.unwrap_or(80) == shared.own_addr.port())
}

fn handle_connect(shared: Arc<Shared>, req: Request<Incoming>) -> Response<ProxyBody> {
    let authority = req.uri().authority().cloned();
    let target = authority
        .as_ref()
        .map(|a| a.as_str().to_string())
        .unwrap_or_default();
    let url = format!("https://{target}/");
    let decision = if target.is_empty() {
        Decision::Refuse("CONNECT without host:port".into())
    } else if is_loop(
        &shared,
        req.uri().host().unwrap_or(""),
        req.uri().port_u16(),
        req.headers(),
    ) {
        Decision::Refuse(format!(
            "CONNECT {target}: the tunnel is aimed at the marc proxy itself"
        ))
    } else {
        match shared
            .profile
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .check_origin(&url)
        {
            Decision::Allow => Decision::Allow,
            Decision::Refuse(r) => Decision::Refuse(format!(
                "CONNECT {target}: {r} (tunnels are allowed only to https:// origins in the profile)"
            )),
        }
    };
    let host = req.uri().host().unwrap_or("").to_string();
    let authority = match (decision, authority) {
        (Decision::Allow, Some(a)) => a,
        (d, _) => {
            let reason = d
                .reason()
                .unwrap_or("CONNECT without host:port")
                .to_string();
            let initiator = classify("CONNECT", &host, req.headers());
            return record_refusal(&shared, "CONNECT", &target, &reason, initiator);
        }
    };
    let config = match shared.tls.server_config(&host) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(%target, error = %e, "rights proxy: no certificate for the tunnel");
            return full(
                StatusCode::BAD_GATEWAY,
                "text/plain; charset=utf-8",
                format!("marc proxy: cannot intercept {target}: {e}\n"),
            );
        }
    };
    let mut closing = shared.closing.subscribe();
    let handshake_timeout = shared.options.connect_timeout;
    tokio::spawn(async move {
        let upgraded = match hyper::upgrade::on(req).await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "rights proxy: CONNECT upgrade failed");
                return;
            }
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let tls = match tokio::time::timeout(
            handshake_timeout,
            acceptor.accept(TokioIo::new(upgraded)),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(target = %authority, error = %e, "rights proxy: TLS handshake with the browser failed");
                return;
            }
            Err(_) => {
                tracing::debug!(target = %authority, "rights proxy: TLS handshake with the browser timed out");
                return;
            }
        };
        shared.counters.intercepted.fetch_add(1, Ordering::Relaxed);
        let inner = shared.clone();
        let svc = service_fn(move |req| handle_tunneled(inner.clone(), authority.clone(), req));
        let conn = hyper::server::conn::http1::Builder::new()
            .preserve_header_case(true)
            .title_case_headers(true)
            .serve_connection(TokioIo::new(tls), svc);
        tokio::select! {
            r = conn => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "rights proxy: tunnelled connection ended with error");
                }
            }
            _ = closing.wait_for(|c| *c) => {}
        }
    });
    Response::new(
        http_body_util::Empty::<Bytes>::new()
            .map_err(|never: Infallible| match never {})
            .boxed(),
    )
}
