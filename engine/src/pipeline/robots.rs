//! Running robots: one thread per system, each with its own browser session
//! routed through its own enforcing proxy, its own session recording, and
//! retries for transient failures. A robot that crashes affects only its
//! own system.

use super::{RunState, RunStatus, Settings};
use crate::robot::{DriverKind, Manifest};
use crate::runtime::{self, Guard, RequestInfo, RobotEnv, SecretSource, StepRecord, StepSink};
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
        let audit = |action: &str, detail: serde_json::Value| {
            let _ = settings.audit.append(
                NewEntry::robot(format!("robot:{}", m.system), action)
                    .request(&rec.id)
                    .system(&m.system)
                    .detail(detail),
            );
        };
        let profile = match m.rights_profile(&base) {
            Ok(p) => p,
            Err(e) => {
                state.status = RunStatus::Failed;
                state.error = Some(e.to_string());
                audit("robot.failed", serde_json::json!({"error": e.to_string()}));
                return state;
            }
        };
        for attempt in 1..=self.options.attempts.max(1) {
            state.attempts += 1;
            audit(
                "robot.started",
                serde_json::json!({"attempt": attempt, "base_url": base}),
            );
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
            match r {
                Ok(n) => {
                    state.status = RunStatus::Complete;
                    state.documents = n;
                    state.error = None;
                    audit(
                        "robot.finished",
                        serde_json::json!({"documents": n, "attempt": attempt}),
                    );
                    break;
                }
                Err((msg, last)) => {
                    state.status = RunStatus::Failed;
                    state.error = Some(msg.clone());
                    let action = if msg.contains("refused by the rights profile") {
                        "robot.refused"
                    } else {
                        "robot.failed"
                    };
                    audit(
                        action,
                        serde_json::json!({"error": msg, "attempt": attempt, "session": state.sessions.last()}),
                    );
                    if self.options.verbose {
                        eprintln!("[{}] attempt {attempt} failed: {msg}", m.system);
                    }
                    // Refusals and sandbox stops would only repeat themselves.
                    if last {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(500 * attempt as u64));
                }
            }
        }
        state.seconds += started.elapsed().as_secs_f64();
        state
    }

    fn attempt(
        &self,
        settings: &Settings,
        rec: &super::RequestRecord,
        target: Target<'_>,
        state: &mut RunState,
        replay: Option<(&str, &str)>,
    ) -> Result<usize, (String, bool)> {
        let Target {
            manifest: m,
            base,
            profile,
        } = target;
        let h = &self.handle;
        let cancel = Arc::new(AtomicBool::new(false));
        let c2 = cancel.clone();
        let opts = marc_rights::ProxyOptions {
            // Chromium's own service traffic is refused too, but it is not the
            // robot's doing: only page-initiated refusals stop the robot.
            on_refusal: Some(Arc::new(move |r: &marc_rights::Refusal| {
                if r.stops_robot() {
                    c2.store(true, Ordering::Relaxed)
                }
            })),
            ..Default::default()
        };
        let proxy = h
            .block_on(Proxy::start_with(profile.clone(), opts))
            .map_err(|e| (format!("cannot start the rights proxy: {e}"), false))?;
        let proxy = Arc::new(proxy);
        let browser_opts = marc_webdriver::BrowserOptions {
            proxy: Some(proxy.url()),
            extra_args: marc_rights::QUIET_CHROMIUM_ARGS
                .iter()
                .map(|a| a.to_string())
                .collect(),
            local: self.options.local_browser,
            ..Default::default()
        };
        let browser = h
            .block_on(marc_webdriver::Browser::open(
                &self.options.webdriver,
                &browser_opts,
            ))
            .map_err(|e| (e.to_string(), false))?;
        let browser = Arc::new(browser);
        let mut x11: Option<X11Desktop> = None;
        let screen: Option<Mutex<Box<dyn runtime::ScreenAccess>>> = match m.driver {
            DriverKind::Webdriver => None,
            DriverKind::ScreenCanvas | DriverKind::ScreenX11
                if m.driver == DriverKind::ScreenX11 || self.options.x11_display.is_some() =>
            {
                let (screen, desktop) = x11_screen(m, base, self.options.x11_display.as_deref())
                    .map_err(|e| (e, false))?;
                x11 = Some(desktop);
                Some(Mutex::new(Box::new(screen)))
            }
            DriverKind::ScreenCanvas => {
                // The canvas page is the system: open it, and read the canvas.
                let b = browser.clone();
                let url = base.to_string();
                h.block_on(async move { b.goto(&url).await })
                    .map_err(|e| (e.to_string(), false))?;
                let canvas = crate::screens::CanvasScreen {
                    browser: browser.clone(),
                    handle: h.clone(),
                    selector: m.canvas.clone().unwrap_or_else(|| "canvas".into()),
                };
                let ocr = crate::screens::shared_ocr().map_err(|e| (e, false))?;
                Some(Mutex::new(Box::new(crate::screens::OcrScreen::new(
                    Box::new(canvas),
                    ocr,
                ))))
            }
            DriverKind::ScreenX11 => unreachable!("matched above"),
        };

        let session_id = match replay {
            Some((of, _)) => format!(
                "{of}-replay-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..6]
            ),
            None => format!("{}-{}-{}", rec.id, m.system, state.attempts),
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
        .map_err(|e| (format!("cannot start the session recording: {e}"), false))?;
        recorder.set_screenshots(self.options.recording == Recording::Screenshots);
        state.sessions.push(session_id.clone());

        let store = settings.store.clone();
        let request_id = rec.id.clone();
        let limits = runtime::sandbox::Limits {
            max_documents: profile.max_documents.unwrap_or(5_000) as usize,
            time_budget: Duration::from_secs(profile.time_budget_secs.unwrap_or(900)),
            ..Default::default()
        };
        let system = m.system.clone();
        let verbose = self.options.verbose;
        let steps = Arc::new(RecorderSink {
            recorder: recorder.clone(),
            screenshots: self.options.recording == Recording::Screenshots,
        });
        let env = Arc::new(RobotEnv {
            handle: h.clone(),
            system: m.system.clone(),
            base_url: base.to_string(),
            request: RequestInfo {
                id: rec.id.clone(),
                cpr: rec.cpr.clone(),
                period: Period {
                    from: rec.period_from,
                    to: rec.period_to,
                },
                topics: rec.topics.clone(),
            },
            browser: Some(browser.clone()),
            screen,
            secrets: self.options.secrets.clone(),
            guard: Some(Arc::new(RightsGuard {
                profile: profile.clone(),
                proxy: proxy.clone(),
                seen: AtomicUsize::new(0),
            })),
            steps: (self.options.recording != Recording::Off)
                .then(|| steps.clone() as Arc<dyn StepSink>),
            sink: Box::new(move |doc| {
                super::store_document(&store, &request_id, &doc)
                    .map_err(|e| format!("cannot store the document: {e}"))
            }),
            log: Box::new(move |line| {
                tracing::info!(target: "robot", system = %system, "{line}");
                if verbose {
                    eprintln!("[{system}] {line}");
                }
            }),
            limits,
            cancel,
            started: Instant::now(),
            emitted: AtomicUsize::new(0),
            masked: Mutex::new(Vec::new()),
        });
        let result = match replay {
            Some((of, source)) => {
                runtime::run_source(env.clone(), &format!("replay of {of}"), source, None)
            }
            None => {
                let script = settings.scripts_dir.join(&m.script);
                runtime::run_script(env.clone(), &script, Some(&settings.scripts_dir))
            }
        };
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
            (_, Some(r)) => Err(runtime::RobotError::Runtime {
                file: m.script.clone(),
                line: 0,
                column: 0,
                message: format!(
                    "refused by the rights profile: {} {}: {}",
                    r.method, r.url, r.reason
                ),
            }),
        };
        state.webdriver_commands += browser.commands();
        let emitted = env.documents_emitted();
        let secrets_seen = env.secret_values();
        drop(env);
        drop(x11);
        if let Ok(b) = Arc::try_unwrap(browser) {
            let _ = h.block_on(b.close());
        }
        if let Ok(p) = Arc::try_unwrap(proxy) {
            h.block_on(p.stop());
        }
        let outcome = match &result {
            Ok(()) => "ok".to_string(),
            Err(e) => marc_vault::Redactor::new(secrets_seen.clone()).mask(&format!("failed: {e}")),
        };
        let _ = recorder.finish(&outcome);
        match result {
            Ok(()) => Ok(emitted),
            Err(e) => {
                let refused = e.is_final();
                Err((
                    marc_vault::Redactor::new(secrets_seen).mask(&e.to_string()),
                    refused,
                ))
            }
        }
    }
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
            Err((e, _)) => {
                tracing::info!("replay {id} stopped: {e}");
                Ok(id)
            }
        }
    }
}

