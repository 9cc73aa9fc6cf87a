//! What the web app needs from the engine: the request service, seen from
//! the web. The engine implements [`Backend`]; the handlers only call it,
//! so they hold no logic of their own (axum's style), and the web app does
//! not depend on robots, stores or queues.
//!
//! Every call names who asks ([`Principal`]): the backend decides what they
//! may see and do, and answers [`WebError::NotFound`] for anything they may
//! not see, so a guessed id reveals nothing.

use marc_request::review::{Review, ReviewChange, ReviewedDoc};
use marc_request::{Consent, Principal, RequestRecord};

/// Why a call failed, as the web app shows it.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not there, or not theirs to see: the same answer for both.
    #[error("not found")]
    NotFound,
    /// Refused, with a reason in Danish for the person who asked.
    #[error("{0}")]
    Refused(String),
    /// Someone else changed it meanwhile; nothing was changed (Danish).
    #[error("{0}")]
    Conflict(String),
    /// The engine failed; the detail goes to the log, never to the page.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A request as someone asks for it on the web.
#[derive(Clone, Debug, Default)]
pub struct NewRequest {
    /// Whose documents (the citizen's CPR number; for a citizen, their own).
    pub cpr: String,
    /// Period as typed (YYYY-MM-DD), empty for open ends.
    pub from: String,
    pub to: String,
    pub topics: Vec<String>,
    /// The consent a third party asks under.
    pub consent: Option<String>,
    /// The form's one-time key: a repeated submission gives the same request.
    pub idempotency_key: String,
}

/// What a citizen grants a third party.
#[derive(Clone, Debug)]
pub struct NewConsent {
    /// The third party's CPR or CVR number, as typed.
    pub grantee: String,
    pub grantee_name: String,
    pub topics: Vec<String>,
    /// Documents from/to (as typed; empty: open).
    pub from: String,
    pub to: String,
    /// Valid from/to (as typed; empty from: today).
    pub valid_from: String,
    pub valid_to: String,
}

/// A stored browser session (see [`crate::sessions`]).
#[derive(Clone, Debug)]
pub struct StoredSession {
    pub data: Vec<u8>,
    /// Unix seconds after which the session is void.
    pub expires: i64,
}

