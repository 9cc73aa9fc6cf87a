//! One log, several nodes: on a shared PostgreSQL store each marc process
//! keeps its own checkpoint in its own data directory. A new data directory
//! joins explicitly (`AuditLog::join`): the chain is verified, the joining is
//! an entry, and from then on both nodes append and both checkpoints hold.

use marc_audit::{verify, AuditError, AuditKey, AuditLog, NewEntry, CHECKPOINT_FILE};
use marc_store::testing::TestDatabase;
use marc_store::Store;
use serde_json::json;

fn key() -> AuditKey {
    AuditKey::from_vault_key(&marc_vault::VaultKey::from_bytes([7u8; 32]))
}

fn append(log: &AuditLog, n: u64) {
    for i in 0..n {
        log.append(NewEntry::system_actor("test", "test.step").detail(json!({ "i": i })))
            .unwrap();
    }
}

#[test]
fn a_new_node_joins_a_shared_log_explicitly_and_both_keep_writing() {
    let db = TestDatabase::new().expect("a test database");
    let dirs = tempfile::tempdir().unwrap();
    let (one, two) = (dirs.path().join("one"), dirs.path().join("two"));
    std::fs::create_dir_all(&one).unwrap();
    std::fs::create_dir_all(&two).unwrap();
    let store = Store::connect(db.url()).unwrap();
    let first =
        AuditLog::open_with_checkpoint(&store, key(), Some(one.join(CHECKPOINT_FILE))).unwrap();
    append(&first, 3);

    // A second directory without a checkpoint is refused, and told how to join.
    let err = AuditLog::open_with_checkpoint(&store, key(), Some(two.join(CHECKPOINT_FILE)))
        .err()
        .expect("a log with entries and no checkpoint is refused");
    assert!(err.to_string().contains("marc audit join"), "{err}");

    let (second, joined) = AuditLog::join(
        &store,
        key(),
        two.join(CHECKPOINT_FILE),
        "ops",
        "host-b:/srv/marc",
    )
    .unwrap();
    assert_eq!(joined.action, "audit.node_joined");
    assert_eq!(joined.seq, 4);
    assert_eq!(joined.detail["verified_entries"], 3);
    append(&second, 2);
    append(&first, 2);

    // Both directories open again: each checkpoint is behind the shared
    // head, and what lies between verifies.
    drop((first, second));
    for dir in [&one, &two] {
        let log =
            AuditLog::open_with_checkpoint(&store, key(), Some(dir.join(CHECKPOINT_FILE))).unwrap();
        append(&log, 1);
    }
    let r = verify(&store, &key(), Some(&two.join(CHECKPOINT_FILE))).unwrap();
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.entries, 10);

    // Joining twice is refused: the directory writes the log already.
    assert!(matches!(
        AuditLog::join(&store, key(), two.join(CHECKPOINT_FILE), "ops", "again"),
        Err(AuditError::Joined(_))
    ));
}

#[test]
fn a_log_that_does_not_verify_cannot_be_joined_and_sled_is_never_joined() {
    let db = TestDatabase::new().expect("a test database");
    let dirs = tempfile::tempdir().unwrap();
    let store = Store::connect(db.url()).unwrap();
    std::fs::create_dir_all(dirs.path().join("one")).unwrap();
    let log = AuditLog::open_with_checkpoint(
        &store,
        key(),
        Some(dirs.path().join("one").join(CHECKPOINT_FILE)),
    )
    .unwrap();
    append(&log, 3);
    // Someone with database access rewrites entry 2.
    let table = store.table(marc_audit::TABLE).unwrap();
    let k = marc_store::be_key(2);
    let mut e: serde_json::Value = serde_json::from_slice(&table.get(k).unwrap().unwrap()).unwrap();
    e["actor"] = json!("someone else");
    table.put(k, serde_json::to_vec(&e).unwrap()).unwrap();
    let err = AuditLog::join(
        &store,
        key(),
        dirs.path().join("two").join(CHECKPOINT_FILE),
        "ops",
        "host-b",
    )
    .err()
    .expect("a rewritten log is not joined");
    assert!(matches!(err, AuditError::Damaged { .. }), "{err}");
    assert!(err.to_string().contains("entry 2"), "{err}");

    let sled = Store::open(dirs.path().join("sled")).unwrap();
    assert!(matches!(
        AuditLog::join(
            &sled,
            key(),
            dirs.path().join("s").join(CHECKPOINT_FILE),
            "ops",
            "x"
        ),
        Err(AuditError::NotShared("sled"))
    ));
}
