//! The caseworker's review of an answer: the request's documents with each
//! mark highlighted by kind and the rule that made it; marks rejected,
//! added (by selecting text) or made for every occurrence of a term;
//! documents left out with a legal reason or uploaded; every decision
//! listed and undoable until the answer is sent. The decisions are the
//! engine's ([`marc_request::review`]); these handlers read a form, make
//! one backend call and go back to the page.

use crate::backend::WebError;
use crate::pages::{error_page, Layout};
use crate::staff::{field, Caseworker};
use crate::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, RawForm, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use marc_model::MarkKind;
use marc_request::review::{
    kind_dansk, Action, Origin, Review, ReviewChange, Reviewed, ReviewedDoc, EXCLUSION_REASONS,
};
use marc_request::{Principal, RequestState};
use serde::Deserialize;
use tower_sessions::Session;

/// The largest document a caseworker may upload.
pub const UPLOAD_LIMIT: usize = 20 * 1024 * 1024;

/// The review routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sager/{id}/dokumenter", get(overview))
        .route("/sager/{id}/dokument", get(document))
        .route("/sager/{id}/beslut", post(decide))
        .route(
            "/sager/{id}/tilfoej",
            // The limit is checked by the handler (a page that says so);
            // axum's own stops a body that is larger still.
            post(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT + 64 * 1024)),
        )
        .route("/static/review.js", get(script))
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../static/review.js"),
    )
        .into_response()
}

/// A mark kind a caseworker may choose, for the forms' lists.
struct KindOption {
    value: &'static str,
    label: &'static str,
}

fn kind_options() -> Vec<KindOption> {
    MarkKind::ALL
        .iter()
        .map(|k| KindOption {
            value: k.as_str(),
            label: kind_dansk(*k),
        })
        .collect()
}

fn parse_kind(s: &str) -> Option<MarkKind> {
    MarkKind::ALL.into_iter().find(|k| k.as_str() == s)
}

/// Where a case's document page is.
fn doc_href(id: &str, key: &str) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    s.append_pair("d", key);
    format!("/sager/{id}/dokument?{}", s.finish())
}

/// Whether the answer may still be changed and approved.
fn open_for_review(state: RequestState) -> bool {
    matches!(
        state,
        RequestState::HeldForReview
            | RequestState::Ready
            | RequestState::DeliveryFailed
            | RequestState::Incomplete
    )
}

// ---- the overview -----------------------------------------------------------

struct DocRow {
    href: String,
    title: String,
    system: String,
    date: String,
    marks: usize,
    rejected: usize,
    status: String,
}

struct DecisionRow {
    id: u64,
    text: String,
    by: String,
    at: String,
    undone: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "review.html")]
struct OverviewPage {
    layout: Layout,
    id: String,
    revision: u64,
    editable: bool,
    may_approve: bool,
    state: String,
    hold: String,
    docs: Vec<DocRow>,
    decisions: Vec<DecisionRow>,
    kinds: Vec<KindOption>,
    upload_limit_mb: usize,
}

fn decision_rows(review: &Review) -> Vec<DecisionRow> {
    let when = |t: &chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono::Local)
            .format("%d-%m-%Y %H:%M")
            .to_string()
    };
    review
        .decisions
        .iter()
        .rev()
        .map(|d| DecisionRow {
            id: d.id,
            text: d.action.dansk(),
            by: d.by.clone(),
            at: when(&d.at),
            undone: d
                .undone
                .as_ref()
                .map(|u| format!("fortrudt af {}, {}", u.by, when(&u.at))),
        })
        .collect()
}

