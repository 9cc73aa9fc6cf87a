//! Damage to the real sled files of a closed data directory is reported as
//! damage: one flipped byte anywhere in the store's files, or a file cut
//! short, makes `verify` (or opening the store) fail and say where, never
//! "intact" with fewer entries (sled drops a damaged tail of its log without
//! a word; the checkpoint outside the store is what notices).

use marc_audit::{verify, AuditKey, AuditLog, NewEntry, CHECKPOINT_FILE};
use marc_store::Store;
use serde_json::json;
use std::path::{Path, PathBuf};

fn key() -> AuditKey {
    AuditKey::from_vault_key(&marc_vault::VaultKey::from_bytes([5u8; 32]))
}

/// A closed data directory with `n` audit entries, written the way marc
/// writes them: each append flushed, other tables changing in between.
fn data_dir(root: &Path, n: u64) -> PathBuf {
    let data = root.join("data");
    let store = Store::open(&data).unwrap();
    let log = AuditLog::open(&store, key()).unwrap();
    let requests = store.table("requests").unwrap();
    for i in 1..=n {
        requests
            .put_json(format!("AI-{}", i % 3), &json!({"state": i}))
            .unwrap();
        store.flush().unwrap();
        log.append(
            NewEntry::system_actor("delivery", "request.delivered")
                .request(format!("AI-{}", i % 3))
                .detail(json!({"i": i, "file": "/srv/marc/outbox/x.xml"})),
        )
        .unwrap();
    }
    drop(log);
    drop(store);
    data
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// The store's own files (sled's), not the checkpoint beside them.
fn store_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(store_files(&p));
        } else if p.file_name().and_then(|n| n.to_str()) != Some(CHECKPOINT_FILE) {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// What `marc audit verify` would say about the data directory `dir`:
/// `Ok(report)` when it opens, `Err(message)` when the store itself refuses.
fn check(dir: &Path) -> Result<marc_audit::VerifyReport, String> {
    let store = Store::open(dir).map_err(|e| e.to_string())?;
    verify(&store, &key(), Some(&dir.join(CHECKPOINT_FILE))).map_err(|e| e.to_string())
}

/// Copies `data`, damages the file `rel` in the copy with `damage`, and says
/// what verify makes of it.
fn damaged(
    root: &Path,
    data: &Path,
    n: usize,
    rel: &Path,
    damage: impl FnOnce(&Path),
) -> Result<marc_audit::VerifyReport, String> {
    let copy = root.join(format!("damaged-{n}"));
    copy_dir(data, &copy);
    damage(&copy.join(rel));
    let r = check(&copy);
    let _ = std::fs::remove_dir_all(&copy);
    r
}

/// Every case where damage was reported as an intact log.
fn silent(cases: Vec<(String, Result<marc_audit::VerifyReport, String>)>) -> Vec<String> {
    cases
        .into_iter()
        .filter_map(|(what, r)| match r {
            Ok(r) if r.is_ok() => Some(format!("{what}: {r}")),
            Ok(r) => {
                let b = r.first_broken.expect("not ok has a place");
                assert!(!b.reason.is_empty(), "{what}: no reason given");
                None
            }
            Err(e) => {
                assert!(
                    e.contains("data directory") || e.contains("audit"),
                    "{what}: the error should say what is damaged: {e}"
                );
                None
            }
        })
        .collect()
}

#[test]
fn the_untouched_directory_verifies() {
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path(), 40);
    let r = check(&data).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.entries, 40);
}

#[test]
fn a_flipped_byte_anywhere_in_the_sled_files_is_reported() {
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path(), 40);
    let mut cases = Vec::new();
    let mut n = 0;
    for f in store_files(&data) {
        let rel = f.strip_prefix(&data).unwrap().to_path_buf();
        let len = std::fs::metadata(&f).unwrap().len() as usize;
        if len == 0 {
            continue;
        }
        // first and last bytes, and 24 positions spread over the file
        let mut at: Vec<usize> = (0..24).map(|i| i * len / 24).collect();
        at.extend([len - 1, len / 2 + 1]);
        at.sort();
        at.dedup();
        for pos in at {
            n += 1;
            let r = damaged(root.path(), &data, n, &rel, |f| {
                let mut bytes = std::fs::read(f).unwrap();
                bytes[pos] ^= 0x5a;
                std::fs::write(f, &bytes).unwrap();
            });
            cases.push((format!("{} byte {pos} of {len}", rel.display()), r));
        }
    }
    assert!(n > 20, "too few positions tried: {n}");
    let silent = silent(cases);
    assert!(
        silent.is_empty(),
        "{} of {n} flipped bytes went unreported:\n{}",
        silent.len(),
        silent.join("\n")
    );
}

#[test]
fn a_store_file_cut_short_is_reported() {
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path(), 40);
    let mut cases = Vec::new();
    let mut n = 0;
    for f in store_files(&data) {
        let rel = f.strip_prefix(&data).unwrap().to_path_buf();
        let len = std::fs::metadata(&f).unwrap().len();
        for keep in [0, len / 4, len / 2, len - len / 8, len.saturating_sub(1)] {
            if keep >= len {
                continue;
            }
            n += 1;
            let r = damaged(root.path(), &data, n, &rel, |f| {
                let file = std::fs::OpenOptions::new().write(true).open(f).unwrap();
                file.set_len(keep).unwrap();
            });
            cases.push((format!("{} cut to {keep} of {len}", rel.display()), r));
        }
    }
    let silent = silent(cases);
    assert!(
        silent.is_empty(),
        "{} of {n} cuts went unreported:\n{}",
        silent.len(),
        silent.join("\n")
    );
}

#[test]
fn a_flipped_byte_in_space_sled_does_not_use_is_reported_too() {
    // sled extends `db` ahead of its log; its checks never read the unused
    // end. The seal written at the clean close covers every byte.
    let root = tempfile::tempdir().unwrap();
    let data = data_dir(root.path(), 40);
    {
        // opened again to read only (as `marc audit verify` does): sled's
        // recovery extends `db` to the end of its segment with zeros
        drop(Store::open(&data).unwrap());
    }
    let db = std::fs::read(data.join("db")).unwrap();
    let last_used = db.iter().rposition(|b| *b != 0).unwrap();
    let unused = last_used + 1..db.len();
    assert!(
        unused.len() > 1000,
        "no unused space in db to damage: {unused:?}"
    );
    eprintln!("db: {} bytes, unused from {}", db.len(), unused.start);
    let mut cases = Vec::new();
    let positions: Vec<usize> = (0..8)
        .map(|i| unused.start + i * unused.len() / 8)
        .chain(std::iter::once(db.len() - 1))
        .filter(|p| unused.contains(p))
        .collect();
    for (n, pos) in positions.iter().enumerate() {
        let r = damaged(root.path(), &data, n, Path::new("db"), |f| {
            let mut bytes = std::fs::read(f).unwrap();
            bytes[*pos] ^= 0x5a;
            std::fs::write(f, &bytes).unwrap();
        });
        cases.push((format!("db byte {pos} (unused)"), r));
    }
    let silent = silent(cases);
    assert!(silent.is_empty(), "went unreported:\n{}", silent.join("\n"));
}
