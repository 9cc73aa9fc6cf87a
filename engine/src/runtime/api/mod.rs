//! The robot API registered into Rhai. Each function's doc line here is what
//! `marc dsl` prints, so the reference is generated from these files.
//!
//! Every action goes through [`RobotEnv::act`]: it checks cancellation,
//! runs the action, stops the robot at a refusal the proxy saw, records the
//! step (arguments masked and shortened) and turns a failure into a script
//! error of its kind ([`RobotEnv::raise`]).

/// Registers a documented API function.
macro_rules! api {
    ($engine:expr, $name:literal, [$($p:literal),*], $doc:literal, $f:expr) => {
        rhai::FuncRegistration::new($name)
            .with_params_info([$($p),*])
            .with_comments([concat!("/// ", $doc)])
            .register_into_engine($engine, $f);
    };
}

mod browser;
mod emit;
mod flow;
mod screen;

pub use emit::iso_date;
pub use screen::find_phrase;

use super::files::FileHandle;
use super::{shorten_to, shorten_words, Failure, FailureKind, RobotEnv, StepRecord};
use rhai::{Dynamic, Engine, EvalAltResult, Position};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) type RResult<T> = Result<T, Box<EvalAltResult>>;

/// Longest argument kept in a session recording, in characters.
const RECORDED_ARG: usize = 2000;

/// A short description of a command's result, for recordings.
trait Summary {
    fn summary(&self) -> String;
}
impl Summary for () {
    fn summary(&self) -> String {
        "ok".into()
    }
}
impl Summary for bool {
    fn summary(&self) -> String {
        self.to_string()
    }
}
impl Summary for String {
    fn summary(&self) -> String {
        let mut s: String = self.chars().take(120).collect();
        if self.chars().count() > 120 {
            s.push('…');
        }
        format!("{:?} ({} chars)", s, self.chars().count())
    }
}
impl<T> Summary for Vec<T> {
    fn summary(&self) -> String {
        format!("{} items", self.len())
    }
}
impl Summary for Option<String> {
    fn summary(&self) -> String {
        match self {
            Some(s) => s.summary(),
            None => "none".into(),
        }
    }
}
impl Summary for serde_json::Value {
    fn summary(&self) -> String {
        let s = self.to_string();
        s.chars().take(120).collect()
    }
}
impl Summary for marc_webdriver::Download {
    fn summary(&self) -> String {
        format!(
            "HTTP {}: {} bytes {}",
            self.status,
            self.bytes.len(),
            self.mime
        )
    }
}
impl Summary for marc_webdriver::Capture {
    fn summary(&self) -> String {
        format!("{}×{} px", self.width, self.height)
    }
}
impl Summary for FileHandle {
    fn summary(&self) -> String {
        self.describe()
    }
}
impl Summary for (marc_webdriver::Waited, String) {
    fn summary(&self) -> String {
        use marc_webdriver::Waited;
        match &self.0 {
            Waited::Found(i) => format!("found (selector {}) on {}", i + 1, self.1),
            Waited::Expired => format!("the session expired: {} shows the login page", self.1),
            Waited::ErrorPage(what) => format!("error page ({what}) at {}", self.1),
            Waited::TimedOut { .. } => format!("timed out on {}", self.1),
        }
    }
}
impl Summary for super::ScreenText {
    fn summary(&self) -> String {
        format!(
            "{} words, mean confidence {:.2}",
            self.words.len(),
            self.mean_conf
        )
    }
}

/// The failure of a browser command: what the page did (no such element,
/// a timeout) is the system's; everything else is the driver's.
pub(crate) fn driver_failure(e: marc_webdriver::DriverError) -> Failure {
    use marc_webdriver::DriverError as D;
    let kind = match &e {
        D::NotFound { .. } | D::Timeout { .. } | D::Script(_) => FailureKind::System,
        _ => FailureKind::Driver,
    };
    Failure::new(kind, e.to_string())
}