/// The engine's side of the web app. Calls block (the engine's stores are
/// synchronous); the web app runs them off the async threads.
pub trait Backend: Send + Sync + 'static {
    /// The topics a request can be narrowed to.
    fn topics(&self) -> Vec<String>;
    /// Display names of the connected systems, by id.
    fn system_names(&self) -> Vec<(String, String)>;
    /// Checks and queues a request; the receipt goes out by Digital Post.
    fn submit(&self, who: &Principal, req: NewRequest) -> Result<RequestRecord, WebError>;
    /// One request, if `who` may see it.
    fn request(&self, who: &Principal, id: &str) -> Result<RequestRecord, WebError>;
    /// The requests `who` may see, newest first.
    fn requests(&self, who: &Principal) -> Result<Vec<RequestRecord>, WebError>;
    /// The delivered answer (PDF), if `who` may see the request.
    fn answer(&self, who: &Principal, id: &str) -> Result<Vec<u8>, WebError>;
    /// Withdraws a request not yet answered.
    fn cancel(&self, who: &Principal, id: &str) -> Result<RequestRecord, WebError>;
    /// Consents a citizen gave (and, for anyone, consents given to them).
    fn consents_given(&self, who: &Principal) -> Result<Vec<Consent>, WebError>;
    fn consents_received(&self, who: &Principal) -> Result<Vec<Consent>, WebError>;
    fn grant(&self, who: &Principal, c: NewConsent) -> Result<Consent, WebError>;
    fn revoke(&self, who: &Principal, id: &str) -> Result<Consent, WebError>;
    /// Writes an event of the web app (a login, a logout) to the audit log.
    fn audit(
        &self,
        who: &Principal,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), WebError>;
    /// The secret the OpenID client authenticates with.
    fn oidc_client_secret(&self) -> Result<String, WebError>;
    /// A staff member with this name and password (the attempt is audited).
    fn staff_login(&self, user: &str, password: &str) -> Result<Option<Principal>, WebError>;
    /// The caseworkers' list (staff only).
    fn worklist(
        &self,
        who: &Principal,
        q: &marc_request::worklist::Query,
    ) -> Result<marc_request::worklist::Page, WebError>;
    /// A caseworker takes a request, or gives it back.
    fn assign(&self, who: &Principal, id: &str, take: bool) -> Result<RequestRecord, WebError>;
    /// A caseworker approves a held answer and sends it, assembled again
    /// from the review as of revision `seen` (a conflict if it changed).
    fn approve(
        &self,
        who: &Principal,
        id: &str,
        seen: Option<u64>,
    ) -> Result<RequestRecord, WebError>;
    /// A request's documents with their marks and the review's decisions
    /// (caseworkers only).
    fn review(&self, who: &Principal, id: &str) -> Result<(Review, Vec<ReviewedDoc>), WebError>;
    /// A caseworker's change to the review, made on revision `seen`;
    /// returns the new revision.
    fn change_review(
        &self,
        who: &Principal,
        id: &str,
        seen: u64,
        change: ReviewChange,
    ) -> Result<u64, WebError>;
    /// A caseworker moves the deadline, with a reason sent to the requester.
    fn extend_deadline(
        &self,
        who: &Principal,
        id: &str,
        to: chrono::NaiveDate,
        reason: &str,
    ) -> Result<RequestRecord, WebError>;
    /// A caseworker forwards a request's documents to another municipality.
    fn forward(
        &self,
        who: &Principal,
        id: &str,
        cvr: &str,
        name: &str,
    ) -> Result<RequestRecord, WebError>;
    /// A caseworker writes an internal note on a case.
    fn add_note(&self, who: &Principal, id: &str, text: &str) -> Result<RequestRecord, WebError>;
    /// A caseworker refuses access, with a reason sent to the requester.
    fn refuse(&self, who: &Principal, id: &str, reason: &str) -> Result<RequestRecord, WebError>;
    /// The statistics of a period (managers and administrators).
    fn statistics(
        &self,
        who: &Principal,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        per: marc_request::stats::Granularity,
    ) -> Result<marc_request::stats::Stats, WebError>;
    /// Audit log entries, newest first (auditors, managers, administrators).
    fn audit_log(&self, who: &Principal, f: &AuditQuery) -> Result<Vec<AuditRow>, WebError>;
    /// What the administrator's page shows (administrators only).
    fn admin_view(&self, who: &Principal) -> Result<AdminView, WebError>;
    /// Adds an item to one of the administrator's lists (`words`,
    /// `allow_addresses`, `review_departments`), or removes it.
    fn set_list(&self, who: &Principal, list: &str, item: &str, add: bool) -> Result<(), WebError>;
    /// The forms of a word the word list will mark (administrators).
    fn word_preview(&self, who: &Principal, word: &str) -> Result<Vec<String>, WebError>;
    /// Runs one system's robot for one CPR number, never sending anything
    /// (administrators); returns the test run's id.
    fn test_run(&self, who: &Principal, system: &str, cpr: &str) -> Result<String, WebError>;
    /// Sets the working days to the deadline of new requests (administrators).
    fn set_deadline_days(&self, who: &Principal, days: u32) -> Result<(), WebError>;
    /// A staff member's current role (`None`: the account is gone), so a
    /// removed account or a changed role takes effect on the next page.
    fn staff_role(&self, user: &str) -> Result<Option<marc_request::access::Role>, WebError>;
    /// An administrator makes a staff account (the password as typed once)
    /// or removes one (not their own).
    fn staff_add(
        &self,
        who: &Principal,
        user: &str,
        role: &str,
        password: &str,
    ) -> Result<(), WebError>;
    fn staff_remove(&self, who: &Principal, user: &str) -> Result<(), WebError>;
    /// Exempts a citizen from automatic handling, or lifts it (administrators).
    fn set_exempt(&self, who: &Principal, cpr: &str, reason: Option<&str>) -> Result<(), WebError>;
    /// The robot sessions behind a request (caseworkers and auditors).
    fn traces(&self, who: &Principal, id: &str) -> Result<Vec<TraceRow>, WebError>;
    /// One session's trace page (HTML, secrets masked at recording).
    fn trace_page(&self, who: &Principal, id: &str, session: &str) -> Result<String, WebError>;
    /// A screenshot of that session (PNG).
    fn trace_shot(
        &self,
        who: &Principal,
        id: &str,
        session: &str,
        hash: &str,
    ) -> Result<Vec<u8>, WebError>;
    /// A request's full CPR number, audited.
    fn reveal_cpr(&self, who: &Principal, id: &str) -> Result<String, WebError>;
    /// Session storage (kept in the engine's store).
    fn session_load(&self, id: &str) -> Result<Option<StoredSession>, WebError>;
    fn session_save(&self, id: &str, s: StoredSession) -> Result<(), WebError>;
    /// Stores a new session only if no session has that id; says whether
    /// it did (ids are random, so a clash is rare, but never a takeover).
    fn session_create(&self, id: &str, s: StoredSession) -> Result<bool, WebError>;
    fn session_delete(&self, id: &str) -> Result<(), WebError>;
}

