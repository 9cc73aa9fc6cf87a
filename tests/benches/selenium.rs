//! Side by side (SPEC §8): marc's robots against plain Python Selenium robots
//! doing the same job (`benches/selenium/esdh.py`, `legacy.py`) on the same
//! testbed, for the demo citizen. One `marc testbed serve` (legacy with its
//! default 10 % transient 503s and session expiry); per round and system,
//! `marc run --systems SYSTEM` and the Python robot run one after the other,
//! alternating which goes first. Both start their own chromedriver and
//! Chromium. Both extractions are checked against the testbed's ground truth
//! (ids, titles, dates, kinds, departments, texts, attachment texts) in every
//! round: a benchmark that did a different job fails. No process may outlive
//! its run. Prints medians and the ratio python/marc.
//!
//! `cargo build -p marc && cargo bench -p marc-e2e --bench selenium [-- ROUNDS] [esdh] [legacy]`
//! (`make bench-selenium` installs python3-selenium first). The Python robots
//! run on Debian's `/usr/bin/python3` (or `$MARC_BENCH_PYTHON`); marc runs
//! the checkout's scripts (or `$MARC_BENCH_SCRIPTS`).

#[path = "../hostile/support.rs"]
mod support;

use marc_e2e::*;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::*;

/// Longest a single run may take before it is killed (with everything it started).
const RUN_TIMEOUT: Duration = Duration::from_secs(300);
/// Environment variable that marks every process a run starts (inherited by
/// chromedriver and Chromium), so leftovers can be found and killed.
const TAG_VAR: &str = "BENCH_SELENIUM_RUN";
const SYSTEMS: [&str; 2] = ["esdh", "legacy"];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Side {
    Marc,
    Python,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Marc => "marc",
            Side::Python => "python selenium",
        }
    }
}

/// One measured run.
struct Run {
    /// The whole process, start to exit.
    wall: f64,
    /// Browser session start to close (marc: `systems.S.seconds`, which also
    /// holds its rights proxy and robot process; python: `session_seconds`).
    robot: f64,
    /// First robot step (the login page) to the last document read.
    login_to_last: f64,
    documents: usize,
    commands: u64,
}

/// Live processes carrying `TAG_VAR=tag` in their environment.
fn tagged(tag: &str) -> Vec<u32> {
    let needle = format!("{TAG_VAR}={tag}");
    let me = std::process::id();
    let mut found = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me || !alive(pid) {
            continue;
        }
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if env.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            found.push(pid);
        }
    }
    found
}

