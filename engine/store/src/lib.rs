//! marc's storage interface: named tables of ordered byte keys. Everything
//! above this crate speaks only [`Store`] and [`Table`], so the storage can
//! change without touching the engine. Two implementations sit behind it:
//!
//! - sled 0.34.7 in a data directory ([`Store::open`]): the embedded default,
//!   one process;
//! - PostgreSQL ([`Store::connect`] with a `postgres://` URL): shared by any
//!   number of marc processes on any number of machines (issue 13).
//!
//! Rules the callers rely on:
//! - every write that acknowledges a state change is followed by [`Store::flush`]
//!   (sled loses unflushed writes on an unclean stop; on PostgreSQL each write
//!   is durable when it returns);
//! - keys that must sort in time order are big-endian integers ([`be_key`]);
//! - claims and exactly-once steps use [`Table::compare_and_swap`], which is
//!   atomic across threads (sled) and across processes (PostgreSQL).
//!
//! The API is synchronous on both backends and may be called from plain
//! threads and from inside tokio runtimes alike (`postgres.rs` says how).

pub mod docs;
mod files;
mod pg_docs;
mod postgres;
mod seal;
mod sled_backend;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;

pub use docs::{Doc, DocPage, DocQuery};
pub use files::{private_dir, write_private};

/// `url` without its password (in the user part or a `password=`
/// parameter), for messages, logs and configuration dumps.
pub fn redact_url(url: &str) -> String {
    postgres::redact(url)
}
use postgres::{PgStore, PgTable};
use serde::{de::DeserializeOwned, Serialize};
use sled_backend::{SledStore, SledTable};
use std::path::{Path, PathBuf};

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the data directory {path}: {reason}. Check that it exists, is writable and is not used by another marc process, or point --data elsewhere")]
    Open { path: PathBuf, reason: String },
    #[error("the data directory {path} looks corrupt ({reason}); move it aside and restore from backup, or start with an empty --data directory")]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot use the PostgreSQL store at {url}: {reason}. Check the URL, that PostgreSQL runs and is reachable from here, and that its user may create tables in the database")]
    Connect { url: String, reason: String },
    /// PostgreSQL could not be reached, or the connection broke: the call did
    /// not complete, or, where the message says a compare-and-swap was under
    /// way, its outcome is unknown (read the key to find out). The next call
    /// connects again.
    #[error("the PostgreSQL store is unreachable ({0}); the next call tries again")]
    Unavailable(String),
    #[error("storage error: {0}")]
    Io(String),
    #[error("stored record under {key:?} in table {table:?} is unreadable: {reason}")]
    Decode {
        table: String,
        key: String,
        reason: String,
    },
    #[error("cannot encode a record: {0}")]
    Encode(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An open store: a sled data directory or a PostgreSQL database. Cheap to
/// clone; clones share the store.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

/// The implementations. An enum rather than a trait object: `Table::iter`
/// returns a borrowing iterator and the JSON helpers are generic, neither of
/// which a `dyn` trait can carry; dispatch stays in this file.
#[derive(Clone)]
enum Backend {
    Sled(SledStore),
    Postgres(PgStore),
}

impl Store {
    /// Opens (or creates) the sled data directory. A directory that exists
    /// but is not a marc store, or is corrupt, gives a clear error and is not
    /// touched.
    ///
    /// A directory this process has open already gives another handle to the
    /// same store (sled allows one opener): so a command that `marc serve`
    /// runs for the command line shares the server's store.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Ok(Store {
            backend: Backend::Sled(SledStore::open(path.as_ref())?),
        })
    }

    /// Opens the store a `--database` value names: a `postgres://` or
    /// `postgresql://` URL connects to PostgreSQL (creating or updating marc's
    /// tables there), a `sled:` prefix or a plain path opens a sled data
    /// directory ([`Store::open`]). Any other `scheme://` is refused rather
    /// than taken for a directory name.
    pub fn connect(url: &str) -> Result<Store> {
        Store::connect_with(url, postgres::Limits::default())
    }

    pub(crate) fn connect_with(url: &str, limits: postgres::Limits) -> Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Store {
                backend: Backend::Postgres(PgStore::connect(url, limits)?),
            });
        }
        if let Some(path) = url.strip_prefix("sled:") {
            return Store::open(path.strip_prefix("//").unwrap_or(path));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            return Err(StoreError::Connect {
                url: postgres::redact(url),
                reason: format!(
                    "marc stores in a directory (a path) or in PostgreSQL (postgres://…), not in {scheme}://"
                ),
            });
        }
        Store::open(url)
    }

    /// Opens a temporary sled store, for tests and dry runs.
    pub fn temporary() -> Result<Store> {
        Ok(Store {
            backend: Backend::Sled(SledStore::temporary()?),
        })
    }

    /// The sled data directory; empty for a temporary store and for
    /// PostgreSQL (which keeps no files of marc's).
    pub fn path(&self) -> &Path {
        match &self.backend {
            Backend::Sled(s) => s.path(),
            Backend::Postgres(_) => Path::new(""),
        }
    }

    /// `"sled"` or `"postgres"`, for logs and status pages.
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Sled(_) => "sled",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// A named table; created on first use.
    pub fn table(&self, name: &str) -> Result<Table> {
        let backend = match &self.backend {
            Backend::Sled(s) => TableBackend::Sled(s.table(name)?),
            Backend::Postgres(p) => TableBackend::Postgres(p.table(name)),
        };
        Ok(Table {
            backend,
            name: name.to_string(),
        })
    }

    /// Makes every write so far durable. Call before acknowledging. (On
    /// PostgreSQL every write was durable when it returned: nothing to do.)
    pub fn flush(&self) -> Result<()> {
        match &self.backend {
            Backend::Sled(s) => s.flush(),
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// A store-wide increasing id (survives restarts; on PostgreSQL unique
    /// across processes, and it may skip values).
    pub fn next_id(&self) -> Result<u64> {
        match &self.backend {
            Backend::Sled(s) => s.next_id(),
            Backend::Postgres(p) => p.next_id(),
        }
    }
}

/// A table of ordered keys.
#[derive(Clone)]
pub struct Table {
    backend: TableBackend,
    name: String,
}

#[derive(Clone)]
enum TableBackend {
    Sled(SledTable),
    Postgres(PgTable),
}

/// One backend's iterator or the other's. An enum, not a `Box<dyn>`, so
/// `Table::iter` stays `Send` (and whatever else) exactly when both are, as
/// it was with sled alone.
enum Either<S, P> {
    Sled(S),
    Postgres(P),
}

impl<S, P, T> Iterator for Either<S, P>
where
    S: Iterator<Item = T>,
    P: Iterator<Item = T>,
{
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self {
            Either::Sled(i) => i.next(),
            Either::Postgres(i) => i.next(),
        }
    }
}

