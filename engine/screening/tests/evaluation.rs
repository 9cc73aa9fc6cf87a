//! Scores the screener on the generated corpus and the hand-written hard
//! cases, with the full lists from `lists/`, and fails below the
//! targets of issue 3: CPR recall 100 %, names and addresses ≥ 97 %, words
//! 100 %, the subject's own data marked 0 times, character precision ≥ 90 %.

use marc_screening::corpus::{self, Case, GoldKind, Pools, Score};
use marc_screening::{Lexicon, ScreenConfig, Screener};
use std::path::Path;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lists");
const HARD: &str = include_str!("corpus/hard_cases.jsonl");

fn data_dir() -> &'static Path {
    let p = Path::new(DATA);
    assert!(
        p.join("names/surnames.jsonl").is_file(),
        "screening lists not found at {DATA} (they ship with the repository, see lists/SOURCE.md)"
    );
    p
}

fn screener(words: Vec<String>) -> Screener {
    let lex = Lexicon::load(data_dir()).unwrap_or_else(|e| panic!("{e}"));
    Screener::new(
        lex,
        ScreenConfig {
            words,
            allow_addresses: vec![corpus::INSTITUTION_ADDRESS.to_string()],
            review_threshold: 0.6,
        },
    )
}

fn check(score: &Score, title: &str) -> Vec<String> {
    println!("{}", score.report(title));
    for m in &score.misses {
        println!("  MISS {m}");
    }
    for f in score.false_marks.iter().take(60) {
        println!("  FALSE {f}");
    }
    let mut fails = Vec::new();
    let targets = [
        (GoldKind::Cpr, 1.0),
        (GoldKind::Name, 0.97),
        (GoldKind::Address, 0.97),
        (GoldKind::Phone, 1.0),
        (GoldKind::Email, 1.0),
        (GoldKind::Account, 1.0),
        (GoldKind::Word, 1.0),
    ];
    for (k, t) in targets {
        if score.recall_kind(k) < t {
            fails.push(format!(
                "{title}: {} recall {:.2}% < {:.0}%",
                k.label(),
                100.0 * score.recall_kind(k),
                100.0 * t
            ));
        }
    }
    if score.own_marked > 0 {
        fails.push(format!(
            "{title}: the subject's own data was marked {} times",
            score.own_marked
        ));
    }
    if score.precision() < 0.90 {
        fails.push(format!(
            "{title}: character precision {:.2}% < 90%",
            100.0 * score.precision()
        ));
    }
    fails
}

#[test]
fn evaluation_meets_targets() {
    let hard: Vec<Case> = corpus::load_cases(HARD).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        hard.len() >= 40,
        "need at least 40 hard cases, have {}",
        hard.len()
    );
    let pools = Pools::from_dir(data_dir()).unwrap_or_else(|e| panic!("reading {DATA}: {e}"));
    let generated = corpus::generate(&pools, 20_240_601, 400);
    let words: Vec<String> = corpus::WORDS.iter().map(|(w, _)| w.to_string()).collect();
    let s = screener(words);
    let mut fails = Vec::new();
    // hard cases carry their own word lists
    let hs = corpus::evaluate(&screener(Vec::new()), &hard);
    fails.extend(check(&hs, "hard cases"));
    let gs = corpus::evaluate(&s, &generated);
    fails.extend(check(
        &gs,
        "generated corpus (seed 20240601, 400 documents)",
    ));
    // the same kind of documents inside ordinary prose: precision on text without personal data
    let mixed = corpus::generate_mixed(&pools, 7, 200, 20);
    // SCREEN_DEBUG_ID=gen-77 prints one document with its marks
    if let Ok(id) = std::env::var("SCREEN_DEBUG_ID") {
        for c in generated
            .iter()
            .chain(mixed.iter())
            .chain(hard.iter())
            .filter(|c| c.id == id)
        {
            println!("--- {} subject {:?}\n{}", c.id, c.subject, c.text);
            let mut known = vec![c.subject.clone()];
            known.extend(c.consented.iter().cloned());
            for m in s.screen(&c.text, &known) {
                println!(
                    "  {:?} {:?} {:.2} {}",
                    m.kind, m.text, m.confidence, m.reason
                );
            }
        }
    }
    let ms = corpus::evaluate(&s, &mixed);
    fails.extend(check(
        &ms,
        "generated documents in ordinary prose (seed 7, 200 documents)",
    ));
    assert!(
        fails.is_empty(),
        "screening below target:\n{}",
        fails.join("\n")
    );
}

#[test]
fn builtin_fallback_still_screens() {
    // no data directory: the compiled-in lists must still find the basics
    let s = Screener::new(Lexicon::builtin(), ScreenConfig::default());
    let m = s.screen(
        "Faderen Peter Hansen (010190-1235) bor på Vestergade 4.",
        &[],
    );
    let kinds: Vec<&str> = m.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, vec!["name", "cpr", "address"]);
}

#[test]
fn missing_directory_is_a_clear_error() {
    let e = Lexicon::load(Path::new("/nonexistent/screening"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("first_names_female.jsonl"), "{e}");
}
