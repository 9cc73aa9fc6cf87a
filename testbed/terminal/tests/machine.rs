//! The state machine on its own: navigation, errors, and that every terminal document of a
//! citizen can be read back from the screens word for word.

use std::sync::Arc;

use marc_testbed::World;
use marc_testbed_terminal::{ansi, Input, ScreenView, Terminal, COLS, ROWS};

fn keys(s: &str) -> Vec<Input> {
    s.chars().map(Input::Char).collect()
}

fn login(t: &mut Terminal) {
    t.inputs(keys("robot03"));
    t.input(Input::Tab);
    t.inputs(keys("TERM2018"));
    t.input(Input::Enter);
}

fn check_shape(v: &ScreenView) {
    assert_eq!(v.lines.len(), ROWS);
    for l in &v.lines {
        assert!(l.chars().count() <= COLS, "too wide: {l:?}");
    }
    assert!(v.lines[0].starts_with(&v.screen));
}

fn text(v: &ScreenView) -> String {
    v.lines.join("\n")
}

#[test]
fn login_errors_and_logoff() {
    let w = Arc::new(World::generate(marc_testbed::DEMO_SEED));
    let mut t = Terminal::new(w);
    assert_eq!(t.view().screen, "KS001");
    t.inputs(keys("ROBOT03"));
    t.input(Input::Tab);
    t.inputs(keys("wrong"));
    t.input(Input::Enter);
    let v = t.view();
    assert_eq!(v.screen, "KS001");
    assert!(text(&v).contains("Forkert bruger eller adgangskode"));
    assert!(!text(&v).contains("wrong"), "password is never shown");
    t.inputs(keys("TERM2018"));
    t.input(Input::Enter);
    assert_eq!(t.view().screen, "KS002");
    assert_eq!(t.user(), Some("ROBOT03"));
    t.input(Input::F(3));
    assert_eq!(t.view().screen, "KS001");
    t.input(Input::F(3));
    assert!(t.closed());
}

#[test]
fn search_rejects_bad_and_unknown_cpr() {
    let w = Arc::new(World::generate(marc_testbed::DEMO_SEED));
    let mut t = Terminal::new(w);
    login(&mut t);
    t.input(Input::F(2));
    t.inputs(keys("12345"));
    t.input(Input::Enter);
    assert!(text(&t.view()).contains("10 cifre"));
    for _ in 0..5 {
        t.input(Input::Backspace);
    }
    t.inputs(keys("010100-0000"));
    t.input(Input::Enter);
    let v = t.view();
    assert_eq!(v.screen, "KS100");
    assert!(
        text(&v).contains("Ingen sager fundet for CPR 010100-0000"),
        "{}",
        text(&v)
    );
}

/// Read every document of the demo citizen through the screens, the way a robot would (but
/// from the text, not pixels), and compare with the ground truth.
#[test]
fn every_document_reads_back_exactly() {
    let w = Arc::new(World::generate(marc_testbed::DEMO_SEED));
    let cit = w.demo_citizen().clone();
    let truth: Vec<_> = w.documents_for("terminal", &cit.cpr).cloned().collect();
    assert!(truth.len() >= 4);
    let mut t = Terminal::new(w.clone());
    login(&mut t);
    t.input(Input::F(2));
    t.inputs(keys(&cit.cpr));
    t.input(Input::Enter);
    let v = t.view();
    check_shape(&v);
    assert_eq!(v.screen, "KS110", "{}", text(&v));
    assert!(text(&v).contains(&cit.name));
    let n_cases = w.cases_for("terminal", &cit.cpr).count();
    let mut found = Vec::new();
    for ci in 1..=n_cases {
        t.inputs(keys(&ci.to_string()));
        t.input(Input::Enter);
        let v = t.view();
        check_shape(&v);
        assert_eq!(v.screen, "KS120");
        let n_docs = v.lines[5..17]
            .iter()
            .filter(|l| !l.trim().is_empty())
            .count();
        for di in 1..=n_docs {
            t.inputs(keys(&di.to_string()));
            t.input(Input::Enter);
            let mut v = t.view();
            assert_eq!(v.screen, "KS130");
            let doc_id = v.lines[0].split_whitespace().nth(2).unwrap().to_string();
            let pages: usize = v.lines[0].rsplit(' ').next().unwrap().parse().unwrap();
            let mut body = Vec::new();
            for p in 1..=pages {
                check_shape(&v);
                assert!(
                    v.lines[0].ends_with(&format!("Side {p} af {pages}")),
                    "{}",
                    v.lines[0]
                );
                body.extend(v.lines[5..21].iter().cloned());
                t.input(Input::F(8));
                v = t.view();
            }
            assert!(text(&v).contains("Sidste side"));
            let d = w.document(&doc_id).unwrap();
            assert!(v.lines[3].ends_with(&d.title), "title cut: {}", v.lines[3]);
            let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(norm(&body.join(" ")), norm(&d.text), "{doc_id}");
            found.push(doc_id);
            t.input(Input::F(3));
        }
        t.input(Input::F(3));
        assert_eq!(t.view().screen, "KS110");
    }
    let mut want: Vec<_> = truth.iter().map(|d| d.doc_id.clone()).collect();
    want.sort();
    found.sort();
    assert_eq!(found, want);
}

#[test]
fn ansi_frame_positions_every_row_and_the_cursor() {
    let w = Arc::new(World::generate(marc_testbed::DEMO_SEED));
    let t = Terminal::new(w);
    let f = ansi::frame(&t.view());
    assert!(f.contains("\x1b[1;32;40m"));
    assert!(f.contains("\x1b[24;1H"));
    assert!(f.ends_with("\x1b[6;15H"), "{f:?}");
    assert_eq!(Input::from_name("F8"), Some(Input::F(8)));
    assert_eq!(Input::from_name("ø"), Some(Input::Char('ø')));
    assert_eq!(Input::from_name("F13"), None);
    assert_eq!(Input::from_name("Shift"), None);
}
