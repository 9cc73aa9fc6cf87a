//! The terminal system over the X11 backend: the real terminal program in an
//! xterm under an Xvfb that marc starts, read by OCR, typed into by XTEST.

use marc_e2e::*;

#[test]
fn the_terminal_robot_reads_every_document_over_x11() {
    let dir = tempfile::tempdir().unwrap();
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
            "--systems",
            "terminal",
            "--screen",
            "x11",
        ],
    );
    assert!(
        out.status.success(),
        "marc demo --screen x11 failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let truth: Vec<_> = world
        .documents_for("terminal", &world.demo_citizen().cpr)
        .collect();
    assert_eq!(
        v["documents"].as_u64().unwrap() as usize,
        truth.len(),
        "{v}"
    );
    let jsonl = std::fs::read_to_string(dir.path().join("out/documents.jsonl")).unwrap();
    check_terminal_extraction(&jsonl, &truth);
}
