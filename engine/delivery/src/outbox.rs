//! The exactly-once outbox. Every delivery has a caller-chosen key (e.g.
//! `response/<request id>`); its state lives in the store table
//! `delivery` and is flushed before anything irreversible happens:
//!
//! ```text
//!   (none) ──claim──▶ sending ──file written──▶ posting ──2xx/409──▶ delivered
//!                        │                         │
//!                        └──────── error ──────────┴──────────▶ failed
//! ```
//!
//! - A repeated `deliver` with the same key returns the recorded result and
//!   sends nothing: `delivered` gives the earlier receipt, `failed` the
//!   earlier error (unless nothing ever left the machine: then it resumes).
//! - After a crash in `sending` nothing has left the machine, so `deliver`
//!   resumes. After a crash in `posting` a POST may have arrived: the outbox
//!   refuses to guess ([`DeliveryError::InDoubt`]); an operator checks the
//!   receiving side and calls [`Outbox::confirm_delivered`], or
//!   [`Outbox::retry`], which re-sends the very bytes of the outbox file under
//!   the same message UUID: a receiver that already has that UUID answers
//!   409 Conflict (or 2xx), and either counts as delivered.
//! - One delivery key, one document: the SHA-256 of the main document and of
//!   the outbox file are recorded at the claim and checked before any send.
//! - Messages are files of mode 0600 in a directory of mode 0700.
//! - The ledger stores absolute paths, and refuses to start a delivery whose
//!   outbox file already exists without a ledger record (the store lost it).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use marc_store::{Store, Table};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::client::{Endpoint, EndpointConfig};
use crate::memo::{memo_xml, validate, MemoMessage};
use crate::DeliveryError;

/// Store table holding the delivery ledger.
pub const LEDGER_TABLE: &str = "delivery";

/// Where a delivery stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum DeliveryState {
    /// Claimed; the message may be written to the outbox but nothing was sent.
    Sending,
    /// A POST to the endpoint was started (attempt number, 1-based); if marc
    /// stopped here, the message may or may not have arrived.
    Posting { attempt: u32 },
    /// Written to the outbox and, if an endpoint is configured, accepted by it
    /// (or confirmed by an operator).
    Delivered,
    /// Gave up; `reason` says why. Shown as "delivery failed".
    Failed { reason: String },
}

impl DeliveryState {
    /// A short name for lists: sending, in doubt, delivered, failed.
    pub fn name(&self) -> &'static str {
        match self {
            DeliveryState::Sending => "sending",
            DeliveryState::Posting { .. } => "in doubt",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed { .. } => "failed",
        }
    }
}

/// The ledger entry for one delivery key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub delivery_key: String,
    pub message_uuid: Uuid,
    #[serde(flatten)]
    pub state: DeliveryState,
    /// The outbox file (`<outbox>/<uuid>.xml`), absolute.
    pub file: PathBuf,
    pub endpoint: Option<String>,
    pub http_status: Option<u16>,
    /// POSTs started.
    pub attempts: u32,
    pub label: String,
    pub recipient: String,
    pub updated: DateTime<Utc>,
    /// SHA-256 (hex) of the main document, fixed at the claim.
    #[serde(default)]
    pub document_sha256: Option<String>,
    /// SHA-256 (hex) of the outbox file, once written: a retry sends exactly it.
    #[serde(default)]
    pub file_sha256: Option<String>,
    /// How it ended, if not plainly: a receiver's duplicate answer, or who
    /// confirmed it by hand and why.
    #[serde(default)]
    pub note: Option<String>,
}

/// What a successful delivery returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryReceipt {
    pub delivery_key: String,
    pub message_uuid: Uuid,
    pub file: PathBuf,
    /// Whether it was POSTed (and accepted) rather than only written.
    pub posted: bool,
    pub http_status: Option<u16>,
    /// True when this call found an earlier delivery and sent nothing.
    pub repeated: bool,
}

impl DeliveryReceipt {
    fn of(rec: &DeliveryRecord, repeated: bool) -> DeliveryReceipt {
        DeliveryReceipt {
            delivery_key: rec.delivery_key.clone(),
            message_uuid: rec.message_uuid,
            file: rec.file.clone(),
            posted: rec.endpoint.is_some(),
            http_status: rec.http_status,
            repeated,
        }
    }
}

