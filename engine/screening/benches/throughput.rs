//! Throughput of the screener with the full lists, side by side with a fair
//! baseline in the same run: one Aho-Corasick automaton over the same lists
//! (every name and street, lower-cased), over every byte of the same
//! documents, hits kept at word boundaries. The baseline only finds list
//! entries; the screener also applies every rule (CPR, contacts, evidence,
//! institutions), so the figure says what the rules cost over the plain
//! lookup.
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

    // fair baseline: the same lists as ONE automaton (Aho-Corasick,
    // leftmost-longest) over Unicode-lower-cased text, hits kept at word
    // boundaries, run over every byte of the same documents
    let mut entries: Vec<String> = Vec::new();
    for f in [
        "names/first_names_female.jsonl",
        "names/first_names_male.jsonl",
        "names/surnames.jsonl",
        "streets/street_names.jsonl",
    ] {
        entries.extend(
            read_list(&dir.join(f))
                .into_iter()
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty()),
        );
    }
    entries.sort();
    entries.dedup();
    let total_entries = entries.len();
    let t = Instant::now();
    let ac = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(&entries)
        .unwrap_or_else(|e| panic!("baseline automaton: {e}"));
    let base_build = t.elapsed().as_secs_f64();
    let c0 = cpu_seconds();
    let t = Instant::now();
    let mut base_hits = 0usize;
    for (text, _) in &docs {
        let low = text.to_lowercase();
        let b = low.as_bytes();
        for m in ac.find_iter(&low) {
            let before_ok = low[..m.start()]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric());
            let after_ok = m.end() == b.len()
                || low[m.end()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric());
            base_hits += (before_ok && after_ok) as usize;
        }
    }
    let base_wall = t.elapsed().as_secs_f64();
    let base_scan = match (c0, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => base_wall,
    };
    let base_mbps = bytes as f64 / 1e6 / base_scan;

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
        "screening-bench baseline one_aho_corasick over {total_entries} entries, all {bytes} bytes: build {base_build:.2}s scan {base_scan:.3}s cpu, {base_hits} word-bounded hits"
    );
    println!(
        "screening-bench dense documents {} bytes {} marks {} ({:.0} bytes per mark): {dense_mbps:.1} MB/s CPU",
        dense.len(),
        dense_bytes,
        dense_marks,
        dense_bytes as f64 / dense_marks.max(1) as f64
    );
    println!(
        "screening-bench side by side, MB/s per core: screener {mbps:.1} | one automaton over the lists {base_mbps:.1} (ratio {:.2})",
        mbps / base_mbps
    );
}
