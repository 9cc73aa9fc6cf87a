//! The managers' statistics page: numbers for a chosen period, bar charts
//! drawn as SVG on the server (no script, no chart library), and the same
//! figures as CSV. The figures come from `marc_request::stats`.

use crate::backend::WebError;
use crate::pages::{error_page, today, Layout};
use crate::staff::Staff;
use crate::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Duration, NaiveDate};
use marc_request::stats::{Granularity, Stats};
use serde::Deserialize;
use tower_sessions::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/statistik", get(page))
        .route("/statistik.csv", get(csv_export))
}

#[derive(Deserialize, Default)]
struct Period {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    per: String,
}

impl Period {
    /// The period asked for; default the last twelve weeks, per week.
    fn parse(&self) -> Result<(NaiveDate, NaiveDate, Granularity), WebError> {
        let date = |s: &str, default: NaiveDate, what: &str| {
            if s.trim().is_empty() {
                return Ok(default);
            }
            s.trim().parse::<NaiveDate>().map_err(|_| {
                WebError::Refused(format!(
                    "{what} »{s}« er ikke en dato; skriv den som ÅÅÅÅ-MM-DD."
                ))
            })
        };
        let to = date(&self.to, today(), "Slutdatoen")?;
        let from = date(&self.from, to - Duration::weeks(12), "Startdatoen")?;
        let per = if self.per == "month" {
            Granularity::Month
        } else {
            Granularity::Week
        };
        Ok((from, to, per))
    }
}

/// One bar of a horizontal bar chart, placed.
struct Bar {
    label: String,
    value: String,
    y: usize,
    text_y: usize,
    width: usize,
    value_x: usize,
}

/// A chart: title, size and bars, with a text alternative.
struct Chart {
    id: &'static str,
    title: &'static str,
    height: usize,
    bars: Vec<Bar>,
    /// What the chart shows, for those who do not see it.
    summary: String,
}

const ROW: usize = 26;
const LABEL_W: usize = 170;
const BAR_W: usize = 360;

fn chart(id: &'static str, title: &'static str, data: &[(String, usize)]) -> Chart {
    let max = data.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let bars = data
        .iter()
        .enumerate()
        .map(|(i, (label, n))| {
            let width = if *n == 0 { 0 } else { (n * BAR_W / max).max(2) };
            Bar {
                label: label.clone(),
                value: n.to_string(),
                y: i * ROW + 4,
                text_y: i * ROW + 18,
                width,
                value_x: LABEL_W + width + 6,
            }
        })
        .collect();
    let summary = data
        .iter()
        .map(|(l, n)| format!("{l}: {n}"))
        .collect::<Vec<_>>()
        .join("; ");
    Chart {
        id,
        title,
        height: data.len().max(1) * ROW + 8,
        bars,
        summary: format!("{title}. {summary}"),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "stats.html")]
struct StatsPage {
    layout: Layout,
    from: String,
    to: String,
    monthly: bool,
    s: Stats,
    median: String,
    p90: String,
    charts: Vec<Chart>,
    csv: String,
}

fn days(d: f64) -> String {
    format!("{d:.1}").replace('.', ",")
}

async fn stats_for(
    state: &AppState,
    who: &marc_request::Principal,
    p: &Period,
) -> Result<Stats, WebError> {
    let (from, to, per) = p.parse()?;
    let w = who.clone();
    state.call(move |b| b.statistics(&w, from, to, per)).await
}

