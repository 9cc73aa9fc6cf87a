//! Front end A: the terminal drawn on an HTML `<canvas>`, with no screen text
//! in the DOM, so a robot can only read it by OCR.
//!
//! `GET /` is a page with one `<canvas id="screen">` sized to exactly 80×24
//! cells of 20px DejaVu Sans Mono and no margins (a WebDriver element
//! screenshot of `#screen` is the whole screen). Green on black by default;
//! `/?theme=light` draws black on white, which OCRs better and is what the
//! robots use. The page's JavaScript fetches `GET /screen` (JSON `{lines,
//! cursor: [row, col]}`), posts every key to `POST /key` (`{"key": "F8"}`,
//! names as in [`TermKey::parse`]) one at a time in order and redraws from
//! the answer. One [`TerminalApp`] per `terminal_sid_PORT` cookie; every request
//! is logged to the shared [`RequestLog`] as system `terminal`.
//!
//! The canvas is 964×576 px (DejaVu Sans Mono 20px: 12.05 px × 24 px cells).
//! Chromium paints only what is inside the viewport into an element
//! screenshot, and headless `--window-size=W,H` leaves a viewport about 143 px
//! lower than H: use a window of at least 1000×740 (1100×700 cuts off the
//! footer row). OCR of a light-theme screenshot with tesseract (`dan`) reads
//! the text nearly exactly; `*** SLUT PÅ DOKUMENT ***` comes back with its
//! asterisks mangled, so match on `SLUT PÅ DOKUMENT`.

use super::app::{Screen, TermKey, TerminalApp, TerminalConfig, SYSTEM};
use crate::server::{cookie, lock, new_token, LogEntry, RequestLog};
use crate::world::World;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Prefix of the session cookie, which is `terminal_sid_PORT`: browsers share
/// cookies across the ports of one host, and several terminal instances (or
/// the web systems) in one browser must not log each other out.
const COOKIE: &str = "terminal_sid";
/// Sessions kept at most; beyond that an arbitrary old one is dropped.
const MAX_SESSIONS: usize = 1000;

