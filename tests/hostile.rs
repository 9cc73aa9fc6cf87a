//! The hostile-script suite (issue 6): robots that try to leave their
//! rights or exhaust the sandbox, run by the real `marc run` against the
//! real testbed through Chromium. Each must be stopped with a clear error,
//! logged in the audit log, and the testbed's own request log must show that
//! nothing forbidden reached the case system.
//!
//! The scripts are the files in `tests/hostile/*.rhai`; each case runs in a
//! robot folder whose manifest is a copy of the real one (same rights
//! profile) pointing at the hostile script. Every case that tests the
//! rights runs twice (issue 12 §1): against the testbed over HTTP, and over
//! HTTPS with a CA of the testbed's own named as the robots' `tls_ca`, where
//! the proxy must read and check every request inside TLS.

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
fn run_case(t: Transport, c: &Case) -> (serde_json::Value, Vec<serde_json::Value>) {
    let r = run_case_in(t, c);
    (r.json, r.log)
}

/// One test per transport: `name::http` and `name::https`.
macro_rules! over_both {
    ($(#[$doc:meta])* fn $name:ident($t:ident) $body:block) => {
        $(#[$doc])*
        mod $name {
            use super::*;
            fn case($t: Transport) $body
            #[test]
            fn http() {
                case(Transport::Http)
            }
            #[test]
            fn https() {
                case(Transport::Https)
            }
        }
    };
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

fn run_case_in(t: Transport, c: &Case) -> Ran {
    run_case_with(t, c, &[])
}

/// Like [`run_case_in`], with more `{{KEY}}` placeholders filled in.
fn run_case_with(t: Transport, c: &Case, fill: &[(&str, &str)]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let tb = TestbedProc::start_over(&dir.path().join("testbed.jsonl"), 0.0, t);

    // Robot folder: the real manifest with the hostile script.
    let manifest =
        std::fs::read_to_string(root().join("robots").join(c.system).join("robot.toml")).unwrap();
    let original = format!("script = \"{}.rhai\"", c.system);
    assert!(
        manifest.contains(&original),
        "robots/{}/robot.toml changed its script line",
        c.system
    );
    let manifest = tb.manifest(&manifest.replace(&original, &format!("script = \"{}\"", c.script)));
    let robots = dir.path().join("robots");
    std::fs::create_dir_all(robots.join(c.system)).unwrap();
    std::fs::write(robots.join(c.system).join("robot.toml"), manifest).unwrap();
    let scripts = dir.path().join("scripts");
    copy_dir(&root().join("scripts/lib"), &scripts.join("lib"));
    let mut source = std::fs::read_to_string(root().join("tests/hostile").join(c.script))
        .unwrap()
        .replace("{{LEGACY_URL}}", &tb.legacy)
        .replace("{{ESDH_URL}}", &tb.esdh);
    for (k, v) in fill {
        source = source.replace(&format!("{{{{{k}}}}}"), v);
    }
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

over_both! {
    fn navigating_to_another_origin_is_refused(t) {
        run_case(t, &Case {
            script: "other_origin.rhai",
            system: "esdh",
            says: REFUSED,
            refused: true,
            reached: Some("/login"),
        });
    }
}

over_both! {
    fn navigating_into_another_case_system_is_refused(t) {
        let (_, log) = run_case(t, &Case {
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
}

over_both! {
    fn clicking_the_delete_button_is_refused(t) {
        run_case(t, &Case {
            script: "delete_button.rhai",
            system: "legacy",
            says: REFUSED,
            refused: true,
            reached: Some("/doc?"),
        });
    }
}

over_both! {
    fn clicking_the_delete_button_by_another_selector_is_refused(t) {
        run_case(t, &Case {
            script: "delete_button_disguised.rhai",
            system: "legacy",
            says: REFUSED,
            refused: true,
            reached: Some("/doc?"),
        });
    }
}

over_both! {
    fn submitting_a_form_from_javascript_is_refused(t) {
        run_case(t, &Case {
            script: "js_submit.rhai",
            system: "legacy",
            says: REFUSED,
            refused: true,
            reached: Some("/doc?"),
        });
    }
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
fn refused_by_the_proxy_only(t: Transport, script: &'static str) {
    let (v, _) = run_case(
        t,
        &Case {
            script,
            system: "legacy",
            says: &[
                "refused by the rights profile",
                "the robot run was cancelled",
            ],
            refused: false,
            reached: Some("/doc?"),
        },
    );
    let error = legacy_error(&v);
    if error.contains("refused") {
        assert_names_the_refused_request(error);
    }
}

over_both! {
    fn submitting_a_form_from_disguised_javascript_is_refused_by_the_proxy(t) {
        refused_by_the_proxy_only(t, "js_submit_disguised.rhai");
    }
}

over_both! {
    fn fetch_from_eval_js_is_refused(t) {
        run_case(t, &Case {
            script: "js_fetch.rhai",
            system: "legacy",
            says: REFUSED,
            refused: true,
            reached: Some("/doc?"),
        });
    }
}

over_both! {
    fn fetch_with_a_split_name_is_refused(t) {
        run_case(t, &Case {
            script: "js_fetch_concat.rhai",
            system: "legacy",
            says: REFUSED,
            refused: true,
            reached: Some("/doc?"),
        });
    }
}

over_both! {
    fn fetch_hidden_from_the_lexical_check_is_refused_by_the_proxy_and_stops_the_robot(t) {
        refused_by_the_proxy_only(t, "js_fetch_hidden.rhai");
    }
}

#[test]
fn an_endless_loop_is_stopped() {
    run_case(
        Transport::Http,
        &Case {
            script: "endless_loop.rhai",
            system: "esdh",
            says: &["too many operations", "time budget"],
            refused: false,
            reached: Some("/login"),
        },
    );
}

#[test]
fn a_huge_string_is_stopped() {
    run_case(
        Transport::Http,
        &Case {
            script: "huge_string.rhai",
            system: "esdh",
            says: &["beyond its limit"],
            refused: false,
            reached: Some("/login"),
        },
    );
}

#[test]
fn deep_recursion_is_stopped() {
    run_case(
        Transport::Http,
        &Case {
            script: "deep_recursion.rhai",
            system: "esdh",
            says: &["nested too deeply"],
            refused: false,
            reached: Some("/login"),
        },
    );
}

over_both! {
    fn a_delayed_hidden_fetch_stops_the_robot_with_a_clear_refusal(t) {
        let (v, _) = run_case(t, &Case {
            script: "js_fetch_delayed.rhai",
            system: "legacy",
            says: REFUSED,
            refused: true,
            reached: Some("/doc?"),
        });
        assert_names_the_refused_request(legacy_error(&v));
    }
}

over_both! {
    fn a_refused_request_at_the_end_of_the_script_still_fails_the_run(t) {
        run_case(t, &Case {
            script: "js_fetch_delayed_last.rhai",
            system: "legacy",
            says: REFUSED,
            refused: true,
            reached: Some("/doc?"),
        });
    }
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
    let r = run_case_in(
        Transport::Http,
        &Case {
            script: "secret_leak.rhai",
            system: "esdh",
            says: &["giving up; the password was «secret:esdh.password»"],
            refused: false,
            reached: Some("/search"),
        },
    );
    let found = leaks(&r);
    assert!(
        found.is_empty(),
        "the robot password leaked into: {found:#?}"
    );
}

over_both! {
    fn a_script_cannot_leak_its_password_through_a_url(t) {
        let r = run_case_in(t, &Case {
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
}

over_both! {
    /// The check over HTTPS: a path the profile denies is refused
    /// and reaches nothing (the POST and the fetch are the cases above).
    fn opening_a_denied_path_is_refused(t) {
        let (_, log) = run_case(t, &Case {
            script: "denied_path.rhai",
            system: "esdh",
            says: REFUSED,
            refused: true,
            reached: Some("/search"),
        });
        assert!(log.iter().all(|e| !e["path"].as_str().unwrap_or("").starts_with("/admin")));
    }
}

/// Another citizen of the demo world with documents in ESDH, and how their
/// CPR number may appear in what the testbed logged.
fn other_citizen() -> (String, [String; 2]) {
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let me = world.demo_citizen().cpr.clone();
    let other = world
        .citizens
        .iter()
        .find(|c| c.cpr != me && world.documents_for("esdh", &c.cpr).next().is_some())
        .expect("another citizen with ESDH documents");
    let digits: String = other.cpr.chars().filter(char::is_ascii_digit).collect();
    (other.cpr.clone(), [digits.clone(), digits[..6].to_string()])
}

/// No request the testbed logged names `forms` (another citizen's number).
fn assert_never_named(log: &[serde_json::Value], forms: &[String]) {
    for e in log {
        let path = e["path"].as_str().unwrap_or_default();
        assert!(
            forms.iter().all(|f| !path.contains(f.as_str())),
            "another citizen's CPR number reached the case system: {e}"
        );
    }
}

over_both! {
    /// Issue 12 §15: a robot may look up only the citizen it works for.
    fn another_citizens_cpr_number_in_a_url_is_refused(t) {
        let (other, forms) = other_citizen();
        let encoded = other.replace('-', "%2D");
        let r = run_case_with(
            t,
            &Case {
                script: "other_cpr_url.rhai",
                system: "esdh",
                says: REFUSED,
                refused: true,
                reached: Some("/search"),
            },
            &[("OTHER_CPR", &encoded)],
        );
        assert_never_named(&r.log, &forms);
    }
}

#[test]
fn another_citizens_cpr_number_in_a_form_value_is_refused() {
    let (other, forms) = other_citizen();
    let r = run_case_with(
        Transport::Http,
        &Case {
            script: "other_cpr_form.rhai",
            system: "esdh",
            says: &[
                "refused by the rights profile",
                "the robot run was cancelled",
            ],
            refused: false,
            reached: Some("/search"),
        },
        &[("OTHER_CPR", &other)],
    );
    assert_never_named(&r.log, &forms);
    // Only the robot's own login form reached the system.
    let posts = r.log.iter().filter(|e| e["method"] == "POST").count();
    assert_eq!(posts, 1, "the form with another citizen's number was sent");
}

#[test]
fn webrtc_and_webtransport_send_no_udp_past_the_proxy() {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = udp.local_addr().unwrap().port().to_string();
    run_case_with(
        Transport::Http,
        &Case {
            script: "webrtc_udp.rhai",
            system: "esdh",
            says: &["the UDP attempts are over", "refused by the rights profile"],
            refused: false,
            reached: Some("/search"),
        },
        &[("UDP_PORT", &port)],
    );
    udp.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 2048];
    match udp.recv_from(&mut buf) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((n, from)) => panic!(
            "the browser sent {n} bytes of UDP from {from} past the proxy: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) => panic!("reading the UDP listener: {e}"),
    }
}

/// Files whose name starts with `stem`, changed since `since`, under
/// `dir` and `depth` levels below it.
fn files_named(
    dir: &Path,
    stem: &str,
    since: std::time::SystemTime,
    depth: usize,
) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let fresh = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= since);
        if fresh && e.file_name().to_string_lossy().starts_with(stem) {
            found.push(p.clone());
        }
        if depth > 0 && e.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(files_named(&p, stem, since, depth - 1));
        }
    }
    found
}

#[test]
fn a_page_made_download_leaves_nothing_behind() {
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let cpr = world.demo_citizen().cpr.clone();
    let att = world
        .documents_for("esdh", &cpr)
        .flat_map(|d| d.attachments.iter())
        .next()
        .expect("an ESDH attachment of the demo citizen")
        .clone();
    let stem = att.name.trim_end_matches(".pdf").to_string();
    let since = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
    let r = run_case_with(
        Transport::Http,
        &Case {
            script: "page_download.rhai",
            system: "esdh",
            says: &["the download attempt is over"],
            refused: false,
            reached: Some("/search"),
        },
        &[("ATTACHMENT", &att.att_id)],
    );
    assert!(
        r.log.iter().any(|e| e["path"]
            .as_str()
            .unwrap_or_default()
            .starts_with("/attachments/")),
        "the page never fetched the attachment, so the case proves nothing"
    );
    // chromedriver puts a headless browser's downloads in its working
    // directory unless told otherwise: marc's (here the case's folder).
    let mut places = vec![r.dir.path().to_path_buf(), std::env::temp_dir()];
    if let Some(home) = std::env::var_os("HOME") {
        places.push(home.into());
    }
    let left: Vec<_> = places
        .iter()
        .flat_map(|p| files_named(p, &stem, since, 3))
        .filter(|p| !p.starts_with(r.dir.path().join("out")))
        .collect();
    assert!(
        left.is_empty(),
        "the page's download outlived the session: {left:?}"
    );
}

/// Issue 12 §12: chromedriver and Chromium run as the robot user, who can
/// read their /proc/PID/environ; none of marc's secrets may be there.
#[test]
fn chromedriver_and_chromium_get_a_bare_environment() {
    const KEY: &str = "5a1e0f4c9b3d2e7a8c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180706050403020f";
    let dir = tempfile::tempdir().unwrap();
    let tb = TestbedProc::start(&dir.path().join("testbed.jsonl"), 0.0);
    let data = dir.path().join("data");
    let a = run_args(
        &data,
        &web_robots(dir.path()),
        &root().join("scripts"),
        "esdh",
        &dir.path().join("out"),
        &tb,
    );
    let mut child = marc_cmd(dir.path(), &a)
        .env("MARC_VAULT_KEY", KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let marc = child.id();
    let mut seen: std::collections::BTreeMap<u32, (String, String)> = Default::default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "marc run did not finish in 180 s"
        );
        for p in descendants(marc) {
            let c = cmdline(p);
            if seen.contains_key(&p) || !(c.contains("chromedriver") || c.contains("chromium")) {
                continue;
            }
            let environ = std::fs::read(format!("/proc/{p}/environ"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', "\n"))
                .unwrap_or_default();
            if !environ.is_empty() {
                seen.insert(p, (c, environ));
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    let kinds = |what: &str| seen.values().filter(|(c, _)| c.contains(what)).count();
    assert!(kinds("chromedriver") >= 1, "no chromedriver seen: {seen:?}");
    assert!(kinds("--user-data-dir") >= 1, "no Chromium seen");
    for (pid, (cmd, env)) in &seen {
        for bad in ["MARC_", KEY, ESDH_PASSWORD, LEGACY_PASSWORD] {
            assert!(
                !env.contains(bad),
                "{pid} ({}) has {bad} in its environment:\n{env}",
                cmd.split_whitespace().next().unwrap_or_default()
            );
        }
        // Chromium's helper processes (--type=…) may get less still.
        assert!(
            cmd.contains("--type=") || env.contains("PATH="),
            "{pid} ({cmd}): environ unread:\n{env}"
        );
    }
}
