//! A tiny local upstream (axum, over HTTP or HTTPS with the testbed's own
//! CA) that logs every request it sees, and a low-level HTTP/1.1 client that
//! talks to the proxy in absolute form, or inside a CONNECT tunnel whose TLS
//! the proxy intercepts.
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
    /// For an HTTPS upstream: the file holding its CA certificate (PEM),
    /// what a profile's `tls_ca` names.
    pub ca: Option<std::path::PathBuf>,
    _ca_dir: Option<tempfile::TempDir>,
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
/// query string), a WebSocket to its own origin, and finally a click on a
/// delete button that submits a form
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
try { new WebSocket(location.origin.replace(/^http/, 'ws') + '/hostile?via=ws'); } catch (e) {}
setTimeout(() => document.getElementById('slet').click(), 500);
</script></body></html>"#;

async fn log_request(State(seen): State<Seen>, req: Request, next: Next) -> Response {
    if let Ok(mut v) = seen.lock() {
        v.push(format!("{} {}", req.method(), req.uri().path()));
    }
    next.run(req).await
}

pub async fn start_upstream() -> Upstream {
    start_upstream_on(false).await
}

/// The same upstream over HTTPS, with a certificate from a CA of its own.
pub async fn start_upstream_tls() -> Upstream {
    start_upstream_on(true).await
}

async fn start_upstream_on(tls: bool) -> Upstream {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/hostile", get(|| async { Html(HOSTILE) }))
        .route("/ws", get(|| async { "no websocket here" }))
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
    if !tls {
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        return Upstream {
            base: format!("http://127.0.0.1:{port}"),
            port,
            seen,
            ca: None,
            _ca_dir: None,
            task,
        };
    }
    let ca = marc_testbed::tls::TestCa::generate("upstream test CA").expect("test CA");
    let dir = tempfile::tempdir().expect("tmp dir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.ca_pem).expect("write CA");
    let listener =
        marc_testbed::tls::TlsListener::new(listener, ca.server_config).expect("TLS listener");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Upstream {
        base: format!("https://127.0.0.1:{port}"),
        port,
        seen,
        ca: Some(ca_file),
        _ca_dir: Some(dir),
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

    /// A connection inside a CONNECT tunnel to `target` (`host:port`),
    /// speaking TLS to whoever answers and trusting only `ca_pem` (the
    /// proxy's per-run CA): requests are then sent in origin form.
    pub async fn open_tls(
        proxy_addr: std::net::SocketAddr,
        target: &str,
        ca_pem: &str,
    ) -> ProxyConn {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = TcpStream::connect(proxy_addr).await.expect("connect proxy");
        stream
            .write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
            .await
            .expect("write CONNECT");
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            let n = stream.read(&mut b).await.expect("read CONNECT answer");
            assert_eq!(
                n,
                1,
                "proxy closed during CONNECT: {}",
                String::from_utf8_lossy(&head)
            );
            head.push(b[0]);
        }
        let head = String::from_utf8_lossy(&head).to_string();
        assert!(head.starts_with("HTTP/1.1 200"), "CONNECT {target}: {head}");
        Self::tls_over(stream, target, ca_pem).await
    }

    /// A TLS connection straight to an HTTPS upstream at `target`, trusting
    /// `ca_pem` (the baseline the proxy's HTTPS cost is measured against).
    pub async fn open_tls_direct(target: &str, ca_pem: &str) -> ProxyConn {
        let stream = TcpStream::connect(target).await.expect("connect upstream");
        Self::tls_over(stream, target, ca_pem).await
    }

    async fn tls_over(stream: TcpStream, target: &str, ca_pem: &str) -> ProxyConn {
        use rustls_pki_types::pem::PemObject;
        let _ = stream.set_nodelay(true);
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(c.expect("PEM")).expect("root");
        }
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let host = target
            .rsplit_once(':')
            .map_or(target, |(h, _)| h)
            .to_string();
        let name = rustls_pki_types::ServerName::try_from(host).expect("server name");
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, stream)
            .await
            .expect("TLS handshake with the proxy, trusting its per-run CA");
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .expect("handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        ProxyConn { sender }
    }

    pub async fn send(&mut self, method: &str, uri: &str, body: BoxedBody) -> Reply {
        self.send_with(method, uri, &[], body).await
    }

    /// Like [`ProxyConn::send`], with extra request headers.
    pub async fn send_with(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: BoxedBody,
    ) -> Reply {
        self.sender.ready().await.expect("connection ready");
        let mut req = hyper::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(body).expect("request");
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