/// How the outbox retries POSTs.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    /// For the whole of one POST, from connecting to the end of the answer.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            first_backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(30),
        }
    }
}

/// A directory of MeMo files plus an optional endpoint, with an
/// exactly-once ledger in the store.
pub struct Outbox {
    dir: PathBuf,
    endpoint: Option<Endpoint>,
    store: Store,
    table: Table,
    retry: RetryPolicy,
    in_flight: Mutex<HashSet<String>>,
}

fn io_err(path: &Path, e: std::io::Error) -> DeliveryError {
    DeliveryError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

struct InFlight<'a> {
    set: &'a Mutex<HashSet<String>>,
    key: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.set.lock() {
            s.remove(&self.key);
        }
    }
}

impl Outbox {
    /// Opens an outbox writing to `dir` (created if missing, mode 0700;
    /// recorded as an absolute path) and, when `endpoint` is set,
    /// POSTing to it. The endpoint's certificates are loaded here, so a bad
    /// configuration fails before anything is claimed.
    pub fn new(
        dir: PathBuf,
        endpoint: Option<EndpointConfig>,
        store: Store,
    ) -> Result<Outbox, DeliveryError> {
        marc_store::private_dir(&dir).map_err(|e| io_err(&dir, e))?;
        let dir = dir.canonicalize().map_err(|e| io_err(&dir, e))?;
        let probe = dir.join(".marc-outbox-probe");
        std::fs::write(&probe, b"ok").map_err(|e| io_err(&dir, e))?;
        let _ = std::fs::remove_file(&probe);
        let endpoint = endpoint
            .filter(|e| !e.url.trim().is_empty())
            .map(|e| Endpoint::new(&e))
            .transpose()?;
        let table = store.table(LEDGER_TABLE)?;
        Ok(Outbox {
            dir,
            endpoint,
            store,
            table,
            retry: RetryPolicy::default(),
            in_flight: Mutex::new(HashSet::new()),
        })
    }

