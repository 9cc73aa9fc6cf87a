//! The modern ESDH system: clean HTML, stable ids and classes, a login form,
//! CPR search, case list, case page, document page and PDF attachments.
//! Every page but `/login` needs a session (cookie `esdh_sid`); without one
//! it redirects (303) to `/login`.

use super::{
    cookie, esc, forbidden_page, lock, log_endpoint, log_requests, new_token, pdf_response,
    AuthUser, LogCtx, Served, Session, Sessions, LOG_PATH,
};
use crate::pdf::attachment_pdf;
use crate::server::log::RequestLog;
use crate::world::World;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use marc_model::Cpr;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
struct St {
    served: Served,
    world: Arc<World>,
    sessions: Sessions,
}

pub(crate) fn router(served: Served, world: Arc<World>, log: RequestLog) -> Router {
    let sessions: Sessions = Default::default();
    let ctx = LogCtx {
        served: served.clone(),
        log,
        sessions: sessions.clone(),
    };
    let st = St {
        served,
        world,
        sessions,
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/search") }))
        .route("/login", get(login_form).post(login))
        .route("/logout", get(logout))
        .route("/search", get(search))
        .route("/cases", get(cases))
        .route("/cases/{case_id}", get(case_page))
        .route("/documents/{doc_id}", get(document))
        .route("/attachments/{att_id}", get(attachment))
        .fallback(fallback)
        .method_not_allowed_fallback(fallback)
        .with_state(st)
        .merge(
            Router::new()
                .route(LOG_PATH, get(log_endpoint))
                .with_state(ctx.clone()),
        )
        .layer(axum::middleware::from_fn_with_state(ctx, log_requests))
}

fn page(title: &str, user: Option<&str>, body: &str) -> Html<String> {
    let nav = match user {
        Some(u) => format!(
            "<nav><a href=\"/search\">Søg</a> <span class=\"user\">{}</span> <a href=\"/logout\" id=\"logout\">Log ud</a></nav>",
            esc(u)
        ),
        None => String::new(),
    };
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"da\"><head><meta charset=\"utf-8\"><title>{} · ESDH</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}nav{{margin-bottom:1em}}\
         .error{{color:#b00}}</style></head><body>{nav}\n<main>\n{body}\n</main></body></html>",
        esc(title)
    ))
}

/// The logged-in user, if the request carries a live session.
fn user(st: &St, headers: &HeaderMap) -> Option<String> {
    cookie(headers, &st.served.cookie).and_then(|t| {
        let mut s = lock(&st.sessions);
        s.get_mut(&t).map(|s| {
            s.requests += 1;
            s.user.clone()
        })
    })
}

/// Where a request without a session goes.
fn to_login() -> Response {
    Redirect::to("/login").into_response()
}

fn login_html(error: Option<&str>) -> Html<String> {
    let err = error
        .map(|e| format!("<p class=\"error\" id=\"login-error\">{}</p>", esc(e)))
        .unwrap_or_default();
    page(
        "Log ind",
        None,
        &format!(
            "<h1>Log ind</h1>{err}\n<form id=\"login\" method=\"post\" action=\"/login\">\
             <label>Brugernavn <input name=\"username\" autocomplete=\"username\"></label>\
             <label>Adgangskode <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
             <button type=\"submit\">Log ind</button></form>"
        ),
    )
}

async fn login_form() -> Html<String> {
    login_html(None)
}

async fn login(State(st): State<St>, Form(f): Form<HashMap<String, String>>) -> Response {
    let user = f.get("username").map(String::as_str).unwrap_or("");
    let pass = f.get("password").map(String::as_str).unwrap_or("");
    let mut resp = if st.served.password_ok(user, pass) {
        let token = new_token();
        lock(&st.sessions).insert(
            token.clone(),
            Session {
                user: user.to_string(),
                requests: 0,
            },
        );
        let mut r = Redirect::to("/search").into_response();
        if let Ok(v) = format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Lax",
            st.served.cookie
        )
        .parse()
        {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        r
    } else {
        login_html(Some("Forkert brugernavn eller adgangskode.")).into_response()
    };
    if !user.is_empty() {
        resp.extensions_mut().insert(AuthUser(user.to_string()));
    }
    resp
}

