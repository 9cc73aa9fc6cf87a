//! Shared by hostile.rs, resume.rs and audit_replay.rs (included with
//! `#[path]`): a testbed child process that dies with the test, `marc run`
//! against it with the robots' passwords from the environment, and readers
//! for the testbed's request log and marc's audit log.

#![allow(dead_code)]

use marc_e2e::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The testbed robots' passwords (testbed/README.md); they must never leak.
pub const ESDH_PASSWORD: &str = "laes-kun-2018";
pub const LEGACY_PASSWORD: &str = "LAES2018";

/// Environment giving `marc run` the robots' accounts.
pub const SECRET_ENV: [(&str, &str); 4] = [
    ("MARC_SECRET_ESDH_USER", "marc-robot"),
    ("MARC_SECRET_ESDH_PASSWORD", ESDH_PASSWORD),
    ("MARC_SECRET_LEGACY_USER", "ROBOT01"),
    ("MARC_SECRET_LEGACY_PASSWORD", LEGACY_PASSWORD),
];

/// `marc testbed serve` as a child process, killed (and reaped) on drop,
/// also when the test panics. The child runs under a tiny shell that kills
/// it when the test process's end of its stdin pipe closes, so even a test
/// binary killed outright leaves no testbed behind.
pub struct TestbedProc {
    child: Child,
    pub esdh: String,
    pub legacy: String,
    pub log: PathBuf,
    /// With HTTPS: the testbed CA's certificate, for the manifests' `tls_ca`.
    pub ca: Option<PathBuf>,
}

/// How the testbed serves its systems.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Http,
    /// HTTPS with a CA of the testbed's own, named in the robots' `tls_ca`.
    Https,
}

impl TestbedProc {
    /// Starts the testbed with the demo seed; `fail_rate` is the legacy
    /// system's probability of a transient 503.
    pub fn start(log: &Path, fail_rate: f64) -> TestbedProc {
        Self::start_over(log, fail_rate, Transport::Http)
    }

