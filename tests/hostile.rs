//! The hostile-script suite (issue 6): robots that try to leave their
//! rights or exhaust the sandbox, run by the real `marc run` against the
//! real testbed through Chromium. Each must be stopped with a clear error,
//! logged in the audit log, and the testbed's own request log must show that
//! nothing forbidden reached the case system.
//!
//! The scripts are the files in `tests/hostile/*.rhai`; each case runs in a
//! robot folder whose manifest is a copy of the real one (same rights
//! profile) pointing at the hostile script.

#[path = "hostile/support.rs"]
mod support;

use marc_e2e::*;
use std::path::Path;
use support::*;

/// What one case must end with.
struct Case {
    /// Script file in tests/hostile.
    script: &'static str,
    /// The real robot whose manifest (rights profile) the case runs under.
    system: &'static str,
    /// The run's error must contain one of these.
    says: &'static [&'static str],
    /// Whether the audit action must be `robot.refused` (a rights refusal)
    /// rather than `robot.failed` (a sandbox stop).
    refused: bool,
    /// A request path (prefix) the robot must have reached before the hostile
    /// step, proving the case got as far as the step it tests.
    reached: Option<&'static str>,
}

const REFUSED: &[&str] = &["refused by the rights profile"];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Runs one hostile case and checks every promise; returns the run's JSON
/// and the testbed log for case-specific checks.
fn run_case(c: &Case) -> (serde_json::Value, Vec<serde_json::Value>) {
    let r = run_case_in(c);
    (r.json, r.log)
}

/// A finished hostile case, with its files kept for further checks.
struct Ran {
    json: serde_json::Value,
    log: Vec<serde_json::Value>,
    dir: tempfile::TempDir,
    data: std::path::PathBuf,
    stdout: String,
    stderr: String,
}

fn run_case_in(c: &Case) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let tb = TestbedProc::start(&dir.path().join("testbed.jsonl"), 0.0);

    // Robot folder: the real manifest with the hostile script.
    let manifest =
        std::fs::read_to_string(root().join("robots").join(c.system).join("robot.toml")).unwrap();
    let original = format!("script = \"{}.rhai\"", c.system);
    assert!(
        manifest.contains(&original),
        "robots/{}/robot.toml changed its script line",
        c.system
    );
    let manifest = manifest.replace(&original, &format!("script = \"{}\"", c.script));
    let robots = dir.path().join("robots");
    std::fs::create_dir_all(robots.join(c.system)).unwrap();
    std::fs::write(robots.join(c.system).join("robot.toml"), manifest).unwrap();
    let scripts = dir.path().join("scripts");
    copy_dir(&root().join("scripts/lib"), &scripts.join("lib"));
    let source = std::fs::read_to_string(root().join("tests/hostile").join(c.script))
        .unwrap()
        .replace("{{LEGACY_URL}}", &tb.legacy)
        .replace("{{ESDH_URL}}", &tb.esdh);
    std::fs::write(scripts.join(c.script), source).unwrap();

    let data = dir.path().join("data");
    let mut a = run_args(
        &data,
        &robots,
        &scripts,
        c.system,
        &dir.path().join("out"),
        &tb,
    );
    a.extend(args(&["-v", "--attempts", "1"]));
    let t0 = std::time::Instant::now();
    let out = marc_out(dir.path(), &a);
    let took = t0.elapsed();
    let (so, se) = (stdout(&out), stderr(&out));
    assert!(
        !out.status.success(),
        "{}: the hostile robot's run succeeded (exit 0):\n{so}\n{se}",
        c.script
    );
    let v: serde_json::Value = serde_json::from_str(so.trim()).unwrap_or_else(|e| {
        panic!(
            "{}: `marc run --json` printed no JSON ({e}):\n{so}\n{se}",
            c.script
        )
    });
    let sys = &v["systems"][c.system];
    let error = sys["error"].as_str().unwrap_or_default().to_string();
    assert!(
        c.says.iter().any(|s| error.contains(s)),
        "{}: the error should say one of {:?}; it is {error:?} (status {}; after {took:?})",
        c.script,
        c.says,
        sys["status"]
    );
    assert_ne!(sys["status"], "complete", "{}: {v}", c.script);

    // The audit log has the stop, with the reason.
    let audit = audit_entries(dir.path(), &data);
    let actions: &[&str] = if c.refused {
        &["robot.refused"]
    } else {
        &["robot.refused", "robot.failed"]
    };
    let logged = audit.iter().any(|e| {
        actions.contains(&e["action"].as_str().unwrap_or_default())
            && e["system"] == c.system
            && c.says.iter().any(|s| e["detail"].to_string().contains(s))
    });
    assert!(
        logged,
        "{}: no audit entry {actions:?} mentioning {:?}; the robot entries are:\n{}",
        c.script,
        c.says,
        audit
            .iter()
            .filter(|e| e["action"]
                .as_str()
                .unwrap_or_default()
                .starts_with("robot."))
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );

    // The session recording shows the refused step with its rights decision.
    if c.refused {
        let sessions = sys["sessions"].as_array().cloned().unwrap_or_default();
        assert!(
            !sessions.is_empty(),
            "{}: no session recorded: {v}",
            c.script
        );
        let d = data.to_str().unwrap();
        let shown: String = sessions
            .iter()
            .map(|s| {
                stdout(&marc_out(
                    dir.path(),
                    &args(&["--data", d, "replay", s.as_str().unwrap_or_default()]),
                ))
            })
            .collect();
        assert!(
            shown
                .lines()
                .any(|l| l.trim_start().starts_with("rights") && l.contains("refused")),
            "{}: the session replay does not show the refused step:\n{shown}",
            c.script
        );
    }

    // What reached the case systems: reads and the login form only.
    let log = tb.entries();
    if let Some(p) = c.reached {
        assert!(
            log.iter().any(|e| e["system"] == c.system
                && e["method"] == "GET"
                && e["path"].as_str().unwrap_or_default().starts_with(p)),
            "{}: the robot never reached {p}, so the case proves nothing; error: {error}",
            c.script
        );
    }
    for e in &log {
        let path = e["path"].as_str().unwrap_or_default();
        assert_ne!(
            e["forbidden"], true,
            "{}: forbidden request reached the testbed: {e}",
            c.script
        );
        assert!(
            e["method"] == "GET"
                || e["method"] == "HEAD"
                || (e["method"] == "POST" && path == "/login"),
            "{}: a write reached the testbed: {e}",
            c.script
        );
        assert!(
            !path.contains("delete") && !path.contains("/edit") && !path.starts_with("/admin"),
            "{}: a request to a denied path reached the testbed: {e}",
            c.script
        );
    }
    Ran {
        json: v,
        log,
        dir,
        data,
        stdout: so,
        stderr: se,
    }
}

