//! A driver for measuring and comparing the screener outside the bench:
//! screens the bench's documents (`corpus::generate_mixed`, seeds 1.., and the
//! dense `corpus::generate` after them) and prints the number of marks and a
//! digest of every mark (span, kind, text, confidence, reason, review), so
//! two builds can be compared mark for mark, and instruction counts taken
//! with `valgrind --tool=callgrind`.
//!
//! Then every file under `eval/` and `tests/corpus/`, whole, with no party.
//!
//! `cargo run --release -p marc-screening --example screen_driver -- [MB] [marks.tsv]`
//! (MB of typical documents, default 1; the dense documents are a fifth of
//! it; with a second argument every mark is also written there, one a line).
//! Instruction counts, on the generated documents only (`--generated`):
//! `valgrind --tool=callgrind --collect-atstart=no
//! --toggle-collect='marc_screening::Screener::screen' screen_driver 1 --generated`.

use marc_screening::corpus::{self, Pools};
use marc_screening::{Lexicon, Mark, ScreenConfig, Screener, Subject};
use std::io::Write;
use std::path::Path;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lists");

fn fnv(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= b as u64;
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

fn line(doc: usize, m: &Mark) -> String {
    format!(
        "{doc}\t{}\t{}\t{:?}\t{:?}\t{}\t{}\t{}\n",
        m.start,
        m.end,
        m.kind,
        m.text,
        m.confidence.to_bits(),
        m.reason,
        m.review
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().collect();
    let generated_only = args.iter().any(|a| a == "--generated");
    args.retain(|a| a != "--generated");
    let mb: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1.0);
    let mut out = match args.get(2) {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };
    let dir = Path::new(DATA);
    let lex = Lexicon::load(dir)?;
    let words: Vec<String> = corpus::WORDS.iter().map(|(w, _)| w.to_string()).collect();
    let screener = Screener::new(
        lex,
        ScreenConfig {
            words,
            allow_addresses: vec![corpus::INSTITUTION_ADDRESS.into()],
            review_threshold: 0.6,
        },
    );
    let pools = Pools::from_dir(dir)?;
    let limit = (mb * 1e6) as usize;
    let mut docs: Vec<(String, Subject)> = Vec::new();
    let mut bytes = 0usize;
    let mut seed = 1u64;
    while bytes < limit {
        for c in corpus::generate_mixed(&pools, seed, 2000, 20) {
            if bytes >= limit {
                break;
            }
            bytes += c.text.len();
            docs.push((c.text, c.subject));
        }
        seed += 1;
    }
    let mut dense_bytes = 0usize;
    while dense_bytes < limit / 5 {
        for c in corpus::generate(&pools, seed, 2000) {
            if dense_bytes >= limit / 5 {
                break;
            }
            dense_bytes += c.text.len();
            docs.push((c.text, c.subject));
        }
        seed += 1;
    }
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut marks = 0usize;
    for (i, (text, subject)) in docs.iter().enumerate() {
        for m in screener.screen(text, std::slice::from_ref(subject)) {
            let l = line(i, &m);
            fnv(&mut h, l.as_bytes());
            if let Some(o) = out.as_mut() {
                o.write_all(l.as_bytes())?;
            }
            marks += 1;
        }
    }
    // and every file of the evaluation corpora, whole, with no party
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut dirs = if generated_only {
        Vec::new()
    } else {
        vec![root.join("eval"), root.join("tests/corpus")]
    };
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut file_marks = 0usize;
    for (i, f) in files.iter().enumerate() {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for m in screener.screen(&text, &[]) {
            let l = line(docs.len() + i, &m);
            fnv(&mut h, l.as_bytes());
            if let Some(o) = out.as_mut() {
                o.write_all(l.as_bytes())?;
            }
            file_marks += 1;
        }
    }
    println!(
        "documents {} bytes {} marks {marks}, eval files {} marks {file_marks}, digest {h:016x}",
        docs.len(),
        bytes + dense_bytes,
        files.len()
    );
    Ok(())
}
