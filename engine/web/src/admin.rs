//! The administrator's page: staff accounts; the citizens exempt from
//! automatic handling (their requests go straight to a caseworker); the
//! sensitive words (with a preview of the forms that will be marked),
//! allow-listed institutions' addresses, and the departments whose answers
//! always wait for a caseworker. Every change is audited by the engine.

use crate::backend::AdminView;
use crate::pages::{error_page, Layout};
use crate::staff::{field, Staff};
use crate::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, RawForm, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_sessions::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/undtagelse", post(add_exempt))
        .route("/admin/undtagelse/fjern", post(remove_exempt))
        .route("/admin/liste", post(change_list))
        .route("/admin/frist", post(deadline))
        .route("/admin/testkoersel", post(test_run))
        .route("/admin/medarbejder", post(add_staff))
        .route("/admin/medarbejder/fjern", post(remove_staff))
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
    view: AdminView,
    /// Each department, and whether its answers wait for a caseworker.
    levels: Vec<(String, bool)>,
    /// The word whose forms are previewed, and the forms.
    preview: Option<(String, Vec<String>)>,
}

#[derive(serde::Deserialize)]
struct PreviewQuery {
    #[serde(default)]
    ord: String,
}

async fn page(
    State(state): State<AppState>,
    session: Session,
    Staff(who): Staff,
    Query(q): Query<PreviewQuery>,
) -> Response {
    let (w, word) = (who.clone(), q.ord.trim().to_string());
    let got = state
        .call(move |b| {
            let view = b.admin_view(&w)?;
            let preview = if word.is_empty() {
                None
            } else {
                Some((word.clone(), b.word_preview(&w, &word)?))
            };
            Ok((view, preview))
        })
        .await;
    let (mut view, preview) = match got {
        Ok(v) => v,
        Err(e) => return error_page(e),
    };
    let exempt = std::mem::take(&mut view.exempt);
    let levels = view
        .departments
        .iter()
        .map(|d| {
            let review = view
                .review_departments
                .iter()
                .any(|r| r.eq_ignore_ascii_case(d));
            (d.clone(), review)
        })
        .collect();
    AdminPage {
        levels,
        layout: Layout::new(&state, &session, "Administration", Some(&who)).await,
        staff: std::mem::take(&mut view.staff),
        view,
        preview,
        exempt: exempt
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

/// Adds an item to a list, or removes it (`op=fjern`).
async fn change_list(
    State(state): State<AppState>,
    Staff(who): Staff,
    RawForm(form): RawForm,
) -> Response {
    let (list, item) = (field(&form, "list"), field(&form, "item"));
    let add = field(&form, "op") != "fjern";
    let anchor = format!("/admin#{list}");
    match state
        .call(move |b| b.set_list(&who, &list, &item, add))
        .await
    {
        Ok(()) => Redirect::to(&anchor).into_response(),
        Err(e) => error_page(e),
    }
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

async fn add_staff(
    State(state): State<AppState>,
    Staff(who): Staff,
    RawForm(form): RawForm,
) -> Response {
    let (user, role, password) = (
        field(&form, "user"),
        field(&form, "role"),
        field(&form, "password"),
    );
    match state
        .call(move |b| b.staff_add(&who, &user, &role, &password))
        .await
    {
        Ok(()) => Redirect::to("/admin#medarbejdere").into_response(),
        Err(e) => error_page(e),
    }
}

async fn remove_staff(
    State(state): State<AppState>,
    Staff(who): Staff,
    RawForm(form): RawForm,
) -> Response {
    let user = field(&form, "user");
    match state.call(move |b| b.staff_remove(&who, &user)).await {
        Ok(()) => Redirect::to("/admin#medarbejdere").into_response(),
        Err(e) => error_page(e),
    }
}

async fn deadline(
    State(state): State<AppState>,
    Staff(who): Staff,
    RawForm(form): RawForm,
) -> Response {
    let Ok(days) = field(&form, "days").trim().parse::<u32>() else {
        return error_page(crate::WebError::Refused(
            "Skriv fristen som et antal arbejdsdage.".into(),
        ));
    };
    match state.call(move |b| b.set_deadline_days(&who, days)).await {
        Ok(()) => Redirect::to("/admin#frist").into_response(),
        Err(e) => error_page(e),
    }
}

async fn test_run(
    State(state): State<AppState>,
    Staff(who): Staff,
    RawForm(form): RawForm,
) -> Response {
    let (system, cpr) = (field(&form, "system"), field(&form, "cpr"));
    match state.call(move |b| b.test_run(&who, &system, &cpr)).await {
        Ok(_) => Redirect::to("/admin#testkoersler").into_response(),
        Err(e) => error_page(e),
    }
}
