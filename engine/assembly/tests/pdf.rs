//! End-to-end checks of the written PDF with poppler and qpdf (installed on
//! the build machine: poppler-utils, qpdf).

use std::path::{Path, PathBuf};
use std::process::Command;

use marc_assembly::*;
use marc_model::{Document, Mark, MarkKind};

fn fonts() -> Fonts {
    Fonts::system().expect("DejaVu fonts: apt-get install fonts-dejavu-core")
}

fn write_tmp(dir: &Path, name: &str, pdf: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, pdf).expect("write pdf");
    p
}

fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} not installed? {e}"));
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), s)
}

fn pdftotext(p: &Path) -> String {
    let (ok, s) = run("pdftotext", &[p.to_str().unwrap(), "-"]);
    assert!(ok, "pdftotext failed: {s}");
    assert!(
        !s.contains("Syntax Error"),
        "poppler complains about the file"
    );
    s
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect()
}

fn assert_valid(p: &Path) {
    let (ok, s) = run("qpdf", &["--check", p.to_str().unwrap()]);
    assert!(ok, "qpdf --check failed: {s}");
    assert!(s.contains("No syntax or stream encoding errors"), "{s}");
    let (ok, fonts) = run("pdffonts", &[p.to_str().unwrap()]);
    assert!(ok, "{fonts}");
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "no fonts: {fonts}");
    for r in rows {
        let cols: Vec<&str> = r.split_whitespace().collect();
        // name type... enc emb sub uni id gen: emb is 5th from the end
        assert_eq!(cols[cols.len() - 5], "yes", "font not embedded: {r}");
    }
}

#[test]
fn demo_pdf_is_valid_redacted_and_navigable() {
    let dir = tempfile::tempdir().unwrap();
    let input = sample_input();
    let (pdf, leaks) = assemble_checked(&input, &fonts()).unwrap();
    assert!(leaks.is_empty(), "{leaks:?}");
    let p = write_tmp(dir.path(), "demo.pdf", &pdf);
    assert_valid(&p);

    // no marked string in poppler's text, compared without separators/case
    let text = pdftotext(&p);
    let n = norm(&text);
    let marked = marked_strings(&input);
    assert!(marked.len() >= 6, "{marked:?}");
    for m in &marked {
        assert!(
            !n.contains(&norm(m)),
            "marked string {m:?} leaked into the PDF text"
        );
    }
    // Danish letters intact; content present
    assert!(text.contains("Æbler, øl og ål – æøå ÆØÅ er med."), "{text}");
    assert!(text.contains("Læsevejledning") && text.contains("Aktliste"));
    assert!(text.contains("Undtaget – oplysninger om andre personer"));
    assert!(
        text.contains("UFULDSTÆNDIG"),
        "incomplete system must be flagged"
    );
    assert!(text.contains("(OCR – kontrollér)"));
    assert!(text.contains("[undtaget]"), "marked name in title replaced");
    assert!(
        !text.contains("Mail fra Karen"),
        "withheld doc title redacted"
    );
    assert!(text.contains("offentlighedsloven § 28"));
    assert!(text.contains("Sager om politianmeldelse"));

    // outline, language, PDF/A identification, metadata
    let (ok, json) = run("qpdf", &["--json", p.to_str().unwrap()]);
    assert!(ok);
    assert!(json.contains("\"outlines\""), "no outline");
    for t in [
        "Forside",
        "Læsevejledning",
        "Aktliste",
        "ESDH (Acadre-lignende)",
        "Sag 27.12.00-G01-1-26",
        "Akt 1: Notat om besøg – [undtaget] deltog (14.03.2025)",
    ] {
        assert!(json.contains(t), "outline entry {t:?} missing");
    }
    assert!(
        !json.contains("Karen"),
        "a marked name reached a PDF object"
    );
    assert!(json.contains("da-DK"), "document language");
    assert!(json.contains("/Link"), "index links");
    let (_, info) = run("pdfinfo", &["-meta", p.to_str().unwrap()]);
    assert!(
        info.contains("pdfaid:part") && info.contains(">2<") || info.contains("pdfaid:part=\"2\""),
        "PDF/A-2 id missing: {info}"
    );
    let (_, info) = run("pdfinfo", &[p.to_str().unwrap()]);
    assert!(
        info.contains("Title:           Aktindsigt AI-2026-000123"),
        "{info}"
    );
    assert!(
        info.contains("Author:          Silkeborg Kommune"),
        "{info}"
    );
    assert!(info.contains("Tagged:          yes"), "{info}");
    assert!(!info.contains("Syntax Error"), "{info}");
}

