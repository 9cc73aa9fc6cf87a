//! The Rhai host: how a robot script runs.
//!
//! A script runs on its own OS thread; native API functions block on the
//! engine's tokio runtime (`Handle::block_on`) for browser and screen I/O, so
//! the script never runs inside an async task (see NOTES: Rhai is synchronous).
//! Limits (operations, call depth, sizes, wall time, cancellation) live in
//! [`sandbox`]; what a robot may touch is decided by the [`Guard`] the engine
//! passes in, never by the script.

pub mod api;
pub mod check;
mod failure;
pub mod files;
pub mod reference;
pub mod sandbox;
pub mod secrets;
pub mod session;

pub use failure::{
    shorten, shorten_to, shorten_words, Failure, FailureKind, RobotError, ScriptPos,
};
pub use session::SessionRules;

use failure::Raised;
use marc_model::{Document, Period};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The request as a script sees it (a constant `request` in its scope).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RequestInfo {
    pub id: String,
    pub cpr: String,
    pub period: Period,
    pub topics: Vec<String>,
}

/// Decides, outside the script, what a robot may do. Implemented by the
/// rights module; `None` in the environment means "no profile" (tests of the
/// runtime only). A refusal's reason comes back as `Err`.
pub trait Guard: Send + Sync {
    /// A top-level navigation the script asks for.
    fn navigation(&self, url: &str) -> Result<(), String>;
    /// A click on an element, described by selector, text and attributes.
    fn click(&self, selector: &str, text: &str, attrs: &[(String, String)]) -> Result<(), String>;
    /// JavaScript the script wants to run in the page.
    fn script(&self, js: &str) -> Result<(), String>;
    /// Requests the enforcing proxy refused since the guard was created;
    /// the runtime stops the robot at the first one.
    fn refusals(&self) -> Vec<String>;
}

/// One recorded step of a robot session (serialisable: it crosses the pipe
/// from the robot process, the screenshot as base64).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    pub command: String,
    pub args: Vec<String>,
    pub ok: bool,
    pub result: String,
    pub duration: Duration,
    pub url: Option<String>,
    pub rights: Option<String>,
    #[serde(with = "png_base64")]
    pub screenshot: Option<Vec<u8>>,
}

