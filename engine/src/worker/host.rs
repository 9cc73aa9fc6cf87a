//! The engine's side: start a robot process, serve it, and end it.

use super::{Call, Done, FromWorker, Job, Reply, ToWorker, WorkerInfo, SUBCOMMAND};
use crate::runtime::secrets::{Form, Secrets};
use crate::runtime::{
    DocumentSink, Failure, FailureKind, Guard, RobotError, SecretSource, StepSink,
};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Told of a refusal: what was asked, of what, why.
pub type RefusalReport = dyn Fn(&str, &str, &str) + Send + Sync;

/// What the engine provides to a robot process: the real counterparts of the
/// pipe-backed ones in [`super::child`].
pub struct Services {
    /// The robot's own credential: it may have the secrets
    /// `<credential>.*` and no others.
    pub credential: String,
    pub secrets: Arc<dyn SecretSource>,
    pub guard: Arc<dyn Guard>,
    /// Told of each refusal the moment the engine decides it (to audit it
    /// then): what was asked (`navigate`, `secret`, `emit` …), of what
    /// (masked), and why.
    pub refused: Arc<RefusalReport>,
    /// The secrets handed to the robot so far, for masking: filled here,
    /// shared with whoever else reports on the run (the rights proxy).
    pub served: Arc<Mutex<Secrets>>,
    pub steps: Option<Arc<dyn StepSink>>,
    pub sink: DocumentSink,
    pub log: Box<dyn Fn(&str) + Send + Sync>,
    /// Set by the engine (the rights proxy) to stop the robot.
    pub cancel: Arc<AtomicBool>,
    /// Told who the robot process runs as, as soon as it says so.
    pub ready: Box<dyn Fn(&WorkerInfo) + Send + Sync>,
}

/// How a robot process's attempt ended, seen from the engine.
pub struct Outcome {
    pub result: Result<(), RobotError>,
    pub emitted: usize,
    pub webdriver_commands: u64,
}

/// Grace beyond the script's own time budget before the process is killed:
/// the budget is checked between script operations, and one WebDriver
/// command may take up to 30 s.
const OVERRUN_GRACE: Duration = Duration::from_secs(60);

/// Lines of the robot process's stderr kept for a crash report.
const STDERR_TAIL: usize = 12;