#[test]
fn leak_check_catches_an_unredacted_title() {
    let input = sample_input();
    let (pdf, leaks) = assemble_unredacted_title_for_test(&input, &fonts()).unwrap();
    assert!(
        leaks.iter().any(|l| l.needle == "Karen Østergaard"),
        "{leaks:?}"
    );
    assert!(
        leaks.iter().any(|l| l.page.is_some()),
        "page text hit expected: {leaks:?}"
    );
    assert!(
        leaks.iter().any(|l| l.page.is_none()),
        "outline hit expected: {leaks:?}"
    );
    // and poppler agrees that it is there
    let dir = tempfile::tempdir().unwrap();
    let p = write_tmp(dir.path(), "leak.pdf", &pdf);
    assert!(norm(&pdftotext(&p)).contains(&norm("Karen Østergaard")));
}

#[test]
fn leak_check_is_separator_and_case_insensitive() {
    let pdf = assemble(&sample_input(), &fonts()).unwrap();
    // the subject's own CPR is on the cover as 010190-1234
    for needle in ["0101901234", "010190 1234", "010190.1234"] {
        let l = leak_check(&pdf, &[needle.to_string()]).unwrap();
        assert!(!l.is_empty(), "{needle} not found");
        assert_eq!(l[0].page, Some(1));
    }
    let l = leak_check(&pdf, &["JENS ÅGE NØRGAARD".into()]).unwrap();
    assert!(!l.is_empty());
    assert!(leak_check(&pdf, &["Zacharias Ørnebjerg".into()])
        .unwrap()
        .is_empty());
}

fn bare(doc_text: &str, title: &str) -> AssemblyDoc {
    AssemblyDoc {
        doc: Document {
            system: "esdh".into(),
            case_id: "1".into(),
            doc_id: "x".into(),
            title: title.into(),
            date: "2025-01-01".into(),
            text: doc_text.into(),
            ..Default::default()
        },
        marks: vec![],
        attachment_marks: vec![],
        access: Access::Full,
        reason: String::new(),
    }
}

#[test]
fn bad_input_gives_a_valid_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = sample_input();
    let ctrl = "Linje\u{0}med\u{7}kontrol\u{1b}[31mtegn\r\nog\ttab\u{202e}omvendt\u{feff}.";
    let rtl = "مرحبا بالعالم – שלום עולם – Hej verden";
    let long = "Ø".repeat(60_000);
    let secret = "Bodil Ærø";
    let long_with_mark = format!("{}{secret}{}", "a".repeat(3000), "b".repeat(3000));
    let s = long_with_mark.find(secret).unwrap();
    let mut marked = bare(&long_with_mark, "Lang linje med markering");
    marked.marks.push(Mark {
        start: s,
        end: s + secret.len(),
        kind: MarkKind::Name,
        text: secret.into(),
        confidence: 1.0,
        reason: String::new(),
        review: false,
    });
    marked.access = Access::Partial;
    input.documents = vec![
        bare(ctrl, "Kontroltegn\u{0}i titel"),
        bare(rtl, "עברית og عربي"),
        bare(&long, "Enorm linje"),
        marked,
        bare("", ""),
        bare("\u{1F600} emoji og \u{10FFFF} ukendt", "Tegn uden glyf"),
        bare("Kort tekst.", &"Meget lang titel ".repeat(5000)),
    ];
    input.documents[6].doc.case_id = "sag-".repeat(20_000);
    input.documents[6].doc.system = "ukendt-system-".repeat(10_000);
    let (pdf, leaks) = assemble_checked(&input, &fonts()).unwrap();
    assert!(leaks.is_empty(), "{leaks:?}");
    let p = write_tmp(dir.path(), "bad.pdf", &pdf);
    assert_valid(&p);
    let text = pdftotext(&p);
    assert!(text.contains("omvendt"));
    assert!(
        text.contains("שלום") || text.contains("םולש"),
        "RTL codepoints kept"
    );
    assert!(
        text.matches('Ø').count() >= 60_000,
        "hard-wrapped line lost characters"
    );
    assert!(!norm(&text).contains(&norm(secret)));
    assert!(!text.contains('\u{0}') && !text.contains('\u{1b}'));
}