/// PNG bytes as base64 text in JSON.
mod png_base64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().map(|b| B64.encode(b)).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| B64.decode(t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Where steps go (the session recorder). Arguments arrive already masked.
pub trait StepSink: Send + Sync {
    fn step(&self, step: StepRecord);
    /// Whether to attach a screenshot to steps that change the page.
    fn wants_screenshots(&self) -> bool {
        false
    }
}

/// Receives emitted documents; returns `Ok(true)` for a new document,
/// `Ok(false)` for the same document already stored (a resumed run), and a
/// [`Failure`] to reject it (a different document under the same key, a
/// secret in its text) or when it cannot be stored.
pub type DocumentSink = Box<dyn Fn(Document) -> Result<bool, Failure> + Send + Sync>;

/// Everything a running script may reach. Built per robot attempt with
/// [`RobotEnv::new`], then given its browser, screen, guard and sinks.
pub struct RobotEnv {
    pub handle: tokio::runtime::Handle,
    pub system: String,
    pub base_url: String,
    /// Vault prefix of the robot's own credential: `login()` uses the
    /// secrets `<credential>.user` and `<credential>.password`.
    pub credential: String,
    pub request: RequestInfo,
    pub browser: Option<Arc<marc_webdriver::Browser>>,
    pub screen: Option<Mutex<Box<dyn ScreenAccess>>>,
    pub secrets: Arc<dyn SecretSource>,
    pub guard: Option<Arc<dyn Guard>>,
    pub steps: Option<Arc<dyn StepSink>>,
    pub sink: DocumentSink,
    pub log: Box<dyn Fn(&str) + Send + Sync>,
    pub limits: sandbox::Limits,
    pub cancel: Arc<AtomicBool>,
    pub(crate) started: Instant,
    pub(crate) run: RunState,
}

/// What a run accumulates while the script runs.
#[derive(Default)]
pub(crate) struct RunState {
    pub(crate) emitted: AtomicUsize,
    /// Secrets handed to the script.
    pub(crate) masked: Mutex<secrets::Secrets>,
    /// Names of weak secrets already warned about.
    pub(crate) warned: Mutex<Vec<String>>,
    pub(crate) raised: Raised,
    pub(crate) files: files::FileRegistry,
    /// Bytes written with `log()` so far.
    pub(crate) log_bytes: AtomicUsize,
    pub(crate) rules: Mutex<SessionRules>,
    pub(crate) session: Mutex<session::SessionState>,
    /// Lowest OCR confidence of web OCR and converted files since the last
    /// emitted document.
    pub(crate) ocr_conf: Mutex<Option<f32>>,
}

/// Most a robot may write with `log()` in one run; a longer line is cut.
pub const MAX_LOG_BYTES: usize = 1 << 20;
/// Longest single log line kept, in characters.
pub const MAX_LOG_LINE: usize = 2000;

/// Secrets a script can ask for by name (vault, or the demo's own). A name
/// outside the robot's own credential is refused ([`FailureKind::Refused`]).
pub trait SecretSource: Send + Sync {
    fn get(&self, name: &str) -> Result<String, Failure>;
}

/// The screen a no-DOM robot looks at (X11 or a browser canvas), with OCR.
pub trait ScreenAccess: Send {
    fn ocr(&mut self) -> Result<ScreenText, String>;
    fn keys(&mut self, spec: &str) -> Result<(), String>;
    fn click_at(&mut self, x: i32, y: i32) -> Result<(), String>;
    fn screenshot(&mut self) -> Result<Vec<u8>, String>;
    /// The lowest mean OCR confidence since the last call (1.0 if none).
    fn take_min_confidence(&mut self) -> f32 {
        1.0
    }
}

/// What OCR read on a screen: words with boxes and confidence, and lines.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ScreenText {
    pub text: String,
    pub mean_conf: f32,
    pub words: Vec<ScreenWord>,
    /// The text per row of the character grid (terminals).
    pub rows: Vec<String>,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ScreenWord {
    pub text: String,
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    pub conf: f32,
    pub line: usize,
}

impl ScreenText {
    /// What `marc_screen` read, in the robot API's shape.
    pub fn from_ocr(r: &marc_screen::OcrResult, rows: Vec<String>) -> ScreenText {
        ScreenText {
            text: r.text.clone(),
            mean_conf: r.mean_conf,
            words: r
                .words
                .iter()
                .map(|w| ScreenWord {
                    text: w.text.clone(),
                    x: w.x,
                    y: w.y,
                    w: w.w,
                    h: w.h,
                    conf: w.conf,
                    line: w.line,
                })
                .collect(),
            rows,
        }
    }
}

impl RobotEnv {
    /// An environment with nothing to act on: no browser, no screen, no
    /// secrets, no rights profile, and a sink that refuses documents.
    pub fn new(
        handle: tokio::runtime::Handle,
        system: &str,
        base_url: &str,
        request: RequestInfo,
    ) -> RobotEnv {
        RobotEnv {
            handle,
            system: system.to_string(),
            base_url: base_url.to_string(),
            credential: system.to_string(),
            request,
            browser: None,
            screen: None,
            secrets: Arc::new(NoSecrets),
            guard: None,
            steps: None,
            sink: Box::new(|_| {
                Err(Failure::new(
                    FailureKind::Script,
                    "emit is not available here",
                ))
            }),
            log: Box::new(|_| {}),
            limits: sandbox::Limits::default(),
            cancel: Arc::new(AtomicBool::new(false)),
            started: Instant::now(),
            run: RunState::default(),
        }
    }

    /// An environment for compiling only (`marc check`, the DSL reference).
    pub fn for_check(handle: tokio::runtime::Handle) -> RobotEnv {
        RobotEnv::new(handle, "check", "http://127.0.0.1/", check_request())
    }

    /// Sets the declared session rules (the manifest's `[session]`).
    pub fn with_session(self, rules: Option<SessionRules>) -> RobotEnv {
        if let (Some(r), Ok(mut g)) = (rules, self.run.rules.lock()) {
            *g = r;
        }
        self
    }

    /// Replaces every secret value handed to the script by a placeholder
    /// naming the secret (`«secret:esdh.password»`), so recordings can be
    /// replayed without ever holding the value. See [`secrets`] for which
    /// forms are found.
    pub fn mask(&self, s: &str) -> String {
        match self.run.masked.lock() {
            Ok(m) => m.mask(s),
            Err(_) => "«masked»".into(),
        }
    }

    pub fn documents_emitted(&self) -> usize {
        self.run.emitted.load(Ordering::Relaxed)
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// The request `marc check` and the DSL reference compile against.
fn check_request() -> RequestInfo {
    let today = chrono::Local::now().date_naive();
    RequestInfo {
        id: "check".into(),
        cpr: "010101-0000".into(),
        period: Period {
            from: today,
            to: today,
        },
        topics: vec![],
    }
}

/// A secret source with nothing in it.
pub struct NoSecrets;

impl SecretSource for NoSecrets {
    fn get(&self, name: &str) -> Result<String, Failure> {
        Err(Failure::new(
            FailureKind::Script,
            format!("no secret named {name:?} is configured; add it with `marc secret set {name}`"),
        ))
    }
}

/// The scope `marc check` compiles against: the same constants a run has.
pub(crate) fn script_scope_for_check() -> rhai::Scope<'static> {
    script_scope(&check_request(), "check", "http://127.0.0.1/")
}

fn script_scope(req: &RequestInfo, system: &str, base_url: &str) -> rhai::Scope<'static> {
    use rhai::{Dynamic, Map};
    let mut r = Map::new();
    r.insert("id".into(), Dynamic::from(req.id.clone()));
    r.insert("cpr".into(), Dynamic::from(req.cpr.clone()));
    r.insert(
        "cpr_compact".into(),
        Dynamic::from(req.cpr.replace('-', "")),
    );
    r.insert(
        "period_from".into(),
        Dynamic::from(req.period.from.to_string()),
    );
    r.insert("period_to".into(), Dynamic::from(req.period.to.to_string()));
    r.insert(
        "topics".into(),
        Dynamic::from(
            req.topics
                .iter()
                .cloned()
                .map(Dynamic::from)
                .collect::<rhai::Array>(),
        ),
    );
    let mut s = Map::new();
    s.insert("id".into(), Dynamic::from(system.to_string()));
    s.insert("base_url".into(), Dynamic::from(base_url.to_string()));
    let mut scope = rhai::Scope::new();
    scope.push_constant("request", r);
    scope.push_constant("system", s);
    scope
}

/// A robot script with the shared modules it may import, read from disk
/// by the engine (the robot's own process never reads files).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Script {
    /// Shown in error positions (`scripts/esdh.rhai:12:5`).
    pub name: String,
    pub source: String,
    /// `(name, source)` of each module importable as `import "lib/<name>"`.
    pub libs: Vec<(String, String)>,
}

