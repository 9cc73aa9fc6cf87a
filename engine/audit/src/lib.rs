//! marc-audit: the append-only, hash-chained log of everything robots and people do.
//!
//! Why it looks like this:
//! - A municipality lets a robot into its case systems only if every action can be
//!   inspected afterwards and the record cannot be quietly edited. Each entry carries
//!   the SHA-256 of the previous one (`prev`) and its own hash over a canonical,
//!   length-prefixed encoding of all its fields; changing, removing or reordering any
//!   stored entry breaks the chain, and [`AuditLog::verify`] names the first broken one.
//! - Entries live in the marc_store table `audit` under big-endian sequence numbers
//!   (1, 2, …), so key order is chain order. A new entry claims its key with
//!   compare-and-swap (absent → entry), so two handles on the same store, or several
//!   threads, can never fork the chain; a mutex in the handle keeps threads of one
//!   process from spinning on the CAS.
//! - A head record (table `audit_head`: last seq and hash) is updated after each append,
//!   so cutting entries off the *end* is detected too. It lags by at most one entry
//!   after a crash, which verify accepts. An attacker who can rewrite the whole store
//!   can rewrite the head as well: publish [`AuditLog::head`] elsewhere (e.g. print it
//!   daily) to anchor the chain outside the machine.
//! - Every append is flushed before it returns (sled loses unflushed writes on an
//!   unclean stop); [`AuditLog::append_batch`] amortises that flush.

use chrono::{DateTime, SecondsFormat, Utc};
use marc_store::{be_key, Store, StoreError, Table};
pub use marc_vault::Redactor;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// The marc_store table holding the entries.
pub const TABLE: &str = "audit";
/// The marc_store table holding the head record.
pub const HEAD_TABLE: &str = "audit_head";
const HEAD_KEY: &[u8] = b"head";
/// `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What can go wrong with the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the audit entry {seq} is unreadable ({reason}); run `marc audit verify` and restore the data directory from backup")]
    Unreadable { seq: u64, reason: String },
    #[error("cannot encode an audit entry: {0}")]
    Encode(String),
    #[error("the audit log is busy: could not append after {0} attempts because other writers kept taking the next sequence number; retry")]
    Contention(u32),
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

/// A stored audit entry. `hash` = SHA-256 of [`canonical_bytes`] (all other fields).
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
    pub hash: String,
}

impl Entry {
    /// The entry's time, parsed.
    pub fn time_utc(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.time)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// Recomputes the hash from the other fields.
    pub fn compute_hash(&self) -> String {
        hex::encode(Sha256::digest(canonical_bytes(self)))
    }
}

/// An entry to append; the log assigns seq, time, prev and hash.
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
    /// An action by a person (actor = user name).
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

/// The result of [`AuditLog::verify`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VerifyReport {
    /// Entries stored.
    pub entries: u64,
    /// The first entry where the chain is broken, if any.
    pub first_broken: Option<BrokenEntry>,
    /// Hash of the last entry (publish it to anchor the chain elsewhere).
    pub head: Option<String>,
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
            None => write!(
                f,
                "audit log intact: {} entries, head {}",
                self.entries,
                self.head.as_deref().unwrap_or("(empty)")
            ),
            Some(b) => write!(
                f,
                "audit log BROKEN at entry {}: {} ({} entries stored)",
                b.seq, b.reason, self.entries
            ),
        }
    }
}

/// Where and why the chain is broken.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BrokenEntry {
    pub seq: u64,
    pub reason: String,
}

/// Which entries [`AuditLog::query`] returns; all set fields must match.
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

#[derive(Serialize, Deserialize)]
struct Head {
    seq: u64,
    hash: String,
}

/// A handle on the audit log of a store. `Clone + Send + Sync`; clones share one lock.
#[derive(Clone)]
pub struct AuditLog {
    store: Store,
    table: Table,
    head: Table,
    lock: Arc<Mutex<()>>,
    redactor: Option<Redactor>,
}

const MAX_CAS_ATTEMPTS: u32 = 1000;