#[test]
fn empty_request_says_nothing_was_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = sample_input();
    input.documents.clear();
    input.withheld.clear();
    let (pdf, leaks) = assemble_checked(&input, &fonts()).unwrap();
    assert!(leaks.is_empty());
    let p = write_tmp(dir.path(), "empty.pdf", &pdf);
    assert_valid(&p);
    let text = pdftotext(&p);
    assert!(text.contains("Der blev ikke fundet dokumenter"), "{text}");
    assert!(text.contains("Ingen kategorier af dokumenter er undtaget"));
}

#[test]
fn missing_font_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = Fonts::load(dir.path())
        .err()
        .expect("no fonts in an empty dir");
    let msg = e.to_string();
    assert!(
        msg.contains("DejaVuSans.ttf") && msg.contains("cannot be read"),
        "{msg}"
    );
    std::fs::write(dir.path().join("DejaVuSans.ttf"), b"not a font").unwrap();
    let msg = Fonts::load(dir.path())
        .err()
        .expect("garbage font")
        .to_string();
    assert!(msg.contains("not usable"), "{msg}");
}

#[test]
fn own_name_is_not_a_leak_but_an_unmarked_mention_is() {
    let mut input = sample_input();
    // another person called Jens, marked in a new document
    let text = "Jens (naboen) ringede. Notat om Jens Åge Nørgaard.";
    let mut d = bare(text, "Telefonnotat");
    d.marks.push(Mark {
        start: 0,
        end: 4,
        kind: MarkKind::Name,
        text: "Jens".into(),
        confidence: 0.9,
        reason: String::new(),
        review: false,
    });
    d.access = Access::Partial;
    // (the sample's other documents call the citizen just "Jens", which the
    // check cannot tell from the other Jens: that would rightly be held)
    input.documents = vec![d];
    let (_, leaks) = assemble_checked(&input, &fonts()).unwrap();
    assert!(
        leaks.is_empty(),
        "the citizen's own name must not count: {leaks:?}"
    );
    // the same "Jens" unmarked in another document is a leak
    input
        .documents
        .push(bare("Jens kom igen i dag.", "Opfølgning"));
    let (_, leaks) = assemble_checked(&input, &fonts()).unwrap();
    assert!(
        leaks.iter().any(|l| l.needle == "Jens" && l.page.is_some()),
        "{leaks:?}"
    );
}

#[test]
fn new_kinds_get_their_own_box_and_guide_text_and_other_spellings_are_leaks() {
    let text = "Naboen har tlf. +45 20 30 40 50 og cpr O2O29O-l234, mail \
                louise.frederiksen@firma.dk, konto DK50 0040 0440 1162 43.";
    let mut d = bare(text, "Notat");
    for (needle, kind) in [
        ("+45 20 30 40 50", MarkKind::Phone),
        ("O2O29O-l234", MarkKind::Cpr),
        ("louise.frederiksen@firma.dk", MarkKind::Email),
        ("DK50 0040 0440 1162 43", MarkKind::Account),
    ] {
        let start = text.find(needle).unwrap();
        d.marks.push(Mark {
            start,
            end: start + needle.len(),
            kind,
            text: needle.into(),
            confidence: 0.9,
            reason: String::new(),
            review: false,
        });
    }
    d.access = Access::Partial;
    let mut input = sample_input();
    input.documents = vec![d];
    let (pdf, leaks) = assemble_checked(&input, &fonts()).unwrap();
    assert!(leaks.is_empty(), "{leaks:?}");
    let dir = tempfile::tempdir().unwrap();
    let p = write_tmp(dir.path(), "kinds.pdf", &pdf);
    let t = pdftotext(&p).replace('\n', " ");
    for guide in [
        "Undtaget – andre personers telefonnummer",
        "Undtaget – andre personers e-mailadresse",
        "Undtaget – andre personers kontonummer",
        "Undtaget – andre personers CPR-nummer",
        "Andre personers telefonnumre (fvl. § 15 b",
    ] {
        assert!(t.contains(guide), "{guide:?} missing from {t}");
    }
    // the same values unmarked in another spelling, in another document
    input.documents.push(bare(
        "Ring 20304050, cpr 020290-1234, konto 0040 0440116243, skriv til louise.frederiksen.",
        "Opfølgning",
    ));
    let (_, leaks) = assemble_checked(&input, &fonts()).unwrap();
    for found in [
        "20304050",
        "020290-1234",
        "0040 0440116243",
        "louise.frederiksen",
    ] {
        assert!(
            leaks.iter().any(|l| l.found_as == found),
            "{found} (another spelling of a marked value) not caught: {leaks:?}"
        );
    }
}