impl Table {
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        match &self.backend {
            TableBackend::Sled(t) => t.get(key.as_ref()),
            TableBackend::Postgres(t) => t.get(key.as_ref()),
        }
    }

    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        match &self.backend {
            TableBackend::Sled(t) => t.put(key.as_ref(), value.as_ref()),
            TableBackend::Postgres(t) => t.put(key.as_ref(), value.as_ref()),
        }
    }

    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<()> {
        match &self.backend {
            TableBackend::Sled(t) => t.remove(key.as_ref()),
            TableBackend::Postgres(t) => t.remove(key.as_ref()),
        }
    }

    /// Sets `key` to `new` only if it currently holds `old` (`None` = absent).
    /// Returns whether the swap happened. Atomic: of any number of swaps from
    /// the same `old`, in any number of threads (or, on PostgreSQL, processes),
    /// at most one succeeds.
    pub fn compare_and_swap(
        &self,
        key: impl AsRef<[u8]>,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool> {
        match &self.backend {
            TableBackend::Sled(t) => t.compare_and_swap(key.as_ref(), old, new),
            TableBackend::Postgres(t) => t.compare_and_swap(key.as_ref(), old, new),
        }
    }

    /// All entries whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        match &self.backend {
            TableBackend::Sled(t) => t.scan_prefix(prefix.as_ref()),
            TableBackend::Postgres(t) => t.scan_prefix(prefix.as_ref()),
        }
    }

    /// Iterates all entries in key order without loading them all.
    pub fn iter(&self) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + '_ {
        match &self.backend {
            TableBackend::Sled(t) => Either::Sled(t.iter()),
            TableBackend::Postgres(t) => Either::Postgres(t.iter()),
        }
    }

    /// The entry with the greatest key.
    pub fn last(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        match &self.backend {
            TableBackend::Sled(t) => t.last(),
            TableBackend::Postgres(t) => t.last(),
        }
    }

    /// The number of entries. On PostgreSQL a failed count gives 0: where
    /// that matters, use [`Table::try_len`].
    pub fn len(&self) -> usize {
        self.try_len().unwrap_or(0)
    }

    /// The number of entries, or why it could not be counted.
    pub fn try_len(&self) -> Result<usize> {
        match &self.backend {
            TableBackend::Sled(t) => Ok(t.len()),
            TableBackend::Postgres(t) => t.try_len(),
        }
    }

    /// Whether the table has no entries. On PostgreSQL a failed look gives
    /// `true`: where that matters, use [`Table::try_len`].
    pub fn is_empty(&self) -> bool {
        match &self.backend {
            TableBackend::Sled(t) => t.is_empty(),
            TableBackend::Postgres(t) => t.try_is_empty().unwrap_or(true),
        }
    }

    /// One page of the table listed by its records' [`Doc`]s ([`docs`]):
    /// `doc_of` makes a row's doc from its key and value, and an error from
    /// it ends the query. sled makes every row's doc and selects in memory;
    /// PostgreSQL keeps the docs beside the values and answers with indexed
    /// SQL. The table's name and the fields listed by are plain names
    /// (`a-z`, `0-9`, `_`).
    pub fn query_docs(
        &self,
        q: &DocQuery,
        doc_of: impl Fn(&[u8], &[u8]) -> Result<Doc>,
    ) -> Result<DocPage> {
        docs::check_names(&self.name, q)?;
        match &self.backend {
            TableBackend::Sled(t) => {
                let rows = t
                    .iter()
                    .map(|r| {
                        let (k, v) = r?;
                        let d = doc_of(&k, &v)?;
                        Ok((k, d))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(docs::select(rows, q))
            }
            TableBackend::Postgres(t) => t.query_docs(q, &doc_of),
        }
    }

    /// Reads a JSON record.
    pub fn get_json<T: DeserializeOwned>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>> {
        let k = key.as_ref();
        match self.get(k)? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| StoreError::Decode {
                    table: self.name.clone(),
                    key: String::from_utf8_lossy(k).into_owned(),
                    reason: e.to_string(),
                }),
        }
    }

    /// Writes a JSON record.
    pub fn put_json<T: Serialize>(&self, key: impl AsRef<[u8]>, value: &T) -> Result<()> {
        let v = serde_json::to_vec(value).map_err(|e| StoreError::Encode(e.to_string()))?;
        self.put(key, v)
    }

    /// All JSON records under a prefix, in key order.
    pub fn scan_json<T: DeserializeOwned>(
        &self,
        prefix: impl AsRef<[u8]>,
    ) -> Result<Vec<(Vec<u8>, T)>> {
        self.scan_prefix(prefix)?
            .into_iter()
            .map(|(k, v)| {
                let t = serde_json::from_slice(&v).map_err(|e| StoreError::Decode {
                    table: self.name.clone(),
                    key: String::from_utf8_lossy(&k).into_owned(),
                    reason: e.to_string(),
                })?;
                Ok((k, t))
            })
            .collect()
    }
}

/// A big-endian key for an integer, so byte order equals numeric order.
pub fn be_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}
