//! marc-audit: the append-only, authenticated, hash-chained log of everything
//! robots and people do.
//!
//! Why it looks like this:
//! - A municipality lets a robot into its case systems only if every action can be
//!   inspected afterwards and the record cannot be quietly edited. Each entry carries
//!   the MAC of the previous one (`prev`) and its own HMAC-SHA256 (`hash`) over a
//!   canonical, length-prefixed encoding of all its fields, under a key kept outside
//!   the data directory ([`AuditKey`], derived from the vault key). Whoever can write
//!   the store but lacks the key can neither change, insert nor re-chain an entry:
//!   [`verify`] names the first entry that does not check out.
//! - Entries live in the marc_store table `audit` under big-endian sequence numbers
//!   (1, 2, …), so key order is chain order. A new entry claims its key with
//!   compare-and-swap (absent → entry), so several handles or threads can never fork
//!   the chain; handles on the same store share one lock, so they do not spin on it.
//! - A checkpoint of the head (last seq and MAC, itself authenticated) is kept in a
//!   file outside the store (`checkpoint`), rewritten after every append. Cutting
//!   entries off the end, or sled silently dropping a damaged tail, leaves the store
//!   behind the checkpoint: [`verify`] names the missing entries, and [`AuditLog::open`]
//!   refuses to append to such a log (which would hide the loss under new entries),
//!   so marc stops instead of working on a store that was rolled back.
//! - Every append is flushed, and the checkpoint written, before it returns; an
//!   operation whose audit entry cannot be written must fail.

mod checkpoint;
mod key;

pub use checkpoint::{default_path as default_checkpoint_path, CHECKPOINT_ENV, CHECKPOINT_FILE};
pub use key::{AuditKey, KEY_PURPOSE};

use checkpoint::Head;
use chrono::{DateTime, SecondsFormat, Utc};
use marc_store::{be_key, Store, StoreError, Table};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

/// The marc_store table holding the entries.
pub const TABLE: &str = "audit";
/// `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What can go wrong with the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no audit key: marc authenticates every audit entry with a key derived from the vault key, and writes none without it. Set MARC_VAULT_KEY_FILE to a file outside the data directory holding a 32-byte key (create one with `marc secret keygen > /etc/marc/vault.key && chmod 600 /etc/marc/vault.key`), or MARC_VAULT_KEY to the key itself")]
    NoKey,
    #[error("the audit key: {0}")]
    Key(marc_vault::VaultError),
    #[error("the audit entry {seq} is unreadable ({reason}); run `marc audit verify` and restore the data directory from backup")]
    Unreadable { seq: u64, reason: String },
    #[error("the audit log is damaged at {place}: {reason}. Nothing was written; run `marc audit verify`, and restore the data directory from backup")]
    Damaged { place: String, reason: String },
    #[error("the audit log was written with key id {stored} (at {place}), but the configured key has id {given}; use the key this data directory was created with (MARC_VAULT_KEY_FILE or MARC_VAULT_KEY)")]
    WrongKey {
        place: String,
        stored: String,
        given: String,
    },
    #[error("cannot write the audit checkpoint {path}: {reason}; the operation is not done")]
    Checkpoint { path: PathBuf, reason: String },
    #[error("cannot encode an audit entry: {0}")]
    Encode(String),
    #[error("the audit log is busy: could not append after {0} attempts because other writers kept taking the next sequence number; retry")]
    Contention(u32),
    #[error("{0} has a checkpoint already: this data directory writes the log; there is nothing to join")]
    Joined(PathBuf),
    #[error("only a log in a shared database is joined: this store is {0}, whose log lives in its data directory with its checkpoint")]
    NotShared(&'static str),
}

pub type Result<T> = std::result::Result<T, AuditError>;

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    Robot,
    User,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Robot => "robot",
            ActorKind::User => "user",
            ActorKind::System => "system",
        }
    }
}

/// A stored audit entry. `hash` = HMAC-SHA256 of [`canonical_bytes`] (all
/// other fields) under the key whose id is `key`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: u64,
    /// RFC 3339 UTC with microseconds, e.g. `2026-11-23T14:12:52.123456Z`.
    pub time: String,
    pub actor_kind: ActorKind,
    pub actor: String,
    pub action: String,
    pub request: Option<String>,
    pub session: Option<String>,
    pub system: Option<String>,
    pub detail: Value,
    pub prev: String,
    /// Id of the key that authenticated the entry (empty: written without a key,
    /// by a marc from before keys).
    #[serde(default)]
    pub key: String,
    pub hash: String,
}

impl Entry {
    /// The entry's time, parsed.
    pub fn time_utc(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.time)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The MAC of the other fields under `key` (what `hash` must be).
    pub fn compute_mac(&self, key: &AuditKey) -> String {
        key.mac(&canonical_bytes(self))
    }
}

/// An entry to append; the log assigns seq, time, prev, key and hash.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEntry {
    pub actor_kind: ActorKind,
    pub actor: String,
    pub action: String,
    pub request: Option<String>,
    pub session: Option<String>,
    pub system: Option<String>,
    pub detail: Value,
}

