//! marc-recording: every robot run recorded step by step, for auditors to replay.
//!
//! Why it looks like this:
//! - An auditor must see what the robot did (command, arguments, result, duration,
//!   URL, rights decision, screen) without ever seeing a credential. The caller masks
//!   arguments with the vault's [`Redactor`]; the recorder masks every text field again
//!   before storing, as defence in depth.
//! - Screenshots are content-addressed (SHA-256 of the PNG after its metadata chunks
//!   are stripped, so no text can ride along in tEXt/iTXt), stored once however many
//!   steps show the same screen, and deflate-compressed when that saves space.
//! - Storage is marc_store: table `sessions` (id → [`SessionMeta`]), table
//!   `session_steps` (id, 0x00, big-endian index → [`Step`]), table `screenshots`
//!   (hash → format byte + bytes). A run that crashes leaves its steps and an
//!   unfinished meta (no `finished`), which replay shows as such.
//! - Replay renderers ([`render_terminal`], [`write_html`]) and the replay comparison
//!   ([`diff_replay`]) are plain functions over a loaded [`Session`].

mod diff;
mod html;
mod png;

pub use diff::{diff_replay, normalize_volatile, Divergence};
pub use html::{html_page, write_html};
pub use marc_vault::Redactor;
pub use png::strip_png;

use chrono::{DateTime, SecondsFormat, Utc};
use marc_store::{be_key, Store, StoreError, Table};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Table of session metadata.
pub const SESSIONS_TABLE: &str = "sessions";
/// Table of steps.
pub const STEPS_TABLE: &str = "session_steps";
/// Table of screenshots.
pub const SCREENSHOTS_TABLE: &str = "screenshots";
/// Longest stored result summary, in characters (after masking).
pub const MAX_RESULT_CHARS: usize = 2000;
/// Longest stored single argument, in characters (after masking).
pub const MAX_ARG_CHARS: usize = 2000;

const FORMAT_RAW: u8 = 0;
const FORMAT_DEFLATE: u8 = 1;

/// What can go wrong while recording or replaying.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no recorded session {0:?}; list them with `marc replay --list`")]
    NoSession(String),
    #[error("a session {0:?} is already recorded; use a new session id")]
    SessionExists(String),
    #[error("invalid session id {id:?}: {reason}")]
    BadId { id: String, reason: String },
    #[error("the session {0:?} is finished; start a new recorder for another run")]
    Finished(String),
    #[error("the screenshot is not a usable PNG: {0}")]
    BadPng(String),
    #[error("no screenshot {0} in the data directory (it was removed or never stored)")]
    NoScreenshot(String),
    #[error("the stored screenshot {hash} is damaged ({reason})")]
    DamagedScreenshot { hash: String, reason: String },
    #[error("cannot write the replay page into {path}: {reason}")]
    Write {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("cannot encode a recording record: {0}")]
    Encode(String),
}

pub type Result<T> = std::result::Result<T, RecordingError>;

/// What a session is: who ran, against what, when, and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    pub id: String,
    pub robot: String,
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default)]
    pub request: Option<String>,
    /// RFC 3339 UTC; set by [`Recorder::start`] when empty.
    #[serde(default)]
    pub started: String,
    /// RFC 3339 UTC; `None` while running or after a crash.
    #[serde(default)]
    pub finished: Option<String>,
    /// e.g. `ok`, `failed: …`, `refused: …`; `None` while running or after a crash.
    #[serde(default)]
    pub outcome: Option<String>,
    /// Number of steps (maintained by the recorder).
    #[serde(default)]
    pub steps: u64,
    /// For a `--execute` replay: the session it re-ran.
    #[serde(default)]
    pub replay_of: Option<String>,
}

