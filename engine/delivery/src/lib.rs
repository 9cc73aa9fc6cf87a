//! marc-delivery: Digital Post for aktindsigt.
//!
//! - [`memo_xml`] / [`parse_memo`]: MeMo 1.1 messages
//!   (`https://DigitalPost.dk/MeMo-1`) with the PDF as base64 main document.
//! - [`Outbox`]: writes `DIR/<uuid>.xml` atomically (mode 0600) and
//!   optionally POSTs it over HTTPS (rustls, optional OCES client
//!   certificate, [`EndpointConfig`]) with bounded retries; exactly once per
//!   delivery key, with the ledger in the marc store (table `delivery`), and
//!   an in-doubt delivery confirmed or retried by an operator.
//! - [`response_message`], [`receipt_message`], [`refusal_message`], [`forward_message`]: the
//!   messages marc sends.

mod client;
mod memo;
mod messages;
mod outbox;

pub use client::{ClientIdentity, EndpointConfig};
pub use memo::{
    memo_xml, parse_memo, validate, MemoMessage, ParsedMemo, RecipientId, MAX_LABEL, MEMO_NS,
};
pub use messages::{
    deadline_message, delivery_key, forward_key, forward_message, message_uuid_for,
    receipt_message, refusal_message, response_message, Sender,
};
pub use outbox::{
    sha256_hex, DeliveryReceipt, DeliveryRecord, DeliveryState, Outbox, RetryPolicy, LEDGER_TABLE,
};

/// What can go wrong when building, writing or sending a message.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the message is not valid: {0}")]
    Invalid(String),
    #[error("the delivery endpoint is not usable: {0}")]
    Endpoint(String),
    #[error(
        "cannot write {path}: {reason}; check that the outbox directory exists and is writable"
    )]
    Io {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("delivery ledger: {0}")]
    Store(#[from] marc_store::StoreError),
    #[error("delivery {key} failed: {reason}. Fix the cause, then send it again with `marc delivery retry {key}`")]
    Failed { key: String, reason: String },
    #[error("delivery {key} was interrupted while posting message {uuid}; it may have arrived. Check the receiving system, then record it with `marc delivery confirm {key} --note TEXT`, or send it again with `marc delivery retry {key}` (same message UUID: a receiver that has it answers 409 and it counts as delivered)")]
    InDoubt { key: String, uuid: uuid::Uuid },
    #[error("no delivery {0:?} in the ledger; `marc delivery status` lists them")]
    Unknown(String),
    #[error("the outbox already holds {} for delivery {key}, but the delivery ledger has no record of it: the data directory lost records (see `marc audit verify`). Nothing was sent", file.display())]
    LedgerBehind {
        key: String,
        file: std::path::PathBuf,
    },
    #[error("delivery {0} is already in progress")]
    Busy(String),
    #[error("not a MeMo message: {0}")]
    Parse(String),
}