impl NewEntry {
    pub fn new(
        actor_kind: ActorKind,
        actor: impl Into<String>,
        action: impl Into<String>,
    ) -> NewEntry {
        NewEntry {
            actor_kind,
            actor: actor.into(),
            action: action.into(),
            request: None,
            session: None,
            system: None,
            detail: Value::Null,
        }
    }
    /// An action by a robot (actor = robot id).
    pub fn robot(robot: impl Into<String>, action: impl Into<String>) -> NewEntry {
        NewEntry::new(ActorKind::Robot, robot, action)
    }
    /// An action by a person (actor = who authenticated, or the OS user at the CLI).
    pub fn user(user: impl Into<String>, action: impl Into<String>) -> NewEntry {
        NewEntry::new(ActorKind::User, user, action)
    }
    /// An action by marc itself (actor = component, e.g. "scheduler").
    pub fn system_actor(component: impl Into<String>, action: impl Into<String>) -> NewEntry {
        NewEntry::new(ActorKind::System, component, action)
    }
    pub fn request(mut self, id: impl Into<String>) -> Self {
        self.request = Some(id.into());
        self
    }
    pub fn session(mut self, id: impl Into<String>) -> Self {
        self.session = Some(id.into());
        self
    }
    /// The connected system the action concerns (e.g. "sbsys").
    pub fn system(mut self, id: impl Into<String>) -> Self {
        self.system = Some(id.into());
        self
    }
    pub fn detail(mut self, d: Value) -> Self {
        self.detail = d;
        self
    }
}

/// The result of [`verify`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerifyReport {
    /// Entries stored.
    pub entries: u64,
    /// The first place where the log does not check out, if any.
    pub first_broken: Option<BrokenEntry>,
    /// MAC of the last entry (publish it to anchor the chain elsewhere).
    pub head: Option<String>,
    /// Id of the key the log was checked with.
    pub key: String,
    /// The entry the checkpoint records (`None`: no checkpoint, temporary store).
    pub checkpoint: Option<u64>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.first_broken.is_none()
    }
}

impl std::fmt::Display for VerifyReport {
    /// One line for `marc audit verify`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.first_broken {
            None => {
                write!(
                    f,
                    "audit log intact: {} entries, authenticated with key id {}, head {}",
                    self.entries,
                    self.key,
                    self.head.as_deref().unwrap_or("(empty)")
                )?;
                if let Some(c) = self.checkpoint {
                    write!(f, ", checkpoint at entry {c}")?;
                }
                Ok(())
            }
            Some(b) => write!(
                f,
                "audit log BROKEN at {}: {} ({} entries stored)",
                b.place(),
                b.reason,
                self.entries
            ),
        }
    }
}

/// Where and why the log does not check out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BrokenEntry {
    /// The first entry concerned; 0 when it is the checkpoint itself.
    pub seq: u64,
    pub reason: String,
}

impl BrokenEntry {
    /// "entry N", or "the checkpoint".
    pub fn place(&self) -> String {
        if self.seq == 0 {
            "the checkpoint".into()
        } else {
            format!("entry {}", self.seq)
        }
    }
}

/// Which entries [`query`] returns; all set fields must match.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Actor of any kind.
    pub actor: Option<String>,
    /// Actor of kind robot.
    pub robot: Option<String>,
    /// Actor of kind user.
    pub user: Option<String>,
    pub request: Option<String>,
    pub session: Option<String>,
    pub system: Option<String>,
    /// Action, exact or as a prefix ending in `*` (e.g. `secret.*`).
    pub action: Option<String>,
    /// Inclusive.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
    /// Keep only the most recent `limit` matches (still returned oldest first).
    pub limit: Option<usize>,
}

impl Filter {
    /// Whether an entry passes the filter (ignores `limit`).
    pub fn matches(&self, e: &Entry) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        if !eq(&self.actor, Some(&e.actor))
            || !eq(&self.request, e.request.as_deref())
            || !eq(&self.session, e.session.as_deref())
            || !eq(&self.system, e.system.as_deref())
        {
            return false;
        }
        if self
            .robot
            .as_deref()
            .is_some_and(|r| e.actor_kind != ActorKind::Robot || e.actor != r)
        {
            return false;
        }
        if self
            .user
            .as_deref()
            .is_some_and(|u| e.actor_kind != ActorKind::User || e.actor != u)
        {
            return false;
        }
        if let Some(a) = &self.action {
            let ok = match a.strip_suffix('*') {
                Some(prefix) => e.action.starts_with(prefix),
                None => &e.action == a,
            };
            if !ok {
                return false;
            }
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(t) = e.time_utc() else { return false };
            if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u) {
                return false;
            }
        }
        true
    }
}

/// What the handles on one store share: the append lock, and whether the
/// store's tail was checked against the checkpoint.
#[derive(Default)]
struct Shared {
    tail_checked: bool,
    /// The checkpoint file, kept open between appends.
    checkpoint: Option<std::fs::File>,
}

/// Handles on the same store (by checkpoint path) share one [`Shared`], so their
/// appends and checkpoint writes are serialised and the checkpoint only advances.
fn shared_for(path: Option<&Path>) -> Arc<Mutex<Shared>> {
    static REGISTRY: Mutex<Option<HashMap<PathBuf, Weak<Mutex<Shared>>>>> = Mutex::new(None);
    let Some(path) = path else {
        return Arc::default();
    };
    let mut reg = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    let map = reg.get_or_insert_with(HashMap::new);
    map.retain(|_, w| w.strong_count() > 0);
    if let Some(s) = map.get(path).and_then(Weak::upgrade) {
        return s;
    }
    let s: Arc<Mutex<Shared>> = Arc::default();
    map.insert(path.to_path_buf(), Arc::downgrade(&s));
    s
}

/// A handle for writing the audit log of a store. `Clone + Send + Sync`.
#[derive(Clone)]
pub struct AuditLog {
    store: Store,
    table: Table,
    key: AuditKey,
    checkpoint: Option<PathBuf>,
    shared: Arc<Mutex<Shared>>,
}

const MAX_CAS_ATTEMPTS: u32 = 1000;

