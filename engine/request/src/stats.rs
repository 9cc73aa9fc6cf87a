//! The managers' statistics: how many requests came in, how long they took
//! against the deadline, how they ended, and for whom — over a chosen
//! period. Pure functions over records; the web app draws them.

use crate::record::{RequestRecord, RequestState};
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;

/// How requests are counted over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    Week,
    Month,
}

/// How a request ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// Sent with nothing blacked out.
    pub full: usize,
    /// Sent with redactions.
    pub partial: usize,
    pub refused: usize,
    pub cancelled: usize,
    /// Not ended yet.
    pub open: usize,
}

/// Time from receipt to the answer (sent or refused), in days.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Processing {
    pub answered: usize,
    pub median_days: f64,
    pub p90_days: f64,
    /// Answered on or before the deadline.
    pub within_deadline: usize,
    pub late: usize,
}

/// The statistics of one period.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total: usize,
    /// Requests received per week (`2026-U49`) or month (`2026-12`), in order.
    pub received: Vec<(String, usize)>,
    pub processing: Processing,
    pub outcomes: Outcomes,
    /// Requests per topic asked for ("alle emner" when none was named).
    pub per_topic: Vec<(String, usize)>,
    /// Requests per system searched.
    pub per_system: Vec<(String, usize)>,
    /// The citizens' ages when they asked, in groups.
    pub age_groups: Vec<(String, usize)>,
}

/// The age groups, by their lowest age.
const AGES: [(u32, &str); 5] = [
    (0, "under 18"),
    (18, "18-29"),
    (30, "30-49"),
    (50, "50-66"),
    (67, "67 og derover"),
];

fn bucket(d: NaiveDate, g: Granularity) -> String {
    match g {
        Granularity::Week => {
            let w = d.iso_week();
            format!("{}-U{:02}", w.year(), w.week())
        }
        Granularity::Month => format!("{}-{:02}", d.year(), d.month()),
    }
}

/// Every bucket from `from` to `to`, so a week without requests shows as 0.
fn buckets(from: NaiveDate, to: NaiveDate, g: Granularity) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut d = from;
    while d <= to {
        let b = bucket(d, g);
        if out.last() != Some(&b) {
            out.push(b);
        }
        d = match d.succ_opt() {
            Some(n) => n,
            None => break,
        };
    }
    out
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A citizen's age on `on`, from the birth date in their CPR number.
fn age(cpr: &str, on: NaiveDate) -> Option<u32> {
    let born = cpr.parse::<marc_model::Cpr>().ok()?.birth_date()?;
    on.years_since(born)
}

