//! Robot throughput on the testbed: documents per second and WebDriver
//! commands per document, per system, each system run alone (so two cores
//! are not shared between robots), then all three in parallel as `marc demo`
//! runs them. Run with `cargo bench -p marc-e2e --bench robots [-- RUNS]`
//! after `cargo build -p marc`.

use marc_e2e::*;

fn demo(systems: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--data", "data", "demo", "--json", "--out", "out"];
    if !systems.is_empty() {
        args.extend(["--systems", systems]);
    }
    let t0 = std::time::Instant::now();
    let out = marc(dir.path(), &args);
    assert!(out.status.success(), "marc demo failed: {}", stderr(&out));
    let mut v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["wall_seconds"] = serde_json::json!(t0.elapsed().as_secs_f64());
    v
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    println!(
        "{:<10} {:>5} {:>10} {:>8} {:>12}   ({} runs, medians)",
        "system", "docs", "robot s", "docs/s", "cmds/doc", runs
    );
    for system in ["esdh", "legacy", "terminal"] {
        let (mut secs, mut docs, mut cmds) = (Vec::new(), 0.0, Vec::new());
        for _ in 0..runs {
            let v = demo(system);
            let s = &v["systems"][system];
            let n = s["documents"].as_f64().unwrap();
            secs.push(s["seconds"].as_f64().unwrap());
            cmds.push(s["webdriver_commands"].as_f64().unwrap() / n.max(1.0));
            docs = n;
        }
        let sec = median(secs);
        println!(
            "{system:<10} {docs:>5} {sec:>10.2} {:>8.2} {:>12.1}",
            docs / sec,
            median(cmds)
        );
    }
    let walls: Vec<f64> = (0..runs)
        .map(|_| demo("")["wall_seconds"].as_f64().unwrap())
        .collect();
    println!(
        "all three in parallel (marc demo, whole job incl. screening and PDF): {:.1} s wall",
        median(walls)
    );
}