/// Largest script or module file marc reads.
const MAX_SCRIPT_BYTES: u64 = 1 << 20;

impl Script {
    /// Reads `file` and every `*.rhai` in `scripts_dir/lib`. Only regular
    /// files inside `scripts_dir` are read: the engine may run as root, so a
    /// symbolic link to a file elsewhere (`/root/...`) is refused without
    /// being opened, and nothing of its content can reach an error.
    pub fn load(file: &Path, scripts_dir: Option<&Path>) -> Result<Script, RobotError> {
        let root = scripts_dir.map(|d| {
            d.canonicalize().map_err(|e| RobotError {
                kind: FailureKind::Script,
                message: format!("cannot read the scripts folder {}: {e}", d.display()),
                at: None,
            })
        });
        let root = root.transpose()?;
        let mut libs = Vec::new();
        if let Some(Ok(rd)) = scripts_dir.map(|d| std::fs::read_dir(d.join("lib"))) {
            let mut files: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            files.sort();
            for p in files
                .into_iter()
                .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
            {
                let stem = p
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                libs.push((stem, read_script(&p, root.as_deref())?));
            }
        }
        Ok(Script {
            name: file.display().to_string(),
            source: read_script(file, root.as_deref())?,
            libs,
        })
    }

    /// A script already in memory, importing nothing (replays, tests).
    pub fn inline(name: &str, source: &str) -> Script {
        Script {
            name: name.to_string(),
            source: source.to_string(),
            libs: Vec::new(),
        }
    }
}

