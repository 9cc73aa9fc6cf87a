//! A simulated Digital Post receiver (as SF1601 takes MeMo messages), on
//! 127.0.0.1 over real HTTPS: a test CA made here with rcgen, a server
//! certificate for 127.0.0.1/localhost, and client certificates required
//! and verified against a CA of the test's choosing (as OCES is).
//!
//! Receiving is idempotent on the message UUID (`X-Message-UUID`): a
//! message it already has is answered 409 Conflict and not stored twice.
//! [`Behaviour::Hang`] reads a POST and never answers, so a test can kill
//! the sender while it waits: a delivery in doubt.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};

/// A certificate authority for tests, and certificates it issues.
pub struct TestPki {
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

/// A certificate and its private key, PEM.
#[derive(Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestPki {
    /// A fresh CA named `name`.
    pub fn new(name: &str) -> Result<TestPki, rcgen::Error> {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = rcgen::KeyPair::generate()?;
        let ca = params.self_signed(&ca_key)?;
        Ok(TestPki { ca, ca_key })
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// A certificate for `cn` with these subject alternative names (IP
    /// addresses or DNS names).
    pub fn issue(&self, cn: &str, sans: &[&str]) -> Result<Issued, rcgen::Error> {
        let mut params =
            rcgen::CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        let key = rcgen::KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.ca, &self.ca_key)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// How the receiver answers a POST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// 200 for a new message, 409 for a message UUID it already has.
    Accept,
    /// This status, storing nothing.
    Fail(u16),
    /// Reads the POST, stores the message, and never answers.
    Hang,
}

/// One message as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub uuid: String,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct State {
    messages: BTreeMap<String, Received>,
    posts: usize,
    behaviour: Option<Behaviour>,
}

/// The running receiver; stops when dropped.
pub struct DigitalPostReceiver {
    /// `https://127.0.0.1:PORT/memo`.
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl DigitalPostReceiver {
    /// Starts on 127.0.0.1 with a server certificate from `pki`, requiring a
    /// client certificate issued by the CA in `client_ca_pem`.
    pub fn start(pki: &TestPki, client_ca_pem: &str) -> std::io::Result<DigitalPostReceiver> {
        let server = pki
            .issue("digital-post.test", &["127.0.0.1", "localhost"])
            .map_err(other)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
            roots.add(c.map_err(other)?).map_err(other)?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(other)?;
        let chain =
            vec![CertificateDer::from_pem_slice(server.cert_pem.as_bytes()).map_err(other)?];
        let key = PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes()).map_err(other)?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(other)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(other)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr: SocketAddr = listener.local_addr()?;
        let state: Arc<Mutex<State>> = Arc::default();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::spawn(move || {
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let serve = async {
                    loop {
                        let Ok((tcp, _)) = listener.accept().await else {
                            continue;
                        };
                        let (acceptor, st) = (acceptor.clone(), st.clone());
                        tokio::spawn(async move {
                            // A client without an acceptable certificate fails here.
                            let Ok(tls) = acceptor.accept(tcp).await else {
                                return;
                            };
                            let svc = hyper::service::service_fn(move |req| {
                                let st = st.clone();
                                async move { handle(req, st).await }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                                .await;
                        });
                    }
                };
                tokio::select! {
                    _ = serve => {},
                    _ = stopped => {},
                }
            });
        });
        Ok(DigitalPostReceiver {
            url: format!("https://{addr}/memo"),
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn set_behaviour(&self, b: Behaviour) {
        self.lock().behaviour = Some(b);
    }

    /// POSTs whose body arrived.
    pub fn posts(&self) -> usize {
        self.lock().posts
    }

    /// The distinct messages received, by message UUID.
    pub fn messages(&self) -> Vec<Received> {
        self.lock().messages.values().cloned().collect()
    }

    /// Waits until `n` POSTs arrived (false on timeout).
    pub fn wait_for_posts(&self, n: usize, timeout: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < timeout {
            if self.posts() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for DigitalPostReceiver {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn handle(
    req: hyper::Request<hyper::body::Incoming>,
    st: Arc<Mutex<State>>,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let answer = |status: u16, text: &str| {
        let mut r = hyper::Response::new(Full::new(Bytes::from(text.to_string())));
        *r.status_mut() =
            hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
        Ok(r)
    };
    if req.method() != hyper::Method::POST {
        return answer(405, "POST only");
    }
    let uuid = req
        .headers()
        .get("x-message-uuid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes().to_vec(),
        Err(_) => return answer(400, "unreadable body"),
    };
    if uuid.is_empty() {
        return answer(400, "no X-Message-UUID");
    }
    let behaviour = {
        let mut s = st.lock().unwrap_or_else(|p| p.into_inner());
        s.posts += 1;
        let b = s.behaviour.unwrap_or(Behaviour::Accept);
        if !matches!(b, Behaviour::Fail(_)) {
            if s.messages.contains_key(&uuid) {
                return answer(409, "duplicate messageUUID");
            }
            s.messages.insert(uuid.clone(), Received { uuid, body });
        }
        b
    };
    match behaviour {
        Behaviour::Accept => answer(200, "accepted"),
        Behaviour::Fail(code) => answer(code, "refused by the test receiver"),
        Behaviour::Hang => {
            std::future::pending::<()>().await;
            answer(500, "")
        }
    }
}