/// Runs `job` in a robot process and serves it until it finishes or dies.
/// `handle` is only used to end an orphaned browser session.
pub fn run(handle: &tokio::runtime::Handle, job: Job, services: Services) -> Outcome {
    let mut outcome = Outcome {
        result: Ok(()),
        emitted: 0,
        webdriver_commands: 0,
    };
    let hard_limit = job.limits.time_budget + OVERRUN_GRACE;
    let webdriver = job.webdriver.clone();
    // Dropped last: whatever the robot and its browser left in it goes.
    let run_dir = match RunDir::create() {
        Ok(d) => d,
        Err(e) => {
            outcome.result = Err(RobotError::new(FailureKind::Driver, e));
            return outcome;
        }
    };
    let mut child = match spawn(&job.system, run_dir.path()) {
        Ok(c) => c,
        Err(e) => {
            outcome.result = Err(RobotError::new(FailureKind::Driver, e));
            return outcome;
        }
    };
    let pid = child.id();
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        outcome.result = Err(RobotError::new(
            FailureKind::Driver,
            "the robot process has no pipes",
        ));
        return outcome;
    };
    let stdin = Arc::new(Mutex::new(stdin));
    let secrets = services.served.clone();
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let stderr_done = forward_stderr(stderr, job.system.clone(), secrets.clone(), tail.clone());
    let finished = Arc::new(AtomicBool::new(false));
    let overran = Arc::new(AtomicBool::new(false));
    let watchdog = watch(
        pid,
        stdin.clone(),
        services.cancel.clone(),
        finished.clone(),
        overran.clone(),
        hard_limit,
    );

    let mut done: Option<Done> = None;
    let mut session: Option<String> = None;
    let mut protocol_error: Option<String> = None;
    if let Err(e) = send(&stdin, &ToWorker::Job(Box::new(job))) {
        protocol_error = Some(format!("cannot hand the job to the robot process: {e}"));
    }
    let mut lines = BufReader::new(stdout);
    let mut line = String::new();
    while protocol_error.is_none() {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                protocol_error = Some(format!("cannot read from the robot process: {e}"));
                break;
            }
        }
        let msg: FromWorker = match serde_json::from_str(&line) {
            Ok(m) => m,
            Err(e) => {
                protocol_error = Some(format!("the robot process sent garbage: {e}"));
                break;
            }
        };
        let mask = |s: &str| match secrets.lock() {
            Ok(m) => m.mask(s),
            Err(_) => "«masked»".to_string(),
        };
        match msg {
            FromWorker::Ready(info) => (services.ready)(&info),
            FromWorker::Call(call) => {
                let reply = answer(call, &services, &secrets);
                if let Err(e) = send(&stdin, &ToWorker::Reply(reply)) {
                    protocol_error = Some(format!("cannot answer the robot process: {e}"));
                }
            }
            FromWorker::Step(mut s) => {
                if let Some(steps) = &services.steps {
                    s.args = s.args.iter().map(|a| mask(a)).collect();
                    s.result = mask(&s.result);
                    s.url = s.url.map(|u| mask(&u));
                    steps.step(s);
                }
            }
            FromWorker::Log(l) => (services.log)(&mask(&l)),
            FromWorker::Session(id) => session = Some(id),
            FromWorker::Done(d) => {
                done = Some(d);
                break;
            }
        }
    }
    finished.store(true, Ordering::Relaxed);
    if protocol_error.is_some() {
        let _ = child.kill();
    }
    let status = wait_or_kill(&mut child, Duration::from_secs(10));
    // Whatever the robot process started and left behind (a display, a
    // terminal program, a converter) goes with it: they share its group.
    // SAFETY: signalling the process group our child led.
    unsafe {
        libc::kill(-(pid as i32), libc::SIGKILL);
    }
    let _ = watchdog.join();
    drop(stdin);
    let _ = stderr_done.recv_timeout(Duration::from_secs(2));
    let served = secrets.lock().map(|s| s.clone()).unwrap_or_default();
    match done {
        Some(d) => {
            outcome.result = d.result;
            outcome.emitted = d.emitted;
            outcome.webdriver_commands = d.webdriver_commands;
        }
        None => {
            // The process died mid-run: its browser is still open.
            if let Some(id) = session {
                let _ = handle.block_on(marc_webdriver::end_session(&webdriver, &id));
            }
            let why = if overran.load(Ordering::Relaxed) {
                format!(
                    "the robot process overran its time budget by more than {} s and was killed",
                    OVERRUN_GRACE.as_secs()
                )
            } else if let Some(e) = protocol_error {
                e
            } else {
                format!("the robot process ended unexpectedly ({status})")
            };
            let tail: Vec<String> = tail
                .lock()
                .map(|t| t.iter().cloned().collect())
                .unwrap_or_default();
            let detail = if tail.is_empty() {
                String::new()
            } else {
                format!("; its last output: {}", tail.join(" | "))
            };
            let kind = if overran.load(Ordering::Relaxed) {
                FailureKind::Budget
            } else {
                FailureKind::Driver
            };
            outcome.result = Err(RobotError::new(
                kind,
                served.mask(&format!("{why}{detail}")),
            ));
        }
    }
    outcome
}

/// A private directory for one robot process: its `HOME` and `TMPDIR`, so
/// the browser profile and whatever else the robot writes land there. The
/// engine removes it when the attempt is over, however it ended (a robot
/// process killed outright cannot clean up after itself).
struct RunDir(PathBuf);