async fn load(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> Result<(marc_request::RequestRecord, Review, Vec<ReviewedDoc>), WebError> {
    let (w, i) = (who.clone(), id.to_string());
    state
        .call(move |b| {
            let rec = b.request(&w, &i)?;
            let (review, docs) = b.review(&w, &i)?;
            Ok((rec, review, docs))
        })
        .await
}

async fn overview(
    State(state): State<AppState>,
    session: Session,
    Caseworker(who): Caseworker,
    Path(id): Path<String>,
) -> Response {
    let (rec, review, docs) = match load(&state, &who, &id).await {
        Ok(x) => x,
        Err(e) => return error_page(e),
    };
    let rows = docs
        .iter()
        .map(|d| {
            let all: Vec<&Reviewed> = d.parts.iter().flat_map(|p| &p.marks).collect();
            let rejected = all.iter().filter(|m| m.rejected_by.is_some()).count();
            DocRow {
                href: doc_href(&id, &d.doc.key()),
                title: d.doc.title.clone(),
                system: d.doc.system.clone(),
                date: d.doc.date.clone(),
                marks: all.len() - rejected,
                rejected,
                status: match (d.excluded, d.added) {
                    (Some(why), _) => format!("Undtaget: {}", why.label),
                    (None, true) => "Tilføjet af sagsbehandler".into(),
                    (None, false) => "Med i svaret".into(),
                },
            }
        })
        .collect();
    let editable = open_for_review(rec.state);
    OverviewPage {
        layout: Layout::new(
            &state,
            &session,
            &format!("Dokumenter i sag {id}"),
            Some(&who),
        )
        .await,
        may_approve: matches!(
            rec.state,
            RequestState::HeldForReview | RequestState::Ready | RequestState::DeliveryFailed
        ),
        state: rec.state.dansk().to_string(),
        hold: if marc_request::worklist::waits_for_a_person(rec.state) {
            rec.note.clone()
        } else {
            String::new()
        },
        id,
        revision: review.revision,
        editable,
        docs: rows,
        decisions: decision_rows(&review),
        kinds: kind_options(),
        upload_limit_mb: UPLOAD_LIMIT / (1024 * 1024),
    }
    .into_response()
}

// ---- one document -----------------------------------------------------------

/// A run of a part's text: plain, or one mark. `at` is its first
/// character's offset in the part (the page's script reports selections
/// by it).
struct Segment {
    text: String,
    at: usize,
    /// CSS class of the mark (`mark-name`, `… rejected`); empty: plain.
    class: String,
    /// The mark's number in the part's table.
    number: usize,
}

struct MarkRow {
    number: usize,
    kind: &'static str,
    text: String,
    rule: String,
    confidence: String,
    review: bool,
    by_caseworker: bool,
    /// The decision that rejected it, or that added it (to undo).
    undo: Option<u64>,
    rejected: bool,
    start: usize,
    end: usize,
}

struct PartView {
    number: usize,
    heading: String,
    segments: Vec<Segment>,
    marks: Vec<MarkRow>,
}

struct ReasonOption {
    code: &'static str,
    label: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "document.html")]
struct DocumentPage {
    layout: Layout,
    id: String,
    key: String,
    back: String,
    title: String,
    system: String,
    date: String,
    kind: String,
    department: String,
    revision: u64,
    editable: bool,
    excluded: Option<String>,
    /// The decision that excluded it (to undo).
    excluded_by: Option<u64>,
    added: bool,
    parts: Vec<PartView>,
    kinds: Vec<KindOption>,
    reasons: Vec<ReasonOption>,
}

