//! `marc.toml`: the municipality's settings. Every field has a default so
//! marc runs without a file; `marc config` prints the effective settings.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The installation's configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The authority that sends the documents (cover page, reading guide, MeMo sender).
    pub authority: AuthorityConfig,
    pub screening: ScreeningConfig,
    pub delivery: DeliveryConfig,
    /// `auto`: deliver when screening and the leak check pass; `review`: always hold for a caseworker.
    pub control: String,
    /// Hold a request for a caseworker when an attachment could not be
    /// converted or OCR confidence is low, instead of sending it.
    pub hold_unreadable: bool,
    /// Working days from receipt to the deadline (offentlighedsloven § 36: 7).
    pub deadline_days: u32,
    /// The topics (departments) a request can be narrowed to; robots get
    /// them as `request.topics`, and the engine keeps only their documents.
    pub topics: Vec<String>,
    /// The web app (`marc serve`).
    pub web: WebConfig,
    /// Where the state is kept (`--database` / `MARC_DATABASE_URL` override it).
    pub store: StoreConfig,
}

/// `[store]`: the embedded store in the data directory (the default), or a
/// PostgreSQL database shared by several marc processes. Either way the data
/// directory (`--data`) keeps marc's files: the audit checkpoint, the
/// answers, the outbox and the control socket.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `postgres://user[:password]@host[:port]/database[?…]`; unset: the
    /// data directory. Prefer a password from `~/.pgpass` or `PGPASSWORD`
    /// over one in this file.
    pub url: Option<String>,
    /// With PostgreSQL, how often each worker tells the job queue it is
    /// alive (seconds; default 10) ...
    pub heartbeat_seconds: Option<u64>,
    /// ... and how many beats it may miss before its jobs are given to
    /// another worker (default 6: a dead worker's job runs again after
    /// about a minute). Shorter finds dead workers sooner; too short takes
    /// jobs from workers that are only slow to answer.
    pub missed_heartbeats: Option<usize>,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.url.as_deref().map(marc_store::redact_url))
            .field("heartbeat_seconds", &self.heartbeat_seconds)
            .field("missed_heartbeats", &self.missed_heartbeats)
            .finish()
    }
}

impl StoreConfig {
    /// As shown to people (`marc config`): without the URL's password.
    pub fn redacted(&self) -> StoreConfig {
        StoreConfig {
            url: self.url.as_deref().map(marc_store::redact_url),
            ..self.clone()
        }
    }

    /// The shared job queue's lease.
    pub fn lease(&self) -> crate::service::queue::Lease {
        let d = crate::service::queue::Lease::default();
        crate::service::queue::Lease {
            heartbeat: self
                .heartbeat_seconds
                .map(|s| std::time::Duration::from_secs(s.max(1)))
                .unwrap_or(d.heartbeat),
            missed_heartbeats: self
                .missed_heartbeats
                .map(|m| m.max(1))
                .unwrap_or(d.missed_heartbeats),
        }
    }
}

/// `[web]`: where `marc serve` listens and how people log in.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Address to listen on.
    pub listen: String,
    /// The address people reach the app at (the OpenID redirect is built
    /// from it); default `http://<listen>`.
    pub public_url: Option<String>,
    /// Citizens' and third parties' login (a MitID broker).
    pub oidc: Option<OidcConfig>,
}

