//! Robot failures a script cannot swallow, retried by their kind, and no
//! silent loss (issue 12, points 2, 3, 11, 19; issue 15, point 8): the real
//! `marc run` against the real testbed through Chromium, each robot a small
//! script under the real robot's manifest (its rights profile and login).

#[path = "hostile/support.rs"]
mod support;

use marc_e2e::*;
use std::path::{Path, PathBuf};
use support::*;

/// A finished run of one robot.
struct Ran {
    /// The system's entry of `marc run --json`.
    system: serde_json::Value,
    /// The stored run state (`marc requests ID --json`), with its failure kind.
    run: serde_json::Value,
    log: Vec<serde_json::Value>,
    audit: Vec<serde_json::Value>,
    stdout: String,
    stderr: String,
    dir: tempfile::TempDir,
    data: PathBuf,
}

/// Runs `source` as the robot of `system` (its real manifest), with the
/// real scripts/lib, `attempts` attempts and extra environment.
fn run_robot(
    system: &str,
    source: &str,
    attempts: u32,
    env: &[(&str, &str)],
    fail_rate: f64,
) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let tb = TestbedProc::start(&dir.path().join("testbed.jsonl"), fail_rate);
    let robots = dir.path().join("robots");
    std::fs::create_dir_all(robots.join(system)).unwrap();
    let manifest = std::fs::read_to_string(root().join("robots").join(system).join("robot.toml"))
        .unwrap()
        .replace(
            &format!("script = \"{system}.rhai\""),
            "script = \"trial.rhai\"",
        );
    std::fs::write(robots.join(system).join("robot.toml"), manifest).unwrap();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(scripts.join("lib")).unwrap();
    for e in std::fs::read_dir(root().join("scripts/lib")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), scripts.join("lib").join(e.file_name())).unwrap();
    }
    std::fs::write(scripts.join("trial.rhai"), source).unwrap();
    let data = dir.path().join("data");
    let mut a = run_args(
        &data,
        &robots,
        &scripts,
        system,
        &dir.path().join("out"),
        &tb,
    );
    a.extend(args(&[
        "-v",
        "--attempts",
        &attempts.to_string(),
        "--export-documents",
    ]));
    let mut cmd = marc_cmd(dir.path(), &a);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("cannot start marc");
    let (so, se) = (stdout(&out), stderr(&out));
    let v: serde_json::Value = serde_json::from_str(so.trim())
        .unwrap_or_else(|e| panic!("`marc run --json` printed no JSON ({e}):\n{so}\n{se}"));
    let id = v["request_id"].as_str().unwrap().to_string();
    let rec = marc_out(
        dir.path(),
        &args(&["--data", data.to_str().unwrap(), "requests", &id, "--json"]),
    );
    let rec: serde_json::Value = serde_json::from_str(stdout(&rec).trim()).unwrap();
    Ran {
        system: v["systems"][system].clone(),
        run: rec["runs"][system].clone(),
        log: tb.entries(),
        audit: audit_entries(dir.path(), &data),
        stdout: so,
        stderr: se,
        data,
        dir,
    }
}

/// The demo citizen's documents in `system`, by the testbed's ground truth.
fn truth(system: &str) -> Vec<marc_testbed::TbDocument> {
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let cpr = world.demo_citizen().cpr.clone();
    world.documents_for(system, &cpr).cloned().collect()
}

fn failed_with(r: &Ran, kind: &str) {
    assert_eq!(r.system["status"], "failed", "{}\n{}", r.system, r.stderr);
    assert_eq!(r.run["failure"], kind, "{}\n{}", r.run, r.stderr);
}

