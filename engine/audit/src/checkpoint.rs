//! The checkpoint: the chain head (last seq and its MAC), kept in a file
//! outside the store and authenticated with the audit key.
//!
//! Why: sled drops a damaged tail of its log without a word, and whoever can
//! write the store can cut entries off the end; neither leaves a broken link
//! inside what remains. A record of how far the log reached, kept where the
//! store's own recovery cannot roll it back, turns both into a named gap. The
//! file is overwritten in place after every append (one sector, `fdatasync`),
//! so it lags the store by at most the batch being written when marc stopped.

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
    let r: Record = match serde_json::from_slice(bytes.trim_ascii_end()) {
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

/// The checkpoint's size on disk: one record padded with spaces, overwritten
/// in place. One sector holds it, so a write lands whole or not at all.
const RECORD_LEN: usize = 256;

/// Overwrites the checkpoint in place and syncs its data. The first write
/// creates the file (mode 0600) and syncs its directory; `open` keeps the file
/// between writes, so an append costs one small write and one `fdatasync`,
/// not a new file, a rename and two syncs.
pub(crate) fn write(
    path: &Path,
    key: &AuditKey,
    head: &Head,
    open: &mut Option<std::fs::File>,
) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let r = Record {
        seq: head.seq,
        hash: head.hash.clone(),
        key: key.id().to_string(),
        mac: key.mac(&signed_bytes(head.seq, &head.hash)),
    };
    let mut bytes = serde_json::to_vec(&r).map_err(std::io::Error::other)?;
    if bytes.len() >= RECORD_LEN {
        return Err(std::io::Error::other("the checkpoint record is too long"));
    }
    bytes.resize(RECORD_LEN - 1, b' ');
    bytes.push(b'\n');
    let f = match open {
        Some(f) => f,
        None => {
            let mut o = std::fs::OpenOptions::new();
            o.read(true).write(true).create(true).truncate(false);
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            let f = o.open(path)?;
            f.write_all_at(&bytes, 0)?;
            f.set_len(RECORD_LEN as u64)?;
            f.sync_all()?;
            if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::File::open(d)?.sync_all()?;
            }
            *open = Some(f);
            return Ok(());
        }
    };
    f.write_all_at(&bytes, 0)?;
    f.sync_data()
}
