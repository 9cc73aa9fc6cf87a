//! Running robots: one thread per system; each attempt gets its own
//! enforcing proxy, its own session recording and its own robot process
//! (see [`crate::worker`]) whose browser goes through that proxy, with
//! retries for transient failures. A robot that crashes affects only its
//! own system.

use super::{RunState, RunStatus, Settings};
use crate::robot::{DriverKind, Manifest};
use crate::runtime::secrets::Secrets;
use crate::runtime::{
    self, FailureKind, Guard, RequestInfo, RobotError, SecretSource, StepRecord, StepSink,
};
use crate::worker::{self, Job, ScreenJob};
use marc_audit::NewEntry;
use marc_model::Period;
use marc_rights::{Proxy, RightsProfile};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How robots are run in this process.
#[derive(Clone)]
pub struct RunnerOptions {
    /// WebDriver URL (the engine's own chromedriver or a Selenium Grid).
    pub webdriver: String,
    /// Whether the browser runs on this machine (fresh profile directory).
    pub local_browser: bool,
    pub secrets: Arc<dyn SecretSource>,
    /// Base URL per system, overriding the manifests (testbed ports).
    pub base_urls: HashMap<String, String>,
    /// Attempts per system before it counts as failed.
    pub attempts: u32,
    /// How much of each robot step the session recording keeps.
    pub recording: Recording,
    /// Print robot log lines to stderr.
    pub verbose: bool,
    /// Run screen robots on this X11 display ("auto": an Xvfb marc starts)
    /// instead of a browser canvas; their manifest's `program` is started there.
    pub x11_display: Option<String>,
    /// Told what is happening, for a progress display.
    pub progress: Option<Arc<dyn Progress>>,
}

/// What a request is doing, as it happens: for progress bars, never for
/// decisions. Every method has an empty default.
pub trait Progress: Send + Sync {
    /// A robot attempt begins.
    fn robot_started(&self, _system: &str, _attempt: u32) {}
    /// A robot stored a new document.
    fn document(&self, _system: &str) {}
    /// A robot is done, for good (complete, or failed after its attempts).
    fn robot_finished(&self, _system: &str, _state: &RunState) {}
    /// The request moved on to a stage after the robots ("screening", ...).
    fn stage(&self, _what: &str) {}
}

/// Runs the robots of a request.
pub struct RobotRunner {
    pub handle: tokio::runtime::Handle,
    pub options: RunnerOptions,
}