/// Splits a part's text into plain runs and marks, in order. A mark that
/// overlaps one already shown (a caseworker's mark over screening's) is
/// listed in the table only.
fn segments(text: &str, marks: &[Reviewed]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut chars_before = 0;
    let push = |out: &mut Vec<Segment>, s: &str, class: String, number: usize, at: usize| {
        if !s.is_empty() {
            out.push(Segment {
                text: s.to_string(),
                at,
                class,
                number,
            });
        }
    };
    for (i, m) in marks.iter().enumerate() {
        let (start, end) = (m.mark.start, m.mark.end);
        if start < pos
            || end > text.len()
            || !text.is_char_boundary(start)
            || !text.is_char_boundary(end)
        {
            continue;
        }
        let plain = &text[pos..start];
        push(&mut out, plain, String::new(), 0, chars_before);
        chars_before += plain.chars().count();
        let marked = &text[start..end];
        let class = format!(
            "mark mark-{}{}",
            m.mark.kind.as_str(),
            if m.rejected_by.is_some() {
                " rejected"
            } else {
                ""
            }
        );
        push(&mut out, marked, class, i + 1, chars_before);
        chars_before += marked.chars().count();
        pos = end;
    }
    push(&mut out, &text[pos..], String::new(), 0, chars_before);
    out
}

