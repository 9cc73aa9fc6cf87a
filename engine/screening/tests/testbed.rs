//! Cross-check with a corpus this crate did not write: the testbed's
//! generated case documents and their ground truth (`Pii` per document),
//! screened as the pipeline will screen them (document and attachments as
//! one request, the case's citizen as subject).

use marc_screening::{Lexicon, ScreenConfig, Screener, Subject};
use marc_testbed::world::World;
use std::path::Path;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/lists");

#[test]
fn testbed_truth_is_found_and_nothing_else() {
    let dir = Path::new(DATA);
    assert!(
        dir.join("names/surnames.jsonl").is_file(),
        "screening lists not found at {DATA} (they ship with the repository)"
    );
    let s = Screener::new(
        Lexicon::load(dir).unwrap_or_else(|e| panic!("{e}")),
        ScreenConfig::default(),
    );
    let w = World::generate(marc_testbed::world::DEMO_SEED);
    let (mut total, mut found, mut marks, mut extra) = (0usize, 0usize, 0usize, Vec::new());
    for d in &w.documents {
        let c = w.citizen(&d.cpr).expect("every document has a citizen");
        let subject = Subject {
            cpr: c.cpr.clone(),
            name: c.name.clone(),
            address: c.address.clone(),
        };
        let mut texts = vec![d.text.as_str()];
        texts.extend(d.attachments.iter().map(|a| a.text.as_str()));
        let res = s.screen_request(&texts, &[subject]);
        for p in &d.pii {
            total += 1;
            // every occurrence of the truth text is fully covered by marks
            let covered = texts.iter().zip(&res).any(|(t, ms)| {
                t.contains(&p.text)
                    && t.match_indices(&p.text).all(|(i, _)| {
                        (i..i + p.text.len())
                            .filter(|&q| !t.as_bytes()[q].is_ascii_whitespace())
                            .all(|q| ms.iter().any(|m| m.start <= q && q < m.end))
                    })
            });
            if covered {
                found += 1;
            } else {
                extra.push(format!("MISS {} {} {:?}", d.doc_id, p.kind, p.text));
            }
        }
        for m in res.iter().flatten() {
            marks += 1;
            if !d
                .pii
                .iter()
                .any(|p| p.text.contains(m.text.trim_end_matches('.')))
            {
                extra.push(format!(
                    "EXTRA {} {} {:?} ({})",
                    d.doc_id,
                    m.kind.as_str(),
                    m.text,
                    m.reason
                ));
            }
        }
    }
    println!(
        "testbed: {} documents, {found}/{total} truth mentions covered, {marks} marks",
        w.documents.len()
    );
    for e in extra.iter().take(30) {
        println!("  {e}");
    }
    let misses = total - found;
    let false_marks = extra.len() - misses;
    assert!(total > 1000, "the testbed world shrank: {total} mentions");
    assert_eq!(misses, 0, "testbed mentions missed");
    assert!(
        false_marks * 100 <= marks,
        "more than 1 % of marks outside the testbed truth: {false_marks}"
    );
}
