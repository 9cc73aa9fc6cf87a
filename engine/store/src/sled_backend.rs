//! The embedded backend: a data directory of sled 0.34.7 (pinned: the 1.0
//! alphas list deadlock and missing-transaction blockers), checked before it
//! opens ([`check_sled_conf`], the [`seal`](crate::seal)) and sealed when the
//! last handle closes. One process opens a directory once (sled allows one
//! opener); further opens in the same process share it through [`registry`].

use crate::{files::private_dir, seal, Result, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

/// How long `open` waits for a lock another handle is releasing.
pub(crate) const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// sled's "could not acquire lock" (an `Io` error of kind `Other`).
fn lock_held(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

/// An open sled data directory.
#[derive(Clone)]
pub(crate) struct SledStore {
    db: sled::Db,
    path: PathBuf,
    /// Seals the files when the last handle is dropped (none for a temporary store).
    sealer: Option<Arc<Sealer>>,
}

/// The stores this process has open, by canonical path: weak, so the last
/// handle's drop still closes and seals a store.
mod registry {
    use super::{Sealer, SledStore};
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex, Weak};

    static OPEN: Mutex<Vec<(PathBuf, Weak<Sealer>)>> = Mutex::new(Vec::new());
    pub(super) static OPENING: Mutex<()> = Mutex::new(());

    pub(super) fn find(path: &Path) -> Option<SledStore> {
        let key = path.canonicalize().ok()?;
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|(_, w)| w.strong_count() > 0);
        let sealer = open.iter().find(|(p, _)| p == &key)?.1.upgrade()?;
        let db = sealer.db.clone()?;
        Some(SledStore {
            db,
            path: sealer.path.clone(),
            sealer: Some(sealer),
        })
    }

    pub(super) fn add(path: &Path, sealer: &Arc<Sealer>) {
        if let Ok(key) = path.canonicalize() {
            let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
            open.push((key, Arc::downgrade(sealer)));
        }
    }
}

/// Closes sled and writes the seal ([`seal`]) once the last handle is gone.
pub(crate) struct Sealer {
    db: Option<sled::Db>,
    path: PathBuf,
}

impl Drop for Sealer {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            let _ = db.flush();
            drop(db);
        }
        // sled lets go of its files from a background thread (every Store and
        // Table handle is gone by now); if it does not, the store stays unsealed.
        let started = std::time::Instant::now();
        while !seal::sled_released(&self.path) {
            if started.elapsed() > LOCK_WAIT {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = seal::write(&self.path);
    }
}

impl SledStore {
    /// See [`crate::Store::open`].
    pub(crate) fn open(path: &Path) -> Result<SledStore> {
        let path = path.to_path_buf();
        // One opener at a time in this process, so two threads never both
        // miss the registry and race for sled's lock.
        let _opening = registry::OPENING.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = registry::find(&path) {
            return Ok(s);
        }
        if path.exists() && !path.is_dir() {
            return Err(StoreError::Open {
                path,
                reason: "it is a file, not a directory".into(),
            });
        }
        if path.is_dir() {
            let non_empty = std::fs::read_dir(&path)
                .map_err(|e| StoreError::Open {
                    path: path.clone(),
                    reason: e.to_string(),
                })?
                .next()
                .is_some();
            if non_empty && !path.join("conf").exists() && !path.join("db").exists() {
                return Err(StoreError::Open {
                    path,
                    reason: "it is not empty and holds no marc data (no sled 'conf'/'db' files)"
                        .into(),
                });
            }
        }
        // 0700: it holds the vault, the documents and the audit log, and the
        // robots run as another OS user who must read none of it.
        private_dir(&path).map_err(|e| StoreError::Open {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        check_sled_conf(&path)?;
        match seal::check(&path) {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => return Err(StoreError::Corrupt { path, reason }),
            Err(e) => {
                return Err(StoreError::Open {
                    path,
                    reason: format!("cannot read its files: {e}"),
                })
            }
        }
        // sled releases its lock file from a background thread after the
        // last handle is dropped: a process that just closed the store (or a
        // marc command that just ended) may still hold it for a moment.
        let started = std::time::Instant::now();
        let opened = loop {
            match sled::Config::new().path(&path).open() {
                Err(e) if lock_held(&e) && started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) if lock_held(&e) => {
                    return Err(StoreError::Open {
                        path,
                        reason: "it is in use by another marc process (its lock is held)".into(),
                    });
                }
                other => break other,
            }
        };
        let db = opened.map_err(|e| match e {
            sled::Error::Corruption { .. } | sled::Error::Unsupported(_) => StoreError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            },
            sled::Error::Io(io) => StoreError::Open {
                path: path.clone(),
                reason: io.to_string(),
            },
            other => StoreError::Corrupt {
                path: path.clone(),
                reason: other.to_string(),
            },
        })?;
        seal::remove(&path).map_err(|e| StoreError::Open {
            path: path.clone(),
            reason: format!("cannot remove {}: {e}", seal::SEAL_FILE),
        })?;
        let sealer = Arc::new(Sealer {
            db: Some(db.clone()),
            path: path.clone(),
        });
        registry::add(&path, &sealer);
        Ok(SledStore {
            sealer: Some(sealer),
            db,
            path,
        })
    }

