//! `marc demo` end to end: real testbed, real chromedriver and Chromium,
//! real sled, screening and assembly; the PDF checked with poppler.

use marc_e2e::*;
use std::path::Path;

#[test]
fn demo_delivers_every_document_and_no_other_persons_cpr() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("testbed.jsonl");
    let out = marc(
        dir.path(),
        &[
            "--data",
            "data",
            "demo",
            "--json",
            "--export-documents",
            "--out",
            "out",
            "--testbed-log",
            log.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "marc demo failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&out)).expect("demo --json prints one JSON object");
    for k in ["request_id", "cpr", "pdf", "documents", "marks", "systems"] {
        assert!(v.get(k).is_some(), "missing {k} in {v}");
    }
    assert_eq!(v["state"], "delivered", "{v}");
    let pdf = dir.path().join(v["pdf"].as_str().unwrap());
    check_memo(
        &dir.path().join(v["delivery"].as_str().unwrap()),
        &pdf,
        v["cpr"].as_str().unwrap(),
    );
    let text = squash(&pdftotext(&pdf));

    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen();
    assert_eq!(v["cpr"], citizen.cpr);
    let truth: Vec<_> = ["esdh", "legacy"]
        .iter()
        .flat_map(|s| world.documents_for(s, &citizen.cpr))
        .collect();
    assert!(
        truth.len() >= 8,
        "the demo citizen should have documents in both web systems"
    );
    let terminal: Vec<_> = world.documents_for("terminal", &citizen.cpr).collect();
    assert!(
        !terminal.is_empty(),
        "the demo citizen should have documents in the terminal system"
    );
    assert_eq!(
        v["documents"].as_u64().unwrap() as usize,
        truth.len() + terminal.len(),
        "{v}"
    );

    // Every document's title and its text (other people's data aside) is in the PDF.
    for d in &truth {
        assert!(
            text.contains(&squash(&d.title)),
            "title {:?} missing from the PDF",
            d.title
        );
        let mut body = d.text.clone();
        for p in &d.pii {
            body = body.replace(&p.text, "\u{0}");
        }
        // Compare sentence by sentence: text extractors order a redaction
        // box's label and the punctuation after it differently.
        for fragment in body.split('\u{0}') {
            for sentence in squash(fragment)
                .split(". ")
                .map(|x| x.trim_matches(|c: char| c.is_ascii_punctuation() || c == ' '))
            {
                if sentence.split(' ').count() >= 4 {
                    assert!(
                        text.contains(sentence),
                        "text of {} ({}) missing from the PDF: {sentence:?}",
                        d.doc_id,
                        d.system
                    );
                }
            }
        }
    }
    // No other person's CPR number, in any spacing.
    let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
    for d in &truth {
        for p in d.pii.iter().filter(|p| p.kind == "cpr") {
            let compact: String = p.text.chars().filter(|c| c.is_ascii_digit()).collect();
            assert!(
                !text.contains(&p.text),
                "CPR {} of another person is in the PDF",
                p.text
            );
            assert!(
                !digits.contains(&compact),
                "CPR digits {compact} of another person are in the PDF"
            );
        }
    }
    // The requester's own name is not redacted, and there is an index.
    assert!(
        text.contains(&citizen.name),
        "the citizen's own name {:?} is missing",
        citizen.name
    );
    assert!(
        text.to_lowercase().contains("aktliste"),
        "no document index in the PDF"
    );

    // documents.jsonl has one line per document with the required fields.
    let jsonl = std::fs::read_to_string(dir.path().join("out/documents.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count(), truth.len() + terminal.len());
    check_terminal_extraction(&jsonl, &terminal);
    for line in jsonl.lines() {
        let d: serde_json::Value = serde_json::from_str(line).unwrap();
        for k in ["system", "case_id", "title", "date", "text"] {
            assert!(d.get(k).is_some(), "documents.jsonl line lacks {k}");
        }
    }

    // The testbed saw the traps and the robot never sent a forbidden request.
    check_testbed_log(&log);
}

/// The Digital Post message parses as MeMo 1.1 and carries the same PDF.
fn check_memo(file: &Path, pdf: &Path, cpr: &str) {
    use base64::Engine as _;
    let xml = std::fs::read_to_string(file).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("the MeMo message is well-formed XML");
    const NS: &str = "https://DigitalPost.dk/MeMo-1";
    let field = |name: &str| {
        doc.descendants()
            .find(|n| n.tag_name().namespace() == Some(NS) && n.tag_name().name() == name)
            .and_then(|n| n.text())
            .unwrap_or_else(|| panic!("MeMo field {name} missing"))
            .to_string()
    };
    assert_eq!(field("messageType"), "DIGITALPOST");
    assert!(uuid_like(&field("messageUUID")));
    assert_eq!(field("recipientID"), cpr.replace('-', ""));
    assert_eq!(field("senderID").len(), 8);
    assert_eq!(field("encodingFormat"), "application/pdf");
    assert_eq!(field("language"), "da");
    assert!(field("filename").ends_with(".pdf"));
    assert!(!field("createdDateTime").is_empty() && !field("label").is_empty());
    let content = base64::engine::general_purpose::STANDARD
        .decode(field("content").trim())
        .unwrap();
    assert_eq!(
        content,
        std::fs::read(pdf).unwrap(),
        "the message does not carry the assembled PDF"
    );
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

fn check_testbed_log(log: &Path) {
    let entries: Vec<serde_json::Value> = std::fs::read_to_string(log)
        .expect("testbed log written")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!entries.is_empty());
    let forbidden: Vec<_> = entries.iter().filter(|e| e["forbidden"] == true).collect();
    assert!(
        forbidden.is_empty(),
        "the robot sent forbidden requests: {forbidden:?}"
    );
    let posts_other_than_login = entries
        .iter()
        .filter(|e| e["method"] == "POST" && e["path"] != "/login")
        .count();
    assert_eq!(posts_other_than_login, 0);
    let unavailable = entries
        .iter()
        .filter(|e| e["system"] == "legacy" && e["status"] == 503)
        .count();
    assert!(
        unavailable > 0,
        "the legacy system served no 503, so the test proves nothing about retries"
    );
    let logins = entries
        .iter()
        .filter(|e| e["system"] == "legacy" && e["method"] == "POST" && e["path"] == "/login")
        .count();
    assert!(logins >= 2, "the legacy session never expired during the run ({logins} logins), so re-login is untested");
}
