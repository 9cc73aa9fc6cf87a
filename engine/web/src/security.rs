//! Security headers on every response: a Content Security Policy with no
//! inline script or style (the pages have none), no framing, no referrer
//! (so no URL of ours travels to another site), no MIME sniffing, and no
//! caching of pages that show personal data. A handler that sets one of
//! them itself (the style sheet's cache time) keeps its own.

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::Response;

/// The policy: everything from our own origin, nothing inline, no plugins,
/// forms only to ourselves, never inside a frame.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The headers and their values.
pub fn headers() -> [(HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// The middleware (`axum::middleware::map_response`).
pub async fn add(mut res: Response) -> Response {
    let h = res.headers_mut();
    for (name, value) in headers() {
        h.entry(name).or_insert(value);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_response_gets_the_headers_and_keeps_its_own() {
        let mut own = Response::new(axum::body::Body::empty());
        own.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=3600"),
        );
        let res = add(own).await;
        assert_eq!(res.headers()[header::CACHE_CONTROL], "max-age=3600");
        assert!(res.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        assert!(!CSP.contains("unsafe-inline"));
        assert_eq!(res.headers()[header::X_FRAME_OPTIONS], "DENY");
    }
}