    /// Replaces the retry policy (tests use short backoffs).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Outbox {
        self.retry = retry;
        self
    }

    /// The outbox directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn save(&self, rec: &DeliveryRecord) -> Result<(), DeliveryError> {
        self.table.put_json(rec.delivery_key.as_bytes(), rec)?;
        self.store.flush()?;
        Ok(())
    }

    /// The full ledger entry for a key.
    pub fn record(&self, delivery_key: &str) -> Result<Option<DeliveryRecord>, DeliveryError> {
        Ok(self.table.get_json(delivery_key.as_bytes())?)
    }

    /// Where a delivery stands (`None`: never attempted).
    pub fn status(&self, delivery_key: &str) -> Result<Option<DeliveryState>, DeliveryError> {
        Ok(self.record(delivery_key)?.map(|r| r.state))
    }

    /// Every ledger entry, in key order (for `marc delivery status`).
    pub fn records(&self) -> Result<Vec<DeliveryRecord>, DeliveryError> {
        Ok(self
            .table
            .scan_json::<DeliveryRecord>(b"")?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// Delivers `msg` exactly once under `delivery_key`; see the module docs.
    pub fn deliver(
        &self,
        delivery_key: &str,
        msg: &MemoMessage,
    ) -> Result<DeliveryReceipt, DeliveryError> {
        if delivery_key.trim().is_empty() {
            return Err(DeliveryError::Invalid("the delivery key is empty".into()));
        }
        validate(msg)?;
        let key = delivery_key;
        let _guard = self.claim_in_flight(key)?;
        let doc_sha = sha256_hex(&msg.pdf);
        let mut rec = match self.record(key)? {
            Some(rec) => {
                if rec.document_sha256.as_ref().is_some_and(|d| *d != doc_sha) {
                    return Err(DeliveryError::Invalid(format!(
                        "delivery {key} was started with another document (SHA-256 {}, now {doc_sha}); one delivery sends one document",
                        rec.document_sha256.as_deref().unwrap_or("")
                    )));
                }
                match &rec.state {
                    DeliveryState::Delivered => return Ok(DeliveryReceipt::of(&rec, true)),
                    DeliveryState::Failed { reason } if rec.attempts > 0 => {
                        return Err(DeliveryError::Failed {
                            key: key.to_string(),
                            reason: reason.clone(),
                        })
                    }
                    DeliveryState::Posting { .. } => {
                        return Err(DeliveryError::InDoubt {
                            key: key.to_string(),
                            uuid: rec.message_uuid,
                        })
                    }
                    // `sending`, or failed before any POST: nothing left the machine.
                    _ => rec,
                }
            }
            None => self.claim(key, msg, doc_sha)?,
        };
        // the recorded UUID wins over a rebuilt message's
        let mut msg = msg.clone();
        msg.message_uuid = rec.message_uuid;
        let xml = memo_xml(&msg)?;
        if let Err(e) = marc_store::write_private(&rec.file, xml.as_bytes()) {
            let reason = io_err(&rec.file, e).to_string();
            return Err(self.fail(&mut rec, reason));
        }
        rec.file_sha256 = Some(sha256_hex(xml.as_bytes()));
        self.send(rec, xml.as_bytes())
    }

    /// Claims `key` in the ledger (compare-and-swap, flushed).
    fn claim(
        &self,
        key: &str,
        msg: &MemoMessage,
        doc_sha: String,
    ) -> Result<DeliveryRecord, DeliveryError> {
        let file = self
            .dir
            .join(format!("{}.xml", msg.message_uuid.hyphenated()));
        if file.exists() {
            return Err(DeliveryError::LedgerBehind {
                key: key.to_string(),
                file,
            });
        }
        let rec = DeliveryRecord {
            delivery_key: key.to_string(),
            message_uuid: msg.message_uuid,
            state: DeliveryState::Sending,
            file,
            endpoint: self.endpoint.as_ref().map(|e| e.url.clone()),
            http_status: None,
            attempts: 0,
            label: msg.label.clone(),
            recipient: format!("{} {}", msg.recipient.id_type(), msg.recipient.id()),
            updated: Utc::now(),
            document_sha256: Some(doc_sha),
            file_sha256: None,
            note: None,
        };
        let bytes = serde_json::to_vec(&rec).map_err(|e| DeliveryError::Invalid(e.to_string()))?;
        if !self
            .table
            .compare_and_swap(key.as_bytes(), None, Some(&bytes))?
        {
            return Err(DeliveryError::Busy(key.to_string()));
        }
        self.store.flush()?;
        Ok(rec)
    }

    /// Sends again a delivery that failed or is in doubt: an operator's
    /// decision after checking the receiving side. It POSTs the bytes of the
    /// outbox file written the first time (checked against their recorded
    /// SHA-256) under the same message UUID, so a receiver that already has
    /// the message can say so (409 Conflict) instead of getting a second one.
    pub fn retry(&self, delivery_key: &str) -> Result<DeliveryReceipt, DeliveryError> {
        let key = delivery_key;
        let _guard = self.claim_in_flight(key)?;
        let mut rec = self
            .record(key)?
            .ok_or_else(|| DeliveryError::Unknown(key.to_string()))?;
        match &rec.state {
            DeliveryState::Delivered => return Ok(DeliveryReceipt::of(&rec, true)),
            DeliveryState::Sending => {
                return Err(DeliveryError::Invalid(format!(
                    "delivery {key} was never sent; deliver it again (e.g. `marc deliver REQUEST`) instead of retrying it"
                )))
            }
            DeliveryState::Failed { .. } | DeliveryState::Posting { .. } => {}
        }
        let file = self.resolve(&rec.file);
        let bytes = std::fs::read(&file).map_err(|e| {
            DeliveryError::Invalid(format!(
                "cannot read the outbox file {} of delivery {key} ({e}); it was never written or was removed: deliver it again instead",
                file.display()
            ))
        })?;
        let found = sha256_hex(&bytes);
        if rec.file_sha256.as_ref().is_some_and(|h| *h != found) {
            return Err(DeliveryError::Invalid(format!(
                "the outbox file {} of delivery {key} was changed since it was written (SHA-256 {} recorded, {found} found); nothing was sent",
                file.display(),
                rec.file_sha256.as_deref().unwrap_or("")
            )));
        }
        rec.file = file;
        rec.file_sha256 = Some(found);
        self.send(rec, &bytes)
    }

    /// Records that an in-doubt or failed delivery did arrive, as checked by
    /// hand on the receiving side; `by` and `note` are kept with it.
    pub fn confirm_delivered(
        &self,
        delivery_key: &str,
        by: &str,
        note: &str,
    ) -> Result<DeliveryRecord, DeliveryError> {
        let key = delivery_key;
        let _guard = self.claim_in_flight(key)?;
        let mut rec = self
            .record(key)?
            .ok_or_else(|| DeliveryError::Unknown(key.to_string()))?;
        match rec.state {
            DeliveryState::Delivered => return Ok(rec),
            DeliveryState::Sending => {
                return Err(DeliveryError::Invalid(format!(
                    "delivery {key} was never sent, so it cannot have arrived; deliver it instead"
                )))
            }
            DeliveryState::Failed { .. } | DeliveryState::Posting { .. } => {}
        }
        if rec.attempts == 0 {
            return Err(DeliveryError::Invalid(format!(
                "delivery {key} never left this machine (no POST was started, or its outbox file was never written), so it cannot have arrived; deliver or retry it instead"
            )));
        }
        rec.state = DeliveryState::Delivered;
        rec.note = Some(format!("confirmed by hand by {by}: {note}"));
        rec.updated = Utc::now();
        self.save(&rec)?;
        Ok(rec)
    }

    /// A ledger path written by an older marc may be relative to the directory
    /// it ran in: only its file name is trusted, inside this outbox.
    fn resolve(&self, file: &Path) -> PathBuf {
        if file.is_absolute() {
            return file.to_path_buf();
        }
        match file.file_name() {
            Some(n) => self.dir.join(n),
            None => self.dir.join(file),
        }
    }

    fn fail(&self, rec: &mut DeliveryRecord, reason: String) -> DeliveryError {
        rec.state = DeliveryState::Failed {
            reason: reason.clone(),
        };
        rec.updated = Utc::now();
        if let Err(e) = self.save(rec) {
            return e;
        }
        DeliveryError::Failed {
            key: rec.delivery_key.clone(),
            reason,
        }
    }

    fn claim_in_flight(&self, key: &str) -> Result<InFlight<'_>, DeliveryError> {
        let mut set = self
            .in_flight
            .lock()
            .map_err(|_| DeliveryError::Busy(key.to_string()))?;
        if !set.insert(key.to_string()) {
            return Err(DeliveryError::Busy(key.to_string()));
        }
        Ok(InFlight {
            set: &self.in_flight,
            key: key.to_string(),
        })
    }

    /// The message is in the outbox file: POST it if there is an endpoint,
    /// with bounded retries, recording each attempt before it leaves.
    fn send(&self, mut rec: DeliveryRecord, xml: &[u8]) -> Result<DeliveryReceipt, DeliveryError> {
        let Some(endpoint) = &self.endpoint else {
            rec.state = DeliveryState::Delivered;
            rec.updated = Utc::now();
            self.save(&rec)?;
            return Ok(DeliveryReceipt::of(&rec, false));
        };
        rec.endpoint = Some(endpoint.url.clone());
        let mut backoff = self.retry.first_backoff;
        let mut last_reason = String::new();
        let mut started = 0;
        for attempt in 1..=self.retry.attempts.max(1) {
            rec.attempts += 1;
            started += 1;
            rec.state = DeliveryState::Posting { attempt };
            rec.updated = Utc::now();
            self.save(&rec)?; // flushed before the POST leaves
            match endpoint.post(xml, &rec.message_uuid, self.retry.timeout) {
                Ok(r) if (200..300).contains(&r.status) || r.status == 409 => {
                    rec.state = DeliveryState::Delivered;
                    rec.http_status = Some(r.status);
                    if r.status == 409 {
                        rec.note = Some(format!(
                            "the receiver already had message {} (409 Conflict: {})",
                            rec.message_uuid,
                            r.body_start.trim()
                        ));
                    }
                    rec.updated = Utc::now();
                    self.save(&rec)?;
                    return Ok(DeliveryReceipt::of(&rec, false));
                }
                Ok(r) => {
                    rec.http_status = Some(r.status);
                    last_reason =
                        format!("the endpoint answered {} {}", r.status, r.body_start.trim());
                    // 4xx (except 408/429) will not get better by retrying
                    if (400..500).contains(&r.status) && r.status != 408 && r.status != 429 {
                        break;
                    }
                }
                Err(e) => last_reason = e.reason,
            }
            if attempt < self.retry.attempts {
                std::thread::sleep(backoff);
                backoff = backoff.saturating_mul(2).min(Duration::from_secs(30));
            }
        }
        let reason = format!(
            "POST to {} failed after {started} attempt(s): {last_reason}",
            endpoint.url
        );
        Err(self.fail(&mut rec, reason))
    }
}