/// Stops a served front end.
pub struct ShutdownHandle {
    tx: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl ShutdownHandle {
    /// Stops the server; connections still open after two seconds are cut.
    pub async fn stop(self) {
        let _ = self.tx.send(());
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// The running canvas terminal system.
pub struct TerminalServer {
    /// `http://127.0.0.1:PORT` (no trailing slash); add `/?theme=light` for
    /// the black-on-white screen the robots read.
    pub url: String,
    handle: ShutdownHandle,
}

impl TerminalServer {
    /// Stops the server.
    pub async fn stop(self) {
        self.handle.stop().await;
    }
}

/// Serves the canvas terminal on `127.0.0.1:0`; what `Testbed` or the engine
/// calls to add the third system. `log` is usually the testbed's own.
pub async fn start_terminal(
    world: Arc<World>,
    cfg: TerminalConfig,
    log: RequestLog,
) -> std::io::Result<TerminalServer> {
    let (url, handle) = serve_canvas(world, cfg, log).await?;
    Ok(TerminalServer { url, handle })
}

/// Serves the canvas front end on `127.0.0.1:0` and returns its URL and a
/// handle that stops it.
pub async fn serve_canvas(
    world: Arc<World>,
    cfg: TerminalConfig,
    log: RequestLog,
) -> std::io::Result<(String, ShutdownHandle)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let ctx = Ctx {
        cookie: format!("{COOKIE}_{}", addr.port()),
        world,
        cfg,
        log,
        sessions: Arc::new(Mutex::new(HashMap::new())),
    };
    let app = Router::new()
        .route("/", get(page))
        .route("/screen", get(screen))
        .route("/key", post(key))
        .route("/__testbed/log", get(log_endpoint))
        .with_state(ctx);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok((url, ShutdownHandle { tx, task }))
}

#[derive(Clone)]
struct Ctx {
    /// The session cookie's name, `terminal_sid_PORT`.
    cookie: String,
    world: Arc<World>,
    cfg: TerminalConfig,
    log: RequestLog,
    sessions: Arc<Mutex<HashMap<String, TerminalApp>>>,
}

impl Ctx {
    /// Runs `f` on the request's session (a new one when the cookie is
    /// missing or unknown), logs the request, and adds the cookie to the
    /// response when the session is new.
    fn with_session(
        &self,
        headers: &HeaderMap,
        method: &str,
        path: &str,
        f: impl FnOnce(&mut TerminalApp) -> (StatusCode, Response),
    ) -> Response {
        let mut sessions = lock(&self.sessions);
        let known = cookie(headers, &self.cookie).filter(|t| sessions.contains_key(t));
        let (token, fresh) = match known {
            Some(t) => (t, false),
            None => {
                if sessions.len() >= MAX_SESSIONS {
                    if let Some(k) = sessions.keys().next().cloned() {
                        sessions.remove(&k);
                    }
                }
                let t = new_token();
                let app = TerminalApp::new(self.world.clone(), self.cfg.clone())
                    .with_log(self.log.clone());
                sessions.insert(t.clone(), app);
                (t, true)
            }
        };
        let Some(app) = sessions.get_mut(&token) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let before = app.user().map(str::to_string);
        let (status, mut resp) = f(app);
        self.log.push(LogEntry {
            system: SYSTEM.into(),
            method: method.into(),
            path: path.into(),
            user: app.user().map(str::to_string).or(before),
            status: status.as_u16(),
            forbidden: false,
        });
        *resp.status_mut() = status;
        if fresh {
            if let Ok(v) =
                format!("{}={token}; Path=/; HttpOnly; SameSite=Lax", self.cookie).parse()
            {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
        }
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        resp
    }
}

/// `GET /`: the page (with a session).
async fn page(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    ctx.with_session(&headers, "GET", "/", |_| {
        (StatusCode::OK, Html(PAGE).into_response())
    })
}

/// `GET /screen`: the session's screen as JSON.
async fn screen(State(ctx): State<Ctx>, headers: HeaderMap) -> Response {
    ctx.with_session(&headers, "GET", "/screen", |app| {
        (StatusCode::OK, Json::<Screen>(app.screen()).into_response())
    })
}

/// `POST /key` with `{"key": NAME}`: presses the key, answers the new screen.
async fn key(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct KeyReq {
        key: String,
    }
    let parsed = serde_json::from_slice::<KeyReq>(&body)
        .ok()
        .and_then(|r| TermKey::parse(&r.key).ok_or(r.key).ok());
    ctx.with_session(&headers, "POST", "/key", |app| match parsed {
        Some(k) => {
            app.key(k);
            (StatusCode::OK, Json(app.screen()).into_response())
        }
        None => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({
                "error": "send JSON {\"key\": NAME} with NAME one character or Enter, Tab, \
                          Backspace, Escape, PageUp, PageDown, F1..F12"
            }))
            .into_response(),
        ),
    })
}

/// `GET /__testbed/log`: every entry of the shared log, as JSON.
async fn log_endpoint(State(ctx): State<Ctx>) -> Json<Vec<LogEntry>> {
    Json(ctx.log.entries())
}

/// The whole page: one canvas, inline script, no text.
const PAGE: &str = r##"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>SAGSYS/3270</title>
<style>html,body{margin:0;padding:0;overflow:hidden;background:#000}canvas{display:block;outline:none}</style>
</head><body><canvas id="screen" width="960" height="576" tabindex="0"></canvas>
<script>
(function () {
  "use strict";
  var COLS = 80, ROWS = 24, LINE = 24, FONT = '20px "DejaVu Sans Mono", monospace';
  var light = new URLSearchParams(location.search).get("theme") === "light";
  var FG = light ? "#000000" : "#33ff66", BG = light ? "#ffffff" : "#000000";
  document.documentElement.style.background = BG;
  document.body.style.background = BG;
  var cv = document.getElementById("screen"), ctx = cv.getContext("2d");
  ctx.font = FONT;
  var cw = ctx.measureText("M").width;
  cv.width = Math.ceil(cw * COLS);
  cv.height = LINE * ROWS;
  function draw(s) {
    if (!s || !s.lines) return;
    ctx.font = FONT;
    ctx.textBaseline = "top";
    ctx.fillStyle = BG;
    ctx.fillRect(0, 0, cv.width, cv.height);
    ctx.fillStyle = FG;
    for (var r = 0; r < s.lines.length; r++) ctx.fillText(s.lines[r], 0, r * LINE + 2);
    var cr = s.cursor[0], cc = s.cursor[1];
    var under = Array.from(s.lines[cr] || "")[cc] || " ";
    ctx.fillRect(cc * cw, cr * LINE, cw, LINE);
    ctx.fillStyle = BG;
    ctx.fillText(under, cc * cw, cr * LINE + 2);
  }
  var queue = Promise.resolve();
  function send(k) {
    queue = queue.then(function () {
      return fetch("/key", {method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify({key: k})})
        .then(function (r) { return r.json(); }).then(draw);
    }).catch(function () {});
  }
  var NAMED = {Enter: 1, Tab: 1, Backspace: 1, Escape: 1, PageUp: 1, PageDown: 1};
  document.addEventListener("keydown", function (e) {
    var k = null;
    if (NAMED[e.key] || /^F([1-9]|1[0-2])$/.test(e.key)) k = e.key;
    else if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) k = e.key;
    if (k === null) return;
    e.preventDefault();
    send(k);
  });
  cv.focus();
  fetch("/screen", {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(draw);
})();
</script></body></html>
"##;

#[cfg(test)]
mod tests {
    use super::super::app::{unwrap_text, END_MARKER};
    use super::*;
    use crate::world::DEMO_SEED;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A minimal HTTP/1.1 client: `(status, set-cookie value, body)`.
    async fn http(
        url: &str,
        method: &str,
        path: &str,
        cookie: &str,
        body: &str,
    ) -> (u16, Option<String>, String) {
        let addr = url.trim_start_matches("http://");
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.expect("write");
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.expect("read");
        let text = String::from_utf8(buf).expect("utf-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("http response");
        let status = head[9..12].parse().expect("status");
        let set_cookie = head
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|v| v.split(';').next())
            .map(str::to_string);
        (status, set_cookie, body.to_string())
    }

    struct Client {
        url: String,
        cookie: String,
    }

    impl Client {
        async fn key(&self, k: &str) -> Screen {
            let body = serde_json::json!({ "key": k }).to_string();
            let (st, _, b) = http(&self.url, "POST", "/key", &self.cookie, &body).await;
            assert_eq!(st, 200, "{b}");
            serde_json::from_str(&b).expect("screen json")
        }
        async fn typ(&self, s: &str) -> Screen {
            let mut last = None;
            for c in s.chars() {
                last = Some(self.key(&c.to_string()).await);
            }
            last.expect("non-empty")
        }
    }

    #[tokio::test]
    async fn robot_over_http_reads_every_demo_document_exactly() {
        let world = Arc::new(World::generate(DEMO_SEED));
        let log = RequestLog::default();
        let srv = start_terminal(world.clone(), TerminalConfig::default(), log.clone())
            .await
            .expect("serve");
        let (st, cookie, page) = http(&srv.url, "GET", "/?theme=light", "", "").await;
        assert_eq!(st, 200);
        assert!(page.contains("<canvas id=\"screen\"") && page.contains("fillText"));
        assert!(!page.contains("SAGSYS/3270 –") && !page.contains("BRUGER"));
        let c = Client {
            url: srv.url.clone(),
            cookie: cookie.expect("session cookie"),
        };
        let port = srv.url.rsplit(':').next().unwrap_or_default();
        assert!(c.cookie.starts_with(&format!("terminal_sid_{port}=")));
        let (_, again, body) = http(&c.url, "GET", "/screen", &c.cookie, "").await;
        assert!(again.is_none(), "same session");
        assert!(body.contains("BRUGER:"));
        assert_eq!(
            http(&c.url, "POST", "/key", &c.cookie, "{\"key\":\"F99\"}")
                .await
                .0,
            400
        );

        c.typ("ROBOT03").await;
        c.key("Tab").await;
        c.typ("TERM2018").await;
        assert!(c.key("Enter").await.text().contains("1 SØG BORGER"));
        c.typ("1").await;
        c.key("Enter").await;
        let demo = world.demo_citizen().cpr.clone();
        c.typ(&demo).await;
        let cases = c.key("Enter").await;
        let mut truth: Vec<_> = world.documents_for("terminal", &demo).cloned().collect();
        let mut got = Vec::new();
        let case_rows: Vec<String> = cases.lines[4..]
            .iter()
            .take_while(|l| l.starts_with(|ch: char| ch.is_ascii_digit()))
            .cloned()
            .collect();
        assert_eq!(case_rows.len(), world.cases_for("terminal", &demo).count());
        for (ci, _) in case_rows.iter().enumerate() {
            c.typ(&(ci + 1).to_string()).await;
            let list = c.key("Enter").await;
            let n = list.lines[4..]
                .iter()
                .take_while(|l| l.starts_with(|ch: char| ch.is_ascii_digit()))
                .count();
            for di in 0..n {
                c.typ(&(di + 1).to_string()).await;
                let mut s = c.key("Enter").await;
                let head = &s.lines[1];
                let doc_id = head
                    .split_whitespace()
                    .nth(1)
                    .expect("DOK-ID: value")
                    .to_string();
                let mut lines: Vec<String> = Vec::new();
                loop {
                    lines.extend(s.lines[5..22].iter().cloned());
                    if s.text().contains(END_MARKER) {
                        break;
                    }
                    s = c.key("PageDown").await;
                }
                let text = unwrap_text(&lines);
                let text = text.strip_suffix(END_MARKER).unwrap_or(&text).trim_end();
                got.push((doc_id, text.to_string()));
                c.key("F3").await;
            }
            c.key("F3").await;
        }
        truth.sort_by(|a, b| a.doc_id.cmp(&b.doc_id));
        got.sort();
        assert_eq!(got.len(), truth.len());
        for ((id, text), d) in got.iter().zip(&truth) {
            assert_eq!(id, &d.doc_id);
            assert_eq!(text, &d.text, "{id}");
        }
        let entries = log.entries();
        assert!(entries
            .iter()
            .all(|e| e.system == "terminal" && !e.forbidden));
        assert!(entries.iter().any(|e| e.method == "LOGIN"
            && e.status == 200
            && e.user.as_deref() == Some("ROBOT03")));
        for d in &truth {
            assert!(entries
                .iter()
                .any(|e| e.path == format!("/doc?id={}&page=1", d.doc_id)));
        }
        let (_, _, logged) = http(&c.url, "GET", "/__testbed/log", "", "").await;
        assert!(logged.contains("/doc?id="));
        srv.stop().await;
    }
}