impl SessionMeta {
    pub fn new(id: impl Into<String>, robot: impl Into<String>) -> SessionMeta {
        SessionMeta {
            id: id.into(),
            robot: robot.into(),
            system: None,
            request: None,
            started: String::new(),
            finished: None,
            outcome: None,
            steps: 0,
            replay_of: None,
        }
    }
    pub fn system(mut self, s: impl Into<String>) -> Self {
        self.system = Some(s.into());
        self
    }
    pub fn request(mut self, r: impl Into<String>) -> Self {
        self.request = Some(r.into());
        self
    }
    pub fn replay_of(mut self, id: impl Into<String>) -> Self {
        self.replay_of = Some(id.into());
        self
    }

    /// Like [`SessionMeta::replay_of`], when there may be nothing to set.
    pub fn replay_of_opt(mut self, id: Option<&str>) -> Self {
        self.replay_of = id.map(str::to_string);
        self
    }
}

/// One recorded step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// 1, 2, … in the order recorded.
    pub index: u64,
    /// When the step started (RFC 3339 UTC, ms): recording time minus duration.
    pub time: String,
    pub command: String,
    pub args: Vec<String>,
    /// Result summary, masked and truncated to [`MAX_RESULT_CHARS`].
    pub result: String,
    pub ok: bool,
    pub duration_ms: u64,
    #[serde(default)]
    pub url: Option<String>,
    /// `allowed` or `refused: reason`.
    #[serde(default)]
    pub rights: Option<String>,
    /// Content hash of the screenshot taken after the step.
    #[serde(default)]
    pub screenshot: Option<String>,
}

/// A step as the runtime reports it; the recorder adds index and time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewStep {
    pub command: String,
    pub args: Vec<String>,
    pub result: String,
    pub ok: bool,
    pub duration_ms: u64,
    pub url: Option<String>,
    pub rights: Option<String>,
    pub screenshot: Option<String>,
}

impl NewStep {
    /// A successful step with this command and arguments.
    pub fn new(command: impl Into<String>, args: Vec<String>) -> NewStep {
        NewStep {
            command: command.into(),
            args,
            ok: true,
            ..Default::default()
        }
    }
}

/// A loaded session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub meta: SessionMeta,
    pub steps: Vec<Step>,
}

struct State {
    meta: SessionMeta,
    next_index: u64,
    finished: bool,
}

struct Inner {
    store: Store,
    sessions: Table,
    steps: Table,
    shots: Table,
    redactor: std::sync::RwLock<Redactor>,
    state: Mutex<State>,
    screenshots_on: AtomicBool,
    flush_each_step: AtomicBool,
}

/// Records one session. `Clone + Send + Sync`: clones append to the same session.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

/// Checks a session id: 1–128 characters of ASCII letters, digits and `_ - . :`.
pub fn validate_session_id(id: &str) -> Result<()> {
    let bad = |r: &str| {
        Err(RecordingError::BadId {
            id: id.chars().take(128).collect(),
            reason: r.into(),
        })
    };
    if id.is_empty() {
        return bad("it is empty");
    }
    if id.len() > 128 {
        return bad("it is longer than 128 characters");
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
    {
        return bad("use only letters, digits and _ - . :");
    }
    Ok(())
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn step_key(id: &str, index: u64) -> Vec<u8> {
    let mut k = id.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&be_key(index));
    k
}

fn truncate_chars(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s,
        Some((cut, _)) => {
            let total = s.chars().count();
            format!("{}… [{} more characters]", &s[..cut], total - max)
        }
    }
}

impl Recorder {
    /// Starts recording a session (its id must be new). The meta is stored and
    /// flushed at once, so even a run that crashes at its first step is listed.
    pub fn start(store: &Store, mut meta: SessionMeta, redactor: Redactor) -> Result<Recorder> {
        validate_session_id(&meta.id)?;
        let sessions = store.table(SESSIONS_TABLE)?;
        if meta.started.is_empty() {
            meta.started = now();
        }
        meta.robot = redactor.mask(&meta.robot);
        meta.system = meta.system.map(|s| redactor.mask(&s));
        meta.request = meta.request.map(|s| redactor.mask(&s));
        meta.finished = None;
        meta.outcome = None;
        meta.steps = 0;
        let bytes = serde_json::to_vec(&meta).map_err(|e| RecordingError::Encode(e.to_string()))?;
        if !sessions.compare_and_swap(meta.id.as_bytes(), None, Some(&bytes))? {
            return Err(RecordingError::SessionExists(meta.id));
        }
        store.flush()?;
        Ok(Recorder {
            inner: Arc::new(Inner {
                store: store.clone(),
                sessions,
                steps: store.table(STEPS_TABLE)?,
                shots: store.table(SCREENSHOTS_TABLE)?,
                redactor: std::sync::RwLock::new(redactor),
                state: Mutex::new(State {
                    meta,
                    next_index: 1,
                    finished: false,
                }),
                screenshots_on: AtomicBool::new(true),
                flush_each_step: AtomicBool::new(true),
            }),
        })
    }