fn mark_rows(marks: &[Reviewed]) -> Vec<MarkRow> {
    marks
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let by_caseworker = matches!(r.origin, Origin::Caseworker(_));
            MarkRow {
                number: i + 1,
                kind: kind_dansk(r.mark.kind),
                text: r.mark.text.clone(),
                rule: r.mark.reason.clone(),
                confidence: format!("{:.0} %", r.mark.confidence * 100.0),
                review: r.mark.review,
                by_caseworker,
                undo: match (r.rejected_by, &r.origin) {
                    (Some(d), _) => Some(d),
                    (None, Origin::Caseworker(d)) => Some(*d),
                    (None, Origin::Screening) => None,
                },
                rejected: r.rejected_by.is_some(),
                start: r.mark.start,
                end: r.mark.end,
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct DocQuery {
    d: String,
}

async fn document(
    State(state): State<AppState>,
    session: Session,
    Caseworker(who): Caseworker,
    Path(id): Path<String>,
    Query(q): Query<DocQuery>,
) -> Response {
    let (rec, review, docs) = match load(&state, &who, &id).await {
        Ok(x) => x,
        Err(e) => return error_page(e),
    };
    let Some(d) = docs.into_iter().find(|d| d.doc.key() == q.d) else {
        return error_page(WebError::NotFound);
    };
    let excluded_by = review.standing().find_map(|x| match &x.action {
        Action::Exclude { doc, .. } if *doc == q.d => Some(x.id),
        _ => None,
    });
    let parts = d
        .parts
        .iter()
        .enumerate()
        .map(|(n, p)| PartView {
            number: n,
            heading: if n == 0 {
                "Dokumentets tekst".into()
            } else {
                format!("Bilag: {}", p.name)
            },
            segments: segments(&p.text, &p.marks),
            marks: mark_rows(&p.marks),
        })
        .collect();
    DocumentPage {
        layout: Layout::new(&state, &session, &d.doc.title, Some(&who)).await,
        back: doc_href(&id, &q.d),
        key: q.d,
        title: d.doc.title.clone(),
        system: d.doc.system.clone(),
        date: d.doc.date.clone(),
        kind: d.doc.kind.clone(),
        department: d.doc.department.clone(),
        revision: review.revision,
        editable: open_for_review(rec.state),
        excluded: d.excluded.map(|r| r.label.to_string()),
        excluded_by,
        added: d.added,
        parts,
        kinds: kind_options(),
        reasons: EXCLUSION_REASONS
            .iter()
            .map(|r| ReasonOption {
                code: r.code,
                label: r.label,
            })
            .collect(),
        id,
    }
    .into_response()
}

// ---- decisions --------------------------------------------------------------

/// The change a review form asks for (`op` names it).
fn change_from_form(form: &[u8]) -> Result<ReviewChange, WebError> {
    let f = |name: &str| field(form, name);
    let number = |name: &str| -> Result<usize, WebError> {
        f(name).trim().parse().map_err(|_| {
            WebError::Refused(format!("Feltet »{name}« mangler eller er ikke et tal."))
        })
    };
    let kind = || {
        parse_kind(&f("kind"))
            .ok_or_else(|| WebError::Refused("Vælg, hvad der skal markeres.".into()))
    };
    let change = match f("op").as_str() {
        "afvis" => ReviewChange::Decide(Action::RejectMark {
            doc: f("d"),
            part: number("part")?,
            start: number("start")?,
            end: number("end")?,
            text: f("text"),
        }),
        "afvis-alle" => ReviewChange::Decide(Action::RejectAll { text: f("text") }),
        "marker" => ReviewChange::MarkSelection {
            doc: f("d"),
            part: number("part").unwrap_or(0),
            selected: f("text"),
            near: number("at").ok(),
            kind: kind()?,
        },
        "marker-alle" => ReviewChange::Decide(Action::MarkAll {
            term: f("text").trim().to_string(),
            kind: kind()?,
        }),
        "undtag" => ReviewChange::Decide(Action::Exclude {
            doc: f("d"),
            reason: f("reason"),
        }),
        "fortryd" => ReviewChange::Undo(f("decision").trim().parse().ok()),
        _ => return Err(WebError::Refused("Ukendt handling.".into())),
    };
    Ok(change)
}

/// Back to the page the form was on (a page of this case only).
fn back_to(id: &str, back: &str) -> String {
    let case = format!("/sager/{id}/");
    if back.starts_with(&case) && !back.contains("//") {
        back.to_string()
    } else {
        format!("/sager/{id}/dokumenter")
    }
}

fn seen_revision(form_value: &str) -> Result<u64, WebError> {
    form_value.trim().parse().map_err(|_| {
        WebError::Refused("Formularen mangler sagens version; genindlæs siden.".into())
    })
}

async fn decide(
    State(state): State<AppState>,
    Caseworker(who): Caseworker,
    Path(id): Path<String>,
    RawForm(form): RawForm,
) -> Response {
    let change = match change_from_form(&form) {
        Ok(c) => c,
        Err(e) => return error_page(e),
    };
    let seen = match seen_revision(&field(&form, "revision")) {
        Ok(s) => s,
        Err(e) => return error_page(e),
    };
    let back = back_to(&id, &field(&form, "back"));
    let i = id.clone();
    match state
        .call(move |b| b.change_review(&who, &i, seen, change))
        .await
    {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => error_page(e),
    }
}

/// A refusal for a file that is too large, before any of it is stored.
fn too_large() -> Response {
    crate::pages::message_page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Filen er for stor",
        &format!(
            "Et dokument må højst fylde {} MB. Intet er tilføjet.",
            UPLOAD_LIMIT / (1024 * 1024)
        ),
    )
}

/// A declared upload larger than this is refused at once (the connection
/// closes); up to it, the body is read and thrown away first, so the
/// browser gets the page that says why instead of a broken connection.
const DRAIN_AT_MOST: usize = 1024 * 1024 * 1024;

async fn upload(
    State(state): State<AppState>,
    Caseworker(who): Caseworker,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared.filter(|n| *n > UPLOAD_LIMIT + 64 * 1024) {
        if n <= DRAIN_AT_MOST {
            use futures_util::StreamExt;
            let mut body = request.into_body().into_data_stream();
            while let Some(Ok(_)) = body.next().await {}
        }
        return too_large();
    }
    let mut multipart = match Multipart::from_request(request, &state).await {
        Ok(m) => m,
        Err(_) => {
            return error_page(WebError::Refused(
                "Formularen skal sendes som en filoverførsel.".into(),
            ))
        }
    };
    let (mut seen, mut title, mut file_name, mut bytes) =
        (String::new(), String::new(), String::new(), None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_large(),
            Err(e) => {
                return error_page(WebError::Refused(format!("Filen kom ikke helt frem: {e}")))
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            file_name = field.file_name().unwrap_or_default().to_string();
        }
        let data = match field.bytes().await {
            Ok(d) => d,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_large(),
            Err(e) => {
                return error_page(WebError::Refused(format!("Filen kom ikke helt frem: {e}")))
            }
        };
        match name.as_str() {
            "revision" => seen = String::from_utf8_lossy(&data).into_owned(),
            "title" => title = String::from_utf8_lossy(&data).into_owned(),
            "file" => bytes = Some(data.to_vec()),
            _ => {}
        }
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        return error_page(WebError::Refused("Vælg en fil.".into()));
    };
    if bytes.len() > UPLOAD_LIMIT {
        return too_large();
    }
    let seen = match seen_revision(&seen) {
        Ok(s) => s,
        Err(e) => return error_page(e),
    };
    let i = id.clone();
    let change = ReviewChange::Upload {
        file_name,
        title,
        bytes,
    };
    match state
        .call(move |b| b.change_review(&who, &i, seen, change))
        .await
    {
        Ok(_) => Redirect::to(&format!("/sager/{id}/dokumenter")).into_response(),
        Err(e) => error_page(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marc_model::Mark;

    fn reviewed(text: &str, word: &str, rejected: bool) -> Reviewed {
        let start = text.find(word).unwrap();
        Reviewed {
            mark: Mark {
                start,
                end: start + word.len(),
                kind: MarkKind::Name,
                text: word.into(),
                confidence: 0.9,
                reason: "r".into(),
                review: false,
            },
            origin: Origin::Screening,
            rejected_by: rejected.then_some(1),
        }
    }

    #[test]
    fn segments_cover_the_text_once_with_character_offsets() {
        let t = "Søs Ærø mødte Åse Holm og Åse igen.";
        let marks = vec![
            reviewed(t, "Åse Holm", false),
            // Overlaps the first: shown in the table only.
            reviewed(t, "Holm", true),
            reviewed(t, "Åse igen", true),
        ];
        let segs = segments(t, &marks);
        let joined: String = segs.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(joined, t);
        let marked: Vec<(&str, usize, &str)> = segs
            .iter()
            .filter(|s| !s.class.is_empty())
            .map(|s| (s.text.as_str(), s.at, s.class.as_str()))
            .collect();
        assert_eq!(
            marked,
            [
                ("Åse Holm", 14, "mark mark-name"),
                ("Åse igen", 26, "mark mark-name rejected")
            ]
        );
        assert_eq!(segs[0].at, 0);
    }

    #[test]
    fn forms_become_changes_or_clear_refusals() {
        let c = change_from_form(b"op=afvis&d=a%2Fb%2Fc&part=0&start=3&end=9&text=Ida").unwrap();
        assert!(matches!(
            c,
            ReviewChange::Decide(Action::RejectMark {
                start: 3,
                end: 9,
                ..
            })
        ));
        let c = change_from_form(b"op=marker&d=k&text=Ida+Holm&at=12&kind=name").unwrap();
        assert!(matches!(
            c,
            ReviewChange::MarkSelection { near: Some(12), .. }
        ));
        assert!(
            change_from_form(b"op=marker-alle&text=Ida").is_err(),
            "no kind"
        );
        assert!(change_from_form(b"op=afvis&d=k&part=x").is_err());
        assert!(change_from_form(b"op=slet").is_err());
        assert!(matches!(
            change_from_form(b"op=fortryd").unwrap(),
            ReviewChange::Undo(None)
        ));
    }

    #[test]
    fn the_way_back_stays_on_the_case() {
        assert_eq!(
            back_to("AI-1", "/sager/AI-1/dokument?d=x"),
            "/sager/AI-1/dokument?d=x"
        );
        assert_eq!(
            back_to("AI-1", "https://evil.example/"),
            "/sager/AI-1/dokumenter"
        );
        assert_eq!(
            back_to("AI-1", "/sager/AI-2/dokumenter"),
            "/sager/AI-1/dokumenter"
        );
        assert_eq!(
            back_to("AI-1", "/sager/AI-1//evil"),
            "/sager/AI-1/dokumenter"
        );
    }
}