impl RunDir {
    fn create() -> Result<RunDir, String> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("marc-robot-run-")
            .tempdir()
            .map_err(|e| format!("cannot create the robot's own directory: {e}"))?
            .keep();
        let d = RunDir(dir);
        std::fs::set_permissions(&d.0, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot close the robot's directory: {e}"))?;
        if let Some((uid, gid)) = marc_webdriver::robot_user() {
            std::os::unix::fs::chown(&d.0, Some(uid), Some(gid))
                .map_err(|e| format!("cannot hand the robot its directory: {e}"))?;
        }
        Ok(d)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl RunDir {
    /// Kills what still runs with its profile in this directory: a browser
    /// whose robot process died before it could close it (chromedriver may
    /// take its time over the session) would otherwise write the profile
    /// back after the directory is gone.
    fn kill_browsers(&self) {
        // Any argument naming the directory: the browser's
        // `--user-data-dir=`, and its helpers' (crash handler, zygote)
        // paths inside it.
        let dir = self.0.display().to_string();
        let Ok(rd) = std::fs::read_dir("/proc") else {
            return;
        };
        for e in rd.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let ours = cmdline
                .split(|b| *b == 0)
                .any(|arg| String::from_utf8_lossy(arg).contains(&dir));
            if ours {
                // SAFETY: signalling a browser (or its helper) started for
                // this robot attempt (it names this attempt's directory).
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        // A browser still shutting down may write a last file, and on a
        // busy machine a killed one takes a while to go: kill and try
        // again, for up to 10 s.
        for _ in 0..50 {
            self.kill_browsers();
            match std::fs::remove_dir_all(&self.0) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
                Ok(()) if !self.0.exists() => return,
                _ => std::thread::sleep(Duration::from_millis(200)),
            }
        }
        tracing::warn!("cannot remove the robot's directory {}", self.0.display());
    }
}

/// Starts `marc robot-worker`, as the robot user when marc is root, with an
/// environment of its own (none of marc's secrets or keys) and `dir` as its
/// home and temporary directory.
fn spawn(system: &str, dir: &Path) -> Result<Child, String> {
    let robot = marc_webdriver::robot_user();
    let exe = worker_exe(robot.is_some())?;
    let mut cmd = Command::new(&exe);
    cmd.arg(SUBCOMMAND)
        .arg("--system")
        .arg(system)
        .env_clear()
        .current_dir(dir)
        .env("HOME", dir)
        .env("TMPDIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so whatever it starts can be stopped with it.
        .process_group(0);
    for var in PASSED_ENV {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    if let Some((uid, gid)) = robot {
        cmd.uid(uid).gid(gid);
    }
    // SAFETY: prctl is async-signal-safe. The robot process dies with the
    // thread serving it, even if marc is killed with SIGKILL.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| format!("cannot start the robot process {}: {e}", exe.display()))
}

/// Environment variables a robot process inherits; everything else (the
/// vault key, `MARC_SECRET_*`, the data directory) stays with the engine.
const PASSED_ENV: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TESSDATA_PREFIX",
    "OMP_THREAD_LIMIT",
    "RUST_BACKTRACE",
    "MARC_LOG",
];

fn send(stdin: &Mutex<ChildStdin>, m: &ToWorker) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(m)?;
    line.push(b'\n');
    let mut w = stdin
        .lock()
        .map_err(|_| std::io::Error::other("the pipe is poisoned"))?;
    w.write_all(&line)?;
    w.flush()
}

/// The engine's answer to one call: rights from the guard, secrets from the
/// vault (only the robot's own), documents to the store (never one holding
/// a secret). Each refusal is reported to `s.refused` as it is decided.
fn answer(call: Call, s: &Services, served: &Mutex<Secrets>) -> Reply {
    let masked = |t: &str| match served.lock() {
        Ok(m) => m.mask(t),
        Err(_) => "«masked»".to_string(),
    };
    let decided = |what: &str, target: &str, d: Result<(), String>| {
        if let Err(reason) = &d {
            (s.refused)(what, &masked(target), reason);
        }
        d
    };
    match call {
        Call::Secret(name) => {
            if !in_scope(&name, &s.credential) {
                let reason = format!(
                    "the robot may only use the secrets of its own credential ({}.*)",
                    s.credential
                );
                (s.refused)("secret", &name, &reason);
                return Reply::Secret(Err(Failure::new(
                    FailureKind::Refused,
                    format!("{name:?} is refused by the rights profile: {reason}"),
                )));
            }
            let r = s.secrets.get(&name);
            if let (Ok(v), Ok(mut served)) = (&r, served.lock()) {
                served.add(&name, v);
            }
            Reply::Secret(r)
        }
        Call::Emit(doc) => {
            let leak = served.lock().ok().and_then(|sv| secret_in(&doc, &sv));
            if let Some((name, how)) = leak {
                let reason = format!("the document holds the secret {name}{how}");
                (s.refused)("emit", &masked(&doc.key()), &reason);
                return Reply::Stored(Err(Failure::new(
                    FailureKind::Refused,
                    format!("refused by the rights profile: {reason}; documents never carry credentials"),
                )));
            }
            Reply::Stored((s.sink)(*doc))
        }
        Call::Navigation(url) => {
            Reply::Decision(decided("navigate", &url, s.guard.navigation(&url)))
        }
        Call::Click {
            selector,
            text,
            attrs,
        } => Reply::Decision(decided(
            "click",
            &selector,
            s.guard.click(&selector, &text, &attrs),
        )),
        Call::Script(js) => Reply::Decision(decided("eval_js", &js, s.guard.script(&js))),
        Call::Refusals => Reply::Refusals(s.guard.refusals()),
    }
}

/// Whether a secret's name belongs to `credential` (`esdh.password` to `esdh`).
fn in_scope(name: &str, credential: &str) -> bool {
    name.strip_prefix(credential)
        .and_then(|r| r.strip_prefix('.'))
        .is_some_and(|rest| !rest.is_empty())
}

/// A secret handed to the robot that a document carries, in any field or
/// across them, and how it was found.
fn secret_in(doc: &marc_model::Document, served: &Secrets) -> Option<(String, &'static str)> {
    let mut fields: Vec<&str> = vec![
        &doc.case_id,
        &doc.doc_id,
        &doc.title,
        &doc.date,
        &doc.kind,
        &doc.department,
        &doc.text,
    ];
    for a in &doc.attachments {
        fields.push(&a.name);
        fields.push(&a.text);
    }
    let all = fields.join("\n");
    fields
        .iter()
        .copied()
        .chain(std::iter::once(all.as_str()))
        .find_map(|f| served.find(f))
        .map(|(name, form)| {
            let how = match form {
                Form::Plain => "",
                Form::Reversed => " (reversed)",
            };
            (name.to_string(), how)
        })
}

/// Forwards the robot process's stderr to the log (secrets masked) and keeps
/// its last lines for a crash report; the receiver hears when it is closed.
fn forward_stderr(
    stderr: std::process::ChildStderr,
    system: String,
    secrets: Arc<Mutex<Secrets>>,
    tail: Arc<Mutex<VecDeque<String>>>,
) -> std::sync::mpsc::Receiver<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let line = match secrets.lock() {
                Ok(m) => m.mask(&line),
                Err(_) => "«masked»".to_string(),
            };
            tracing::info!(target: "robot", system = %system, "robot process: {line}");
            if let Ok(mut t) = tail.lock() {
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
        }
        let _ = tx.send(());
    });
    rx
}