impl AuditLog {
    /// The data directory of the store this log is in (a process that
    /// holds a log can tell whether a store is that log's).
    pub fn store_path(&self) -> &std::path::Path {
        self.store.path()
    }

    /// Opens (creating if needed) the audit log in `store`, authenticated with
    /// `key`, its checkpoint at [`default_checkpoint_path`]. Refuses a log that
    /// lost entries at its end, or was written with another key: appending
    /// would hide the loss.
    pub fn open(store: &Store, key: AuditKey) -> Result<AuditLog> {
        AuditLog::open_with_checkpoint(store, key, checkpoint::default_path(store.path()))
    }

    /// As [`AuditLog::open`], with the checkpoint at `checkpoint` (`None`:
    /// none; only for temporary stores in tests).
    pub fn open_with_checkpoint(
        store: &Store,
        key: AuditKey,
        checkpoint: Option<PathBuf>,
    ) -> Result<AuditLog> {
        let log = AuditLog {
            store: store.clone(),
            table: store.table(TABLE)?,
            key,
            shared: shared_for(checkpoint.as_deref()),
            checkpoint,
        };
        {
            let mut shared = log.shared.lock().unwrap_or_else(|p| p.into_inner());
            log.check_tail(&mut shared)?;
        }
        Ok(log)
    }

    /// A new data directory starts writing a log that other marc processes
    /// already write (a shared PostgreSQL store: `marc audit join` on a new
    /// worker machine). A missing checkpoint is otherwise damage, since
    /// deleting it could hide entries cut off the end; so joining is
    /// explicit: the whole chain is verified first, the checkpoint starts at
    /// its head, and the joining is an entry of the log itself (`node` says
    /// which directory on which machine), so an auditor sees every node that
    /// ever began writing.
    pub fn join(
        store: &Store,
        key: AuditKey,
        checkpoint: PathBuf,
        who: &str,
        node: &str,
    ) -> Result<(AuditLog, Entry)> {
        if store.backend_name() != "postgres" {
            return Err(AuditError::NotShared(store.backend_name()));
        }
        if checkpoint.exists() {
            return Err(AuditError::Joined(checkpoint));
        }
        let report = verify(store, &key, None)?;
        if let Some(b) = report.first_broken {
            return Err(AuditError::Damaged {
                place: b.place(),
                reason: b.reason,
            });
        }
        let log = AuditLog {
            store: store.clone(),
            table: store.table(TABLE)?,
            key,
            shared: shared_for(Some(&checkpoint)),
            checkpoint: Some(checkpoint),
        };
        {
            let mut shared = log.shared.lock().unwrap_or_else(|p| p.into_inner());
            let head = match log.table.last()? {
                None => Head {
                    seq: 0,
                    hash: GENESIS.into(),
                },
                Some((k, v)) => {
                    let e = decode(&k, &v)?;
                    Head {
                        seq: e.seq,
                        hash: e.hash,
                    }
                }
            };
            // From here on the usual check: entries other nodes append
            // between this and the joining entry must verify.
            log.write_checkpoint(&mut shared, &head)?;
        }
        let entry = log.append(
            NewEntry::user(who, "audit.node_joined")
                .detail(serde_json::json!({"node": node, "verified_entries": report.entries})),
        )?;
        Ok((log, entry))
    }

    /// The key's id.
    pub fn key_id(&self) -> &str {
        self.key.id()
    }

    /// Where the checkpoint is kept.
    pub fn checkpoint_path(&self) -> Option<&Path> {
        self.checkpoint.as_deref()
    }

    /// Masks every secret value the process knows ([`marc_vault::known_secrets`])
    /// in the text fields and in every string (and object key) of `detail`
    /// before an entry is authenticated and stored: defence in depth for callers
    /// that put a value where a name was meant.
    fn mask(mut e: NewEntry) -> NewEntry {
        let r = marc_vault::known_secrets();
        if !r.is_empty() {
            e.actor = r.mask(&e.actor);
            e.action = r.mask(&e.action);
            e.request = e.request.map(|s| r.mask(&s));
            e.session = e.session.map(|s| r.mask(&s));
            e.system = e.system.map(|s| r.mask(&s));
            e.detail = mask_value(&r, e.detail);
        }
        e
    }

    /// Appends one entry; durable (flushed, checkpointed) when this returns.
    pub fn append(&self, e: NewEntry) -> Result<Entry> {
        let mut v = self.append_batch(vec![e])?;
        v.pop()
            .ok_or_else(|| AuditError::Encode("no entry appended".into()))
    }

    /// Appends several entries as consecutive links with one flush and one
    /// checkpoint write at the end.
    pub fn append_batch(&self, entries: Vec<NewEntry>) -> Result<Vec<Entry>> {
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        if !shared.tail_checked {
            self.check_tail(&mut shared)?;
        }
        let mut out = Vec::with_capacity(entries.len());
        for ne in entries {
            out.push(self.append_locked(AuditLog::mask(ne))?);
        }
        if let Some(last) = out.last() {
            self.store.flush()?;
            self.write_checkpoint(
                &mut shared,
                &Head {
                    seq: last.seq,
                    hash: last.hash.clone(),
                },
            )?;
        }
        Ok(out)
    }

    fn write_checkpoint(&self, shared: &mut Shared, head: &Head) -> Result<()> {
        let Some(path) = &self.checkpoint else {
            return Ok(());
        };
        checkpoint::write(path, &self.key, head, &mut shared.checkpoint).map_err(|e| {
            shared.checkpoint = None; // reopen next time
            AuditError::Checkpoint {
                path: path.clone(),
                reason: e.to_string(),
            }
        })
    }

