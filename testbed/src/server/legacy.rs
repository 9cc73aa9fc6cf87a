//! The legacy case system: the traps an old municipal system sets for a robot.
//!
//! * `/` is a frameset; everything happens in the frame `main`.
//! * The case list is rendered by JavaScript after a delay, from `/api/cases`.
//! * Document lists are paginated (5 per page); documents open in a popup.
//! * The session (cookie `legacy_sid`) expires after N requests: the page asked
//!   for is then answered 200 with the login page ("Session udløbet").
//! * Page requests fail with 503 at a configurable, deterministic rate (never
//!   twice in a row for the same path).
//! * The robot account is read-only; the document popup has a "Slet dokument"
//!   button whose POST is refused (403) and logged as forbidden.

use super::{
    cookie, esc, forbidden_page, lock, log_endpoint, log_requests, new_token, pdf_response,
    AuthUser, LogCtx, Served, Session, Sessions, LOG_PATH,
};
use crate::pdf::attachment_pdf;
use crate::server::log::RequestLog;
use crate::server::TestbedConfig;
use crate::world::{legacy_date, World};
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use marc_model::Cpr;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Documents per page in a case's document list.
pub(crate) const PAGE_SIZE: usize = 5;
const UNAVAILABLE: &str = "Service midlertidigt utilgængelig";

#[derive(Clone)]
struct St {
    served: Served,
    world: Arc<World>,
    sessions: Sessions,
    fail_rate: f64,
    session_requests: u32,
    js_delay_ms: u64,
    seed: u64,
    /// Requests that rolled the 503 dice so far.
    rolls: Arc<AtomicU64>,
    /// Paths (with query) whose last answer was a 503.
    failed_last: Arc<Mutex<HashSet<String>>>,
}

pub(crate) fn router(
    served: Served,
    world: Arc<World>,
    log: RequestLog,
    cfg: &TestbedConfig,
) -> Router {
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
        fail_rate: cfg.fail_rate.clamp(0.0, 1.0),
        session_requests: cfg.session_requests.max(1),
        js_delay_ms: cfg.js_delay_ms,
        seed: cfg.seed,
        rolls: Default::default(),
        failed_last: Default::default(),
    };
    Router::new()
        .route("/", get(frameset))
        .route("/menu", get(menu))
        .route("/login", get(login_form).post(login))
        .route("/logout", get(logout))
        .route("/find", get(find))
        .route("/list", get(list))
        .route("/api/cases", get(api_cases))
        .route("/case", get(case_page))
        .route("/doc", get(doc))
        .route("/doc/delete", post(|| async { forbidden_page() }))
        .route("/bilag", get(bilag))
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

/// splitmix64: a tiny, well-mixed deterministic hash for the 503 dice.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Whether roll number `n` under `seed` is a failure at `rate`.
pub(crate) fn roll_fails(seed: u64, n: u64, rate: f64) -> bool {
    let x = splitmix64(seed ^ splitmix64(n));
    ((x >> 11) as f64 / (1u64 << 53) as f64) < rate
}

/// Why a gated page is not served.
enum Refusal {
    /// No session (or an unknown one): show the login page.
    NoSession { expired: bool },
    /// Transient failure.
    Unavailable,
}

impl St {
    /// Checks the session, counts the request, expires the session after
    /// `session_requests`, and rolls for a transient 503.
    fn gate(&self, headers: &HeaderMap, uri: &Uri) -> Result<String, Refusal> {
        let token = cookie(headers, &self.served.cookie);
        let user = {
            let mut sessions = lock(&self.sessions);
            let Some(t) = token.as_ref() else {
                return Err(Refusal::NoSession { expired: false });
            };
            let Some(s) = sessions.get_mut(t) else {
                // A cookie the system no longer knows: it expired.
                return Err(Refusal::NoSession { expired: true });
            };
            s.requests += 1;
            if s.requests > self.session_requests {
                sessions.remove(t);
                return Err(Refusal::NoSession { expired: true });
            }
            s.user.clone()
        };
        let key = uri.to_string();
        let n = self.rolls.fetch_add(1, Ordering::SeqCst);
        let mut failed = lock(&self.failed_last);
        if roll_fails(self.seed, n, self.fail_rate) && !failed.contains(&key) {
            failed.insert(key);
            return Err(Refusal::Unavailable);
        }
        failed.remove(&key);
        Ok(user)
    }
}