/// An X11 screen robot's desktop: the display (an Xvfb marc started, if
/// any) and the program showing the system; both stop when dropped.
struct X11Desktop {
    program: std::process::Child,
    _xvfb: Option<marc_screen::Xvfb>,
}

impl Drop for X11Desktop {
    fn drop(&mut self) {
        let _ = self.program.kill();
        let _ = self.program.wait();
    }
}

/// Starts the manifest's program on an X11 display and binds its window.
/// `{marc}` in the program is this marc binary, `{base}` the base URL.
fn x11_screen(
    m: &Manifest,
    base: &str,
    display: Option<&str>,
) -> Result<(crate::screens::OcrScreen, X11Desktop), String> {
    let program = m.program.clone().filter(|p| !p.is_empty()).ok_or_else(|| {
        format!(
            "robot {} has no `program` to start on the X11 display",
            m.system
        )
    })?;
    let window = m.window.clone().unwrap_or_else(|| m.system.clone());
    let xvfb = match display.unwrap_or("auto") {
        "auto" => Some(marc_screen::Xvfb::start().map_err(|e| e.to_string())?),
        _ => None,
    };
    let display = xvfb
        .as_ref()
        .map(|x| x.display().to_string())
        .unwrap_or_else(|| display.unwrap_or_default().to_string());
    let me = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "marc".into());
    let args: Vec<String> = program
        .iter()
        .map(|a| a.replace("{marc}", &me).replace("{base}", base))
        .collect();
    let child = std::process::Command::new(&args[0])
        .args(&args[1..])
        .env("DISPLAY", &display)
        .env("LC_ALL", "C.UTF-8")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {:?} on display {display}: {e}", args[0]))?;
    let desktop = X11Desktop {
        program: child,
        _xvfb: xvfb,
    };
    let screen = marc_screen::X11Screen::connect_window(&display, &window, Duration::from_secs(20))
        .map_err(|e| e.to_string())?;
    let ocr = crate::screens::shared_ocr()?;
    let mut s = crate::screens::OcrScreen::new(Box::new(screen), ocr);
    s.border = 2; // xterm pads its character grid by 2 px
    Ok((s, desktop))
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
    screenshots: bool,
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
    fn wants_screenshots(&self) -> bool {
        self.screenshots
    }
}
