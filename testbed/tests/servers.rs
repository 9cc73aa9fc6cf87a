//! Drives the testbed systems over real HTTP (reqwest), and checks
//! the attachment PDFs with `pdftotext` and `qpdf`.

use marc_testbed::server::{Testbed, TestbedConfig, CREDENTIALS};
use marc_testbed::{attachment_pdf, World, DEMO_SEED};
use std::collections::HashMap;

struct Resp {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request with reqwest: no redirects followed, no cookie store (the
/// tests pass the session cookie themselves and look at every answer).
async fn http(
    base: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Resp {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client");
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = client.request(method, format!("{base}{path}"));
    if let Some(c) = cookie {
        req = req.header(reqwest::header::COOKIE, c);
    }
    if let Some(f) = form {
        req = req
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(f.to_string());
    }
    let r = req.send().await.expect("request");
    let status = r.status().as_u16();
    let headers: HashMap<String, String> = r
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = r.bytes().await.expect("body").to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

fn session_cookie(r: &Resp) -> String {
    let sc = r.headers.get("set-cookie").expect("set-cookie");
    sc.split(';').next().expect("cookie").to_string()
}

fn cred(system: &str) -> (&'static str, &'static str) {
    let (_, u, p) = CREDENTIALS
        .iter()
        .find(|(s, _, _)| *s == system)
        .expect("credentials");
    (u, p)
}

/// All `attr="..."` values in `html` following `marker`.
fn attrs(html: &str, marker: &str) -> Vec<String> {
    html.match_indices(marker)
        .map(|(i, _)| {
            let rest = &html[i + marker.len()..];
            rest[..rest.find('"').expect("quote")].to_string()
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn esdh_login_cases_document_attachment() {
    let tb = Testbed::start(TestbedConfig::default())
        .await
        .expect("start");
    let base = tb.esdh_url.clone();
    let demo = tb.world.demo_citizen().clone();

    // No session: redirect to login.
    let r = http(&base, "GET", "/search", None, None).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.headers.get("location").map(String::as_str),
        Some("/login")
    );
    let r = http(&base, "GET", "/login", None, None).await;
    assert!(r
        .text()
        .contains("<form id=\"login\" method=\"post\" action=\"/login\">"));

    // Wrong password: login page with an error.
    let r = http(
        &base,
        "POST",
        "/login",
        None,
        Some("username=marc-robot&password=wrong"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("id=\"login-error\""));

    let (u, p) = cred("esdh");
    let r = http(
        &base,
        "POST",
        "/login",
        None,
        Some(&format!("username={u}&password={p}")),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.headers.get("location").map(String::as_str),
        Some("/search")
    );
    let c = session_cookie(&r);
    let r = http(&base, "GET", "/search", Some(&c), None).await;
    assert!(r
        .text()
        .contains("<form id=\"search\" method=\"get\" action=\"/cases\">"));

    // Case list, CPR without hyphen.
    let compact = demo.cpr.replace('-', "");
    let r = http(
        &base,
        "GET",
        &format!("/cases?cpr={compact}"),
        Some(&c),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    let html = r.text();
    let case_ids = attrs(&html, "<td class=\"case-id\"><a href=\"/cases/");
    let want: Vec<String> = tb
        .world
        .cases_for("esdh", &demo.cpr)
        .map(|c| c.case_id.clone())
        .collect();
    assert_eq!(case_ids, want);
    assert!(!html.contains("no-results"));

    // Every document of every case, text round-trips through <p> paragraphs.
    let mut seen = 0;
    let mut pdfs = 0;
    for id in &case_ids {
        let html = http(&base, "GET", &format!("/cases/{id}"), Some(&c), None)
            .await
            .text();
        assert!(html.contains("<h1 id=\"case-title\">"));
        for doc_id in attrs(&html, "<a href=\"/documents/") {
            let r = http(
                &base,
                "GET",
                &format!("/documents/{doc_id}"),
                Some(&c),
                None,
            )
            .await;
            let html = r.text();
            let truth = tb.world.document(&doc_id).expect("doc in world");
            assert!(html.contains(&format!("data-doc-id=\"{doc_id}\" data-case-id=\"{id}\"")));
            assert!(html.contains(&format!("<span class=\"date\">{}</span>", truth.date)));
            let body = &html[html.find("<div class=\"body\">").expect("body")..];
            let body = &body[..body.find("</div>").expect("end")];
            let paras: Vec<String> = body
                .split("<p>")
                .skip(1)
                .map(|p| unescape(&p[..p.find("</p>").expect("p end")]))
                .collect();
            assert_eq!(paras.join("\n\n"), truth.text);
            for att in attrs(&html, "class=\"attachment\" href=\"/attachments/") {
                let r = http(&base, "GET", &format!("/attachments/{att}"), Some(&c), None).await;
                assert_eq!(
                    r.headers.get("content-type").map(String::as_str),
                    Some("application/pdf")
                );
                assert!(r.body.starts_with(b"%PDF-1.4"));
                pdfs += 1;
            }
            seen += 1;
        }
    }
    assert_eq!(seen, tb.world.documents_for("esdh", &demo.cpr).count());
    assert!(pdfs >= 1);

    // A CPR without cases.
    let other = tb
        .world
        .citizens
        .iter()
        .find(|x| tb.world.cases_for("esdh", &x.cpr).next().is_none())
        .expect("someone without esdh cases");
    let html = http(
        &base,
        "GET",
        &format!("/cases?cpr={}", other.cpr),
        Some(&c),
        None,
    )
    .await
    .text();
    assert!(html.contains("<tbody>\n</tbody>") && html.contains("id=\"no-results\""));

    // The log saw all of it, with the user, and nothing forbidden.
    let log = tb.log.entries();
    assert!(log.iter().all(|e| e.system == "esdh" && !e.forbidden));
    assert!(log
        .iter()
        .any(|e| e.path == format!("/cases?cpr={compact}") && e.user.as_deref() == Some(u)));
    let served = http(&base, "GET", "/__testbed/log", None, None)
        .await
        .text();
    let parsed: Vec<marc_testbed::LogEntry> = serde_json::from_str(&served).expect("log json");
    assert_eq!(parsed.len(), log.len());
    tb.stop().await;
}

#[tokio::test]
async fn legacy_traps_are_served_and_logged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log_file = dir.path().join("log.jsonl");
    let cfg = TestbedConfig {
        fail_rate: 0.3,
        session_requests: 6,
        js_delay_ms: 10,
        log_file: Some(log_file.clone()),
        ..Default::default()
    };
    let tb = Testbed::start(cfg).await.expect("start");
    let base = tb.legacy_url.clone();
    let demo = tb.world.demo_citizen().clone();

    let html = http(&base, "GET", "/", None, None).await.text();
    assert!(html.contains("<frame name=\"main\" id=\"main\" src=\"/login\">"));
    // Not logged in: the login page.
    let html = http(&base, "GET", "/find", None, None).await.text();
    assert!(html.contains("id=\"user\"") && html.contains("id=\"loginbtn\""));
    let r = http(&base, "POST", "/login", None, Some("user=ROBOT01&pass=nej")).await;
    assert!(r.text().contains("id=\"loginfejl\""));

    let mut c = Robot {
        base: base.clone(),
        cookie: String::new(),
        n503: 0,
        expired: 0,
    };
    c.login().await;

    let html = c.get("/find".into()).await.text();
    assert!(html.contains("id=\"cprnr\"") && html.contains("id=\"searchbtn\""));
    let html = c.get(format!("/list?cpr={}", demo.cpr)).await.text();
    assert!(html.contains("<div id=\"caselist\">Henter sager…</div>"));
    let json = c
        .get(format!("/api/cases?cpr={}", demo.cpr.replace('-', "")))
        .await
        .text();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&json).expect("json");
    let want: Vec<String> = tb
        .world
        .cases_for("legacy", &demo.cpr)
        .map(|c| c.case_id.clone())
        .collect();
    let got: Vec<String> = cases
        .iter()
        .map(|c| c["case_id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(got, want);

    let mut docs = Vec::new();
    let mut saw_pager = false;
    for case in &want {
        let mut page = 1;
        loop {
            let html = c.get(format!("/case?id={case}&page={page}")).await.text();
            let ids = attrs(&html, "<td class=\"dok-nr\">");
            assert!(ids.len() <= 5);
            let ids: Vec<String> = html
                .match_indices("<td class=\"dok-nr\">")
                .map(|(i, _)| {
                    let r = &html[i + 19..];
                    r[..r.find('<').expect("<")].to_string()
                })
                .collect();
            assert!(html.contains(&format!("<span id=\"pageinfo\">Side {page} af ")));
            docs.extend(ids);
            if html.contains("id=\"next\"") {
                saw_pager = true;
                page += 1;
            } else {
                break;
            }
        }
    }
    assert!(
        saw_pager,
        "the demo citizen has a case with more than 5 documents"
    );
    let mut want_docs: Vec<String> = tb
        .world
        .documents_for("legacy", &demo.cpr)
        .map(|d| d.doc_id.clone())
        .collect();
    let mut got_docs = docs.clone();
    want_docs.sort();
    got_docs.sort();
    assert_eq!(got_docs, want_docs);

    let mut bilag = 0;
    for id in &docs {
        let html = c.get(format!("/doc?id={id}")).await.text();
        let truth = tb.world.document(id).expect("doc");
        let pre = &html[html.find("<pre id=\"tekst\">").expect("pre") + 16..];
        assert_eq!(
            unescape(&pre[..pre.find("</pre>").expect("end")]),
            truth.text
        );
        assert!(html.contains(&format!(
            "data-felt=\"dato\">{}</div>",
            marc_testbed::world::legacy_date(&truth.date)
        )));
        assert!(html.contains("<button id=\"slet\""));
        for b in attrs(&html, "class=\"bilag\" href=\"/bilag?id=") {
            let r = c.get(format!("/bilag?id={b}")).await;
            assert!(r.body.starts_with(b"%PDF"));
            bilag += 1;
        }
    }
    assert!(bilag >= 1);
    assert!(c.n503 > 0, "expected some 503s at fail_rate 0.3");
    assert!(c.expired > 0, "expected session expiry after 6 requests");

    // The dangerous button: refused and logged as forbidden.
    let r = http(
        &base,
        "POST",
        "/doc/delete",
        Some(&c.cookie),
        Some(&format!("id={}", docs[0])),
    )
    .await;
    assert_eq!(r.status, 403);
    let log = tb.log.entries();
    let del = log
        .iter()
        .find(|e| e.path == "/doc/delete")
        .expect("logged");
    assert!(del.forbidden && del.status == 403 && del.method == "POST");
    // Any other write too, even to a page that exists.
    let r = http(&base, "POST", "/find", Some(&c.cookie), Some("x=1")).await;
    assert_eq!(r.status, 403);
    assert_eq!(tb.log.forbidden().len(), 2);
    assert!(log.iter().filter(|e| e.status == 503).count() == c.n503);
    // Never two 503s in a row for the same path.
    let mut last: HashMap<&str, u16> = HashMap::new();
    for e in &log {
        if let Some(prev) = last.insert(&e.path, e.status) {
            assert!(
                !(prev == 503 && e.status == 503),
                "two 503s in a row for {}",
                e.path
            );
        }
    }
    // The JSON Lines file holds the same entries.
    let file = std::fs::read_to_string(&log_file).expect("log file");
    assert_eq!(file.lines().count(), tb.log.entries().len());
    tb.stop().await;
}

/// Fetches the way a robot must: 503 → retry, login page → log in again.
struct Robot {
    base: String,
    cookie: String,
    n503: usize,
    expired: usize,
}

impl Robot {
    async fn login(&mut self) {
        let (u, p) = cred("legacy");
        let r = http(
            &self.base,
            "POST",
            "/login",
            None,
            Some(&format!("user={u}&pass={p}")),
        )
        .await;
        assert_eq!(r.status, 303);
        assert_eq!(r.headers.get("location").map(String::as_str), Some("/find"));
        self.cookie = session_cookie(&r);
    }

    async fn get(&mut self, path: String) -> Resp {
        for _ in 0..50 {
            let r = http(&self.base, "GET", &path, Some(&self.cookie), None).await;
            if r.status == 503 {
                assert_eq!(r.text(), "Service midlertidigt utilgængelig");
                self.n503 += 1;
                continue;
            }
            if r.status == 401 || r.text().contains("id=\"user\"") {
                if r.status == 200 {
                    assert!(r.text().contains("Session udløbet"), "{}", r.text());
                }
                self.expired += 1;
                self.login().await;
                continue;
            }
            return r;
        }
        panic!("{path}: no answer after 50 tries");
    }
}

#[test]
fn attachment_pdfs_pass_pdftotext_and_qpdf() {
    let w = World::generate(DEMO_SEED);
    let dir = tempfile::tempdir().expect("tempdir");
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut checked = 0;
    // A long one to force several pages, plus real attachments.
    let long = marc_testbed::TbAttachment {
        att_id: "X".into(),
        name: "Lang.pdf".into(),
        mime: "application/pdf".into(),
        text: (0..80)
            .map(|i| {
                format!(
                    "Afsnit {i}: Søren Ærø bor på Åboulevarden {i}, 8000 Aarhus C (010203 1234)."
                )
            })
            .collect::<Vec<_>>()
            .join("\n\n"),
    };
    let atts: Vec<_> = w
        .documents
        .iter()
        .flat_map(|d| d.attachments.iter())
        .take(5)
        .chain([&long])
        .collect();
    for a in atts {
        let path = dir.path().join(format!("{}.pdf", a.att_id));
        std::fs::write(&path, attachment_pdf(a)).expect("write");
        let out = std::process::Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(&path)
            .arg("-")
            .output()
            .expect("pdftotext installed (poppler-utils)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("utf8");
        assert!(
            norm(&text).contains(&norm(&a.text)),
            "{}\n---\n{}",
            text,
            a.text
        );
        let q = std::process::Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
            .expect("qpdf installed");
        assert!(
            q.status.success(),
            "qpdf: {}",
            String::from_utf8_lossy(&q.stdout)
        );
        checked += 1;
    }
    assert_eq!(checked, 6);
    // Multi-page.
    let info = std::process::Command::new("pdfinfo")
        .arg(dir.path().join("X.pdf"))
        .output()
        .expect("pdfinfo");
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && !l.ends_with(" 1")),
        "{info}"
    );
}

/// A load testbed serves many instances, each only its own cases and
/// documents, each with its own session cookie; together they hold every
/// document of the load citizen.
#[tokio::test]
async fn load_testbed_serves_each_instance_its_own_share() {
    let spec = marc_testbed::LoadSpec {
        systems: 4,
        documents: 30,
    };
    let tb = Testbed::start(TestbedConfig {
        seed: 5,
        fail_rate: 0.0,
        load: Some(spec),
        ..Default::default()
    })
    .await
    .expect("start");
    let ids: Vec<_> = tb.systems.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["esdh01", "legacy01", "esdh02", "legacy02"]);
    assert_eq!(tb.url("esdh01"), Some(tb.esdh_url.as_str()));
    assert_eq!(tb.url("legacy01"), Some(tb.legacy_url.as_str()));
    let me = tb.world.load_citizen().clone();
    let compact = me.cpr.replace('-', "");
    let mut listed = 0;
    for (i, sys) in tb.systems.iter().enumerate() {
        let base = &sys.url;
        let (login, form) = match sys.kind {
            marc_testbed::SystemKind::Esdh => {
                let (u, p) = cred("esdh");
                ("/login", format!("username={u}&password={p}"))
            }
            _ => {
                let (u, p) = cred("legacy");
                ("/login", format!("user={u}&pass={p}"))
            }
        };
        let r = http(base, "POST", login, None, Some(&form)).await;
        assert_eq!(r.status, 303, "{} login", sys.id);
        let c = session_cookie(&r);
        assert!(c.starts_with(&format!("{}_sid=", sys.id)), "{c}");
        let want: Vec<String> = tb
            .world
            .cases_for(&sys.id, &me.cpr)
            .map(|c| c.case_id.clone())
            .collect();
        assert!(
            !want.is_empty(),
            "{} has no case of the load citizen",
            sys.id
        );
        let got = match sys.kind {
            marc_testbed::SystemKind::Esdh => {
                let html = http(
                    base,
                    "GET",
                    &format!("/cases?cpr={compact}"),
                    Some(&c),
                    None,
                )
                .await
                .text();
                attrs(&html, "<td class=\"case-id\"><a href=\"/cases/")
            }
            _ => {
                let json = http(
                    base,
                    "GET",
                    &format!("/api/cases?cpr={compact}"),
                    Some(&c),
                    None,
                )
                .await
                .text();
                let v: serde_json::Value = serde_json::from_str(&json).expect("cases json");
                v.as_array()
                    .expect("array")
                    .iter()
                    .map(|c| c["case_id"].as_str().expect("case_id").to_string())
                    .collect()
            }
        };
        assert_eq!(got, want, "{}", sys.id);
        listed += want
            .iter()
            .map(|id| tb.world.documents_of_case(id).count())
            .sum::<usize>();
        // Another instance's document is not here.
        let other = &tb.systems[(i + 2) % tb.systems.len()];
        let foreign = tb
            .world
            .documents_for(&other.id, &me.cpr)
            .next()
            .expect("a document elsewhere");
        let path = match sys.kind {
            marc_testbed::SystemKind::Esdh => format!("/documents/{}", foreign.doc_id),
            _ => format!("/doc?id={}", foreign.doc_id),
        };
        let r = http(base, "GET", &path, Some(&c), None).await;
        assert_eq!(
            r.status, 404,
            "{} served {}'s {}",
            sys.id, other.id, foreign.doc_id
        );
    }
    assert_eq!(listed, spec.documents);
    let systems: std::collections::HashSet<String> =
        tb.log.entries().into_iter().map(|e| e.system).collect();
    assert_eq!(systems.len(), 4, "{systems:?}");
    tb.stop().await;
}