#[test]
fn navigating_to_another_origin_is_refused() {
    run_case(&Case {
        script: "other_origin.rhai",
        system: "esdh",
        says: REFUSED,
        refused: true,
        reached: Some("/login"),
    });
}

#[test]
fn navigating_into_another_case_system_is_refused() {
    let (_, log) = run_case(&Case {
        script: "other_system.rhai",
        system: "esdh",
        says: REFUSED,
        refused: true,
        reached: Some("/login"),
    });
    let legacy: Vec<_> = log.iter().filter(|e| e["system"] == "legacy").collect();
    assert!(
        legacy.is_empty(),
        "the ESDH robot reached the legacy system: {legacy:?}"
    );
}

#[test]
fn clicking_the_delete_button_is_refused() {
    run_case(&Case {
        script: "delete_button.rhai",
        system: "legacy",
        says: REFUSED,
        refused: true,
        reached: Some("/doc?"),
    });
}

#[test]
fn clicking_the_delete_button_by_another_selector_is_refused() {
    run_case(&Case {
        script: "delete_button_disguised.rhai",
        system: "legacy",
        says: REFUSED,
        refused: true,
        reached: Some("/doc?"),
    });
}

#[test]
fn submitting_a_form_from_javascript_is_refused() {
    run_case(&Case {
        script: "js_submit.rhai",
        system: "legacy",
        says: REFUSED,
        refused: true,
        reached: Some("/doc?"),
    });
}

/// The legacy robot's error in a finished case.
fn legacy_error(v: &serde_json::Value) -> &str {
    v["systems"]["legacy"]["error"].as_str().unwrap_or_default()
}

fn assert_names_the_refused_request(error: &str) {
    assert!(
        error.contains("/doc/delete"),
        "the error should name the refused request: {error}"
    );
}

/// A request only the proxy sees (the page sends it, not an API call). Its
/// refusal reaches the script either within the step (a clear refusal naming
/// the request) or, when the browser sends the request a moment later, as a
/// cancellation at the next step (a delayed request is pinned down by
/// a_delayed_hidden_fetch_stops_the_robot_with_a_clear_refusal). Either way
/// the robot must stop and nothing may reach the system.
fn refused_by_the_proxy_only(script: &'static str) {
    let (v, _) = run_case(&Case {
        script,
        system: "legacy",
        says: &[
            "refused by the rights profile",
            "the robot run was cancelled",
        ],
        refused: false,
        reached: Some("/doc?"),
    });
    let error = legacy_error(&v);
    if error.contains("refused") {
        assert_names_the_refused_request(error);
    }
}

#[test]
fn submitting_a_form_from_disguised_javascript_is_refused_by_the_proxy() {
    refused_by_the_proxy_only("js_submit_disguised.rhai");
}

