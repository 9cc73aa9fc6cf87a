//! The staff side: password login, the caseworkers' list of requests and a
//! request's case page. As on the citizen side, each handler reads its
//! input, makes one backend call and renders; who may do what is decided
//! in the engine ([`crate::Backend`]).

use crate::backend::WebError;
use crate::pages::{dato, error_page, today, Layout};
use crate::viewer::{logged_in, safe_next, to_login, KEY};
use crate::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{FromRequestParts, Path, Query, RawForm, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use marc_request::worklist::{self, SortBy};
use marc_request::{Principal, RequestRecord, RequestState};
use serde::Deserialize;
use tower_sessions::Session;

/// The staff routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/personale", get(login_form).post(login_submit))
        .route("/sager", get(list))
        .route("/sager/flere", post(bulk))
        .route("/sager/{id}", get(case_page))
        .route("/sager/{id}/cpr", post(reveal))
        .route("/sager/{id}/tildel", post(take))
        .route("/sager/{id}/frigiv", post(release))
        .route("/sager/{id}/godkend", post(approve))
        .route("/sager/{id}/afslag", post(refuse))
        .route("/sager/{id}/frist", post(extend))
        .route("/sager/{id}/notat", post(note))
        .route("/sager/{id}/videresend", post(forward))
}

/// A logged-in member of staff. Without a login the browser goes to the
/// staff login; a citizen gets "not found", as for anything not theirs.
pub struct Staff(pub Principal);

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match logged_in(parts, state).await? {
            Some(Principal::Staff { user, role }) => {
                // The account as it is now: removed, or given another role,
                // since this session logged in means logged out.
                let u = user.clone();
                match state.call(move |b| b.staff_role(&u)).await {
                    Ok(Some(now)) if now == role => Ok(Staff(Principal::Staff { user, role })),
                    Ok(_) => {
                        if let Ok(session) = Session::from_request_parts(parts, state).await {
                            let _ = session.flush().await;
                        }
                        Err(to_login(parts, "/personale", "/sager"))
                    }
                    Err(e) => Err(error_page(e)),
                }
            }
            Some(_) => Err(error_page(WebError::NotFound)),
            None => Err(to_login(parts, "/personale", "/sager")),
        }
    }
}

/// A logged-in caseworker: only they decide on cases. Other staff get
/// "not found" before the form is read, as for a page that is not theirs.
pub struct Caseworker(pub Principal);

impl FromRequestParts<AppState> for Caseworker {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Staff(who) = Staff::from_request_parts(parts, state).await?;
        match who {
            Principal::Staff {
                role: marc_request::access::Role::Caseworker,
                ..
            } => Ok(Caseworker(who)),
            _ => Err(error_page(WebError::NotFound)),
        }
    }
}

// ---- login ----------------------------------------------------------------

#[derive(Template, WebTemplate)]
#[template(path = "staff_login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    user: String,
    problem: Option<String>,
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

async fn login_form(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<Next>,
) -> Response {
    LoginPage {
        layout: Layout::new(&state, &session, "Log ind som medarbejder", None).await,
        next: safe_next(q.next.as_deref()),
        user: String::new(),
        problem: None,
    }
    .into_response()
}

async fn login_submit(
    State(state): State<AppState>,
    session: Session,
    RawForm(form): RawForm,
) -> Response {
    let (mut user, mut password, mut next) = (String::new(), String::new(), None);
    for (k, v) in url::form_urlencoded::parse(&form) {
        match k.as_ref() {
            "user" => user = v.into_owned(),
            "password" => password = v.into_owned(),
            "next" => next = Some(v.into_owned()),
            _ => {}
        }
    }
    let u = user.clone();
    match state.call(move |b| b.staff_login(&u, &password)).await {
        Ok(Some(who)) => {
            // A new session id at login (no fixation), then the principal.
            if let Err(e) = session.cycle_id().await {
                return error_page(WebError::Internal(format!("cannot renew the session: {e}")));
            }
            if let Err(e) = session.insert(KEY, &who).await {
                return error_page(WebError::Internal(format!("cannot keep the login: {e}")));
            }
            // Managers and administrators start at the statistics.
            let home = match &who {
                Principal::Staff {
                    role: marc_request::access::Role::Manager | marc_request::access::Role::Admin,
                    ..
                } => "/statistik",
                _ => "/sager",
            };
            let next = match safe_next(next.as_deref()).as_str() {
                "/" => home.to_string(),
                n => n.to_string(),
            };
            Redirect::to(&next).into_response()
        }
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            LoginPage {
                layout: Layout::new(&state, &session, "Log ind som medarbejder", None).await,
                next: safe_next(next.as_deref()),
                user,
                problem: Some("Forkert brugernavn eller adgangskode.".into()),
            },
        )
            .into_response(),
        Err(e) => error_page(e),
    }
}

