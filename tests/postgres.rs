//! The engine on PostgreSQL (issue 13, step 2): the same end-to-end `marc
//! run` the sled suite runs (resume.rs, audit_replay.rs), with `--database`
//! naming a throwaway schema; the state goes to the database, the files
//! (outbox, audit checkpoint) stay in the data directory. And a wrong or
//! unreachable database gives a clear error, shows no password and leaves
//! the data directory alone.
//!
//! PostgreSQL comes from `marc_store::testing`: a cluster of this test's own
//! from Debian's binaries, or the server `MARC_TEST_DATABASE_URL` names.

#[path = "hostile/support.rs"]
mod support;

use marc_e2e::*;
use marc_store::testing::{PgCluster, TestDatabase};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};
use support::*;

/// `--database URL` and then `a`.
fn on(url: &str, a: &[String]) -> Vec<String> {
    let mut v = args(&["--database", url]);
    v.extend_from_slice(a);
    v
}

fn said(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

#[test]
fn a_run_on_postgresql_delivers_every_document_once_and_its_audit_chain_verifies() {
    let t0 = Instant::now();
    let db = TestDatabase::new().expect("a test database");
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let tb = TestbedProc::start(&cwd.join("testbed.jsonl"), 0.0);
    let data = cwd.join("data");
    let d = data.to_str().unwrap();
    let out_dir = cwd.join("out");
    let robots = web_robots(cwd);
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen();

    let mut a = run_args(
        &data,
        &robots,
        &root().join("scripts"),
        "esdh,legacy",
        &out_dir,
        &tb,
    );
    a.push("--export-documents".into());
    let run = marc_out(cwd, &on(url, &a));
    let so = stdout(&run);
    assert_eq!(
        run.status.code(),
        Some(0),
        "marc run --database failed:\n{so}\n{}",
        stderr(&run)
    );
    let v: serde_json::Value = serde_json::from_str(so.trim()).expect("one JSON object");
    assert_eq!(v["state"], "delivered", "{v}");
    let id = v["request_id"].as_str().expect("request_id").to_string();

    // The documents: every one of the ground truth, once.
    let truth = web_truth(&world, &citizen.cpr);
    assert_eq!(
        v["documents"].as_u64().unwrap_or(0) as usize,
        truth.len(),
        "documents vs ground truth: {v}"
    );
    let jsonl = cwd.join(v["documents_jsonl"].as_str().expect("documents_jsonl path"));
    let lines = read_jsonl(&jsonl);
    let got: Vec<(String, String)> = lines
        .iter()
        .map(|d| {
            (
                d["system"].as_str().unwrap_or_default().to_string(),
                d["doc_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let unique: BTreeSet<_> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "a document twice: {got:?}");
    let want: BTreeSet<(String, String)> = truth
        .iter()
        .map(|d| (d.system.to_string(), d.doc_id.to_string()))
        .collect();
    assert_eq!(unique, want, "documents differ from the ground truth");

    // The files are in the data directory: one answer in the outbox, the
    // audit checkpoint; the state is not (no sled store there).
    let answers: Vec<_> = files(&data.join("outbox"))
        .into_iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .contains("Svar på anmodning")
        })
        .collect();
    assert_eq!(answers.len(), 1, "answers in the outbox: {answers:?}");
    assert!(
        data.join(marc_audit::CHECKPOINT_FILE).is_file(),
        "the audit checkpoint belongs in the data directory"
    );
    for sled_file in ["conf", "db"] {
        assert!(
            !data.join(sled_file).exists(),
            "a sled store was opened in {} although the state is in PostgreSQL",
            data.display()
        );
    }

    // The state is in the database: the request, the audit log.
    let store = marc_store::Store::connect(url).expect("connect to the test database");
    assert_eq!(store.backend_name(), "postgres");
    let entries = store
        .table(marc_audit::TABLE)
        .and_then(|t| t.try_len())
        .expect("count the audit entries");
    assert!(entries > 0, "no audit entry in PostgreSQL");
    drop(store);
    let out = marc_out(
        cwd,
        &on(url, &args(&["--data", d, "requests", &id, "--json"])),
    );
    assert!(out.status.success(), "marc requests: {}", said(&out));
    let rec: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("request JSON");
    assert_eq!(rec["state"], "delivered", "{rec}");

    // The chain verifies, against the checkpoint in the data directory.
    let verify = marc_out(cwd, &on(url, &args(&["--data", d, "audit", "verify"])));
    assert!(
        verify.status.success(),
        "marc audit verify on PostgreSQL: {}",
        said(&verify)
    );
    let log = audit_entries_on(cwd, url, &data);
    assert_eq!(log.len() as u64, entries as u64, "audit log vs table");
    assert!(
        log.iter()
            .any(|e| e["request"] == id.as_str() || e.to_string().contains(&id)),
        "the audit log names the request"
    );

    // Delivering again sends nothing.
    let out = marc_out(cwd, &on(url, &args(&["--data", d, "deliver", &id])));
    assert!(out.status.success(), "marc deliver {id}: {}", said(&out));
    let again = files(&data.join("outbox"))
        .into_iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .contains("Svar på anmodning")
        })
        .count();
    assert_eq!(again, 1, "marc deliver sent the answer a second time");

    // `marc config` shows the store the command line chose.
    let out = marc_out(cwd, &on(url, &args(&["config"])));
    assert!(out.status.success(), "marc config: {}", said(&out));
    assert!(stdout(&out).contains("[store]"), "{}", stdout(&out));
    eprintln!("run on PostgreSQL: {:?}", t0.elapsed());
}

const PASSWORD: &str = "s3cret-Pw-9";

/// Runs `marc --data DATA a…` and checks the outcome: a non-zero exit, a
/// message holding each of `needles`, no password, and no data directory.
fn refused(cwd: &Path, a: &[String], env: &[(&str, &str)], needles: &[&str]) -> Duration {
    let data = cwd.join("untouched");
    let mut full = args(&["--data", data.to_str().unwrap()]);
    full.extend_from_slice(a);
    let t0 = Instant::now();
    let mut cmd = marc_cmd(cwd, &full);
    cmd.env_remove("MARC_DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("cannot start marc");
    let took = t0.elapsed();
    let text = said(&out);
    assert!(
        !out.status.success(),
        "marc {full:?} succeeded against a bad database: {text}"
    );
    for n in needles {
        assert!(text.contains(n), "the error should name {n:?}: {text}");
    }
    assert!(
        !text.contains(PASSWORD),
        "the database password leaked: {text}"
    );
    assert!(
        !data.exists(),
        "a failed connection created the data directory {}",
        data.display()
    );
    took
}

#[test]
fn a_bad_or_unreachable_database_is_a_clear_error_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let run = |url: &str| {
        on(
            url,
            &args(&["run", "--cpr", "0101901234", "--name", "Test", "--json"]),
        )
    };

    // Nobody listens at the host and port.
    let url = format!("postgres://marc:{PASSWORD}@127.0.0.1:1/marc");
    let took = refused(
        cwd,
        &run(&url),
        &[],
        &["127.0.0.1:1", "Check", "--database", "refused"],
    );
    assert!(took < Duration::from_secs(30), "took {took:?} to give up");
    // The same from the environment and from the configuration.
    refused(
        cwd,
        &args(&["requests"]),
        &[("MARC_DATABASE_URL", url.as_str())],
        &["127.0.0.1:1"],
    );
    let config = cwd.join("marc.toml");
    std::fs::write(&config, format!("[store]\nurl = {url:?}\n")).unwrap();
    refused(
        cwd,
        &args(&["--config", config.to_str().unwrap(), "audit", "verify"]),
        &[],
        &["127.0.0.1:1"],
    );
    // Not a PostgreSQL URL at all, or a malformed one.
    refused(
        cwd,
        &run(&format!("mysql://marc:{PASSWORD}@db/marc")),
        &[],
        &["postgres://", "mysql://marc:***@db/marc"],
    );
    refused(
        cwd,
        &run(&format!(
            "postgres://marc:{PASSWORD}@127.0.0.1:notaport/marc"
        )),
        &[],
        &["postgres://marc:***@127.0.0.1"],
    );

    // A database that ran and was stopped.
    let cluster = PgCluster::start().expect("a PostgreSQL cluster");
    let url = cluster.url();
    let data = cwd.join("was-up");
    let ok = marc_out(
        cwd,
        &on(
            &url,
            &args(&["--data", data.to_str().unwrap(), "requests", "--json"]),
        ),
    );
    assert!(ok.status.success(), "marc requests while up: {}", said(&ok));
    cluster.stop().expect("stop the cluster");
    let port = url
        .rsplit_once(':')
        .and_then(|(_, p)| p.split('/').next())
        .expect("the cluster's port")
        .to_string();
    let host = format!("127.0.0.1:{port}");
    let took = refused(cwd, &run(&url), &[], &[host.as_str(), "Check", "refused"]);
    assert!(took < Duration::from_secs(30), "took {took:?} to give up");

    // `--help` shows the option, never a URL from the environment.
    let mut help = marc_cmd(cwd, &args(&["--help"]));
    help.env(
        "MARC_DATABASE_URL",
        format!("postgres://marc:{PASSWORD}@db/marc"),
    );
    let out = help.output().expect("marc --help");
    let text = said(&out);
    assert!(text.contains("--database"), "{text}");
    assert!(
        !text.contains(PASSWORD),
        "--help shows the password: {text}"
    );
    // `marc config` shows it without the password.
    let mut config = marc_cmd(cwd, &args(&["config"]));
    config.env(
        "MARC_DATABASE_URL",
        format!("postgres://marc:{PASSWORD}@db/marc"),
    );
    let out = config.output().expect("marc config");
    let text = said(&out);
    assert!(out.status.success(), "marc config: {text}");
    assert!(text.contains("postgres://marc:***@db/marc"), "{text}");
    assert!(
        !text.contains(PASSWORD),
        "marc config shows the password: {text}"
    );
}
