//! The request service as the web app sees it: [`marc_web::Backend`] over
//! [`RequestService`] and the worker pool. Submissions are queued at once;
//! every refusal is turned into the Danish text the page shows.

use super::consents::{self, Grant};
use super::pool::Pool;
use super::{RequestService, ServiceError, Submission};
use crate::runtime::SecretSource;
use marc_audit::NewEntry;
use marc_model::Period;
use marc_request::review::{Review, ReviewChange, ReviewedDoc};
use marc_request::{Consent, Party, Principal, RequestRecord};
use marc_web::{Backend, NewConsent, NewRequest, StoredSession, WebError};
use std::sync::Arc;

/// The engine behind `marc serve`'s pages.
pub struct WebBackend {
    pub service: RequestService,
    pub pool: Pool,
    /// The runtime the pool's queues live on (backend calls run on
    /// blocking threads and hand jobs over through it).
    pub handle: tokio::runtime::Handle,
    /// Where the OpenID client secret comes from (vault or environment).
    pub secrets: Arc<dyn SecretSource>,
    /// Display names of the connected systems.
    pub systems: Vec<(String, String)>,
}

const SESSIONS: &str = "web_sessions";

/// A session as stored: its expiry (big-endian seconds), then its data.
fn session_bytes(s: &StoredSession) -> Vec<u8> {
    let mut v = s.expires.to_be_bytes().to_vec();
    v.extend_from_slice(&s.data);
    v
}

fn web_error(e: ServiceError) -> WebError {
    match e {
        ServiceError::NotFound => WebError::NotFound,
        ServiceError::Internal(e) => WebError::Internal(format!("{e:#}")),
        e @ ServiceError::Review(marc_request::review::ReviewError::Conflict { .. }) => {
            WebError::Conflict(e.dansk())
        }
        other => WebError::Refused(other.dansk()),
    }
}

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Internal(e.to_string())
}

/// A date typed into a form, or `None` when left empty.
fn date(s: &str, what: &str) -> Result<Option<chrono::NaiveDate>, WebError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| {
            WebError::Refused(format!(
                "{what} »{s}« er ikke en dato; skriv den som ÅÅÅÅ-MM-DD."
            ))
        })
}

impl Backend for WebBackend {
    fn topics(&self) -> Vec<String> {
        self.service.topics.clone()
    }

    fn system_names(&self) -> Vec<(String, String)> {
        self.systems.clone()
    }

    fn submit(&self, who: &Principal, req: NewRequest) -> Result<RequestRecord, WebError> {
        let name = match (who, &req.consent) {
            (Principal::Citizen { name, .. }, None) => name.clone(),
            // Under a consent: the citizen's name as they gave it.
            (_, Some(id)) => consents::get(&self.service.settings.store, id)
                .map_err(internal)?
                .map(|c| c.citizen_name)
                .unwrap_or_default(),
            _ => String::new(),
        };
        let sub = Submission {
            cpr: req.cpr,
            from: req.from,
            to: req.to,
            topics: req.topics,
            name,
            consent: req.consent,
            // One key per person and form: two people never share one.
            idempotency_key: Some(format!("{}|{}", who.actor(), req.idempotency_key)),
            ..Default::default()
        };
        let rec = self.service.submit(who, sub).map_err(web_error)?;
        let jobs = self.service.jobs(&rec);
        self.handle.block_on(self.pool.push_all(jobs));
        Ok(rec)
    }

    fn request(&self, who: &Principal, id: &str) -> Result<RequestRecord, WebError> {
        self.service.status(who, id).map_err(web_error)
    }

    fn requests(&self, who: &Principal) -> Result<Vec<RequestRecord>, WebError> {
        self.service.requests_of(who).map_err(internal)
    }

    fn answer(&self, who: &Principal, id: &str) -> Result<Vec<u8>, WebError> {
        let pdf = self.service.answer(who, id).map_err(web_error)?;
        self.audit(
            who,
            "answer.downloaded",
            serde_json::json!({ "request": id }),
        )?;
        Ok(pdf)
    }

    fn cancel(&self, who: &Principal, id: &str) -> Result<RequestRecord, WebError> {
        self.service.cancel(who, id).map_err(web_error)
    }

    fn consents_given(&self, who: &Principal) -> Result<Vec<Consent>, WebError> {
        match who {
            Principal::Citizen { cpr, .. } => {
                consents::list(&self.service.settings.store, Some(cpr), None).map_err(internal)
            }
            _ => Ok(Vec::new()),
        }
    }

