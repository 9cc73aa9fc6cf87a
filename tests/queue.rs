//! The shared job queue in PostgreSQL (issue 13): `marc run --queue` puts a
//! request's robot jobs on it, `marc worker` processes take them.
//!
//! - A worker killed with SIGKILL in the middle of a robot, with its robot
//!   process, chromedriver and browser (as when its machine dies), leaves
//!   its job to another worker once the lease ends; the request is
//!   delivered once, with every document once.
//! - PostgreSQL restarted in the middle of a run: the worker reconnects and
//!   the request completes.
//! - A system's `max_sessions` holds over two workers with three requests.
//! - `marc serve --workers 0` is a web node: it finishes (screening,
//!   assembly, delivery into its data directory) what a worker collected.
//!
//! Leases are short here (`[store] heartbeat_seconds = 1`, 3 missed beats).

#[path = "hostile/support.rs"]
mod support;

use marc_e2e::*;
use marc_store::testing::{PgCluster, TestDatabase};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

/// `marc worker` with the test's robots and lease, in a process group of its own.
fn worker(cwd: &Path, url: &str, data: &Path, common: &Common, extra: &[&str]) -> Group {
    let mut a = args(&[
        "--database",
        url,
        "--data",
        data.to_str().unwrap(),
        "--config",
        common.config.to_str().unwrap(),
        "worker",
        "--robots",
        common.robots.to_str().unwrap(),
        "--scripts",
        root().join("scripts").to_str().unwrap(),
    ]);
    a.extend(common.base_urls.iter().cloned());
    a.extend(args(extra));
    Group::spawn(
        marc_cmd(cwd, &a)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit()),
    )
}

/// What every command of a test shares.
struct Common {
    config: PathBuf,
    robots: PathBuf,
    base_urls: Vec<String>,
}

fn setup(cwd: &Path, tb: &TestbedProc) -> Common {
    let config = cwd.join("marc.toml");
    std::fs::write(
        &config,
        "[store]\nheartbeat_seconds = 1\nmissed_heartbeats = 3\n",
    )
    .unwrap();
    let robots = web_robots(cwd);
    let base_urls = tb.base_url_args(&robots);
    Common {
        config,
        robots,
        base_urls,
    }
}

/// `marc --database URL --data DATA REST…`, run to completion.
fn marc_on(cwd: &Path, url: &str, data: &Path, rest: &[&str]) -> std::process::Output {
    let mut a = args(&["--database", url, "--data", data.to_str().unwrap()]);
    a.extend(args(rest));
    marc_out(cwd, &a)
}

/// `marc audit join` for a new worker's data directory.
fn join(cwd: &Path, url: &str, data: &Path) {
    let out = marc_on(cwd, url, data, &["audit", "join"]);
    assert!(
        out.status.success(),
        "marc audit join: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("joined the audit log"),
        "{}",
        stdout(&out)
    );
}

