//! The robot process: where a robot script actually runs.
//!
//! Each robot attempt runs in a child process (`marc robot-worker`), started
//! by the engine and, when marc runs as root, under the unprivileged OS user
//! `marc-robot`, the same user as its chromedriver and Chromium. The child
//! holds the Rhai runtime, the browser session, the screen and OCR, and the
//! attachment converters (so untrusted PDFs are parsed without privileges).
//! It holds nothing else: no data directory, no vault key, no environment
//! of marc's. Everything that needs those is asked of the engine over a pipe:
//!
//! - [`host`] (the engine's side) starts the child, answers its calls with
//!   the real secrets, rights decisions, document store, recorder and log,
//!   forwards cancellation, and kills the child if it overruns its budget;
//! - [`child`] (the robot's side) runs one [`Job`], with pipe-backed
//!   implementations of the runtime's traits.
//!
//! The wire format is JSON Lines, one message per line, in both directions.
//! Calls are synchronous (the script runs on one thread), so replies need no
//! ids: each `Call` gets exactly one [`Reply`] before the next.

pub mod child;
pub mod host;

use crate::runtime::{sandbox::Limits, Failure, RequestInfo, RobotError, Script, SessionRules};
use marc_model::Document;
use serde::{Deserialize, Serialize};

/// Everything the child needs to run one robot attempt.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    pub system: String,
    pub base_url: String,
    /// The robot's credential (`<credential>.user`, `.password`), for `login()`.
    pub credential: String,
    /// The manifest's `[session]` rules.
    pub session: Option<SessionRules>,
    pub request: RequestInfo,
    pub script: Script,
    pub limits: Limits,
    /// The WebDriver server (marc's chromedriver or a Grid).
    pub webdriver: String,
    /// The rights proxy every browser request must go through.
    pub proxy: String,
    /// The browser runs on this machine (fresh profile directory).
    pub local_browser: bool,
    pub extra_browser_args: Vec<String>,
    pub screen: ScreenJob,
    /// Send each step to the engine's session recording.
    pub record_steps: bool,
    /// Attach screenshots to page-changing steps.
    pub screenshots: bool,
}

/// How a screen robot sees its system.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ScreenJob {
    /// A DOM robot: the browser only.
    None,
    /// A `<canvas>` page at the base URL, read by OCR.
    Canvas { selector: String },
    /// A program on an X11 display (`None`: an Xvfb the child starts).
    /// `{marc}` in the program is the marc binary.
    X11 {
        program: Vec<String>,
        window: String,
        display: Option<String>,
    },
}

/// Engine → robot process.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToWorker {
    Job(Box<Job>),
    Reply(Reply),
    /// Stop at the next opportunity (a page request was refused, or marc
    /// is shutting down).
    Cancel,
}

/// The answer to a [`Call`]. Failures carry their kind, so a refusal in
/// the engine ends the robot as a refusal.
#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    Secret(Result<String, Failure>),
    /// `Ok(true)`: a new document; `Ok(false)`: the same one already stored.
    Stored(Result<bool, Failure>),
    /// `Err`: the rights profile's reason for refusing.
    Decision(Result<(), String>),
    Refusals(Vec<String>),
}

/// Robot process → engine: something the engine must decide or provide.
#[derive(Debug, Serialize, Deserialize)]
pub enum Call {
    Secret(String),
    Emit(Box<Document>),
    Navigation(String),
    Click {
        selector: String,
        text: String,
        attrs: Vec<(String, String)>,
    },
    Script(String),
    Refusals,
}

/// Robot process → engine.
#[derive(Debug, Serialize, Deserialize)]
pub enum FromWorker {
    /// Sent first: who the robot runs as.
    Ready(WorkerInfo),
    Call(Call),
    Step(crate::runtime::StepRecord),
    Log(String),
    /// The browser session, so the engine can end it if the child dies.
    Session(String),
    Done(Done),
}

/// The robot process's identity, as the kernel sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WorkerInfo {
    pub pid: u32,
    pub uid: u32,
    pub user: String,
}

/// How the attempt ended, from the robot process's side: a typed failure,
/// so the engine retries by kind.
#[derive(Debug, Serialize, Deserialize)]
pub struct Done {
    pub result: Result<(), RobotError>,
    pub emitted: usize,
    pub webdriver_commands: u64,
}

/// Name of the hidden subcommand that runs a robot process.
pub const SUBCOMMAND: &str = "robot-worker";