/// `[web.oidc]`: an OpenID Connect provider (authorization code + PKCE).
/// The client secret is the secret `oidc.client_secret` (vault, or
/// `MARC_SECRET_OIDC_CLIENT_SECRET`), never this file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// The claim holding a person's CPR number (`dk.cpr`, `cprNumberIdentifier`, …).
    pub cpr_claim: String,
    /// The claim holding an organisation's CVR number (MitID Erhverv).
    pub cvr_claim: String,
    /// The claim holding the display name.
    pub name_claim: String,
    /// The claim holding an organisation's name (MitID Erhverv).
    pub org_name_claim: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            oidc: None,
        }
    }
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            issuer: String::new(),
            client_id: String::new(),
            scopes: vec!["openid".into(), "profile".into()],
            cpr_claim: "dk.cpr".into(),
            cvr_claim: "dk.cvr".into(),
            name_claim: "name".into(),
            org_name_claim: "organization_name".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthorityConfig {
    pub name: String,
    pub cvr: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub complaint: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScreeningConfig {
    /// Directory with `names/` and `streets/` lists; unset: `$MARC_LISTS_DIR`,
    /// then the lists built into marc (`engine/screening/lists`).
    pub lists_dir: Option<PathBuf>,
    /// The municipality's sensitive words (inflections are matched).
    pub words: Vec<String>,
    /// Addresses never marked (the municipality's own).
    pub allow_addresses: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Directory the MeMo messages are written to (default `<data>/outbox`).
    pub outbox: Option<PathBuf>,
    /// Digital Post endpoint to POST each message to (optional): `https://…`,
    /// or `http://` to a relay on this machine.
    pub endpoint: Option<String>,
    /// PEM file of the CA(s) that issue the endpoint's certificate (default:
    /// the system's trusted roots).
    pub ca: Option<PathBuf>,
    /// Client certificate (OCES) as PEM: certificate (chain) file ...
    pub client_cert: Option<PathBuf>,
    /// ... and its private key file.
    pub client_key: Option<PathBuf>,
    /// Client certificate (OCES) as a PKCS#12 file instead (`.p12`/`.pfx`) ...
    pub client_pkcs12: Option<PathBuf>,
    /// ... whose password is this secret in the vault (`marc secret set NAME`).
    pub client_pkcs12_password: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            authority: AuthorityConfig::default(),
            screening: ScreeningConfig {
                words: vec!["anbringelse".into(), "misbrug".into(), "psykiatrisk".into()],
                ..Default::default()
            },
            delivery: DeliveryConfig::default(),
            control: "auto".into(),
            hold_unreadable: true,
            deadline_days: 7,
            topics: [
                "Jobcenter",
                "Sygedagpenge",
                "Børn og Unge",
                "Borgerservice",
                "Handicap",
            ]
            .map(String::from)
            .to_vec(),
            web: WebConfig::default(),
            store: StoreConfig::default(),
        }
    }
}

impl Default for AuthorityConfig {
    fn default() -> Self {
        AuthorityConfig {
            name: "Testkommune".into(),
            cvr: "29189919".into(),
            address: "Rådhuset, Søvej 1, 8600 Silkeborg".into(),
            phone: "89 70 10 00".into(),
            email: "aktindsigt@testkommune.dk".into(),
            complaint: "Du kan klage over afgørelsen til kommunen inden 4 uger. Kommunen genvurderer sagen og sender den videre til Ankestyrelsen, hvis afgørelsen fastholdes.".into(),
        }
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration {0}: {1}")]
    Read(String, String),
    #[error("{0}: {1}")]
    Parse(String, String),
    #[error("{0}: `control` must be \"auto\" or \"review\", not {1:?}")]
    Control(String, String),
}

impl Config {
    /// Reads `path`, or the defaults when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read(name.clone(), e.to_string()))?;
        let c: Config = toml::from_str(&text)
            .map_err(|e| ConfigError::Parse(name.clone(), e.to_string().trim().to_string()))?;
        if c.control != "auto" && c.control != "review" {
            return Err(ConfigError::Control(name, c.control));
        }
        Ok(c)
    }

    /// Where the screening lists are: the configured directory, then
    /// `$MARC_LISTS_DIR`; `None` = the lists built into marc.
    pub fn lists_dir(&self) -> Option<PathBuf> {
        self.screening
            .lists_dir
            .clone()
            .or_else(|| std::env::var_os("MARC_LISTS_DIR").map(PathBuf::from))
    }

    /// The name and street lists [`Config::lists_dir`] points at.
    pub fn lexicon(&self) -> Result<marc_screening::Lexicon, anyhow::Error> {
        use anyhow::Context;
        match self.lists_dir() {
            Some(d) => marc_screening::Lexicon::load(&d)
                .with_context(|| format!("cannot load the screening lists from {}", d.display())),
            None => Ok(marc_screening::Lexicon::bundled()),
        }
    }

    pub fn authority(&self) -> marc_assembly::Authority {
        let a = &self.authority;
        marc_assembly::Authority {
            name: a.name.clone(),
            cvr: a.cvr.clone(),
            address: a.address.clone(),
            phone: a.phone.clone(),
            email: a.email.clone(),
            complaint: a.complaint.clone(),
        }
    }
}
