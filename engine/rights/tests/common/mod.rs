//! A tiny local upstream (axum) that logs every request it sees, and a
//! low-level HTTP/1.1 client that talks to the proxy in absolute form.
#![allow(dead_code)]

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Frame;
use tokio::net::TcpStream;

/// Requests the upstream received, as "METHOD /path".
pub type Seen = Arc<Mutex<Vec<String>>>;

pub struct Upstream {
    pub base: String,
    pub port: u16,
    pub seen: Seen,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
    pub fn count(&self, what: &str) -> usize {
        self.seen().iter().filter(|s| s.as_str() == what).count()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A body of `chunks` frames of `size` bytes each with no length known in
/// advance, so hyper sends it with chunked transfer encoding.
pub struct ChunkBody {
    pub chunks: usize,
    pub size: usize,
}

impl hyper::body::Body for ChunkBody {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.chunks == 0 {
            return Poll::Ready(None);
        }
        self.chunks -= 1;
        let n = self.chunks;
        let byte = b'a' + (n % 26) as u8;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![byte; self.size])))))
    }
}

pub fn big_body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

pub const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>sag</title></head>
<body><p id="status">pending</p>
<script>
fetch('/doc/delete', {method: 'POST', body: 'id=7'})
  .then(r => r.text().then(t => {
     document.getElementById('status').textContent =
       'status=' + r.status + ' ' + (t.includes('Afvist af marc') ? 'refused-by-marc' : 'not-refused');
  }))
  .catch(e => { document.getElementById('status').textContent = 'error=' + e; });
</script></body></html>"#;

/// A page that tries every way a page can send a forbidden request: XHR,
/// sendBeacon, an image and a fetch to another origin (given as the raw
/// query string), and finally a click on a delete button that submits a form
/// (into an iframe: a top-level navigation makes `--dump-dom` hang).
pub const HOSTILE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>fjendtlig</title></head>
<body><p id="status">pending</p>
<iframe name="sink" id="sink"></iframe>
<form id="f" method="post" action="/doc/delete" target="sink"><input name="id" value="7"><button id="slet">Slet</button></form>
<script>
const other = decodeURIComponent(location.search.slice(1));
const x = new XMLHttpRequest();
x.open('POST', '/doc/delete?via=xhr');
x.send('id=7');
navigator.sendBeacon('/doc/delete?via=beacon', 'id=7');
const img = new Image();
img.src = other + '/cases?via=img';
fetch(other + '/cases?via=fetch', {mode: 'no-cors'}).catch(() => {});
document.getElementById('sink').onload = () => {
  const d = document.getElementById('sink').contentDocument;
  document.getElementById('status').textContent = 'form: ' + (d ? d.body.textContent : 'unreadable');
};
setTimeout(() => document.getElementById('slet').click(), 500);
</script></body></html>"#;

async fn log_request(State(seen): State<Seen>, req: Request, next: Next) -> Response {
    if let Ok(mut v) = seen.lock() {
        v.push(format!("{} {}", req.method(), req.uri().path()));
    }
    next.run(req).await
}

pub async fn start_upstream() -> Upstream {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/hostile", get(|| async { Html(HOSTILE) }))
        .route("/cases", get(|| async { "sager: 17, 18" }))
        .route(
            "/big",
            get(|| async { big_body(5 * 1024 * 1024 + 7).into_response() }),
        )
        .route(
            "/chunked",
            get(|| async {
                Body::new(ChunkBody {
                    chunks: 300,
                    size: 10_000,
                })
            }),
        )
        .route(
            "/echo",
            post(|body: Bytes| async move { format!("{} {}", body.len(), sha(&body)) }),
        )
        .route("/doc/delete", post(|| async { "deleted" }))
        .route(
            "/headers",
            get(|headers: axum::http::HeaderMap| async move {
                let mut names: Vec<String> =
                    headers.keys().map(|k| k.as_str().to_string()).collect();
                names.sort();
                format!(
                    "{}\nhost={}",
                    names.join(","),
                    headers
                        .get("host")
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or("")
                )
            }),
        )
        .layer(middleware::from_fn_with_state(seen.clone(), log_request));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Upstream {
        base: format!("http://127.0.0.1:{port}"),
        port,
        seen,
        task,
    }
}

/// A cheap checksum to compare bodies without printing megabytes.
pub fn sha(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf29ce484222325u64, |h, &x| {
        (h ^ x as u64).wrapping_mul(0x100000001b3)
    })
}

type BoxedBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// One keep-alive HTTP/1.1 connection to the proxy.
pub struct ProxyConn {
    sender: hyper::client::conn::http1::SendRequest<BoxedBody>,
}

pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl ProxyConn {
    pub async fn open(proxy_addr: std::net::SocketAddr) -> ProxyConn {
        let stream = TcpStream::connect(proxy_addr).await.expect("connect proxy");
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .expect("handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        ProxyConn { sender }
    }

    pub async fn send(&mut self, method: &str, uri: &str, body: BoxedBody) -> Reply {
        self.sender.ready().await.expect("connection ready");
        let req = hyper::Request::builder()
            .method(method)
            .uri(uri)
            .body(body)
            .expect("request");
        let resp = self.sender.send_request(req).await.expect("response");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, uri: &str) -> Reply {
        self.send("GET", uri, empty()).await
    }
}

pub fn empty() -> BoxedBody {
    http_body_util::Empty::new()
        .map_err(|never: std::convert::Infallible| match never {})
        .boxed()
}

pub fn full(b: Vec<u8>) -> BoxedBody {
    http_body_util::Full::new(Bytes::from(b))
        .map_err(|never: std::convert::Infallible| match never {})
        .boxed()
}

pub fn chunked(chunks: usize, size: usize) -> BoxedBody {
    ChunkBody { chunks, size }.boxed()
}
