//! The command line's promises: clear one-line errors and non-zero exits
//! for bad input, `marc check` positions, the DSL reference kept current.

use marc_e2e::*;

fn fails_with(args: &[&str], env: &[(&str, &str)], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(marc_bin());
    cmd.args(args)
        .current_dir(dir.path())
        .env("MARC_LISTS_DIR", lists_dir())
        .env("MARC_VAULT_KEY", TEST_VAULT_KEY);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "{args:?} should fail; stdout: {}",
        stdout(&out)
    );
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in stderr, got: {err}"
    );
    assert!(
        err.trim().lines().count() <= 2,
        "{args:?}: the error should be short: {err}"
    );
}

fn robots() -> String {
    root().join("robots").display().to_string()
}

#[test]
fn bad_input_gets_a_clear_error() {
    let r = robots();
    fails_with(
        &["run", "--robots", &r, "--cpr", "12345", "--out", "o"],
        &[],
        "CPR number has 10 digits",
    );
    fails_with(
        &["run", "--robots", &r, "--cpr", "310299-1234", "--out", "o"],
        &[],
        "not a real date",
    );
    fails_with(
        &[
            "run",
            "--robots",
            &r,
            "--cpr",
            "070761-4285",
            "--from",
            "2020-01-01",
            "--to",
            "2019-01-01",
            "--out",
            "o",
        ],
        &[],
        "swap --from and --to",
    );
    fails_with(
        &[
            "run",
            "--robots",
            &r,
            "--cpr",
            "070761-4285",
            "--from",
            "1/1/2020",
            "--out",
            "o",
        ],
        &[],
        "YYYY-MM-DD",
    );
    fails_with(
        &[
            "run",
            "--robots",
            &r,
            "--cpr",
            "070761-4285",
            "--systems",
            "sbsys",
            "--out",
            "o",
        ],
        &[],
        "unknown system \"sbsys\"",
    );
    fails_with(
        &[
            "run",
            "--robots",
            &r,
            "--cpr",
            "070761-4285",
            "--systems",
            "esdh",
            "--out",
            "o",
        ],
        &[("MARC_CHROMEDRIVER", "/nonexistent/chromedriver")],
        "chromium-driver",
    );
}

#[test]
fn a_data_directory_that_is_not_marcs_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("important.txt"), "keep me").unwrap();
    let d = dir.path().display().to_string();
    fails_with(&["--data", &d, "requests"], &[], "holds no marc data");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "marc wrote into a foreign directory"
    );
    let file = dir.path().join("important.txt").display().to_string();
    fails_with(&["--data", &file, "requests"], &[], "not a directory");
}

#[test]
fn check_reports_line_and_column_and_passes_the_shipped_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.rhai");
    std::fs::write(&bad, "navigate(\"/\");\nlet rows = tabel(\"#cases\");\n").unwrap();
    let out = marc(dir.path(), &["check", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("bad.rhai:2:12: unknown function `tabel` (did you mean `table`?)"),
        "{err}"
    );

    std::fs::write(&bad, "let x = ;").unwrap();
    let out = marc(dir.path(), &["check", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("bad.rhai:1:9: syntax error"),
        "{}",
        stderr(&out)
    );

    // The robots' scripts and the recorded workflows.
    let scripts: Vec<String> = ["scripts", "recordings"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .map(|p| p.display().to_string())
        .collect();
    assert!(scripts.len() >= 5, "{scripts:?}");
    let mut args = vec!["check"];
    args.extend(scripts.iter().map(String::as_str));
    let out = marc(dir.path(), &args);
    assert!(
        out.status.success(),
        "shipped scripts fail marc check: {}",
        stderr(&out)
    );
}

#[test]
fn dsl_reference_is_generated_from_the_registered_api() {
    let dir = tempfile::tempdir().unwrap();
    let out = marc(dir.path(), &["dsl"]);
    assert!(out.status.success());
    let generated = stdout(&out);
    for f in [
        "navigate",
        "table",
        "emit",
        "secret",
        "retry",
        "wait_text",
        "click_text",
    ] {
        assert!(
            generated.contains(&format!("### `{f}(")),
            "{f} missing from the reference"
        );
    }
    let committed = std::fs::read_to_string(root().join("docs/DSL.md")).unwrap_or_default();
    assert_eq!(committed, generated, "docs/DSL.md is stale: run `make dsl`");
}

#[test]
fn screen_marks_other_people_and_reports_a_malformed_line_by_number() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let output = dir.path().join("out.jsonl");
    let good = serde_json::json!({
        "id": "a",
        "text": "Mia Holm Madsen (151194-4532) bor med Anne Marie Bach Schmidt, CPR-nr. 081273-1068, på Tøndervej 124, 3. mf., 7500 Holstebro. Der er tale om misbrug.",
        "subject": {"name": "Mia Holm Madsen", "cpr": "151194-4532", "address": ""},
        "words": ["misbrug"]
    });
    std::fs::write(&input, format!("{good}\n{{not json\n{good}\n")).unwrap();
    let out = marc(
        dir.path(),
        &[
            "screen",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ],
    );
    assert!(
        !out.status.success(),
        "a malformed line must make the exit code say so"
    );
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "the good lines are still screened");
    let text = good["text"].as_str().unwrap();
    let marked: Vec<(&str, &str)> = lines[0]["marks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let (s, e) = (
                m["start"].as_u64().unwrap() as usize,
                m["end"].as_u64().unwrap() as usize,
            );
            (m["kind"].as_str().unwrap(), &text[s..e])
        })
        .collect();
    for (kind, want) in [
        ("name", "Anne Marie Bach Schmidt"),
        ("cpr", "081273-1068"),
        ("word", "misbrug"),
    ] {
        assert!(
            marked.iter().any(|(k, t)| *k == kind && t.contains(want)),
            "{want} not marked as {kind}: {marked:?}"
        );
    }
    assert!(
        marked.iter().any(|(k, _)| *k == "address"),
        "the address is not marked: {marked:?}"
    );
    for own in ["Mia Holm Madsen", "151194-4532"] {
        assert!(
            !marked.iter().any(|(_, t)| t.contains(own)),
            "the subject's own {own} was marked: {marked:?}"
        );
    }
}