impl RobotRunner {
    /// Runs every manifest in parallel and returns each system's run state.
    pub fn run_all(
        &self,
        settings: &Settings,
        rec: &super::RequestRecord,
        manifests: Vec<Manifest>,
    ) -> Vec<(String, RunState)> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = manifests
                .into_iter()
                .map(|m| {
                    let previous = rec.runs.get(&m.system).cloned().unwrap_or_default();
                    scope.spawn(move || {
                        let system = m.system.clone();
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            self.run_robot(settings, rec, &m, previous.clone())
                        }));
                        let state = r.unwrap_or_else(|_| RunState {
                            status: RunStatus::Failed,
                            error: Some("the robot crashed (panic); see the log".into()),
                            ..previous
                        });
                        (system, state)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        })
    }

    /// One system: up to `attempts` tries, each a fresh browser session.
    pub fn run_robot(
        &self,
        settings: &Settings,
        rec: &super::RequestRecord,
        m: &Manifest,
        mut state: RunState,
    ) -> RunState {
        let started = Instant::now();
        let base = self
            .options
            .base_urls
            .get(&m.system)
            .cloned()
            .unwrap_or_else(|| m.base_url.clone());
        // A robot whose actions cannot be put on record does not run (on).
        let audit = |action: &str, detail: serde_json::Value| {
            settings
                .audit
                .append(
                    NewEntry::robot(format!("robot:{}", m.system), action)
                        .request(&rec.id)
                        .system(&m.system)
                        .detail(detail),
                )
                .map(|_| ())
                .map_err(|e| format!("cannot write the audit log: {e}"))
        };
        let audit_failed = |state: &mut RunState, e: String| {
            state.status = RunStatus::Failed;
            state.error = Some(match state.error.take() {
                Some(before) => format!("{before}; {e}"),
                None => e,
            });
        };
        let profile = match m.rights_profile(&base) {
            Ok(p) => p,
            Err(e) => {
                state.status = RunStatus::Failed;
                state.error = Some(e.to_string());
                state.failure = Some(FailureKind::Script.as_str().to_string());
                if let Err(a) = audit(
                    "robot.failed",
                    serde_json::json!({"error": e.to_string(), "kind": FailureKind::Script}),
                ) {
                    audit_failed(&mut state, a);
                }
                return state;
            }
        };
        for attempt in 1..=self.options.attempts.max(1) {
            state.attempts += 1;
            if let Some(p) = &self.options.progress {
                p.robot_started(&m.system, attempt);
            }
            if let Err(a) = audit(
                "robot.started",
                serde_json::json!({"attempt": attempt, "base_url": base}),
            ) {
                audit_failed(&mut state, a);
                break;
            }
            let r = self.attempt(
                settings,
                rec,
                Target {
                    manifest: m,
                    base: &base,
                    profile: &profile,
                },
                &mut state,
                None,
            );
            // What is stored, not what the script said it emitted: the
            // per-system count and the request's total always agree.
            state.documents = stored_documents(settings, &rec.id, &m.system);
            match r {
                Ok(_) => {
                    state.status = RunStatus::Complete;
                    state.error = None;
                    state.failure = None;
                    if let Err(a) = audit(
                        "robot.finished",
                        serde_json::json!({"documents": state.documents, "attempt": attempt}),
                    ) {
                        audit_failed(&mut state, a);
                    }
                    break;
                }
                Err(e) => {
                    let msg = e.to_string();
                    state.status = RunStatus::Failed;
                    state.error = Some(msg.clone());
                    state.failure = Some(e.kind.as_str().to_string());
                    // A refusal is already in the audit log, entered when it
                    // was decided; this is the attempt's outcome.
                    if let Err(a) = audit(
                        "robot.failed",
                        serde_json::json!({"error": msg, "kind": e.kind, "attempt": attempt, "session": state.sessions.last()}),
                    ) {
                        audit_failed(&mut state, a);
                        break;
                    }
                    if self.options.verbose {
                        eprintln!(
                            "[{}] attempt {attempt} failed ({}): {msg}",
                            m.system, e.kind
                        );
                    }
                    // Refusals, script errors, rejected logins and documents,
                    // spent budgets would only repeat themselves.
                    if e.is_final() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(500 * attempt as u64));
                }
            }
        }
        state.seconds += started.elapsed().as_secs_f64();
        if let Some(p) = &self.options.progress {
            p.robot_finished(&m.system, &state);
        }
        state
    }

    fn attempt(
        &self,
        settings: &Settings,
        rec: &super::RequestRecord,
        target: Target<'_>,
        state: &mut RunState,
        replay: Option<(&str, &str)>,
    ) -> Result<usize, RobotError> {
        let Target {
            manifest: m,
            base,
            profile,
        } = target;
        let h = &self.handle;
        let cancel = Arc::new(AtomicBool::new(false));
        let served = Arc::new(Mutex::new(Secrets::default()));
        let audit_error: Arc<Mutex<Option<String>>> = Arc::default();
        let session_id = match replay {
            Some((of, _)) => format!(
                "{of}-replay-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..6]
            ),
            None => format!("{}-{}-{}", rec.id, m.system, state.attempts),
        };
        let refused = refusal_auditor(
            settings,
            rec,
            m,
            &session_id,
            served.clone(),
            Unrecorded {
                error: audit_error.clone(),
                cancel: cancel.clone(),
            },
        );
        let (c2, r2) = (cancel.clone(), refused.clone());
        let opts = marc_rights::ProxyOptions {
            // Chromium's own service traffic is refused too, but it is not the
            // robot's doing: only page-initiated refusals stop the robot, and
            // they are audited the moment the proxy refuses them.
            on_refusal: Some(Arc::new(move |r: &marc_rights::Refusal| {
                if r.stops_robot() {
                    c2.store(true, Ordering::Relaxed);
                    r2(&format!("{} request", r.method), &r.url, &r.reason);
                }
            })),
            cpr: Some(rec.cpr.clone()),
            ..Default::default()
        };
        let setup = |what: &str, e: &dyn std::fmt::Display| {
            RobotError::new(FailureKind::Driver, format!("cannot start {what}: {e}"))
        };
        let proxy = h
            .block_on(Proxy::start_with(profile.clone(), opts))
            .map_err(|e| setup("the rights proxy", &e))?;
        let proxy = Arc::new(proxy);
        let on_x11 = m.driver == DriverKind::ScreenX11
            || (m.driver == DriverKind::ScreenCanvas && self.options.x11_display.is_some());
        let screen = match m.driver {
            DriverKind::Webdriver => ScreenJob::None,
            _ if on_x11 => {
                let program = m.program.clone().filter(|p| !p.is_empty()).ok_or_else(|| {
                    RobotError::new(
                        FailureKind::Script,
                        format!(
                            "robot {} has no `program` to start on the X11 display",
                            m.system
                        ),
                    )
                })?;
                ScreenJob::X11 {
                    program: program.iter().map(|a| a.replace("{base}", base)).collect(),
                    window: m.window.clone().unwrap_or_else(|| m.system.clone()),
                    display: self
                        .options
                        .x11_display
                        .clone()
                        .filter(|d| d.as_str() != "auto"),
                }
            }
            _ => ScreenJob::Canvas {
                selector: m.canvas.clone().unwrap_or_else(|| "canvas".into()),
            },
        };
        let script = match replay {
            Some((of, source)) => runtime::Script::inline(&format!("replay of {of}"), source),
            None => runtime::Script::load(
                &settings.scripts_dir.join(&m.script),
                Some(&settings.scripts_dir),
            )?,
        };

        let redactor = marc_vault::Redactor::new(Vec::<String>::new());
        let recorder = marc_recording::Recorder::start(
            &settings.store,
            marc_recording::SessionMeta::new(&session_id, format!("robot:{}", m.system))
                .system(&m.system)
                .request(&rec.id)
                .replay_of_opt(replay.map(|(of, _)| of)),
            redactor,
        )
        .map_err(|e| setup("the session recording", &e))?;
        recorder.set_screenshots(self.options.recording == Recording::Screenshots);
        state.sessions.push(session_id.clone());

        let store = settings.store.clone();
        let request_id = rec.id.clone();
        let system = m.system.clone();
        let verbose = self.options.verbose;
        let progress = self.options.progress.clone();
        let job = Job {
            system: m.system.clone(),
            base_url: base.to_string(),
            credential: m.credential.clone(),
            session: m.session.clone(),
            request: RequestInfo {
                id: rec.id.clone(),
                cpr: rec.cpr.clone(),
                period: Period {
                    from: rec.period_from,
                    to: rec.period_to,
                },
                topics: rec.topics.clone(),
            },
            script,
            limits: runtime::sandbox::Limits {
                max_documents: profile.max_documents.unwrap_or(5_000) as usize,
                time_budget: Duration::from_secs(profile.time_budget_secs.unwrap_or(900)),
                ..Default::default()
            },
            webdriver: self.options.webdriver.clone(),
            proxy: proxy.url(),
            local_browser: self.options.local_browser,
            extra_browser_args: proxy.chromium_args(),
            screen,
            record_steps: self.options.recording != Recording::Off,
            screenshots: self.options.recording == Recording::Screenshots,
        };
        let services = worker::host::Services {
            credential: m.credential.clone(),
            refused,
            served: served.clone(),
            secrets: self.options.secrets.clone(),
            guard: Arc::new(RightsGuard {
                profile: profile.clone(),
                proxy: proxy.clone(),
                seen: AtomicUsize::new(0),
            }),
            steps: Some(Arc::new(RecorderSink {
                recorder: recorder.clone(),
            })),
            sink: Box::new(move |doc| {
                let new = super::store_document(&store, &request_id, &doc).map_err(|e| {
                    // A different document under a stored key is the robot's
                    // data; a store that fails is marc's.
                    let kind = if e.is::<super::DocumentConflict>() {
                        FailureKind::Document
                    } else {
                        FailureKind::Driver
                    };
                    runtime::Failure::new(kind, format!("{e:#}"))
                })?;
                if let (true, Some(p)) = (new, &progress) {
                    p.document(&doc.system);
                }
                Ok(new)
            }),
            log: Box::new(move |line| {
                tracing::info!(target: "robot", system = %system, "{line}");
                if verbose {
                    eprintln!("[{system}] {line}");
                }
            }),
            cancel: cancel.clone(),
            // Who the robot runs as is on record from its first moment, even
            // if marc dies before the attempt ends.
            // (If that cannot be put on record, the robot is stopped.)
            ready: {
                let (audit, actor, request, system, session) = (
                    settings.audit.clone(),
                    format!("robot:{}", m.system),
                    rec.id.clone(),
                    m.system.clone(),
                    session_id.clone(),
                );
                let unrecorded = Unrecorded {
                    error: audit_error.clone(),
                    cancel: cancel.clone(),
                };
                Box::new(move |w: &worker::WorkerInfo| {
                    if let Err(e) = audit.append(
                        NewEntry::robot(&actor, "robot.process")
                            .request(&request)
                            .system(&system)
                            .session(&session)
                            .detail(serde_json::json!({
                                "pid": w.pid,
                                "uid": w.uid,
                                "user": w.user,
                            })),
                    ) {
                        unrecorded.stop(e);
                    }
                })
            },
        };
        let out = worker::host::run(h, job, services);
        let result = out.result;
        // Give requests the page started just before the script ended time
        // to reach the proxy, then let any page-initiated refusal decide the
        // outcome: a refused request fails the run even after the last step,
        // and names itself instead of a bare "cancelled".
        std::thread::sleep(Duration::from_millis(300));
        let refusal = proxy.refusals().into_iter().find(|r| r.stops_robot());
        if let Some(r) = refusal
            .as_ref()
            .filter(|_| !matches!(&result, Err(e) if e.is_refusal()))
        {
            // The page's own request, refused between or after API calls:
            // recorded as a step of its own so the replay shows it.
            let mut step =
                marc_recording::NewStep::new("request", vec![format!("{} {}", r.method, r.url)]);
            step.ok = false;
            step.result = format!("refused: {}", r.reason);
            step.rights = Some(format!("refused: {}", r.reason));
            step.url = Some(r.url.clone());
            let _ = recorder.step(step);
        }
        let result = match (result, refusal) {
            (Err(e), _) if e.is_refusal() => Err(e),
            (r, None) => r,
            (_, Some(r)) => Err(RobotError::new(
                FailureKind::Refused,
                format!(
                    "refused by the rights profile: {} {}: {}",
                    r.method, r.url, r.reason
                ),
            )),
        };
        state.webdriver_commands += out.webdriver_commands;
        let emitted = out.emitted;
        if let Ok(p) = Arc::try_unwrap(proxy) {
            h.block_on(p.stop());
        }
        if let Some(e) = audit_error.lock().ok().and_then(|mut f| f.take()) {
            let _ = recorder.finish(&format!("failed: {e}"));
            return Err(RobotError::new(FailureKind::Audit, e));
        }
        let served = served.lock().map(|s| s.clone()).unwrap_or_default();
        let result = result.map_err(|mut e| {
            e.message = served.mask(&e.message);
            e
        });
        let outcome = match &result {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("failed ({}): {e}", e.kind),
        };
        let _ = recorder.finish(&outcome);
        result.map(|()| emitted)
    }
}

