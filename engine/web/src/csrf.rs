//! Cross-site request forgery: every form carries a token bound to the
//! session ([`token`]), and [`check`] refuses any state-changing request
//! whose token is missing or wrong — before a handler runs. The origin check
//! of tower-http ([`origin_layer`]) stands in front of it as a second line.
//!
//! The token comes in the form field `csrf` (url-encoded forms) or, for
//! file uploads (multipart), in the query string.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

/// The session key of the token.
const KEY: &str = "csrf";
/// Largest url-encoded form read for the check (uploads are multipart).
const FORM_LIMIT: usize = 1 << 20;

/// The session's token, made on first use.
pub async fn token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(KEY).await {
        return t;
    }
    let t = hex::encode(rand::random::<[u8; 32]>());
    if let Err(e) = session.insert(KEY, &t).await {
        tracing::warn!("cannot store the CSRF token in the session: {e}");
    }
    t
}

/// Why a state change was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The session has no token: it expired, or the form came from elsewhere.
    NoSession,
    /// The form's token is missing or not the session's.
    BadToken,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            Refusal::NoSession => (
                StatusCode::UNAUTHORIZED,
                "Din session er udløbet, så formularen blev ikke sendt. Intet er gået tabt: log ind igen og udfyld den på ny.",
            ),
            Refusal::BadToken => (
                StatusCode::FORBIDDEN,
                "Formularen kunne ikke godkendes (den mangler sit sikkerhedsfelt eller er for gammel). Gå tilbage, genindlæs siden og prøv igen.",
            ),
        };
        crate::pages::message_page(status, "Formularen blev ikke sendt", text)
    }
}

/// The token a request carries: the `csrf` field of a url-encoded body (the
/// body is read and handed on unchanged), else the `csrf` query parameter.
async fn carried(req: Request) -> Result<(Option<String>, Request), Response> {
    let from_query = req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == KEY)
            .map(|(_, v)| v.into_owned())
    });
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((from_query, req));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    let from_form = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == KEY)
        .map(|(_, v)| v.into_owned());
    Ok((from_form, Request::from_parts(parts, Body::from(bytes))))
}

/// The pure decision: may a request with `carried` go on, given the
/// session's token?
pub fn decide(session_token: Option<&str>, carried: Option<&str>) -> Result<(), Refusal> {
    let Some(expected) = session_token else {
        return Err(Refusal::NoSession);
    };
    match carried {
        Some(t) if bool::from(t.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
        _ => Err(Refusal::BadToken),
    }
}

/// The middleware: safe methods pass; any other needs the session's token.
pub async fn check(session: Session, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let expected = session.get::<String>(KEY).await.ok().flatten();
    let (carried, req) = match carried(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match decide(expected.as_deref(), carried.as_deref()) {
        Ok(()) => next.run(req).await,
        Err(refusal) => {
            tracing::info!("a form was refused: {refusal:?}");
            refusal.into_response()
        }
    }
}

/// tower-http's origin check (Sec-Fetch-Site / Origin): a cross-site
/// state change is refused even before the token is looked at.
pub fn origin_layer() -> tower_http::csrf::CsrfLayer {
    tower_http::csrf::CsrfLayer::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sessions_own_token_passes() {
        assert_eq!(decide(Some("abc"), Some("abc")), Ok(()));
        assert_eq!(decide(Some("abc"), Some("abd")), Err(Refusal::BadToken));
        assert_eq!(decide(Some("abc"), None), Err(Refusal::BadToken));
        assert_eq!(decide(None, Some("abc")), Err(Refusal::NoSession));
    }
}