/// Every byte marc wrote for the run: its output, the data directory, the
/// output folder, the audit log.
fn everything(r: &Ran) -> Vec<(String, Vec<u8>)> {
    let mut all = vec![
        ("stdout".to_string(), r.stdout.clone().into_bytes()),
        ("stderr".to_string(), r.stderr.clone().into_bytes()),
        ("audit".to_string(), serde_json::to_vec(&r.audit).unwrap()),
    ];
    for d in [r.data.clone(), r.dir.path().join("out")] {
        for f in files(&d) {
            all.push((
                f.display().to_string(),
                std::fs::read(&f).unwrap_or_default(),
            ));
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_refused_click_inside_try_stops_the_robot_at_once_and_is_audited_then() {
    let doc = &truth("legacy")[0];
    let r = run_robot(
        "legacy",
        &format!(
            r##"login();
navigate("/doc?id={}");
wait_for("#slet", 8000);
try {{ click("#slet"); }} catch (e) {{ log("caught: " + e); }}
emit(#{{case_id: "X", doc_id: "after-the-refusal", title: "t", date: "2020-01-01", text: "the script went on"}});
"##,
            doc.doc_id
        ),
        3,
        &[],
        0.0,
    );
    failed_with(&r, "refused");
    assert_eq!(r.system["attempts"], 1, "a refusal is never tried again");
    assert_eq!(r.system["documents"], 0);
    assert!(
        !r.stderr.contains("caught:"),
        "the script caught the refusal:\n{}",
        r.stderr
    );
    assert!(
        !r.log
            .iter()
            .any(|e| e["path"].as_str().unwrap_or("").contains("delete")),
        "the delete reached the system"
    );
    // Audited once, when it was decided: before the attempt's outcome.
    let refused: Vec<usize> = (0..r.audit.len())
        .filter(|&i| r.audit[i]["action"] == "robot.refused")
        .collect();
    assert_eq!(refused.len(), 1, "{:#?}", r.audit);
    let e = &r.audit[refused[0]];
    assert_eq!(e["detail"]["what"], "click", "{e}");
    assert!(e["detail"]["error"]
        .as_str()
        .unwrap()
        .contains("refused by the rights profile"));
    let failed = r
        .audit
        .iter()
        .position(|e| e["action"] == "robot.failed")
        .expect("the attempt's outcome is audited");
    assert!(refused[0] < failed);
    assert_eq!(r.audit[failed]["detail"]["kind"], "refused");
}

#[test]
fn a_wrong_password_is_tried_once_so_the_account_is_not_locked() {
    let source = std::fs::read_to_string(root().join("scripts/legacy.rhai")).unwrap();
    let r = run_robot(
        "legacy",
        &source,
        3,
        &[("MARC_SECRET_LEGACY_PASSWORD", "wrong")],
        0.0,
    );
    failed_with(&r, "login");
    assert_eq!(r.system["attempts"], 1);
    let posts = r
        .log
        .iter()
        .filter(|e| e["method"] == "POST" && e["path"] == "/login")
        .count();
    assert_eq!(posts, 1, "the password was tried {posts} times");
    let error = r.system["error"].as_str().unwrap();
    assert!(error.contains("refused the robot's credentials"), "{error}");
    // A weak password is said to be weak, and not masked inside words.
    assert!(r.stderr.contains("legacy.password is weak"), "{}", r.stderr);
}

#[test]
fn a_deterministic_script_error_is_not_tried_again() {
    let r = run_robot("esdh", "login();\nlet t = ocr();\n", 3, &[], 0.0);
    failed_with(&r, "script");
    assert_eq!(r.system["attempts"], 1);
    assert!(r.system["error"].as_str().unwrap().contains("no screen"));
    let logins = r
        .log
        .iter()
        .filter(|e| e["method"] == "POST" && e["path"] == "/login")
        .count();
    assert_eq!(logins, 1);
}

#[test]
fn a_robot_cannot_have_another_systems_secret() {
    let r = run_robot(
        "legacy",
        "login();\ntry { let p = secret(\"esdh.password\"); log(p); } catch { }\nemit(#{case_id: \"S\", doc_id: \"D\", title: \"t\", date: \"2020-01-01\", text: \"x\"});\n",
        2,
        &[],
        0.0,
    );
    failed_with(&r, "refused");
    assert_eq!(r.system["attempts"], 1);
    assert_eq!(r.system["documents"], 0);
    assert!(
        r.audit.iter().any(|e| e["action"] == "robot.refused"
            && e["detail"]["what"] == "secret"
            && e["detail"]["target"] == "esdh.password"),
        "{:#?}",
        r.audit
    );
    for (what, bytes) in everything(&r) {
        assert!(
            !contains(&bytes, ESDH_PASSWORD),
            "the ESDH password is in {what}"
        );
    }
}

#[test]
fn a_document_carrying_the_robots_own_password_in_any_form_is_refused() {
    // Upper-cased, reversed and spaced out: "8 1 0 2 - N U K - S E A L".
    let r = run_robot(
        "esdh",
        r##"login();
let p = secret("esdh.password");
let r = "";
for c in p.to_chars() { r = c + " " + r; }
r.make_upper();
emit(#{case_id: "S", doc_id: "D", title: "Notat", date: "2020-01-01", text: "kode: " + r});
"##,
        1,
        &[],
        0.0,
    );
    failed_with(&r, "refused");
    let error = r.system["error"].as_str().unwrap();
    assert!(error.contains("esdh.password (reversed)"), "{error}");
    assert_eq!(r.system["documents"], 0);
    let spaced: String = ESDH_PASSWORD
        .to_uppercase()
        .chars()
        .rev()
        .map(|c| format!("{c} "))
        .collect();
    for (what, bytes) in everything(&r) {
        assert!(
            !contains(&bytes, ESDH_PASSWORD),
            "the password is in {what}"
        );
        assert!(
            !contains(&bytes, spaced.trim()),
            "the reversed password is in {what}"
        );
    }
}

#[test]
fn no_document_is_lost_silently() {
    // A second, different document under the same id: an error, not a skip.
    let r = run_robot(
        "esdh",
        r##"login();
emit(#{case_id: "S1", doc_id: "D1", title: "Brev", date: "2020-01-01", text: "first"});
try { emit(#{case_id: "S1", doc_id: "D1", title: "Notat", date: "2020-01-02", text: "second"}); } catch { }
emit(#{case_id: "S1", doc_id: "D2", title: "t", date: "2020-01-03", text: "the script went on"});
"##,
        3,
        &[],
        0.0,
    );
    failed_with(&r, "document");
    assert_eq!(r.system["attempts"], 1);
    let error = r.system["error"].as_str().unwrap();
    assert!(
        error.contains("a different document is already stored as esdh/S1/D1"),
        "{error}"
    );
    // The first is kept, and the system's count is what is stored.
    assert_eq!(r.system["documents"], 1, "{}", r.system);

    // A document without an id (an OCR miss) stops the robot too.
    let r = run_robot(
        "esdh",
        "login();\nemit(#{case_id: \"S1\", doc_id: \"\", title: \"t\", date: \"2020-01-01\", text: \"x\"});\n",
        1,
        &[],
        0.0,
    );
    failed_with(&r, "document");
    assert!(r.system["error"].as_str().unwrap().contains("doc_id"));
}

#[test]
fn the_legacy_robot_recovers_from_expired_sessions_and_503s_by_itself() {
    let source = std::fs::read_to_string(root().join("scripts/legacy.rhai")).unwrap();
    let lib = std::fs::read_to_string(root().join("scripts/lib/legacy.rhai")).unwrap();
    let code: String = format!("{source}\n{lib}")
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        "#user",
        "body > pre",
        ".fejl",
        "retry(",
        "sleep(",
        "try {",
        "login()\n}",
    ] {
        assert!(
            !code.contains(needle),
            "the legacy robot handles expiry or errors itself ({needle:?})"
        );
    }
    let r = run_robot("legacy", &source, 1, &[], 0.25);
    assert_eq!(r.system["status"], "complete", "{}\n{}", r.system, r.stderr);
    let want: Vec<String> = truth("legacy").into_iter().map(|d| d.doc_id).collect();
    let jsonl = std::fs::read_to_string(r.dir.path().join("out/documents.jsonl")).unwrap();
    let mut got: Vec<String> = jsonl
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["doc_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    got.sort();
    let mut want = want;
    want.sort();
    assert_eq!(got, want);
    // The system did misbehave, and the engine dealt with it.
    let status_503 = r.log.iter().filter(|e| e["status"] == 503).count();
    let logins = r
        .log
        .iter()
        .filter(|e| e["method"] == "POST" && e["path"] == "/login")
        .count();
    assert!(status_503 > 0, "no 503 was served");
    assert!(logins > 1, "the session never expired");
    assert!(r.stderr.contains("logging in again"), "{}", r.stderr);
    assert!(r.stderr.contains("is an error page"), "{}", r.stderr);
}

/// Entries named `marc-chromium-*` or `marc-robot-run-*` under `dir`.
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("marc-chromium-") || name.starts_with("marc-robot-run-") {
                found.push(e.path());
            } else if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    found
}

#[test]
fn a_killed_robot_process_leaves_no_browser_profile_behind() {
    // The robot process is killed in its first attempt; the second
    // completes. Neither may leave a browser profile or any other folder of
    // Chromium's in marc's temporary directory.
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // The robot user must reach its directory under this one.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let tb = TestbedProc::start(&dir.path().join("testbed.jsonl"), 0.0);
    let robots = web_robots(dir.path());
    let mut a = run_args(
        &dir.path().join("data"),
        &robots,
        &root().join("scripts"),
        "esdh",
        &dir.path().join("out"),
        &tb,
    );
    a.extend(args(&["--attempts", "2"]));
    let child = marc_cmd(dir.path(), &a)
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill the first robot process once its browser profile exists.
    let t0 = std::time::Instant::now();
    let worker = loop {
        let w = descendants(child.id())
            .into_iter()
            .find(|p| cmdline(*p).contains("robot-worker"));
        if let (Some(w), false) = (w, leftovers(&tmp).is_empty()) {
            break w;
        }
        assert!(t0.elapsed().as_secs() < 60, "no robot process appeared");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    std::thread::sleep(std::time::Duration::from_millis(1500));
    std::process::Command::new("kill")
        .args(["-9", &worker.to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        v["systems"]["esdh"]["status"], "complete",
        "the second attempt: {v}"
    );
    assert_eq!(v["systems"]["esdh"]["attempts"], 2);
    let left = leftovers(&tmp);
    let inside: Vec<_> = left.iter().flat_map(|d| files(d)).take(20).collect();
    assert!(left.is_empty(), "left behind: {left:?}, holding {inside:?}");
    // Nor anything of Chromium's (its config folder, scratch folders): only
    // the shared copy of the marc binary the robot user runs may stay.
    let rest: Vec<String> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("marc-robot-bin-"))
        .collect();
    assert!(rest.is_empty(), "left in the temporary directory: {rest:?}");
}
