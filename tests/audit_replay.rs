//! The audit log and the session recordings after a real run (issue 6 §1,
//! §3, §4): no robot password in any output or stored byte, the trace page
//! of a recorded session opened in headless Chromium, and a stored audit
//! entry changed by one byte is found and named by `marc audit verify`.

#[path = "hostile/support.rs"]
mod support;

use marc_e2e::*;
use std::path::Path;
use std::process::Command;
use support::*;

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Fails when a robot password is in `bytes`; `what` says where.
fn assert_no_secret(what: &str, bytes: &[u8]) {
    for pw in [ESDH_PASSWORD, LEGACY_PASSWORD] {
        assert!(
            !contains(bytes, pw.as_bytes()),
            "the robot password {pw:?} leaked into {what}"
        );
    }
}

fn assert_no_secret_in_files(what: &str, dir: &Path) -> usize {
    let all = files(dir);
    for f in &all {
        let bytes = std::fs::read(f).unwrap_or_default();
        assert_no_secret(&format!("{what}: {}", f.display()), &bytes);
    }
    all.len()
}

/// Changes one byte inside the stored value of audit entry `seq` (with the
/// marc-store API; marc must not be running). `field` picks where: the byte
/// right after `"field":"`, so the JSON stays valid and only the hash
/// chain can tell.
fn tamper(data: &Path, seq: u64, field: &str) {
    let store = marc_store::Store::open(data).expect("open the data directory");
    let table = store.table(marc_audit::TABLE).unwrap();
    let key = marc_store::be_key(seq);
    let mut v = table
        .get(key)
        .unwrap()
        .unwrap_or_else(|| panic!("no audit entry {seq}"));
    let marker = format!("\"{field}\":\"");
    let at = v
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .unwrap_or_else(|| {
            panic!(
                "entry {seq} has no {marker}: {}",
                String::from_utf8_lossy(&v)
            )
        })
        + marker.len();
    v[at] = match v[at] {
        b'a'..=b'y' | b'A'..=b'Y' | b'0'..=b'8' => v[at] + 1,
        b'z' => b'a',
        b'Z' => b'A',
        b'9' => b'0',
        _ => b'x',
    };
    table.put(key, &v).unwrap();
    store.flush().unwrap();
}

