//! The administrator's page: staff accounts, and the citizens exempt from
//! automatic handling (their requests go straight to a caseworker). Every
//! change is audited by the engine.

use crate::backend::AdminView;
use crate::pages::{error_page, Layout};
use crate::staff::{field, Staff};
use crate::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawForm, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_sessions::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/undtagelse", post(add_exempt))
        .route("/admin/undtagelse/fjern", post(remove_exempt))
}

struct ExemptLine {
    masked: String,
    cpr: String,
    reason: String,
    by: String,
    added: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin.html")]
struct AdminPage {
    layout: Layout,
    staff: Vec<(String, String, String)>,
    exempt: Vec<ExemptLine>,
}

async fn page(State(state): State<AppState>, session: Session, Staff(who): Staff) -> Response {
    let w = who.clone();
    let view: AdminView = match state.call(move |b| b.admin_view(&w)).await {
        Ok(v) => v,
        Err(e) => return error_page(e),
    };
    AdminPage {
        layout: Layout::new(&state, &session, "Administration", Some(&who)).await,
        staff: view.staff,
        exempt: view
            .exempt
            .into_iter()
            .map(|e| ExemptLine {
                masked: marc_request::worklist::masked_cpr(&e.cpr),
                cpr: e.cpr,
                reason: e.reason,
                by: e.by,
                added: e.added,
            })
            .collect(),
    }
    .into_response()
}

async fn set(
    state: AppState,
    who: marc_request::Principal,
    cpr: String,
    reason: Option<String>,
) -> Response {
    match state
        .call(move |b| b.set_exempt(&who, &cpr, reason.as_deref()))
        .await
    {
        Ok(()) => Redirect::to("/admin#undtagne").into_response(),
        Err(e) => error_page(e),
    }
}

async fn add_exempt(
    State(state): State<AppState>,
    Staff(who): Staff,
    RawForm(form): RawForm,
) -> Response {
    let (cpr, reason) = (field(&form, "cpr"), field(&form, "reason"));
    set(state, who, cpr, Some(reason)).await
}

async fn remove_exempt(
    State(state): State<AppState>,
    Staff(who): Staff,
    RawForm(form): RawForm,
) -> Response {
    set(state, who, field(&form, "cpr"), None).await
}
