//! The request service: the one API under both edges (the `marc` command
//! line and the web app) — submit, status, cancel, resume, deliver — and
//! the jobs that carry a request through its stages.
//!
//! A request's work is split into jobs: one robot run per (request, system)
//! and one finishing job (screening, assembly, leak check, delivery) once
//! every system has answered. `marc run` executes them in this process;
//! `marc serve` puts them on a queue that a pool of workers takes from
//! ([`pool`]). The store is the truth: a job only ever moves a request on
//! with a compare-and-swap, so a job run twice, or two jobs of one request
//! at once, cannot lose or duplicate work.

pub mod pool;
pub mod queue;
pub mod staff;
pub mod web;

use crate::pipeline::{self, RequestSpec, RobotRunner, Settings};
use anyhow::{anyhow, Result};
use marc_audit::NewEntry;
use marc_model::{Cpr, Period};
use marc_request::review::{Action, Review, ReviewChange, ReviewError, ReviewedDoc};
use marc_request::{
    Consent, ConsentError, Party, Principal, RequestRecord, RequestState, RunStatus,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One unit of work on the queue.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Job {
    /// Run one system's robot for a request.
    Robot { request: String, system: String },
    /// Screen, assemble, check and (if nothing holds it) deliver.
    Finish { request: String },
}

impl Job {
    pub fn request(&self) -> &str {
        match self {
            Job::Robot { request, .. } | Job::Finish { request } => request,
        }
    }
}

/// What someone asks for, before it is checked.
#[derive(Clone, Debug, Default)]
pub struct Submission {
    /// Whose documents: the citizen's CPR number as typed.
    pub cpr: String,
    /// First and last day as typed (YYYY-MM-DD); empty: open.
    pub from: String,
    pub to: String,
    pub topics: Vec<String>,
    /// Systems to search; empty: every system covering the topics.
    pub systems: Vec<String>,
    /// The citizen's own name and address (never redacted).
    pub name: String,
    pub address: String,
    /// A consent a third party asks under.
    pub consent: Option<String>,
    /// Who asked, as shown, when staff record a request for someone else
    /// (default: the citizen's name).
    pub requester: Option<String>,
    /// A key that makes a repeated submission (a double click, a reloaded
    /// form) return the first request instead of making a second one.
    pub idempotency_key: Option<String>,
}

/// Why a submission or an action was refused. The messages are for the
/// operator; [`ServiceError::dansk`] is what a citizen reads.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    BadCpr(String),
    #[error("{0}")]
    BadPeriod(String),
    #[error("unknown topic {0:?}; the topics are: {1}")]
    UnknownTopic(String, String),
    #[error("no connected system covers the topics asked for")]
    NoSystem,
    #[error("no consent {0:?} for you")]
    NoConsent(String),
    #[error("the consent does not allow this request: {0}")]
    Consent(#[from] ConsentError),
    #[error("not found")]
    NotFound,
    #[error("request {id} is {state}; {what}")]
    WrongState {
        id: String,
        state: &'static str,
        what: &'static str,
    },
    #[error("say why: the requester is told the reason")]
    NoReason,
    #[error("the answer cannot be sent: {0}")]
    CannotDeliver(String),
    #[error(transparent)]
    Review(#[from] ReviewError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    /// The refusal as a citizen or third party reads it, in Danish. Internal
    /// errors say only that something went wrong: their detail is in the log.
    pub fn dansk(&self) -> String {
        match self {
            ServiceError::BadCpr(_) => {
                "CPR-nummeret er ikke gyldigt. Skriv det som DDMMÅÅ-XXXX.".into()
            }
            ServiceError::BadPeriod(e) => format!("Perioden kan ikke bruges: {e}"),
            ServiceError::UnknownTopic(t, _) => format!("Emnet »{t}« findes ikke."),
            ServiceError::NoSystem => "Ingen af kommunens systemer dækker de valgte emner.".into(),
            ServiceError::NoConsent(_) => {
                "Samtykket findes ikke, eller det er ikke givet til dig.".into()
            }
            ServiceError::Consent(e) => e.dansk(),
            ServiceError::NotFound => "Siden findes ikke.".into(),
            ServiceError::WrongState { .. } => {
                "Det kan ikke lade sig gøre for anmodningen, som den står nu.".into()
            }
            ServiceError::NoReason => {
                "Skriv en begrundelse: den sendes til den, der har bedt om aktindsigt.".into()
            }
            ServiceError::CannotDeliver(why) => format!("Svaret kan ikke sendes: {why}"),
            ServiceError::Review(ReviewError::Conflict { by, .. }) => format!(
                "{by} har ændret sagen, mens du havde den åben. Din ændring er ikke gemt, og intet \
                 er sendt; se sagen igen, og gentag det, hvis det stadig er rigtigt."
            ),
            ServiceError::Review(ReviewError::Invalid(why)) => {
                format!("Det kunne ikke lade sig gøre: {why}")
            }
            ServiceError::Internal(_) => {
                "Der skete en fejl hos kommunen. Prøv igen senere; intet er gået tabt.".into()
            }
        }
    }
}

/// The caseworker's name, when `who` is one: only caseworkers decide.
fn caseworker(who: &Principal) -> std::result::Result<&str, ServiceError> {
    match who {
        Principal::Staff {
            user,
            role: marc_request::access::Role::Caseworker,
        } => Ok(user),
        _ => Err(ServiceError::NotFound),
    }
}

/// Only administrators configure.
fn admin(who: &Principal) -> std::result::Result<(), ServiceError> {
    match who {
        Principal::Staff {
            role: marc_request::access::Role::Admin,
            ..
        } => Ok(()),
        _ => Err(ServiceError::NotFound),
    }
}

/// The service over one installation's settings.
#[derive(Clone)]
pub struct RequestService {
    pub settings: Arc<Settings>,
    /// The topics a request can name (the municipality's departments).
    pub topics: Vec<String>,
    /// The systems requests search; empty: every robot in the robots directory.
    pub connected: Vec<String>,
}

impl RequestService {
    pub fn new(settings: Settings, topics: Vec<String>) -> RequestService {
        RequestService {
            settings: Arc::new(settings),
            topics,
            connected: Vec::new(),
        }
    }

    /// Checks a submission and creates the request: receipt sent, exemption
    /// checked, all audited. `who` is the citizen, the third party or the
    /// operator; the request's jobs are [`RequestService::jobs`].
    pub fn submit(
        &self,
        who: &Principal,
        sub: Submission,
    ) -> std::result::Result<RequestRecord, ServiceError> {
        let today = chrono::Local::now().date_naive();
        let cpr: Cpr = sub
            .cpr
            .parse()
            .map_err(|e: marc_model::CprError| ServiceError::BadCpr(e.to_string()))?;
        let opt = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string);
        let (from, to) = (opt(&sub.from), opt(&sub.to));
        let open = from.is_none() && to.is_none();
        let period = Period::parse(from.as_deref(), to.as_deref(), today)
            .map_err(|e| ServiceError::BadPeriod(e.to_string()))?;
        if period.to > today {
            return Err(ServiceError::BadPeriod(format!(
                "the period ends in the future ({}); it can end today at the latest",
                period.to
            )));
        }
        let mut topics: Vec<String> = Vec::new();
        for t in sub
            .topics
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
        {
            let known = self
                .topics
                .iter()
                .find(|k| k.eq_ignore_ascii_case(t))
                .ok_or_else(|| ServiceError::UnknownTopic(t.to_string(), self.topics.join(", ")))?;
            if !topics.contains(known) {
                topics.push(known.clone());
            }
        }
        // Who asks decides whose documents may be asked for.
        let (requested_by, consent, topics, period, requester) = match who {
            Principal::Citizen { cpr: own, name } => {
                if own != &cpr.formatted() {
                    return Err(ServiceError::NotFound);
                }
                (None, None, topics, period, name.clone())
            }
            Principal::ThirdParty { party, name } => {
                let id = sub
                    .consent
                    .clone()
                    .ok_or_else(|| ServiceError::NoConsent(String::new()))?;
                let c = consents::get(&self.settings.store, &id)?
                    .filter(|c| c.citizen_cpr == cpr.formatted() && &c.grantee == party)
                    .ok_or_else(|| ServiceError::NoConsent(id.clone()))?;
                let asked = (!open).then_some(period);
                let refused = |e: ConsentError| {
                    let _ = self.settings.audit.append(
                        NewEntry::user(who.actor(), "consent.refused")
                            .detail(serde_json::json!({"consent": id, "reason": e.to_string()})),
                    );
                    ServiceError::Consent(e)
                };
                let (topics, period) = c.narrow(party, &topics, asked, today).map_err(refused)?;
                (Some(party.clone()), Some(id), topics, period, name.clone())
            }
            Principal::Staff { .. } => {
                let requester = sub.requester.clone().unwrap_or_else(|| sub.name.clone());
                (None, None, topics, period, requester)
            }
        };
        let systems = self.systems_for(&sub.systems, &topics)?;
        let spec = RequestSpec {
            cpr,
            period,
            systems: systems.clone(),
            topics,
            name: sub.name.clone(),
            address: sub.address.clone(),
            requester,
            requested_by,
            consent,
        };
        let store = &self.settings.store;
        let id = crate::requests::new_id(store, chrono::Datelike::year(&chrono::Utc::now()))?;
        if let Some(key) = &sub.idempotency_key {
            if let Some(first) = crate::requests::claim_submission(store, key, &id)? {
                // The same form again (a double click, a reload): the first
                // submission's request answers it.
                return self.wait_for(&first);
            }
        }
        let created =
            pipeline::create_request(&self.settings, &spec, &systems, &who.actor(), Some(id));
        let rec = match (created, &sub.idempotency_key) {
            (Ok(rec), _) => rec,
            (Err(e), Some(key)) => {
                // Let the form be sent again.
                crate::requests::release_submission(store, key)?;
                return Err(e.into());
            }
            (Err(e), None) => return Err(e.into()),
        };
        pipeline::send_receipt(&self.settings, &rec)?;
        Ok(pipeline::check_exemption(&self.settings, rec)?)
    }

    /// The request an earlier identical submission is creating: it may be
    /// a moment away from being stored.
    fn wait_for(&self, id: &str) -> std::result::Result<RequestRecord, ServiceError> {
        for _ in 0..50 {
            if let Some(r) = crate::requests::load(&self.settings.store, id)? {
                return Ok(r);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err(ServiceError::Internal(anyhow!(
            "an earlier submission of the same form was to make request {id}, which never appeared"
        )))
    }

    /// The systems a request searches: those asked for (checked), else every
    /// system whose departments cover the topics.
    fn systems_for(
        &self,
        wanted: &[String],
        topics: &[String],
    ) -> std::result::Result<Vec<String>, ServiceError> {
        let all = crate::robot::select(
            crate::robot::load_all(&self.settings.robots_dir).map_err(anyhow::Error::from)?,
            &self.connected,
        )
        .map_err(anyhow::Error::from)?;
        let chosen = crate::robot::select(all, wanted).map_err(anyhow::Error::from)?;
        // Systems an administrator switched off are not searched meanwhile
        // (the answer's cover names the systems searched).
        let off = crate::pipeline::lists::get(
            &self.settings.store,
            crate::pipeline::lists::List::DisabledSystems,
        )?;
        let systems: Vec<String> = chosen
            .into_iter()
            .filter(|m| !off.contains(&m.system))
            .filter(|m| {
                topics.is_empty()
                    || m.departments.is_empty()
                    || m.departments.iter().any(|d| topics.contains(d))
            })
            .map(|m| m.system)
            .collect();
        if systems.is_empty() {
            return Err(ServiceError::NoSystem);
        }
        Ok(systems)
    }

    /// A request as `who` may see it; one they may not see is not found.
    pub fn status(
        &self,
        who: &Principal,
        id: &str,
    ) -> std::result::Result<RequestRecord, ServiceError> {
        match crate::requests::load(&self.settings.store, id)? {
            Some(r) if marc_request::may_view(who, &r) => Ok(r),
            _ => Err(ServiceError::NotFound),
        }
    }

    /// The requests `who` may see, newest first (not an administrator's
    /// test runs, nor a citizen's own withdrawn requests).
    pub fn requests_of(&self, who: &Principal) -> Result<Vec<RequestRecord>> {
        Ok(crate::requests::visible_to(&self.settings.store, who)?
            .into_iter()
            .filter(|r| {
                r.state != RequestState::Cancelled
                    || r.requested_by.is_some()
                    || matches!(who, Principal::Staff { .. })
            })
            .collect())
    }

    /// Changes a request that is still open; a closed one (sent,
    /// withdrawn, refused) is refused with `what`.
    fn update_open(
        &self,
        id: &str,
        what: &'static str,
        mut change: impl FnMut(&mut RequestRecord),
    ) -> std::result::Result<RequestRecord, ServiceError> {
        let (rec, open) = crate::requests::update(&self.settings.store, id, |r| {
            if r.state.is_closed() {
                return Ok(false);
            }
            change(r);
            Ok(true)
        })?;
        if !open {
            return Err(ServiceError::WrongState {
                id: rec.id,
                state: rec.state.as_str(),
                what,
            });
        }
        Ok(rec)
    }

    /// The caseworkers' list: every request, searched, filtered, sorted and
    /// paged ([`marc_request::worklist`]). Staff who may see cases only.
    pub fn worklist(
        &self,
        who: &Principal,
        q: &marc_request::worklist::Query,
    ) -> std::result::Result<marc_request::worklist::Page, ServiceError> {
        // Those who see cases (caseworkers and auditors, [`marc_request::may_view`]).
        if !matches!(
            who,
            Principal::Staff {
                role: marc_request::access::Role::Caseworker | marc_request::access::Role::Auditor,
                ..
            }
        ) {
            return Err(ServiceError::NotFound);
        }
        // Chosen from the fields the list reads; only the page is read whole.
        Ok(crate::requests::worklist(&self.settings.store, who, q)?)
    }

    /// A caseworker approves a request's answer and sends it (a held
    /// request, or one whose delivery failed). The answer is assembled
    /// again from screening and the review's decisions as of revision
    /// `seen` (what the caseworker's page showed; a review changed since is
    /// a conflict, and nothing is sent), checked for leaks once more, and
    /// delivered: a request that is incomplete or leaks is never sent.
    pub fn approve(
        &self,
        who: &Principal,
        id: &str,
        seen: Option<u64>,
    ) -> std::result::Result<RequestRecord, ServiceError> {
        let user = caseworker(who)?;
        let rec = self.status(who, id)?;
        if rec.test_run {
            return Err(ServiceError::WrongState {
                id: rec.id,
                state: rec.state.as_str(),
                what: "an administrator's test run is never sent",
            });
        }
        if !matches!(
            rec.state,
            RequestState::HeldForReview | RequestState::Ready | RequestState::DeliveryFailed
        ) {
            return Err(ServiceError::WrongState {
                id: rec.id,
                state: rec.state.as_str(),
                what: "only an answer waiting for a caseworker is approved",
            });
        }
        let review = pipeline::review::load(&self.settings.store, id)?;
        if let Some(seen) = seen {
            review.check(seen)?;
        }
        self.settings
            .audit
            .append(
                NewEntry::user(who.actor(), "request.approved")
                    .request(id)
                    .detail(serde_json::json!({"review_revision": review.revision})),
            )
            .map_err(anyhow::Error::from)?;
        let out = pipeline::approve(&self.settings, rec, &review, user)
            .map_err(|e| ServiceError::CannotDeliver(format!("{e:#}")))?;
        if out.record.state != RequestState::Delivered {
            return Err(ServiceError::CannotDeliver(out.record.note));
        }
        Ok(out.record)
    }

    /// A request's documents as the caseworker reviews them: screening's
    /// marks with the decisions applied, and the decisions themselves.
    /// Caseworkers only: the documents hold other people's data unredacted.
    pub fn review(
        &self,
        who: &Principal,
        id: &str,
    ) -> std::result::Result<(Review, Vec<ReviewedDoc>), ServiceError> {
        caseworker(who)?;
        let rec = self.status(who, id)?;
        Ok(pipeline::review::reviewed_documents(&self.settings, &rec)?)
    }

    /// A caseworker's change to the review of request `id`, made on the
    /// page of revision `seen`: a decision, an undo, or an uploaded
    /// document. Allowed until the answer is sent; each is audited (what
    /// and where, not the marked text). Returns the new revision.
    pub fn change_review(
        &self,
        who: &Principal,
        id: &str,
        seen: u64,
        change: ReviewChange,
    ) -> std::result::Result<u64, ServiceError> {
        let user = caseworker(who)?.to_string();
        let rec = self.status(who, id)?;
        if !matches!(
            rec.state,
            RequestState::HeldForReview
                | RequestState::Ready
                | RequestState::DeliveryFailed
                | RequestState::Incomplete
        ) {
            return Err(ServiceError::WrongState {
                id: rec.id,
                state: rec.state.as_str(),
                what:
                    "decisions are made while the answer waits for a caseworker, before it is sent",
            });
        }
        let store = &self.settings.store;
        let now = chrono::Utc::now();
        let action = match change {
            ReviewChange::Undo(which) => {
                let (review, undone) =
                    pipeline::review::update(store, id, |r| r.undo(seen, which, &user, now))??;
                self.audit_review(
                    who,
                    id,
                    "review.undone",
                    &undone.action,
                    undone.id,
                    review.revision,
                )?;
                return Ok(review.revision);
            }
            ReviewChange::Decide(a) => a,
            ReviewChange::MarkSelection {
                doc,
                part,
                selected,
                near,
                kind,
            } => {
                let (_, docs) = pipeline::review::reviewed_documents(&self.settings, &rec)?;
                let text = docs
                    .iter()
                    .find(|d| d.doc.key() == doc)
                    .and_then(|d| d.parts.get(part))
                    .map(|p| p.text.as_str())
                    .ok_or(ServiceError::NotFound)?;
                let (start, end) =
                    marc_request::review::locate(text, &selected, near).ok_or_else(|| {
                        ServiceError::Review(ReviewError::Invalid(
                            "den markerede tekst findes ikke i dokumentet".into(),
                        ))
                    })?;
                Action::AddMark {
                    text: text[start..end].to_string(),
                    doc,
                    part,
                    start,
                    end,
                    kind,
                }
            }
            ReviewChange::Upload {
                file_name,
                title,
                bytes,
            } => {
                // Checked before anything is stored.
                pipeline::review::load(store, id)?.check(seen)?;
                let n = store.next_id()?;
                let doc = pipeline::review::uploaded_document(id, n, &file_name, &title, &bytes)
                    .map_err(|e| ServiceError::Review(ReviewError::Invalid(e)))?;
                pipeline::review::add_document(store, id, &doc)?
            }
        };
        let (review, decision) =
            pipeline::review::update(store, id, |r| r.decide(seen, &user, now, action.clone()))??;
        self.audit_review(
            who,
            id,
            action.audit_name(),
            &action,
            decision,
            review.revision,
        )?;
        Ok(review.revision)
    }

    fn audit_review(
        &self,
        who: &Principal,
        id: &str,
        what: &str,
        action: &Action,
        decision: u64,
        revision: u64,
    ) -> Result<()> {
        // Where, not what: the marked text is another person's data.
        let mut detail = serde_json::json!({
            "decision": decision,
            "revision": revision,
            "document": action.doc(),
        });
        match action {
            Action::RejectMark {
                part, start, end, ..
            }
            | Action::AddMark {
                part, start, end, ..
            } => {
                detail["part"] = (*part).into();
                detail["span"] = serde_json::json!([start, end]);
            }
            Action::MarkAll { term, kind } => {
                detail["characters"] = term.chars().count().into();
                detail["kind"] = kind.as_str().into();
            }
            Action::RejectAll { text } => detail["characters"] = text.chars().count().into(),
            Action::Exclude { reason, .. } => detail["reason"] = reason.as_str().into(),
            Action::AddDocument { .. } => {}
        }
        if let Action::AddMark { kind, .. } = action {
            detail["kind"] = kind.as_str().into();
        }
        self.settings
            .audit
            .append(NewEntry::user(who.actor(), what).request(id).detail(detail))?;
        Ok(())
    }

    /// A caseworker moves the deadline later, with a reason; the requester
    /// gets a letter saying why and when to expect the answer.
    pub fn extend_deadline(
        &self,
        who: &Principal,
        id: &str,
        to: chrono::NaiveDate,
        reason: &str,
    ) -> std::result::Result<RequestRecord, ServiceError> {
        caseworker(who)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::NoReason);
        }
        let before = self.status(who, id)?;
        if to <= before.deadline {
            return Err(ServiceError::BadPeriod(format!(
                "den nye frist ({to}) skal ligge efter den gamle ({})",
                before.deadline
            )));
        }
        let rec = self.update_open(id, "it is closed", |r| {
            r.deadline = to;
        })?;
        self.settings
            .audit
            .append(
                NewEntry::user(who.actor(), "request.deadline_extended")
                    .request(id)
                    .detail(serde_json::json!({
                        "from": before.deadline, "to": to, "reason": reason,
                    })),
            )
            .map_err(anyhow::Error::from)?;
        crate::pipeline::send_deadline(&self.settings, &rec, reason)?;
        Ok(rec)
    }

    /// A caseworker writes an internal note on a case (never shown to the
    /// requester). The audit entry says that a note was written, not what.
    pub fn add_note(
        &self,
        who: &Principal,
        id: &str,
        text: &str,
    ) -> std::result::Result<RequestRecord, ServiceError> {
        let user = caseworker(who)?.to_string();
        let text = text.trim();
        if text.is_empty() {
            return Err(ServiceError::NoReason);
        }
        self.status(who, id)?;
        let (rec, _) = crate::requests::update(&self.settings.store, id, |r| {
            r.notes.push(marc_request::InternalNote {
                at: chrono::Utc::now(),
                by: user.clone(),
                text: text.to_string(),
            });
            Ok(true)
        })?;
        self.settings
            .audit
            .append(
                NewEntry::user(who.actor(), "request.note_added")
                    .request(id)
                    .detail(serde_json::json!({"characters": text.chars().count()})),
            )
            .map_err(anyhow::Error::from)?;
        Ok(rec)
    }

    /// A caseworker forwards a request's documents to another municipality
    /// (the citizen has moved, or the case belongs there): the assembled
    /// PDF, through Digital Post, once per receiver.
    pub fn forward(
        &self,
        who: &Principal,
        id: &str,
        cvr: &str,
        name: &str,
    ) -> std::result::Result<RequestRecord, ServiceError> {
        caseworker(who)?;
        let rec = self.status(who, id)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(ServiceError::CannotDeliver(
                "name the receiving municipality".into(),
            ));
        }
        crate::pipeline::forward(&self.settings, &who.actor(), &rec, cvr.trim(), name)
            .map_err(|e| ServiceError::CannotDeliver(format!("{e:#}")))?;
        Ok(rec)
    }

    /// A caseworker refuses access with a reason; the requester gets a
    /// letter with the reason and how to complain.
    pub fn refuse(
        &self,
        who: &Principal,
        id: &str,
        reason: &str,
    ) -> std::result::Result<RequestRecord, ServiceError> {
        caseworker(who)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::NoReason);
        }
        self.status(who, id)?;
        let rec = self.update_open(id, "it is closed", |r| {
            r.set_state(RequestState::Refused, chrono::Utc::now());
            r.note = reason.to_string();
        })?;
        self.settings
            .audit
            .append(
                NewEntry::user(who.actor(), "request.refused")
                    .request(id)
                    .detail(serde_json::json!({"reason": reason})),
            )
            .map_err(anyhow::Error::from)?;
        crate::pipeline::send_refusal(&self.settings, &rec, reason)?;
        Ok(rec)
    }

    /// The statistics of the requests received from `from` to `to`, for
    /// managers and administrators.
    pub fn statistics(
        &self,
        who: &Principal,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        per: marc_request::stats::Granularity,
    ) -> std::result::Result<marc_request::stats::Stats, ServiceError> {
        use marc_request::access::Role;
        if !matches!(
            who,
            Principal::Staff {
                role: Role::Manager | Role::Admin,
                ..
            }
        ) {
            return Err(ServiceError::NotFound);
        }
        if to < from {
            return Err(ServiceError::BadPeriod(format!(
                "perioden slutter ({to}) før den begynder ({from})"
            )));
        }
        let mut all = crate::requests::list(&self.settings.store)?;
        all.retain(|r| !r.test_run);
        Ok(marc_request::stats::compute(&all, from, to, per))
    }

    /// The audit log as staff read it: auditors, managers and
    /// administrators; by person, robot, request, action and day, newest
    /// first. Reading it is itself audited.
    pub fn audit_log(
        &self,
        who: &Principal,
        q: &marc_web::backend::AuditQuery,
    ) -> std::result::Result<Vec<marc_web::backend::AuditRow>, ServiceError> {
        use marc_request::access::Role;
        if !matches!(
            who,
            Principal::Staff {
                role: Role::Auditor | Role::Manager | Role::Admin,
                ..
            }
        ) {
            return Err(ServiceError::NotFound);
        }
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        let f = marc_audit::Filter {
            robot: some(&q.robot),
            request: some(&q.request),
            action: some(&q.action),
            since: q
                .since
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .and_then(|t| t.and_local_timezone(chrono::Local).single())
                .map(|t| t.with_timezone(&chrono::Utc)),
            ..Default::default()
        };
        let person = q.person.trim().to_lowercase();
        let mut rows: Vec<marc_web::backend::AuditRow> =
            marc_audit::query(&self.settings.store, &f)
                .map_err(anyhow::Error::from)?
                .into_iter()
                .filter(|e| person.is_empty() || e.actor.to_lowercase().contains(&person))
                .map(|e| marc_web::backend::AuditRow {
                    seq: e.seq,
                    time: e
                        .time_utc()
                        .map(|t| {
                            t.with_timezone(&chrono::Local)
                                .format("%d-%m-%Y %H:%M:%S")
                                .to_string()
                        })
                        .unwrap_or(e.time.clone()),
                    kind: e.actor_kind.as_str().to_string(),
                    actor: e.actor,
                    action: e.action,
                    request: e.request.unwrap_or_default(),
                    system: e.system.unwrap_or_default(),
                    detail: if e.detail.is_null() {
                        String::new()
                    } else {
                        e.detail.to_string()
                    },
                })
                .collect();
        rows.reverse();
        rows.truncate(q.limit.clamp(1, 1000));
        self.settings
            .audit
            .append(
                NewEntry::user(who.actor(), "audit.read").detail(serde_json::json!({
                    "person": q.person, "robot": q.robot, "request": q.request, "action": q.action,
                })),
            )
            .map_err(anyhow::Error::from)?;
        Ok(rows)
    }

    /// The administrator's overview: staff accounts and exempt citizens.
    pub fn admin_view(
        &self,
        who: &Principal,
    ) -> std::result::Result<marc_web::backend::AdminView, ServiceError> {
        admin(who)?;
        let staff = staff::list(&self.settings)?
            .into_iter()
            .map(|a| {
                (
                    a.user,
                    a.role.dansk().to_string(),
                    a.created.format("%d-%m-%Y").to_string(),
                )
            })
            .collect();
        let exempt = crate::pipeline::exemptions::list(&self.settings.store)?
            .into_iter()
            .map(|e| marc_web::backend::ExemptRow {
                cpr: e.cpr,
                reason: e.reason,
                by: e.by,
                added: e.added.format("%d-%m-%Y").to_string(),
            })
            .collect();
        use crate::pipeline::lists::{get, List};
        let store = &self.settings.store;
        Ok(marc_web::backend::AdminView {
            staff,
            exempt,
            words_configured: self.settings.words.clone(),
            words: get(store, List::Words)?,
            allow_configured: self.settings.allow_addresses.clone(),
            allow: get(store, List::AllowAddresses)?,
            departments: self.topics.clone(),
            review_departments: get(store, List::ReviewDepartments)?,
            review_all: self.settings.review_all,
            systems: self.system_rows()?,
            deadline_days: crate::pipeline::lists::deadline_days(
                store,
                self.settings.deadline_days,
            )?,
            deadline_configured: self.settings.deadline_days,
            test_runs: crate::requests::list(store)?
                .into_iter()
                .filter(|r| r.test_run)
                .rev()
                .take(10)
                .map(|r| marc_web::backend::TestRunRow {
                    system: r.systems.join(", "),
                    cpr: marc_request::worklist::masked_cpr(&r.cpr),
                    started: r
                        .created
                        .with_timezone(&chrono::Local)
                        .format("%d-%m-%Y %H:%M")
                        .to_string(),
                    state: r.state.dansk().to_string(),
                    documents: r.runs.values().map(|x| x.documents).sum(),
                    error: r
                        .runs
                        .values()
                        .filter_map(|x| x.error.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                    id: r.id,
                })
                .collect(),
        })
    }

    /// The working days from receipt to the deadline for requests received
    /// from now on (offentlighedsloven § 36: 7 as a rule); audited.
    pub fn set_deadline_days(
        &self,
        who: &Principal,
        days: u32,
    ) -> std::result::Result<(), ServiceError> {
        admin(who)?;
        if !(1..=60).contains(&days) {
            return Err(ServiceError::Review(ReviewError::Invalid(
                "fristen skal være mellem 1 og 60 arbejdsdage".into(),
            )));
        }
        let before = crate::pipeline::lists::deadline_days(
            &self.settings.store,
            self.settings.deadline_days,
        )?;
        crate::pipeline::lists::set_deadline_days(&self.settings.store, days)?;
        self.settings
            .audit
            .append(
                NewEntry::user(who.actor(), "admin.deadline_changed")
                    .detail(serde_json::json!({"from": before, "to": days})),
            )
            .map_err(anyhow::Error::from)?;
        Ok(())
    }

    /// The connected systems with their robots' record: how many requests
    /// searched each, how many of those runs completed, when it last ran.
    fn system_rows(&self) -> Result<Vec<marc_web::backend::SystemRow>> {
        use crate::pipeline::lists::{get, List};
        let off = get(&self.settings.store, List::DisabledSystems)?;
        let manifests = crate::robot::select(
            crate::robot::load_all(&self.settings.robots_dir)?,
            &self.connected,
        )?;
        let requests = crate::requests::list(&self.settings.store)?;
        Ok(manifests
            .into_iter()
            .map(|m| {
                let runs: Vec<(&RequestRecord, &marc_request::RunState)> = requests
                    .iter()
                    .filter_map(|r| r.runs.get(&m.system).map(|run| (r, run)))
                    .filter(|(_, run)| run.attempts > 0)
                    .collect();
                let complete = runs
                    .iter()
                    .filter(|(_, run)| run.status == RunStatus::Complete)
                    .count();
                marc_web::backend::SystemRow {
                    enabled: !off.contains(&m.system),
                    name: m.name,
                    departments: m.departments.join(", "),
                    max_sessions: m.max_sessions.unwrap_or(2),
                    last_run: runs
                        .iter()
                        .map(|(r, _)| r.created)
                        .max()
                        .map(|t| {
                            t.with_timezone(&chrono::Local)
                                .format("%d-%m-%Y %H:%M")
                                .to_string()
                        })
                        .unwrap_or_default(),
                    runs: runs.len(),
                    complete,
                    id: m.system,
                }
            })
            .collect())
    }

    /// An administrator adds an item to a list screening or the control
    /// level uses, or removes it; audited. The next request screened uses it.
    pub fn set_list(
        &self,
        who: &Principal,
        list: &str,
        item: &str,
        add: bool,
    ) -> std::result::Result<(), ServiceError> {
        use crate::pipeline::lists::{self, List};
        admin(who)?;
        let invalid = |m: &str| ServiceError::Review(ReviewError::Invalid(m.into()));
        let list = List::parse(list).ok_or_else(|| invalid("listen findes ikke"))?;
        let item = item.trim();
        if item.chars().count() < 2 {
            return Err(invalid("skriv mindst to tegn"));
        }
        if list == List::ReviewDepartments
            && !self.topics.iter().any(|t| t.eq_ignore_ascii_case(item))
        {
            return Err(invalid("afdelingen findes ikke"));
        }
        if list == List::DisabledSystems && !self.system_rows()?.iter().any(|r| r.id == item) {
            return Err(invalid("systemet findes ikke"));
        }
        if lists::change(&self.settings.store, list, item, add)? {
            self.settings
                .audit
                .append(
                    NewEntry::user(
                        who.actor(),
                        if add {
                            "admin.list_added"
                        } else {
                            "admin.list_removed"
                        },
                    )
                    .detail(serde_json::json!({"list": list.as_str(), "item": item})),
                )
                .map_err(anyhow::Error::from)?;
        }
        Ok(())
    }

    /// The robot sessions of a request, oldest first: staff who see cases
    /// only (a trace shows the case systems' pages, other people included).
    pub fn traces(
        &self,
        who: &Principal,
        id: &str,
    ) -> std::result::Result<Vec<marc_web::backend::TraceRow>, ServiceError> {
        self.trace_viewer(who, id)?;
        Ok(marc_recording::list_sessions(&self.settings.store)
            .map_err(anyhow::Error::from)?
            .into_iter()
            .filter(|m| m.request.as_deref() == Some(id))
            .map(|m| marc_web::backend::TraceRow {
                outcome: marc_recording::outcome_text(&m),
                system: m.system.clone().unwrap_or_default(),
                started: m.started.clone(),
                steps: m.steps,
                session: m.id,
            })
            .collect())
    }

    /// One session of a request as its trace page; the viewing is audited.
    pub fn trace_page(
        &self,
        who: &Principal,
        id: &str,
        session: &str,
    ) -> std::result::Result<String, ServiceError> {
        let s = self.request_session(who, id, session)?;
        self.settings
            .audit
            .append(
                NewEntry::user(who.actor(), "trace.viewed")
                    .request(id)
                    .detail(serde_json::json!({"session": session})),
            )
            .map_err(anyhow::Error::from)?;
        Ok(marc_recording::html_page(&self.settings.store, &s).map_err(anyhow::Error::from)?)
    }

    /// A screenshot of one of a request's sessions.
    pub fn trace_shot(
        &self,
        who: &Principal,
        id: &str,
        session: &str,
        hash: &str,
    ) -> std::result::Result<Vec<u8>, ServiceError> {
        let s = self.request_session(who, id, session)?;
        if !s
            .steps
            .iter()
            .any(|st| st.screenshot.as_deref() == Some(hash))
        {
            return Err(ServiceError::NotFound);
        }
        marc_recording::load_screenshot(&self.settings.store, hash)
            .map_err(|_| ServiceError::NotFound)
    }

    fn trace_viewer(&self, who: &Principal, id: &str) -> std::result::Result<(), ServiceError> {
        use marc_request::access::Role;
        if !matches!(
            who,
            Principal::Staff {
                role: Role::Caseworker | Role::Auditor,
                ..
            }
        ) {
            return Err(ServiceError::NotFound);
        }
        self.status(who, id).map(|_| ())
    }

    /// A session that belongs to request `id`, for someone who may see it.
    fn request_session(
        &self,
        who: &Principal,
        id: &str,
        session: &str,
    ) -> std::result::Result<marc_recording::Session, ServiceError> {
        self.trace_viewer(who, id)?;
        match marc_recording::load_session(&self.settings.store, session) {
            Ok(s) if s.meta.request.as_deref() == Some(id) => Ok(s),
            _ => Err(ServiceError::NotFound),
        }
    }

    /// An administrator makes a staff account from the administration page.
    pub fn staff_add(
        &self,
        who: &Principal,
        user: &str,
        role: &str,
        password: &str,
    ) -> std::result::Result<(), ServiceError> {
        admin(who)?;
        let invalid =
            |e: staff::StaffError| ServiceError::Review(ReviewError::Invalid(e.to_string()));
        let role = staff::role(role).map_err(invalid)?;
        staff::add(&self.settings, &who.actor(), user.trim(), role, password).map_err(
            |e| match e {
                staff::StaffError::Internal(e) => ServiceError::Internal(e),
                other => invalid(other),
            },
        )?;
        Ok(())
    }

    /// An administrator removes a staff account (never their own, so an
    /// installation keeps an administrator); its sessions end at once.
    pub fn staff_remove(
        &self,
        who: &Principal,
        user: &str,
    ) -> std::result::Result<(), ServiceError> {
        admin(who)?;
        let invalid = |m: String| ServiceError::Review(ReviewError::Invalid(m));
        if who.name() == user.trim() {
            return Err(invalid("du kan ikke fjerne din egen konto".into()));
        }
        staff::remove(&self.settings, &who.actor(), user.trim()).map_err(|e| match e {
            staff::StaffError::Internal(e) => ServiceError::Internal(e),
            other => invalid(other.to_string()),
        })
    }

    /// An administrator's test run of one system's robot for one CPR number
    /// (the whole period): a request that is run, screened and assembled
    /// like any other but never sent, and left out of the case list and the
    /// statistics; no letter goes out. Returns it and its jobs.
    pub fn test_run(
        &self,
        who: &Principal,
        system: &str,
        cpr: &str,
    ) -> std::result::Result<(RequestRecord, Vec<Job>), ServiceError> {
        admin(who)?;
        let cpr: Cpr = cpr
            .trim()
            .parse()
            .map_err(|e: marc_model::CprError| ServiceError::BadCpr(e.to_string()))?;
        let today = chrono::Local::now().date_naive();
        let period =
            Period::parse(None, None, today).map_err(|e| ServiceError::BadPeriod(e.to_string()))?;
        if !self.system_rows()?.iter().any(|r| r.id == system) {
            return Err(ServiceError::Review(ReviewError::Invalid(
                "systemet findes ikke".into(),
            )));
        }
        let spec = RequestSpec {
            cpr,
            period,
            systems: vec![system.to_string()],
            topics: Vec::new(),
            name: String::new(),
            address: String::new(),
            requester: format!("Testkørsel ({})", who.name()),
            requested_by: None,
            consent: None,
        };
        let rec =
            pipeline::create_request(&self.settings, &spec, &spec.systems, &who.actor(), None)?;
        let (rec, _) = crate::requests::update(&self.settings.store, &rec.id, |r| {
            r.test_run = true;
            Ok(())
        })?;
        self.settings
            .audit
            .append(
                NewEntry::user(who.actor(), "admin.test_run")
                    .request(&rec.id)
                    .detail(serde_json::json!({"system": system})),
            )
            .map_err(anyhow::Error::from)?;
        let jobs = self.jobs(&rec);
        Ok((rec, jobs))
    }

    /// The forms of `word` the word list will mark (administrators).
    pub fn word_preview(
        &self,
        who: &Principal,
        word: &str,
    ) -> std::result::Result<Vec<String>, ServiceError> {
        admin(who)?;
        Ok(crate::pipeline::lists::inflections(word))
    }

    /// An administrator exempts a citizen from automatic handling (with a
    /// reason, for staff only), or lifts the exemption (`reason` `None`).
    pub fn set_exempt(
        &self,
        who: &Principal,
        cpr: &str,
        reason: Option<&str>,
    ) -> std::result::Result<(), ServiceError> {
        use crate::pipeline::exemptions;
        admin(who)?;
        let cpr: marc_model::Cpr = cpr
            .trim()
            .parse()
            .map_err(|e| ServiceError::BadCpr(format!("{e}")))?;
        let (store, audit) = (&self.settings.store, &self.settings.audit);
        match reason.map(str::trim) {
            Some("") => Err(ServiceError::NoReason),
            Some(why) => {
                exemptions::add(store, audit, &who.actor(), &cpr, why)?;
                Ok(())
            }
            None => {
                exemptions::remove(store, audit, &who.actor(), &cpr)?;
                Ok(())
            }
        }
    }

    /// A caseworker takes a request (or gives it back with `take = false`).
    pub fn assign(
        &self,
        who: &Principal,
        id: &str,
        take: bool,
    ) -> std::result::Result<RequestRecord, ServiceError> {
        let user = caseworker(who)?;
        self.status(who, id)?;
        let (rec, _) = crate::requests::update(&self.settings.store, id, |r| {
            r.caseworker = take.then(|| user.to_string());
            Ok(true)
        })?;
        let action = if take {
            "request.assigned"
        } else {
            "request.unassigned"
        };
        self.settings
            .audit
            .append(NewEntry::user(who.actor(), action).request(id))
            .map_err(anyhow::Error::from)?;
        Ok(rec)
    }

    /// The full CPR number of a request, for a member of staff who asks to
    /// see it; every reveal is audited before the number is shown.
    pub fn reveal_cpr(
        &self,
        who: &Principal,
        id: &str,
    ) -> std::result::Result<String, ServiceError> {
        if !matches!(who, Principal::Staff { .. }) {
            return Err(ServiceError::NotFound);
        }
        let rec = self.status(who, id)?;
        self.settings
            .audit
            .append(NewEntry::user(who.actor(), "cpr.revealed").request(id))
            .map_err(anyhow::Error::from)?;
        Ok(rec.cpr)
    }

    /// The delivered answer, for whoever may see the request.
    pub fn answer(&self, who: &Principal, id: &str) -> std::result::Result<Vec<u8>, ServiceError> {
        let rec = self.status(who, id)?;
        if rec.state != RequestState::Delivered {
            return Err(ServiceError::NotFound);
        }
        let path = rec.pdf.ok_or(ServiceError::NotFound)?;
        std::fs::read(&path)
            .map_err(|e| ServiceError::Internal(anyhow!("cannot read the answer {path}: {e}")))
    }

    /// Withdraws a request that has not been answered; nothing more runs
    /// for it (a robot already running finishes its page, and its result
    /// is not used).
    pub fn cancel(
        &self,
        who: &Principal,
        id: &str,
    ) -> std::result::Result<RequestRecord, ServiceError> {
        self.status(who, id)?;
        let rec = self.update_open(id, "it can no longer be withdrawn", |r| {
            r.set_state(RequestState::Cancelled, chrono::Utc::now());
            r.note = format!("withdrawn by {}", who.name());
        })?;
        self.settings
            .audit
            .append(NewEntry::user(who.actor(), "request.cancelled").request(id))
            .map_err(anyhow::Error::from)?;
        Ok(rec)
    }

    /// Makes an interrupted or incomplete request run again: failed systems
    /// are tried again, finished ones are not. Returns the jobs to run.
    pub fn resume(&self, id: &str) -> Result<(RequestRecord, Vec<Job>)> {
        let (rec, _) = crate::requests::update(&self.settings.store, id, |r| {
            if r.state == RequestState::Incomplete {
                for run in r.runs.values_mut() {
                    if run.status == RunStatus::Failed {
                        run.status = RunStatus::Pending;
                    }
                }
                r.set_state(RequestState::Collecting, chrono::Utc::now());
            }
            Ok(())
        })?;
        let jobs = self.jobs(&rec);
        Ok((rec, jobs))
    }

    /// The jobs a request needs now, from its stored state: its pending
    /// systems' robots, or its finishing job once they all answered.
    pub fn jobs(&self, rec: &RequestRecord) -> Vec<Job> {
        match rec.state {
            RequestState::Received | RequestState::Collecting => {
                let pending: Vec<Job> = rec
                    .runs
                    .iter()
                    .filter(|(_, r)| r.status == RunStatus::Pending)
                    .map(|(s, _)| Job::Robot {
                        request: rec.id.clone(),
                        system: s.clone(),
                    })
                    .collect();
                if pending.is_empty() {
                    vec![Job::Finish {
                        request: rec.id.clone(),
                    }]
                } else {
                    pending
                }
            }
            RequestState::Collected => vec![Job::Finish {
                request: rec.id.clone(),
            }],
            _ => Vec::new(),
        }
    }

    /// Every job of every request that is not done: what a restarted
    /// `marc serve` queues again.
    pub fn outstanding(&self) -> Result<Vec<Job>> {
        Ok(crate::requests::list(&self.settings.store)?
            .iter()
            .flat_map(|r| self.jobs(r))
            .collect())
    }

    /// Runs one system's robot for a request and records its outcome. When
    /// it was the last system to answer, returns the finishing job.
    pub fn run_robot_job(
        &self,
        runner: &RobotRunner,
        request: &str,
        system: &str,
    ) -> Result<Option<Job>> {
        let store = &self.settings.store;
        let (rec, go) = crate::requests::update(store, request, |r| {
            let pending = r.runs.get(system).map(|x| x.status) == Some(RunStatus::Pending);
            let open = matches!(r.state, RequestState::Received | RequestState::Collecting);
            if pending && open {
                r.set_state(RequestState::Collecting, chrono::Utc::now());
            }
            Ok(pending && open)
        })?;
        if !go {
            return self.finish_if_collected(request);
        }
        let manifest = crate::robot::select(
            crate::robot::load_all(&self.settings.robots_dir)?,
            &[system.to_string()],
        )?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("no robot for system {system}"))?;
        let previous = rec.runs.get(system).cloned().unwrap_or_default();
        let run = runner.run_robot(&self.settings, &rec, &manifest, previous);
        let (rec, _) = crate::requests::update(store, request, |r| {
            r.runs.insert(system.to_string(), run.clone());
            let all_done = r.runs.values().all(|x| x.status != RunStatus::Pending);
            if all_done && r.state == RequestState::Collecting {
                r.set_state(RequestState::Collected, chrono::Utc::now());
            }
            Ok(())
        })?;
        // Whichever robot job sees the request collected queues its
        // finishing job, not only the one that moved it there: that one may
        // have died after storing (a worker that lost its database), and a
        // second push of the same step is no second job.
        Ok((rec.state == RequestState::Collected).then(|| Job::Finish {
            request: request.to_string(),
        }))
    }

    fn finish_if_collected(&self, request: &str) -> Result<Option<Job>> {
        let rec = crate::requests::get(&self.settings.store, request)?;
        Ok((rec.state == RequestState::Collected).then(|| Job::Finish {
            request: request.to_string(),
        }))
    }

    /// Screens, assembles, checks and delivers a request whose systems all
    /// answered. Does nothing for a request in any other state.
    pub fn run_finish_job(&self, request: &str) -> Result<RequestRecord> {
        let rec = crate::requests::get(&self.settings.store, request)?;
        if rec.state != RequestState::Collected {
            return Ok(rec);
        }
        Ok(pipeline::finish(&self.settings, rec, None)?.record)
    }

    /// Runs one job; returns the job that follows it, if any.
    pub fn run_job(&self, runner: &RobotRunner, job: &Job) -> Result<Option<Job>> {
        match job {
            Job::Robot { request, system } => self.run_robot_job(runner, request, system),
            Job::Finish { request } => self.run_finish_job(request).map(|_| None),
        }
    }
}