impl Refusal {
    /// The answer an HTML page gives: the login page (200) or a 503.
    fn page(self) -> Response {
        match self {
            Refusal::NoSession { expired } => login_html(None, expired).into_response(),
            Refusal::Unavailable => unavailable(),
        }
    }
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        UNAVAILABLE,
    )
        .into_response()
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\">\n<html><head>\
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"><title>{}</title></head>\n\
         <body bgcolor=\"#d4d0c8\"><font face=\"Arial\" size=\"2\">\n{body}\n</font></body></html>",
        esc(title)
    ))
}

async fn frameset() -> Html<&'static str> {
    Html(
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Frameset//EN\">\n<html><head>\
         <meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\
         <title>SagsSystem 4.2</title></head>\n<frameset cols=\"170,*\">\n\
         <frame name=\"menu\" src=\"/menu\">\n<frame name=\"main\" id=\"main\" src=\"/login\">\n\
         <noframes>Dette system kræver en browser med frames.</noframes>\n</frameset></html>",
    )
}

async fn menu() -> Html<String> {
    page(
        "Menu",
        "<b>SagsSystem 4.2</b><br><br><a href=\"/find\" target=\"main\" id=\"menu-find\">Søg borger</a><br>\
         <a href=\"/logout\" target=\"main\" id=\"menu-logout\">Log af</a>",
    )
}

fn login_html(error: Option<&str>, expired: bool) -> Html<String> {
    let mut msg = String::new();
    if expired {
        msg.push_str(
            "<p class=\"fejl\" id=\"expired\">Session udløbet. Log venligst ind igen.</p>",
        );
    }
    if let Some(e) = error {
        msg.push_str(&format!(
            "<p class=\"fejl\" id=\"loginfejl\">{}</p>",
            esc(e)
        ));
    }
    page(
        "Log på",
        &format!(
            "<h2>Log på SagsSystem</h2>{msg}\n<form method=\"post\" action=\"/login\" name=\"loginform\">\
             <table><tr><td>Bruger:</td><td><input type=\"text\" id=\"user\" name=\"user\"></td></tr>\
             <tr><td>Kodeord:</td><td><input type=\"password\" id=\"pass\" name=\"pass\"></td></tr>\
             <tr><td></td><td><input type=\"submit\" id=\"loginbtn\" value=\"Log på\"></td></tr></table></form>"
        ),
    )
}

async fn login_form(Query(q): Query<HashMap<String, String>>) -> Html<String> {
    login_html(None, q.contains_key("expired"))
}

