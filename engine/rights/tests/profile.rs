//! Decisions of the rights profile, through the public API only.

use marc_rights::{parse_manifest_rights, Decision, RightsError, RightsProfile, TAG_KEY};

const MANIFEST: &str = r##"
id = "sagssystem"
name = "Sagssystem"
base_url = "http://127.0.0.1:4000/"

[rights]
origins = ["$base", "https://docs.kommune.example"]
allow_paths = ["/login", "/search", "/cases*", "/documents/*", "/attachments/*"]
deny_paths = ["*/delete*"]
methods = ["GET", "head"]
submit = ["POST /login", "post /search"]
never_click = ["#slet", "button[name=delete]", "text:Slet", "a.danger, [data-action^=remove]"]
max_documents = 500
time_budget_secs = 900

[system_user]
secret = "sagssystem-robot"
"##;

fn profile() -> RightsProfile {
    parse_manifest_rights(MANIFEST)
        .expect("manifest parses")
        .resolve("http://127.0.0.1:4000/start")
        .expect("resolves")
}

fn allowed(d: Decision) -> bool {
    d.is_allowed()
}

#[test]
fn origins_and_port_wildcards() {
    let p = profile();
    assert!(allowed(
        p.check_request("GET", "http://127.0.0.1:4000/cases")
    ));
    assert!(!allowed(
        p.check_request("GET", "http://127.0.0.1:4001/cases")
    ));
    assert!(!allowed(
        p.check_request("GET", "http://localhost:4000/cases")
    ));
    assert!(!allowed(
        p.check_request("GET", "https://127.0.0.1:4000/cases")
    ));
    assert!(!allowed(
        p.check_request("GET", "http://evil.example/cases")
    ));
    // https origin without port means 443
    assert!(allowed(p.check_request(
        "GET",
        "https://docs.kommune.example/documents/1"
    )));
    assert!(allowed(p.check_request(
        "GET",
        "https://DOCS.kommune.example:443/documents/1"
    )));
    assert!(!allowed(p.check_request(
        "GET",
        "https://docs.kommune.example:8443/documents/1"
    )));
    // userinfo tricks do not change the host
    assert!(!allowed(p.check_request(
        "GET",
        "http://127.0.0.1:4000@evil.example/cases"
    )));

    let wild: RightsProfile = toml::from_str(r#"origins = ["http://127.0.0.1:*"]"#).expect("parse");
    assert!(allowed(
        wild.check_request("GET", "http://127.0.0.1:1234/x")
    ));
    assert!(allowed(wild.check_request("GET", "http://127.0.0.1/x")));
    assert!(!allowed(
        wild.check_request("GET", "http://127.0.0.2:1234/x")
    ));
    assert!(!allowed(wild.check_request("GET", "ftp://127.0.0.1:21/x")));
    // Methods default to GET and HEAD.
    assert!(allowed(wild.check_request("HEAD", "http://127.0.0.1:1/")));
    assert!(!allowed(wild.check_request("POST", "http://127.0.0.1:1/")));
}

#[test]
fn unresolved_base_refuses_with_hint() {
    let p = parse_manifest_rights(MANIFEST).expect("parse");
    let d = p.check_request("GET", "http://127.0.0.1:4000/cases");
    assert!(d.reason().is_some_and(|r| r.contains("resolve")), "{d:?}");
    assert!(matches!(
        p.resolve("not a url"),
        Err(RightsError::BadBaseUrl { .. })
    ));
    assert!(p.resolve("file:///etc/passwd").is_err());
}

#[test]
fn path_globs_and_deny_beats_allow() {
    let p = profile();
    let b = "http://127.0.0.1:4000";
    assert!(allowed(p.check_request("GET", &format!("{b}/login"))));
    assert!(
        allowed(p.check_request("GET", &format!("{b}/cases?id=1&x=/delete"))),
        "query ignored"
    );
    assert!(allowed(
        p.check_request("GET", &format!("{b}/cases/17/docs"))
    ));
    assert!(allowed(p.check_request("GET", &format!("{b}/documents/9"))));
    assert!(!allowed(p.check_request("GET", &format!("{b}/documents"))));
    assert!(!allowed(p.check_request("GET", &format!("{b}/admin"))));
    // deny beats allow, even for an allowed path and method
    let d = p.check_request("GET", &format!("{b}/cases/17/delete"));
    assert!(
        d.reason().is_some_and(|r| r.contains("deny_paths")),
        "{d:?}"
    );
    // encoding and traversal tricks
    assert!(!allowed(
        p.check_request("GET", &format!("{b}/cases/17/%64elete"))
    ));
    assert!(!allowed(
        p.check_request("GET", &format!("{b}/cases/17/DELETE"))
    ));
    assert!(!allowed(
        p.check_request("GET", &format!("{b}/cases/../admin"))
    ));
    assert!(!allowed(
        p.check_request("GET", &format!("{b}/cases/..%2Fadmin"))
    ));
    assert!(!allowed(
        p.check_request("GET", &format!("{b}/cases/%2e%2e/admin"))
    ));
}

#[test]
fn methods_and_submit_pairs() {
    let p = profile();
    let b = "http://127.0.0.1:4000";
    assert!(allowed(p.check_request("HEAD", &format!("{b}/search"))));
    assert!(allowed(p.check_request("POST", &format!("{b}/login"))));
    assert!(allowed(p.check_request("post", &format!("{b}/search"))));
    assert!(!allowed(p.check_request("POST", &format!("{b}/cases/1"))));
    assert!(!allowed(p.check_request("PUT", &format!("{b}/login"))));
    let d = p.check_request("POST", &format!("{b}/doc/delete"));
    assert_eq!(
        d,
        Decision::Refuse(
            "POST /doc/delete matches the robot's deny_paths pattern \"*/delete*\"".into()
        )
    );
    let d = p.check_request("POST", &format!("{b}/doc/save"));
    assert_eq!(
        d,
        Decision::Refuse("POST /doc/save is not in the robot's submit rights".into())
    );
    // A submit grant is exact on the path glob.
    assert!(!allowed(
        p.check_request("POST", &format!("{b}/login/../cases"))
    ));
}

#[test]
fn navigation() {
    let p = profile();
    assert!(allowed(p.check_navigation("http://127.0.0.1:4000/search")));
    assert!(allowed(p.check_navigation("about:blank")));
    assert!(!allowed(p.check_navigation("javascript:fetch('/x')")));
    assert!(!allowed(p.check_navigation("data:text/html,<b>x</b>")));
    assert!(!allowed(p.check_navigation("file:///etc/passwd")));
    let here = "http://127.0.0.1:4000/cases/17";
    assert!(allowed(p.check_navigation_from(here, "/search?q=x")));
    assert!(allowed(p.check_navigation_from(here, "18")));
    assert!(!allowed(p.check_navigation_from(here, "delete")));
    assert!(!allowed(
        p.check_navigation_from(here, "//evil.example/cases")
    ));
    assert!(!allowed(p.check_navigation_from("not a url", "/search")));
    let d = p.check_navigation("https://www.google.com/");
    assert!(d
        .reason()
        .is_some_and(|r| r.starts_with("navigation refused")));
}

fn attrs(tag: &str, kv: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = vec![(TAG_KEY.to_string(), tag.to_string())];
    v.extend(kv.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    v
}

#[test]
fn never_click() {
    let p = profile();
    // literal selector equality
    assert!(!allowed(p.check_click("#slet", "", &[])));
    assert!(!allowed(p.check_click("  button[name=delete] ", "", &[])));
    // selector implies a rule
    assert!(!allowed(p.check_click(
        "form.case button[name='delete']",
        "",
        &[]
    )));
    // element matches by id even when found through another selector
    assert!(!allowed(p.check_click(
        ".toolbar > a:nth-child(3)",
        "Fjern",
        &attrs("a", &[("id", "slet")])
    )));
    assert!(!allowed(p.check_click(
        "#b7",
        "OK",
        &attrs("button", &[("name", "delete")])
    )));
    assert!(!allowed(p.check_click(
        "#b7",
        "OK",
        &attrs("A", &[("class", "btn danger")])
    )));
    assert!(!allowed(p.check_click(
        "#b7",
        "OK",
        &attrs("div", &[("data-action", "remove-doc")])
    )));
    // visible text, whole words, case-insensitive, also value/aria-label of inputs
    assert!(!allowed(p.check_click(
        "#b8",
        "  Slet\n sag ",
        &attrs("button", &[])
    )));
    assert!(!allowed(p.check_click(
        "#b8",
        "",
        &attrs("input", &[("type", "submit"), ("value", "SLET")])
    )));
    assert!(!allowed(p.check_click(
        "#b8",
        "",
        &attrs("button", &[("aria-label", "slet dokument")])
    )));
    // allowed: other words containing the letters, other buttons
    assert!(
        allowed(p.check_click("#b9", "Sletning af data (info)", &attrs("a", &[]))),
        "whole words only"
    );
    assert!(allowed(p.check_click(
        "button[name=search]",
        "Søg",
        &attrs("button", &[("name", "search")])
    )));
    assert!(allowed(p.check_click(
        "a.case-link",
        "Sag 17",
        &attrs("a", &[("class", "case-link")])
    )));

    let globbed: RightsProfile =
        toml::from_str("origins = [\"$base\"]\nnever_click = [\"text:Slet*\"]").expect("parse");
    assert!(!allowed(globbed.check_click("#x", "Sletning", &[])));
    assert!(allowed(globbed.check_click("#x", "Afslet", &[])));
}

#[test]
fn check_script_guard() {
    let p = profile();
    let refused = [
        "fetch('/doc/delete', {method: 'POST'})",
        "window.fetch('/x')",
        "window['fet' + 'ch']('/x')",
        "window[\"fetch\"]('/x')",
        "\\u0066etch('/x')",
        "var x = new XMLHttpRequest(); x.open('POST', '/doc/delete'); x.send()",
        "document.querySelector('form').submit()",
        "document.forms[0].requestSubmit()",
        "navigator.sendBeacon('/log', 'x')",
        "new WebSocket('ws://127.0.0.1:1/')",
        "location = 'http://evil.example/'",
        "window.location.href = '/doc/delete'",
        "location.assign('/x')",
        "document.location.replace('/x')",
        "document.cookie = 'a=b'",
        "document['cookie'] = 'a=b'",
        "document.querySelector('#slet').click()",
        "window.open('http://evil.example/')",
        "window.open(url)",
        "eval('fe' + 'tch(1)')",
        "new Function('return 1')()",
        "document.querySelector('form').action = '/doc/delete'",
        "img.src = 'http://evil.example/x.png'",
        "document.body.innerHTML = '<img src=x>'",
        "setTimeout('alert(1)', 1)",
    ];
    for js in refused {
        let d = p.check_script(js);
        assert!(!d.is_allowed(), "should refuse: {js}");
        assert!(d.reason().is_some_and(|r| r.starts_with("eval_js refused")));
    }
    let allowed_js = [
        "return document.title",
        "return Array.from(document.querySelectorAll('table tr')).map(r => Array.from(r.cells).map(c => c.innerText))",
        "const href = a.getAttribute('href'); return href === '/x'",
        "return [...document.links].map(a => ({href: a.href, text: a.textContent}))",
        "return location.href",
        "return document.cookie.length == 0 && location.pathname === '/cases'",
        "window.open('/documents/3')",
    ];
    for js in allowed_js {
        assert!(
            p.check_script(js).is_allowed(),
            "should allow: {js} -> {:?}",
            p.check_script(js)
        );
    }
    assert!(!p.check_script("window.open('/admin')").is_allowed());
}

#[test]
fn manifest_errors_have_line_and_column() {
    let bad_origin = "name = \"x\"\n\n[rights]\norigins = [\"http://127.0.0.1:4000/cases\"]\n";
    match parse_manifest_rights(bad_origin) {
        Err(RightsError::Manifest {
            line,
            column,
            message,
        }) => {
            assert_eq!((line, column), (4, 12), "{message}");
            assert!(message.contains("allow_paths"), "{message}");
        }
        other => panic!("expected a located error, got {other:?}"),
    }
    let multi = "[rights]\norigins = [\n  \"$base\",\n  \"http://x/y\",\n]\n";
    match parse_manifest_rights(multi) {
        Err(RightsError::Manifest { line, column, .. }) => assert_eq!((line, column), (4, 3)),
        other => panic!("expected a located error, got {other:?}"),
    }
    let typo = "[rights]\norigins = [\"$base\"]\ndeny_path = [\"*/delete*\"]\n";
    match parse_manifest_rights(typo) {
        Err(RightsError::Manifest { line, message, .. }) => {
            assert_eq!(line, 3);
            assert!(message.contains("deny_path"), "{message}");
        }
        other => panic!("expected a located error, got {other:?}"),
    }
    let bad_submit = "[rights]\norigins = [\"$base\"]\nsubmit = [\"POST\"]\n";
    assert!(matches!(
        parse_manifest_rights(bad_submit),
        Err(RightsError::Manifest { line: 3, .. })
    ));
    let bad_click = "[rights]\norigins = [\"$base\"]\nnever_click = [\"button:hover\"]\n";
    let e = parse_manifest_rights(bad_click).expect_err("pseudo-class refused");
    assert!(e.to_string().contains("line 3"), "{e}");
    assert!(matches!(
        parse_manifest_rights("name = \"x\"\n"),
        Err(RightsError::MissingRights)
    ));
    assert!(matches!(
        parse_manifest_rights("[rights]\norigins = []\n"),
        Err(RightsError::Invalid(_))
    ));
    let broken = "[rights\norigins = 1";
    assert!(matches!(
        parse_manifest_rights(broken),
        Err(RightsError::Manifest { line: 1, .. })
    ));
}

#[test]
fn profile_round_trips_through_toml() {
    let p = parse_manifest_rights(MANIFEST).expect("parse");
    let text = toml::to_string(&p).expect("serialize");
    let back: RightsProfile = toml::from_str(&text).expect("reparse");
    assert_eq!(p, back);
    assert_eq!(p.time_budget().map(|d| d.as_secs()), Some(900));
    assert_eq!(p.max_documents, Some(500));
    assert_eq!(
        p.never_click_css(),
        vec![
            "#slet",
            "button[name=delete]",
            "a.danger, [data-action^=remove]"
        ]
    );
}

/// Garbage in never panics and never allows anything odd.
#[test]
fn garbage_does_not_panic() {
    let p = profile();
    let alphabet: Vec<char> =
        "ab/*?%.:[]#=\"' ()<>~+^$|\\\u{e6}\u{f8}\u{e5}\u{1F600}-_0123456789hHtTpP@\n"
            .chars()
            .collect();
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let len = (next() % 40) as usize;
        let s: String = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let _ = p.check_click(
            &s,
            &s,
            &[
                (TAG_KEY.to_string(), s.clone()),
                ("class".into(), s.clone()),
            ],
        );
        let _ = p.check_script(&s);
        let _ = p.check_navigation(&s);
        let _ = p.check_navigation_from("http://127.0.0.1:4000/", &s);
        let url = format!("http://127.0.0.1:4000/{s}");
        let _ = p.check_request("GET", &url);
        let _ = marc_rights::glob_match(&s, &url);
        let _ = marc_rights::path_forms(&s);
        let _ = parse_manifest_rights(&format!(
            "[rights]\norigins = [\"{s}\"]\nnever_click = [\"{s}\"]\n"
        ));
        if p.check_request("POST", &url).is_allowed() {
            // Only the submit grants may be reached by POST.
            let path = url.trim_start_matches("http://127.0.0.1:4000");
            assert!(
                path.starts_with("/login") || path.starts_with("/search"),
                "{url}"
            );
        }
    }
}