/// Consents as stored: granted and revoked by the citizen, audited.
pub mod consents {
    use super::*;
    use marc_store::Store;

    const CONSENTS: &str = "consents";

    pub fn get(store: &Store, id: &str) -> Result<Option<Consent>> {
        Ok(store.table(CONSENTS)?.get_json(id)?)
    }

    /// Consents given by the citizen `cpr`, or given to `party`.
    pub fn list(
        store: &Store,
        citizen: Option<&str>,
        grantee: Option<&Party>,
    ) -> Result<Vec<Consent>> {
        let mut v: Vec<Consent> = store
            .table(CONSENTS)?
            .scan_json::<Consent>("")?
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| citizen.is_none_or(|cpr| c.citizen_cpr == cpr))
            .filter(|c| grantee.is_none_or(|g| &c.grantee == g))
            .collect();
        v.sort_by_key(|c| std::cmp::Reverse(c.granted));
        Ok(v)
    }

    /// What a citizen grants.
    #[derive(Clone, Debug)]
    pub struct Grant {
        pub grantee: Party,
        pub grantee_name: String,
        pub topics: Vec<String>,
        pub scope: Period,
        pub valid_from: chrono::NaiveDate,
        pub valid_to: chrono::NaiveDate,
    }

    /// A citizen gives a consent; audited.
    pub fn grant(
        settings: &Settings,
        citizen: &Principal,
        g: Grant,
    ) -> std::result::Result<Consent, ServiceError> {
        let Principal::Citizen { cpr, name } = citizen else {
            return Err(ServiceError::NotFound);
        };
        Consent::check_validity(g.valid_from, g.valid_to)?;
        if g.grantee == Party::Cpr(cpr.clone()) {
            return Err(ServiceError::NoConsent("to oneself".into()));
        }
        let n = crate::requests::next_counter(&settings.store, "consent")?;
        let c = Consent {
            id: format!(
                "SAM-{n:06}-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..6]
            ),
            citizen_cpr: cpr.clone(),
            citizen_name: name.clone(),
            grantee: g.grantee,
            grantee_name: g.grantee_name,
            topics: g.topics,
            scope: g.scope,
            valid_from: g.valid_from,
            valid_to: g.valid_to,
            granted: chrono::Utc::now(),
            revoked: None,
        };
        let t = settings.store.table(CONSENTS)?;
        t.put_json(&c.id, &c)?;
        settings.store.flush()?;
        settings
            .audit
            .append(
                NewEntry::user(citizen.actor(), "consent.granted").detail(serde_json::json!({
                    "consent": c.id,
                    "grantee": c.grantee,
                    "grantee_name": c.grantee_name,
                    "topics": c.topics,
                    "scope": [c.scope.from, c.scope.to],
                    "valid": [c.valid_from, c.valid_to],
                })),
            )
            .map_err(anyhow::Error::from)?;
        Ok(c)
    }

    /// The citizen who gave a consent revokes it; audited. Requests already
    /// made under it are not undone.
    pub fn revoke(
        settings: &Settings,
        citizen: &Principal,
        id: &str,
    ) -> std::result::Result<Consent, ServiceError> {
        let Principal::Citizen { cpr, .. } = citizen else {
            return Err(ServiceError::NotFound);
        };
        let t = settings.store.table(CONSENTS)?;
        let mut c: Consent = t
            .get_json(id)?
            .filter(|c: &Consent| &c.citizen_cpr == cpr)
            .ok_or(ServiceError::NotFound)?;
        if c.revoked.is_none() {
            c.revoked = Some(chrono::Utc::now());
            t.put_json(id, &c)?;
            settings.store.flush()?;
            settings
                .audit
                .append(
                    NewEntry::user(citizen.actor(), "consent.revoked")
                        .detail(serde_json::json!({"consent": id})),
                )
                .map_err(anyhow::Error::from)?;
        }
        Ok(c)
    }
}

impl From<marc_store::StoreError> for ServiceError {
    fn from(e: marc_store::StoreError) -> Self {
        ServiceError::Internal(e.into())
    }
}