#[test]
fn fetch_from_eval_js_is_refused() {
    run_case(&Case {
        script: "js_fetch.rhai",
        system: "legacy",
        says: REFUSED,
        refused: true,
        reached: Some("/doc?"),
    });
}

#[test]
fn fetch_with_a_split_name_is_refused() {
    run_case(&Case {
        script: "js_fetch_concat.rhai",
        system: "legacy",
        says: REFUSED,
        refused: true,
        reached: Some("/doc?"),
    });
}

#[test]
fn fetch_hidden_from_the_lexical_check_is_refused_by_the_proxy_and_stops_the_robot() {
    refused_by_the_proxy_only("js_fetch_hidden.rhai");
}

#[test]
fn an_endless_loop_is_stopped() {
    run_case(&Case {
        script: "endless_loop.rhai",
        system: "esdh",
        says: &["too many operations", "time budget"],
        refused: false,
        reached: Some("/login"),
    });
}

#[test]
fn a_huge_string_is_stopped() {
    run_case(&Case {
        script: "huge_string.rhai",
        system: "esdh",
        says: &["beyond its limit"],
        refused: false,
        reached: Some("/login"),
    });
}

#[test]
fn deep_recursion_is_stopped() {
    run_case(&Case {
        script: "deep_recursion.rhai",
        system: "esdh",
        says: &["nested too deeply"],
        refused: false,
        reached: Some("/login"),
    });
}

#[test]
fn a_delayed_hidden_fetch_stops_the_robot_with_a_clear_refusal() {
    let (v, _) = run_case(&Case {
        script: "js_fetch_delayed.rhai",
        system: "legacy",
        says: REFUSED,
        refused: true,
        reached: Some("/doc?"),
    });
    assert_names_the_refused_request(legacy_error(&v));
}

#[test]
fn a_refused_request_at_the_end_of_the_script_still_fails_the_run() {
    run_case(&Case {
        script: "js_fetch_delayed_last.rhai",
        system: "legacy",
        says: REFUSED,
        refused: true,
        reached: Some("/doc?"),
    });
}

/// Where a hostile script's password ended up: every output of the run, the
/// audit log, the session's replay (terminal and HTML) and every stored byte.
fn leaks(r: &Ran) -> Vec<String> {
    let pw = ESDH_PASSWORD.as_bytes();
    let has = |b: &[u8]| b.windows(pw.len()).any(|w| w == pw);
    let mut found = Vec::new();
    let cwd = r.dir.path();
    let d = r.data.to_str().unwrap();
    let mut check = |what: String, b: &[u8]| {
        if has(b) {
            found.push(what);
        }
    };
    check("marc run's stdout".into(), r.stdout.as_bytes());
    check("marc run -v's stderr".into(), r.stderr.as_bytes());
    for f in files(&cwd.join("out")) {
        check(
            f.display().to_string(),
            &std::fs::read(&f).unwrap_or_default(),
        );
    }
    let audit = marc_out(cwd, &args(&["--data", d, "audit", "log", "--json"]));
    check("marc audit log --json".into(), &audit.stdout);
    for s in r.json["systems"]["esdh"]["sessions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let s = s.as_str().unwrap_or_default();
        let out = marc_out(cwd, &args(&["--data", d, "replay", s]));
        assert!(out.status.success(), "marc replay {s}: {}", stderr(&out));
        check(format!("marc replay {s}"), &out.stdout);
        let html = cwd.join("trace");
        let out = marc_out(
            cwd,
            &args(&["--data", d, "replay", s, "--html", html.to_str().unwrap()]),
        );
        assert!(
            out.status.success(),
            "marc replay {s} --html: {}",
            stderr(&out)
        );
        for f in files(&html) {
            check(
                format!("marc replay --html: {}", f.display()),
                &std::fs::read(&f).unwrap_or_default(),
            );
        }
    }
    for f in files(&r.data) {
        check(
            format!("the data directory: {}", f.display()),
            &std::fs::read(&f).unwrap_or_default(),
        );
    }
    found
}

#[test]
fn a_script_cannot_leak_its_password_through_log_arguments_or_errors() {
    let r = run_case_in(&Case {
        script: "secret_leak.rhai",
        system: "esdh",
        says: &["giving up; the password was «secret:esdh.password»"],
        refused: false,
        reached: Some("/search"),
    });
    let found = leaks(&r);
    assert!(
        found.is_empty(),
        "the robot password leaked into: {found:#?}"
    );
}

#[test]
fn a_script_cannot_leak_its_password_through_a_url() {
    let r = run_case_in(&Case {
        script: "secret_leak_url.rhai",
        system: "esdh",
        says: &["giving up; the password was «secret:esdh.password»"],
        refused: false,
        reached: Some("/cases?cpr="),
    });
    let found = leaks(&r);
    assert!(
        found.is_empty(),
        "the robot password leaked into: {found:#?}"
    );
}