/// `marc run --queue` for the demo citizen; returns the request id.
fn queue_request(cwd: &Path, url: &str, data: &Path, c: &Common, tb: &TestbedProc) -> String {
    let mut a = args(&["--database", url, "--config", c.config.to_str().unwrap()]);
    a.extend(run_args(
        data,
        &c.robots,
        &root().join("scripts"),
        "esdh,legacy",
        &cwd.join("out"),
        tb,
    ));
    a.push("--queue".into());
    let out = marc_out(cwd, &a);
    assert!(
        out.status.success(),
        "marc run --queue: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    assert_eq!(v["queued"], 2, "one robot job per system: {v}");
    v["request_id"].as_str().expect("request_id").to_string()
}

/// `marc requests ID --json` on the database.
fn request(cwd: &Path, url: &str, data: &Path, id: &str) -> serde_json::Value {
    let out = marc_on(cwd, url, data, &["requests", id, "--json"]);
    assert!(out.status.success(), "marc requests: {}", stderr(&out));
    serde_json::from_str(stdout(&out).trim()).expect("request JSON")
}

/// Waits until the request is no longer being worked on.
fn settled(cwd: &Path, url: &str, data: &Path, id: &str, within: Duration) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let rec = request(cwd, url, data, id);
        let state = rec["state"].as_str().unwrap_or_default().to_string();
        if !matches!(
            state.as_str(),
            "received" | "collecting" | "collected" | "ready"
        ) {
            return rec;
        }
        assert!(
            t0.elapsed() < within,
            "request {id} still {state} after {within:?}: {rec}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Waits until the testbed served `n` documents of `system`.
fn documents_served(tb: &TestbedProc, system: &str, n: usize, within: Duration) {
    let t0 = Instant::now();
    loop {
        let served = tb
            .entries()
            .iter()
            .filter(|e| {
                e["system"] == system && e["path"].as_str().unwrap_or("").starts_with("/documents/")
            })
            .count();
        if served >= n {
            return;
        }
        assert!(
            t0.elapsed() < within,
            "{system} served {served} of {n} documents in {within:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The request's stored documents, as (system, id), each once, equal to
/// the ground truth.
fn every_document_once(url: &str, id: &str) {
    let store = marc_store::Store::connect(url).expect("connect to the test database");
    let rows = store
        .table("documents")
        .and_then(|t| t.scan_prefix(format!("{id}/")))
        .expect("read the documents");
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|(_, v)| {
            let d: serde_json::Value = serde_json::from_slice(v).expect("a document");
            (
                d["system"].as_str().unwrap_or_default().to_string(),
                d["doc_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let unique: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "a document twice: {got:?}");
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen();
    let want: BTreeSet<(String, String)> = web_truth(&world, &citizen.cpr)
        .iter()
        .map(|d| (d.system.to_string(), d.doc_id.to_string()))
        .collect();
    assert_eq!(unique, want, "documents differ from the ground truth");
}

/// Answers sent to the citizen from `data`'s outbox.
fn answers(data: &Path) -> usize {
    files(&data.join("outbox"))
        .into_iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .contains("Svar på anmodning")
        })
        .count()
}

#[test]
fn a_worker_killed_in_the_middle_of_a_robot_leaves_its_job_to_another_worker() {
    let t0 = Instant::now();
    let db = TestDatabase::new().expect("a test database");
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let tb = TestbedProc::start(&cwd.join("testbed.jsonl"), 0.0);
    let c = setup(cwd, &tb);
    let (data_a, data_b, data_q) = (cwd.join("a"), cwd.join("b"), cwd.join("q"));

    let id = queue_request(cwd, url, &data_q, &c, &tb);
    // A new data directory beside a shared database must join the audit
    // log before it writes: a worker that did not is refused.
    let refused = marc_on(
        cwd,
        url,
        &data_a,
        &[
            "--config",
            c.config.to_str().unwrap(),
            "worker",
            "--robots",
            c.robots.to_str().unwrap(),
        ],
    );
    assert!(!refused.status.success(), "a worker that did not join ran");
    assert!(
        stderr(&refused).contains("marc audit join"),
        "{}",
        stderr(&refused)
    );
    join(cwd, url, &data_a);
    join(cwd, url, &data_b);
    // Worker A runs the esdh robot only; it dies while the robot reads.
    let mut a = worker(cwd, url, &data_a, &c, &["--systems", "esdh"]);
    documents_served(&tb, "esdh", 2, Duration::from_secs(120));
    a.kill();
    let killed_at = Instant::now();
    let rec = request(cwd, url, &data_q, &id);
    assert_eq!(
        rec["runs"]["esdh"]["status"], "pending",
        "the esdh robot finished before its worker was killed, so nothing was tested: {rec}"
    );

    // Worker B takes both systems and finishes; the esdh job comes back
    // to it once A's lease has run out.
    let _b = worker(cwd, url, &data_b, &c, &["--finish"]);
    let rec = settled(cwd, url, &data_b, &id, Duration::from_secs(240));
    assert_eq!(rec["state"], "delivered", "{rec}");
    eprintln!("delivered {:?} after the kill", killed_at.elapsed());

    every_document_once(url, &id);
    assert_eq!(
        answers(&data_b),
        1,
        "one answer, sent by the finishing worker"
    );
    assert_eq!(answers(&data_a), 0, "the killed worker sent nothing");
    assert!(
        robot_times(cwd, url, &data_b, "esdh", "robot.started").len() >= 2,
        "the esdh robot ran again after its worker died"
    );
    let verify = marc_on(cwd, url, &data_b, &["audit", "verify"]);
    assert!(
        verify.status.success(),
        "the audit chain written by two workers verifies: {}{}",
        stdout(&verify),
        stderr(&verify)
    );
    eprintln!("kill -9 test: {:?}", t0.elapsed());
}

#[test]
fn a_worker_carries_on_after_postgresql_restarts_in_the_middle_of_a_run() {
    let t0 = Instant::now();
    // A cluster of its own: restarting the shared one would disturb other tests.
    let cluster = PgCluster::start().expect("a PostgreSQL cluster");
    let db = TestDatabase::on_url(&cluster.url()).expect("a test database");
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let tb = TestbedProc::start(&cwd.join("testbed.jsonl"), 0.0);
    let c = setup(cwd, &tb);
    let data = cwd.join("w");

    let id = queue_request(cwd, url, &data, &c, &tb);
    let _w = worker(cwd, url, &data, &c, &["--finish"]);
    documents_served(&tb, "esdh", 2, Duration::from_secs(120));
    cluster.restart().expect("restart PostgreSQL");
    let rec = settled(cwd, url, &data, &id, Duration::from_secs(240));
    assert_eq!(rec["state"], "delivered", "{rec}");
    every_document_once(url, &id);
    assert_eq!(answers(&data), 1, "one answer");
    eprintln!("restart test: {:?}", t0.elapsed());
}

/// The audit entries of `action` on `system`, as (request, time).
fn robot_times(
    cwd: &Path,
    url: &str,
    data: &Path,
    system: &str,
    action: &str,
) -> Vec<(String, String)> {
    audit_entries_on(cwd, url, data)
        .into_iter()
        .filter(|e| e["action"] == action && e["system"] == system)
        .map(|e| {
            (
                e["request"].as_str().unwrap_or_default().to_string(),
                e["time"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_systems_session_limit_holds_across_workers() {
    let db = TestDatabase::new().expect("a test database");
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let tb = TestbedProc::start(&cwd.join("testbed.jsonl"), 0.0);
    let c = setup(cwd, &tb);
    // esdh allows one session at a time, over every machine.
    let manifest = c.robots.join("esdh/robot.toml");
    let toml = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        toml.replacen("driver = ", "max_sessions = 1\ndriver = ", 1),
    )
    .unwrap();
    let data_q = cwd.join("q");
    let ids: Vec<String> = (0..3)
        .map(|_| queue_request(cwd, url, &data_q, &c, &tb))
        .collect();
    let workers: Vec<Group> = ["a", "b"]
        .iter()
        .map(|n| {
            let data = cwd.join(n);
            join(cwd, url, &data);
            worker(cwd, url, &data, &c, &["--finish", "--workers", "3"])
        })
        .collect();
    for id in &ids {
        let rec = settled(cwd, url, &data_q, id, Duration::from_secs(300));
        assert_eq!(rec["state"], "delivered", "{rec}");
        every_document_once(url, id);
    }
    drop(workers);
    // Each request's esdh session from its start to its end; none overlap.
    let started = robot_times(cwd, url, &data_q, "esdh", "robot.started");
    let finished = robot_times(cwd, url, &data_q, "esdh", "robot.finished");
    assert_eq!(
        started.len(),
        3,
        "one esdh session per request: {started:?}"
    );
    let mut spans: Vec<(String, String)> = started
        .iter()
        .map(|(r, s)| {
            let f = finished
                .iter()
                .find(|(fr, _)| fr == r)
                .map(|(_, t)| t.clone())
                .unwrap_or_else(|| panic!("no robot.finished for {r}"));
            (s.clone(), f)
        })
        .collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(
            w[0].1 <= w[1].0,
            "two esdh sessions at once although it allows one: {spans:?}"
        );
    }
    // Each answer sent once, by whichever worker finished its request.
    let sent = answers(&cwd.join("a")) + answers(&cwd.join("b"));
    assert_eq!(sent, 3, "three answers in all");
}

#[test]
fn a_web_node_without_robots_finishes_what_a_worker_collects() {
    let db = TestDatabase::new().expect("a test database");
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let tb = TestbedProc::start(&cwd.join("testbed.jsonl"), 0.0);
    let c = setup(cwd, &tb);
    let (data_web, data_w) = (cwd.join("web"), cwd.join("w"));

    // --workers 0 needs a shared store.
    let refused = marc_out(
        cwd,
        &args(&[
            "--data",
            cwd.join("sled").to_str().unwrap(),
            "serve",
            "--workers",
            "0",
        ]),
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("--database"),
        "{}",
        stderr(&refused)
    );

    let id = queue_request(cwd, url, &data_web, &c, &tb);
    let mut a = args(&[
        "--database",
        url,
        "--data",
        data_web.to_str().unwrap(),
        "--config",
        c.config.to_str().unwrap(),
        "serve",
        "--workers",
        "0",
        "--listen",
        "127.0.0.1:0",
        "--robots",
        c.robots.to_str().unwrap(),
    ]);
    a.extend(c.base_urls.iter().cloned());
    let _web = Group::spawn(
        marc_cmd(cwd, &a)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit()),
    );
    join(cwd, url, &data_w);
    let _w = worker(cwd, url, &data_w, &c, &[]);
    let rec = settled(cwd, url, &data_web, &id, Duration::from_secs(240));
    assert_eq!(rec["state"], "delivered", "{rec}");
    every_document_once(url, &id);
    assert_eq!(
        answers(&data_web),
        1,
        "the web node finished and sent the answer"
    );
    assert_eq!(answers(&data_w), 0, "the worker only collected");
}