async fn login(State(st): State<St>, Form(f): Form<HashMap<String, String>>) -> Response {
    let user = f.get("user").map(String::as_str).unwrap_or("");
    let pass = f.get("pass").map(String::as_str).unwrap_or("");
    let mut resp = if st.served.password_ok(user, pass) {
        let token = new_token();
        lock(&st.sessions).insert(
            token.clone(),
            Session {
                user: user.to_string(),
                requests: 0,
            },
        );
        let mut r = Redirect::to("/find").into_response();
        if let Ok(v) = format!("{}={token}; Path=/", st.served.cookie).parse() {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
        r
    } else {
        login_html(Some("Forkert brugernavn eller kodeord."), false).into_response()
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
    login_html(None, false).into_response()
}

async fn find(State(st): State<St>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = st.gate(&headers, &uri) {
        return r.page();
    }
    page(
        "Søg borger",
        "<h2>Søg borger</h2>\nCPR-nr.: <input type=\"text\" id=\"cprnr\" name=\"cprnr\" size=\"12\"> \
         <input type=\"button\" id=\"searchbtn\" value=\"Søg\" \
         onclick=\"window.location.href='/list?cpr='+encodeURIComponent(document.getElementById('cprnr').value);\">",
    )
    .into_response()
}

async fn list(
    State(st): State<St>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = st.gate(&headers, &uri) {
        return r.page();
    }
    let cpr = q.get("cpr").cloned().unwrap_or_default();
    let cpr_js = serde_json::to_string(&cpr)
        .unwrap_or_else(|_| "\"\"".into())
        .replace("</", "<\\/");
    let script = format!(
        r#"<script type="text/javascript">
var CPR = {cpr_js};
function esc(s) {{ return String(s).replace(/&/g,'&amp;').replace(/</g,'&lt;').replace(/>/g,'&gt;').replace(/"/g,'&quot;'); }}
setTimeout(function () {{
  var el = document.getElementById('caselist');
  var x = new XMLHttpRequest();
  x.open('GET', '/api/cases?cpr=' + encodeURIComponent(CPR), true);
  x.onload = function () {{
    if (x.status == 401) {{ window.location.href = '/login?expired=1'; return; }}
    if (x.status == 400) {{ el.innerHTML = '<span class="fejl" id="ugyldig">Ugyldigt CPR-nr.</span>'; return; }}
    if (x.status != 200) {{ el.innerHTML = '<span class="fejl">Fejl – prøv igen</span>'; return; }}
    var data;
    try {{ data = JSON.parse(x.responseText); }} catch (e) {{ el.innerHTML = '<span class="fejl">Fejl – prøv igen</span>'; return; }}
    var h = '<table id="caselist-table" border="1" cellpadding="3"><tr><th>Sagsnr</th><th>Sagstitel</th><th>Afdeling</th></tr>';
    for (var i = 0; i < data.length; i++) {{
      var c = data[i];
      h += '<tr class="case" data-case-id="' + esc(c.case_id) + '"><td class="sagsnr">' + esc(c.case_id) +
           '</td><td class="sagstitel"><a href="/case?id=' + encodeURIComponent(c.case_id) + '">' + esc(c.title) +
           '</a></td><td class="afdeling">' + esc(c.department) + '</td></tr>';
    }}
    h += '</table>';
    if (data.length == 0) {{ h += '<p id="ingen-sager">Ingen sager fundet.</p>'; }}
    el.innerHTML = h;
  }};
  x.onerror = function () {{ el.innerHTML = '<span class="fejl">Fejl – prøv igen</span>'; }};
  x.send();
}}, {delay});
</script>"#,
        delay = st.js_delay_ms
    );
    page(
        "Sagsliste",
        &format!(
            "<h2>Sager for CPR-nr. {}</h2>\n<div id=\"caselist\">Henter sager…</div>\n{script}",
            esc(&cpr)
        ),
    )
    .into_response()
}

async fn api_cases(
    State(st): State<St>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = st.gate(&headers, &uri) {
        return match r {
            Refusal::NoSession { .. } => (
                StatusCode::UNAUTHORIZED,
                Json(serde_json::json!({"error": "session udløbet"})),
            )
                .into_response(),
            Refusal::Unavailable => unavailable(),
        };
    }
    let raw = q.get("cpr").map(String::as_str).unwrap_or("");
    let cpr = match raw.parse::<Cpr>() {
        Ok(c) => c.formatted(),
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"error": e.to_string()})),
            )
                .into_response()
        }
    };
    let cases: Vec<serde_json::Value> = st
        .world
        .cases_for(&st.served.id, &cpr)
        .map(|c| {
            serde_json::json!({
                "case_id": c.case_id, "title": c.title, "department": c.department, "opened": c.opened
            })
        })
        .collect();
    Json(cases).into_response()
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        page(
            "Fejl",
            &format!("<p class=\"fejl\" id=\"ikke-fundet\">{}</p>", esc(what)),
        ),
    )
        .into_response()
}