    fn consents_received(&self, who: &Principal) -> Result<Vec<Consent>, WebError> {
        match who.party() {
            Some(p) => {
                consents::list(&self.service.settings.store, None, Some(&p)).map_err(internal)
            }
            None => Ok(Vec::new()),
        }
    }

    fn grant(&self, who: &Principal, c: NewConsent) -> Result<Consent, WebError> {
        let grantee = Party::parse(&c.grantee).map_err(|_| {
            WebError::Refused(
                "Skriv et CPR-nummer (DDMMÅÅ-XXXX) eller et CVR-nummer (8 cifre).".into(),
            )
        })?;
        if c.grantee_name.trim().is_empty() {
            return Err(WebError::Refused(
                "Skriv navnet på den, du giver samtykke.".into(),
            ));
        }
        let today = chrono::Local::now().date_naive();
        let from = date(&c.from, "Fra-datoen")?
            .or(chrono::NaiveDate::from_ymd_opt(1900, 1, 1))
            .unwrap_or(chrono::NaiveDate::MIN);
        let to = date(&c.to, "Til-datoen")?.unwrap_or(today);
        let scope = Period::new(from, to).map_err(|_| {
            WebError::Refused("Perioden for dokumenterne begynder efter, den slutter.".into())
        })?;
        let valid_from = date(&c.valid_from, "Gyldig fra")?.unwrap_or(today);
        let valid_to = date(&c.valid_to, "Gyldig til")?
            .ok_or_else(|| WebError::Refused("Skriv, hvor længe samtykket gælder.".into()))?;
        for t in &c.topics {
            if !self.service.topics.contains(t) {
                return Err(WebError::Refused(format!("Emnet »{t}« findes ikke.")));
            }
        }
        let g = Grant {
            grantee,
            grantee_name: c.grantee_name.trim().to_string(),
            topics: c.topics,
            scope,
            valid_from,
            valid_to,
        };
        consents::grant(&self.service.settings, who, g).map_err(web_error)
    }

    fn revoke(&self, who: &Principal, id: &str) -> Result<Consent, WebError> {
        consents::revoke(&self.service.settings, who, id).map_err(web_error)
    }

    fn audit(
        &self,
        who: &Principal,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), WebError> {
        self.service
            .settings
            .audit
            .append(NewEntry::user(who.actor(), action).detail(detail))
            .map(|_| ())
            .map_err(internal)
    }

    fn oidc_client_secret(&self) -> Result<String, WebError> {
        self.secrets
            .get("oidc.client_secret")
            .map_err(|f| WebError::Internal(f.message))
    }

    fn staff_login(&self, user: &str, password: &str) -> Result<Option<Principal>, WebError> {
        super::staff::login(&self.service.settings, user, password).map_err(web_error)
    }

    fn worklist(
        &self,
        who: &Principal,
        q: &marc_request::worklist::Query,
    ) -> Result<marc_request::worklist::Page, WebError> {
        self.service.worklist(who, q).map_err(web_error)
    }

    fn assign(&self, who: &Principal, id: &str, take: bool) -> Result<RequestRecord, WebError> {
        self.service.assign(who, id, take).map_err(web_error)
    }

    fn approve(
        &self,
        who: &Principal,
        id: &str,
        seen: Option<u64>,
    ) -> Result<RequestRecord, WebError> {
        self.service.approve(who, id, seen).map_err(web_error)
    }

    fn review(&self, who: &Principal, id: &str) -> Result<(Review, Vec<ReviewedDoc>), WebError> {
        self.service.review(who, id).map_err(web_error)
    }

    fn change_review(
        &self,
        who: &Principal,
        id: &str,
        seen: u64,
        change: ReviewChange,
    ) -> Result<u64, WebError> {
        self.service
            .change_review(who, id, seen, change)
            .map_err(web_error)
    }

    fn extend_deadline(
        &self,
        who: &Principal,
        id: &str,
        to: chrono::NaiveDate,
        reason: &str,
    ) -> Result<RequestRecord, WebError> {
        self.service
            .extend_deadline(who, id, to, reason)
            .map_err(web_error)
    }

    fn forward(
        &self,
        who: &Principal,
        id: &str,
        cvr: &str,
        name: &str,
    ) -> Result<RequestRecord, WebError> {
        self.service.forward(who, id, cvr, name).map_err(web_error)
    }

    fn add_note(&self, who: &Principal, id: &str, text: &str) -> Result<RequestRecord, WebError> {
        self.service.add_note(who, id, text).map_err(web_error)
    }

