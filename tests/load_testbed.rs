//! The load testbed (issue 13 §6): `marc testbed serve --systems N
//! --documents M` serves N case systems (ESDH and legacy alternating) with a
//! load citizen holding M documents across them, writes a robot per system
//! and the ground truth; `marc run --robots DIR` extracts exactly that truth.

#[path = "hostile/support.rs"]
mod support;

use marc_e2e::*;
use std::path::Path;
use std::time::{Duration, Instant};
use support::*;

const SYSTEMS: usize = 4;
const DOCUMENTS: usize = 60;
const SEED: &str = "11";

#[test]
fn marc_run_extracts_exactly_the_load_citizens_ground_truth() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let load = LoadTestbed::start(dir.path(), SEED, SYSTEMS, DOCUMENTS);
    let (urls, robots, truth_file, log) = (&load.urls, &load.robots, &load.truth, &load.tb.log);
    assert_eq!(
        urls.keys().collect::<Vec<_>>(),
        ["esdh01", "esdh02", "legacy01", "legacy02"]
    );
    let (cpr, name) = (load.cpr.clone(), load.name.clone());

    // The robots: the shipped manifest of each kind, pointed at its instance.
    for (id, url) in urls {
        let m = read_toml(&robots.join(id).join("robot.toml"));
        let kind = id.trim_end_matches(|c: char| c.is_ascii_digit());
        let shipped = read_toml(&root().join("robots").join(kind).join("robot.toml"));
        assert_eq!(m["system"].as_str(), Some(id.as_str()));
        assert_eq!(m["base_url"].as_str(), Some(url.as_str()));
        for same in ["script", "credential", "driver", "rights", "departments"] {
            assert_eq!(m.get(same), shipped.get(same), "{id}: {same}");
        }
    }

    // The truth: the load citizen's documents, spread over every system, and
    // the same as `marc testbed truth` gives for the same flags.
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(truth_file).unwrap()).unwrap();
    let docs = truth["documents"].as_array().unwrap();
    assert_eq!(docs.len(), DOCUMENTS);
    assert!(docs.iter().all(|d| d["cpr"] == cpr.as_str()));
    for id in urls.keys() {
        let n = docs.iter().filter(|d| d["system"] == id.as_str()).count();
        assert_eq!(n, DOCUMENTS / SYSTEMS, "{id}");
    }
    let out = marc_out(
        dir.path(),
        &args(&[
            "testbed",
            "truth",
            "--seed",
            SEED,
            "--systems",
            &SYSTEMS.to_string(),
            "--documents",
            &DOCUMENTS.to_string(),
            "--cpr",
            &cpr,
        ]),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let again: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        again, truth,
        "marc testbed truth disagrees with serve --truth-out"
    );

    // marc run with the written robots extracts exactly the truth.
    let data = dir.path().join("data");
    let answer = dir.path().join("out");
    let run = args(&[
        "--data",
        data.to_str().unwrap(),
        "run",
        "--robots",
        robots.to_str().unwrap(),
        "--scripts",
        root().join("scripts").to_str().unwrap(),
        "--cpr",
        &cpr,
        "--name",
        &name,
        "--out",
        answer.to_str().unwrap(),
        "--json",
        "--export-documents",
    ]);
    let run_started = Instant::now();
    let out = run_bounded(dir.path(), &run, Duration::from_secs(240));
    let run_secs = run_started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "marc run failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["state"], "delivered", "{v}");
    assert_eq!(v["documents"], DOCUMENTS, "{v}");
    for id in urls.keys() {
        assert_eq!(v["systems"][id]["status"], "complete", "{id}: {v}");
    }
    let got: Vec<serde_json::Value> = std::fs::read_to_string(answer.join("documents.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), DOCUMENTS);
    for t in docs {
        let d = got
            .iter()
            .find(|d| d["doc_id"] == t["doc_id"])
            .unwrap_or_else(|| panic!("{} ({}) was not extracted", t["doc_id"], t["system"]));
        for field in ["system", "case_id", "title", "date", "department", "text"] {
            assert_eq!(d[field], t[field], "{} of {}", field, t["doc_id"]);
        }
    }

    // Every instance was worked, read-only, with its own account.
    let entries = read_jsonl(log);
    assert!(entries.iter().all(|e| e["forbidden"] == false));
    for id in urls.keys() {
        let logins = entries
            .iter()
            .filter(|e| e["system"] == id.as_str() && e["method"] == "POST" && e["status"] == 303)
            .count();
        assert!(logins >= 1, "{id}: no successful login in the testbed log");
    }
    eprintln!(
        "load testbed: {SYSTEMS} systems, {DOCUMENTS} documents, marc run {run_secs:.1} s, whole test {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `marc ARGS` to its end, killed (and the test failed) after `limit`.
fn run_bounded(cwd: &Path, a: &[String], limit: Duration) -> std::process::Output {
    let child = marc_cmd(cwd, a)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cannot start marc");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("marc output"),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            panic!("marc run took longer than {limit:?}");
        }
    }
}