// ---- the list ---------------------------------------------------------------

/// The list's query string.
#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    desc: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

impl ListQuery {
    fn query(&self) -> worklist::Query {
        let d = worklist::Query::default();
        worklist::Query {
            search: self.q.trim().to_string(),
            state: RequestState::parse(&self.status),
            waiting: self.status == WAITING,
            sort: SortBy::parse(&self.sort).unwrap_or(d.sort),
            descending: self.desc.as_deref() == Some("1"),
            page: self.page.unwrap_or(1),
            ..d
        }
    }
}

/// The status filter's value for "waits for a caseworker".
const WAITING: &str = "venter";

/// The list's link to a page of itself, sorted by `sort`.
fn link(q: &worklist::Query, sort: SortBy, descending: bool, page: usize) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    if !q.search.is_empty() {
        s.append_pair("q", &q.search);
    }
    if let Some(st) = q.state {
        s.append_pair("status", st.as_str());
    } else if q.waiting {
        s.append_pair("status", WAITING);
    }
    s.append_pair("sort", sort.as_str());
    if descending {
        s.append_pair("desc", "1");
    }
    if page > 1 {
        s.append_pair("page", &page.to_string());
    }
    format!("/sager?{}", s.finish())
}

struct Column {
    label: &'static str,
    href: String,
    /// `ascending`, `descending` or `none` (aria-sort).
    sorted: &'static str,
}

struct Row {
    id: String,
    name: String,
    cpr: String,
    ordered: String,
    deadline: String,
    days_left: String,
    urgency: &'static str,
    caseworker: String,
    state: String,
    hold: String,
}

struct StateOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "worklist.html")]
struct ListPage {
    layout: Layout,
    /// The viewer is a caseworker: rows can be taken or released together.
    may_take: bool,
    /// This page's own address, to come back to after a bulk action.
    here: String,
    search: String,
    waiting: bool,
    states: Vec<StateOption>,
    columns: Vec<Column>,
    rows: Vec<Row>,
    total: usize,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
}

fn days_left_text(r: &RequestRecord) -> String {
    if r.state.is_closed() {
        return "afsluttet".into();
    }
    match marc_request::deadline::working_days_left(today(), r.deadline) {
        n if n < 0 => format!("{} dage over", -n),
        0 => "i dag".into(),
        1 => "1 dag".into(),
        n => format!("{n} dage"),
    }
}

/// Why a request waits for a person, when it does.
fn hold_reason(r: &RequestRecord) -> String {
    if worklist::waits_for_a_person(r.state) {
        r.note.clone()
    } else {
        String::new()
    }
}

