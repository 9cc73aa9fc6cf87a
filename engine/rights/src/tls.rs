//! TLS interception for the enforcing proxy (issue 12 §1).
//!
//! A `CONNECT` to an allowed `https://` origin is not tunnelled blindly: the
//! proxy answers the browser's TLS handshake itself with a certificate for
//! the requested host, issued by a **per-run CA** made when the proxy starts,
//! so it can read and check every request inside. Towards the case system it
//! opens its own TLS connection and verifies the system's certificate against
//! the system's roots or the manifest's `tls_ca`.
//!
//! The per-run CA's private key exists only in this process's memory and dies
//! with the [`Interceptor`]; it is never written anywhere. The robot's
//! Chromium is told to accept certificates from it with
//! `--ignore-certificate-errors-spki-list=<SHA-256 of the CA's public key>`
//! (see [`Interceptor::spki_hash`]), which applies to that one browser
//! process only and puts nothing secret on its command line.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};

/// What went wrong setting up TLS; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The per-run CA or a leaf certificate could not be made.
    #[error("cannot make the proxy's per-run certificate: {0}")]
    Certificate(String),
    /// The manifest's `tls_ca` cannot be used.
    #[error("tls_ca {path}: {reason}; give a PEM file with the CA certificate(s) that sign the system's certificate")]
    TlsCa {
        /// The file as configured.
        path: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The one crypto provider marc uses, chosen explicitly so another crate in
/// the build enabling a second rustls provider does not make rustls guess.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The per-run CA and the leaf certificates it issued, one per host.
pub(crate) struct Interceptor {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
    /// One key for every leaf: generating a key per host buys nothing, as
    /// every leaf lives exactly as long as the CA.
    leaf_key: KeyPair,
    signing_key: Arc<dyn rustls::sign::SigningKey>,
    spki_hash: String,
    serial: AtomicU64,
    configs: Mutex<HashMap<String, Arc<ServerConfig>>>,
}

impl Interceptor {
    /// Makes a fresh CA (ECDSA P-256, valid from an hour ago for two days,
    /// may sign only end-entity certificates) and the leaf key.
    pub(crate) fn new() -> Result<Interceptor, TlsError> {
        let cert_err = |e: rcgen::Error| TlsError::Certificate(e.to_string());
        let ca_key = KeyPair::generate().map_err(cert_err)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "marc");
        dn.push(
            DnType::CommonName,
            format!("marc rights proxy, per-run CA {}", std::process::id()),
        );
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(2);
        params.serial_number = Some(SerialNumber::from(now_nanos().to_be_bytes().to_vec()));
        let ca = params.self_signed(&ca_key).map_err(cert_err)?;
        let spki_hash = base64::engine::general_purpose::STANDARD
            .encode(Sha256::digest(ca_key.public_key_der()));
        let leaf_key = KeyPair::generate().map_err(cert_err)?;
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let signing_key = provider()
            .key_provider
            .load_private_key(der)
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        Ok(Interceptor {
            ca,
            ca_key,
            leaf_key,
            signing_key,
            spki_hash,
            serial: AtomicU64::new(1),
            configs: Mutex::new(HashMap::new()),
        })
    }

    /// Base64 SHA-256 of the CA's SubjectPublicKeyInfo, the form Chromium's
    /// `--ignore-certificate-errors-spki-list` takes.
    pub(crate) fn spki_hash(&self) -> &str {
        &self.spki_hash
    }

    /// The CA certificate (public), PEM.
    pub(crate) fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// The server side of an intercepted tunnel to `host`: a leaf for
    /// `host` (an IP address or a DNS name) plus the CA, HTTP/1.1 only.
    /// Made once per host and cached.
    pub(crate) fn server_config(&self, host: &str) -> Result<Arc<ServerConfig>, TlsError> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let mut configs = self.configs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = configs.get(host) {
            return Ok(c.clone());
        }
        let cert_err = |e: rcgen::Error| TlsError::Certificate(format!("{host}: {e}"));
        let mut params = if host.parse::<IpAddr>().is_ok() {
            CertificateParams::new(vec![host.to_string()]).map_err(cert_err)?
        } else {
            CertificateParams::new(vec![host.to_ascii_lowercase()]).map_err(cert_err)?
        };
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, host);
        params.distinguished_name = dn;
        params.is_ca = IsCa::NoCa;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(2);
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        params.serial_number = Some(SerialNumber::from(serial.to_be_bytes().to_vec()));
        let leaf = params
            .signed_by(&self.leaf_key, &self.ca, &self.ca_key)
            .map_err(cert_err)?;
        let chain = vec![leaf.der().clone(), self.ca.der().clone()];
        let key = Arc::new(CertifiedKey::new(chain, self.signing_key.clone()));
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Fixed(key)));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        configs.insert(host.to_string(), config.clone());
        Ok(config)
    }
}

/// Always presents the one certificate made for the tunnel's host: the host
/// comes from the checked `CONNECT`, never from the browser's SNI.
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}

/// The CA certificates in a PEM file (at least one, each one usable as a
/// root), for `tls_ca`.
pub(crate) fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |reason: String| TlsError::TlsCa {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read it ({e})")))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(format!("not valid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(bad("holds no CERTIFICATE block".into()));
    }
    let mut store = RootCertStore::empty();
    for c in &certs {
        store
            .add(c.clone())
            .map_err(|e| bad(format!("a certificate in it cannot be a root ({e})")))?;
    }
    Ok(certs)
}

/// The TLS client the proxy uses towards case systems: the certificates in
/// `tls_ca` as the only roots when given (a municipality's internal CA; a
/// public CA then cannot stand in for it), else the system's roots.
pub(crate) fn upstream_config(tls_ca: Option<&Path>) -> Result<ClientConfig, TlsError> {
    let mut roots = RootCertStore::empty();
    match tls_ca {
        Some(path) => {
            for c in load_ca_file(path)? {
                roots
                    .add(c)
                    .map_err(|e| TlsError::Config(format!("{}: {e}", path.display())))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!(error = %e, "rights proxy: a system root certificate could not be read");
            }
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::warn!("rights proxy: no system root certificates found; https systems need tls_ca in their manifest");
            }
        }
    }
    // No ALPN here: hyper-rustls sets it from the HTTP versions enabled.
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
