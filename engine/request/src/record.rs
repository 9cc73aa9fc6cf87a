//! A request as stored, and each robot run's state. Every field added after
//! the first release is `#[serde(default)]`, so stored records stay readable.

use crate::consent::Party;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a request is in its lifecycle (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Received,
    Collecting,
    Collected,
    /// All systems answered and the PDF passed the leak check.
    Ready,
    /// A system failed after retries: never delivered as complete.
    Incomplete,
    /// Waiting for a caseworker: the leak check found marked text in the
    /// PDF, something could not be read, or the control level asks for it.
    HeldForReview,
    Delivered,
    DeliveryFailed,
    /// The citizen is exempt from automatic handling: no robot runs; a
    /// caseworker handles the request by hand.
    ManualHandling,
    /// Withdrawn before an answer was sent; nothing more runs.
    Cancelled,
    /// A caseworker refused access, with a reason given to the requester.
    Refused,
}

impl RequestState {
    pub fn as_str(&self) -> &'static str {
        match self {
            RequestState::Received => "received",
            RequestState::Collecting => "collecting",
            RequestState::Collected => "collected",
            RequestState::Ready => "ready",
            RequestState::Incomplete => "incomplete",
            RequestState::HeldForReview => "held_for_review",
            RequestState::Delivered => "delivered",
            RequestState::DeliveryFailed => "delivery_failed",
            RequestState::ManualHandling => "manual_handling",
            RequestState::Cancelled => "cancelled",
            RequestState::Refused => "refused",
        }
    }

    /// Every state, in lifecycle order (for filters and statistics).
    pub const ALL: [RequestState; 11] = [
        RequestState::Received,
        RequestState::Collecting,
        RequestState::Collected,
        RequestState::Ready,
        RequestState::Incomplete,
        RequestState::HeldForReview,
        RequestState::Delivered,
        RequestState::DeliveryFailed,
        RequestState::ManualHandling,
        RequestState::Cancelled,
        RequestState::Refused,
    ];

    /// Parses [`RequestState::as_str`].
    pub fn parse(s: &str) -> Option<RequestState> {
        RequestState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The state as the requester reads it, in Danish.
    pub fn dansk(&self) -> &'static str {
        match self {
            RequestState::Received => "Modtaget",
            RequestState::Collecting => "Dokumenter hentes",
            RequestState::Collected => "Dokumenter gennemgås",
            RequestState::Ready => "Klar til afsendelse",
            RequestState::Incomplete => "Under behandling hos en sagsbehandler",
            RequestState::HeldForReview => "Under behandling hos en sagsbehandler",
            RequestState::Delivered => "Sendt",
            RequestState::DeliveryFailed => "Under behandling hos en sagsbehandler",
            RequestState::ManualHandling => "Under behandling hos en sagsbehandler",
            RequestState::Cancelled => "Trukket tilbage",
            RequestState::Refused => "Afslået",
        }
    }

    /// Whether nothing more happens to the request by itself.
    pub fn is_closed(&self) -> bool {
        matches!(
            self,
            RequestState::Delivered | RequestState::Cancelled | RequestState::Refused
        )
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    #[default]
    Pending,
    Complete,
    Failed,
}

/// One robot's run for a request.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunState {
    pub status: RunStatus,
    pub documents: usize,
    pub attempts: u32,
    pub error: Option<String>,
    pub sessions: Vec<String>,
    pub webdriver_commands: u64,
    pub seconds: f64,
    /// What kind of failure ended the last attempt (`refused`, `login`,
    /// `system` … — the robot runtime's `FailureKind`); `None` while pending
    /// or when complete.
    #[serde(default)]
    pub failure: Option<String>,
}

/// When a request entered a state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateChange {
    pub at: DateTime<Utc>,
    pub state: RequestState,
}

