//! The exactly-once outbox. Every delivery has a caller-chosen key (e.g.
//! `response/<request id>`); its state lives in the store table
//! `delivery` and is flushed before anything irreversible happens:
//!
//! ```text
//!   (none) ──claim──▶ sending ──file written──▶ posting ──2xx──▶ delivered
//!                        │                         │
//!                        └──────── error ──────────┴──────────▶ failed
//! ```
//!
//! - A repeated `deliver` with the same key returns the recorded result and
//!   sends nothing: `delivered` gives the earlier receipt, `failed` the
//!   earlier error.
//! - After a crash in `sending` nothing has left the machine, so `deliver`
//!   resumes. After a crash in `posting` a POST may have arrived: the outbox
//!   refuses to guess ([`DeliveryError::InDoubt`]); an operator checks the
//!   receiving side and calls [`Outbox::retry`] or [`Outbox::confirm_delivered`].
//! - The message UUID is fixed at the first claim; a rebuilt message for
//!   the same key is sent under the recorded UUID.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use marc_store::{Store, Table};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::http::{parse_url, post, HttpUrl};
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
    /// A POST to the endpoint was started (attempt number, 1-based).
    Posting { attempt: u32 },
    /// Written to the outbox and, if an endpoint is configured, accepted by it.
    Delivered,
    /// Gave up; `reason` says why. Shown as "delivery failed".
    Failed { reason: String },
}

impl DeliveryState {
    /// A short Danish/English-neutral name for lists: sending, posting, delivered, failed.
    pub fn name(&self) -> &'static str {
        match self {
            DeliveryState::Sending => "sending",
            DeliveryState::Posting { .. } => "posting",
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
    /// The outbox file (DIR/<uuid>.xml).
    pub file: PathBuf,
    pub endpoint: Option<String>,
    pub http_status: Option<u16>,
    pub attempts: u32,
    pub label: String,
    pub recipient: String,
    pub updated: DateTime<Utc>,
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

/// How the outbox retries POSTs.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            first_backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(10),
        }
    }
}

