//! End to end on X11, the way a robot meets the system: `marc-terminal` in an xterm under a
//! private Xvfb, driven only by XTEST keys and read only by OCR (marc-screen). Checks that
//! every terminal document of the demo citizen is found and that the character error rate
//! over all document text is at most 1 %.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use marc_screen::{
    char_error_rate, normalize_for_cer, parse_keys, wait_text, Ocr, OcrOptions, OcrResult, Screen,
    X11Screen, Xvfb,
};
use marc_testbed::World;

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A robot session: screen, OCR, and a count of screens read.
struct Robot {
    s: X11Screen,
    ocr: Ocr,
    screens: usize,
}

impl Robot {
    fn keys(&mut self, spec: &str) {
        self.s.keys(&parse_keys(spec).unwrap()).unwrap();
    }
    fn wait(&mut self, needle: &str) -> OcrResult {
        let r = wait_text(&mut self.s, &self.ocr, needle, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}"));
        self.screens += 1;
        r
    }
    /// OCR lines grouped by terminal row (0–23); xterm pads the grid by 2 px.
    fn rows(&mut self, r: &OcrResult) -> Vec<String> {
        let h = self.s.capture().unwrap().height();
        marc_screen::grid_rows(r, h, 24, 2)
    }
}

/// Numbered list rows ("1  T-123 …") on a list screen: how many entries the page shows.
fn list_len(rows: &[String]) -> usize {
    rows[5..17]
        .iter()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|t| t.parse::<usize>().is_ok())
        })
        .count()
}

#[test]
fn robot_reads_every_document_by_ocr_within_one_percent_cer() {
    let world = Arc::new(World::generate(marc_testbed::DEMO_SEED));
    let cit = world.demo_citizen().clone();
    let x = Xvfb::start().unwrap();
    let _term = Proc(
        Command::new("xterm")
            .env("DISPLAY", x.display())
            .env("LC_ALL", "C.UTF-8")
            .args([
                "-u8",
                "-fa",
                "DejaVu Sans Mono",
                "-fs",
                "13",
                "-geometry",
                "80x24+0+0",
            ])
            .args([
                "-T",
                "marc-terminal",
                "-e",
                env!("CARGO_BIN_EXE_marc-terminal"),
            ])
            .args(["--seed", &marc_testbed::DEMO_SEED.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("xterm (Debian package xterm)"),
    );
    let s =
        X11Screen::connect_window(x.display(), "marc-terminal", Duration::from_secs(15)).unwrap();
    let ocr = Ocr::new(OcrOptions::default()).unwrap();
    let mut r = Robot { s, ocr, screens: 0 };
    let start = Instant::now();

    r.wait("Log på med din bruger");
    r.keys("ROBOT03{Tab}TERM2018{Enter}");
    r.wait("HOVEDMENU");
    r.keys("{F2}");
    r.wait("Skriv borgerens CPR");
    r.keys(&format!("{}{{Enter}}", cit.cpr));
    let res = r.wait("SAGSLISTE");
    let rows = r.rows(&res);
    let n_cases = list_len(&rows);
    assert_eq!(
        n_cases,
        world.cases_for("terminal", &cit.cpr).count(),
        "{rows:#?}"
    );

    let mut read: Vec<(String, String)> = Vec::new();
    for ci in 1..=n_cases {
        r.keys(&format!("{ci}{{Enter}}"));
        let res = r.wait("DOKUMENTLISTE");
        let rows = r.rows(&res);
        let n_docs = list_len(&rows);
        for di in 1..=n_docs {
            r.keys(&format!("{di}{{Enter}}"));
            let mut res = r.wait("Side 1 af");
            let rows = r.rows(&res);
            let header: Vec<&str> = rows[0].split_whitespace().collect();
            let doc_id = header.get(2).copied().unwrap_or("").to_string();
            let pages: usize = header.last().and_then(|p| p.parse().ok()).unwrap_or(1);
            let mut body = String::new();
            for p in 1..=pages {
                if p > 1 {
                    r.keys("{F8}");
                    res = r.wait(&format!("Side {p} af {pages}"));
                }
                let rows = r.rows(&res);
                body.push_str(&rows[5..21].join(" "));
                body.push(' ');
            }
            read.push((doc_id, body));
            r.keys("{F3}");
            r.wait("DOKUMENTLISTE");
        }
        r.keys("{F3}");
        r.wait("SAGSLISTE");
    }
    let elapsed = start.elapsed();

    let truth: Vec<_> = world.documents_for("terminal", &cit.cpr).collect();
    let mut missing = Vec::new();
    let (mut edits, mut chars) = (0.0, 0usize);
    for d in &truth {
        let reference = normalize_for_cer(&d.text);
        match read.iter().find(|(id, _)| id == &d.doc_id) {
            Some((_, body)) => {
                let got = normalize_for_cer(body);
                let cer = char_error_rate(&reference, &got);
                if cer > 0.0 {
                    eprintln!(
                        "{} CER {cer:.4}\n  want: {reference}\n  got:  {got}",
                        d.doc_id
                    );
                }
                edits += cer * reference.chars().count() as f64;
                chars += reference.chars().count();
            }
            None => missing.push(d.doc_id.clone()),
        }
    }
    let cer = edits / chars.max(1) as f64;
    eprintln!(
        "x11 robot: {} documents, {} chars, CER {:.4}; {} screens in {:.1} s = {:.2} screens/s",
        read.len(),
        chars,
        cer,
        r.screens,
        elapsed.as_secs_f64(),
        r.screens as f64 / elapsed.as_secs_f64()
    );
    let ids: Vec<_> = read.iter().map(|(id, _)| id.as_str()).collect();
    assert!(
        missing.is_empty(),
        "not found: {missing:?}; read ids: {ids:?}"
    );
    assert_eq!(read.len(), truth.len());
    assert!(cer <= 0.01, "CER {cer:.4} > 1 %");
}
