//! Login through an OpenID Connect provider, as through a MitID broker:
//! authorization code flow with PKCE (S256), a nonce and a state, the ID
//! token verified against the provider's keys. Which claim holds the CPR or
//! CVR number is configuration (brokers name it `dk.cpr`,
//! `cprNumberIdentifier`, …).
//!
//! The provider's metadata is fetched when someone logs in and kept for a
//! few minutes, so a provider that is down makes the login page say so —
//! it never stops the app from starting.

use base64::Engine as _;
use marc_request::{Party, Principal};
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The provider and how to read its claims.
#[derive(Clone, Debug)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub cpr_claim: String,
    pub cvr_claim: String,
    pub name_claim: String,
    /// The claim holding an organisation's name (the person acting is in
    /// `name_claim`).
    pub org_name_claim: String,
}

/// Why a login failed. The page shows [`LoginError::dansk`].
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("the identity provider cannot be reached: {0}")]
    Unavailable(String),
    #[error("bad OpenID configuration: {0}")]
    Config(String),
    #[error("the login did not come back as it was sent (state or session lost)")]
    State,
    #[error("the identity provider refused the login: {0}")]
    Refused(String),
    #[error("the identity provider's answer could not be verified: {0}")]
    Invalid(String),
    #[error("the identity provider gave no {0} claim")]
    NoIdentity(String),
}

impl LoginError {
    pub fn dansk(&self) -> &'static str {
        match self {
            LoginError::Unavailable(_) => {
                "Login er ikke muligt lige nu, fordi login-tjenesten ikke svarer. Prøv igen om lidt."
            }
            LoginError::Config(_) | LoginError::Invalid(_) | LoginError::NoIdentity(_) => {
                "Login kunne ikke gennemføres. Prøv igen; sker det igen, så kontakt kommunen."
            }
            LoginError::State => {
                "Login tog for lang tid eller blev startet i et andet vindue. Start forfra."
            }
            LoginError::Refused(_) => "Login blev afbrudt. Du kan prøve igen.",
        }
    }
}

/// What a login in progress keeps in the session until the provider
/// answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    /// Where to go after the login (a path of ours).
    pub next: String,
}

/// Extra claims, whatever their names.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Extra {
    #[serde(flatten)]
    claims: HashMap<String, serde_json::Value>,
}

impl openidconnect::AdditionalClaims for Extra {}

/// The login client.
pub struct Oidc {
    settings: OidcSettings,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    http: openidconnect::reqwest::Client,
    metadata: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

/// How long fetched provider metadata (and its keys) is used.
const METADATA_TTL: Duration = Duration::from_secs(300);

impl Oidc {
    pub fn new(settings: OidcSettings, public_url: &str) -> Result<Oidc, LoginError> {
        let issuer = IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| LoginError::Config(format!("issuer {:?}: {e}", settings.issuer)))?;
        let redirect = RedirectUrl::new(format!(
            "{}/auth/callback",
            public_url.trim_end_matches('/')
        ))
        .map_err(|e| LoginError::Config(format!("public URL {public_url:?}: {e}")))?;
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would open the door to SSRF via the provider.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| LoginError::Config(e.to_string()))?;
        Ok(Oidc {
            settings,
            issuer,
            redirect,
            http,
            metadata: Mutex::new(None),
        })
    }

    /// The issuer, for the pages.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    async fn client(
        &self,
        secret: String,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        LoginError,
    > {
        let cached = self
            .metadata
            .lock()
            .ok()
            .and_then(|m| m.clone())
            .filter(|(at, _)| at.elapsed() < METADATA_TTL)
            .map(|(_, m)| m);
        let metadata = match cached {
            Some(m) => m,
            None => {
                let m = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
                    .await
                    .map_err(|e| LoginError::Unavailable(chain(&e)))?;
                if let Ok(mut slot) = self.metadata.lock() {
                    *slot = Some((Instant::now(), m.clone()));
                }
                m
            }
        };
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(secret)),
        )
        .set_redirect_uri(self.redirect.clone()))
    }

    /// Where to send the browser, and what to keep until it comes back.
    pub async fn start(
        &self,
        secret: String,
        next: String,
    ) -> Result<(url::Url, Pending), LoginError> {
        let client = self.client(secret).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for s in self
            .settings
            .scopes
            .iter()
            .filter(|s| s.as_str() != "openid")
        {
            req = req.add_scope(Scope::new(s.clone()));
        }
        let (url, state, nonce) = req.url();
        Ok((
            url,
            Pending {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
                next,
            },
        ))
    }

    /// Finishes a login: checks the state, exchanges the code (with the
    /// PKCE verifier), verifies the ID token and reads who logged in.
    pub async fn finish(
        &self,
        secret: String,
        pending: Pending,
        code: &str,
        state: &str,
    ) -> Result<Principal, LoginError> {
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            state.as_bytes(),
            pending.state.as_bytes(),
        )) {
            return Err(LoginError::State);
        }
        let client = self.client(secret).await?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| LoginError::Config(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| LoginError::Refused(chain(&e)))?;
        let id_token = token
            .extra_fields()
            .id_token()
            .ok_or_else(|| LoginError::Invalid("no ID token".into()))?;
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &Nonce::new(pending.nonce))
            .map_err(|e| LoginError::Invalid(chain(&e)))?;
        // The ID token is verified: its other claims can be read from it.
        let mut extra = payload(&id_token.to_string())?;
        let wanted = [&self.settings.cpr_claim, &self.settings.cvr_claim];
        if !wanted.iter().any(|c| extra.contains_key(*c)) {
            if let Ok(req) =
                client.user_info(token.access_token().clone(), Some(claims.subject().clone()))
            {
                let info: Result<
                    openidconnect::UserInfoClaims<Extra, openidconnect::core::CoreGenderClaim>,
                    _,
                > = req.request_async(&self.http).await;
                match info {
                    Ok(info) => extra.extend(info.additional_claims().claims.clone()),
                    Err(e) => tracing::warn!("userinfo failed: {}", chain(&e)),
                }
            }
        }
        let text = |name: &str| extra.get(name).and_then(|v| v.as_str()).map(str::to_string);
        let name = text(&self.settings.name_claim)
            .or_else(|| {
                claims
                    .name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.as_str().to_string())
            })
            .unwrap_or_default();
        if let Some(cvr) = text(&self.settings.cvr_claim) {
            let party = Party::parse(&cvr)
                .ok()
                .filter(|p| matches!(p, Party::Cvr(_)))
                .ok_or_else(|| {
                    LoginError::Invalid(format!(
                        "{:?} is not a CVR number",
                        self.settings.cvr_claim
                    ))
                })?;
            let name = text(&self.settings.org_name_claim).unwrap_or(name);
            return Ok(Principal::ThirdParty { party, name });
        }
        let cpr = text(&self.settings.cpr_claim)
            .ok_or_else(|| LoginError::NoIdentity(self.settings.cpr_claim.clone()))?;
        match Party::parse(&cpr) {
            Ok(Party::Cpr(cpr)) => Ok(Principal::Citizen { cpr, name }),
            _ => Err(LoginError::Invalid(format!(
                "the {:?} claim is not a CPR number",
                self.settings.cpr_claim
            ))),
        }
    }
}

/// The claims of a JWT whose signature has already been verified.
fn payload(jwt: &str) -> Result<HashMap<String, serde_json::Value>, LoginError> {
    let part = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| LoginError::Invalid("the ID token is not a JWT".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| LoginError::Invalid(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| LoginError::Invalid(e.to_string()))
}

/// An error with its causes, for the log.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