impl RobotEnv {
    /// Raises `f` in the script: an error `try/catch` can catch for script,
    /// driver and system failures, a termination it cannot for the rest.
    /// The message is masked and its overlong words shortened.
    pub(crate) fn raise<T>(&self, f: Failure) -> RResult<T> {
        let message = shorten_words(&self.mask(&f.message));
        let value = Dynamic::from(message.clone());
        let catchable = f.kind.catchable();
        self.run.raised.set(Failure::new(f.kind, message));
        Err(Box::new(if catchable {
            EvalAltResult::ErrorRuntime(value, Position::NONE)
        } else {
            EvalAltResult::ErrorTerminated(value, Position::NONE)
        }))
    }

    /// [`Self::raise`] for a failure of `kind`.
    pub(crate) fn fail_as<T>(&self, kind: FailureKind, message: impl Into<String>) -> RResult<T> {
        self.raise(Failure::new(kind, message))
    }

    /// Runs one API action: blocks on its future, checks the proxy's
    /// refusals, records the step (arguments masked), and turns failures
    /// into script errors.
    fn act<T: Summary>(
        &self,
        command: &str,
        args: &[&str],
        rights: Option<String>,
        fut: impl Future<Output = Result<T, Failure>>,
    ) -> RResult<T> {
        self.act_since(Instant::now(), command, args, rights, fut)
    }

    /// [`Self::act`] for an action that began at `t0` (a screen capture and
    /// OCR done before the step is recorded), so its duration counts it.
    fn act_since<T: Summary>(
        &self,
        t0: Instant,
        command: &str,
        args: &[&str],
        rights: Option<String>,
        fut: impl Future<Output = Result<T, Failure>>,
    ) -> RResult<T> {
        if self.cancelled() {
            return self.fail_as(FailureKind::Cancelled, super::sandbox::CANCELLED);
        }
        let out = self.handle.block_on(fut);
        let refusal = self
            .guard
            .as_ref()
            .and_then(|g| g.refusals().into_iter().next());
        if let Some(steps) = &self.steps {
            let wants_shot = steps.wants_screenshots()
                && matches!(
                    command,
                    "navigate"
                        | "click"
                        | "fill"
                        | "keys"
                        | "click_text"
                        | "click_at"
                        | "switch_window"
                );
            let (url, shot) = match &self.browser {
                Some(b) => self.handle.block_on(async {
                    let url = b.current_url().await.ok();
                    let shot = if wants_shot {
                        b.screenshot().await.ok()
                    } else {
                        None
                    };
                    (url, shot)
                }),
                None => (None, None),
            };
            // Where a click or a reload led is where the step now is (for
            // recovering it after an expired session).
            if let (Some(u), true, true) = (
                &url,
                out.is_ok(),
                matches!(command, "click" | "refresh" | "switch_window"),
            ) {
                self.saw_page(u);
            }
            let shot = match (shot, wants_shot, &self.screen) {
                (None, true, Some(s)) => s.lock().ok().and_then(|mut s| s.screenshot().ok()),
                (s, _, _) => s,
            };
            steps.step(StepRecord {
                command: command.to_string(),
                args: self.recorded_args(args),
                ok: out.is_ok() && refusal.is_none(),
                result: shorten_words(&self.mask(&match (&out, &refusal) {
                    (_, Some(r)) => format!("refused: {r}"),
                    (Ok(v), None) => v.summary(),
                    (Err(e), None) => format!("error ({}): {}", e.kind, e.message),
                })),
                duration: t0.elapsed(),
                url: url.map(|u| shorten_to(&self.mask(&u), RECORDED_ARG)),
                rights: match &refusal {
                    Some(r) => Some(format!("refused: {r}")),
                    None => rights.or_else(|| Some("allowed".into())),
                },
                screenshot: shot,
            });
        }
        if let Some(r) = refusal {
            self.note(&format!("REFUSED: {r}"));
            return self.fail_as(
                FailureKind::Refused,
                format!("{command}: refused by the rights profile: {r}"),
            );
        }
        match out {
            Ok(v) => Ok(v),
            Err(e) => self.raise(Failure::new(e.kind, format!("{command}: {}", e.message))),
        }
    }