#[test]
fn an_exempt_citizen_goes_to_manual_handling_without_any_robot() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let marc = |args: &[&str]| {
        std::process::Command::new(marc_bin())
            .args(args)
            .current_dir(dir.path())
            .env("MARC_LISTS_DIR", lists_dir())
            .env("MARC_VAULT_KEY", TEST_VAULT_KEY)
            // No chromedriver may be needed: one that cannot start proves it.
            .env("MARC_CHROMEDRIVER", "/nonexistent/chromedriver")
            .output()
            .unwrap()
    };
    // Bad input first: a malformed CPR number, a missing reason.
    let out = marc(&["--data", d, "exempt", "add", "12345", "--reason", "x"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not a CPR number"),
        "{}",
        stderr(&out)
    );
    let out = marc(&["--data", d, "exempt", "add", "070761-4285", "--reason", " "]);
    assert!(stderr(&out).contains("--reason"), "{}", stderr(&out));

    let out = marc(&[
        "--data",
        d,
        "exempt",
        "add",
        "0707614285",
        "--reason",
        "kontrolsag",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&marc(&["--data", d, "exempt", "list", "--json"]));
    let e: serde_json::Value = serde_json::from_str(list.trim()).unwrap();
    assert_eq!(e["cpr"], "070761-4285");
    assert_eq!(e["reason"], "kontrolsag");

    let r = robots();
    let run = |cpr: &str| {
        marc(&[
            "--data", d, "run", "--robots", &r, "--cpr", cpr, "--out", "o", "--json",
        ])
    };
    let out = run("070761-4285");
    assert_eq!(out.status.code(), Some(4), "held: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["state"], "manual_handling", "{v}");
    assert_eq!(v["pdf"], serde_json::Value::Null);
    assert!(v["systems"]
        .as_object()
        .unwrap()
        .values()
        .all(|s| s["attempts"] == 0));
    assert!(!dir.path().join("o").exists(), "nothing is written");
    let id = v["request_id"].as_str().unwrap().to_string();
    // The citizen still got a receipt; nothing can be delivered.
    let outbox = std::fs::read_dir(data.join("outbox")).unwrap().count();
    assert_eq!(outbox, 1, "the receipt");
    let out = marc(&["--data", d, "deliver", &id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("exempt"), "{}", stderr(&out));

    // Everything is in the audit log.
    let log = stdout(&marc(&["--data", d, "audit", "log", "--json"]));
    for action in ["exemption.added", "request.received", "request.exempt"] {
        assert!(
            log.contains(&format!("\"action\":\"{action}\"")),
            "{action}: {log}"
        );
    }
    assert!(!log.contains("robot.started"), "{log}");

    // Lifted, the next request runs robots again (and so needs chromedriver).
    assert!(marc(&["--data", d, "exempt", "rm", "070761-4285"])
        .status
        .success());
    let out = marc(&["--data", d, "exempt", "rm", "070761-4285"]);
    assert!(stderr(&out).contains("is not exempt"), "{}", stderr(&out));
    let out = run("070761-4285");
    assert!(stderr(&out).contains("chromedriver"), "{}", stderr(&out));
}
