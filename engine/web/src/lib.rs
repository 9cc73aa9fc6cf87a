//! marc-web: the web app of `marc serve` — citizens and third parties ask
//! for access, follow their request and download the answer.
//!
//! - [`backend`]: what the app needs from the engine (a trait the engine
//!   implements); handlers are thin callers of it;
//! - [`oidc`]: login through an OpenID provider (a MitID broker):
//!   authorization code with PKCE, claims named by configuration;
//! - [`sessions`]: browser sessions kept in the engine's store;
//! - [`csrf`]: a token in every form, checked for every state change;
//! - [`security`]: response headers (a CSP with no inline script, no
//!   framing, no referrer) on every page;
//! - [`pages`]: the handlers and their Danish templates;
//! - [`staff`], [`review`], [`trace`], [`stats`], [`auditlog`], [`admin`]:
//!   the staff side — cases, the review of an answer, the robot sessions
//!   behind it, statistics, the audit log and administration.
//!
//! Cross-cutting checks are tower layers, each testable alone; no page
//! carries a CPR number in its URL.

pub mod admin;
pub mod auditlog;
pub mod backend;
pub mod csrf;
pub mod oidc;
pub mod pages;
pub mod review;
pub mod security;
pub mod sessions;
pub mod staff;
pub mod stats;
pub mod trace;
mod viewer;

pub use backend::{Backend, NewConsent, NewRequest, StoredSession, WebError};
pub use oidc::OidcSettings;

use axum::Router;
use std::sync::Arc;
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

/// How the app is reached and how people log in.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// The address people reach the app at, e.g. `https://aktindsigt.kommune.dk`.
    pub public_url: String,
    /// The municipality's name, shown in every page's header.
    pub authority: String,
    /// Citizens' and third parties' login; `None`: nobody can log in.
    pub oidc: Option<OidcSettings>,
    /// Minutes of inactivity after which a session ends.
    pub session_minutes: i64,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub backend: Arc<dyn Backend>,
    pub settings: Arc<WebSettings>,
    pub oidc: Option<Arc<oidc::Oidc>>,
}

impl AppState {
    pub fn new(
        backend: Arc<dyn Backend>,
        settings: WebSettings,
    ) -> Result<AppState, oidc::LoginError> {
        let oidc = match &settings.oidc {
            Some(o) => Some(Arc::new(oidc::Oidc::new(o.clone(), &settings.public_url)?)),
            None => None,
        };
        Ok(AppState {
            backend,
            settings: Arc::new(settings),
            oidc,
        })
    }

    /// Runs a blocking backend call off the async threads.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Backend) -> Result<T, WebError> + Send + 'static,
    ) -> Result<T, WebError> {
        let b = self.backend.clone();
        tokio::task::spawn_blocking(move || f(b.as_ref()))
            .await
            .map_err(|e| WebError::Internal(format!("a backend call panicked: {e}")))?
    }
}

/// The whole app: pages, sessions, CSRF and security headers.
pub fn router(state: AppState) -> Router {
    let secure = state.settings.public_url.starts_with("https://");
    let sessions = SessionManagerLayer::new(sessions::BackendSessions::new(state.backend.clone()))
        .with_name("marc_session")
        .with_http_only(true)
        // Lax, not Strict: the login comes back from the identity provider
        // by a cross-site redirect, which must carry the session.
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            state.settings.session_minutes,
        )));
    pages::routes()
        .layer(axum::middleware::from_fn(csrf::check))
        .layer(sessions)
        .layer(csrf::origin_layer())
        .layer(axum::middleware::map_response(security::add))
        .with_state(state)
}