impl AuditLog {
    /// Opens (creating if needed) the audit log in `store`.
    pub fn open(store: &Store) -> Result<AuditLog> {
        Ok(AuditLog {
            store: store.clone(),
            table: store.table(TABLE)?,
            head: store.table(HEAD_TABLE)?,
            lock: Arc::new(Mutex::new(())),
            redactor: None,
        })
    }

    /// Masks every known secret value in the text fields and in every string (and
    /// object key) of `detail` before an entry is hashed and stored: defence in depth
    /// for callers that put a value where a name was meant. Applies to this handle
    /// and clones made from it afterwards.
    pub fn with_redactor(mut self, r: Redactor) -> AuditLog {
        self.redactor = Some(r);
        self
    }

    fn mask(&self, mut e: NewEntry) -> NewEntry {
        if let Some(r) = self.redactor.as_ref().filter(|r| !r.is_empty()) {
            e.actor = r.mask(&e.actor);
            e.action = r.mask(&e.action);
            e.request = e.request.map(|s| r.mask(&s));
            e.session = e.session.map(|s| r.mask(&s));
            e.system = e.system.map(|s| r.mask(&s));
            e.detail = mask_value(r, e.detail);
        }
        e
    }

    /// Appends one entry; durable (flushed) when this returns.
    pub fn append(&self, e: NewEntry) -> Result<Entry> {
        let mut v = self.append_batch(vec![e])?;
        v.pop()
            .ok_or_else(|| AuditError::Encode("no entry appended".into()))
    }