async fn list(
    State(state): State<AppState>,
    session: Session,
    Staff(who): Staff,
    Query(lq): Query<ListQuery>,
) -> Response {
    let q = lq.query();
    let (w, q2) = (who.clone(), q.clone());
    let page = match state.call(move |b| b.worklist(&w, &q2)).await {
        Ok(p) => p,
        Err(e) => return error_page(e),
    };
    let today = today();
    let columns = [
        ("Sag", SortBy::Id),
        ("Borger", SortBy::Name),
        ("Bestilt", SortBy::Ordered),
        ("Frist", SortBy::Deadline),
        ("Sagsbehandler", SortBy::Caseworker),
        ("Status", SortBy::Status),
    ]
    .into_iter()
    .map(|(label, col)| {
        let here = q.sort == col;
        Column {
            label,
            href: link(&q, col, here && !q.descending, 1),
            sorted: match (here, q.descending) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            },
        }
    })
    .collect();
    let rows = page
        .rows
        .iter()
        .map(|r| Row {
            id: r.id.clone(),
            name: r.name.clone(),
            cpr: worklist::masked_cpr(&r.cpr),
            ordered: r
                .created
                .with_timezone(&chrono::Local)
                .format("%d-%m-%Y")
                .to_string(),
            deadline: r.deadline.format("%d-%m-%Y").to_string(),
            days_left: days_left_text(r),
            urgency: worklist::urgency(r, today).class(),
            caseworker: r.caseworker.clone().unwrap_or_default(),
            state: r.state.dansk().to_string(),
            hold: hold_reason(r),
        })
        .collect();
    let states = RequestState::ALL
        .iter()
        .map(|s| StateOption {
            value: s.as_str(),
            label: s.dansk(),
            selected: q.state == Some(*s),
        })
        .collect();
    ListPage {
        may_take: matches!(
            who,
            Principal::Staff {
                role: marc_request::access::Role::Caseworker,
                ..
            }
        ),
        here: link(&q, q.sort, q.descending, q.page),
        layout: Layout::new(&state, &session, "Sager", Some(&who)).await,
        search: q.search.clone(),
        waiting: q.waiting,
        states,
        columns,
        rows,
        total: page.total,
        page: page.page,
        pages: page.pages,
        prev: (page.page > 1).then(|| link(&q, q.sort, q.descending, page.page - 1)),
        next: (page.page < page.pages).then(|| link(&q, q.sort, q.descending, page.page + 1)),
    }
    .into_response()
}

// ---- one request ------------------------------------------------------------

struct RunRow {
    system: String,
    state: String,
    documents: usize,
    error: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "case.html")]
struct CasePage {
    layout: Layout,
    id: String,
    name: String,
    cpr: String,
    revealed: bool,
    period: String,
    topics: String,
    requested_by: String,
    ordered: String,
    deadline: String,
    days_left: String,
    urgency: &'static str,
    state: String,
    hold: String,
    caseworker: String,
    mine: bool,
    may_take: bool,
    /// The answer waits for a caseworker's approval.
    may_approve: bool,
    /// The request is open: it can still be refused.
    may_refuse: bool,
    /// Its answer is assembled: it can be forwarded to another municipality.
    may_forward: bool,
    runs: Vec<RunRow>,
    /// The robot sessions behind it (empty for those who may not see them).
    traces: Vec<crate::backend::TraceRow>,
    history: Vec<(String, String)>,
    /// (when, by whom, text), oldest first.
    notes: Vec<(String, String, String)>,
}