async fn case_page(
    State(st): State<St>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = st.gate(&headers, &uri) {
        return r.page();
    }
    let id = q.get("id").map(String::as_str).unwrap_or("");
    let Some(case) = st.world.case(id).filter(|c| *c.system == *st.served.id) else {
        return not_found(&format!("Sag {id} findes ikke."));
    };
    // Newest first, as the old system shows them.
    let mut docs: Vec<_> = st.world.documents_of_case(&case.case_id).collect();
    docs.sort_by(|a, b| (&b.date, &b.doc_id).cmp(&(&a.date, &a.doc_id)));
    let pages = docs.len().div_ceil(PAGE_SIZE).max(1);
    let n = q
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let rows: String = docs
        .iter()
        .skip((n - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|d| {
            format!(
                "<tr class=\"doc\"><td class=\"dok-nr\">{id}</td><td class=\"dok-titel\"><a href=\"#\" \
                 onclick=\"window.open('/doc?id={id}','doc','width=800,height=600');return false;\">{}</a></td>\
                 <td class=\"dok-dato\">{}</td></tr>\n",
                esc(&d.title),
                legacy_date(&d.date),
                id = esc(&d.doc_id)
            )
        })
        .collect();
    let next = if n < pages {
        format!(
            " <a id=\"next\" href=\"/case?id={}&amp;page={}\">Næste side</a>",
            esc(&case.case_id),
            n + 1
        )
    } else {
        String::new()
    };
    let prev = if n > 1 {
        format!(
            "<a id=\"prev\" href=\"/case?id={}&amp;page={}\">Forrige side</a> ",
            esc(&case.case_id),
            n - 1
        )
    } else {
        String::new()
    };
    page(
        &case.title,
        &format!(
            "<h2 id=\"sagshoved\">Sag {} &ndash; {}</h2>\n<p>Afdeling: {} &nbsp; Oprettet: {}</p>\n\
             <table class=\"doclist\" border=\"1\" cellpadding=\"3\"><tr><th>Dok.nr.</th><th>Titel</th><th>Dato</th></tr>\n\
             {rows}</table>\n<p>{prev}<span id=\"pageinfo\">Side {n} af {pages}</span>{next}</p>\n\
             <p><a href=\"/find\">Ny søgning</a></p>",
            esc(&case.case_id),
            esc(&case.title),
            esc(&case.department),
            legacy_date(&case.opened)
        ),
    )
    .into_response()
}

async fn doc(
    State(st): State<St>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = st.gate(&headers, &uri) {
        return r.page();
    }
    let id = q.get("id").map(String::as_str).unwrap_or("");
    let Some(d) = st.world.document(id).filter(|d| *d.system == *st.served.id) else {
        return not_found(&format!("Dokument {id} findes ikke."));
    };
    let bilag: String = d
        .attachments
        .iter()
        .map(|a| {
            format!(
                "<a class=\"bilag\" href=\"/bilag?id={}\" target=\"_blank\">{}</a><br>",
                esc(&a.att_id),
                esc(&a.name)
            )
        })
        .collect();
    let felt = |name: &str, label: &str, v: &str| {
        format!(
            "<tr><td><b>{label}:</b></td><td><div class=\"felt\" data-felt=\"{name}\">{}</div></td></tr>",
            esc(v)
        )
    };
    let fields = [
        felt("titel", "Titel", &d.title),
        felt("dato", "Dato", &legacy_date(&d.date)),
        felt("type", "Type", &d.kind),
        felt("afdeling", "Afdeling", &d.department),
        felt("sagsnr", "Sagsnr", &d.case_id),
    ]
    .concat();
    page(
        &d.title,
        &format!(
            "<div id=\"dokument\">\n<table>{fields}</table>\n<pre id=\"tekst\">{}</pre>\n\
             <p>Bilag:<br>{bilag}</p>\n</div>\n<hr>\n<form method=\"post\" action=\"/doc/delete\">\
             <input type=\"hidden\" name=\"id\" value=\"{}\"><button id=\"slet\" type=\"submit\">Slet dokument</button></form>\n\
             <p><a href=\"#\" onclick=\"window.close();return false;\">Luk vindue</a></p>",
            esc(&d.text),
            esc(&d.doc_id)
        ),
    )
    .into_response()
}

async fn bilag(
    State(st): State<St>,
    headers: HeaderMap,
    uri: Uri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = st.gate(&headers, &uri) {
        return r.page();
    }
    let id = q.get("id").map(String::as_str).unwrap_or("");
    match st
        .world
        .attachment(id)
        .filter(|(d, _)| *d.system == *st.served.id)
    {
        Some((_, a)) => pdf_response(&a.name, attachment_pdf(a)),
        None => not_found(&format!("Bilag {id} findes ikke.")),
    }
}

async fn fallback(method: Method) -> Response {
    if method == Method::GET || method == Method::HEAD {
        not_found("Siden findes ikke.")
    } else {
        forbidden_page()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_are_deterministic_and_near_rate() {
        let a: Vec<bool> = (0..1000).map(|n| roll_fails(7, n, 0.1)).collect();
        let b: Vec<bool> = (0..1000).map(|n| roll_fails(7, n, 0.1)).collect();
        assert_eq!(a, b);
        let fails = a.iter().filter(|x| **x).count();
        assert!((60..140).contains(&fails), "{fails}");
        assert!((0..100).all(|n| !roll_fails(1, n, 0.0)));
        assert!((0..100).all(|n| roll_fails(1, n, 1.0)));
    }
}