fn counted(m: BTreeMap<String, usize>) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// The statistics of the requests received from `from` to `to` (dates
/// inclusive, the server's local calendar).
pub fn compute(records: &[RequestRecord], from: NaiveDate, to: NaiveDate, g: Granularity) -> Stats {
    let local = |r: &RequestRecord| r.created.with_timezone(&chrono::Local).date_naive();
    let rows: Vec<&RequestRecord> = records
        .iter()
        .filter(|r| (from..=to).contains(&local(r)))
        .collect();
    let mut received: BTreeMap<String, usize> =
        buckets(from, to, g).into_iter().map(|b| (b, 0)).collect();
    let mut outcomes = Outcomes::default();
    let mut days = Vec::new();
    let (mut within, mut late) = (0, 0);
    let (mut topics, mut systems) = (BTreeMap::new(), BTreeMap::new());
    let mut ages: Vec<usize> = vec![0; AGES.len()];
    for r in &rows {
        *received.entry(bucket(local(r), g)).or_default() += 1;
        match r.state {
            RequestState::Delivered if r.marks == 0 => outcomes.full += 1,
            RequestState::Delivered => outcomes.partial += 1,
            RequestState::Refused => outcomes.refused += 1,
            RequestState::Cancelled => outcomes.cancelled += 1,
            _ => outcomes.open += 1,
        }
        let answered = r
            .entered(RequestState::Delivered)
            .or_else(|| r.entered(RequestState::Refused));
        if let Some(at) = answered {
            days.push((at - r.created).num_seconds() as f64 / 86_400.0);
            if at.with_timezone(&chrono::Local).date_naive() <= r.deadline {
                within += 1;
            } else {
                late += 1;
            }
        }
        if r.topics.is_empty() {
            *topics.entry("alle emner".to_string()).or_default() += 1;
        }
        for t in &r.topics {
            *topics.entry(t.clone()).or_default() += 1;
        }
        for s in &r.systems {
            *systems.entry(s.clone()).or_default() += 1;
        }
        if let Some(a) = age(&r.cpr, local(r)) {
            let i = AGES.iter().rposition(|(lo, _)| a >= *lo).unwrap_or(0);
            ages[i] += 1;
        }
    }
    days.sort_by(|a, b| a.total_cmp(b));
    Stats {
        from,
        to,
        total: rows.len(),
        received: received.into_iter().collect(),
        processing: Processing {
            answered: days.len(),
            median_days: quantile(&days, 0.5),
            p90_days: quantile(&days, 0.9),
            within_deadline: within,
            late,
        },
        outcomes,
        per_topic: counted(topics),
        per_system: counted(systems),
        age_groups: AGES
            .iter()
            .zip(ages)
            .map(|((_, label), n)| (label.to_string(), n))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests_support::record;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn counts_durations_outcomes_topics_systems_and_ages() {
        let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
        // Born 1 February 1990 (serial 1xxx: 1900s) and 5 June 2010.
        let mut a = record("AI-1", "010290-1234", "A");
        a.created = at(2, 10);
        a.deadline = NaiveDate::from_ymd_opt(2026, 11, 11).unwrap();
        a.set_state(RequestState::Delivered, at(4, 10));
        a.topics = vec!["Jobcenter".into()];
        a.systems = vec!["esdh".into(), "legacy".into()];
        let mut b = record("AI-2", "050610-4321", "B");
        b.created = at(3, 10);
        b.deadline = NaiveDate::from_ymd_opt(2026, 11, 12).unwrap();
        b.set_state(RequestState::Delivered, at(3, 10) + Duration::days(12));
        b.marks = 3;
        b.systems = vec!["esdh".into()];
        let mut c = record("AI-3", "010290-1234", "A");
        c.created = at(20, 9);
        c.set_state(RequestState::Refused, at(21, 9));
        c.deadline = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let mut outside = record("AI-4", "010290-1234", "A");
        outside.created = Utc.with_ymd_and_hms(2026, 10, 1, 12, 0, 0).unwrap();
        let from = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let s = compute(&[a, b, c, outside], from, to, Granularity::Week);
        assert_eq!(s.total, 3);
        assert_eq!(s.received.iter().map(|(_, n)| n).sum::<usize>(), 3);
        assert_eq!(
            s.received.first().map(|(w, _)| w.as_str()),
            Some("2026-U44")
        );
        assert!(
            s.received.iter().any(|(_, n)| *n == 0),
            "empty weeks are shown"
        );
        assert_eq!(
            s.outcomes,
            Outcomes {
                full: 1,
                partial: 1,
                refused: 1,
                cancelled: 0,
                open: 0
            }
        );
        assert_eq!(s.processing.answered, 3);
        assert_eq!(s.processing.median_days, 2.0);
        assert_eq!(s.processing.p90_days, 12.0);
        assert_eq!((s.processing.within_deadline, s.processing.late), (2, 1));
        assert_eq!(
            s.per_system,
            [("esdh".to_string(), 2), ("legacy".to_string(), 1)]
        );
        assert!(s.per_topic.contains(&("alle emner".to_string(), 2)));
        let ages: BTreeMap<_, _> = s.age_groups.into_iter().collect();
        assert_eq!(ages["under 18"], 1);
        assert_eq!(ages["30-49"], 2);
        let m = compute(&[], from, to, Granularity::Month);
        assert_eq!(m.received, [("2026-11".to_string(), 0)]);
        assert_eq!(m.processing, Processing::default());
    }
}
