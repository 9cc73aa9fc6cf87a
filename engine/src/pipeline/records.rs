//! The persisted state of a request and of each robot run.

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a request is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    Received,
    Collecting,
    Collected,
    /// All systems answered and the PDF passed the leak check.
    Ready,
    /// A system failed after retries: never delivered as complete.
    Incomplete,
    /// The leak check found marked text in the PDF, or the control level
    /// asks for a caseworker.
    HeldForReview,
    Delivered,
    DeliveryFailed,
    /// The citizen is exempt from automatic handling (see `exemptions`): no
    /// robot runs; a caseworker handles the request by hand.
    ManualHandling,
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
        }
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
    /// `system` …); `None` while pending or when complete.
    #[serde(default)]
    pub failure: Option<crate::runtime::FailureKind>,
}

/// A request as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: String,
    pub cpr: String,
    pub name: String,
    pub address: String,
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
}

/// `days` working days after `from` (offentlighedsloven § 36: 7 working days).
pub fn deadline(from: NaiveDate, days: u32) -> NaiveDate {
    let mut d = from;
    let mut left = days;
    while left > 0 {
        d = d.succ_opt().unwrap_or(d);
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    d
}

#[cfg(test)]
mod tests {
    #[test]
    fn seven_working_days() {
        let mon = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(super::deadline(mon, 7).to_string(), "2026-12-02");
    }
}