/// A request as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: String,
    /// Whose documents (DDMMYY-SSSS).
    pub cpr: String,
    pub name: String,
    pub address: String,
    /// Who asked, as shown (the citizen's or the third party's name).
    pub requester: String,
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    pub topics: Vec<String>,
    pub systems: Vec<String>,
    pub created: DateTime<Utc>,
    pub deadline: NaiveDate,
    pub state: RequestState,
    pub runs: BTreeMap<String, RunState>,
    pub pdf: Option<String>,
    pub marks: usize,
    pub documents: usize,
    pub note: String,
    /// Marked strings the leak check found in the PDF (never delivered then).
    #[serde(default)]
    pub leaks: usize,
    /// The outbox file of the delivered answer.
    #[serde(default)]
    pub delivery: Option<String>,
    /// A third party who asked with the citizen's consent; `None`: the
    /// citizen asked. The answer goes to whoever asked.
    #[serde(default)]
    pub requested_by: Option<Party>,
    /// The consent a third party asked under.
    #[serde(default)]
    pub consent: Option<String>,
    /// The caseworker the request is assigned to.
    #[serde(default)]
    pub caseworker: Option<String>,
    /// Every state the request entered, oldest first.
    #[serde(default)]
    pub history: Vec<StateChange>,
    /// SHA-256 (hex) of the PDF as assembled: checked before it is sent, so a
    /// file changed or swapped since (or a path that now points elsewhere) is
    /// never delivered.
    #[serde(default)]
    pub pdf_sha256: Option<String>,
    /// Staff's internal notes on the case, oldest first; never shown to
    /// the requester.
    #[serde(default)]
    pub notes: Vec<InternalNote>,
    /// An administrator's test run of one system's robot: never sent, and
    /// left out of the case list and the statistics.
    #[serde(default)]
    pub test_run: bool,
}

/// A note a member of staff wrote on a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalNote {
    pub at: DateTime<Utc>,
    pub by: String,
    pub text: String,
}

impl RequestRecord {
    /// Moves the request to `state` and notes when.
    pub fn set_state(&mut self, state: RequestState, at: DateTime<Utc>) {
        if self.state != state || self.history.is_empty() {
            self.history.push(StateChange { at, state });
        }
        self.state = state;
    }

    /// Who receives the answer: the third party who asked, else the citizen.
    pub fn recipient(&self) -> Party {
        self.requested_by
            .clone()
            .unwrap_or_else(|| Party::Cpr(self.cpr.clone()))
    }

    /// When the request first entered `state`.
    pub fn entered(&self, state: RequestState) -> Option<DateTime<Utc>> {
        self.history.iter().find(|c| c.state == state).map(|c| c.at)
    }
}

/// A plain record for the crate's tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub(crate) fn record(id: &str, cpr: &str, name: &str) -> RequestRecord {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
        RequestRecord {
            id: id.into(),
            cpr: cpr.into(),
            name: name.into(),
            address: String::new(),
            requester: String::new(),
            period_from: d,
            period_to: d,
            topics: vec![],
            systems: vec![],
            created: chrono::Utc::now(),
            deadline: d,
            state: RequestState::Received,
            runs: Default::default(),
            pdf: None,
            marks: 0,
            documents: 0,
            note: String::new(),
            leaks: 0,
            delivery: None,
            requested_by: None,
            consent: None,
            caseworker: None,
            history: vec![],
            pdf_sha256: None,
            notes: vec![],
            test_run: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_the_first_release_still_read() {
        let old = r#"{"id":"AI-2026-000001-ab12","cpr":"010203-1234","name":"A","address":"","requester":"A",
            "period_from":"1900-01-01","period_to":"2026-11-23","topics":[],"systems":["esdh"],
            "created":"2026-11-23T10:00:00Z","deadline":"2026-12-02","state":"delivered",
            "runs":{"esdh":{"status":"complete","documents":3,"attempts":1,"error":null,"sessions":[],"webdriver_commands":10,"seconds":1.0}},
            "pdf":null,"marks":0,"documents":3,"note":""}"#;
        let r: RequestRecord = serde_json::from_str(old).unwrap();
        assert_eq!(r.state, RequestState::Delivered);
        assert_eq!(r.recipient(), Party::Cpr("010203-1234".into()));
        assert!(r.history.is_empty());
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for s in RequestState::ALL {
            assert_eq!(RequestState::parse(s.as_str()), Some(s));
        }
    }
}