    /// Masks one more value from now on (e.g. a one-time code the robot received).
    pub fn add_secret(&self, value: impl Into<String>) {
        self.inner
            .redactor
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .add(value);
    }

    fn redactor(&self) -> std::sync::RwLockReadGuard<'_, Redactor> {
        self.inner
            .redactor
            .read()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The session id.
    pub fn id(&self) -> String {
        self.lock().meta.id.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a step (masking every text field) and returns its index. Flushed
    /// before returning unless [`Recorder::set_flush_each_step`] turned that off.
    pub fn step(&self, s: NewStep) -> Result<u64> {
        let guard = self.redactor();
        let r = &*guard;
        let mut st = self.lock();
        if st.finished {
            return Err(RecordingError::Finished(st.meta.id.clone()));
        }
        let start =
            Utc::now() - chrono::Duration::milliseconds(s.duration_ms.min(i64::MAX as u64) as i64);
        let step = Step {
            index: st.next_index,
            time: start.to_rfc3339_opts(SecondsFormat::Millis, true),
            command: r.mask(&s.command),
            args: s
                .args
                .iter()
                .map(|a| truncate_chars(r.mask(a), MAX_ARG_CHARS))
                .collect(),
            result: truncate_chars(r.mask(&s.result), MAX_RESULT_CHARS),
            ok: s.ok,
            duration_ms: s.duration_ms,
            url: s.url.map(|u| r.mask(&u)),
            rights: s.rights.map(|x| r.mask(&x)),
            screenshot: s
                .screenshot
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())),
        };
        let bytes = serde_json::to_vec(&step).map_err(|e| RecordingError::Encode(e.to_string()))?;
        self.inner
            .steps
            .put(step_key(&st.meta.id, step.index), bytes)?;
        st.next_index += 1;
        st.meta.steps = step.index;
        if self.inner.flush_each_step.load(Ordering::Relaxed) {
            self.inner.store.flush()?;
        }
        Ok(step.index)
    }

    /// Stores a screenshot (metadata stripped, deduplicated, compressed) and returns
    /// its content hash to put in the next [`NewStep::screenshot`]. Returns `None`
    /// when screenshots are turned off.
    pub fn screenshot(&self, png: &[u8]) -> Result<Option<String>> {
        if !self.screenshots_enabled() {
            return Ok(None);
        }
        store_screenshot(&self.inner.shots, png).map(Some)
    }

    /// Turns screenshots on or off for the rest of the session.
    pub fn set_screenshots(&self, on: bool) {
        self.inner.screenshots_on.store(on, Ordering::Relaxed);
    }

    /// Whether to take screenshots at all (lets the runtime skip the capture).
    pub fn screenshots_enabled(&self) -> bool {
        self.inner.screenshots_on.load(Ordering::Relaxed)
    }

    /// Flush after every step (default) or only at [`Recorder::finish`]; sled also
    /// flushes on its own every 500 ms, so at most that much of a crashed run is lost.
    pub fn set_flush_each_step(&self, on: bool) {
        self.inner.flush_each_step.store(on, Ordering::Relaxed);
    }

    /// Ends the session with an outcome (`ok`, `failed: …`, `refused: …`) and flushes.
    /// Calling it again is a no-op, so error paths may call it freely.
    pub fn finish(&self, outcome: &str) -> Result<()> {
        let outcome = self.redactor().mask(outcome);
        let mut st = self.lock();
        if st.finished {
            return Ok(());
        }
        st.meta.finished = Some(now());
        st.meta.outcome = Some(outcome);
        self.inner
            .sessions
            .put_json(st.meta.id.as_bytes(), &st.meta)?;
        self.inner.store.flush()?;
        st.finished = true;
        Ok(())
    }
}