fn verify(cwd: &Path, data: &Path) -> (bool, String) {
    let out = marc_out(
        cwd,
        &args(&["--data", data.to_str().unwrap(), "audit", "verify"]),
    );
    (
        out.status.success(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

fn copy_tree(from: &Path, to: &Path) {
    for f in files(from) {
        let rel = f.strip_prefix(from).unwrap();
        let dst = to.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dst).unwrap();
    }
}

#[test]
fn a_changed_byte_in_any_audit_entry_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let data = cwd.join("data");
    // A small real log: marc writes an audit entry for every secret stored
    // (with the tests' vault key, from which the audit key is derived).
    for i in 0..6 {
        let mut child = marc_cmd(
            cwd,
            &args(&[
                "--data",
                data.to_str().unwrap(),
                "secret",
                "set",
                &format!("s{i}.user"),
            ]),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("value-{i}").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "marc secret set: {}", stderr(&out));
    }
    let (ok, said) = verify(cwd, &data);
    assert!(ok, "the untouched log should verify: {said}");
    let n = audit_entries(cwd, &data).len() as u64;
    assert!(n >= 6, "expected at least 6 audit entries, found {n}");

    for (seq, field) in [
        (1, "action"),
        (n / 2, "time"),
        (n, "actor"),
        (n - 1, "hash"),
        (2, "prev"),
    ] {
        let copy = cwd.join(format!("tampered-{seq}-{field}"));
        copy_tree(&data, &copy);
        tamper(&copy, seq, field);
        let (ok, said) = verify(cwd, &copy);
        assert!(
            !ok,
            "marc audit verify passed after entry {seq}'s {field} was changed: {said}"
        );
        assert!(
            said.contains(&format!("entry {seq}:")) || said.contains(&format!("entry {seq} ")),
            "marc audit verify should name entry {seq} (its {field} was changed): {said}"
        );
        for earlier in 1..seq {
            assert!(
                !said.contains(&format!("at entry {earlier}:")),
                "verify blamed entry {earlier} for a change in entry {seq}: {said}"
            );
        }
    }
}

#[test]
fn a_full_run_leaks_no_secret_replays_in_a_browser_and_detects_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let tb = TestbedProc::start(&cwd.join("testbed.jsonl"), 0.1);
    let data = cwd.join("data");
    let out_dir = cwd.join("out");
    let d = data.to_str().unwrap();
    let mut a = run_args(
        &data,
        &web_robots(cwd),
        &root().join("scripts"),
        "esdh,legacy",
        &out_dir,
        &tb,
    );
    a.extend(args(&["-v", "--screenshots", "--export-documents"]));
    let run = marc_out(cwd, &a);
    let (so, se) = (stdout(&run), stderr(&run));
    assert!(run.status.success(), "marc run failed:\n{so}\n{se}");
    let v: serde_json::Value = serde_json::from_str(so.trim()).expect("one JSON object");
    // The robots really logged in with the passwords (so there was something to leak).
    let logins = tb
        .entries()
        .iter()
        .filter(|e| e["method"] == "POST" && e["path"] == "/login" && e["status"] != 401)
        .count();
    assert!(logins >= 2, "the robots never logged in: {v}");

    // (a) The chain of a real run verifies.
    let (ok, said) = verify(cwd, &data);
    assert!(ok, "marc audit verify after a clean run: {said}");

    // (b) No password anywhere marc wrote or printed.
    assert_no_secret("marc run's stdout", so.as_bytes());
    assert_no_secret("marc run -v's stderr", se.as_bytes());
    assert!(assert_no_secret_in_files("the out dir", &out_dir) >= 2);
    let audit = marc_out(cwd, &args(&["--data", d, "audit", "log", "--json"]));
    assert_no_secret("marc audit log --json", &audit.stdout);
    assert_no_secret(
        "marc audit log",
        &marc_out(cwd, &args(&["--data", d, "audit", "log"])).stdout,
    );
    let list = marc_out(cwd, &args(&["--data", d, "replay", "--list"]));
    assert!(
        list.status.success(),
        "marc replay --list: {}",
        stderr(&list)
    );
    assert_no_secret("marc replay --list", &list.stdout);
    let sessions: Vec<String> = stdout(&list)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    for sys in ["esdh", "legacy"] {
        for s in v["systems"][sys]["sessions"]
            .as_array()
            .expect("sessions in the run's JSON")
        {
            assert!(
                sessions.iter().any(|x| x == s.as_str().unwrap()),
                "session {s} missing from replay --list"
            );
        }
    }
    let mut shots = 0;
    let mut html_page = None;
    for s in &sessions {
        let r = marc_out(cwd, &args(&["--data", d, "replay", s]));
        assert!(r.status.success(), "marc replay {s}: {}", stderr(&r));
        assert_no_secret(&format!("marc replay {s}"), &r.stdout);
        assert_no_secret(&format!("marc replay {s} (stderr)"), &r.stderr);
        let html = cwd.join("trace").join(s);
        let r = marc_out(
            cwd,
            &args(&["--data", d, "replay", s, "--html", html.to_str().unwrap()]),
        );
        assert!(r.status.success(), "marc replay {s} --html: {}", stderr(&r));
        assert_no_secret_in_files(&format!("marc replay {s} --html"), &html);
        let n = files(&html.join("shots")).len();
        shots += n;
        if s.contains("-esdh-") && n > 0 {
            html_page = Some(html.join("index.html"));
        }
    }
    assert!(
        shots > 0,
        "--screenshots recorded no screenshot in any session"
    );
    let n = assert_no_secret_in_files("the data directory", &data);
    assert!(n > 0);

    // (c) The trace page in headless Chromium lists the steps and shows screenshots.
    let page = html_page.expect("an ESDH session with screenshots");
    let profile = tempfile::tempdir().unwrap();
    let dom = Command::new("/usr/bin/chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium");
    let dom = stdout(&dom);
    assert!(
        dom.contains("<ol id=\"steps\">"),
        "no step list in the DOM:\n{}",
        &dom[..dom.len().min(2000)]
    );
    let steps = dom.matches("<li id=\"step-").count();
    assert!(steps >= 5, "only {steps} steps in the trace page");
    assert!(
        dom.contains(&format!("data-steps=\"{steps}\"")),
        "the page lists {steps} steps but announces another number"
    );
    for cmd in ["navigate", "emit", "fill", "click"] {
        assert!(
            dom.contains(&format!("<span class=\"cmd\">{cmd}</span>")),
            "the trace page lists no {cmd} step"
        );
    }
    assert!(
        dom.matches("<img ").count() >= 1,
        "the trace page shows no screenshot"
    );
    assert!(
        dom.contains("data-loaded=\"1\""),
        "the page's script did not run in Chromium"
    );
    assert!(
        dom.contains("data-broken=\"0\""),
        "some screenshots did not load in Chromium"
    );
    assert_no_secret("the trace page's DOM", dom.as_bytes());

    // (d) One changed byte in a stored entry of this run's log is found and named.
    let entries = audit_entries(cwd, &data);
    let target = entries
        .iter()
        .find(|e| e["action"] == "robot.finished")
        .expect("a robot.finished entry")["seq"]
        .as_u64()
        .unwrap();
    drop(tb);
    tamper(&data, target, "action");
    let (ok, said) = verify(cwd, &data);
    assert!(
        !ok,
        "marc audit verify passed after entry {target} was changed: {said}"
    );
    assert!(
        said.contains(&format!("entry {target}:")),
        "marc audit verify should name entry {target}: {said}"
    );
}
