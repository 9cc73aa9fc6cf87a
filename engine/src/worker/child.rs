//! The robot's side: `marc robot-worker` runs one [`Job`] and exits.
//!
//! Standard input carries the job, replies and cancellation; the original
//! standard output carries [`FromWorker`] messages and nothing else (fd 1 is
//! pointed at stderr, so a library that prints cannot corrupt the stream).

use super::{Call, Done, FromWorker, Job, Reply, ScreenJob, ToWorker, WorkerInfo};
use crate::runtime::{
    self, Failure, FailureKind, Guard, RobotEnv, RobotError, ScreenAccess, SecretSource,
    StepRecord, StepSink,
};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// Runs the robot process; returns its exit code.
pub fn main() -> i32 {
    let out = match protocol_stdout() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("robot process: cannot set up its output: {e}");
            return 1;
        }
    };
    // SAFETY: fd 0 is this process's stdin, owned by nobody else here.
    let mut input = BufReader::new(unsafe { std::fs::File::from_raw_fd(0) });
    let job = match read_message(&mut input) {
        Some(ToWorker::Job(job)) => *job,
        _ => {
            eprintln!("robot process: expected a job on standard input");
            return 1;
        }
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let c2 = cancel.clone();
    std::thread::spawn(move || loop {
        match read_message(&mut input) {
            Some(ToWorker::Reply(r)) => {
                if tx.send(r).is_err() {
                    return;
                }
            }
            Some(ToWorker::Cancel) => c2.store(true, Ordering::Relaxed),
            Some(ToWorker::Job(_)) => {}
            // The engine is gone: nobody would store what this robot finds.
            None => std::process::exit(3),
        }
    });
    let pipe = Arc::new(Pipe {
        out: Mutex::new(out),
        replies: Mutex::new(rx),
    });
    let _ = pipe.send(&FromWorker::Ready(whoami()));
    let done = run(job, pipe.clone(), cancel);
    match pipe.send(&FromWorker::Done(done)) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Duplicates stdout for the protocol and points fd 1 at stderr.
fn protocol_stdout() -> std::io::Result<std::fs::File> {
    // SAFETY: plain fd syscalls on this process's own standard streams; the
    // new fd is close-on-exec so programs the robot starts cannot write to it.
    unsafe {
        let fd = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(std::fs::File::from_raw_fd(fd))
    }
}

fn read_message(input: &mut impl BufRead) -> Option<ToWorker> {
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => serde_json::from_str(&line).ok(),
    }
}

fn whoami() -> WorkerInfo {
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    WorkerInfo {
        pid: std::process::id(),
        uid,
        user: marc_webdriver::user_name(uid).unwrap_or_else(|| uid.to_string()),
    }
}

/// The engine at the other end of the pipe.
struct Pipe {
    out: Mutex<std::fs::File>,
    replies: Mutex<mpsc::Receiver<Reply>>,
}

impl Pipe {
    fn send(&self, m: &FromWorker) -> Result<(), String> {
        let mut line = serde_json::to_vec(m).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let mut out = self.out.lock().map_err(|_| "the pipe is poisoned")?;
        out.write_all(&line)
            .map_err(|e| format!("the engine stopped listening: {e}"))
    }

    fn call(&self, c: Call) -> Result<Reply, String> {
        // One call at a time: the lock is held until the reply has arrived.
        let rx = self.replies.lock().map_err(|_| "the pipe is poisoned")?;
        self.send(&FromWorker::Call(c))?;
        rx.recv()
            .map_err(|_| "the engine did not answer".to_string())
    }
}

fn unexpected(r: Reply) -> String {
    format!("the engine answered out of turn: {r:?}")
}

/// A pipe that fails is the robot process's own failure.
fn pipe_failure(m: String) -> Failure {
    Failure::new(FailureKind::Driver, m)
}

impl SecretSource for Pipe {
    fn get(&self, name: &str) -> Result<String, Failure> {
        match self
            .call(Call::Secret(name.to_string()))
            .map_err(pipe_failure)?
        {
            Reply::Secret(r) => r,
            other => Err(pipe_failure(unexpected(other))),
        }
    }
}

/// Rights decisions are the engine's: if it cannot be asked, the answer is no.
impl Guard for Pipe {
    fn navigation(&self, url: &str) -> Result<(), String> {
        self.decide(Call::Navigation(url.to_string()))
    }
    fn click(&self, selector: &str, text: &str, attrs: &[(String, String)]) -> Result<(), String> {
        self.decide(Call::Click {
            selector: selector.to_string(),
            text: text.to_string(),
            attrs: attrs.to_vec(),
        })
    }
    fn script(&self, js: &str) -> Result<(), String> {
        self.decide(Call::Script(js.to_string()))
    }
    fn refusals(&self) -> Vec<String> {
        match self.call(Call::Refusals) {
            Ok(Reply::Refusals(r)) => r,
            Ok(other) => vec![unexpected(other)],
            Err(e) => vec![e],
        }
    }
}