    /// Compares the store's last entry with the checkpoint: the store may be
    /// ahead (marc stopped between the two writes; the checkpoint is advanced
    /// after the entries in between check out), never behind or different.
    fn check_tail(&self, shared: &mut Shared) -> Result<()> {
        let tail = match self.table.last()? {
            None => None,
            Some((k, v)) => Some(decode(&k, &v)?),
        };
        if let Some(t) = &tail {
            if t.key != self.key.id() {
                return Err(AuditError::WrongKey {
                    place: format!("entry {}", t.seq),
                    stored: key_name(&t.key),
                    given: self.key.id().to_string(),
                });
            }
        }
        let Some(path) = self.checkpoint.clone() else {
            shared.tail_checked = true;
            return Ok(());
        };
        let damaged = |place: String, reason: String| AuditError::Damaged { place, reason };
        let cp = checkpoint::read(&path, &self.key).map_err(|e| AuditError::Checkpoint {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let last_seq = tail.as_ref().map_or(0, |t| t.seq);
        let head = match cp {
            checkpoint::Read::Missing if tail.is_none() => {
                // A new log: record that it starts empty, so a log whose
                // checkpoint later disappears is never taken for a new one.
                self.write_checkpoint(
                    shared,
                    &Head {
                        seq: 0,
                        hash: GENESIS.into(),
                    },
                )?;
                shared.tail_checked = true;
                return Ok(());
            }
            checkpoint::Read::Missing => {
                return Err(damaged(
                    "the checkpoint".into(),
                    format!(
                        "the log holds {last_seq} entries but its checkpoint {} is missing{}",
                        path.display(),
                        if self.store.backend_name() == "postgres" {
                            " (a new data directory beside a shared database joins the log once with `marc audit join`)"
                        } else {
                            ""
                        }
                    ),
                ))
            }
            checkpoint::Read::OtherKey(id) => {
                return Err(AuditError::WrongKey {
                    place: format!("the checkpoint {}", path.display()),
                    stored: key_name(&id),
                    given: self.key.id().to_string(),
                })
            }
            checkpoint::Read::Damaged(why) => {
                return Err(damaged(
                    "the checkpoint".into(),
                    format!("{} is damaged: {why}", path.display()),
                ))
            }
            checkpoint::Read::Head(h) => h,
        };
        if head.seq > last_seq {
            return Err(damaged(
                format!("entry {}", last_seq + 1),
                missing_tail(last_seq, &head, &path),
            ));
        }
        if head.seq > 0 {
            let at = self.table.get(be_key(head.seq))?;
            let e = at.map(|v| decode(&be_key(head.seq), &v)).transpose()?;
            if e.as_ref().map(|e| &e.hash) != Some(&head.hash) {
                return Err(damaged(
                    format!("entry {}", head.seq),
                    "it does not match the checkpoint: the log was rewritten".into(),
                ));
            }
        }
        if last_seq > head.seq {
            // Entries appended after the last checkpoint (a stop between the
            // two writes): they must check out before the checkpoint moves on.
            let mut prev = head.hash.clone();
            for seq in head.seq + 1..=last_seq {
                let v = self
                    .table
                    .get(be_key(seq))?
                    .ok_or_else(|| damaged(format!("entry {seq}"), "it is missing".into()))?;
                let e = decode(&be_key(seq), &v)?;
                if let Some(why) = check_entry(&e, seq, &prev, &self.key) {
                    return Err(damaged(format!("entry {seq}"), why));
                }
                prev = e.hash;
            }
            self.write_checkpoint(
                shared,
                &Head {
                    seq: last_seq,
                    hash: prev,
                },
            )?;
        }
        shared.tail_checked = true;
        Ok(())
    }

    fn append_locked(&self, ne: NewEntry) -> Result<Entry> {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (seq, prev) = match self.table.last()? {
                None => (1, GENESIS.to_string()),
                Some((k, v)) => {
                    let last = decode(&k, &v)?;
                    (last.seq + 1, last.hash)
                }
            };
            let mut entry = Entry {
                seq,
                time: now_rfc3339(),
                actor_kind: ne.actor_kind,
                actor: ne.actor.clone(),
                action: ne.action.clone(),
                request: ne.request.clone(),
                session: ne.session.clone(),
                system: ne.system.clone(),
                detail: ne.detail.clone(),
                prev,
                key: self.key.id().to_string(),
                hash: String::new(),
            };
            entry.hash = entry.compute_mac(&self.key);
            let bytes =
                serde_json::to_vec(&entry).map_err(|e| AuditError::Encode(e.to_string()))?;
            if self
                .table
                .compare_and_swap(be_key(seq), None, Some(&bytes))?
            {
                return Ok(entry);
            }
        }
        Err(AuditError::Contention(MAX_CAS_ATTEMPTS))
    }

    /// [`verify`] of this log.
    pub fn verify(&self) -> Result<VerifyReport> {
        verify(&self.store, &self.key, self.checkpoint.as_deref())
    }

    /// [`query`] of this log.
    pub fn query(&self, f: &Filter) -> Result<Vec<Entry>> {
        query(&self.store, f)
    }

    /// The last seq and MAC, to anchor the chain outside the machine.
    pub fn head(&self) -> Result<Option<(u64, String)>> {
        Ok(match self.table.last()? {
            None => None,
            Some((k, v)) => {
                let e = decode(&k, &v)?;
                Some((e.seq, e.hash))
            }
        })
    }

    /// Number of stored entries.
    pub fn len(&self) -> u64 {
        self.table.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

fn key_name(id: &str) -> String {
    if id.is_empty() {
        "(none: written by a marc from before audit keys)".into()
    } else {
        id.to_string()
    }
}

fn missing_tail(last_seq: u64, head: &Head, path: &Path) -> String {
    format!(
        "entries {}..={} are missing from the end of the log: its checkpoint {} records entry {} (MAC {}), the store ends at entry {last_seq} (entries cut off, or a damaged tail the store dropped)",
        last_seq + 1,
        head.seq,
        path.display(),
        head.seq,
        head.hash
    )
}

fn decode(k: &[u8], v: &[u8]) -> Result<Entry> {
    serde_json::from_slice(v).map_err(|err| AuditError::Unreadable {
        seq: key_to_seq(k).unwrap_or(0),
        reason: err.to_string(),
    })
}

/// Why entry `e`, stored as `seq` after an entry with MAC `prev`, does not
/// check out under `key` (`None`: it does).
fn check_entry(e: &Entry, seq: u64, prev: &str, key: &AuditKey) -> Option<String> {
    if e.seq != seq {
        return Some(format!(
            "the entry stored as {seq} says it is entry {} (moved, reordered or changed)",
            e.seq
        ));
    }
    if e.key != key.id() {
        return Some(format!(
            "it was authenticated with key id {}, not the configured key {}: a wrong key, or a forged entry",
            key_name(&e.key),
            key.id()
        ));
    }
    if !key.verify(&canonical_bytes(e), &e.hash) {
        return Some("its content does not match its MAC: the entry was changed".into());
    }
    if e.prev != prev {
        return Some(format!(
            "it does not link to entry {}: an entry before it was changed, removed or reordered",
            seq.saturating_sub(1)
        ));
    }
    None
}

/// Checks the whole log of `store` with `key`: every stored entry decodes, sits
/// under its own seq, follows its predecessor without gaps, links to its MAC,
/// carries a valid MAC under `key`, and the log reaches the head the checkpoint
/// at `checkpoint` records. Names the first place that does not check out.
pub fn verify(store: &Store, key: &AuditKey, checkpoint: Option<&Path>) -> Result<VerifyReport> {
    let table = store.table(TABLE)?;
    let entries = table.len() as u64;
    let mut prev = GENESIS.to_string();
    let mut broken = None;
    let mut last: Option<Entry> = None;
    for (expected_seq, kv) in (1u64..).zip(table.iter()) {
        let (k, v) = kv?;
        let Some(key_seq) = key_to_seq(&k) else {
            broken = Some(BrokenEntry {
                seq: expected_seq,
                reason: format!("a stored key ({} bytes) is not an audit sequence number; something other than marc wrote into the audit table", k.len()),
            });
            break;
        };
        if key_seq != expected_seq {
            let reason = if key_seq > expected_seq {
                format!(
                    "entry {expected_seq} is missing (removed); the next stored entry is {key_seq}"
                )
            } else {
                format!("entry {key_seq} is out of order")
            };
            broken = Some(BrokenEntry {
                seq: expected_seq.min(key_seq),
                reason,
            });
            break;
        }
        let e: Entry = match serde_json::from_slice(&v) {
            Ok(e) => e,
            Err(err) => {
                broken = Some(BrokenEntry {
                    seq: key_seq,
                    reason: format!("the stored entry is unreadable ({err}): it was changed"),
                });
                break;
            }
        };
        if let Some(reason) = check_entry(&e, key_seq, &prev, key) {
            broken = Some(BrokenEntry {
                seq: key_seq,
                reason,
            });
            break;
        }
        prev = e.hash.clone();
        last = Some(e);
    }
    let mut checkpoint_seq = None;
    if let (None, Some(path)) = (&broken, checkpoint) {
        let last_seq = last.as_ref().map_or(0, |e| e.seq);
        let cp = checkpoint::read(path, key).map_err(|e| AuditError::Checkpoint {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let at_checkpoint = |reason: String| Some(BrokenEntry { seq: 0, reason });
        broken = match cp {
            checkpoint::Read::Missing if last_seq == 0 => None,
            checkpoint::Read::Missing => at_checkpoint(format!(
                "the log holds {last_seq} entries but its checkpoint {} is missing (deleted, or the log was copied without it)",
                path.display()
            )),
            checkpoint::Read::OtherKey(id) => at_checkpoint(format!(
                "{} was written with key id {}, not the configured key {}",
                path.display(),
                key_name(&id),
                key.id()
            )),
            checkpoint::Read::Damaged(why) => {
                at_checkpoint(format!("{} is damaged: {why}", path.display()))
            }
            checkpoint::Read::Head(h) => {
                checkpoint_seq = Some(h.seq);
                if h.seq > last_seq {
                    Some(BrokenEntry {
                        seq: last_seq + 1,
                        reason: missing_tail(last_seq, &h, path),
                    })
                } else if h.seq > 0 {
                    match table.get_json::<Entry>(be_key(h.seq)) {
                        Ok(Some(e)) if e.hash == h.hash => None,
                        _ => Some(BrokenEntry {
                            seq: h.seq,
                            reason: format!(
                                "it does not match the checkpoint {}: the log was rewritten",
                                path.display()
                            ),
                        }),
                    }
                } else {
                    None
                }
            }
        };
    }
    Ok(VerifyReport {
        entries,
        first_broken: broken,
        head: last.map(|e| e.hash),
        key: key.id().to_string(),
        checkpoint: checkpoint_seq,
    })
}

/// Entries of the log of `store` matching `f`, oldest first (a full scan).
/// Needs no key: reading is not checking ([`verify`] is).
pub fn query(store: &Store, f: &Filter) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for kv in store.table(TABLE)?.iter() {
        let (k, v) = kv?;
        let e = decode(&k, &v)?;
        if f.matches(&e) {
            out.push(e);
        }
    }
    if let Some(l) = f.limit {
        if out.len() > l {
            out.drain(..out.len() - l);
        }
    }
    Ok(out)
}

fn mask_value(r: &marc_vault::Redactor, v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(r.mask(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| mask_value(r, x)).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, x)| (r.mask(&k), mask_value(r, x)))
                .collect(),
        ),
        other => other,
    }
}

fn key_to_seq(k: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(k).ok().map(u64::from_be_bytes)
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The bytes an entry's MAC covers: a version tag, then every field except `hash`
/// as `name:len:bytes` (absent options as `name:-`), `detail` as canonical JSON
/// (object keys sorted, no whitespace). Length prefixes make the encoding
/// unambiguous, so no two different entries share these bytes.
pub fn canonical_bytes(e: &Entry) -> Vec<u8> {
    let mut out = b"marc-audit-v2\n".to_vec();
    let mut field = |name: &str, v: Option<&[u8]>| {
        out.extend_from_slice(name.as_bytes());
        match v {
            Some(b) => {
                out.extend_from_slice(format!(":{}:", b.len()).as_bytes());
                out.extend_from_slice(b);
            }
            None => out.extend_from_slice(b":-"),
        }
        out.push(b'\n');
    };
    field("seq", Some(e.seq.to_string().as_bytes()));
    field("time", Some(e.time.as_bytes()));
    field("actor_kind", Some(e.actor_kind.as_str().as_bytes()));
    field("actor", Some(e.actor.as_bytes()));
    field("action", Some(e.action.as_bytes()));
    field("request", e.request.as_deref().map(str::as_bytes));
    field("session", e.session.as_deref().map(str::as_bytes));
    field("system", e.system.as_deref().map(str::as_bytes));
    let mut detail = String::new();
    canonical_json(&e.detail, &mut detail);
    field("detail", Some(detail.as_bytes()));
    field("prev", Some(e.prev.as_bytes()));
    field("key", Some(e.key.as_bytes()));
    out
}

/// JSON with object keys sorted and no whitespace, whatever serde_json's map order.
pub fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                canonical_json(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A fixed-width text table for `marc audit log`.
pub fn render_table(entries: &[Entry]) -> String {
    let headers = [
        "SEQ",
        "TIME (UTC)",
        "KIND",
        "ACTOR",
        "ACTION",
        "SYSTEM",
        "REQUEST",
        "SESSION",
        "DETAIL",
    ];
    let rows: Vec<[String; 9]> = entries
        .iter()
        .map(|e| {
            let mut d = String::new();
            if !e.detail.is_null() {
                canonical_json(&e.detail, &mut d);
            }
            [
                e.seq.to_string(),
                e.time_utc().map_or_else(
                    || e.time.clone(),
                    |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
                ),
                e.actor_kind.as_str().to_string(),
                cell(&e.actor, 24),
                cell(&e.action, 28),
                cell(e.system.as_deref().unwrap_or("-"), 16),
                cell(e.request.as_deref().unwrap_or("-"), 20),
                cell(e.session.as_deref().unwrap_or("-"), 20),
                cell(&d, 60),
            ]
        })
        .collect();
    let mut widths = headers.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(widths.iter()).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                let _ = write!(l, "{c:<w$}  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&headers.map(String::from));
    for r in &rows {
        line(r);
    }
    out
}

/// One JSON object per line, for `marc audit log --json`.
pub fn render_jsonl(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        if let Ok(s) = serde_json::to_string(e) {
            out.push_str(&s);
            out.push('\n');
        }
    }
    out
}

fn cell(s: &str, max: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= max {
        clean
    } else {
        let mut t: String = clean.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> AuditKey {
        AuditKey::from_vault_key(&marc_vault::VaultKey::from_bytes([42u8; 32]))
    }

    fn entry(i: u64) -> NewEntry {
        NewEntry::robot("aktindsigt-sbsys", "navigate")
            .request(format!("req-{}", i % 2))
            .session("sess-1")
            .system("sbsys")
            .detail(json!({"url": format!("https://sbsys.example/case/{i}"), "n": i, "ok": true, "navn": "Søren Ærø"}))
    }

    /// A log of `n` entries in an on-disk store (so it has a checkpoint file).
    fn log_with(n: u64) -> (tempfile::TempDir, Store, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path().join("data")).unwrap();
        let log = AuditLog::open(&s, key()).unwrap();
        for i in 1..=n {
            log.append(entry(i)).unwrap();
        }
        (dir, s, log)
    }

    fn broken_at(log: &AuditLog) -> (u64, String) {
        let r = log.verify().unwrap();
        let b = r
            .first_broken
            .clone()
            .unwrap_or_else(|| panic!("not detected: {r}"));
        (b.seq, r.to_string())
    }

    #[test]
    fn chain_links_and_verifies() {
        let (_d, _s, log) = log_with(5);
        let r = log.verify().unwrap();
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(r.entries, 5);
        assert_eq!(r.checkpoint, Some(5));
        assert!(
            r.to_string().starts_with(&format!(
                "audit log intact: 5 entries, authenticated with key id {}, head ",
                key().id()
            )),
            "{r}"
        );
        let all = log.query(&Filter::default()).unwrap();
        assert_eq!(
            all.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        assert_eq!(all[0].prev, GENESIS);
        for w in all.windows(2) {
            assert_eq!(w[1].prev, w[0].hash);
        }
        for e in &all {
            assert_eq!(e.key, key().id());
            assert_eq!(e.hash, e.compute_mac(&key()));
        }
        assert_eq!(r.head.as_deref(), Some(all[4].hash.as_str()));
        assert_eq!(log.head().unwrap(), Some((5, all[4].hash.clone())));
    }

    #[test]
    fn flipping_any_byte_of_a_stored_entry_is_named() {
        let (_d, s, log) = log_with(5);
        let t = s.table(TABLE).unwrap();
        let orig = t.get(be_key(3)).unwrap().unwrap();
        for i in 0..orig.len() {
            for bit in [0x01u8, 0x20] {
                let mut bad = orig.clone();
                bad[i] ^= bit;
                t.put(be_key(3), &bad).unwrap();
                let (seq, said) = broken_at(&log);
                assert_eq!(seq, 3, "byte {i}: {said}");
            }
        }
        t.put(be_key(3), &orig).unwrap();
        assert!(log.verify().unwrap().is_ok());
    }

    #[test]
    fn an_entry_rewritten_without_the_key_is_found() {
        // Whoever can write the store but lacks the key rewrites entry 2 and
        // re-chains everything after it with MACs under a key of their own.
        let (_d, s, log) = log_with(4);
        let t = s.table(TABLE).unwrap();
        let forger = AuditKey::from_vault_key(&marc_vault::VaultKey::from_bytes([1u8; 32]));
        let mut prev = t.get_json::<Entry>(be_key(1)).unwrap().unwrap().hash;
        for seq in 2..=4 {
            let mut e: Entry = t.get_json(be_key(seq)).unwrap().unwrap();
            if seq == 2 {
                e.actor = "someone-else".into();
            }
            e.prev = prev;
            e.key = key().id().to_string(); // claims the real key's id
            e.hash = e.compute_mac(&forger);
            prev = e.hash.clone();
            t.put_json(be_key(seq), &e).unwrap();
        }
        let (seq, said) = broken_at(&log);
        assert_eq!(seq, 2, "{said}");
        assert!(said.contains("does not match its MAC"), "{said}");
    }

    #[test]
    fn deletion_is_detected() {
        let (_d, s, log) = log_with(5);
        s.table(TABLE).unwrap().remove(be_key(3)).unwrap();
        let (seq, said) = broken_at(&log);
        assert_eq!(seq, 3, "{said}");
        assert!(
            said.starts_with("audit log BROKEN at entry 3: entry 3 is missing"),
            "{said}"
        );

        // removing the first entry
        let (_d, s, log) = log_with(3);
        s.table(TABLE).unwrap().remove(be_key(1)).unwrap();
        assert_eq!(broken_at(&log).0, 1);
    }

    #[test]
    fn cutting_off_the_end_is_named_by_the_checkpoint_and_stops_writers() {
        for keep in [0u64, 2, 4] {
            let (_d, s, log) = log_with(5);
            let t = s.table(TABLE).unwrap();
            for seq in keep + 1..=5 {
                t.remove(be_key(seq)).unwrap();
            }
            let (seq, said) = broken_at(&log);
            assert_eq!(seq, keep + 1, "{said}");
            assert!(
                said.contains(&format!(
                    "entries {}..=5 are missing from the end",
                    keep + 1
                )),
                "{said}"
            );
            // a writer must not paper over the loss with new entries
            let e = AuditLog::open(&s, key()).err().unwrap().to_string();
            assert!(
                e.contains(&format!("damaged at entry {}", keep + 1))
                    && e.contains("Nothing was written"),
                "{e}"
            );
            assert_eq!(t.len() as u64, keep);
        }
    }

    #[test]
    fn a_writer_that_stopped_between_store_and_checkpoint_goes_on() {
        let (_d, s, log) = log_with(3);
        let path = log.checkpoint_path().unwrap().to_path_buf();
        let at3 = std::fs::read(&path).unwrap();
        log.append(entry(4)).unwrap();
        log.append(entry(5)).unwrap();
        // the checkpoint write after entries 4 and 5 never happened
        std::fs::write(&path, &at3).unwrap();
        assert!(log.verify().unwrap().is_ok());
        drop(log);
        let log = AuditLog::open(&s, key()).unwrap();
        assert_eq!(log.verify().unwrap().checkpoint, Some(5));
        assert_eq!(log.append(entry(6)).unwrap().seq, 6);
        assert!(log.verify().unwrap().is_ok());
    }

    #[test]
    fn the_checkpoint_itself_is_checked() {
        let (_d, s, log) = log_with(3);
        let path = log.checkpoint_path().unwrap().to_path_buf();
        let good = std::fs::read(&path).unwrap();
        // changed by one byte
        let mut bad = good.clone();
        let at = bad.iter().position(|b| *b == b'3').unwrap();
        bad[at] = b'2';
        std::fs::write(&path, &bad).unwrap();
        let (seq, said) = broken_at(&log);
        assert_eq!(seq, 0, "{said}");
        assert!(
            said.contains("BROKEN at the checkpoint") && said.contains("damaged"),
            "{said}"
        );
        // deleted
        std::fs::remove_file(&path).unwrap();
        let (_, said) = broken_at(&log);
        assert!(
            said.contains("checkpoint") && said.contains("is missing"),
            "{said}"
        );
        assert!(AuditLog::open(&s, key()).is_err());
        std::fs::write(&path, &good).unwrap();
        assert!(log.verify().unwrap().is_ok());
    }

    #[test]
    fn another_key_is_refused_by_name() {
        let (_d, s, _log) = log_with(2);
        let other = AuditKey::from_vault_key(&marc_vault::VaultKey::from_bytes([9u8; 32]));
        let e = AuditLog::open(&s, other.clone()).err().unwrap().to_string();
        assert!(
            e.contains(key().id()) && e.contains(other.id()) && e.contains("entry 2"),
            "{e}"
        );
        let r = verify(&s, &other, None).unwrap();
        assert_eq!(r.first_broken.unwrap().seq, 1);
    }

    #[test]
    fn reordering_and_renumbering_are_detected() {
        let (_d, s, log) = log_with(5);
        let t = s.table(TABLE).unwrap();
        let e2 = t.get(be_key(2)).unwrap().unwrap();
        let e3 = t.get(be_key(3)).unwrap().unwrap();
        t.put(be_key(2), &e3).unwrap();
        t.put(be_key(3), &e2).unwrap();
        assert_eq!(broken_at(&log).0, 2);

        // even with the key: delete entry 3 and renumber the rest (recomputing
        // their own MACs): the link from 4 (now 3) to entry 2 breaks
        let (_d, s, log) = log_with(5);
        let t = s.table(TABLE).unwrap();
        let mut rest: Vec<Entry> = (4..=5)
            .map(|i| t.get_json(be_key(i)).unwrap().unwrap())
            .collect();
        t.remove(be_key(5)).unwrap();
        for e in &mut rest {
            e.seq -= 1;
            e.hash = e.compute_mac(&key());
            t.put_json(be_key(e.seq), e).unwrap();
        }
        assert_eq!(broken_at(&log).0, 3);
    }

    #[test]
    fn concurrent_appends_stay_one_chain() {
        let (_d, s, log) = log_with(0);
        let other = AuditLog::open(&s, key()).unwrap(); // a second handle on the same store
        let mut hs = Vec::new();
        for t in 0..4 {
            let l = if t % 2 == 0 {
                log.clone()
            } else {
                other.clone()
            };
            hs.push(std::thread::spawn(move || {
                for i in 0..40 {
                    l.append(
                        NewEntry::robot(format!("robot-{t}"), "click").detail(json!({ "i": i })),
                    )
                    .unwrap();
                }
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        let r = log.verify().unwrap();
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(r.entries, 160);
        assert_eq!(r.checkpoint, Some(160));
        for t in 0..4 {
            let f = Filter {
                robot: Some(format!("robot-{t}")),
                ..Default::default()
            };
            assert_eq!(log.query(&f).unwrap().len(), 40);
        }
    }

    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            let log = AuditLog::open(&s, key()).unwrap();
            log.append_batch(vec![
                NewEntry::user("anna", "secret.set"),
                NewEntry::user("anna", "secret.rm"),
            ])
            .unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        let log = AuditLog::open(&s, key()).unwrap();
        let e = log
            .append(NewEntry::system_actor("scheduler", "start"))
            .unwrap();
        assert_eq!(e.seq, 3);
        assert!(log.verify().unwrap().is_ok());
    }

    #[test]
    fn query_filters() {
        let (_d, _s, log) = log_with(6);
        log.append(NewEntry::user("anna", "secret.set").detail(json!({"name": "sbsys/pw"})))
            .unwrap();
        log.append(NewEntry::user("anna", "audit.verify")).unwrap();
        let q = |f: Filter| {
            log.query(&f)
                .unwrap()
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            q(Filter {
                request: Some("req-0".into()),
                ..Default::default()
            }),
            vec![2, 4, 6]
        );
        assert_eq!(
            q(Filter {
                user: Some("anna".into()),
                ..Default::default()
            }),
            vec![7, 8]
        );
        assert_eq!(
            q(Filter {
                robot: Some("anna".into()),
                ..Default::default()
            }),
            Vec::<u64>::new()
        );
        assert_eq!(
            q(Filter {
                actor: Some("anna".into()),
                action: Some("secret.*".into()),
                ..Default::default()
            }),
            vec![7]
        );
        assert_eq!(
            q(Filter {
                robot: Some("aktindsigt-sbsys".into()),
                limit: Some(2),
                ..Default::default()
            }),
            vec![5, 6]
        );
        let t5 = log.query(&Filter::default()).unwrap()[4]
            .time_utc()
            .unwrap();
        assert_eq!(
            q(Filter {
                since: Some(t5),
                limit: Some(1),
                ..Default::default()
            }),
            vec![8]
        );
        assert!(q(Filter {
            until: Some(t5),
            ..Default::default()
        })
        .iter()
        .all(|s| *s < 5));
    }

    #[test]
    fn rendering() {
        let (_d, _s, log) = log_with(2);
        let es = log.query(&Filter::default()).unwrap();
        let t = render_table(&es);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("SEQ"));
        assert!(
            lines[1].contains("aktindsigt-sbsys")
                && lines[1].contains("navigate")
                && lines[1].contains("Søren")
        );
        let j = render_jsonl(&es);
        let back: Vec<Entry> = j
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back, es);
    }

    #[test]
    fn secrets_the_process_knows_are_masked_in_entries() {
        marc_vault::register_secret("pw-Hemmelig-audit");
        let (_d, s, log) = log_with(0);
        let e = log
            .append(
                NewEntry::robot("r", "type")
                    .detail(json!({"args": ["#pw", "pw-Hemmelig-audit"], "pw-Hemmelig-audit": 1})),
            )
            .unwrap();
        assert_eq!(e.detail, json!({"args": ["#pw", "***"], "***": 1}));
        for kv in s.table(TABLE).unwrap().iter() {
            let (_, v) = kv.unwrap();
            assert!(!String::from_utf8_lossy(&v).contains("Hemmelig"));
        }
        assert!(log.verify().unwrap().is_ok());
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let mut a = String::new();
        canonical_json(&json!({"b": 1, "a": {"d": [1, "x"], "c": null}}), &mut a);
        assert_eq!(a, r#"{"a":{"c":null,"d":[1,"x"]},"b":1}"#);
    }
}