fn kill(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// A child process that is killed with everything it started if it is
/// still running (or left something behind) when this is dropped: on a
/// timeout and when the bench panics.
struct Guard {
    child: Child,
    tag: String,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            for p in descendants(self.child.id()).into_iter().rev() {
                kill(p);
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for p in tagged(&self.tag) {
            kill(p);
        }
    }
}

/// Output of one finished run.
struct Finished {
    wall: f64,
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` to its end (at most [`RUN_TIMEOUT`]) and checks that nothing
/// it started outlives it.
fn run_timed(mut cmd: Command, what: &str, tag: &str) -> Finished {
    cmd.env(TAG_VAR, tag)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let t0 = Instant::now();
    let mut g = Guard {
        child: cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}")),
        tag: tag.to_string(),
    };
    let (tx, rx) = mpsc::channel();
    for (i, mut pipe) in [
        Box::new(g.child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(g.child.stderr.take().unwrap()),
    ]
    .into_iter()
    .enumerate()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            let _ = tx.send((i, s));
        });
    }
    let status = loop {
        if let Some(st) = g.child.try_wait().expect("wait for child") {
            break st;
        }
        if t0.elapsed() > RUN_TIMEOUT {
            drop(g);
            panic!("{what} did not finish within {RUN_TIMEOUT:?}; killed it and all it started");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = t0.elapsed().as_secs_f64();
    let mut out = [String::new(), String::new()];
    for _ in 0..2 {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok((i, s)) => out[i] = s,
            Err(_) => panic!("{what} exited but something it started keeps its output open"),
        }
    }
    // Chromium's helpers take a moment to follow the browser.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = tagged(tag);
        if left.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            let names: Vec<String> = left
                .iter()
                .map(|p| format!("{p} {}", cmdline(*p)))
                .collect();
            drop(g);
            panic!("{what} left processes behind:\n{}", names.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let [stdout, stderr] = out;
    Finished {
        wall,
        ok: status.success(),
        stdout,
        stderr,
    }
}

/// A robots folder with only `system`'s robot, copied from the checkout.
fn robots_for(dir: &Path, system: &str) -> PathBuf {
    let robots = dir.join(format!("robots-{system}"));
    std::fs::create_dir_all(robots.join(system)).unwrap();
    std::fs::copy(
        root().join("robots").join(system).join("robot.toml"),
        robots.join(system).join("robot.toml"),
    )
    .unwrap();
    robots
}

/// Fails loudly unless `got` (one system's documents as JSON) is exactly
/// the ground truth: same documents, metadata, text and attachment texts
/// (whitespace collapsed: PDF text extractors lay lines out differently).
fn check_same_job(who: &str, got: &[serde_json::Value], truth: &[&marc_testbed::TbDocument]) {
    let by_id: BTreeMap<&str, &serde_json::Value> = got
        .iter()
        .map(|d| (d["doc_id"].as_str().unwrap_or_default(), d))
        .collect();
    let mut want: Vec<&str> = truth.iter().map(|t| t.doc_id.as_str()).collect();
    want.sort();
    let have: Vec<&str> = by_id.keys().copied().collect();
    assert_eq!(
        have, want,
        "{who} extracted other documents than the ground truth"
    );
    assert_eq!(got.len(), truth.len(), "{who} extracted a document twice");
    for t in truth {
        let d = by_id[t.doc_id.as_str()];
        let field = |k: &str| d[k].as_str().unwrap_or_default().to_string();
        let id = &t.doc_id;
        assert_eq!(field("title"), t.title, "{who}: title of {id}");
        assert_eq!(field("date"), t.date, "{who}: date of {id}");
        assert_eq!(field("kind"), t.kind, "{who}: kind of {id}");
        assert_eq!(field("case_id"), t.case_id, "{who}: case of {id}");
        assert_eq!(
            field("department"),
            t.department,
            "{who}: department of {id}"
        );
        assert_eq!(
            squash(&field("text")),
            squash(&t.text),
            "{who}: text of {id}"
        );
        let atts = d["attachments"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            atts.len(),
            t.attachments.len(),
            "{who}: attachments of {id}"
        );
        for (a, ta) in atts.iter().zip(&t.attachments) {
            assert_eq!(
                a["name"],
                ta.name.as_str(),
                "{who}: attachment name in {id}"
            );
            assert_eq!(
                squash(a["text"].as_str().unwrap_or_default()),
                squash(&ta.text),
                "{who}: text of attachment {} of {id}",
                ta.name
            );
        }
    }
}

fn read_jsonl_file(path: &Path) -> Vec<serde_json::Value> {
    assert!(
        path.is_file(),
        "{} was not written; nothing to check",
        path.display()
    );
    read_jsonl(path)
}

/// Seconds from the first step of marc's recorded session for `system` to
/// the end of its last `emit` (the last document handed over).
fn marc_login_to_last(data: &Path, system: &str) -> f64 {
    let store = marc_store::Store::open(data).expect("open marc's data directory");
    let sessions = marc_recording::list_sessions(&store).expect("list sessions");
    let meta = sessions
        .iter()
        .rfind(|m| m.system.as_deref() == Some(system))
        .unwrap_or_else(|| panic!("no recorded {system} session"));
    let s = marc_recording::load_session(&store, &meta.id).expect("load session");
    let t = |x: &str| {
        chrono::DateTime::parse_from_rfc3339(x)
            .unwrap_or_else(|e| panic!("step time {x:?}: {e}"))
            .timestamp_micros() as f64
            / 1e6
    };
    let first = s.steps.first().expect("the session has no steps");
    let last = s
        .steps
        .iter()
        .rfind(|st| st.command == "emit")
        .expect("the session emitted nothing");
    t(&last.time) + last.duration_ms as f64 / 1000.0 - t(&first.time)
}

/// What every run needs.
struct Job<'a> {
    work: &'a Path,
    tb: &'a TestbedProc,
    citizen: &'a marc_testbed::Citizen,
    system: &'a str,
    truth: &'a [&'a marc_testbed::TbDocument],
}

impl Job<'_> {
    fn base_url(&self) -> &str {
        match self.system {
            "esdh" => &self.tb.esdh,
            _ => &self.tb.legacy,
        }
    }

    fn run_marc(&self, round: usize) -> Run {
        let system = self.system;
        let dir = self.work.join(format!("marc-{system}-{round}"));
        let (data, out) = (dir.join("data"), dir.join("out"));
        std::fs::create_dir_all(&dir).unwrap();
        let a = args(&[
            "--data",
            data.to_str().unwrap(),
            "run",
            "--cpr",
            &self.citizen.cpr,
            "--name",
            &self.citizen.name,
            "--systems",
            system,
            "--base-url",
            &format!("{system}={}", self.base_url()),
            "--robots",
            robots_for(&dir, system).to_str().unwrap(),
            "--scripts",
            scripts().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--json",
        ]);
        let tag = format!("{}-marc-{system}-{round}", std::process::id());
        let f = run_timed(marc_cmd(&dir, &a), "marc run", &tag);
        assert!(f.ok, "marc run failed:\n{}\n{}", f.stderr, f.stdout);
        let v: serde_json::Value = serde_json::from_str(&f.stdout)
            .unwrap_or_else(|e| panic!("marc run --json printed no JSON ({e}):\n{}", f.stdout));
        let run = &v["systems"][system];
        assert_eq!(
            run["status"], "complete",
            "marc's {system} robot did not complete: {run}"
        );
        let jsonl = PathBuf::from(v["documents_jsonl"].as_str().expect("documents_jsonl"));
        let jsonl = if jsonl.is_absolute() {
            jsonl
        } else {
            dir.join(jsonl)
        };
        let docs: Vec<serde_json::Value> = read_jsonl_file(&jsonl)
            .into_iter()
            .filter(|d| d["system"] == system)
            .collect();
        check_same_job(&format!("marc ({system})"), &docs, self.truth);
        Run {
            wall: f.wall,
            robot: run["seconds"].as_f64().expect("systems.S.seconds"),
            login_to_last: marc_login_to_last(&data, system),
            documents: docs.len(),
            commands: run["webdriver_commands"].as_u64().unwrap_or(0),
        }
    }

    fn run_python(&self, round: usize) -> Run {
        let system = self.system;
        let dir = self.work.join(format!("python-{system}-{round}"));
        std::fs::create_dir_all(&dir).unwrap();
        let docs_file = dir.join("documents.jsonl");
        let script = root().join(format!("tests/benches/selenium/{system}.py"));
        let up = system.to_uppercase();
        let secret = |k: String| SECRET_ENV.iter().find(|(n, _)| *n == k).unwrap().1;
        let mut cmd = Command::new(python());
        cmd.arg(&script)
            .args(["--base-url", self.base_url(), "--cpr", &self.citizen.cpr])
            .arg("--documents")
            .arg(&docs_file)
            .current_dir(&dir)
            .env("TMPDIR", &dir)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env(
                format!("{up}_USER"),
                secret(format!("MARC_SECRET_{up}_USER")),
            )
            .env(
                format!("{up}_PASSWORD"),
                secret(format!("MARC_SECRET_{up}_PASSWORD")),
            );
        let tag = format!("{}-python-{system}-{round}", std::process::id());
        let what = format!("the Python Selenium robot ({system}.py)");
        let f = run_timed(cmd, &what, &tag);
        assert!(f.ok, "{what} failed:\n{}\n{}", f.stderr, f.stdout);
        let v: serde_json::Value = serde_json::from_str(&f.stdout)
            .unwrap_or_else(|e| panic!("{what} printed no JSON ({e}):\n{}", f.stdout));
        let docs = read_jsonl_file(&docs_file);
        check_same_job(&format!("python ({system})"), &docs, self.truth);
        // The printed summary must agree with what was written.
        assert_eq!(
            v["count"].as_u64(),
            Some(docs.len() as u64),
            "{what}: count"
        );
        let listed: Vec<&serde_json::Value> = v["documents"]
            .as_array()
            .expect("documents")
            .iter()
            .map(|d| &d["doc_id"])
            .collect();
        let written: Vec<&serde_json::Value> = docs.iter().map(|d| &d["doc_id"]).collect();
        assert_eq!(
            listed, written,
            "{what}: its summary and its documents differ"
        );
        Run {
            wall: f.wall,
            robot: v["session_seconds"].as_f64().expect("session_seconds"),
            login_to_last: v["seconds"].as_f64().expect("seconds"),
            documents: docs.len(),
            commands: v["webdriver_commands"]
                .as_u64()
                .expect("webdriver_commands"),
        }
    }
}

/// marc's robot scripts: the checkout's, or `$MARC_BENCH_SCRIPTS` (to
/// measure a change to a script before it goes in).
fn scripts() -> PathBuf {
    std::env::var_os("MARC_BENCH_SCRIPTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("scripts"))
}

fn python() -> String {
    std::env::var("MARC_BENCH_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn preflight() {
    let py = python();
    let ok = Command::new(&py)
        .args(["-c", "import selenium"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{py} cannot import selenium: install the Debian package python3-selenium \
         (`make bench-selenium` does)"
    );
    for bin in [
        "/usr/bin/chromedriver",
        "/usr/bin/chromium",
        "/usr/bin/pdftotext",
    ] {
        assert!(
            Path::new(bin).is_file(),
            "{bin} is missing: `make deps` installs it"
        );
    }
}

fn main() {
    let mut rounds = 3;
    let mut systems = Vec::new();
    for a in std::env::args().skip(1) {
        if let Ok(n) = a.parse::<usize>() {
            rounds = n.max(1);
        } else if let Some(s) = SYSTEMS.iter().find(|s| **s == a) {
            systems.push(*s);
        } else if !a.starts_with('-') {
            panic!("unknown argument {a:?}: give a number of rounds and/or esdh, legacy");
        }
    }
    if systems.is_empty() {
        systems = SYSTEMS.to_vec();
    }
    preflight();
    let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
    let citizen = world.demo_citizen();
    let truths: Vec<Vec<&marc_testbed::TbDocument>> = systems
        .iter()
        .map(|s| world.documents_for(s, &citizen.cpr).collect())
        .collect();
    let work = tempfile::Builder::new()
        .prefix("marc-bench-selenium-")
        .tempdir()
        .unwrap();
    let tb = TestbedProc::start(&work.path().join("testbed.jsonl"), 0.1);

    let mut runs: BTreeMap<(&str, &str), Vec<Run>> = BTreeMap::new();
    for round in 0..rounds {
        for (i, system) in systems.iter().enumerate() {
            let job = Job {
                work: work.path(),
                tb: &tb,
                citizen,
                system,
                truth: &truths[i],
            };
            // Alternate who goes first, so neither always finds the machine warmer.
            let order = if (round + i) % 2 == 0 {
                [Side::Marc, Side::Python]
            } else {
                [Side::Python, Side::Marc]
            };
            for side in order {
                let r = match side {
                    Side::Marc => job.run_marc(round),
                    Side::Python => job.run_python(round),
                };
                eprintln!(
                    "round {}/{rounds} {system:<7} {:<16} wall {:6.2} s  robot {:6.2} s  login→last {:6.2} s  {} docs  {} commands",
                    round + 1,
                    side.label(),
                    r.wall,
                    r.robot,
                    r.login_to_last,
                    r.documents,
                    r.commands
                );
                runs.entry((system, side.label())).or_default().push(r);
            }
        }
    }
    drop(tb);

    println!(
        "\nmarc vs a plain Python Selenium robot, demo citizen {} ({}); {rounds} rounds interleaved, medians",
        citizen.name, citizen.cpr
    );
    println!(
        "{:<26} {:>8} {:>9} {:>13} {:>6} {:>10}",
        "", "wall s", "robot s", "login→last s", "docs", "cmds/doc"
    );
    let per_doc = |r: &Run| r.commands as f64 / r.documents.max(1) as f64;
    for (i, system) in systems.iter().enumerate() {
        let med = |side: Side, f: &dyn Fn(&Run) -> f64| {
            median(runs[&(*system, side.label())].iter().map(f).collect())
        };
        let attachments: usize = truths[i].iter().map(|t| t.attachments.len()).sum();
        println!(
            "{system}: {} documents, {attachments} attachments",
            truths[i].len()
        );
        for side in [Side::Marc, Side::Python] {
            println!(
                "  {:<24} {:>8.2} {:>9.2} {:>13.2} {:>6} {:>10.1}",
                side.label(),
                med(side, &|r| r.wall),
                med(side, &|r| r.robot),
                med(side, &|r| r.login_to_last),
                truths[i].len(),
                med(side, &per_doc),
            );
        }
        let ratio = |f: &dyn Fn(&Run) -> f64| med(Side::Python, f) / med(Side::Marc, f);
        println!(
            "  {:<24} {:>7.2}× {:>8.2}× {:>12.2}× {:>6} {:>9.2}×",
            "python / marc",
            ratio(&|r| r.wall),
            ratio(&|r| r.robot),
            ratio(&|r| r.login_to_last),
            "",
            ratio(&per_doc),
        );
    }
    println!(
        "wall: the whole process; marc's also screens, assembles the PDF and writes Digital Post, python's only extracts.\n\
         robot: browser session start to close (marc: systems.S.seconds, with its rights proxy and robot process).\n\
         login→last: login page to the last document read (marc: its session recording; python: its own clock).\n\
         Both extracted exactly the ground truth (ids, titles, dates, kinds, texts, attachment texts) in every round."
    );
}