async fn render_case(
    state: &AppState,
    session: &Session,
    who: &Principal,
    r: RequestRecord,
    cpr: Option<String>,
) -> Response {
    let me = match who {
        Principal::Staff { user, .. } => user.clone(),
        _ => String::new(),
    };
    let may_take = matches!(
        who,
        Principal::Staff {
            role: marc_request::access::Role::Caseworker,
            ..
        }
    );
    let (w, i) = (who.clone(), r.id.clone());
    let traces = state
        .call(move |b| b.traces(&w, &i))
        .await
        .unwrap_or_default();
    let page = CasePage {
        traces,
        layout: Layout::new(state, session, &format!("Sag {}", r.id), Some(who)).await,
        id: r.id.clone(),
        name: r.name.clone(),
        revealed: cpr.is_some(),
        cpr: cpr.unwrap_or_else(|| worklist::masked_cpr(&r.cpr)),
        period: format!("{} – {}", dato(r.period_from), dato(r.period_to)),
        topics: if r.topics.is_empty() {
            "alle".into()
        } else {
            r.topics.join(", ")
        },
        requested_by: match &r.requested_by {
            None => "borgeren selv".into(),
            Some(p) => format!(
                "{} under samtykke {}",
                match p {
                    marc_request::Party::Cvr(cvr) => format!("CVR {cvr}"),
                    marc_request::Party::Cpr(cpr) =>
                        format!("en person ({})", worklist::masked_cpr(cpr)),
                },
                r.consent.clone().unwrap_or_default()
            ),
        },
        ordered: r
            .created
            .with_timezone(&chrono::Local)
            .format("%d-%m-%Y %H:%M")
            .to_string(),
        deadline: dato(r.deadline),
        days_left: days_left_text(&r),
        urgency: worklist::urgency(&r, today()).class(),
        state: r.state.dansk().to_string(),
        hold: hold_reason(&r),
        mine: r.caseworker.as_deref() == Some(me.as_str()),
        caseworker: r.caseworker.clone().unwrap_or_default(),
        may_approve: may_take
            && matches!(
                r.state,
                RequestState::HeldForReview | RequestState::Ready | RequestState::DeliveryFailed
            ),
        may_refuse: may_take && !r.state.is_closed(),
        may_forward: may_take
            && r.pdf.is_some()
            && matches!(
                r.state,
                RequestState::HeldForReview
                    | RequestState::Ready
                    | RequestState::DeliveryFailed
                    | RequestState::Delivered
            ),
        may_take,
        runs: r
            .runs
            .iter()
            .map(|(s, run)| RunRow {
                system: s.clone(),
                state: format!("{:?}", run.status).to_lowercase(),
                documents: run.documents,
                error: run.error.clone().unwrap_or_default(),
            })
            .collect(),
        notes: r
            .notes
            .iter()
            .map(|n| {
                (
                    n.at.with_timezone(&chrono::Local)
                        .format("%d-%m-%Y %H:%M")
                        .to_string(),
                    n.by.clone(),
                    n.text.clone(),
                )
            })
            .collect(),
        history: r
            .history
            .iter()
            .map(|c| {
                (
                    c.at.with_timezone(&chrono::Local)
                        .format("%d-%m-%Y %H:%M:%S")
                        .to_string(),
                    c.state.dansk().to_string(),
                )
            })
            .collect(),
    };
    page.into_response()
}

async fn case_page(
    State(state): State<AppState>,
    session: Session,
    Staff(who): Staff,
    Path(id): Path<String>,
) -> Response {
    let w = who.clone();
    match state.call(move |b| b.request(&w, &id)).await {
        Ok(r) => render_case(&state, &session, &who, r, None).await,
        Err(e) => error_page(e),
    }
}

/// Shows the full CPR number on this page only (the reveal is audited;
/// the next visit shows it masked again).
async fn reveal(
    State(state): State<AppState>,
    session: Session,
    Staff(who): Staff,
    Path(id): Path<String>,
) -> Response {
    let w = who.clone();
    let got = state
        .call(move |b| {
            let cpr = b.reveal_cpr(&w, &id)?;
            Ok((b.request(&w, &id)?, cpr))
        })
        .await;
    match got {
        Ok((r, cpr)) => render_case(&state, &session, &who, r, Some(cpr)).await,
        Err(e) => error_page(e),
    }
}

/// A caseworker's decision on a case: one backend call as `who` on the
/// case `id`, then back to the case page (at `anchor`), or the refusal.
async fn decide<T: Send + 'static>(
    state: &AppState,
    who: Principal,
    id: String,
    anchor: &str,
    call: impl FnOnce(&dyn crate::Backend, &Principal, &str) -> Result<T, WebError> + Send + 'static,
) -> Response {
    let i = id.clone();
    match state.call(move |b| call(b, &who, &i)).await {
        Ok(_) => Redirect::to(&format!("/sager/{id}{anchor}")).into_response(),
        Err(e) => error_page(e),
    }
}

