//! The pages citizens and third parties use. Each handler reads its input,
//! makes one call to the [`Backend`](crate::Backend) and renders a template:
//! the rules (who may see what, what a consent allows, deadlines) live in
//! the engine and in `marc-request`, not here.

use crate::backend::{NewConsent, NewRequest, WebError};
use crate::viewer::{safe_next, Viewer};
use crate::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{Datelike, NaiveDate};
use marc_request::access::Role;
use marc_request::{Consent, Party, Principal, RequestRecord, RequestState, RunStatus};
use serde::Deserialize;
use tower_sessions::Session;

/// The routes of the citizen and third-party side.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/app.css", get(stylesheet))
        .route("/healthz", get(|| async { "ok" }))
        .route("/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/logout", post(logout))
        .route("/mine", get(my_requests))
        .route("/ny", get(new_form).post(new_submit))
        .route("/anmodning/{id}", get(request_page))
        .route("/anmodning/{id}/kvittering", get(receipt))
        .route("/anmodning/{id}/svar.pdf", get(answer))
        .route("/anmodning/{id}/annuller", post(cancel))
        .route("/samtykker", get(consents).post(grant))
        .route("/samtykker/{id}/tilbagekald", post(revoke))
        .route("/paa-vegne/{consent}", get(behalf_form).post(behalf_submit))
        .merge(crate::staff::routes())
        .merge(crate::review::routes())
        .merge(crate::trace::routes())
        .merge(crate::stats::routes())
        .merge(crate::auditlog::routes())
        .merge(crate::admin::routes())
        .fallback(not_found)
}

/// What every page's frame shows.
pub struct Layout {
    pub title: String,
    pub authority: String,
    /// The logged-in person's or organisation's name.
    pub viewer: Option<String>,
    /// The viewer logged in as an organisation (asks only under consents).
    pub organisation: bool,
    pub csrf: String,
    /// The page reloads itself every few seconds (a request in progress).
    pub refresh: bool,
    /// The viewer is a member of staff (the menu shows the staff pages).
    pub staff: bool,
    /// ... who sees cases (caseworkers, auditors).
    pub cases: bool,
    /// ... who sees statistics (managers, administrators).
    pub stats: bool,
    /// ... who reads the audit log (auditors, managers, administrators).
    pub audit: bool,
    /// ... who administers (administrators).
    pub admin: bool,
}

impl Layout {
    pub(crate) async fn new(
        state: &AppState,
        session: &Session,
        title: &str,
        who: Option<&Principal>,
    ) -> Layout {
        Layout {
            title: title.to_string(),
            authority: state.settings.authority.clone(),
            viewer: who.map(|p| p.name().to_string()),
            organisation: matches!(
                who,
                Some(Principal::ThirdParty {
                    party: Party::Cvr(_),
                    ..
                })
            ),
            csrf: crate::csrf::token(session).await,
            refresh: false,
            staff: matches!(who, Some(Principal::Staff { .. })),
            cases: matches!(
                who,
                Some(Principal::Staff {
                    role: Role::Caseworker | Role::Auditor,
                    ..
                })
            ),
            stats: matches!(
                who,
                Some(Principal::Staff {
                    role: Role::Manager | Role::Admin,
                    ..
                })
            ),
            audit: matches!(
                who,
                Some(Principal::Staff {
                    role: Role::Auditor | Role::Manager | Role::Admin,
                    ..
                })
            ),
            admin: matches!(
                who,
                Some(Principal::Staff {
                    role: Role::Admin,
                    ..
                })
            ),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
struct MessagePage {
    layout: Layout,
    text: String,
}

/// A page with a heading and one message, for errors and refusals; used
/// also where no session is at hand (the layout then has no login).
pub fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    let page = MessagePage {
        layout: Layout {
            title: title.to_string(),
            authority: String::new(),
            viewer: None,
            organisation: false,
            csrf: String::new(),
            refresh: false,
            staff: false,
            cases: false,
            stats: false,
            audit: false,
            admin: false,
        },
        text: text.to_string(),
    };
    (status, page).into_response()
}

/// A backend error as a page: not found, refused (with its reason), or
/// an internal error whose detail goes to the log only.
pub(crate) fn error_page(e: WebError) -> Response {
    match e {
        WebError::NotFound => message_page(
            StatusCode::NOT_FOUND,
            "Siden findes ikke",
            "Siden findes ikke, eller du har ikke adgang til den.",
        ),
        WebError::Refused(why) => message_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Det kunne ikke lade sig gøre",
            &why,
        ),
        WebError::Conflict(why) => {
            message_page(StatusCode::CONFLICT, "Sagen er ændret i mellemtiden", &why)
        }
        WebError::Internal(detail) => {
            tracing::error!("web: {detail}");
            message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Der skete en fejl",
                "Der skete en fejl hos kommunen. Intet er gået tabt; prøv igen om lidt.",
            )
        }
    }
}