/// Forwards cancellation to the robot process, and kills it if it runs
/// past `limit`.
fn watch(
    pid: u32,
    stdin: Arc<Mutex<ChildStdin>>,
    cancel: Arc<AtomicBool>,
    finished: Arc<AtomicBool>,
    overran: Arc<AtomicBool>,
    limit: Duration,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let started = Instant::now();
        let mut cancelled = false;
        while !finished.load(Ordering::Relaxed) {
            if !cancelled && cancel.load(Ordering::Relaxed) {
                cancelled = true;
                let _ = send(&stdin, &ToWorker::Cancel);
            }
            if started.elapsed() > limit {
                overran.store(true, Ordering::Relaxed);
                // SAFETY: signalling our own child, which has not been reaped
                // (the serving thread reaps it only after `finished`).
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

/// Waits up to `grace` for the child to exit, then kills it.
fn wait_or_kill(child: &mut Child, grace: Duration) -> String {
    let deadline = Instant::now() + grace;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return describe(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                return child
                    .wait()
                    .map(describe)
                    .unwrap_or_else(|e| format!("cannot wait for it: {e}"));
            }
        }
    }
}

fn describe(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => s.to_string(),
    }
}

/// The marc binary, at a path the robot user can execute. A binary under a
/// directory closed to others (`/root/.cargo/bin`) is linked or copied once
/// into a root-owned directory the robot user can read but not change.
fn worker_exe(as_robot: bool) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the marc binary: {e}"))?;
    if !as_robot || others_can_execute(&exe) {
        return Ok(exe);
    }
    share_exe(&exe)
}

/// Whether every directory on the way to `path`, and `path` itself, has the
/// execute bit for others.
fn others_can_execute(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors().all(|p| {
        p.as_os_str().is_empty()
            || std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0)
    })
}

