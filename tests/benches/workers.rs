//! Scale-out on the load testbed (issue 13, benchmarks a, b and d), on a
//! throwaway PostgreSQL cluster and `marc worker` processes:
//!
//! a. one request of the load citizen (SYSTEMS systems, DOCUMENTS documents),
//!    from `marc run --queue` to the delivered PDF, one worker (`--workers 4`);
//! b. requests per hour with 1, 2 and 4 worker processes (each `--workers 2
//!    --finish`), REQUESTS requests queued at once;
//! d. memory per worker: the `marc worker` process's resident memory at
//!    its peak, and its whole process group's (chromedriver, browsers,
//!    robot processes), sampled every half second.
//!
//! (c, the queue's own cost per job, is `cargo bench -p marc --bench queue`.)
//! Browsers are each worker's own chromedriver here; the Grid path is
//! tested in tests/grid.rs. Bounded: every phase stops by itself (10 min).
//!
//!   make bench-workers     or
//!   cargo bench -p marc-e2e --bench workers [-- SYSTEMS DOCUMENTS REQUESTS]
//!   (after `cargo build -p marc --features testbed`; MARC_BIN picks the binary)

#[path = "../hostile/support.rs"]
mod support;

use marc_e2e::*;
use marc_store::testing::{PgCluster, TestDatabase};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::*;

const PHASE_LIMIT: Duration = Duration::from_secs(600);

struct Bench<'a> {
    cwd: &'a Path,
    url: &'a str,
    config: &'a Path,
    load: &'a LoadTestbed,
}

impl Bench<'_> {
    fn global(&self, data: &Path) -> Vec<String> {
        args(&[
            "--database",
            self.url,
            "--data",
            data.to_str().unwrap(),
            "--config",
            self.config.to_str().unwrap(),
        ])
    }

    /// Queues one request of the load citizen; returns its id.
    fn queue(&self, data: &Path) -> String {
        let mut a = self.global(data);
        a.extend(args(&[
            "run",
            "--queue",
            "--json",
            "--cpr",
            &self.load.cpr,
            "--name",
            &self.load.name,
            "--robots",
            self.load.robots.to_str().unwrap(),
            "--scripts",
            root().join("scripts").to_str().unwrap(),
            "--out",
            self.cwd.join("out").to_str().unwrap(),
        ]));
        let out = marc_out(self.cwd, &a);
        assert!(out.status.success(), "marc run --queue: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
        v["request_id"].as_str().expect("request_id").to_string()
    }

    /// `marc audit join` for a new data directory.
    fn join(&self, data: &Path) {
        let mut a = self.global(data);
        a.extend(args(&["audit", "join"]));
        let out = marc_out(self.cwd, &a);
        assert!(out.status.success(), "marc audit join: {}", stderr(&out));
    }

    /// A worker with its own, joined data directory.
    fn worker(&self, name: &str, sessions: u32) -> Group {
        let data = self.cwd.join(name);
        self.join(&data);
        let mut a = self.global(&data);
        a.extend(args(&[
            "worker",
            "--finish",
            "--workers",
            &sessions.to_string(),
            "--robots",
            self.load.robots.to_str().unwrap(),
            "--scripts",
            root().join("scripts").to_str().unwrap(),
        ]));
        Group::spawn(
            marc_cmd(self.cwd, &a)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
    }

    fn state(&self, data: &Path, id: &str) -> serde_json::Value {
        let mut a = self.global(data);
        a.extend(args(&["requests", id, "--json"]));
        let out = marc_out(self.cwd, &a);
        serde_json::from_str(stdout(&out).trim()).unwrap_or_default()
    }

    /// Waits until every request is delivered, sampling the workers'
    /// memory; returns the seconds and the peaks (own, group) in MiB.
    fn run(&self, data: &Path, ids: &[String], workers: &[Group]) -> Option<(f64, f64, f64)> {
        let t0 = Instant::now();
        let (mut own, mut group) = (0u64, 0u64);
        let mut left: Vec<&String> = ids.iter().collect();
        while !left.is_empty() {
            if t0.elapsed() > PHASE_LIMIT {
                println!("  stopped after {PHASE_LIMIT:?} with {} left", left.len());
                return None;
            }
            for w in workers {
                let (o, g) = w.rss_kib();
                own = own.max(o);
                group = group.max(g);
            }
            let mut still = Vec::new();
            for id in left {
                let v = self.state(data, id);
                match v["state"].as_str().unwrap_or_default() {
                    "delivered" => {}
                    "received" | "collecting" | "collected" | "ready" | "" => still.push(id),
                    other => {
                        println!("  {id} ended {other}: {}", v["runs"]);
                        return None;
                    }
                }
            }
            left = still;
            std::thread::sleep(Duration::from_millis(500));
        }
        Some((
            t0.elapsed().as_secs_f64(),
            own as f64 / 1024.0,
            group as f64 / 1024.0,
        ))
    }
}

fn main() {
    let nums: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let systems = nums.first().copied().unwrap_or(12);
    let documents = nums.get(1).copied().unwrap_or(500);
    let requests = nums.get(2).copied().unwrap_or(3);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cwd = dir.path();
    let cluster = PgCluster::start().expect("a PostgreSQL cluster (Debian's postgresql)");
    let db = TestDatabase::on_url(&cluster.url()).expect("a test schema");
    let load = LoadTestbed::start(cwd, "11", systems, documents);
    let config = cwd.join("marc.toml");
    std::fs::write(
        &config,
        "[store]\nheartbeat_seconds = 2\nmissed_heartbeats = 5\n",
    )
    .expect("marc.toml");
    let b = Bench {
        cwd,
        url: db.url(),
        config: &config,
        load: &load,
    };
    let data = cwd.join("submit");
    b.join(&data);
    println!(
        "load testbed: {systems} systems, {documents} documents for {}; {} cores",
        load.cpr,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // a. One request, one worker.
    let w = b.worker("a", 4);
    let id = b.queue(&data);
    match b.run(&data, &[id], std::slice::from_ref(&w)) {
        Some((secs, own, group)) => println!(
            "a. one request, {documents} documents, 1 worker (--workers 4): {secs:.1} s from queued to delivered; worker {own:.0} MiB, with its browsers {group:.0} MiB"
        ),
        None => println!("a. did not finish"),
    }
    drop(w);

    // b. Requests per hour with 1, 2, 4 workers.
    for n in [1usize, 2, 4] {
        let workers: Vec<Group> = (0..n).map(|i| b.worker(&format!("b{n}-{i}"), 2)).collect();
        let ids: Vec<String> = (0..requests).map(|_| b.queue(&data)).collect();
        match b.run(&data, &ids, &workers) {
            Some((secs, own, group)) => println!(
                "b. {n} worker(s) × --workers 2, {requests} requests: {secs:.1} s, {:.0} requests/hour; per worker at most {own:.0} MiB, with its browsers {group:.0} MiB",
                requests as f64 * 3600.0 / secs
            ),
            None => println!("b. {n} worker(s): did not finish"),
        }
    }
}