/// What the audit page asks for; empty fields do not filter.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// A person: the actor as the log names it (`staff:kim`, `cli:root (uid 0)`),
    /// or a part of it.
    pub person: String,
    /// A robot: the system it works on.
    pub robot: String,
    pub request: String,
    /// An action, or a prefix ending in `*` (`staff.*`).
    pub action: String,
    /// From this day (inclusive).
    pub since: Option<chrono::NaiveDate>,
    /// At most this many (the newest).
    pub limit: usize,
}

/// One audit entry as the page shows it.
#[derive(Clone, Debug)]
pub struct AuditRow {
    pub seq: u64,
    pub time: String,
    pub kind: String,
    pub actor: String,
    pub action: String,
    pub request: String,
    pub system: String,
    pub detail: String,
}

/// The administrator's page: staff accounts, exempt citizens and the lists
/// screening and the control level use.
#[derive(Clone, Debug, Default)]
pub struct AdminView {
    /// (login name, role, created), by name.
    pub staff: Vec<(String, String, String)>,
    pub exempt: Vec<ExemptRow>,
    /// Sensitive words: from marc.toml (fixed here) and added on the page.
    pub words_configured: Vec<String>,
    pub words: Vec<String>,
    /// Allow-listed (institutions') addresses, likewise.
    pub allow_configured: Vec<String>,
    pub allow: Vec<String>,
    /// The departments (topics), and those whose answers always wait for a
    /// caseworker; `review_all`: every answer does (marc.toml).
    pub departments: Vec<String>,
    pub review_departments: Vec<String>,
    pub review_all: bool,
    pub systems: Vec<SystemRow>,
    /// Working days from receipt to the deadline, now and in marc.toml.
    pub deadline_days: u32,
    pub deadline_configured: u32,
    /// The latest test runs, newest first.
    pub test_runs: Vec<TestRunRow>,
}

/// An administrator's test run of a robot, as the page shows it.
#[derive(Clone, Debug)]
pub struct TestRunRow {
    pub id: String,
    pub system: String,
    /// Masked.
    pub cpr: String,
    pub started: String,
    pub state: String,
    pub documents: usize,
    pub error: String,
}

/// A connected system and its robot's record, for the administrator.
#[derive(Clone, Debug)]
pub struct SystemRow {
    pub id: String,
    pub name: String,
    pub departments: String,
    pub max_sessions: u32,
    /// When a request last searched it (empty: never).
    pub last_run: String,
    /// Requests whose robot ran on it, and how many of those completed.
    pub runs: usize,
    pub complete: usize,
    /// Switched off: requests do not search it.
    pub enabled: bool,
}

impl SystemRow {
    /// The share of runs that completed, as the page shows it.
    pub fn success(&self) -> String {
        if self.runs == 0 {
            "–".into()
        } else {
            format!("{:.0} %", self.complete as f64 * 100.0 / self.runs as f64)
        }
    }
}

/// A citizen exempt from automatic handling, as the page shows it.
#[derive(Clone, Debug)]
pub struct ExemptRow {
    pub cpr: String,
    pub reason: String,
    pub by: String,
    pub added: String,
}

/// A robot session behind a request, as the case page lists it.
#[derive(Clone, Debug)]
pub struct TraceRow {
    pub session: String,
    pub system: String,
    pub started: String,
    pub outcome: String,
    pub steps: u64,
}
