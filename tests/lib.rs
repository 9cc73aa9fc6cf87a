//! Helpers for the end-to-end tests in this folder: find the `marc` binary,
//! run it, read PDFs with poppler (an extractor independent of marc's own).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `marc` binary built by `cargo build -p marc` (or `$MARC_BIN`).
pub fn marc_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MARC_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let p = target.join("debug").join("marc");
    assert!(
        p.is_file(),
        "{} is missing: run `cargo build -p marc` first (make test does)",
        p.display()
    );
    p
}

/// The screening lists shipped in the repository (the same ones marc has
/// built in), given as a directory so the tests also exercise loading them.
pub fn lists_dir() -> PathBuf {
    let d = root().join("engine/screening/lists");
    assert!(
        d.join("names").is_dir(),
        "screening lists not found at {}",
        d.display()
    );
    d
}

/// The vault key the tests run marc with (marc writes no audit entry without
/// one; the audit key is derived from it). Given in the environment, as an
/// operator may: never inside a data directory.
pub const TEST_VAULT_KEY: &str = "6d6172632d652d652d746573742d7661756c742d6b65792d6e6f742d7265616c";

/// Runs marc with `args`, in `cwd`, with the lists and the test key configured.
pub fn marc(cwd: &Path, args: &[&str]) -> Output {
    Command::new(marc_bin())
        .args(args)
        .current_dir(cwd)
        .env("MARC_LISTS_DIR", lists_dir())
        .env("MARC_VAULT_KEY", TEST_VAULT_KEY)
        .env_remove("MARC_VAULT_KEY_FILE")
        .env_remove("MARC_AUDIT_CHECKPOINT")
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .expect("cannot start marc")
}

/// The text of a PDF as poppler reads it.
pub fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) missing");
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whitespace collapsed to single spaces, soft hyphens removed.
pub fn squash(s: &str) -> String {
    s.replace('\u{ad}', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Character error rate, as the screen driver measures it.
pub use marc_screen::char_error_rate;

/// Every file under `dir`, recursively (an unreadable directory is skipped).
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The terminal system is read by OCR: every document found, and the
/// character error rate over all their text at most 1 %.
pub fn check_terminal_extraction(jsonl: &str, truth: &[&marc_testbed::TbDocument]) {
    let got: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|d| d["system"] == "terminal")
        .collect();
    let (mut reference, mut hypothesis) = (String::new(), String::new());
    for t in truth {
        let d = got
            .iter()
            .find(|d| d["doc_id"] == t.doc_id.as_str())
            .unwrap_or_else(|| panic!("terminal document {} was not extracted", t.doc_id));
        assert_eq!(d["date"], t.date.as_str(), "date of {}", t.doc_id);
        reference.push_str(&squash(&t.text));
        reference.push('\n');
        hypothesis.push_str(&squash(d["text"].as_str().unwrap()));
        hypothesis.push('\n');
    }
    let cer = char_error_rate(&reference, &hypothesis);
    eprintln!(
        "terminal OCR: {} documents, {} characters, CER {:.4}",
        truth.len(),
        reference.chars().count(),
        cer
    );
    assert!(
        cer <= 0.01,
        "character error rate {cer:.4} over the terminal documents exceeds 1 %"
    );
}

// Processes, from /proc: what a test checks was left behind.

/// Pids of every live descendant of `pid` (from /proc).
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Some((ppid, _)) = stat(p) {
                parent_of.push((p, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(q) = frontier.pop() {
        for &(c, pp) in &parent_of {
            if pp == q && !out.contains(&c) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

/// (ppid, state) of a process, None when it is gone.
pub fn stat(pid: u32) -> Option<(u32, char)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ..." — comm may hold spaces and parentheses.
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    Some((ppid, state))
}

/// Whether a process is running (not gone, not a zombie).
pub fn alive(pid: u32) -> bool {
    matches!(stat(pid), Some((_, s)) if s != 'Z' && s != 'X')
}

/// The command line of a process, for messages.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}