    /// Like [`TestbedProc::start`], over `transport`; with HTTPS the CA
    /// certificate is written beside `log`.
    pub fn start_over(log: &Path, fail_rate: f64, transport: Transport) -> TestbedProc {
        let ca = (transport == Transport::Https).then(|| log.with_file_name("testbed-ca.pem"));
        let mut args: Vec<std::ffi::OsString> =
            vec!["--fail-rate".into(), fail_rate.to_string().into()];
        if let Some(ca) = &ca {
            args.extend(["--https".into(), "--ca-out".into(), ca.into()]);
        }
        let (mut tb, mut lines) = Self::spawn(log, args);
        tb.ca = ca;
        let (mut esdh, mut legacy) = (String::new(), String::new());
        while esdh.is_empty() || legacy.is_empty() {
            let line = match lines.next() {
                Some(Ok(l)) => l,
                _ => panic!("`marc testbed serve` ended before printing its URLs"),
            };
            let mut w = line.split_whitespace();
            match (w.next(), w.next()) {
                (Some("esdh"), Some(u)) => esdh = u.to_string(),
                (Some("legacy"), Some(u)) => legacy = u.to_string(),
                _ => {}
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        tb.esdh = esdh;
        tb.legacy = legacy;
        tb
    }

    /// `marc testbed serve --log LOG ARGS` as a child that dies with the
    /// test: it runs under a tiny shell that kills it when the test
    /// process's end of its stdin pipe closes. Returns its stdout lines;
    /// keep draining them once read what is needed.
    pub fn spawn(
        log: &Path,
        args: Vec<std::ffi::OsString>,
    ) -> (
        TestbedProc,
        std::io::Lines<BufReader<std::process::ChildStdout>>,
    ) {
        let script = r#""$@" & pid=$!; trap 'kill -9 $pid 2>/dev/null' EXIT; read _ignored; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null"#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("testbed")
            .arg(marc_bin())
            .args(["testbed", "serve", "--log"])
            .arg(log)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start `marc testbed serve`");
        let stdout = child.stdout.take().expect("piped stdout");
        let tb = TestbedProc {
            child,
            esdh: String::new(),
            legacy: String::new(),
            log: log.to_path_buf(),
            ca: None,
        };
        (tb, BufReader::new(stdout).lines())
    }

    /// Every request the testbed served so far.
    pub fn entries(&self) -> Vec<serde_json::Value> {
        read_jsonl(&self.log)
    }

    /// A robot manifest made to trust this testbed's CA (for HTTPS), else
    /// unchanged.
    pub fn manifest(&self, toml: &str) -> String {
        match &self.ca {
            Some(ca) => toml.replacen(
                "[rights]",
                &format!("[rights]\ntls_ca = {:?}", ca.display().to_string()),
                1,
            ),
            None => toml.to_string(),
        }
    }

    /// `--base-url` arguments for both systems.
    /// `--base-url` for each testbed system that has a robot in `robots`
    /// (marc refuses a base URL for a system it does not have).
    pub fn base_url_args(&self, robots: &Path) -> Vec<String> {
        [("esdh", &self.esdh), ("legacy", &self.legacy)]
            .into_iter()
            .filter(|(sys, _)| robots.join(sys).join("robot.toml").is_file())
            .flat_map(|(sys, url)| ["--base-url".to_string(), format!("{sys}={url}")])
            .collect()
    }
}

impl Drop for TestbedProc {
    fn drop(&mut self) {
        // Closing stdin makes the shell kill the server; kill the shell too.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// JSON Lines from a file (missing file: none).
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// A `marc` command with the lists configured and the robots' secrets in
/// the environment.
pub fn marc_cmd(cwd: &Path, args: &[String]) -> Command {
    let mut c = Command::new(marc_bin());
    c.args(args)
        .current_dir(cwd)
        .env("MARC_LISTS_DIR", lists_dir())
        .env("OMP_THREAD_LIMIT", "1")
        .env("MARC_VAULT_KEY", TEST_VAULT_KEY)
        .env_remove("MARC_VAULT_KEY_FILE")
        .env_remove("MARC_AUDIT_CHECKPOINT")
        .env_remove("MARC_DATA");
    for (k, v) in SECRET_ENV {
        c.env(k, v);
    }
    c
}

/// Runs `marc` to completion.
pub fn marc_out(cwd: &Path, args: &[String]) -> Output {
    marc_cmd(cwd, args).output().expect("cannot start marc")
}

/// `marc --data DATA run` for the demo citizen on `systems` of the testbed,
/// with the robots and scripts folders given and `--json`; callers add more.
pub fn run_args(
    data: &Path,
    robots: &Path,
    scripts: &Path,
    systems: &str,
    out: &Path,
    tb: &TestbedProc,
) -> Vec<String> {
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen();
    let mut a = args(&[
        "--data",
        data.to_str().unwrap(),
        "run",
        "--cpr",
        &citizen.cpr,
        "--name",
        &citizen.name,
        "--robots",
        robots.to_str().unwrap(),
        "--scripts",
        scripts.to_str().unwrap(),
        "--systems",
        systems,
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    a.extend(tb.base_url_args(robots));
    a
}

/// `&[&str]` to owned arguments.
pub fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// The whole audit log as JSON values (`marc audit log --json`).
pub fn audit_entries(cwd: &Path, data: &Path) -> Vec<serde_json::Value> {
    audit_entries_with(cwd, &args(&["--data", data.to_str().unwrap()]))
}

/// The whole audit log of a data directory beside the PostgreSQL database `url`.
pub fn audit_entries_on(cwd: &Path, url: &str, data: &Path) -> Vec<serde_json::Value> {
    audit_entries_with(
        cwd,
        &args(&["--database", url, "--data", data.to_str().unwrap()]),
    )
}

/// `marc GLOBAL… audit log --json`, parsed.
fn audit_entries_with(cwd: &Path, global: &[String]) -> Vec<serde_json::Value> {
    let mut a = global.to_vec();
    a.extend(args(&["audit", "log", "--json"]));
    let out = marc_out(cwd, &a);
    assert!(
        out.status.success(),
        "marc audit log failed: {}",
        stderr(&out)
    );
    stdout(&out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad audit line {l:?}: {e}")))
        .collect()
}

/// A robots folder holding only the two web robots (esdh, legacy) copied from
/// the checkout, so robots added to the checkout later do not join the run.
pub fn web_robots(dir: &Path) -> PathBuf {
    let robots = dir.join("robots");
    for sys in ["esdh", "legacy"] {
        let to = robots.join(sys);
        std::fs::create_dir_all(&to).unwrap();
        std::fs::copy(
            root().join("robots").join(sys).join("robot.toml"),
            to.join("robot.toml"),
        )
        .unwrap();
    }
    robots
}

/// The ground truth for the two web systems.
pub fn web_truth<'a>(
    world: &'a marc_testbed::World,
    cpr: &'a str,
) -> Vec<&'a marc_testbed::TbDocument> {
    ["esdh", "legacy"]
        .iter()
        .flat_map(|s| world.documents_for(s, cpr))
        .collect()
}

/// A process's start time (clock ticks after boot): with the pid, it tells
/// one process from a later one that reused the pid.
pub fn starttime(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    // Fields after comm start at field 3 (state); starttime is field 22.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// A child in a process group of its own (`marc worker`, `marc serve`, a
/// Grid server), killed with SIGKILL with all it started, as when its
/// machine dies; also on drop, so a failing test leaves nothing behind.
pub struct Group {
    pub child: Child,
}

impl Group {
    /// Spawns `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut Command) -> Group {
        use std::os::unix::process::CommandExt;
        let child = cmd
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Group { child }
    }

    /// SIGKILL to the whole group and to every descendant, as when the
    /// machine dies: chromedriver leaves by its parent-death signal, but the
    /// browsers it started would outlive it and load the machine.
    pub fn kill(&mut self) {
        let below = descendants(self.child.id());
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        for pid in below {
            let _ = Command::new("kill")
                .args(["-s", "KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.wait();
    }

    /// The resident memory now, in KiB: the leader's own, and with every
    /// descendant (robot processes, chromedriver and browsers, which keep
    /// process groups of their own).
    pub fn rss_kib(&self) -> (u64, u64) {
        let rss = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|v| v.parse::<u64>().ok())
                })
                .unwrap_or(0)
        };
        let leader = self.child.id();
        let own = rss(leader);
        (
            own,
            own + descendants(leader).into_iter().map(rss).sum::<u64>(),
        )
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `marc testbed serve --systems N --documents M` running, with the robots
/// and the ground truth it wrote and the load citizen it printed.
pub struct LoadTestbed {
    pub tb: TestbedProc,
    /// Each system's URL, by id (`esdh01`, `legacy01`, …).
    pub urls: std::collections::BTreeMap<String, String>,
    pub cpr: String,
    pub name: String,
    pub robots: PathBuf,
    pub truth: PathBuf,
}

impl LoadTestbed {
    pub fn start(dir: &Path, seed: &str, systems: usize, documents: usize) -> LoadTestbed {
        let robots = dir.join("robots");
        let truth = dir.join("truth.json");
        let (tb, mut lines) = TestbedProc::spawn(
            &dir.join("testbed.jsonl"),
            vec![
                "--seed".into(),
                seed.into(),
                "--systems".into(),
                systems.to_string().into(),
                "--documents".into(),
                documents.to_string().into(),
                "--robots-out".into(),
                robots.clone().into(),
                "--truth-out".into(),
                truth.clone().into(),
            ],
        );
        // `<system> <url>` per system; the `load citizen:` line comes last,
        // after the robots and the truth are written.
        let mut urls = std::collections::BTreeMap::new();
        let citizen = loop {
            let line = match lines.next() {
                Some(Ok(l)) => l,
                _ => panic!("`marc testbed serve --systems` ended before it was ready"),
            };
            if let Some(rest) = line.strip_prefix("load citizen: ") {
                break rest.to_string();
            }
            let mut w = line.split_whitespace();
            if let (Some(id), Some(url)) = (w.next(), w.next()) {
                if url.starts_with("http://127.0.0.1:") {
                    urls.insert(id.to_string(), url.to_string());
                }
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let cpr = citizen
            .split_whitespace()
            .next()
            .expect("the citizen's CPR number")
            .to_string();
        let name =
            citizen[cpr.len() + 1..citizen.find(" (").expect("the citizen's name")].to_string();
        LoadTestbed {
            tb,
            urls,
            cpr,
            name,
            robots,
            truth,
        }
    }
}
