//! A robot session's trace inside the app: the page `marc replay --html`
//! writes (every step, its arguments and result, and its screenshot;
//! secrets were masked when it was recorded), served under the case it
//! belongs to, for caseworkers and auditors. The page carries its own
//! style and script inline, so it gets a policy of its own that allows
//! exactly that and nothing from elsewhere.

use crate::pages::error_page;
use crate::staff::Staff;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// The trace page's policy: its inline style and script, its own images.
const TRACE_CSP: &str = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sager/{id}/robot/{session}", get(to_index))
        .route("/sager/{id}/robot/{session}/", get(page))
        .route("/sager/{id}/robot/{session}/shots/{file}", get(shot))
}

/// The page fetches `shots/…` beside itself, so it lives at a folder URL.
async fn to_index(Path((id, session)): Path<(String, String)>) -> Response {
    Redirect::to(&format!("/sager/{id}/robot/{session}/")).into_response()
}

async fn page(
    State(state): State<AppState>,
    Staff(who): Staff,
    Path((id, session)): Path<(String, String)>,
) -> Response {
    match state.call(move |b| b.trace_page(&who, &id, &session)).await {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_SECURITY_POLICY, TRACE_CSP),
            ],
            html,
        )
            .into_response(),
        Err(e) => error_page(e),
    }
}

async fn shot(
    State(state): State<AppState>,
    Staff(who): Staff,
    Path((id, session, file)): Path<(String, String, String)>,
) -> Response {
    let Some(hash) = file.strip_suffix(".png").map(str::to_string) else {
        return error_page(crate::WebError::NotFound);
    };
    match state
        .call(move |b| b.trace_shot(&who, &id, &session, &hash))
        .await
    {
        Ok(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        Err(e) => error_page(e),
    }
}