async fn logout(State(st): State<St>, headers: HeaderMap) -> Response {
    if let Some(t) = cookie(&headers, &st.served.cookie) {
        lock(&st.sessions).remove(&t);
    }
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = format!("{}=; Path=/; Max-Age=0", st.served.cookie).parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn search(State(st): State<St>, headers: HeaderMap) -> Response {
    let Some(u) = user(&st, &headers) else {
        return to_login();
    };
    page(
        "Søg borger",
        Some(&u),
        "<h1>Søg borger</h1>\n<form id=\"search\" method=\"get\" action=\"/cases\">\
         <label>CPR-nummer <input name=\"cpr\" placeholder=\"DDMMÅÅ-XXXX\"></label>\
         <button type=\"submit\">Søg</button></form>",
    )
    .into_response()
}

async fn cases(
    State(st): State<St>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(u) = user(&st, &headers) else {
        return to_login();
    };
    let raw = q.get("cpr").map(String::as_str).unwrap_or("");
    let head =
        "<thead><tr><th>Sagsnr.</th><th>Titel</th><th>Afdeling</th><th>Oprettet</th></tr></thead>";
    let cpr = match raw.parse::<Cpr>() {
        Ok(c) => c,
        Err(e) => {
            let body = format!(
                "<h1>Sager</h1><p class=\"error\" id=\"error\">{}</p>\n<table id=\"cases\">{head}<tbody></tbody></table>",
                esc(&e.to_string())
            );
            return (StatusCode::BAD_REQUEST, page("Sager", Some(&u), &body)).into_response();
        }
    };
    let cpr_s = cpr.formatted();
    let mut rows = String::new();
    let mut n = 0;
    for c in st.world.cases_for(&st.served.id, &cpr_s) {
        n += 1;
        rows.push_str(&format!(
            "<tr><td class=\"case-id\"><a href=\"/cases/{id}\">{id}</a></td><td class=\"title\">{}</td>\
             <td class=\"department\">{}</td><td class=\"opened\">{}</td></tr>\n",
            esc(&c.title),
            esc(&c.department),
            esc(&c.opened),
            id = esc(&c.case_id),
        ));
    }
    let who = st
        .world
        .citizen(&cpr_s)
        .map(|c| format!("<p id=\"citizen\"><span class=\"name\">{}</span> <span class=\"cpr\">{}</span></p>", esc(&c.name), esc(&c.cpr)))
        .unwrap_or_default();
    let none = if n == 0 {
        "<p id=\"no-results\">Ingen sager fundet for dette CPR-nummer.</p>"
    } else {
        ""
    };
    let body = format!(
        "<h1>Sager for {}</h1>{who}\n<table id=\"cases\">{head}<tbody>\n{rows}</tbody></table>{none}",
        esc(&cpr_s)
    );
    page("Sager", Some(&u), &body).into_response()
}

fn not_found(u: &str, what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        page(
            "Ikke fundet",
            Some(u),
            &format!("<h1>Ikke fundet</h1><p id=\"not-found\">{}</p>", esc(what)),
        ),
    )
        .into_response()
}

