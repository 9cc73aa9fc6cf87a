//! The audit log in the app, for auditors, managers and administrators:
//! what each person and each robot did, filtered, newest first.

use crate::backend::{AuditQuery, AuditRow, WebError};
use crate::pages::{error_page, Layout};
use crate::staff::Staff;
use crate::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tower_sessions::Session;

pub fn routes() -> Router<AppState> {
    Router::new().route("/revision", get(page))
}

#[derive(Deserialize, Default)]
struct Form {
    #[serde(default)]
    person: String,
    #[serde(default)]
    robot: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    since: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    f: Form,
    rows: Vec<AuditRow>,
    limit: usize,
}

/// At most this many entries on the page (the newest).
const LIMIT: usize = 200;

async fn page(
    State(state): State<AppState>,
    session: Session,
    Staff(who): Staff,
    Query(f): Query<Form>,
) -> Response {
    let since = match f.since.trim() {
        "" => None,
        s => match s.parse::<chrono::NaiveDate>() {
            Ok(d) => Some(d),
            Err(_) => {
                return error_page(WebError::Refused(format!(
                    "»{s}« er ikke en dato; skriv den som ÅÅÅÅ-MM-DD."
                )))
            }
        },
    };
    let q = AuditQuery {
        person: f.person.clone(),
        robot: f.robot.clone(),
        request: f.request.clone(),
        action: f.action.clone(),
        since,
        limit: LIMIT,
    };
    let w = who.clone();
    match state.call(move |b| b.audit_log(&w, &q)).await {
        Ok(rows) => AuditPage {
            layout: Layout::new(&state, &session, "Revisionsspor", Some(&who)).await,
            f,
            rows,
            limit: LIMIT,
        }
        .into_response(),
        Err(e) => error_page(e),
    }
}
