//! Who is looking: the principal a login put in the session. Pages that need
//! a login take [`Viewer`]; without one the browser goes to the login first
//! and comes back to the page it asked for.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use marc_request::Principal;
use tower_sessions::Session;

/// The session key of the logged-in principal.
pub(crate) const KEY: &str = "principal";

/// A logged-in citizen or third party: the citizen side's pages are
/// theirs. Staff work on the staff pages, and get "not found" here, as
/// anyone does for a page not theirs.
pub struct Viewer(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match logged_in(parts, state).await? {
            Some(Principal::Staff { .. }) => {
                Err(crate::pages::error_page(crate::WebError::NotFound))
            }
            Some(p) => Ok(Viewer(p)),
            None => Err(to_login(parts, "/login", "/")),
        }
    }
}

/// The principal a login put in the session, if any.
pub(crate) async fn logged_in<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<Option<Principal>, Response> {
    let session = Session::from_request_parts(parts, state)
        .await
        .map_err(|(s, m)| (s, m).into_response())?;
    Ok(session.get::<Principal>(KEY).await.ok().flatten())
}

/// The way to `login` and back: only our own paths come back (no open
/// redirect), and only for GET — a form posted after the session ended is
/// not replayed; it comes back to `fallback`.
pub(crate) fn to_login(parts: &Parts, login: &str, fallback: &str) -> Response {
    let next = if parts.method == axum::http::Method::GET {
        parts.uri.path()
    } else {
        fallback
    };
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    Redirect::to(&format!("{login}?{q}")).into_response()
}

/// A path of ours to return to after login; anything else goes home.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_local_paths_come_back() {
        assert_eq!(super::safe_next(Some("/anmodning/AI-1")), "/anmodning/AI-1");
        assert_eq!(super::safe_next(Some("//evil.example/")), "/");
        assert_eq!(super::safe_next(Some("https://evil.example/")), "/");
        assert_eq!(super::safe_next(Some("/\\evil")), "/");
        assert_eq!(super::safe_next(None), "/");
    }
}