async fn case_page(
    State(st): State<St>,
    headers: HeaderMap,
    Path(case_id): Path<String>,
) -> Response {
    let Some(u) = user(&st, &headers) else {
        return to_login();
    };
    let Some(case) = st
        .world
        .case(&case_id)
        .filter(|c| *c.system == *st.served.id)
    else {
        return not_found(&u, &format!("Sagen {case_id} findes ikke."));
    };
    let mut docs: Vec<_> = st.world.documents_of_case(&case.case_id).collect();
    docs.sort_by(|a, b| (&a.date, &a.doc_id).cmp(&(&b.date, &b.doc_id)));
    let rows: String = docs
        .iter()
        .map(|d| {
            format!(
                "<tr><td class=\"doc-id\">{id}</td><td class=\"title\"><a href=\"/documents/{id}\">{}</a></td>\
                 <td class=\"date\">{}</td><td class=\"kind\">{}</td></tr>\n",
                esc(&d.title),
                esc(&d.date),
                esc(&d.kind),
                id = esc(&d.doc_id)
            )
        })
        .collect();
    let body = format!(
        "<h1 id=\"case-title\">{}</h1>\n<dl id=\"case-meta\"><dt>Sagsnr.</dt><dd class=\"case-id\">{}</dd>\
         <dt>Afdeling</dt><dd class=\"department\">{}</dd><dt>Oprettet</dt><dd class=\"opened\">{}</dd>\
         <dt>CPR</dt><dd class=\"cpr\">{}</dd></dl>\n<table id=\"documents\"><thead><tr><th>Dok.nr.</th>\
         <th>Titel</th><th>Dato</th><th>Type</th></tr></thead><tbody>\n{rows}</tbody></table>",
        esc(&case.title),
        esc(&case.case_id),
        esc(&case.department),
        esc(&case.opened),
        esc(&case.cpr)
    );
    page(&case.title, Some(&u), &body).into_response()
}

async fn document(
    State(st): State<St>,
    headers: HeaderMap,
    Path(doc_id): Path<String>,
) -> Response {
    let Some(u) = user(&st, &headers) else {
        return to_login();
    };
    let Some(d) = st
        .world
        .document(&doc_id)
        .filter(|d| *d.system == *st.served.id)
    else {
        return not_found(&u, &format!("Dokumentet {doc_id} findes ikke."));
    };
    let paras: String = d
        .text
        .split("\n\n")
        .map(|p| format!("<p>{}</p>\n", esc(p)))
        .collect();
    let atts: String = d
        .attachments
        .iter()
        .map(|a| {
            format!(
                "<li><a class=\"attachment\" href=\"/attachments/{}\" data-name=\"{n}\">{n}</a></li>",
                esc(&a.att_id),
                n = esc(&a.name)
            )
        })
        .collect();
    let body = format!(
        "<p><a href=\"/cases/{case}\" id=\"back\">Tilbage til sagen</a></p>\n\
         <article id=\"document\" data-doc-id=\"{}\" data-case-id=\"{case}\">\n<h1 class=\"title\">{}</h1>\n\
         <p class=\"meta\">Dato: <span class=\"date\">{}</span> · Type: <span class=\"kind\">{}</span> · \
         Afdeling: <span class=\"department\">{}</span></p>\n<div class=\"body\">\n{paras}</div>\n\
         <h2>Bilag</h2><ul class=\"attachments\">{atts}</ul>\n</article>",
        esc(&d.doc_id),
        esc(&d.title),
        esc(&d.date),
        esc(&d.kind),
        esc(&d.department),
        case = esc(&d.case_id)
    );
    page(&d.title, Some(&u), &body).into_response()
}

async fn attachment(
    State(st): State<St>,
    headers: HeaderMap,
    Path(att_id): Path<String>,
) -> Response {
    let Some(u) = user(&st, &headers) else {
        return to_login();
    };
    match st
        .world
        .attachment(&att_id)
        .filter(|(d, _)| *d.system == *st.served.id)
    {
        Some((_, a)) => pdf_response(&a.name, attachment_pdf(a)),
        None => not_found(&u, &format!("Bilaget {att_id} findes ikke.")),
    }
}

async fn fallback(method: Method) -> Response {
    if method == Method::GET || method == Method::HEAD {
        (StatusCode::NOT_FOUND, Html("<h1>Siden findes ikke</h1>")).into_response()
    } else {
        forbidden_page()
    }
}