/// The value of a url-encoded form's field (empty when missing).
pub(crate) fn field(form: &[u8], name: &str) -> String {
    url::form_urlencoded::parse(form)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Takes or releases every chosen case at once (`op` `tildel`/`frigiv`);
/// each is one audited assignment, as from its case page. A case that
/// cannot be taken (closed meanwhile) is named, and the others are done.
async fn bulk(
    State(state): State<AppState>,
    Caseworker(who): Caseworker,
    RawForm(form): RawForm,
) -> Response {
    let take = match field(&form, "op").as_str() {
        "tildel" => true,
        "frigiv" => false,
        _ => return error_page(WebError::Refused("Vælg, hvad der skal ske.".into())),
    };
    let ids: Vec<String> = url::form_urlencoded::parse(&form)
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.into_owned())
        .collect();
    if ids.is_empty() {
        return error_page(WebError::Refused("Vælg mindst én sag.".into()));
    }
    let back = field(&form, "back");
    let back = if back.starts_with("/sager?") || back == "/sager" {
        back
    } else {
        "/sager".to_string()
    };
    let failed = state
        .call(move |b| {
            Ok(ids
                .into_iter()
                .filter(|id| b.assign(&who, id, take).is_err())
                .collect::<Vec<_>>())
        })
        .await
        .unwrap_or_default();
    if failed.is_empty() {
        Redirect::to(&back).into_response()
    } else {
        error_page(WebError::Refused(format!(
            "Disse sager kunne ikke {}: {}. De øvrige er {}.",
            if take { "tages" } else { "frigives" },
            failed.join(", "),
            if take { "taget" } else { "frigivet" }
        )))
    }
}

/// Approves the answer as the review page showed it (`revision`): a review
/// changed since is a conflict, and nothing is sent.
async fn approve(
    State(state): State<AppState>,
    Caseworker(who): Caseworker,
    Path(id): Path<String>,
    RawForm(form): RawForm,
) -> Response {
    let seen = field(&form, "revision").trim().parse::<u64>().ok();
    decide(&state, who, id, "", move |b, w, i| b.approve(w, i, seen)).await
}

async fn note(
    State(state): State<AppState>,
    Caseworker(who): Caseworker,
    Path(id): Path<String>,
    RawForm(form): RawForm,
) -> Response {
    let text = field(&form, "note");
    decide(&state, who, id, "#notater", move |b, w, i| {
        b.add_note(w, i, &text)
    })
    .await
}

async fn forward(
    State(state): State<AppState>,
    Caseworker(who): Caseworker,
    Path(id): Path<String>,
    RawForm(form): RawForm,
) -> Response {
    let (cvr, name) = (field(&form, "cvr"), field(&form, "name"));
    decide(&state, who, id, "", move |b, w, i| {
        b.forward(w, i, &cvr, &name)
    })
    .await
}

async fn extend(
    State(state): State<AppState>,
    Caseworker(who): Caseworker,
    Path(id): Path<String>,
    RawForm(form): RawForm,
) -> Response {
    let Ok(to) = field(&form, "deadline").trim().parse::<chrono::NaiveDate>() else {
        return error_page(WebError::Refused(
            "Skriv den nye frist som en dato (ÅÅÅÅ-MM-DD).".into(),
        ));
    };
    let reason = field(&form, "reason");
    decide(&state, who, id, "", move |b, w, i| {
        b.extend_deadline(w, i, to, &reason)
    })
    .await
}

async fn refuse(
    State(state): State<AppState>,
    Caseworker(who): Caseworker,
    Path(id): Path<String>,
    RawForm(form): RawForm,
) -> Response {
    let reason = field(&form, "reason");
    decide(&state, who, id, "", move |b, w, i| b.refuse(w, i, &reason)).await
}

async fn take(
    State(state): State<AppState>,
    Caseworker(who): Caseworker,
    Path(id): Path<String>,
) -> Response {
    decide(&state, who, id, "", |b, w, i| b.assign(w, i, true)).await
}

async fn release(
    State(state): State<AppState>,
    Caseworker(who): Caseworker,
    Path(id): Path<String>,
) -> Response {
    decide(&state, who, id, "", |b, w, i| b.assign(w, i, false)).await
}