/// Links (or copies) `exe` into `$TMPDIR/marc-robot-bin-DEV-INODE-MTIME/`;
/// idempotent, so it is cheap to call before every spawn.
fn share_exe(exe: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(exe).map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!(
        "marc-robot-bin-{}-{}-{}",
        meta.dev(),
        meta.ino(),
        meta.mtime()
    ));
    let fail = |e: std::io::Error| {
        format!(
            "the robot user cannot execute {} and it cannot be shared in {}: {e}",
            exe.display(),
            dir.display()
        )
    };
    match std::fs::create_dir(&dir) {
        Ok(()) => {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).map_err(fail)?;
            remove_stale_shares(&dir);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(fail(e)),
    }
    // Someone else's directory of that name would let them swap the binary.
    let d = std::fs::symlink_metadata(&dir).map_err(fail)?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !d.is_dir() || d.uid() != me || d.mode() & 0o022 != 0 {
        return Err(fail(std::io::Error::other(
            "it exists and is not a private directory of marc's",
        )));
    }
    let target = dir.join("marc");
    if !target.exists() && std::fs::hard_link(exe, &target).is_err() {
        let partial = dir.join("marc.partial");
        std::fs::copy(exe, &partial).map_err(fail)?;
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755)).map_err(fail)?;
        std::fs::rename(&partial, &target).map_err(fail)?;
    }
    Ok(target)
}

/// Removes the shares of earlier builds (a hard link keeps an old binary's
/// disk space alive), keeping `current`.
fn remove_stale_shares(current: &Path) {
    use std::os::unix::fs::MetadataExt;
    let (Some(parent), Some(name)) = (current.parent(), current.file_name()) else {
        return;
    };
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let Ok(rd) = std::fs::read_dir(parent) else {
        return;
    };
    for e in rd.flatten() {
        let n = e.file_name();
        let ours = e.metadata().is_ok_and(|m| m.is_dir() && m.uid() == me);
        if ours && n != name && n.to_string_lossy().starts_with("marc-robot-bin-") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_robot_process_past_its_limit_is_killed_and_cancel_is_forwarded() {
        // `cat` stands in for a robot process: it echoes what it is sent.
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = Arc::new(Mutex::new(child.stdin.take().unwrap()));
        let cancel = Arc::new(AtomicBool::new(true));
        let finished = Arc::new(AtomicBool::new(false));
        let overran = Arc::new(AtomicBool::new(false));
        let t0 = Instant::now();
        let w = watch(
            child.id(),
            stdin,
            cancel,
            finished,
            overran.clone(),
            Duration::from_millis(300),
        );
        w.join().unwrap();
        let status = describe(child.wait().unwrap());
        assert!(overran.load(Ordering::Relaxed));
        assert_eq!(status, "killed by signal 9");
        assert!(t0.elapsed() < Duration::from_secs(5));
        let mut echoed = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut echoed)
            .unwrap();
        assert_eq!(echoed.trim(), "\"Cancel\"");
    }

    #[test]
    fn a_robot_gets_only_its_own_credential() {
        assert!(in_scope("legacy.password", "legacy"));
        assert!(in_scope("legacy.user", "legacy"));
        assert!(!in_scope("esdh.password", "legacy"));
        assert!(!in_scope("legacy2.password", "legacy"));
        assert!(!in_scope("legacy", "legacy"));
        assert!(!in_scope("legacy.", "legacy"));
    }

    #[test]
    fn a_document_carrying_a_secret_is_found_in_any_form() {
        let served = Secrets::new(&[("esdh.password".into(), "laes-kun-2018".into())]);
        let doc = |title: &str, text: &str| marc_model::Document {
            system: "esdh".into(),
            case_id: "S1".into(),
            doc_id: "D1".into(),
            title: title.into(),
            date: "2020-01-01".into(),
            kind: String::new(),
            department: String::new(),
            text: text.into(),
            attachments: vec![],
            ocr_confidence: None,
            cpr: None,
        };
        assert!(secret_in(&doc("Brev", "Kære borger"), &served).is_none());
        for (t, x) in [
            ("Brev", "kode: LAES-KUN-2018"),
            ("Brev", "8102 nuk seal"),
            ("Brev", "l a e s k u n 2 0 1 8"),
            ("Brev", "laes-kun\n\n-2018 og mere"),
        ] {
            assert!(secret_in(&doc(t, x), &served).is_some(), "{t} / {x}");
        }
    }

    #[test]
    fn a_binary_under_a_closed_directory_is_not_executable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("sub/marc");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(&bin, b"#!/bin/sh\n").unwrap();
        let mode =
            |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
        mode(dir.path(), 0o755).unwrap();
        mode(&bin, 0o755).unwrap();
        mode(&dir.path().join("sub"), 0o755).unwrap();
        assert!(others_can_execute(&bin));
        mode(&dir.path().join("sub"), 0o700).unwrap();
        assert!(!others_can_execute(&bin));
        mode(&dir.path().join("sub"), 0o755).unwrap();
        mode(&bin, 0o750).unwrap();
        assert!(!others_can_execute(&bin));
    }
}