    /// Writes a line of the engine's own to the run's log: masked, with
    /// overlong words (a `data:` URL) shortened.
    pub(crate) fn note(&self, line: &str) {
        (self.log)(&shorten_words(&self.mask(line)));
    }

    /// Arguments as a recording keeps them: masked, overlong ones shortened.
    fn recorded_args(&self, args: &[&str]) -> Vec<String> {
        args.iter()
            .map(|a| shorten_to(&self.mask(a), RECORDED_ARG))
            .collect()
    }

    /// Records a step that was decided without acting (a refusal, an emit).
    fn record_step(
        &self,
        command: &str,
        args: &[&str],
        ok: bool,
        result: &str,
        rights: Option<String>,
    ) {
        if let Some(steps) = &self.steps {
            steps.step(StepRecord {
                command: command.into(),
                args: self.recorded_args(args),
                ok,
                result: shorten_words(&self.mask(result)),
                duration: Duration::ZERO,
                url: None,
                rights,
                screenshot: None,
            });
        }
    }

    /// Stops the robot at a refusal of the rights profile: recorded, logged
    /// and raised as a termination the script cannot catch. (The engine
    /// audits it when it decides it.)
    fn refuse_if(
        &self,
        command: &str,
        args: &[&str],
        decision: Result<(), String>,
    ) -> RResult<Option<String>> {
        match decision {
            Ok(()) => Ok(Some("allowed".into())),
            Err(reason) => {
                self.note(&format!("REFUSED {command}: {reason}"));
                let refused = format!("refused: {reason}");
                self.record_step(command, args, false, &refused, Some(refused.clone()));
                self.fail_as(
                    FailureKind::Refused,
                    format!("{command}: refused by the rights profile: {reason}"),
                )
            }
        }
    }

    /// Resolves a URL relative to the system's base URL; a URL with a
    /// scheme (`https:`, `data:`) is taken as it is.
    pub fn absolute(&self, url: &str) -> String {
        if has_scheme(url) {
            return url.to_string();
        }
        let base = self.base_url.trim_end_matches('/');
        let origin = || {
            // scheme://host:port of the base
            let end = base
                .find("://")
                .map(|i| i + 3)
                .and_then(|i| base[i..].find('/').map(|j| i + j));
            match end {
                Some(e) => &base[..e],
                None => base,
            }
        };
        if let Some(rest) = url.strip_prefix("//") {
            let scheme = base.split("://").next().unwrap_or("http");
            format!("{scheme}://{rest}")
        } else if url.starts_with('/') {
            format!("{}{url}", origin())
        } else {
            format!("{base}/{url}")
        }
    }
}

/// Whether `url` starts with a URL scheme (`http:`, `data:`, `javascript:`).
fn has_scheme(url: &str) -> bool {
    match url.split_once(':') {
        Some((scheme, _)) => {
            let mut c = scheme.chars();
            c.next().is_some_and(|f| f.is_ascii_alphabetic())
                && c.all(|x| x.is_ascii_alphanumeric() || "+.-".contains(x))
        }
        None => false,
    }
}

fn to_dynamic<T: serde::Serialize>(v: &T) -> RResult<Dynamic> {
    rhai::serde::to_dynamic(v)
}

/// Registers the whole robot API into `engine`, bound to `env`.
pub fn register(engine: &mut Engine, env: Arc<RobotEnv>) {
    super::files::register_type(engine);
    browser::register(engine, env.clone());
    screen::register(engine, env.clone());
    emit::register(engine, env.clone());
    flow::register(engine, env);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_a_scheme_are_not_paths() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut env = RobotEnv::for_check(rt.handle().clone());
        env.base_url = "http://127.0.0.1:8/app/".into();
        assert_eq!(env.absolute("/x?y=1"), "http://127.0.0.1:8/x?y=1");
        assert_eq!(env.absolute("x"), "http://127.0.0.1:8/app/x");
        assert_eq!(env.absolute("data:text/plain,hej"), "data:text/plain,hej");
        assert_eq!(env.absolute("//h:1/z"), "http://h:1/z");
        assert_eq!(env.absolute("HTTPS://h/"), "HTTPS://h/");
    }
}