/// How many documents of `system` a request has stored.
fn stored_documents(settings: &Settings, request: &str, system: &str) -> usize {
    super::documents(&settings.store, request)
        .map(|d| d.iter().filter(|d| d.system == system).count())
        .unwrap_or(0)
}

/// Where an attempt notes that its audit entries could not be written,
/// and how it is stopped then: a robot does not run unrecorded.
#[derive(Clone)]
struct Unrecorded {
    error: Arc<Mutex<Option<String>>>,
    cancel: Arc<AtomicBool>,
}

impl Unrecorded {
    fn stop(&self, e: impl std::fmt::Display) {
        if let Ok(mut f) = self.error.lock() {
            *f = Some(format!("cannot write the audit log: {e}"));
        }
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// Audits a refusal the moment it is decided (by the engine's rights check
/// or the proxy), with the target masked: `(what, target, reason)`.
fn refusal_auditor(
    settings: &Settings,
    rec: &super::RequestRecord,
    m: &Manifest,
    session: &str,
    served: Arc<Mutex<Secrets>>,
    unrecorded: Unrecorded,
) -> Arc<worker::host::RefusalReport> {
    let (audit, actor, request, system, session) = (
        settings.audit.clone(),
        format!("robot:{}", m.system),
        rec.id.clone(),
        m.system.clone(),
        session.to_string(),
    );
    Arc::new(move |what: &str, target: &str, reason: &str| {
        let mask = |t: &str| match served.lock() {
            Ok(s) => runtime::shorten(&s.mask(t)),
            Err(_) => "«masked»".to_string(),
        };
        let target = mask(target);
        if let Err(e) = audit.append(
            NewEntry::robot(&actor, "robot.refused")
                .request(&request)
                .system(&system)
                .session(&session)
                .detail(serde_json::json!({
                    "what": what,
                    "target": target,
                    "reason": reason,
                    "error": format!("{what} {target}: refused by the rights profile: {reason}"),
                })),
        ) {
            unrecorded.stop(e);
        }
    })
}

impl RobotRunner {
    /// Re-runs recorded actions (as a generated script) against the system,
    /// recorded as a new session; returns that session's id. A dry run: the
    /// script emits nothing and the rights profile applies as usual.
    pub fn replay(
        &self,
        settings: &Settings,
        rec: &super::RequestRecord,
        m: &Manifest,
        base: &str,
        of: &str,
        source: &str,
    ) -> Result<String, String> {
        let profile = m.rights_profile(base).map_err(|e| e.to_string())?;
        let mut state = RunState::default();
        let r = self.attempt(
            settings,
            rec,
            Target {
                manifest: m,
                base,
                profile: &profile,
            },
            &mut state,
            Some((of, source)),
        );
        let id = state.sessions.last().cloned().unwrap_or_default();
        match r {
            Ok(_) => Ok(id),
            Err(e) => {
                tracing::info!("replay {id} stopped: {e}");
                Ok(id)
            }
        }
    }
}

/// What a session recording keeps of each robot step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recording {
    /// Only the session's start and outcome: for measuring what recording
    /// costs (`marc demo --no-recording`), never for production runs.
    Off,
    /// Every step: command, masked arguments, result, URL, rights, duration.
    Steps,
    /// Every step, plus a screenshot after each page-changing step.
    Screenshots,
}

impl Recording {
    pub fn from_flags(screenshots: bool, off: bool) -> Recording {
        match (off, screenshots) {
            (true, _) => Recording::Off,
            (false, true) => Recording::Screenshots,
            (false, false) => Recording::Steps,
        }
    }
}

/// The system a robot attempt works on.
#[derive(Clone, Copy)]
struct Target<'a> {
    manifest: &'a Manifest,
    base: &'a str,
    profile: &'a RightsProfile,
}

