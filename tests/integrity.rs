//! Issue 12, §5/§14/§18 through the `marc` binary, with no browser: an
//! exempt citizen's request sends only a receipt, which is enough to see a
//! delivery put in doubt by a SIGKILL mid-POST (real HTTPS receiver with
//! client certificates on 127.0.0.1), settled by `marc delivery retry`, and
//! an audit log whose newest entries were cut off named by `marc audit
//! verify` and refused by every command that would write.

#[path = "hostile/support.rs"]
mod support;

use marc_e2e::*;
use marc_testbed::digital_post::{Behaviour, DigitalPostReceiver, TestPki};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const CPR: &str = "070761-4285";

fn cmd(cwd: &Path, config: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(marc_bin());
    c.args(["--data", "data", "--config"])
        .arg(config)
        .args(args)
        .current_dir(cwd)
        .env("MARC_LISTS_DIR", lists_dir())
        .env("MARC_VAULT_KEY", TEST_VAULT_KEY)
        .env("MARC_CHROMEDRIVER", "/nonexistent/chromedriver")
        .env_remove("MARC_VAULT_KEY_FILE")
        .env_remove("MARC_AUDIT_CHECKPOINT")
        .env_remove("USER");
    c
}

fn run(cwd: &Path, config: &Path, args: &[&str]) -> Output {
    cmd(cwd, config, args).output().expect("cannot start marc")
}

/// A marc.toml whose [delivery] POSTs to `rx` with a client certificate.
fn config(dir: &Path, pki: &TestPki, rx: &DigitalPostReceiver) -> std::path::PathBuf {
    let client = pki.issue("Testkommune OCES", &[]).unwrap();
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::write(certs.join("ca.pem"), pki.ca_pem()).unwrap();
    std::fs::write(certs.join("client.pem"), &client.cert_pem).unwrap();
    std::fs::write(certs.join("client.key"), &client.key_pem).unwrap();
    let cfg = dir.join("marc.toml");
    std::fs::write(
        &cfg,
        format!(
            "[delivery]\nendpoint = \"{}\"\nca = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"\n",
            rx.url,
            certs.join("ca.pem").display(),
            certs.join("client.pem").display(),
            certs.join("client.key").display()
        ),
    )
    .unwrap();
    cfg
}