/// Reads a script file that must be a regular file inside `root` (when
/// given) and at most [`MAX_SCRIPT_BYTES`] long.
fn read_script(p: &Path, root: Option<&Path>) -> Result<String, RobotError> {
    let fail = |reason: String| RobotError {
        kind: FailureKind::Script,
        message: format!("cannot read the script {}: {reason}", p.display()),
        at: None,
    };
    if let Some(root) = root {
        let real = p.canonicalize().map_err(|e| fail(e.to_string()))?;
        if !real.starts_with(root) {
            return Err(fail(format!(
                "it is not inside the scripts folder {} (a link to {} is not followed)",
                root.display(),
                real.display()
            )));
        }
    }
    let meta = std::fs::metadata(p).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    if meta.len() > MAX_SCRIPT_BYTES {
        return Err(fail(format!(
            "{} bytes; a script may have at most {MAX_SCRIPT_BYTES}",
            meta.len()
        )));
    }
    std::fs::read_to_string(p).map_err(|e| fail(e.to_string()))
}

/// Builds the sandboxed engine for `env`, with `libs` importable as
/// `import "lib/<name>" as x;`.
pub fn robot_engine(
    env: Arc<RobotEnv>,
    libs: &[(String, String)],
) -> Result<rhai::Engine, RobotError> {
    let mut engine = sandbox::raw_engine(
        &env.limits,
        env.cancel.clone(),
        env.started,
        env.run.raised.clone(),
    );
    let raised = env.run.raised.clone();
    api::register(&mut engine, env);
    let mut resolver = rhai::module_resolvers::StaticModuleResolver::new();
    for (stem, src) in libs {
        let file = format!("lib/{stem}.rhai");
        let ast = engine.compile(src).map_err(|e| compile_error(&file, &e))?;
        let module = rhai::Module::eval_ast_as_new(rhai::Scope::new(), &ast, &engine)
            .map_err(|e| runtime_error(&file, &e, &raised))?;
        resolver.insert(format!("lib/{stem}"), module);
    }
    engine.set_module_resolver(resolver);
    Ok(engine)
}

fn compile_error(file: &str, e: &rhai::ParseError) -> RobotError {
    let pos = e.position();
    RobotError::new(
        FailureKind::Script,
        format!("syntax error: {}", e.err_type()),
    )
    .at(file, pos.line().unwrap_or(0), pos.position().unwrap_or(0))
}

fn runtime_error(file: &str, e: &rhai::EvalAltResult, raised: &Raised) -> RobotError {
    use rhai::EvalAltResult as E;
    let pos = e.position();
    // The message without Rhai's own " (line x, position y)" suffix.
    let (kind, mut message) = match e.unwrap_inner() {
        E::ErrorRuntime(v, _) => {
            let m = v.to_string();
            (raised.kind_of(&m).unwrap_or(FailureKind::System), m)
        }
        E::ErrorTerminated(v, _) => {
            let m = v.to_string();
            (raised.kind_of(&m).unwrap_or(FailureKind::Cancelled), m)
        }
        E::ErrorTooManyOperations(_) => (
            FailureKind::Sandbox,
            "stopped by the sandbox: the script ran too many operations (an endless loop?)".into(),
        ),
        E::ErrorStackOverflow(_) => (
            FailureKind::Sandbox,
            "stopped by the sandbox: calls nested too deeply (runaway recursion?)".into(),
        ),
        E::ErrorDataTooLarge(what, _) => (
            FailureKind::Sandbox,
            format!("stopped by the sandbox: {what} grew beyond its limit"),
        ),
        E::ErrorTooManyModules(_) | E::ErrorTooManyVariables(_) => {
            (FailureKind::Sandbox, format!("stopped by the sandbox: {e}"))
        }
        other => (FailureKind::Script, other.to_string()),
    };
    if let Some(i) = message.rfind(" (line ") {
        if message.ends_with(')') {
            message.truncate(i);
        }
    }
    RobotError::new(kind, message).at(file, pos.line().unwrap_or(0), pos.position().unwrap_or(0))
}

