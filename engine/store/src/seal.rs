//! The seal: what sled's files looked like when marc last closed the store
//! cleanly (their lengths and a CRC-32 per 64 KiB), kept in `<data>/store.seal`
//! and checked before sled opens them again.
//!
//! Why: sled checks the messages it still needs, but not the rest of its
//! files (the unused end of a segment, superseded pages), and it drops a
//! damaged tail of its log without a word. A byte changed or a file cut while
//! marc was not running is found here, by file and byte range, before sled
//! can paper over it. After a crash there is no seal; the audit log's MACs
//! and its checkpoint still cover everything that matters then.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The seal's file name in the data directory.
pub(crate) const SEAL_FILE: &str = "store.seal";
const CHUNK: usize = 64 * 1024;

#[derive(Serialize, Deserialize, PartialEq)]
struct FileSeal {
    len: u64,
    crc: Vec<u32>,
}

type Seal = BTreeMap<String, FileSeal>;

/// sled's files: `conf`, `db`, `snap.*` and everything under `blobs/`.
fn sled_files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "conf" || name == "db" || name.starts_with("snap.") {
            out.push((name, e.path()));
        }
    }
    let blobs = dir.join("blobs");
    if blobs.is_dir() {
        for e in std::fs::read_dir(&blobs)? {
            let e = e?;
            out.push((
                format!("blobs/{}", e.file_name().to_string_lossy()),
                e.path(),
            ));
        }
    }
    out.sort();
    Ok(out)
}

fn compute(dir: &Path) -> std::io::Result<Seal> {
    let mut seal = Seal::new();
    for (name, p) in sled_files(dir)? {
        let bytes = std::fs::read(&p)?;
        seal.insert(
            name,
            FileSeal {
                len: bytes.len() as u64,
                crc: bytes.chunks(CHUNK).map(crc32fast::hash).collect(),
            },
        );
    }
    Ok(seal)
}

/// Records the files as they are now (called with sled closed).
pub(crate) fn write(dir: &Path) -> std::io::Result<()> {
    let seal = compute(dir)?;
    let bytes = serde_json::to_vec(&seal).map_err(std::io::Error::other)?;
    crate::write_private(&dir.join(SEAL_FILE), &bytes)
}

/// Compares the files with the seal, if there is one: `Err(what differs)`.
pub(crate) fn check(dir: &Path) -> std::io::Result<Result<(), String>> {
    let bytes = match std::fs::read(dir.join(SEAL_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(())),
        Err(e) => return Err(e),
    };
    let Ok(sealed) = serde_json::from_slice::<Seal>(&bytes) else {
        return Ok(Err(format!("its seal {SEAL_FILE} is unreadable (changed)")));
    };
    let now = compute(dir)?;
    for (name, want) in &sealed {
        let Some(have) = now.get(name) else {
            return Ok(Err(format!("its file {name} is missing")));
        };
        if have.len != want.len {
            return Ok(Err(format!(
                "its file {name} is {} bytes long, not the {} it had when marc closed it (cut short or extended)",
                have.len, want.len
            )));
        }
        if let Some(i) = (0..want.crc.len()).find(|&i| have.crc.get(i) != want.crc.get(i)) {
            let from = i * CHUNK;
            let to = (from + CHUNK).min(want.len as usize) - 1;
            return Ok(Err(format!(
                "bytes {from}..={to} of its file {name} changed since marc closed it"
            )));
        }
    }
    if let Some(name) = now.keys().find(|n| !sealed.contains_key(*n)) {
        return Ok(Err(format!(
            "its file {name} appeared since marc closed it"
        )));
    }
    Ok(Ok(()))
}

/// Removes the seal: sled is about to change the files.
pub(crate) fn remove(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(dir.join(SEAL_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Whether sled has let go of the data directory: its lock on `db` can be taken.
pub(crate) fn sled_released(dir: &Path) -> bool {
    use std::os::unix::io::AsRawFd;
    let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join("db"))
    else {
        return false;
    };
    // SAFETY: flock on a file descriptor we own; the lock goes with `f`.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}