    /// See [`crate::Store::temporary`].
    pub(crate) fn temporary() -> Result<SledStore> {
        let db = sled::Config::new().temporary(true).open()?;
        Ok(SledStore {
            db,
            path: PathBuf::new(),
            sealer: None,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn table(&self, name: &str) -> Result<SledTable> {
        Ok(SledTable {
            tree: self.db.open_tree(name)?,
            _sealer: self.sealer.clone(),
        })
    }

    pub(crate) fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    pub(crate) fn next_id(&self) -> Result<u64> {
        Ok(self.db.generate_id()?)
    }
}

/// sled checks its own log (a CRC per message) but only warns about a
/// damaged `conf` file, and silently writes a new one when it is missing or
/// cut short: a damaged data directory would then open as if intact. Its
/// format: the settings text, then the CRC-32 of that text (little-endian).
fn check_sled_conf(path: &Path) -> Result<()> {
    let conf = path.join("conf");
    let has_log = path.join("db").exists();
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = match std::fs::read(&conf) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return if has_log {
                Err(corrupt(
                    "its storage file 'db' is there but its configuration file 'conf' is missing"
                        .into(),
                ))
            } else {
                Ok(())
            };
        }
        Err(e) => {
            return Err(StoreError::Open {
                path: path.to_path_buf(),
                reason: format!("cannot read {}: {e}", conf.display()),
            })
        }
    };
    if bytes.len() <= 8 {
        return Err(corrupt(format!(
            "its configuration file 'conf' is cut short ({} bytes)",
            bytes.len()
        )));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    let mut want = [0u8; 4];
    want.copy_from_slice(crc);
    if crc32fast::hash(body) != u32::from_le_bytes(want) {
        return Err(corrupt(
            "its configuration file 'conf' fails its checksum (a byte was changed)".into(),
        ));
    }
    Ok(())
}

/// One sled tree.
#[derive(Clone)]
pub(crate) struct SledTable {
    tree: sled::Tree,
    /// The store is sealed only when its last table is gone too.
    _sealer: Option<Arc<Sealer>>,
}

type Entry = (Vec<u8>, Vec<u8>);

impl SledTable {
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    pub(crate) fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.tree.insert(key, value)?;
        Ok(())
    }

    pub(crate) fn remove(&self, key: &[u8]) -> Result<()> {
        self.tree.remove(key)?;
        Ok(())
    }

    pub(crate) fn compare_and_swap(
        &self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool> {
        Ok(self.tree.compare_and_swap(key, old, new)?.is_ok())
    }

    pub(crate) fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>> {
        self.tree
            .scan_prefix(prefix)
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(StoreError::from)
            })
            .collect()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Result<Entry>> + '_ {
        self.tree.iter().map(|r| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(StoreError::from)
        })
    }

    pub(crate) fn last(&self) -> Result<Option<Entry>> {
        Ok(self.tree.last()?.map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    pub(crate) fn len(&self) -> usize {
        self.tree.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use crate::{seal, Store};
    use std::path::Path;

    #[test]
    fn roundtrip_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            let t = s.table("requests").unwrap();
            t.put_json("r1", &vec![1, 2, 3]).unwrap();
            assert!(t.compare_and_swap("claim", None, Some(b"a")).unwrap());
            assert!(!t.compare_and_swap("claim", None, Some(b"b")).unwrap());
            s.flush().unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        let t = s.table("requests").unwrap();
        assert_eq!(t.get_json::<Vec<i32>>("r1").unwrap(), Some(vec![1, 2, 3]));
        assert_eq!(t.get("claim").unwrap().as_deref(), Some(&b"a"[..]));
    }

    #[test]
    fn reopening_right_after_closing_waits_for_the_lock_and_a_held_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..20 {
            let s = Store::open(dir.path()).unwrap_or_else(|e| panic!("reopen {i}: {e}"));
            s.table("t").unwrap().put_json("k", &i).unwrap();
            s.flush().unwrap();
        }
        // Another opener's lock (here: sled itself, as another process,
        // which like marc takes the seal away while it has the files open).
        std::fs::remove_file(dir.path().join(seal::SEAL_FILE)).unwrap();
        let held = sled::Config::new().path(dir.path()).open().unwrap();
        let t0 = std::time::Instant::now();
        let e = Store::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("in use by another marc process"), "{e}");
        assert!(t0.elapsed() >= super::LOCK_WAIT);
        drop(held);
    }

    #[test]
    fn a_store_open_in_this_process_is_shared_not_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(dir.path()).unwrap();
        a.table("t").unwrap().put("k", b"v").unwrap();
        let b = Store::open(dir.path().join(".")).unwrap();
        assert_eq!(
            b.table("t").unwrap().get("k").unwrap().as_deref(),
            Some(&b"v"[..])
        );
        drop(a);
        drop(b);
        // Closed (and sealed) with the last handle: it opens again from disk.
        let c = Store::open(dir.path()).unwrap();
        assert_eq!(
            c.table("t").unwrap().get("k").unwrap().as_deref(),
            Some(&b"v"[..])
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_data_directory_is_closed_to_other_users() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let new = dir.path().join("new");
        drop(Store::open(&new).unwrap());
        assert_eq!(mode(&new), 0o700);
        let old = dir.path().join("old");
        std::fs::create_dir(&old).unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
        drop(Store::open(&old).unwrap());
        assert_eq!(mode(&old), 0o700);
    }

    #[test]
    fn refuses_foreign_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
        let e = Store::open(dir.path()).err().unwrap();
        assert!(e.to_string().contains("holds no marc data"), "{e}");
        let f = dir.path().join("notes.txt");
        assert!(Store::open(&f).is_err());
    }

    #[test]
    fn a_path_given_to_connect_opens_sled() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data");
        let s = Store::connect(p.to_str().unwrap()).unwrap();
        assert_eq!(s.path(), p.as_path());
        assert_eq!(s.backend_name(), "sled");
    }
}