    fn refuse(&self, who: &Principal, id: &str, reason: &str) -> Result<RequestRecord, WebError> {
        self.service.refuse(who, id, reason).map_err(web_error)
    }

    fn statistics(
        &self,
        who: &Principal,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        per: marc_request::stats::Granularity,
    ) -> Result<marc_request::stats::Stats, WebError> {
        self.service
            .statistics(who, from, to, per)
            .map_err(web_error)
    }

    fn audit_log(
        &self,
        who: &Principal,
        q: &marc_web::backend::AuditQuery,
    ) -> Result<Vec<marc_web::backend::AuditRow>, WebError> {
        self.service.audit_log(who, q).map_err(web_error)
    }

    fn admin_view(&self, who: &Principal) -> Result<marc_web::backend::AdminView, WebError> {
        self.service.admin_view(who).map_err(web_error)
    }

    fn staff_role(&self, user: &str) -> Result<Option<marc_request::access::Role>, WebError> {
        super::staff::current_role(&self.service.settings, user).map_err(internal)
    }

    fn staff_add(
        &self,
        who: &Principal,
        user: &str,
        role: &str,
        password: &str,
    ) -> Result<(), WebError> {
        self.service
            .staff_add(who, user, role, password)
            .map_err(web_error)
    }

    fn staff_remove(&self, who: &Principal, user: &str) -> Result<(), WebError> {
        self.service.staff_remove(who, user).map_err(web_error)
    }

    fn set_list(&self, who: &Principal, list: &str, item: &str, add: bool) -> Result<(), WebError> {
        self.service
            .set_list(who, list, item, add)
            .map_err(web_error)
    }

    fn test_run(&self, who: &Principal, system: &str, cpr: &str) -> Result<String, WebError> {
        let (rec, jobs) = self.service.test_run(who, system, cpr).map_err(web_error)?;
        self.handle.block_on(self.pool.push_all(jobs));
        Ok(rec.id)
    }

    fn set_deadline_days(&self, who: &Principal, days: u32) -> Result<(), WebError> {
        self.service.set_deadline_days(who, days).map_err(web_error)
    }

    fn word_preview(&self, who: &Principal, word: &str) -> Result<Vec<String>, WebError> {
        self.service.word_preview(who, word).map_err(web_error)
    }

    fn set_exempt(&self, who: &Principal, cpr: &str, reason: Option<&str>) -> Result<(), WebError> {
        self.service.set_exempt(who, cpr, reason).map_err(web_error)
    }

    fn traces(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<Vec<marc_web::backend::TraceRow>, WebError> {
        self.service.traces(who, id).map_err(web_error)
    }

    fn trace_page(&self, who: &Principal, id: &str, session: &str) -> Result<String, WebError> {
        self.service.trace_page(who, id, session).map_err(web_error)
    }

    fn trace_shot(
        &self,
        who: &Principal,
        id: &str,
        session: &str,
        hash: &str,
    ) -> Result<Vec<u8>, WebError> {
        self.service
            .trace_shot(who, id, session, hash)
            .map_err(web_error)
    }

    fn reveal_cpr(&self, who: &Principal, id: &str) -> Result<String, WebError> {
        self.service.reveal_cpr(who, id).map_err(web_error)
    }

    fn session_load(&self, id: &str) -> Result<Option<StoredSession>, WebError> {
        let t = self
            .service
            .settings
            .store
            .table(SESSIONS)
            .map_err(internal)?;
        Ok(t.get(id).map_err(internal)?.and_then(|v| {
            let (head, data) = v.split_at_checked(8)?;
            Some(StoredSession {
                expires: i64::from_be_bytes(head.try_into().ok()?),
                data: data.to_vec(),
            })
        }))
    }

    fn session_save(&self, id: &str, s: StoredSession) -> Result<(), WebError> {
        let store = &self.service.settings.store;
        store
            .table(SESSIONS)
            .and_then(|t| t.put(id, session_bytes(&s)))
            .map_err(internal)?;
        store.flush().map_err(internal)
    }

    fn session_create(&self, id: &str, s: StoredSession) -> Result<bool, WebError> {
        let store = &self.service.settings.store;
        let created = store
            .table(SESSIONS)
            .and_then(|t| t.compare_and_swap(id, None, Some(&session_bytes(&s))))
            .map_err(internal)?;
        store.flush().map_err(internal)?;
        Ok(created)
    }

    fn session_delete(&self, id: &str) -> Result<(), WebError> {
        let store = &self.service.settings.store;
        store
            .table(SESSIONS)
            .and_then(|t| t.remove(id))
            .map_err(internal)?;
        store.flush().map_err(internal)
    }
}
