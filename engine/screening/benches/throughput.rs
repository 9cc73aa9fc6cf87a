//! Throughput of the screener with the full lists, against a straightforward
//! baseline (one case-insensitive regex per list entry) in the same run.
//!
//! Run: `cargo bench -p marc-screening --bench throughput` (release).
//! Size: `SCREEN_BENCH_MB` (default 50).

use marc_screening::corpus::{self, Pools};
use marc_screening::{Lexicon, ScreenConfig, Screener, Subject};
use std::path::Path;
use std::time::Instant;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lists");

fn read_list(p: &Path) -> Vec<String> {
    let t = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
    t.lines()
        .filter_map(|l| serde_json::from_str::<String>(l.trim()).ok())
        .collect()
}

/// CPU time of this thread in seconds (the machine is shared: wall time
/// says little about the cost per core). Linux `/proc/thread-self/schedstat`.
fn cpu_seconds() -> Option<f64> {
    let t = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = t.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

fn main() {
    // `cargo test --all-targets` runs harness-less benches too: only measure
    // under `cargo bench` (which passes --bench), never in a debug test run
    if !std::env::args().any(|a| a == "--bench") {
        println!("screening-bench skipped: run `cargo bench -p marc-screening --bench throughput`");
        return;
    }
    let dir = Path::new(DATA);
    assert!(
        dir.join("names/surnames.jsonl").is_file(),
        "screening lists not found at {DATA} (they ship with the repository)"
    );
    let mb: usize = std::env::var("SCREEN_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);

    let t = Instant::now();
    let lex = Lexicon::load(dir).unwrap_or_else(|e| panic!("{e}"));
    let load = t.elapsed();
    let (names, streets) = lex.len();
    let words: Vec<String> = corpus::WORDS.iter().map(|(w, _)| w.to_string()).collect();
    let t = Instant::now();
    let screener = Screener::new(
        lex,
        ScreenConfig {
            words,
            allow_addresses: vec![corpus::INSTITUTION_ADDRESS.into()],
            review_threshold: 0.6,
        },
    );
    let build = t.elapsed();

    // documents: the seeded generator, repeated with new seeds until large enough
    let pools = Pools::from_dir(dir).unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    // typical: each generated case document inside ordinary journal prose
    let mut docs: Vec<(String, Subject)> = Vec::new();
    let mut bytes = 0usize;
    let mut seed = 1u64;
    while bytes < mb * 1_000_000 {
        for c in corpus::generate_mixed(&pools, seed, 2000, 20) {
            bytes += c.text.len();
            docs.push((c.text, c.subject));
        }
        seed += 1;
    }
    // dense: only the generator's sentences, nearly every one with personal data
    let mut dense: Vec<(String, Subject)> = Vec::new();
    let mut dense_bytes = 0usize;
    while dense_bytes < mb * 1_000_000 / 5 {
        for c in corpus::generate(&pools, seed, 2000) {
            dense_bytes += c.text.len();
            dense.push((c.text, c.subject));
        }
        seed += 1;
    }
    let gen = t.elapsed();

    let t = Instant::now();
    let c0 = cpu_seconds();
    let mut marks = 0usize;
    for (text, subject) in &docs {
        marks += screener.screen(text, std::slice::from_ref(subject)).len();
    }
    let wall = t.elapsed().as_secs_f64();
    let cpu = match (c0, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => wall,
    };
    let dt = cpu;
    let mbps = bytes as f64 / 1e6 / dt;
    let wall_mbps = bytes as f64 / 1e6 / wall;

    let c0 = cpu_seconds();
    let t = Instant::now();
    let mut dense_marks = 0usize;
    for (text, subject) in &dense {
        dense_marks += screener.screen(text, std::slice::from_ref(subject)).len();
    }
    let dense_cpu = match (c0, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => t.elapsed().as_secs_f64(),
    };
    let dense_mbps = dense_bytes as f64 / 1e6 / dense_cpu;

    // baseline: one case-insensitive, word-bounded regex per list entry
    let mut entries: Vec<String> = Vec::new();
    for f in [
        "names/first_names_female.jsonl",
        "names/first_names_male.jsonl",
        "names/surnames.jsonl",
        "streets/street_names.jsonl",
    ] {
        entries.extend(read_list(&dir.join(f)));
    }
    let total_entries = entries.len();
    let step = (total_entries / 1500).max(1);
    let sample_entries: Vec<&String> = entries.iter().step_by(step).collect();
    let mut sample = String::new();
    for (t, _) in &docs {
        if sample.len() > 200_000 {
            break;
        }
        sample.push_str(t);
        sample.push('\n');
    }
    let t = Instant::now();
    let regexes: Vec<regex::Regex> = sample_entries
        .iter()
        .filter_map(|e| regex::Regex::new(&format!(r"(?i)\b{}\b", regex::escape(e))).ok())
        .collect();
    let base_build = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let c0 = cpu_seconds();
    let mut base_hits = 0usize;
    for r in &regexes {
        base_hits += r.find_iter(&sample).count();
    }
    let base_wall = t.elapsed().as_secs_f64();
    let base_scan = match (c0, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => base_wall,
    };
    // scale the sampled entries to the full list
    let scale = total_entries as f64 / regexes.len() as f64;
    let base_secs_per_mb = base_scan * scale / (sample.len() as f64 / 1e6);
    let base_mbps = 1.0 / base_secs_per_mb;

    println!(
        "screening-bench lists_load_ms {:.0}",
        load.as_secs_f64() * 1e3
    );
    println!(
        "screening-bench screener_build_ms {:.0}",
        build.as_secs_f64() * 1e3
    );
    println!("screening-bench name_words {names} streets {streets}");
    println!(
        "screening-bench corpus_generate_ms {:.0}",
        gen.as_secs_f64() * 1e3
    );
    println!(
        "screening-bench typical documents {} bytes {} marks {} ({:.0} bytes per mark)",
        docs.len(),
        bytes,
        marks,
        bytes as f64 / marks.max(1) as f64
    );
    println!("screening-bench screen_cpu_seconds {cpu:.3} wall_seconds {wall:.3}");
    println!("screening-bench throughput_mb_per_s_single_core {mbps:.1} (CPU time; wall-clock {wall_mbps:.1} on a shared machine)");
    println!(
        "screening-bench baseline regex_per_entry sampled {} of {} entries over {} bytes: build {:.2}s scan {:.3}s cpu hits {}",
        regexes.len(),
        total_entries,
        sample.len(),
        base_build,
        base_scan,
        base_hits
    );
    println!(
        "screening-bench dense documents {} bytes {} marks {} ({:.0} bytes per mark): {dense_mbps:.1} MB/s CPU",
        dense.len(),
        dense_bytes,
        dense_marks,
        dense_bytes as f64 / dense_marks.max(1) as f64
    );
    println!("screening-bench baseline_mb_per_s_full_lists {base_mbps:.4}");
    println!(
        "screening-bench speedup_vs_baseline {:.0}x",
        mbps / base_mbps
    );
}