async fn not_found() -> Response {
    error_page(WebError::NotFound)
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../static/app.css"),
    )
        .into_response()
}

/// A date as Danes write it: "14. december 2026".
pub fn dato(d: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "januar",
        "februar",
        "marts",
        "april",
        "maj",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "december",
    ];
    format!("{}. {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

pub(crate) fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

// ---- home, login, logout ----------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "index.html")]
struct Home {
    layout: Layout,
    login: bool,
    problem: Option<String>,
}

async fn home(State(state): State<AppState>, session: Session) -> Response {
    let who = session
        .get::<Principal>(crate::viewer::KEY)
        .await
        .ok()
        .flatten();
    Home {
        layout: Layout::new(&state, &session, "Forside", who.as_ref()).await,
        login: state.oidc.is_some(),
        problem: None,
    }
    .into_response()
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

/// Sends the browser to the identity provider.
async fn login(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LoginQuery>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return error_page(WebError::Refused(
            "Login er ikke sat op på denne installation.".into(),
        ));
    };
    let secret = match state.call(|b| b.oidc_client_secret()).await {
        Ok(s) => s,
        Err(e) => return error_page(e),
    };
    match oidc.start(secret, safe_next(q.next.as_deref())).await {
        Ok((url, pending)) => {
            if let Err(e) = session.insert("login", &pending).await {
                return error_page(WebError::Internal(format!(
                    "cannot keep the login state: {e}"
                )));
            }
            Redirect::to(url.as_str()).into_response()
        }
        Err(e) => {
            tracing::warn!("login: {e}");
            let who = None;
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Home {
                    layout: Layout::new(&state, &session, "Login er ikke muligt lige nu", who)
                        .await,
                    login: true,
                    problem: Some(e.dansk().to_string()),
                },
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The identity provider sends the browser back here.
async fn callback(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<Callback>,
) -> Response {
    let Some(oidc) = state.oidc.clone() else {
        return not_found().await;
    };
    let pending: Option<crate::oidc::Pending> = session.remove("login").await.ok().flatten();
    let result = match (pending, q.code, q.state, q.error) {
        (_, _, _, Some(err)) => Err(crate::oidc::LoginError::Refused(format!(
            "{err}: {}",
            q.error_description.unwrap_or_default()
        ))),
        (Some(p), Some(code), Some(st), None) => match state.call(|b| b.oidc_client_secret()).await
        {
            Ok(secret) => {
                let next = p.next.clone();
                oidc.finish(secret, p, &code, &st)
                    .await
                    .map(|who| (who, next))
            }
            Err(e) => return error_page(e),
        },
        _ => Err(crate::oidc::LoginError::State),
    };
    match result {
        Ok((who, next)) => {
            // A new session id at login: a session id planted before the
            // login is worth nothing after it.
            if let Err(e) = session.cycle_id().await {
                return error_page(WebError::Internal(format!("cannot renew the session: {e}")));
            }
            if let Err(e) = session.insert(crate::viewer::KEY, &who).await {
                return error_page(WebError::Internal(format!("cannot keep the login: {e}")));
            }
            let w = who.clone();
            if let Err(e) = state
                .call(move |b| b.audit(&w, "web.login", serde_json::json!({})))
                .await
            {
                return error_page(e);
            }
            Redirect::to(&next).into_response()
        }
        Err(e) => {
            tracing::warn!("login failed: {e}");
            (
                StatusCode::UNAUTHORIZED,
                Home {
                    layout: Layout::new(&state, &session, "Login mislykkedes", None).await,
                    login: true,
                    problem: Some(e.dansk().to_string()),
                },
            )
                .into_response()
        }
    }
}

async fn logout(State(state): State<AppState>, session: Session) -> Response {
    if let Ok(Some(who)) = session.get::<Principal>(crate::viewer::KEY).await {
        if let Err(e) = state
            .call(move |b| b.audit(&who, "web.logout", serde_json::json!({})))
            .await
        {
            return error_page(e);
        }
    }
    if let Err(e) = session.flush().await {
        return error_page(WebError::Internal(format!("cannot end the session: {e}")));
    }
    Redirect::to("/").into_response()
}

// ---- requests ------------------------------------------------------------

/// A request as its pages show it.
struct RequestView {
    id: String,
    state: String,
    received: String,
    deadline: String,
    about: String,
    period: String,
    topics: String,
    delivered: bool,
    cancellable: bool,
}

fn period_text(from: NaiveDate, to: NaiveDate) -> String {
    if from.year() <= 1900 {
        format!("alle dokumenter til og med {}", dato(to))
    } else {
        format!("{} – {}", dato(from), dato(to))
    }
}

impl RequestView {
    fn of(r: &RequestRecord) -> RequestView {
        let left = marc_request::deadline::working_days_left(today(), r.deadline);
        let deadline = if r.state.is_closed() {
            dato(r.deadline)
        } else if left > 0 {
            format!("{} (om {left} arbejdsdage)", dato(r.deadline))
        } else if left == 0 {
            format!("{} (i dag)", dato(r.deadline))
        } else {
            format!(
                "{} (overskredet; kommunen skriver til dig om, hvornår du får svar)",
                dato(r.deadline)
            )
        };
        RequestView {
            id: r.id.clone(),
            state: r.state.dansk().to_string(),
            received: r
                .created
                .with_timezone(&chrono::Local)
                .format("%d.%m.%Y kl. %H:%M")
                .to_string(),
            deadline,
            about: if r.requested_by.is_some() {
                format!("{} (anmodet af {})", r.name, r.requester)
            } else {
                r.name.clone()
            },
            period: period_text(r.period_from, r.period_to),
            topics: if r.topics.is_empty() {
                "Alle områder".into()
            } else {
                r.topics.join(", ")
            },
            delivered: r.state == RequestState::Delivered,
            cancellable: !r.state.is_closed() && r.state != RequestState::Ready,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "requests.html")]
struct MyRequests {
    layout: Layout,
    rows: Vec<RequestView>,
}

async fn my_requests(
    State(state): State<AppState>,
    session: Session,
    Viewer(who): Viewer,
) -> Response {
    let w = who.clone();
    match state.call(move |b| b.requests(&w)).await {
        Ok(list) => MyRequests {
            layout: Layout::new(&state, &session, "Mine anmodninger", Some(&who)).await,
            rows: list.iter().map(RequestView::of).collect(),
        }
        .into_response(),
        Err(e) => error_page(e),
    }
}

struct TopicBox {
    name: String,
    checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "new.html")]
struct NewForm {
    layout: Layout,
    heading: String,
    about: String,
    action: String,
    key: String,
    from: String,
    to: String,
    topics: Vec<TopicBox>,
    /// The consent's period, when asking under one.
    scope: Option<String>,
    error: Option<String>,
}

/// The form's fields as posted (topics repeat).
#[derive(Default)]
struct Posted {
    from: String,
    to: String,
    key: String,
    topics: Vec<String>,
}

fn posted(form: &[u8]) -> Posted {
    let mut p = Posted::default();
    for (k, v) in url::form_urlencoded::parse(form) {
        match k.as_ref() {
            "from" => p.from = v.into_owned(),
            "to" => p.to = v.into_owned(),
            "key" => p.key = v.into_owned(),
            "topic" => p.topics.push(v.into_owned()),
            _ => {}
        }
    }
    p
}

fn new_key() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The topics offered: the consent's (or all), with those posted checked.
fn topic_boxes(all: &[String], allowed: &[String], checked: &[String]) -> Vec<TopicBox> {
    all.iter()
        .filter(|t| allowed.is_empty() || allowed.contains(t))
        .map(|t| TopicBox {
            name: t.clone(),
            checked: checked.contains(t),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn render_new(
    state: &AppState,
    session: &Session,
    who: &Principal,
    consent: Option<&Consent>,
    p: Posted,
    error: Option<String>,
) -> Response {
    let all = state.backend.topics();
    let (heading, about, action, allowed, scope) = match consent {
        None => (
            "Ny anmodning om aktindsigt".to_string(),
            format!("Du beder om aktindsigt i de dokumenter, kommunen har om dig, {}.", who.name()),
            "/ny".to_string(),
            Vec::new(),
            None,
        ),
        Some(c) => (
            format!("Aktindsigt på vegne af {}", c.citizen_name),
            format!(
                "Du beder om aktindsigt på vegne af {} efter samtykke givet {}. Svaret sendes til dig.",
                c.citizen_name,
                dato(c.granted.date_naive())
            ),
            format!("/paa-vegne/{}", c.id),
            c.topics.clone(),
            Some(period_text(c.scope.from, c.scope.to)),
        ),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let key = if p.key.is_empty() {
        new_key()
    } else {
        p.key.clone()
    };
    (
        status,
        NewForm {
            layout: Layout::new(state, session, &heading, Some(who)).await,
            heading,
            about,
            action,
            key,
            topics: topic_boxes(&all, &allowed, &p.topics),
            from: p.from,
            to: p.to,
            scope,
            error,
        },
    )
        .into_response()
}

async fn new_form(
    State(state): State<AppState>,
    session: Session,
    Viewer(who): Viewer,
) -> Response {
    if !matches!(who, Principal::Citizen { .. }) {
        return Redirect::to("/samtykker").into_response();
    }
    render_new(&state, &session, &who, None, Posted::default(), None).await
}

async fn new_submit(
    State(state): State<AppState>,
    session: Session,
    Viewer(who): Viewer,
    RawForm(form): RawForm,
) -> Response {
    let Principal::Citizen { cpr, .. } = &who else {
        return error_page(WebError::NotFound);
    };
    let p = posted(&form);
    let req = NewRequest {
        cpr: cpr.clone(),
        from: p.from.clone(),
        to: p.to.clone(),
        topics: p.topics.clone(),
        consent: None,
        idempotency_key: p.key.clone(),
    };
    submit(state, session, who, None, p, req).await
}

async fn submit(
    state: AppState,
    session: Session,
    who: Principal,
    consent: Option<Consent>,
    p: Posted,
    req: NewRequest,
) -> Response {
    if p.key.is_empty() {
        return error_page(WebError::Refused(
            "Formularen mangler et felt; genindlæs siden og prøv igen.".into(),
        ));
    }
    let w = who.clone();
    match state.call(move |b| b.submit(&w, req)).await {
        // Post/redirect/get: reloading the receipt sends nothing again.
        Ok(rec) => Redirect::to(&format!("/anmodning/{}/kvittering", rec.id)).into_response(),
        Err(WebError::Refused(why)) => {
            render_new(&state, &session, &who, consent.as_ref(), p, Some(why)).await
        }
        Err(e) => error_page(e),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "receipt.html")]
struct Receipt {
    layout: Layout,
    r: RequestView,
}

async fn receipt(
    State(state): State<AppState>,
    session: Session,
    Viewer(who): Viewer,
    Path(id): Path<String>,
) -> Response {
    let w = who.clone();
    match state.call(move |b| b.request(&w, &id)).await {
        Ok(rec) => Receipt {
            layout: Layout::new(&state, &session, "Kvittering", Some(&who)).await,
            r: RequestView::of(&rec),
        }
        .into_response(),
        Err(e) => error_page(e),
    }
}

/// One step of the timeline on the status page.
struct Step {
    name: &'static str,
    state: &'static str,
    class: &'static str,
}

/// The request's progress as the requester follows it: received,
/// documents collected, screening, review, sent.
fn steps(r: &RequestRecord) -> Vec<Step> {
    use RequestState as S;
    let rank = |s: S| match s {
        S::Received => 0,
        S::Collecting => 1,
        S::Collected => 2,
        S::Ready => 3,
        S::Incomplete | S::HeldForReview | S::DeliveryFailed | S::ManualHandling => 3,
        S::Delivered | S::Refused => 5,
        S::Cancelled => 0,
    };
    let now = rank(r.state);
    let review = matches!(
        r.state,
        S::Incomplete | S::HeldForReview | S::DeliveryFailed | S::ManualHandling
    );
    let step = |name, at: i32| {
        let (state, class) = if now > at || (now == at && at == 5) {
            ("færdig", "done")
        } else if now == at {
            ("i gang", "now")
        } else {
            ("venter", "later")
        };
        Step { name, state, class }
    };
    let mut v = vec![
        Step {
            name: "Modtaget",
            state: "færdig",
            class: "done",
        },
        step("Dokumenter hentes fra kommunens systemer", 1),
        step("Oplysninger om andre personer fjernes", 2),
    ];
    if review {
        v.push(Step {
            name: "Gennemgang hos en sagsbehandler",
            state: "i gang",
            class: "now",
        });
    }
    v.push(step("Svaret sendes", 5));
    if r.state == S::Cancelled {
        for s in v.iter_mut().skip(1) {
            s.state = "stoppet";
            s.class = "later";
        }
    }
    v
}

struct SystemRow {
    name: String,
    state: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "request.html")]
struct RequestPage {
    layout: Layout,
    r: RequestView,
    steps: Vec<Step>,
    systems: Vec<SystemRow>,
}

async fn request_page(
    State(state): State<AppState>,
    session: Session,
    Viewer(who): Viewer,
    Path(id): Path<String>,
) -> Response {
    let w = who.clone();
    let rec = match state.call(move |b| b.request(&w, &id)).await {
        Ok(r) => r,
        Err(e) => return error_page(e),
    };
    let names = state.backend.system_names();
    let systems = rec
        .runs
        .iter()
        .map(|(sys, run)| SystemRow {
            name: names
                .iter()
                .find(|(id, _)| id == sys)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| sys.clone()),
            state: match run.status {
                RunStatus::Complete => format!("hentet ({} dokumenter)", run.documents),
                RunStatus::Failed => {
                    "kunne ikke hentes automatisk; en sagsbehandler ser på det".into()
                }
                RunStatus::Pending if rec.state == RequestState::Collecting => "hentes nu".into(),
                RunStatus::Pending => "venter".into(),
            },
        })
        .collect();
    let mut layout = Layout::new(
        &state,
        &session,
        &format!("Anmodning {}", rec.id),
        Some(&who),
    )
    .await;
    layout.refresh = matches!(
        rec.state,
        RequestState::Received
            | RequestState::Collecting
            | RequestState::Collected
            | RequestState::Ready
    );
    RequestPage {
        layout,
        steps: steps(&rec),
        r: RequestView::of(&rec),
        systems,
    }
    .into_response()
}

async fn answer(
    State(state): State<AppState>,
    Viewer(who): Viewer,
    Path(id): Path<String>,
) -> Response {
    let file = format!("attachment; filename=\"aktindsigt-{id}.pdf\"");
    match state.call(move |b| b.answer(&who, &id)).await {
        Ok(pdf) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (header::CONTENT_DISPOSITION, file),
            ],
            pdf,
        )
            .into_response(),
        Err(e) => error_page(e),
    }
}

async fn cancel(
    State(state): State<AppState>,
    Viewer(who): Viewer,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/anmodning/{id}");
    match state.call(move |b| b.cancel(&who, &id)).await {
        Ok(_) => Redirect::to(&path).into_response(),
        Err(e) => error_page(e),
    }
}

// ---- consents ------------------------------------------------------------

/// A consent as its page shows it; `other` is the other side.
struct ConsentView {
    id: String,
    other: String,
    valid: String,
    scope: String,
    topics: String,
    status: String,
    revocable: bool,
}

impl ConsentView {
    fn of(c: &Consent, given: bool) -> ConsentView {
        let status = match c.usable(today()) {
            Ok(()) => "Gyldigt".to_string(),
            Err(e) => e.dansk(),
        };
        ConsentView {
            id: c.id.clone(),
            other: if given {
                c.grantee_name.clone()
            } else {
                c.citizen_name.clone()
            },
            valid: format!("{} – {}", dato(c.valid_from), dato(c.valid_to)),
            scope: period_text(c.scope.from, c.scope.to),
            topics: if c.topics.is_empty() {
                "Alle områder".into()
            } else {
                c.topics.join(", ")
            },
            revocable: given && c.revoked.is_none() && c.valid_to >= today(),
            status,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "consents.html")]
struct ConsentsPage {
    layout: Layout,
    citizen: bool,
    given: Vec<ConsentView>,
    received: Vec<ConsentView>,
    topics: Vec<String>,
    today: String,
    default_valid_to: String,
    message: Option<String>,
    error: Option<String>,
}

async fn render_consents(
    state: &AppState,
    session: &Session,
    who: &Principal,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let (w1, w2) = (who.clone(), who.clone());
    let given = match state.call(move |b| b.consents_given(&w1)).await {
        Ok(v) => v,
        Err(e) => return error_page(e),
    };
    let received = match state.call(move |b| b.consents_received(&w2)).await {
        Ok(v) => v,
        Err(e) => return error_page(e),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let t = today();
    (
        status,
        ConsentsPage {
            layout: Layout::new(state, session, "Samtykker", Some(who)).await,
            citizen: matches!(who, Principal::Citizen { .. }),
            given: given.iter().map(|c| ConsentView::of(c, true)).collect(),
            received: received.iter().map(|c| ConsentView::of(c, false)).collect(),
            topics: state.backend.topics(),
            today: t.to_string(),
            default_valid_to: (t + chrono::Duration::days(90)).to_string(),
            message,
            error,
        },
    )
        .into_response()
}

async fn consents(
    State(state): State<AppState>,
    session: Session,
    Viewer(who): Viewer,
) -> Response {
    render_consents(&state, &session, &who, None, None).await
}

async fn grant(
    State(state): State<AppState>,
    session: Session,
    Viewer(who): Viewer,
    RawForm(form): RawForm,
) -> Response {
    // Only a citizen gives consent; nobody else's form is even read.
    if !matches!(who, Principal::Citizen { .. }) {
        return error_page(WebError::NotFound);
    }
    let mut c = NewConsent {
        grantee: String::new(),
        grantee_name: String::new(),
        topics: Vec::new(),
        from: String::new(),
        to: String::new(),
        valid_from: String::new(),
        valid_to: String::new(),
    };
    for (k, v) in url::form_urlencoded::parse(&form) {
        let v = v.into_owned();
        match k.as_ref() {
            "grantee" => c.grantee = v,
            "grantee_name" => c.grantee_name = v,
            "topic" => c.topics.push(v),
            "from" => c.from = v,
            "to" => c.to = v,
            "valid_from" => c.valid_from = v,
            "valid_to" => c.valid_to = v,
            _ => {}
        }
    }
    let w = who.clone();
    match state.call(move |b| b.grant(&w, c)).await {
        Ok(c) => {
            render_consents(
                &state,
                &session,
                &who,
                Some(format!("Samtykket til {} er givet.", c.grantee_name)),
                None,
            )
            .await
        }
        Err(WebError::Refused(why)) => {
            render_consents(&state, &session, &who, None, Some(why)).await
        }
        Err(e) => error_page(e),
    }
}

async fn revoke(
    State(state): State<AppState>,
    session: Session,
    Viewer(who): Viewer,
    Path(id): Path<String>,
) -> Response {
    let w = who.clone();
    match state.call(move |b| b.revoke(&w, &id)).await {
        Ok(c) => {
            render_consents(
                &state,
                &session,
                &who,
                Some(format!("Samtykket til {} er tilbagekaldt.", c.grantee_name)),
                None,
            )
            .await
        }
        Err(e) => error_page(e),
    }
}

/// The consent `id`, if it was given to `who`.
async fn consent_for(state: &AppState, who: &Principal, id: String) -> Result<Consent, WebError> {
    let w = who.clone();
    state
        .call(move |b| b.consents_received(&w))
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(WebError::NotFound)
}

/// The principal a third party acts as under a consent: an organisation
/// as itself, a person as a third party (not as a citizen).
fn acting(who: &Principal) -> Option<Principal> {
    match who {
        Principal::Citizen { cpr, name } => Some(Principal::ThirdParty {
            party: Party::Cpr(cpr.clone()),
            name: name.clone(),
        }),
        Principal::ThirdParty { .. } => Some(who.clone()),
        Principal::Staff { .. } => None,
    }
}

async fn behalf_form(
    State(state): State<AppState>,
    session: Session,
    Viewer(who): Viewer,
    Path(id): Path<String>,
) -> Response {
    match consent_for(&state, &who, id).await {
        Ok(c) => {
            if let Err(e) = c.usable(today()) {
                return error_page(WebError::Refused(e.dansk()));
            }
            render_new(&state, &session, &who, Some(&c), Posted::default(), None).await
        }
        Err(e) => error_page(e),
    }
}

async fn behalf_submit(
    State(state): State<AppState>,
    session: Session,
    Viewer(who): Viewer,
    Path(id): Path<String>,
    RawForm(form): RawForm,
) -> Response {
    let Some(acting) = acting(&who) else {
        return error_page(WebError::NotFound);
    };
    let c = match consent_for(&state, &who, id).await {
        Ok(c) => c,
        Err(e) => return error_page(e),
    };
    let p = posted(&form);
    let req = NewRequest {
        cpr: c.citizen_cpr.clone(),
        from: p.from.clone(),
        to: p.to.clone(),
        topics: p.topics.clone(),
        consent: Some(c.id.clone()),
        idempotency_key: p.key.clone(),
    };
    submit(state, session, acting, Some(c), p, req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn danish_dates() {
        assert_eq!(
            dato(NaiveDate::from_ymd_opt(2026, 12, 14).unwrap()),
            "14. december 2026"
        );
        assert_eq!(
            period_text(
                NaiveDate::from_ymd_opt(1900, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 1, 2).unwrap()
            ),
            "alle dokumenter til og med 2. januar 2026"
        );
    }

    #[test]
    fn repeated_topics_are_all_read() {
        let p = posted(b"csrf=x&key=k&from=2020-01-01&to=&topic=Jobcenter&topic=B%C3%B8rn+og+Unge");
        assert_eq!(p.topics, ["Jobcenter", "Børn og Unge"]);
        assert_eq!(
            (p.from.as_str(), p.to.as_str(), p.key.as_str()),
            ("2020-01-01", "", "k")
        );
    }
}