/// Stores a screenshot in `table` and returns its hash; see [`Recorder::screenshot`].
fn store_screenshot(table: &Table, png: &[u8]) -> Result<String> {
    let clean = strip_png(png).map_err(RecordingError::BadPng)?;
    let hash = hex::encode(Sha256::digest(&clean));
    if table.get(hash.as_bytes())?.is_some() {
        return Ok(hash);
    }
    let mut enc = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(clean.len()),
        flate2::Compression::fast(),
    );
    let compressed = enc.write_all(&clean).and_then(|_| enc.finish()).ok();
    let mut rec = Vec::with_capacity(clean.len() + 1);
    match compressed {
        Some(c) if c.len() < clean.len() => {
            rec.push(FORMAT_DEFLATE);
            rec.extend_from_slice(&c);
        }
        _ => {
            rec.push(FORMAT_RAW);
            rec.extend_from_slice(&clean);
        }
    }
    table.compare_and_swap(hash.as_bytes(), None, Some(&rec))?;
    Ok(hash)
}

/// All recorded sessions, oldest first.
pub fn list_sessions(store: &Store) -> Result<Vec<SessionMeta>> {
    let mut v: Vec<SessionMeta> = store
        .table(SESSIONS_TABLE)?
        .scan_json(b"")?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    v.sort_by(|a, b| a.started.cmp(&b.started).then_with(|| a.id.cmp(&b.id)));
    Ok(v)
}

/// A session with its steps in order. For a crashed run, `meta.steps` is corrected
/// to the number of steps actually stored.
pub fn load_session(store: &Store, id: &str) -> Result<Session> {
    validate_session_id(id)?;
    let mut meta: SessionMeta = store
        .table(SESSIONS_TABLE)?
        .get_json(id.as_bytes())?
        .ok_or_else(|| RecordingError::NoSession(id.into()))?;
    let mut prefix = id.as_bytes().to_vec();
    prefix.push(0);
    let steps: Vec<Step> = store
        .table(STEPS_TABLE)?
        .scan_json(&prefix)?
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    meta.steps = steps.len() as u64;
    Ok(Session { meta, steps })
}

/// The PNG bytes of a stored screenshot (metadata already stripped).
pub fn load_screenshot(store: &Store, hash: &str) -> Result<Vec<u8>> {
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(RecordingError::NoScreenshot(
            hash.chars().take(80).collect(),
        ));
    }
    let rec = store
        .table(SCREENSHOTS_TABLE)?
        .get(hash.as_bytes())?
        .ok_or_else(|| RecordingError::NoScreenshot(hash.into()))?;
    let damaged = |reason: String| RecordingError::DamagedScreenshot {
        hash: hash.into(),
        reason,
    };
    let png = match rec.first() {
        Some(&FORMAT_RAW) => rec[1..].to_vec(),
        Some(&FORMAT_DEFLATE) => {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(&rec[1..])
                .read_to_end(&mut out)
                .map_err(|e| damaged(e.to_string()))?;
            out
        }
        _ => return Err(damaged("unknown format".into())),
    };
    if hex::encode(Sha256::digest(&png)) != hash {
        return Err(damaged("its content does not match its hash".into()));
    }
    Ok(png)
}

/// Number of distinct screenshots stored and their total stored bytes.
pub fn screenshot_stats(store: &Store) -> Result<(usize, u64)> {
    let t = store.table(SCREENSHOTS_TABLE)?;
    let mut n = 0;
    let mut bytes = 0u64;
    for kv in t.iter() {
        let (_, v) = kv?;
        n += 1;
        bytes += v.len() as u64;
    }
    Ok((n, bytes))
}

