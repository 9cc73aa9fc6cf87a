//! `marc record` (SPEC §6): a person logs in to the ESDH testbed, searches a
//! citizen, opens a case and a document; marc writes a robot script that
//! `marc check` accepts, that holds no password, user name or CPR number,
//! and that does the same again when run as a robot.
//!
//! The "person" is this test, driving the recorder's own browser session
//! over WebDriver: real clicks and keystrokes in real Chromium, seen by the
//! recorder exactly as a person's would be.

#[path = "hostile/support.rs"]
mod support;

use marc_e2e::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

/// Just enough of a W3C WebDriver client to act as a person.
struct Person {
    host: String,
    session: String,
}

impl Person {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut s = std::net::TcpStream::connect(&self.host).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "{method} /session/{}{path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.session,
            self.host,
            body.len()
        )
        .unwrap();
        // chromedriver keeps the connection open: read exactly the body.
        let mut r = BufReader::new(s);
        let mut len = 0;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        let v: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)));
        assert!(
            v["value"]["error"].is_null(),
            "{method} {path}: {}",
            v["value"]
        );
        v["value"].clone()
    }

    fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn click(&self, css: &str) {
        let e = self.element(css);
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.element(css);
        self.call(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn frame(&self, css: &str) {
        let e = self.element(css);
        self.call(
            "POST",
            "/frame",
            Some(json!({"id": {"element-6066-11e4-a52e-4f735466cecf": e}})),
        );
    }

    fn windows(&self) -> Vec<String> {
        self.call("GET", "/window/handles", None)
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect()
    }

    /// Closes the current window, as a person clicking its close button.
    fn close_window(&self) {
        self.call("DELETE", "/window", None);
    }

    /// Waits until an element is on the page (in the current frame).
    fn wait_for(&self, css: &str) {
        let t0 = Instant::now();
        loop {
            let v = self.call(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            );
            if v.as_array().is_some_and(|a| !a.is_empty()) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "{css} never appeared"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(700));
    }

    fn wait_for_url(&self, part: &str) {
        let t0 = Instant::now();
        while !self
            .call("GET", "/url", None)
            .as_str()
            .unwrap()
            .contains(part)
        {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "never reached {part}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // A person reads the page before acting; the recorder polls meanwhile.
        std::thread::sleep(Duration::from_millis(700));
    }
}

/// A testbed, the two web robots' manifests and the demo citizen, in a
/// temporary directory where `recorded.rhai` is written.
struct Setup {
    dir: tempfile::TempDir,
    tb: TestbedProc,
    citizen: marc_testbed::Citizen,
    robots: std::path::PathBuf,
    script: std::path::PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let tb = TestbedProc::start(&dir.path().join("testbed.jsonl"), 0.0);
        let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
        let citizen = world.demo_citizen().clone();
        let robots = web_robots(dir.path());
        let script = dir.path().join("recorded.rhai");
        Setup {
            dir,
            tb,
            citizen,
            robots,
            script,
        }
    }
}

/// `marc record --headless` for `system` at `base`; returns the process and
/// a person at its browser.
fn start_recording(
    cwd: &std::path::Path,
    system: &str,
    base: &str,
    robots: &std::path::Path,
    script: &std::path::Path,
) -> (std::process::Child, Person) {
    let mut rec = marc_cmd(
        cwd,
        &args(&[
            "--data",
            cwd.join("data").to_str().unwrap(),
            "record",
            "--system",
            system,
            "--base-url",
            base,
            "--robots",
            robots.to_str().unwrap(),
            "--out",
            script.to_str().unwrap(),
            "--headless",
        ]),
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("cannot start marc record");
    let mut lines = BufReader::new(rec.stderr.take().unwrap()).lines();
    let (session, webdriver) = loop {
        let line = lines
            .next()
            .expect("marc record ended before printing its session")
            .unwrap();
        if let Some(rest) = line.strip_prefix("browser session ") {
            let (s, url) = rest.split_once(" on ").unwrap();
            break (s.to_string(), url.to_string());
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let person = Person {
        host: webdriver.trim_start_matches("http://").to_string(),
        session,
    };
    (rec, person)
}

/// "Presses Enter": ends the recording, returns the script, checked.
fn finish_recording(
    mut rec: std::process::Child,
    cwd: &std::path::Path,
    script: &std::path::Path,
) -> String {
    drop(rec.stdin.take());
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = rec.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "marc record did not stop"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "marc record failed: {status}");
    let text = std::fs::read_to_string(script).unwrap();
    let out = marc_out(cwd, &args(&["check", script.to_str().unwrap()]));
    assert!(out.status.success(), "marc check: {}\n{text}", stderr(&out));
    text
}

/// Runs `script` as the robot of `system` (its real manifest and rights).
fn run_as_robot(
    cwd: &std::path::Path,
    tb: &TestbedProc,
    robots: &std::path::Path,
    system: &str,
    script: &str,
) {
    let dir = cwd.join("robots2").join(system);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = std::fs::read_to_string(robots.join(system).join("robot.toml"))
        .unwrap()
        .replace(
            &format!("script = \"{system}.rhai\""),
            &format!("script = \"{script}\""),
        );
    std::fs::write(dir.join("robot.toml"), manifest).unwrap();
    let mut a = run_args(
        &cwd.join("data"),
        &cwd.join("robots2"),
        cwd,
        system,
        &cwd.join("out"),
        tb,
    );
    a.extend(args(&["--attempts", "1"]));
    let out = marc_out(cwd, &a);
    assert!(
        out.status.success(),
        "the recorded script failed as a robot:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn a_recorded_workflow_becomes_a_robot_script_that_replays() {
    let Setup {
        dir,
        tb,
        citizen,
        robots,
        script,
    } = Setup::new();
    let cwd = dir.path();
    let data = cwd.join("data");
    let (rec, person) = start_recording(cwd, "esdh", &tb.esdh, &robots, &script);

    // The login page is open. Log in, search with Enter, open a case and a document.
    person.wait_for_url("/login");
    person.type_into("input[name=username]", "marc-robot");
    person.type_into("input[name=password]", ESDH_PASSWORD);
    person.click("#login button");
    person.wait_for_url("/search");
    person.type_into("input[name=cpr]", &format!("{}\n", citizen.cpr));
    person.wait_for_url("/cases?");
    person.click("#cases a");
    person.wait_for_url("/cases/");
    person.click("#documents a");
    person.wait_for_url("/documents/");
    let text = finish_recording(rec, cwd, &script);
    for must in [
        "navigate(\"/login\");",
        "secret(\"esdh.user\")",
        "secret(\"esdh.password\")",
        "request.cpr",
        "wait_for(",
    ] {
        assert!(text.contains(must), "{must:?} missing from:\n{text}");
    }
    for never in [
        ESDH_PASSWORD,
        "\"marc-robot\"",
        citizen.cpr.as_str(),
        &citizen.cpr.replace('-', ""),
    ] {
        assert!(!text.contains(never), "{never:?} written into:\n{text}");
    }
    let clicks = text.matches("click(").count();
    assert!(
        clicks >= 4,
        "login, search, case, document: {clicks} clicks in\n{text}"
    );

    // The recorded document page, requested once by the person so far.
    let doc_gets = || -> Vec<String> {
        tb.entries()
            .iter()
            .filter(|e| {
                e["method"] == "GET" && e["path"].as_str().unwrap_or("").starts_with("/documents/")
            })
            .map(|e| e["path"].as_str().unwrap().to_string())
            .collect()
    };
    let before = doc_gets();
    assert_eq!(before.len(), 1, "{before:?}");

    // Run it as the esdh robot: the same document page is requested again.
    run_as_robot(cwd, &tb, &robots, "esdh", "recorded.rhai");
    let after = doc_gets();
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(after[0], after[1], "the same document again");

    let audit = audit_entries(cwd, &data);
    for action in ["record.started", "record.finished"] {
        assert!(
            audit.iter().any(|e| e["action"] == action),
            "{action} missing from the audit log"
        );
    }
}

/// The legacy system, as a person works it: log in and search a citizen
/// inside the frame `main`, until the case list shows.
fn log_in_and_search_legacy(person: &Person, cpr: &str) {
    person.frame("frame[name=main]");
    person.wait_for("#user");
    person.type_into("#user", "ROBOT01");
    person.type_into("#pass", LEGACY_PASSWORD);
    person.click("#loginbtn");
    person.wait_for("#cprnr");
    person.type_into("#cprnr", cpr);
    person.click("#searchbtn");
    person.wait_for("#caselist-table");
}

#[test]
fn a_recording_in_a_frameset_enters_the_frames() {
    let Setup {
        dir,
        tb,
        citizen,
        robots,
        script,
    } = Setup::new();
    let cwd = dir.path();
    let (rec, person) = start_recording(cwd, "legacy", &tb.legacy, &robots, &script);

    // The legacy system: log in and search inside the frame `main`.
    log_in_and_search_legacy(&person, &citizen.cpr);
    let text = finish_recording(rec, cwd, &script);
    for must in [
        "frame(\"#main\");",
        "secret(\"legacy.user\")",
        "secret(\"legacy.password\")",
        "fill(\"#cprnr\", request.cpr);",
        "click(\"#searchbtn\");",
    ] {
        assert!(text.contains(must), "{must:?} missing from:\n{text}");
    }
    assert!(
        !text.contains(LEGACY_PASSWORD) && !text.contains("ROBOT01"),
        "{text}"
    );

    // As a robot, it logs in and searches the same citizen again.
    let searches = || {
        tb.entries()
            .iter()
            .filter(|e| e["path"].as_str().unwrap_or("").starts_with("/list?cpr="))
            .count()
    };
    assert_eq!(searches(), 1);
    run_as_robot(cwd, &tb, &robots, "legacy", "recorded.rhai");
    assert_eq!(searches(), 2, "{text}");
}

#[test]
fn work_in_a_popup_window_is_recorded_and_replayed() {
    let Setup {
        dir,
        tb,
        citizen,
        robots,
        script,
    } = Setup::new();
    let cwd = dir.path();
    let (rec, person) = start_recording(cwd, "legacy", &tb.legacy, &robots, &script);

    // Log in and search in the frame `main`, open a case, then a document:
    // the old system opens documents in a popup window.
    log_in_and_search_legacy(&person, &citizen.cpr);
    person.wait_for("#caselist-table a");
    person.click("#caselist-table a");
    person.wait_for("table.doclist a");
    let before = person.windows();
    person.click("table.doclist a");
    // The recorder follows the person into the popup (the session is shared).
    person.wait_for_url("/doc?id=");
    assert_eq!(person.windows().len(), before.len() + 1);
    person.wait_for("#dokument");
    person.click("div[data-felt=titel]");
    std::thread::sleep(Duration::from_millis(800));
    person.close_window();
    std::thread::sleep(Duration::from_millis(1500));
    let text = finish_recording(rec, cwd, &script);
    let at = |w: &str| {
        text.find(w)
            .unwrap_or_else(|| panic!("{w:?} missing from:\n{text}"))
    };
    let order = [
        at("let main_window = current_window();"),
        at("let before_1 = windows();"),
        at("let popup_1 = wait_new_window(before_1, 10000);"),
        at("switch_window(popup_1);"),
        at("switch_window(main_window);"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    let in_popup = &text[order[3]..order[4]];
    assert!(in_popup.contains("click("), "no step in the popup:\n{text}");

    // As a robot, the document opens in a popup again and is read there.
    let docs = || {
        tb.entries()
            .iter()
            .filter(|e| e["path"].as_str().unwrap_or("").starts_with("/doc?id="))
            .count()
    };
    assert_eq!(docs(), 1);
    run_as_robot(cwd, &tb, &robots, "legacy", "recorded.rhai");
    assert_eq!(docs(), 2, "{text}");
}