/// A directory of MeMo files plus an optional endpoint, with an
/// exactly-once ledger in the store.
pub struct Outbox {
    dir: PathBuf,
    endpoint: Option<(String, HttpUrl)>,
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

/// Writes `bytes` to `path` atomically: temp file in the same directory,
/// fsync, rename, fsync the directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DeliveryError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("message.xml");
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        f.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
        f.sync_all().map_err(|e| io_err(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
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
    /// Opens an outbox writing to `dir` (created if missing) and, when
    /// `endpoint` is set, POSTing to it (`http://` only).
    pub fn new(
        dir: PathBuf,
        endpoint: Option<String>,
        store: Store,
    ) -> Result<Outbox, DeliveryError> {
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        let probe = dir.join(".marc-outbox-probe");
        std::fs::write(&probe, b"ok").map_err(|e| io_err(&dir, e))?;
        let _ = std::fs::remove_file(&probe);
        let endpoint = match endpoint.filter(|e| !e.trim().is_empty()) {
            Some(e) => {
                let url = parse_url(e.trim()).map_err(DeliveryError::Endpoint)?;
                Some((e.trim().to_string(), url))
            }
            None => None,
        };
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

    /// The outbox directory.
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

    /// Every ledger entry, in key order (for the outbox viewer).
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
        self.deliver_inner(delivery_key, msg, false)
    }

    /// Sends again a delivery that is `failed` or in doubt (`posting`) —
    /// an operator's decision after checking the receiving side. The same
    /// message UUID is used, so a receiver that de-duplicates stays safe.
    pub fn retry(
        &self,
        delivery_key: &str,
        msg: &MemoMessage,
    ) -> Result<DeliveryReceipt, DeliveryError> {
        self.deliver_inner(delivery_key, msg, true)
    }

    /// Records that an in-doubt or failed delivery did arrive (checked by hand).
    pub fn confirm_delivered(&self, delivery_key: &str) -> Result<(), DeliveryError> {
        let _guard = self.claim_in_flight(delivery_key)?;
        let mut rec = self.record(delivery_key)?.ok_or_else(|| {
            DeliveryError::Invalid(format!("no delivery {delivery_key:?} in the ledger"))
        })?;
        rec.state = DeliveryState::Delivered;
        rec.updated = Utc::now();
        self.save(&rec)
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

    fn deliver_inner(
        &self,
        key: &str,
        msg: &MemoMessage,
        operator_retry: bool,
    ) -> Result<DeliveryReceipt, DeliveryError> {
        if key.trim().is_empty() {
            return Err(DeliveryError::Invalid("the delivery key is empty".into()));
        }
        validate(msg)?;
        let _guard = self.claim_in_flight(key)?;
        let existing = self.record(key)?;
        let mut rec = match existing {
            Some(rec) => match &rec.state {
                DeliveryState::Delivered => {
                    return Ok(DeliveryReceipt {
                        delivery_key: key.to_string(),
                        message_uuid: rec.message_uuid,
                        file: rec.file.clone(),
                        posted: rec.endpoint.is_some(),
                        http_status: rec.http_status,
                        repeated: true,
                    })
                }
                DeliveryState::Failed { reason } if !operator_retry => {
                    return Err(DeliveryError::Failed {
                        key: key.to_string(),
                        reason: reason.clone(),
                    })
                }
                DeliveryState::Posting { .. } if !operator_retry => {
                    return Err(DeliveryError::InDoubt {
                        key: key.to_string(),
                        uuid: rec.message_uuid,
                    })
                }
                // `sending`: nothing left the machine; resume. Or an operator retry.
                _ => rec,
            },
            None => {
                let rec = DeliveryRecord {
                    delivery_key: key.to_string(),
                    message_uuid: msg.message_uuid,
                    state: DeliveryState::Sending,
                    file: self
                        .dir
                        .join(format!("{}.xml", msg.message_uuid.hyphenated())),
                    endpoint: self.endpoint.as_ref().map(|e| e.0.clone()),
                    http_status: None,
                    attempts: 0,
                    label: msg.label.clone(),
                    recipient: format!("{} {}", msg.recipient.id_type(), msg.recipient.id()),
                    updated: Utc::now(),
                };
                let bytes =
                    serde_json::to_vec(&rec).map_err(|e| DeliveryError::Invalid(e.to_string()))?;
                if !self
                    .table
                    .compare_and_swap(key.as_bytes(), None, Some(&bytes))?
                {
                    return Err(DeliveryError::Busy(key.to_string()));
                }
                self.store.flush()?;
                rec
            }
        };
        // the recorded UUID wins over a rebuilt message's
        let mut msg = msg.clone();
        msg.message_uuid = rec.message_uuid;
        let xml = memo_xml(&msg);
        if let Err(e) = write_atomic(&rec.file, xml.as_bytes()) {
            rec.state = DeliveryState::Failed {
                reason: e.to_string(),
            };
            rec.updated = Utc::now();
            self.save(&rec)?;
            return Err(DeliveryError::Failed {
                key: key.to_string(),
                reason: e.to_string(),
            });
        }
        let Some((_, url)) = &self.endpoint else {
            rec.state = DeliveryState::Delivered;
            rec.updated = Utc::now();
            self.save(&rec)?;
            return Ok(DeliveryReceipt {
                delivery_key: key.to_string(),
                message_uuid: rec.message_uuid,
                file: rec.file.clone(),
                posted: false,
                http_status: None,
                repeated: false,
            });
        };
        rec.endpoint = self.endpoint.as_ref().map(|e| e.0.clone());
        let mut backoff = self.retry.first_backoff;
        let mut last_reason = String::new();
        for attempt in 1..=self.retry.attempts.max(1) {
            rec.attempts += 1;
            rec.state = DeliveryState::Posting { attempt };
            rec.updated = Utc::now();
            self.save(&rec)?; // flushed before the POST leaves
            let extra = [("X-Message-UUID", rec.message_uuid.hyphenated().to_string())];
            match post(
                url,
                xml.as_bytes(),
                "application/xml; charset=utf-8",
                &extra,
                self.retry.timeout,
            ) {
                Ok(r) if (200..300).contains(&r.status) => {
                    rec.state = DeliveryState::Delivered;
                    rec.http_status = Some(r.status);
                    rec.updated = Utc::now();
                    self.save(&rec)?;
                    return Ok(DeliveryReceipt {
                        delivery_key: key.to_string(),
                        message_uuid: rec.message_uuid,
                        file: rec.file.clone(),
                        posted: true,
                        http_status: Some(r.status),
                        repeated: false,
                    });
                }
                Ok(r) => {
                    rec.http_status = Some(r.status);
                    last_reason =
                        format!("the endpoint answered {} {}", r.head, r.body_start.trim());
                    // 4xx (except 408/429) will not get better by retrying
                    if (400..500).contains(&r.status) && r.status != 408 && r.status != 429 {
                        break;
                    }
                }
                Err(e) => last_reason = e,
            }
            if attempt < self.retry.attempts {
                std::thread::sleep(backoff);
                backoff = backoff.saturating_mul(2).min(Duration::from_secs(30));
            }
        }
        let reason = format!(
            "POST to {} failed after {} attempt(s): {last_reason}",
            rec.endpoint.clone().unwrap_or_default(),
            rec.attempts
        );
        rec.state = DeliveryState::Failed {
            reason: reason.clone(),
        };
        rec.updated = Utc::now();
        self.save(&rec)?;
        Err(DeliveryError::Failed {
            key: key.to_string(),
            reason,
        })
    }
}
