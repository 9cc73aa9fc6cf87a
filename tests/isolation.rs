//! The robot process (issue 6 §2, §5): every robot attempt runs in a process
//! of its own (`marc robot-worker`), as the OS user `marc-robot` when marc is
//! root, with none of marc's environment (no `MARC_SECRET_*`, no vault key).
//! Killing one robot process fails only that system's attempt: its browser
//! session is closed at once, the attempt is retried, and the other system
//! is untouched.

#[path = "hostile/support.rs"]
mod support;

use marc_e2e::*;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

/// The real uid of a process (`Uid:` in /proc/PID/status).
fn uid_of(pid: &str) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The uid robot processes must have: `marc-robot`'s when the test runs as
/// root (marc then creates that user on first use), else our own.
fn expected_robot_uid() -> u32 {
    let me = uid_of("self").expect("own uid");
    if me != 0 {
        return me;
    }
    let out = std::process::Command::new("id")
        .args(["-u", "marc-robot"])
        .output()
        .expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("marc-robot exists once marc has run as root")
}

/// Main browser processes under `pid` (Chromium without `--type=`).
fn browsers(pid: u32) -> Vec<u32> {
    descendants(pid)
        .into_iter()
        .filter(|p| {
            let c = cmdline(*p);
            c.contains("--user-data-dir") && !c.contains("--type=")
        })
        .collect()
}

/// One robot process seen during the run.
struct Seen {
    system: String,
    uid: Option<u32>,
    environ: String,
}

#[test]
fn robot_processes_run_apart_and_a_killed_one_only_costs_its_own_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let tb = TestbedProc::start(&dir.path().join("testbed.jsonl"), 0.0);
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen();
    let data = dir.path().join("data");
    let mut a = run_args(
        &data,
        &web_robots(dir.path()),
        &root().join("scripts"),
        "esdh,legacy",
        &dir.path().join("out"),
        &tb,
    );
    a.extend(args(&["--attempts", "2", "--export-documents"]));
    let mut child = marc_cmd(dir.path(), &a)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start marc run");
    let marc = child.id();

    let mut seen: BTreeMap<u32, Seen> = BTreeMap::new();
    let mut killed: Option<u32> = None;
    let mut browser_closed_while_running = false;
    let deadline = Instant::now() + Duration::from_secs(180);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "marc run did not finish in 180 s"
        );
        for p in descendants(marc) {
            let c = cmdline(p);
            if seen.contains_key(&p) || !c.contains("robot-worker") {
                continue;
            }
            let Some(system) = c.split_whitespace().skip_while(|w| *w != "--system").nth(1) else {
                continue; // forked, not yet exec'd
            };
            let environ = std::fs::read(format!("/proc/{p}/environ"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', "\n"))
                .unwrap_or_default();
            seen.insert(
                p,
                Seen {
                    system: system.to_string(),
                    uid: uid_of(&p.to_string()),
                    environ,
                },
            );
        }
        // Kill the first esdh robot process once it is fetching documents.
        let esdh_docs = tb.entries().iter().any(|e| {
            e["system"] == "esdh" && e["path"].as_str().unwrap_or("").starts_with("/documents/")
        });
        if killed.is_none() && esdh_docs {
            let (&pid, _) = seen
                .iter()
                .find(|(p, s)| s.system == "esdh" && alive(**p))
                .expect("an esdh robot process is running while esdh serves documents");
            let before = browsers(marc);
            assert_eq!(before.len(), 2, "one browser per robot before the kill");
            let legacy: Vec<u32> = seen
                .iter()
                .filter(|(p, s)| s.system == "legacy" && alive(**p))
                .map(|(p, _)| *p)
                .collect();
            std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap();
            killed = Some(pid);
            // The dead robot's browser is closed by the engine at once, not
            // when marc ends: one of the two browsers goes away within a
            // moment, while the legacy robot is still at work.
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_millis(1500) {
                if before.iter().any(|b| !alive(*b)) {
                    browser_closed_while_running = legacy.iter().any(|p| alive(*p));
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let out = child.wait_with_output().unwrap();
    let (so, se) = (stdout(&out), stderr(&out));
    assert!(killed.is_some(), "the esdh robot never fetched a document");
    assert!(
        browser_closed_while_running,
        "the killed robot's browser was not closed while marc was still working"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the retry should complete the request:\n{so}\n{se}"
    );

    // Apart: own user, own environment without marc's secrets.
    let want = expected_robot_uid();
    assert!(
        seen.len() >= 3,
        "esdh twice and legacy once: {}",
        seen.len()
    );
    for (pid, s) in &seen {
        assert_eq!(
            s.uid,
            Some(want),
            "robot process {pid} ({}) runs as uid {:?}",
            s.system,
            s.uid
        );
        for bad in ["MARC_SECRET", ESDH_PASSWORD, LEGACY_PASSWORD, "MARC_DATA"] {
            assert!(
                !s.environ.contains(bad),
                "robot process {pid} ({}) was given {bad} in its environment",
                s.system
            );
        }
        assert!(
            s.environ.contains("PATH="),
            "environ of {pid} unread or empty"
        );
    }

    // Only its own attempt: esdh failed once and was retried, legacy ran once.
    let v: serde_json::Value = serde_json::from_str(so.trim()).expect("--json output");
    let runs = &v["systems"];
    assert_eq!(runs["esdh"]["attempts"], 2, "{v}");
    assert_eq!(runs["legacy"]["attempts"], 1, "{v}");
    let truth = web_truth(&world, &citizen.cpr);
    let docs = read_jsonl(&dir.path().join("out/documents.jsonl"));
    assert_eq!(docs.len(), truth.len(), "no document lost or doubled");

    let audit = audit_entries(dir.path(), &data);
    let failed: Vec<_> = audit
        .iter()
        .filter(|e| e["action"] == "robot.failed" && e["system"] == "esdh")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let msg = failed[0]["detail"]["error"].as_str().unwrap_or_default();
    assert!(
        msg.contains("robot process ended unexpectedly") && msg.contains("signal 9"),
        "{msg}"
    );
    let processes: Vec<_> = audit
        .iter()
        .filter(|e| e["action"] == "robot.process")
        .collect();
    assert!(processes.len() >= 3, "{processes:?}");
    for p in processes {
        assert_eq!(p["detail"]["uid"], want, "{p}");
    }
}