async fn page(
    State(state): State<AppState>,
    session: Session,
    Staff(who): Staff,
    Query(p): Query<Period>,
) -> Response {
    let s = match stats_for(&state, &who, &p).await {
        Ok(s) => s,
        Err(e) => return error_page(e),
    };
    let o = &s.outcomes;
    let outcomes = vec![
        ("Fuld aktindsigt".to_string(), o.full),
        ("Delvis aktindsigt".to_string(), o.partial),
        ("Afslag".to_string(), o.refused),
        ("Trukket tilbage".to_string(), o.cancelled),
        ("Ikke afsluttet".to_string(), o.open),
    ];
    let charts = vec![
        chart(
            "received",
            if p.per == "month" {
                "Modtagne anmodninger pr. måned"
            } else {
                "Modtagne anmodninger pr. uge"
            },
            &s.received,
        ),
        chart("outcomes", "Udfald", &outcomes),
        chart("topics", "Pr. emne (afdeling)", &s.per_topic),
        chart("systems", "Pr. system", &s.per_system),
        chart("ages", "Ansøgernes alder", &s.age_groups),
    ];
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("from", &s.from.to_string())
        .append_pair("to", &s.to.to_string())
        .append_pair("per", if p.per == "month" { "month" } else { "week" })
        .finish();
    StatsPage {
        layout: Layout::new(&state, &session, "Statistik", Some(&who)).await,
        from: s.from.to_string(),
        to: s.to.to_string(),
        monthly: p.per == "month",
        median: days(s.processing.median_days),
        p90: days(s.processing.p90_days),
        s,
        charts,
        csv: format!("/statistik.csv?{q}"),
    }
    .into_response()
}

/// The figures as CSV: one row per (section, label, value).
fn to_csv(s: &Stats) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["afsnit", "navn", "værdi"])?;
    let mut rows: Vec<(&str, String, String)> = vec![
        ("periode", "fra".into(), s.from.to_string()),
        ("periode", "til".into(), s.to.to_string()),
        ("i alt", "anmodninger".into(), s.total.to_string()),
        (
            "behandlingstid",
            "besvaret".into(),
            s.processing.answered.to_string(),
        ),
        (
            "behandlingstid",
            "median dage".into(),
            format!("{:.2}", s.processing.median_days),
        ),
        (
            "behandlingstid",
            "90 % fraktil dage".into(),
            format!("{:.2}", s.processing.p90_days),
        ),
        (
            "behandlingstid",
            "inden for fristen".into(),
            s.processing.within_deadline.to_string(),
        ),
        (
            "behandlingstid",
            "efter fristen".into(),
            s.processing.late.to_string(),
        ),
        ("udfald", "fuld".into(), s.outcomes.full.to_string()),
        ("udfald", "delvis".into(), s.outcomes.partial.to_string()),
        ("udfald", "afslag".into(), s.outcomes.refused.to_string()),
        (
            "udfald",
            "trukket tilbage".into(),
            s.outcomes.cancelled.to_string(),
        ),
        (
            "udfald",
            "ikke afsluttet".into(),
            s.outcomes.open.to_string(),
        ),
    ];
    for (section, data) in [
        ("modtaget", &s.received),
        ("emne", &s.per_topic),
        ("system", &s.per_system),
        ("alder", &s.age_groups),
    ] {
        rows.extend(
            data.iter()
                .map(|(l, n)| (section, l.clone(), n.to_string())),
        );
    }
    for (a, b, c) in rows {
        w.write_record([a, b.as_str(), c.as_str()])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

async fn csv_export(
    State(state): State<AppState>,
    Staff(who): Staff,
    Query(p): Query<Period>,
) -> Response {
    let s = match stats_for(&state, &who, &p).await {
        Ok(s) => s,
        Err(e) => return error_page(e),
    };
    match to_csv(&s) {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"statistik-{}-{}.csv\"", s.from, s.to),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => error_page(WebError::Internal(format!("cannot write the CSV: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_zero_draws_nothing() {
        let c = chart(
            "t",
            "T",
            &[("a".into(), 4), ("b".into(), 2), ("c".into(), 0)],
        );
        assert_eq!(c.bars[0].width, BAR_W);
        assert_eq!(c.bars[1].width, BAR_W / 2);
        assert_eq!(c.bars[2].width, 0);
        assert_eq!(c.height, 3 * ROW + 8);
        assert!(c.summary.contains("a: 4; b: 2; c: 0"));
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let s = Stats {
            per_topic: vec![("Børn og Unge, \"særlige\"".into(), 3)],
            ..Default::default()
        };
        let text = String::from_utf8(to_csv(&s).unwrap()).unwrap();
        assert!(text.starts_with("afsnit,navn,værdi\n"), "{text}");
        assert!(
            text.contains("emne,\"Børn og Unge, \"\"særlige\"\"\",3\n"),
            "{text}"
        );
    }
}
