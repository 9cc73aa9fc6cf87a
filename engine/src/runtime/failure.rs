//! Why a robot run stopped, as a type: the robot process sends it to the
//! engine over the pipe, and the engine decides retries by its kind, never
//! by matching words in a message.
//!
//! Inside Rhai a failure is an error value. Kinds a script may handle
//! (a page that did not load, a browser hiccup) are ordinary errors that
//! `try/catch` can catch; the others (a refusal, a spent budget, a rejected
//! login, a rejected document) end the script with a termination Rhai
//! cannot catch, so a script cannot carry on past them.

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// What kind of failure stopped a robot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The rights profile refused an action (or a request of the page).
    Refused,
    /// The engine stopped the run (shutdown, a refusal seen by the proxy).
    Cancelled,
    /// The time budget or the document limit is spent.
    Budget,
    /// A sandbox limit: operations, call depth, sizes, log volume.
    Sandbox,
    /// The script itself is wrong: it does not compile, calls what does not
    /// exist, uses the API wrongly, or said `fail(reason, #{final: true})`.
    Script,
    /// The system refused the robot's credentials: never tried again, so an
    /// account is not locked by repeated wrong passwords.
    Login,
    /// A document was rejected: no usable id, a different document under an
    /// id already stored, a secret in its text.
    Document,
    /// The browser, the screen, OCR or the robot process failed.
    Driver,
    /// The case system misbehaved: an error page, a page that never showed
    /// what the robot waits for, or `fail(reason)`.
    System,
    /// The robot's actions could not be put on the audit log: a robot does
    /// not run unrecorded.
    Audit,
}

impl FailureKind {
    /// Whether another attempt cannot help. Only driver and system failures
    /// are transient.
    pub fn is_final(self) -> bool {
        !matches!(self, FailureKind::Driver | FailureKind::System)
    }

    /// Whether a script may catch it with `try/catch`.
    pub(crate) fn catchable(self) -> bool {
        matches!(
            self,
            FailureKind::Script | FailureKind::Driver | FailureKind::System
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Refused => "refused",
            FailureKind::Cancelled => "cancelled",
            FailureKind::Budget => "budget",
            FailureKind::Sandbox => "sandbox",
            FailureKind::Script => "script",
            FailureKind::Login => "login",
            FailureKind::Document => "document",
            FailureKind::Driver => "driver",
            FailureKind::System => "system",
            FailureKind::Audit => "audit",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure with its message, as the engine and the robot process answer
/// each other (`Reply`s of refused decisions and rejected documents).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

/// Where in a script a failure happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptPos {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// Why a robot run stopped without success.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct RobotError {
    pub kind: FailureKind,
    pub message: String,
    /// The script position, when the failure happened in a script.
    pub at: Option<ScriptPos>,
}

impl std::fmt::Display for RobotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.at {
            Some(p) => write!(f, "{}:{}:{}: {}", p.file, p.line, p.column, self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl RobotError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> RobotError {
        RobotError {
            kind,
            message: message.into(),
            at: None,
        }
    }

    pub fn at(mut self, file: &str, line: usize, column: usize) -> RobotError {
        self.at = Some(ScriptPos {
            file: file.to_string(),
            line,
            column,
        });
        self
    }

    /// Whether the rights profile refused an action.
    pub fn is_refusal(&self) -> bool {
        self.kind == FailureKind::Refused
    }

    /// Whether trying again cannot help (see [`FailureKind::is_final`]).
    pub fn is_final(&self) -> bool {
        self.kind.is_final()
    }
}

impl From<Failure> for RobotError {
    fn from(f: Failure) -> RobotError {
        RobotError::new(f.kind, f.message)
    }
}

/// The kind of the failure most recently raised by the API or the sandbox,
/// with its message: Rhai carries only the message through a script, so the
/// kind is kept beside it and matched up when the script stops.
#[derive(Clone, Default)]
pub(crate) struct Raised(Arc<Mutex<Option<Failure>>>);

impl Raised {
    pub(crate) fn set(&self, f: Failure) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(f);
        }
    }

    /// The kind of a failure whose message is `message`, if it was raised
    /// through [`Raised::set`] (a script's own `throw` was not).
    pub(crate) fn kind_of(&self, message: &str) -> Option<FailureKind> {
        let g = self.0.lock().ok()?;
        g.as_ref().filter(|f| f.message == message).map(|f| f.kind)
    }
}

/// An argument as it may be quoted in an error or a log line: long ones
/// (a 246 KB `data:` URL) are cut, saying how long they were.
pub fn shorten(s: &str) -> String {
    shorten_to(s, 120)
}

/// [`shorten`] keeping up to `keep` characters.
pub fn shorten_to(s: &str, keep: usize) -> String {
    let n = s.chars().count();
    if n <= keep + 40 {
        return s.to_string();
    }
    let head: String = s.chars().take(keep).collect();
    let size = if s.len() >= 10 * 1024 {
        format!("{} KB", s.len() / 1024)
    } else {
        format!("{n} characters")
    };
    format!("{head}… ({size} in all)")
}

/// A message with every overlong word (a URL, a data blob) shortened.
pub fn shorten_words(s: &str) -> String {
    if !s.split_whitespace().any(|w| w.len() > 200) {
        return s.to_string();
    }
    s.split(' ')
        .map(|w| {
            if w.len() > 200 {
                shorten(w)
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_driver_and_system_failures_are_retried() {
        use FailureKind::*;
        for k in [Refused, Cancelled, Budget, Sandbox, Script, Login, Document] {
            assert!(k.is_final(), "{k}");
        }
        assert!(!Driver.is_final() && !System.is_final());
        assert!(!Refused.catchable() && !Login.catchable() && !Document.catchable());
    }

    #[test]
    fn long_arguments_are_shortened() {
        let url = format!("data:image/png;base64,{}", "A".repeat(246 * 1024));
        let s = shorten(&url);
        assert!(s.len() < 200, "{}", s.len());
        assert!(s.starts_with("data:image/png;base64,AAA") && s.ends_with("(246 KB in all)"));
        assert_eq!(shorten("/case?id=1"), "/case?id=1");
        let msg = shorten_words(&format!("download: cannot fetch {url}: refused"));
        assert!(
            msg.len() < 250 && msg.ends_with("(246 KB in all) refused"),
            "{msg}"
        );
    }

    #[test]
    fn the_error_crosses_the_pipe_with_its_kind() {
        let e = RobotError::new(FailureKind::Login, "login refused").at("x.rhai", 3, 1);
        let back: RobotError = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.to_string(), "x.rhai:3:1: login refused");
    }
}