/// The rights profile and the proxy's refusals, seen by the runtime.
struct RightsGuard {
    profile: RightsProfile,
    proxy: Arc<Proxy>,
    seen: AtomicUsize,
}

fn decision(d: marc_rights::Decision) -> Result<(), String> {
    match d.reason() {
        None => Ok(()),
        Some(r) => Err(r.to_string()),
    }
}

impl Guard for RightsGuard {
    fn navigation(&self, url: &str) -> Result<(), String> {
        // The runtime has already made `url` absolute against the base URL.
        decision(self.profile.check_navigation(url))
    }
    fn click(&self, selector: &str, text: &str, attrs: &[(String, String)]) -> Result<(), String> {
        decision(self.profile.check_click(selector, text, attrs))
    }
    fn script(&self, js: &str) -> Result<(), String> {
        decision(self.profile.check_script(js))
    }
    fn refusals(&self) -> Vec<String> {
        let n = self.seen.load(Ordering::Relaxed);
        let new = self.proxy.take_refusals_since(n);
        self.seen.fetch_add(new.len(), Ordering::Relaxed);
        new.into_iter()
            .filter(|r| r.stops_robot())
            .map(|r| format!("{} {}: {}", r.method, r.url, r.reason))
            .collect()
    }
}

/// Sends runtime steps to the session recording.
struct RecorderSink {
    recorder: marc_recording::Recorder,
}

impl StepSink for RecorderSink {
    fn step(&self, s: StepRecord) {
        let shot = s
            .screenshot
            .as_deref()
            .and_then(|png| self.recorder.screenshot(png).ok().flatten());
        let step = marc_recording::NewStep {
            command: s.command,
            args: s.args,
            result: s.result,
            ok: s.ok,
            duration_ms: s.duration.as_millis() as u64,
            url: s.url,
            rights: s.rights,
            screenshot: shot,
        };
        if let Err(e) = self.recorder.step(step) {
            tracing::warn!("cannot record a step: {e}");
        }
    }
}
