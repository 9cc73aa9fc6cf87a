//! Flow and context: secrets, logging, failing, waiting, retrying, dates,
//! and declaring the session rules from a script.

use super::RResult;
use crate::runtime::secrets::weakness;
use crate::runtime::{
    shorten_to, Failure, FailureKind, RobotEnv, SessionRules, MAX_LOG_BYTES, MAX_LOG_LINE,
};
use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

impl RobotEnv {
    /// A secret of the robot's own credential, masked from now on.
    pub(crate) fn secret(&self, name: &str) -> RResult<String> {
        match self.secrets.get(name) {
            Ok(v) => {
                if let Ok(mut m) = self.run.masked.lock() {
                    m.add(name, &v);
                }
                if let Some(why) = weakness(&v) {
                    let first = self
                        .run
                        .warned
                        .lock()
                        .map(|mut w| {
                            let new = !w.iter().any(|n| n == name);
                            if new {
                                w.push(name.to_string());
                            }
                            new
                        })
                        .unwrap_or(false);
                    if first {
                        self.note(&format!(
                            "warning: the secret {name} is weak ({why}): it is masked only where it stands alone (a whole argument, URL parameter or key); give the robot a stronger one"
                        ));
                    }
                }
                Ok(v)
            }
            Err(f) => self.raise(Failure::new(f.kind, format!("secret: {}", f.message))),
        }
    }

    fn log_line(&self, msg: &str) -> RResult<()> {
        let line = shorten_to(&self.mask(msg), MAX_LOG_LINE);
        let total = self.run.log_bytes.fetch_add(line.len(), Ordering::Relaxed) + line.len();
        if total > MAX_LOG_BYTES {
            return self.fail_as(
                FailureKind::Sandbox,
                format!(
                    "stopped by the sandbox: the robot wrote more than {} KB with log()",
                    MAX_LOG_BYTES / 1024
                ),
            );
        }
        (self.log)(&line);
        Ok(())
    }

    /// Whether an error a script function raised is worth another try:
    /// only driver and system failures are.
    fn transient(&self, e: &EvalAltResult) -> bool {
        match e.unwrap_inner() {
            EvalAltResult::ErrorRuntime(v, _) => self
                .run
                .raised
                .kind_of(&v.to_string())
                .is_none_or(|k| !k.is_final()),
            _ => false,
        }
    }
}

pub(super) fn register(engine: &mut Engine, env: Arc<RobotEnv>) {
    let e = env.clone();
    api!(engine, "secret", ["name: &str", "String"], "A secret of the robot's own credential from the vault: `<credential>.user` or `<credential>.password` (the manifest's `credential`); any other name is refused and stops the robot. With no vault key, `marc run` reads `MARC_SECRET_<NAME>`: the name upper-cased with `.` and `-` as `_` (`legacy.password` → `MARC_SECRET_LEGACY_PASSWORD`). Its value is masked in every log, recording, URL and error, also upper-cased, reversed or spaced out; a weak secret (short, a plain word or number) is masked only where it stands alone, and `secret()` warns about it.", move |name: &str| e.secret(name));
    let e = env.clone();
    api!(engine, "log", ["message: &str", "()"], "Writes a line to the run's log (secrets masked; a line is cut at 2000 characters, and a robot that logs more than 1 MB in a run is stopped).", move |msg: &str| e.log_line(msg));
    let e = env.clone();
    api!(engine, "fail", ["reason: &str", "()"], "Stops the robot with an error; the system is reported as failed and tried again (the next attempt starts afresh).", move |reason: &str| -> RResult<()> {
        e.fail_as(FailureKind::System, format!("robot failed: {reason}"))
    });
    let e = env.clone();
    api!(engine, "fail", ["reason: &str", "options: Map", "()"], "Stops the robot with an error that says more: `fail(reason, #{final: true})` is not tried again (trying again cannot help, e.g. the citizen's cases are locked); `#{login: true}` says the system refused the robot's credentials (not tried again, so the account is not locked).", move |reason: &str, o: Map| -> RResult<()> {
        let flag = |k: &str| o.get(k).and_then(|v| v.as_bool().ok()).unwrap_or(false);
        let kind = if flag("login") {
            FailureKind::Login
        } else if flag("final") {
            FailureKind::Script
        } else {
            FailureKind::System
        };
        e.fail_as(kind, format!("robot failed: {reason}"))
    });
    api!(
        engine,
        "sleep",
        ["ms: i64", "()"],
        "Pauses the robot (at most 60 s at a time). To wait for a page, use `wait_for`/`wait_any` instead.",
        move |ms: i64| {
            std::thread::sleep(Duration::from_millis(ms.clamp(0, 60_000) as u64));
        }
    );
    let e = env.clone();
    api!(
        engine,
        "in_period",
        ["date: &str", "bool"],
        "Whether an ISO date lies in the request's period.",
        move |d: &str| -> bool { e.request.period.contains_iso(d) }
    );
    let e = env.clone();
    api!(
        engine,
        "in_topics",
        ["department: &str", "bool"],
        "Whether a case of this department belongs to the request: true when the request names no topics (`request.topics` empty), when the department is unknown (empty), or when it is one of the topics (case does not matter). Skip other cases to save time; the engine drops their documents anyway.",
        move |d: &str| -> bool { marc_model::in_topics(&e.request.topics, d) }
    );
    let e = env.clone();
    api!(
        engine,
        "absolute",
        ["url: &str", "String"],
        "Resolves a URL against the system's base URL.",
        move |u: &str| -> String { e.absolute(u) }
    );
    let e = env.clone();
    api!(engine, "session", ["rules: Map", "()"], "Declares (or changes) the session rules in the script instead of the manifest's `[session]`: #{login_url, login_frame, user, password, submit, success, failure, expired, error_pages: [...], error_status: [...], retries}. See `login()` and `wait_for`.", move |m: Map| -> RResult<()> {
        let rules: SessionRules = match rhai::serde::from_dynamic(&Dynamic::from_map(m)) {
            Ok(r) => r,
            Err(x) => return e.fail_as(FailureKind::Script, format!("session: {x}")),
        };
        if let Ok(mut r) = e.run.rules.lock() {
            r.merge(rules);
        }
        Ok(())
    });
    let e = env;
    api!(engine, "retry", ["times: i64", "action: FnPtr", "Dynamic"], "Calls `action` up to `times` times, with backoff (0.2 s, 0.4 s, ... up to 5 s), until it succeeds. Only transient failures (the system or the browser) are tried again; a refusal, a script error, a rejected login or document, or a spent budget ends it at once.", move |ctx: NativeCallContext, times: i64, f: FnPtr| -> RResult<Dynamic> {
        let times = times.clamp(1, 20);
        let mut last = String::new();
        for attempt in 0..times {
            match f.call_within_context::<Dynamic>(&ctx, ()) {
                Ok(v) => return Ok(v),
                Err(x) => {
                    if !x.is_catchable() || !e.transient(&x) {
                        return Err(x);
                    }
                    last = x.to_string();
                    if attempt + 1 < times {
                        std::thread::sleep(Duration::from_millis((200u64 << attempt.min(5)).min(5_000)));
                    }
                }
            }
        }
        e.fail_as(FailureKind::System, format!("retry: gave up after {times} attempts; last error: {last}"))
    });
}