fn audit_actions(cwd: &Path, cfg: &Path) -> Vec<serde_json::Value> {
    let out = run(cwd, cfg, &["audit", "log", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn an_in_doubt_receipt_is_shown_and_settled_by_the_operator_once() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let pki = TestPki::new("marc e2e CA").unwrap();
    let rx = DigitalPostReceiver::start(&pki, &pki.ca_pem()).unwrap();
    let cfg = config(cwd, &pki, &rx);
    let out = run(cwd, &cfg, &["exempt", "add", CPR, "--reason", "kontrolsag"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // marc is killed while the receiver holds the receipt's POST
    rx.set_behaviour(Behaviour::Hang);
    let r = robots_dir();
    let mut child = cmd(
        cwd,
        &cfg,
        &["run", "--robots", &r, "--cpr", CPR, "--out", "o"],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let arrived = rx.wait_for_posts(1, Duration::from_secs(60));
    child.kill().unwrap();
    let _ = child.wait();
    assert!(arrived, "the receipt's POST never reached the receiver");
    rx.set_behaviour(Behaviour::Accept);

    let status = run(cwd, &cfg, &["delivery", "status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let s = stdout(&status);
    let key = s
        .split_whitespace()
        .find(|w| w.starts_with("receipt/"))
        .unwrap_or_else(|| panic!("no receipt in: {s}"))
        .to_string();
    assert!(
        s.contains("in doubt") && s.contains(&format!("marc delivery retry {key}")),
        "{s}"
    );
    // a confirmation needs a reason
    let out = run(cwd, &cfg, &["delivery", "confirm", &key, "--note", " "]);
    assert!(!out.status.success());
    // the operator retries: same message UUID, the receiver already has it
    let out = run(cwd, &cfg, &["delivery", "retry", &key]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("HTTP 409"), "{}", stdout(&out));
    assert_eq!(
        rx.messages().len(),
        1,
        "one receipt, however often it was sent"
    );
    assert_eq!(rx.posts(), 2);
    let out = run(cwd, &cfg, &["delivery", "status", &key, "--json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["state"], "delivered", "{v}");
    assert!(
        Path::new(v["file"].as_str().unwrap()).is_absolute(),
        "the ledger keeps absolute paths: {v}"
    );
    // on record, by the OS user marc ran as ($USER was unset)
    let entries = audit_actions(cwd, &cfg);
    let retried = entries
        .iter()
        .find(|e| e["action"] == "delivery.retried")
        .expect("delivery.retried in the audit log");
    let actor = retried["actor"].as_str().unwrap();
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    assert!(
        actor.starts_with("cli:") && actor.contains(&format!("uid {uid}")),
        "{actor}"
    );
    let verify = run(cwd, &cfg, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
}

fn robots_dir() -> String {
    root().join("robots").display().to_string()
}

#[test]
fn cut_off_audit_entries_are_named_and_no_command_writes_over_them() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let cfg = cwd.join("marc.toml");
    std::fs::write(&cfg, "").unwrap();
    for cpr in [CPR, "010190-1234", "020290-1234"] {
        let out = run(cwd, &cfg, &["exempt", "add", cpr, "--reason", "kontrolsag"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let verify = run(cwd, &cfg, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    let data = cwd.join("data");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o700,
            "the data directory is closed to the robot user"
        );
    }
    // the last two entries are cut off, as sled does with a damaged tail
    {
        let store = marc_store::Store::open(&data).unwrap();
        let t = store.table(marc_audit::TABLE).unwrap();
        let n = t.len() as u64;
        assert_eq!(n, 3);
        t.remove(marc_store::be_key(3)).unwrap();
        t.remove(marc_store::be_key(2)).unwrap();
        store.flush().unwrap();
    }
    let verify = run(cwd, &cfg, &["audit", "verify"]);
    let said = stderr(&verify);
    assert!(!verify.status.success(), "{said}");
    assert!(
        said.contains("BROKEN at entry 2") && said.contains("entries 2..=3 are missing"),
        "{said}"
    );
    // a command that would write refuses, and the evidence stays
    let out = run(cwd, &cfg, &["exempt", "rm", CPR]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("damaged at entry 2"),
        "{}",
        stderr(&out)
    );
    let verify = run(cwd, &cfg, &["audit", "verify"]);
    assert!(
        stderr(&verify).contains("BROKEN at entry 2"),
        "{}",
        stderr(&verify)
    );
    // without a key nothing is written at all, and the error says what to set
    let out = cmd(
        cwd,
        &cfg,
        &["exempt", "add", "030390-1234", "--reason", "x"],
    )
    .env_remove("MARC_VAULT_KEY")
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("MARC_VAULT_KEY_FILE"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_pdf_changed_after_assembly_is_never_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let tb = support::TestbedProc::start(&cwd.join("testbed.jsonl"), 0.0);
    let data = cwd.join("data");
    let d = data.to_str().unwrap();
    let config = cwd.join("marc.toml");
    std::fs::write(&config, "control = \"review\"\n").unwrap();
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen();
    let robots = support::web_robots(cwd);
    let mut a = support::args(&["--data", d, "--config", config.to_str().unwrap(), "run"]);
    a.extend(support::args(&[
        "--cpr",
        &citizen.cpr,
        "--name",
        &citizen.name,
        "--systems",
        "esdh",
        "--robots",
        robots.to_str().unwrap(),
        "--scripts",
        root().join("scripts").to_str().unwrap(),
        "--out",
        "out",
        "--json",
    ]));
    a.extend(tb.base_url_args());
    let run = support::marc_out(cwd, &a);
    assert_eq!(
        run.status.code(),
        Some(4),
        "held for review: {}",
        stderr(&run)
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&run).trim()).unwrap();
    let id = v["request_id"].as_str().unwrap().to_string();
    // the answer that is delivered is the one the request keeps
    let shown = support::marc_out(
        cwd,
        &support::args(&["--data", d, "requests", &id, "--json"]),
    );
    let r: serde_json::Value = serde_json::from_str(stdout(&shown).trim()).unwrap();
    let pdf = std::path::PathBuf::from(r["pdf"].as_str().unwrap());
    assert!(
        pdf.is_absolute(),
        "the request keeps an absolute PDF path: {r}"
    );
    assert!(r["pdf_sha256"].is_string(), "its SHA-256 at assembly: {r}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pdf).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the PDF is closed to the robot user");
    }
    // the PDF changes after assembly (by hand, or a path that now points elsewhere)
    let good = std::fs::read(&pdf).unwrap();
    let mut changed = good.clone();
    changed.extend_from_slice(b"\n% added later\n");
    std::fs::write(&pdf, &changed).unwrap();
    // delivered from another working directory: the paths must not depend on it
    let elsewhere = cwd.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = support::marc_out(&elsewhere, &support::args(&["--data", d, "deliver", &id]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not the one assembled"),
        "{}",
        stderr(&out)
    );
    assert!(
        std::fs::read_dir(data.join("outbox")).unwrap().count() == 1,
        "only the receipt is in the outbox"
    );
    std::fs::write(&pdf, &good).unwrap();
    let out = support::marc_out(&elsewhere, &support::args(&["--data", d, "deliver", &id]));
    assert!(out.status.success(), "{}", stderr(&out));
    let delivered = stdout(&out);
    let file = delivered
        .trim()
        .strip_prefix("delivered: ")
        .unwrap_or_else(|| panic!("{delivered}"));
    assert!(Path::new(file).is_absolute(), "{file}");
    assert!(
        file.starts_with(&data.canonicalize().unwrap().display().to_string()),
        "{file}"
    );
}