    /// Appends several entries as consecutive links with one flush at the end.
    pub fn append_batch(&self, entries: Vec<NewEntry>) -> Result<Vec<Entry>> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::with_capacity(entries.len());
        for ne in entries {
            out.push(self.append_locked(self.mask(ne))?);
        }
        if let Some(last) = out.last() {
            let newer = match self.head.get_json::<Head>(HEAD_KEY)? {
                Some(h) => h.seq < last.seq,
                None => true,
            };
            if newer {
                self.head.put_json(
                    HEAD_KEY,
                    &Head {
                        seq: last.seq,
                        hash: last.hash.clone(),
                    },
                )?;
            }
            self.store.flush()?;
        }
        Ok(out)
    }

    fn append_locked(&self, ne: NewEntry) -> Result<Entry> {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (seq, prev) = match self.table.last()? {
                None => (1, GENESIS.to_string()),
                Some((k, v)) => {
                    let key_seq = key_to_seq(&k).unwrap_or(0);
                    let last: Entry =
                        serde_json::from_slice(&v).map_err(|e| AuditError::Unreadable {
                            seq: key_seq,
                            reason: e.to_string(),
                        })?;
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
                hash: String::new(),
            };
            entry.hash = entry.compute_hash();
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

    /// Checks the whole chain: every stored entry decodes, sits under its own seq,
    /// follows its predecessor without gaps, links to its hash, hashes to its stored
    /// hash, and the last one agrees with the head record. Names the first broken entry.
    pub fn verify(&self) -> Result<VerifyReport> {
        let entries = self.table.len() as u64;
        let mut prev = GENESIS.to_string();
        let mut broken = None;
        let mut last: Option<Entry> = None;
        for (expected_seq, kv) in (1u64..).zip(self.table.iter()) {
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
                    format!("entry {expected_seq} is missing (removed); the next stored entry is {key_seq}")
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
            if e.seq != key_seq {
                broken = Some(BrokenEntry {
                    seq: key_seq,
                    reason: format!(
                        "the entry stored as {key_seq} says it is entry {} (moved, reordered or changed)",
                        e.seq
                    ),
                });
                break;
            }
            if e.compute_hash() != e.hash {
                broken = Some(BrokenEntry {
                    seq: key_seq,
                    reason: "its content does not match its hash: the entry was changed".into(),
                });
                break;
            }
            if e.prev != prev {
                broken = Some(BrokenEntry {
                    seq: key_seq,
                    reason: format!(
                        "it does not link to entry {}: an entry before it was changed, removed or reordered",
                        key_seq.saturating_sub(1)
                    ),
                });
                break;
            }
            prev = e.hash.clone();
            last = Some(e);
        }
        if broken.is_none() {
            if let Some(h) = self.head.get_json::<Head>(HEAD_KEY).ok().flatten() {
                let last_seq = last.as_ref().map_or(0, |e| e.seq);
                if h.seq > last_seq {
                    broken = Some(BrokenEntry {
                        seq: last_seq + 1,
                        reason: format!(
                            "entries {}..={} were removed from the end of the log (the head record says {})",
                            last_seq + 1,
                            h.seq,
                            h.seq
                        ),
                    });
                } else if let Some(Ok(Some(e))) =
                    (h.seq > 0).then(|| self.table.get_json::<Entry>(be_key(h.seq)))
                {
                    if e.hash != h.hash {
                        broken = Some(BrokenEntry {
                            seq: h.seq,
                            reason: "it does not match the head record: the log was rewritten"
                                .into(),
                        });
                    }
                }
            } else if last.is_some() && self.head.get(HEAD_KEY)?.is_some() {
                broken = Some(BrokenEntry {
                    seq: 0,
                    reason: "the head record is unreadable: it was changed".into(),
                });
            }
        }
        Ok(VerifyReport {
            entries,
            first_broken: broken,
            head: last.map(|e| e.hash),
        })
    }

    /// Entries matching `f`, oldest first (a full scan of the log).
    pub fn query(&self, f: &Filter) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for kv in self.table.iter() {
            let (k, v) = kv?;
            let e: Entry = serde_json::from_slice(&v).map_err(|err| AuditError::Unreadable {
                seq: key_to_seq(&k).unwrap_or(0),
                reason: err.to_string(),
            })?;
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

    /// The last seq and hash, to anchor the chain outside the machine.
    pub fn head(&self) -> Result<Option<(u64, String)>> {
        Ok(match self.table.last()? {
            None => None,
            Some((k, v)) => {
                let e: Entry =
                    serde_json::from_slice(&v).map_err(|err| AuditError::Unreadable {
                        seq: key_to_seq(&k).unwrap_or(0),
                        reason: err.to_string(),
                    })?;
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

fn mask_value(r: &Redactor, v: Value) -> Value {
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

/// The bytes an entry's hash covers: a version tag, then every field except `hash`
/// as `name:len:bytes` (absent options as `name:-`), `detail` as canonical JSON
/// (object keys sorted, no whitespace). Length prefixes make the encoding
/// unambiguous, so no two different entries share these bytes.
pub fn canonical_bytes(e: &Entry) -> Vec<u8> {
    let mut out = b"marc-audit-v1\n".to_vec();
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

    fn log_with(n: u64) -> (Store, AuditLog) {
        let s = Store::temporary().unwrap();
        let log = AuditLog::open(&s).unwrap();
        for i in 1..=n {
            log.append(
                NewEntry::robot("aktindsigt-sbsys", "navigate")
                    .request(format!("req-{}", i % 2))
                    .session("sess-1")
                    .system("sbsys")
                    .detail(json!({"url": format!("https://sbsys.example/case/{i}"), "n": i, "ok": true, "navn": "Søren Ærø"})),
            )
            .unwrap();
        }
        (s, log)
    }

    #[test]
    fn chain_links_and_verifies() {
        let (_s, log) = log_with(5);
        let r = log.verify().unwrap();
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(r.entries, 5);
        assert!(r
            .to_string()
            .starts_with("audit log intact: 5 entries, head "));
        let all = log.query(&Filter::default()).unwrap();
        assert_eq!(
            all.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        assert_eq!(all[0].prev, GENESIS);
        for w in all.windows(2) {
            assert_eq!(w[1].prev, w[0].hash);
        }
        assert_eq!(r.head.as_deref(), Some(all[4].hash.as_str()));
        assert_eq!(log.head().unwrap(), Some((5, all[4].hash.clone())));
    }

    #[test]
    fn flipping_any_byte_of_a_stored_entry_is_named() {
        let (s, log) = log_with(5);
        let t = s.table(TABLE).unwrap();
        let orig = t.get(be_key(3)).unwrap().unwrap();
        for i in 0..orig.len() {
            for bit in [0x01u8, 0x20] {
                let mut bad = orig.clone();
                bad[i] ^= bit;
                t.put(be_key(3), &bad).unwrap();
                let r = log.verify().unwrap();
                let b = r
                    .first_broken
                    .unwrap_or_else(|| panic!("flip {bit:#x} at byte {i} not detected"));
                assert_eq!(b.seq, 3, "byte {i}: {}", b.reason);
            }
        }
        t.put(be_key(3), &orig).unwrap();
        assert!(log.verify().unwrap().is_ok());
    }

    #[test]
    fn deletion_is_detected() {
        let (s, log) = log_with(5);
        let t = s.table(TABLE).unwrap();
        t.remove(be_key(3)).unwrap();
        let r = log.verify().unwrap();
        assert!(
            r.to_string()
                .starts_with("audit log BROKEN at entry 3: entry 3 is missing"),
            "{r}"
        );
        let b = r.first_broken.unwrap();
        assert_eq!(b.seq, 3);
        assert!(b.reason.contains("missing"), "{}", b.reason);

        // removing the first entry
        let (s, log) = log_with(3);
        s.table(TABLE).unwrap().remove(be_key(1)).unwrap();
        assert_eq!(log.verify().unwrap().first_broken.unwrap().seq, 1);

        // emptying the whole log is caught by the head record
        let (s, log) = log_with(3);
        let t = s.table(TABLE).unwrap();
        for i in 1..=3 {
            t.remove(be_key(i)).unwrap();
        }
        let b = log.verify().unwrap().first_broken.unwrap();
        assert_eq!(b.seq, 1, "{}", b.reason);

        // cutting off the end is caught by the head record
        let (s, log) = log_with(5);
        s.table(TABLE).unwrap().remove(be_key(5)).unwrap();
        let b = log.verify().unwrap().first_broken.unwrap();
        assert_eq!(b.seq, 5, "{}", b.reason);
    }

    #[test]
    fn reordering_and_renumbering_are_detected() {
        let (s, log) = log_with(5);
        let t = s.table(TABLE).unwrap();
        let e2 = t.get(be_key(2)).unwrap().unwrap();
        let e3 = t.get(be_key(3)).unwrap().unwrap();
        t.put(be_key(2), &e3).unwrap();
        t.put(be_key(3), &e2).unwrap();
        assert_eq!(log.verify().unwrap().first_broken.unwrap().seq, 2);

        // delete entry 3 and renumber the rest (recomputing their own hashes):
        // the link from 4 (now 3) to entry 2 breaks
        let (s, log) = log_with(5);
        let t = s.table(TABLE).unwrap();
        let mut rest: Vec<Entry> = (4..=5)
            .map(|i| t.get_json(be_key(i)).unwrap().unwrap())
            .collect();
        t.remove(be_key(5)).unwrap();
        for e in &mut rest {
            e.seq -= 1;
            e.hash = e.compute_hash();
            t.put_json(be_key(e.seq), e).unwrap();
        }
        let b = log.verify().unwrap().first_broken.unwrap();
        assert_eq!(b.seq, 3, "{}", b.reason);
    }

    #[test]
    fn concurrent_appends_stay_one_chain() {
        let s = Store::temporary().unwrap();
        let log = AuditLog::open(&s).unwrap();
        let other = AuditLog::open(&s).unwrap(); // separate lock: exercises the CAS path
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
            let log = AuditLog::open(&s).unwrap();
            log.append_batch(vec![
                NewEntry::user("anna", "secret.set"),
                NewEntry::user("anna", "secret.rm"),
            ])
            .unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        let log = AuditLog::open(&s).unwrap();
        let e = log
            .append(NewEntry::system_actor("scheduler", "start"))
            .unwrap();
        assert_eq!(e.seq, 3);
        assert!(log.verify().unwrap().is_ok());
    }

    #[test]
    fn query_filters() {
        let (_s, log) = log_with(6);
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
        let (_s, log) = log_with(2);
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
    fn redactor_masks_entries() {
        let s = Store::temporary().unwrap();
        let log = AuditLog::open(&s)
            .unwrap()
            .with_redactor(Redactor::new(["pw-Hemmelig".to_string()]));
        let e = log
            .append(
                NewEntry::robot("r", "type")
                    .detail(json!({"args": ["#pw", "pw-Hemmelig"], "pw-Hemmelig": 1})),
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
