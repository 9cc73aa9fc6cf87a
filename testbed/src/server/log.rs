//! The request log both testbed systems write to.

use super::lock;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One request a testbed system served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The system's id: `esdh` or `legacy` (in a load testbed `esdh01`, …).
    pub system: String,
    pub method: String,
    /// Path including the query string.
    pub path: String,
    /// The logged-in user (or the user name a login attempt used).
    pub user: Option<String>,
    pub status: u16,
    /// A request the user's (read-only) role may not make.
    pub forbidden: bool,
}

/// Shared, append-only record of served requests. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Mutex<Vec<LogEntry>>,
    file: Option<Mutex<File>>,
}

impl RequestLog {
    /// A log kept in memory and, when `file` is given, appended to it as
    /// JSON Lines (the file is created if missing).
    pub fn new(file: Option<&Path>) -> std::io::Result<RequestLog> {
        let file = match file {
            Some(p) => Some(Mutex::new(
                OpenOptions::new().create(true).append(true).open(p).map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!("cannot open testbed log file {}: {e}; check the directory exists and is writable", p.display()),
                    )
                })?,
            )),
            None => None,
        };
        Ok(RequestLog {
            inner: Arc::new(Inner {
                entries: Mutex::new(Vec::new()),
                file,
            }),
        })
    }

    /// Every entry so far, oldest first.
    pub fn entries(&self) -> Vec<LogEntry> {
        lock(&self.inner.entries).clone()
    }

    /// The entries flagged `forbidden` (a clean robot run has none).
    pub fn forbidden(&self) -> Vec<LogEntry> {
        lock(&self.inner.entries)
            .iter()
            .filter(|e| e.forbidden)
            .cloned()
            .collect()
    }

    /// Appends an entry (and writes it to the file, if any; a failing write
    /// is reported through `tracing`, never fails the request).
    pub fn push(&self, e: LogEntry) {
        if let Some(f) = &self.inner.file {
            if let Ok(line) = serde_json::to_string(&e) {
                let mut f = lock(f);
                if let Err(err) = writeln!(f, "{line}") {
                    tracing::warn!("testbed log file write failed: {err}");
                }
            }
        }
        lock(&self.inner.entries).push(e);
    }
}
