//! The canvas front end: `GET /` serves a page whose only content is a `<canvas>`; its script
//! fetches the screen as JSON and draws it with `fillText`, and posts keys back. No screen
//! text is ever in the DOM, so a robot must read pixels (WebDriver screenshot + OCR).
//!
//! Sessions are per browser (cookie `ks_session`), so parallel robots do not share a screen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use marc_testbed::World;
use rand::Rng;
use serde::Deserialize;

use crate::machine::{Input, Terminal};

/// Cap on live sessions; the oldest are dropped beyond it (a bounded testbed, not a leak).
const MAX_SESSIONS: usize = 256;

#[derive(Clone)]
struct App {
    world: Arc<World>,
    sessions: Arc<Mutex<Sessions>>,
}

#[derive(Default)]
struct Sessions {
    map: HashMap<String, Terminal>,
    order: Vec<String>,
}

/// The routes: `GET /` (canvas page), `GET /api/screen`, `POST /api/keys` with
/// `{"keys": ["F2", "0", "Enter"]}` (names as in [`Input::from_name`]).
pub fn router(world: Arc<World>) -> Router {
    let app = App {
        world,
        sessions: Arc::new(Mutex::new(Sessions::default())),
    };
    Router::new()
        .route("/", get(page))
        .route("/api/screen", get(screen))
        .route("/api/keys", post(keys))
        .with_state(app)
}

/// Serve on `127.0.0.1:port` (0 = any free port); returns the base URL and the server task.
pub async fn serve(
    world: Arc<World>,
    port: u16,
) -> std::io::Result<(String, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = router(world);
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, task))
}

fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().strip_prefix("ks_session="))
        .map(str::to_string)
        .find(|s| s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Run `f` on the caller's terminal, creating a session (and a Set-Cookie) if needed.
fn with_terminal<T>(
    app: &App,
    headers: &HeaderMap,
    f: impl FnOnce(&mut Terminal) -> T,
) -> (T, Option<String>) {
    let mut s = app.sessions.lock().unwrap_or_else(|e| e.into_inner());
    let (id, new) = match session_of(headers).filter(|id| s.map.contains_key(id)) {
        Some(id) => (id, false),
        None => {
            let id: String = (0..16)
                .map(|_| format!("{:02x}", rand::thread_rng().gen::<u8>()))
                .collect();
            s.map.insert(id.clone(), Terminal::new(app.world.clone()));
            s.order.push(id.clone());
            if s.order.len() > MAX_SESSIONS {
                let old = s.order.remove(0);
                s.map.remove(&old);
            }
            (id, true)
        }
    };
    let out = match s.map.get_mut(&id) {
        Some(t) => f(t),
        None => f(&mut Terminal::new(app.world.clone())),
    };
    (out, new.then_some(id))
}

fn json_with_cookie(body: serde_json::Value, cookie: Option<String>) -> Response {
    let mut r = Json(body).into_response();
    if let Some(id) = cookie {
        if let Ok(v) = format!("ks_session={id}; Path=/; HttpOnly; SameSite=Strict").parse() {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

async fn screen(State(app): State<App>, headers: HeaderMap) -> Response {
    let (view, cookie) = with_terminal(&app, &headers, |t| t.view());
    json_with_cookie(serde_json::to_value(view).unwrap_or_default(), cookie)
}

#[derive(Deserialize)]
struct Keys {
    keys: Vec<String>,
}

async fn keys(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Json<Keys>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return (
            StatusCode::BAD_REQUEST,
            "expected {\"keys\": [\"F2\", \"a\", \"Enter\"]}",
        )
            .into_response();
    };
    if body.keys.len() > 1000 {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            "at most 1000 keys per request",
        )
            .into_response();
    }
    let (view, cookie) = with_terminal(&app, &headers, |t| {
        t.inputs(body.keys.iter().filter_map(|k| Input::from_name(k)));
        t.view()
    });
    json_with_cookie(serde_json::to_value(view).unwrap_or_default(), cookie)
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// The whole front end. Keys are queued and posted one request at a time, in order, so fast
/// typing (WebDriver) cannot reorder them. `data-frame` on the canvas counts redraws, so a
/// driver can wait for the screen to settle without reading any text.
const PAGE: &str = r##"<!doctype html>
<html lang="da"><head><meta charset="utf-8"><title>KS/3270</title>
<style>html,body{margin:0;background:#000}canvas{display:block;outline:none}</style></head>
<body><canvas id="s" tabindex="0" width="800" height="480" data-frame="0"></canvas>
<script>
(() => {
  const COLS = 80, ROWS = 24, CW = 10, CH = 20, PAD = 0;
  const cv = document.getElementById('s');
  const g = cv.getContext('2d');
  let frame = 0, queue = [], busy = false;
  function draw(v) {
    g.fillStyle = '#000'; g.fillRect(0, 0, cv.width, cv.height);
    g.font = '16px "DejaVu Sans Mono", monospace';
    g.textBaseline = 'top';
    g.fillStyle = '#33ff33';
    v.lines.forEach((line, r) => {
      [...line].forEach((ch, c) => g.fillText(ch, PAD + c * CW, PAD + r * CH + 2));
    });
    const [cr, cc] = v.cursor;
    g.fillRect(PAD + cc * CW, PAD + cr * CH + CH - 3, CW, 2);
    cv.dataset.frame = String(++frame);
  }
  async function pump() {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const keys = queue.splice(0, queue.length);
      const r = await fetch('api/keys', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({keys})});
      if (r.ok) draw(await r.json());
    }
    busy = false;
  }
  const named = new Set(['Enter','Tab','Backspace','Escape','PageUp','PageDown','F1','F2','F3','F4','F5','F6','F7','F8','F9','F10','F11','F12']);
  document.addEventListener('keydown', e => {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    if (named.has(e.key) || e.key.length === 1) {
      e.preventDefault();
      queue.push(e.key);
      pump();
    }
  });
  fetch('api/screen').then(r => r.json()).then(draw);
  cv.focus();
})();
</script></body></html>
"##;