/// Runs a robot script to completion on the current thread (which must not
/// be a tokio worker). Documents go to `env.sink` as they are emitted.
pub fn run_script(env: Arc<RobotEnv>, script: &Script) -> Result<(), RobotError> {
    let name = script.name.as_str();
    let mut scope = script_scope(&env.request, &env.system, &env.base_url);
    let engine = robot_engine(env.clone(), &script.libs)?;
    let ast = engine
        .compile_with_scope(&scope, &script.source)
        .map_err(|e| compile_error(name, &e))?;
    engine.run_ast_with_scope(&mut scope, &ast).map_err(|e| {
        // Whatever the script did with a secret, it never leaves in an error.
        let mut err = runtime_error(name, &e, &env.run.raised);
        err.message = env.mask(&err.message);
        err
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    fn env_with(
        limits: sandbox::Limits,
        docs: Arc<Mutex<Vec<Document>>>,
        rt: &tokio::runtime::Runtime,
    ) -> RobotEnv {
        let mut env = RobotEnv::for_check(rt.handle().clone());
        env.limits = limits;
        env.sink = Box::new(move |d| {
            docs.lock().unwrap().push(d);
            Ok(true)
        });
        env
    }

    fn run(src: &str, limits: sandbox::Limits) -> (Result<(), RobotError>, Vec<Document>) {
        let rt = rt();
        let docs = Arc::new(Mutex::new(Vec::new()));
        let env = env_with(limits, docs.clone(), &rt);
        let r = run_script(Arc::new(env), &Script::inline("t.rhai", src));
        let d = docs.lock().unwrap().clone();
        (r, d)
    }

    fn failure(r: Result<(), RobotError>) -> RobotError {
        match r {
            Err(e) => e,
            Ok(()) => panic!("the script should have been stopped"),
        }
    }

    fn message(r: Result<(), RobotError>) -> String {
        failure(r).to_string()
    }

    #[test]
    fn endless_loop_is_stopped() {
        let limits = sandbox::Limits {
            max_operations: 200_000,
            ..Default::default()
        };
        let e = failure(run("let x = 0;\nloop { x += 1; }", limits).0);
        assert!(e.message.contains("too many operations"), "{e}");
        assert!(e.to_string().starts_with("t.rhai:2:"), "{e}");
        assert_eq!(e.kind, FailureKind::Sandbox);
    }

    #[test]
    fn time_budget_stops_a_busy_script_even_inside_try() {
        let limits = sandbox::Limits {
            time_budget: Duration::from_millis(200),
            ..Default::default()
        };
        let e = failure(run("loop { try { let x = 1; } catch { } }", limits).0);
        assert!(e.message.contains("time budget"), "{e}");
        assert_eq!(e.kind, FailureKind::Budget);
    }

    #[test]
    fn deep_recursion_and_huge_strings_are_stopped() {
        let m = message(run("fn f(n) { f(n + 1) }\nf(0);", Default::default()).0);
        assert!(
            m.contains("nested too deeply") || m.contains("Stack overflow"),
            "{m}"
        );
        let limits = sandbox::Limits {
            max_string_size: 1 << 20,
            ..Default::default()
        };
        let m = message(run("let s = \"x\";\nloop { s += s; }", limits).0);
        assert!(m.contains("beyond its limit"), "{m}");
    }

    #[test]
    fn logging_without_end_is_stopped_long_before_the_budget() {
        let t0 = Instant::now();
        let lines = Arc::new(AtomicUsize::new(0));
        let rt = rt();
        let mut env = RobotEnv::for_check(rt.handle().clone());
        let l2 = lines.clone();
        env.log = Box::new(move |line| {
            assert!(line.len() < 3 * MAX_LOG_LINE, "a log line was not cut");
            l2.fetch_add(1, Ordering::Relaxed);
        });
        let e = failure(run_script(
            Arc::new(env),
            &Script::inline(
                "t.rhai",
                "let s = \"x\";\nfor i in 0..16 { s += s; }\nloop { try { log(s); } catch { } }",
            ),
        ));
        assert_eq!(e.kind, FailureKind::Sandbox, "{e}");
        assert!(e.message.contains("log()"), "{e}");
        assert!(lines.load(Ordering::Relaxed) < 1_000);
        assert!(t0.elapsed() < Duration::from_secs(20));
    }

    #[test]
    fn no_eval_and_no_file_imports() {
        assert!(run("eval(\"1\")", Default::default()).0.is_err());
        let e = failure(run("import \"/etc/passwd\" as p;", Default::default()).0);
        assert!(e.message.contains("/etc/passwd"), "{e}");
        assert_eq!(e.kind, FailureKind::Script);
    }

    #[test]
    fn emit_validates_and_respects_max_documents() {
        let src = r#"emit(#{case_id: "S1", doc_id: "D1", title: "Brev", date: "07.03.2019", text: "hej"});"#;
        let (r, docs) = run(src, Default::default());
        r.unwrap();
        assert_eq!(docs[0].date, "2019-03-07");
        assert_eq!(docs[0].system, "check");
        let e = failure(
            run(
                r#"emit(#{case_id: "S1", doc_id: "D2", title: "x", date: "2019-02-31", text: ""});"#,
                Default::default(),
            )
            .0,
        );
        assert!(e.message.contains("not a date"), "{e}");
        assert_eq!(e.kind, FailureKind::Document);
        let limits = sandbox::Limits {
            max_documents: 1,
            ..Default::default()
        };
        let two = format!("{src}\n{src}");
        let (r, docs) = run(&two, limits);
        let e = failure(r);
        assert!(e.message.contains("at most 1 documents"));
        assert_eq!(e.kind, FailureKind::Budget);
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn a_document_without_a_usable_id_stops_the_robot_even_inside_try() {
        for doc in [
            r#"#{case_id: "S1", title: "x", date: "2020-01-01", text: "a"}"#,
            r#"#{case_id: "S1", doc_id: "", title: "x", date: "2020-01-01", text: "a"}"#,
            r#"#{case_id: "S1", doc_id: "  ", title: "x", date: "2020-01-01", text: "a"}"#,
        ] {
            let src = format!("try {{ emit({doc}); }} catch (e) {{ log(e); }}\nemit(#{{case_id: \"S1\", doc_id: \"D9\", title: \"y\", date: \"2020-01-01\", text: \"b\"}});");
            let (r, docs) = run(&src, Default::default());
            let e = failure(r);
            assert_eq!(e.kind, FailureKind::Document, "{e}");
            assert!(e.message.contains("doc_id"), "{e}");
            assert!(
                docs.is_empty(),
                "the script went on after a rejected document"
            );
        }
        let (r, docs) = run(
            r#"let d = #{case_id: "S1", title: "x", date: "2020-01-01", text: "a"}; d.doc_id = content_id(d); emit(d);"#,
            Default::default(),
        );
        r.unwrap();
        assert!(docs[0].doc_id.starts_with("sha256-"));
    }

    #[test]
    fn retry_retries_transient_failures_only() {
        let src = "let n = 0;\nlet v = retry(3, || { n += 1; if n < 3 { fail(\"flaky\") } n });\nif v != 3 { fail(\"wrong\") }";
        run(src, Default::default()).0.unwrap();
        let e = failure(run("retry(2, || fail(\"down\"));", Default::default()).0);
        assert!(
            e.message.contains("gave up after 2 attempts") && e.message.contains("down"),
            "{e}"
        );
        assert_eq!(e.kind, FailureKind::System);
        // A deterministic error is not tried again: `n` stays 1.
        let e = failure(
            run(
                "let n = 0;\nretry(5, || { n += 1; if n > 1 { fail(\"retried\") } ocr() });",
                Default::default(),
            )
            .0,
        );
        assert_eq!(e.kind, FailureKind::Script, "{e}");
        assert!(e.message.contains("no screen"), "{e}");
    }

    #[test]
    fn failures_carry_their_kind() {
        let kind = |src: &str| failure(run(src, Default::default()).0).kind;
        assert_eq!(kind("fail(\"down\");"), FailureKind::System);
        assert_eq!(
            kind("fail(\"locked\", #{final: true});"),
            FailureKind::Script
        );
        assert_eq!(kind("fail(\"no\", #{login: true});"), FailureKind::Login);
        assert_eq!(kind("let a = [];\na[3];"), FailureKind::Script);
        assert_eq!(kind("nothing_here();"), FailureKind::Script);
        assert_eq!(kind("throw \"mine\";"), FailureKind::System);
        assert_eq!(kind("navigate(\"/x\");"), FailureKind::Script);
        assert!(!FailureKind::Login.catchable());
    }

    /// A guard that refuses every navigation and counts what it was asked.
    struct RefuseAll;
    impl Guard for RefuseAll {
        fn navigation(&self, url: &str) -> Result<(), String> {
            Err(format!("{url} is not allowed"))
        }
        fn click(&self, _: &str, _: &str, _: &[(String, String)]) -> Result<(), String> {
            Err("no".into())
        }
        fn script(&self, _: &str) -> Result<(), String> {
            Err("no".into())
        }
        fn refusals(&self) -> Vec<String> {
            Vec::new()
        }
    }

    #[test]
    fn a_refusal_cannot_be_caught_or_retried() {
        let rt = rt();
        let docs = Arc::new(Mutex::new(Vec::new()));
        for src in [
            "try { navigate(\"http://evil.example/\"); } catch (e) { log(\"caught \" + e); }\nemit(#{case_id: \"S\", doc_id: \"D\", title: \"t\", date: \"2020-01-01\", text: \"x\"});",
            "retry(5, || navigate(\"http://evil.example/\"));\nemit(#{case_id: \"S\", doc_id: \"D\", title: \"t\", date: \"2020-01-01\", text: \"x\"});",
            "fn fetch_it() { try { download(\"http://evil.example/x\") } catch { () } }\nfetch_it();\nemit(#{case_id: \"S\", doc_id: \"D\", title: \"t\", date: \"2020-01-01\", text: \"x\"});",
        ] {
            let logged = Arc::new(Mutex::new(Vec::<String>::new()));
            let mut env = env_with(Default::default(), docs.clone(), &rt);
            env.guard = Some(Arc::new(RefuseAll));
            let l2 = logged.clone();
            env.log = Box::new(move |l| l2.lock().unwrap().push(l.to_string()));
            let e = failure(run_script(Arc::new(env), &Script::inline("t.rhai", src)));
            assert_eq!(e.kind, FailureKind::Refused, "{e}");
            assert!(e.message.contains("refused by the rights profile"), "{e}");
            assert!(!logged.lock().unwrap().iter().any(|l| l.contains("caught")));
            assert!(docs.lock().unwrap().is_empty(), "the script went on: {src}");
        }
    }

    #[test]
    fn a_long_argument_is_quoted_shortened_in_errors_and_logs() {
        let rt = rt();
        let mut env = RobotEnv::for_check(rt.handle().clone());
        env.guard = Some(Arc::new(RefuseAll));
        let logged = Arc::new(Mutex::new(Vec::<String>::new()));
        let l2 = logged.clone();
        env.log = Box::new(move |l| l2.lock().unwrap().push(l.to_string()));
        let src = "let s = \"QUFB\";\nfor i in 0..16 { s += s; }\nnavigate(\"data:image/png;base64,\" + s);";
        let e = failure(run_script(Arc::new(env), &Script::inline("t.rhai", src)));
        assert_eq!(e.kind, FailureKind::Refused);
        assert!(e.message.len() < 600, "{} bytes: {e}", e.message.len());
        assert!(e.message.contains("KB in all"), "{e}");
        for l in logged.lock().unwrap().iter() {
            assert!(
                l.len() < 3 * MAX_LOG_LINE,
                "a log line of {} bytes",
                l.len()
            );
        }
    }

    struct Fixed(&'static str);
    impl SecretSource for Fixed {
        fn get(&self, _: &str) -> Result<String, Failure> {
            Ok(self.0.into())
        }
    }

    fn with_secret(secret: &'static str, src: &str) -> (RobotError, Vec<String>) {
        let rt = rt();
        let mut env = RobotEnv::for_check(rt.handle().clone());
        env.secrets = Arc::new(Fixed(secret));
        let logged = Arc::new(Mutex::new(Vec::<String>::new()));
        let l2 = logged.clone();
        env.log = Box::new(move |l| l2.lock().unwrap().push(l.to_string()));
        let e = failure(run_script(Arc::new(env), &Script::inline("t.rhai", src)));
        let l = logged.lock().unwrap().clone();
        (e, l)
    }

    #[test]
    fn secrets_are_masked_in_errors_and_logs_in_any_form() {
        let (e, logs) = with_secret(
            "hemmeligt-kodeord",
            "let p = secret(\"x.password\");\nlog(p.to_upper());\nlet r = \"\"; for c in p.to_chars() { r = c + r; }\nlog(r);\nlog(p.split(\"-\")[0] + \" \" + p.split(\"-\")[1]);\nfail(\"login failed for \" + p);",
        );
        let m = e.to_string();
        assert!(!m.contains("hemmeligt"), "{m}");
        assert!(m.contains("«secret:x.password»"), "{m}");
        assert_eq!(logs.len(), 3);
        for l in &logs {
            assert!(!l.to_lowercase().contains("hemmeligt"), "{l}");
            assert!(!l.to_lowercase().contains("giltemmeh"), "{l}");
        }
    }

    #[test]
    fn a_weak_secret_does_not_mask_words_and_is_warned_about() {
        let (e, logs) = with_secret(
            "wrong",
            "let p = secret(\"x.password\");\nfail(\"login refused: wrong user name or password\");",
        );
        assert!(e.message.contains("login refused: wrong user name"), "{e}");
        assert!(logs.iter().any(|l| l.contains("weak")), "{logs:?}");
    }

    #[test]
    fn a_linked_library_outside_the_scripts_folder_is_not_read() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let scripts = dir.path().join("scripts");
        std::fs::create_dir_all(scripts.join("lib")).unwrap();
        let secret = dir.path().join("root-only.txt");
        std::fs::write(&secret, "TOPSECRET-TOKEN and more").unwrap();
        symlink(&secret, scripts.join("lib/evil.rhai")).unwrap();
        std::fs::write(scripts.join("r.rhai"), "log(\"hi\");").unwrap();
        let e = Script::load(&scripts.join("r.rhai"), Some(&scripts)).unwrap_err();
        let m = e.to_string();
        assert!(m.contains("not inside the scripts folder"), "{m}");
        assert!(!m.contains("TOPSECRET"), "{m}");
        assert_eq!(e.kind, FailureKind::Script);
        // A manifest's script path may not leave the folder either.
        std::fs::remove_file(scripts.join("lib/evil.rhai")).unwrap();
        let e = Script::load(&secret, Some(&scripts)).unwrap_err();
        assert!(e.to_string().contains("not inside"), "{e}");
        Script::load(&scripts.join("r.rhai"), Some(&scripts)).unwrap();
    }
}
