//! POSTing MeMo messages to a Digital Post endpoint: reqwest's blocking
//! client over rustls (ring), server certificates checked against the
//! system's roots or a CA the configuration names, and an optional client
//! certificate (OCES: PEM certificate and key, or PKCS#12). Plain `http://`
//! only to a loopback relay: a message holds a citizen's documents.

use crate::DeliveryError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;
use zeroize::Zeroizing;

/// Where and how to POST messages (`[delivery]` in marc.toml).
#[derive(Clone, Debug, Default)]
pub struct EndpointConfig {
    /// `https://…` (or `http://` to a loopback relay).
    pub url: String,
    /// PEM file of the CA(s) that issue the endpoint's certificate; unset:
    /// the system's trusted roots.
    pub ca: Option<PathBuf>,
    /// The client certificate marc presents (OCES), if the endpoint asks for one.
    pub identity: Option<ClientIdentity>,
}

impl EndpointConfig {
    /// An endpoint with the system's roots and no client certificate.
    pub fn url(url: impl Into<String>) -> EndpointConfig {
        EndpointConfig {
            url: url.into(),
            ..Default::default()
        }
    }
}

/// A client certificate with its private key.
#[derive(Clone)]
pub enum ClientIdentity {
    /// PEM files: the certificate (chain) and the private key (PKCS#8, PKCS#1 or SEC1).
    Pem { cert: PathBuf, key: PathBuf },
    /// A PKCS#12 file (`.p12`/`.pfx`, as OCES certificates are issued) and its password.
    Pkcs12 {
        file: PathBuf,
        password: Zeroizing<String>,
    },
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientIdentity::Pem { cert, key } => write!(
                f,
                "Pem {{ cert: {}, key: {} }}",
                cert.display(),
                key.display()
            ),
            ClientIdentity::Pkcs12 { file, .. } => {
                write!(f, "Pkcs12 {{ file: {}, password: *** }}", file.display())
            }
        }
    }
}

/// A configured endpoint with its client.
pub(crate) struct Endpoint {
    pub(crate) url: String,
    client: reqwest::blocking::Client,
}

/// An answer from the endpoint.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body_start: String,
}

/// A POST that got no answer.
pub(crate) struct NoAnswer {
    pub(crate) reason: String,
}

fn endpoint_err(s: impl Into<String>) -> DeliveryError {
    DeliveryError::Endpoint(s.into())
}

fn read_file(what: &str, p: &Path) -> Result<Vec<u8>, DeliveryError> {
    std::fs::read(p)
        .map_err(|e| endpoint_err(format!("cannot read the {what} {}: {e}", p.display())))
}

fn pem_certs(what: &str, p: &Path) -> Result<Vec<CertificateDer<'static>>, DeliveryError> {
    let bytes = read_file(what, p)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| endpoint_err(format!("the {what} {} is not PEM: {e}", p.display())))?;
    if certs.is_empty() {
        return Err(endpoint_err(format!(
            "the {what} {} holds no certificate",
            p.display()
        )));
    }
    Ok(certs)
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn load_identity(id: &ClientIdentity) -> Result<Identity, DeliveryError> {
    match id {
        ClientIdentity::Pem { cert, key } => {
            let chain = pem_certs("client certificate", cert)?;
            let bytes = Zeroizing::new(read_file("client key", key)?);
            let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
                endpoint_err(format!(
                    "the client key {} is not a PEM private key: {e}",
                    key.display()
                ))
            })?;
            Ok((chain, key))
        }
        ClientIdentity::Pkcs12 { file, password } => {
            let bytes = read_file("PKCS#12 file", file)?;
            let ks = p12_keystore::KeyStore::from_pkcs12(&bytes, password).map_err(|e| {
                endpoint_err(format!(
                    "cannot open the PKCS#12 file {} ({e}); check the file and its password",
                    file.display()
                ))
            })?;
            let (_, chain) = ks.private_key_chain().ok_or_else(|| {
                endpoint_err(format!(
                    "the PKCS#12 file {} holds no private key with a certificate",
                    file.display()
                ))
            })?;
            let certs = chain
                .chain()
                .iter()
                .map(|c| CertificateDer::from(c.as_der().to_vec()))
                .collect();
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().to_vec()));
            Ok((certs, key))
        }
    }
}

fn tls_config(cfg: &EndpointConfig) -> Result<rustls::ClientConfig, DeliveryError> {
    let mut roots = rustls::RootCertStore::empty();
    match &cfg.ca {
        Some(ca) => {
            for c in pem_certs("CA file", ca)? {
                roots.add(c).map_err(|e| {
                    endpoint_err(format!(
                        "a certificate in {} is not usable: {e}",
                        ca.display()
                    ))
                })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
            if roots.is_empty() {
                return Err(endpoint_err(
                    "no trusted root certificates on this system (install ca-certificates), and no `ca` configured",
                ));
            }
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| endpoint_err(format!("TLS: {e}")))?
    .with_root_certificates(roots);
    match &cfg.identity {
        None => Ok(builder.with_no_client_auth()),
        Some(id) => {
            let (chain, key) = load_identity(id)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| endpoint_err(format!("the client certificate is not usable: {e}")))
        }
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("");
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

impl Endpoint {
    /// Checks the URL and builds the client (certificates are read here, so a
    /// bad file is reported before anything is claimed in the ledger).
    pub(crate) fn new(cfg: &EndpointConfig) -> Result<Endpoint, DeliveryError> {
        let url = cfg.url.trim();
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| endpoint_err(format!("{url:?} is not a URL: {e}")))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(endpoint_err(format!(
                "{}://{}… carries credentials in the URL; use a client certificate",
                parsed.scheme(),
                parsed.host_str().unwrap_or("")
            )));
        }
        match parsed.scheme() {
            "https" => {}
            "http" if is_loopback(&parsed) => {}
            "http" => {
                return Err(endpoint_err(format!(
                    "{url:?}: plain http is only for a relay on this machine (127.0.0.1, localhost); use https"
                )))
            }
            other => return Err(endpoint_err(format!("{url:?}: unsupported scheme {other:?}"))),
        }
        let client = reqwest::blocking::Client::builder()
            .use_preconfigured_tls(tls_config(cfg)?)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("marc-delivery/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| endpoint_err(format!("cannot build the HTTP client: {e}")))?;
        Ok(Endpoint {
            url: url.to_string(),
            client,
        })
    }

    /// POSTs one message. The message UUID goes along as `X-Message-UUID` and
    /// `Idempotency-Key`, so a receiver can tell a retry from a new message.
    pub(crate) fn post(
        &self,
        body: &[u8],
        uuid: &Uuid,
        timeout: Duration,
    ) -> Result<Response, NoAnswer> {
        let id = uuid.hyphenated().to_string();
        let r = self
            .client
            .post(&self.url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/xml; charset=utf-8",
            )
            .header("X-Message-UUID", &id)
            .header("Idempotency-Key", &id)
            .timeout(timeout)
            .body(body.to_vec())
            .send()
            .map_err(|e| NoAnswer {
                reason: describe(&e),
            })?;
        let status = r.status().as_u16();
        let body_start = r
            .text()
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect::<String>();
        Ok(Response { status, body_start })
    }
}

/// The error and its causes in one line (reqwest's own message is only the top).
fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = c.source();
    }
    s
}