/// Duration between two RFC 3339 times, in ms.
fn span_ms(a: &str, b: &str) -> Option<i64> {
    let a = DateTime::parse_from_rfc3339(a).ok()?;
    let b = DateTime::parse_from_rfc3339(b).ok()?;
    Some((b - a).num_milliseconds())
}

/// The outcome as shown to people: a crashed run has none.
pub fn outcome_text(meta: &SessionMeta) -> String {
    match (&meta.outcome, &meta.finished) {
        (Some(o), _) => o.clone(),
        (None, _) => "unfinished (still running, or marc stopped during the run)".into(),
    }
}

/// Whether a step was refused by the rights profile.
pub fn is_refused(s: &Step) -> bool {
    s.rights
        .as_deref()
        .is_some_and(|r| r.starts_with("refused"))
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let mut t: String = flat.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A table of sessions for `marc replay` without a session id.
pub fn render_session_list(sessions: &[SessionMeta]) -> String {
    let mut out = format!(
        "{:<36}  {:<24}  {:<20}  {:<24}  {:>6}  OUTCOME\n",
        "SESSION", "ROBOT", "REQUEST", "STARTED", "STEPS"
    );
    for m in sessions {
        let _ = writeln!(
            out,
            "{:<36}  {:<24}  {:<20}  {:<24}  {:>6}  {}",
            one_line(&m.id, 36),
            one_line(&m.robot, 24),
            one_line(m.request.as_deref().unwrap_or("-"), 20),
            one_line(&m.started, 24),
            m.steps,
            one_line(&outcome_text(m), 80)
        );
    }
    out
}

/// A step-by-step text view for `marc replay SESSION`.
pub fn render_terminal(session: &Session) -> String {
    let m = &session.meta;
    let mut out = String::new();
    let _ = writeln!(out, "session  {}", m.id);
    let _ = writeln!(out, "robot    {}", m.robot);
    if let Some(s) = &m.system {
        let _ = writeln!(out, "system   {s}");
    }
    if let Some(r) = &m.request {
        let _ = writeln!(out, "request  {r}");
    }
    if let Some(r) = &m.replay_of {
        let _ = writeln!(out, "replay of {r}");
    }
    let _ = writeln!(out, "started  {}", m.started);
    match &m.finished {
        Some(f) => {
            let took = span_ms(&m.started, f)
                .map(|ms| format!(" ({:.1} s)", ms as f64 / 1000.0))
                .unwrap_or_default();
            let _ = writeln!(out, "finished {f}{took}");
        }
        None => {
            let _ = writeln!(out, "finished -");
        }
    }
    let _ = writeln!(out, "outcome  {}", outcome_text(m));
    let _ = writeln!(out, "steps    {}", session.steps.len());
    for s in &session.steps {
        out.push('\n');
        let status = if is_refused(s) {
            "REFUSED"
        } else if s.ok {
            "ok"
        } else {
            "FAILED"
        };
        let time = DateTime::parse_from_rfc3339(&s.time)
            .map(|t| t.with_timezone(&Utc).format("%H:%M:%S%.3f").to_string())
            .unwrap_or_else(|_| s.time.clone());
        let args = s
            .args
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "#{:<4} {time}  {:>7} ms  {status:<7}  {}({})",
            s.index,
            s.duration_ms,
            one_line(&s.command, 40),
            one_line(&args, 200)
        );
        if !s.result.is_empty() {
            let _ = writeln!(out, "       result  {}", one_line(&s.result, 300));
        }
        if let Some(u) = &s.url {
            let _ = writeln!(out, "       url     {}", one_line(u, 300));
        }
        if let Some(r) = &s.rights {
            let _ = writeln!(out, "       rights  {}", one_line(r, 300));
        }
        if let Some(h) = &s.screenshot {
            let _ = writeln!(out, "       screen  {}", &h[..h.len().min(16)]);
        }
    }
    out
}

#[cfg(test)]
mod tests;
