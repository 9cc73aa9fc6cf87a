//! A robot for a new system, as a new user makes one (issue 15): `marc
//! robot new` writes a manifest and a script with the conventions, `marc
//! check` catches mistakes before anything runs, `marc robot try` runs one
//! robot alone and says what it extracted and what it cost, and the
//! README's example script is a real one.

#[path = "hostile/support.rs"]
mod support;

use marc_e2e::*;
use support::*;

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\n{}\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

#[test]
fn robot_new_writes_a_manifest_and_a_script_that_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (robots, scripts) = (dir.path().join("robots"), dir.path().join("scripts"));
    let new = |name: &str| {
        marc_out(
            dir.path(),
            &args(&[
                "robot",
                "new",
                name,
                "--base-url",
                "https://sag.kommune.dk/",
                "--robots",
                robots.to_str().unwrap(),
                "--scripts",
                scripts.to_str().unwrap(),
            ]),
        )
    };
    let said = ok(&new("fagsag"));
    assert!(said.contains("marc robot try fagsag"), "{said}");
    assert!(said.contains("MARC_SECRET_FAGSAG_PASSWORD"), "{said}");
    let manifest = std::fs::read_to_string(robots.join("fagsag/robot.toml")).unwrap();
    for must in [
        "base_url = \"https://sag.kommune.dk\"",
        "credential = \"fagsag\"",
        "[rights]",
        "[session]",
    ] {
        assert!(manifest.contains(must), "{must:?} missing from\n{manifest}");
    }
    let script = scripts.join("fagsag.rhai");
    ok(&marc_out(
        dir.path(),
        &args(&["check", script.to_str().unwrap()]),
    ));
    // The manifest loads: the new robot is a connected system.
    let out = marc_out(
        dir.path(),
        &args(&[
            "robot",
            "try",
            "nosuch",
            "--cpr",
            "010101-0000",
            "--robots",
            robots.to_str().unwrap(),
        ]),
    );
    assert!(
        stderr(&out).contains("connected systems are: fagsag"),
        "{}",
        stderr(&out)
    );
    // Nothing is overwritten, and a bad name is refused.
    assert!(stderr(&new("fagsag")).contains("exists already"));
    assert!(!new("Fag Sag").status.success());
}

#[test]
fn robot_try_runs_one_robot_alone_and_reports_what_it_extracted() {
    let dir = tempfile::tempdir().unwrap();
    let tb = TestbedProc::start(&dir.path().join("testbed.jsonl"), 0.1);
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen();
    let out_file = dir.path().join("docs.jsonl");
    let out = marc_out(
        dir.path(),
        &args(&[
            "--data",
            dir.path().join("data").to_str().unwrap(),
            "robot",
            "try",
            "legacy",
            "--cpr",
            &citizen.cpr,
            "--base-url",
            &tb.legacy,
            "--robots",
            root().join("robots").to_str().unwrap(),
            "--scripts",
            root().join("scripts").to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ]),
    );
    let said = ok(&out);
    let truth: Vec<_> = world.documents_for("legacy", &citizen.cpr).collect();
    for d in &truth {
        assert!(
            said.contains(&format!("{}/{}", d.case_id, d.doc_id)),
            "{} missing from\n{said}",
            d.doc_id
        );
    }
    let summary = said.lines().last().unwrap();
    assert!(
        summary.starts_with(&format!("legacy: {} documents", truth.len()))
            && summary.contains("WebDriver commands")
            && summary.ends_with("complete"),
        "{summary}"
    );
    let written = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(written.lines().count(), truth.len());
    // Only the robot ran: no PDF, no delivery, nothing in the data directory.
    assert!(
        !dir.path().join("data").exists(),
        "the trial wrote into --data"
    );
    assert!(files(dir.path())
        .iter()
        .all(|f| f.extension().is_none_or(|x| x != "pdf" && x != "xml")));
}

/// The ```rhai blocks of the README's "Writing a robot" section.
fn readme_scripts() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("## Writing a robot")
        .expect("the README has a \"Writing a robot\" section");
    let section = &readme[start..];
    let end = section[3..]
        .find("\n## ")
        .map(|i| i + 3)
        .unwrap_or(section.len());
    let section = &section[..end];
    section
        .split("```rhai\n")
        .skip(1)
        .map(|b| b.split("\n```").next().unwrap().to_string())
        .collect()
}

#[test]
fn the_readme_example_scripts_pass_check() {
    let blocks = readme_scripts();
    assert!(!blocks.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(scripts.join("lib")).unwrap();
    for e in std::fs::read_dir(root().join("scripts/lib")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), scripts.join("lib").join(e.file_name())).unwrap();
    }
    for (i, b) in blocks.iter().enumerate() {
        let f = scripts.join(format!("example{i}.rhai"));
        std::fs::write(&f, b).unwrap();
        let out = marc_out(dir.path(), &args(&["check", f.to_str().unwrap()]));
        assert!(
            out.status.success(),
            "README example {i} fails `marc check`:\n{}\n{b}",
            stderr(&out)
        );
    }
}

#[test]
fn check_catches_a_missing_module_unknown_module_functions_and_literal_types() {
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(scripts.join("lib")).unwrap();
    std::fs::copy(
        root().join("scripts/lib/legacy.rhai"),
        scripts.join("lib/legacy.rhai"),
    )
    .unwrap();
    let f = scripts.join("bad.rhai");
    std::fs::write(
        &f,
        "import \"lib/nothere\" as x;\nimport \"lib/legacy\" as legacy;\nlegacy::read_documnt(\"/d\");\nwait_for(\"#x\", \"10s\");\n",
    )
    .unwrap();
    let out = marc_out(dir.path(), &args(&["check", f.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    let name = f.display().to_string();
    for want in [
        format!("{name}:1:1: no module \"lib/nothere\""),
        format!(
            "{name}:3:9: `legacy` has no function `read_documnt` (did you mean `read_document`?)"
        ),
        format!("{name}:4:16: `wait_for` takes i64 as argument 2, not a string"),
    ] {
        assert!(e.contains(&want), "{want:?} missing from\n{e}");
    }
}
