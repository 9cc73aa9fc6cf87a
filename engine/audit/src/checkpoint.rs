//! The checkpoint: the chain head (last seq and its MAC), kept in a file
//! outside the store and authenticated with the audit key.
//!
//! Why: sled drops a damaged tail of its log without a word, and whoever can
//! write the store can cut entries off the end; neither leaves a broken link
//! inside what remains. A record of how far the log reached, kept where the
//! store's own recovery cannot roll it back, turns both into a named gap. The
//! file is rewritten after every append (temporary file, fsync, rename), so it
//! lags the store by at most the batch being written when marc stopped.

use crate::key::AuditKey;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Environment variable naming the checkpoint file, for keeping it on other
/// storage than the data directory (default: `<data>/audit.checkpoint`).
pub const CHECKPOINT_ENV: &str = "MARC_AUDIT_CHECKPOINT";
/// The checkpoint's file name inside the data directory (beside sled's files,
/// not in the store).
pub const CHECKPOINT_FILE: &str = "audit.checkpoint";

/// The head the checkpoint records: entry `seq` (0: the empty log) with MAC `hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub seq: u64,
    pub hash: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    seq: u64,
    hash: String,
    key: String,
    mac: String,
}

fn signed_bytes(seq: u64, hash: &str) -> Vec<u8> {
    format!("marc-audit-checkpoint-v1\n{seq}\n{hash}\n").into_bytes()
}

/// Where the checkpoint of the store at `data` lives: `$MARC_AUDIT_CHECKPOINT`,
/// else `<data>/audit.checkpoint`; `None` for a temporary store (no directory).
pub fn default_path(data: &Path) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(CHECKPOINT_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    (!data.as_os_str().is_empty()).then(|| data.join(CHECKPOINT_FILE))
}

/// What reading the checkpoint found.
pub(crate) enum Read {
    /// No file.
    Missing,
    Head(Head),
    /// Written under another key (its id).
    OtherKey(String),
    /// Unreadable or its MAC does not match: changed.
    Damaged(String),
}

pub(crate) fn read(path: &Path, key: &AuditKey) -> std::io::Result<Read> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Read::Missing),
        Err(e) => return Err(e),
    };
    let r: Record = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return Ok(Read::Damaged(format!("it is not a checkpoint ({e})"))),
    };
    if r.key != key.id() {
        return Ok(Read::OtherKey(r.key));
    }
    if !key.verify(&signed_bytes(r.seq, &r.hash), &r.mac) {
        return Ok(Read::Damaged("its MAC does not match its content".into()));
    }
    Ok(Read::Head(Head {
        seq: r.seq,
        hash: r.hash,
    }))
}

/// Replaces the checkpoint (mode 0600, atomically: a crash leaves the old
/// checkpoint or the new one, never half).
pub(crate) fn write(path: &Path, key: &AuditKey, head: &Head) -> std::io::Result<()> {
    let r = Record {
        seq: head.seq,
        hash: head.hash.clone(),
        key: key.id().to_string(),
        mac: key.mac(&signed_bytes(head.seq, &head.hash)),
    };
    let bytes = serde_json::to_vec(&r).map_err(std::io::Error::other)?;
    marc_store::write_private(path, &bytes)
}