impl Pipe {
    fn decide(&self, c: Call) -> Result<(), String> {
        match self.call(c)? {
            Reply::Decision(d) => d,
            other => Err(unexpected(other)),
        }
    }
}

struct PipeSteps {
    pipe: Arc<Pipe>,
    screenshots: bool,
}

impl StepSink for PipeSteps {
    fn step(&self, step: StepRecord) {
        let _ = self.pipe.send(&FromWorker::Step(step));
    }
    fn wants_screenshots(&self) -> bool {
        self.screenshots
    }
}

/// Opens the browser and the screen, runs the script, closes everything.
fn run(job: Job, pipe: Arc<Pipe>, cancel: Arc<AtomicBool>) -> Done {
    let failed = |e: RobotError| Done {
        result: Err(e),
        emitted: 0,
        webdriver_commands: 0,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return failed(RobotError::new(
                FailureKind::Driver,
                format!("no async runtime: {e}"),
            ))
        }
    };
    let h = rt.handle().clone();
    let opts = marc_webdriver::BrowserOptions {
        proxy: Some(job.proxy.clone()),
        extra_args: job.extra_browser_args.clone(),
        local: job.local_browser,
        ..Default::default()
    };
    let browser = match h.block_on(marc_webdriver::Browser::open(&job.webdriver, &opts)) {
        Ok(b) => Arc::new(b),
        Err(e) => return failed(RobotError::new(FailureKind::Driver, e.to_string())),
    };
    if let Some(id) = h.block_on(browser.session_id()) {
        let _ = pipe.send(&FromWorker::Session(id));
    }
    let (screen, desktop) = match open_screen(&job, &browser, &h) {
        Ok(s) => s,
        Err(e) => {
            if let Ok(b) = Arc::try_unwrap(browser) {
                let _ = h.block_on(b.close());
            }
            return failed(RobotError::new(FailureKind::Driver, e));
        }
    };
    let log_pipe = pipe.clone();
    let sink_pipe = pipe.clone();
    let mut env = RobotEnv::new(h.clone(), &job.system, &job.base_url, job.request.clone())
        .with_session(job.session.clone());
    env.credential = job.credential.clone();
    env.browser = Some(browser.clone());
    env.screen = screen.map(Mutex::new);
    env.secrets = pipe.clone();
    env.guard = Some(pipe.clone());
    env.steps = job.record_steps.then(|| {
        Arc::new(PipeSteps {
            pipe: pipe.clone(),
            screenshots: job.screenshots,
        }) as Arc<dyn StepSink>
    });
    env.sink = Box::new(move |doc| {
        match sink_pipe
            .call(Call::Emit(Box::new(doc)))
            .map_err(pipe_failure)?
        {
            Reply::Stored(r) => r,
            other => Err(pipe_failure(unexpected(other))),
        }
    });
    env.log = Box::new(move |line| {
        let _ = log_pipe.send(&FromWorker::Log(line.to_string()));
    });
    env.limits = job.limits.clone();
    env.cancel = cancel;
    let env = Arc::new(env);
    let result = runtime::run_script(env.clone(), &job.script);
    let emitted = env.documents_emitted();
    drop(env);
    drop(desktop);
    let webdriver_commands = browser.commands();
    if let Ok(b) = Arc::try_unwrap(browser) {
        let _ = h.block_on(b.close());
    }
    Done {
        result,
        emitted,
        webdriver_commands,
    }
}

type Opened = (
    Option<Box<dyn ScreenAccess>>,
    Option<crate::screens::X11Desktop>,
);

fn open_screen(
    job: &Job,
    browser: &Arc<marc_webdriver::Browser>,
    h: &tokio::runtime::Handle,
) -> Result<Opened, String> {
    match &job.screen {
        ScreenJob::None => Ok((None, None)),
        ScreenJob::Canvas { selector } => {
            // The canvas page is the system: open it, and read the canvas.
            let b = browser.clone();
            let url = job.base_url.clone();
            h.block_on(async move { b.goto(&url).await })
                .map_err(|e| e.to_string())?;
            let canvas = crate::screens::CanvasScreen {
                browser: browser.clone(),
                handle: h.clone(),
                selector: selector.clone(),
            };
            let ocr = crate::screens::shared_ocr()?;
            let screen = crate::screens::OcrScreen::new(Box::new(canvas), ocr);
            Ok((Some(Box::new(screen)), None))
        }
        ScreenJob::X11 {
            program,
            window,
            display,
        } => {
            let (screen, desktop) =
                crate::screens::x11_screen(program, window, display.as_deref())?;
            Ok((Some(Box::new(screen)), Some(desktop)))
        }
    }
}
