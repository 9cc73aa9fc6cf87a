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
pub mod reference;
pub mod sandbox;

use marc_model::{Document, Period};
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
/// runtime only).
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
/// `Ok(false)` for one already stored (a resumed run), `Err` to stop.
pub type DocumentSink = Box<dyn Fn(Document) -> Result<bool, String> + Send + Sync>;

/// Everything a running script may reach. Built by the pipeline per robot run.
pub struct RobotEnv {
    pub handle: tokio::runtime::Handle,
    pub system: String,
    pub base_url: String,
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
    pub(crate) emitted: AtomicUsize,
    /// Secrets handed to the script: (name, value), longest value first.
    pub(crate) masked: Mutex<Vec<(String, String)>>,
}

/// Secrets a script can ask for by name (vault, or the demo's own).
pub trait SecretSource: Send + Sync {
    fn get(&self, name: &str) -> Result<String, String>;
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

impl RobotEnv {
    /// An environment for compiling only (`marc check`, the DSL reference).
    pub fn for_check(handle: tokio::runtime::Handle) -> RobotEnv {
        let today = chrono::Local::now().date_naive();
        RobotEnv {
            handle,
            system: "check".into(),
            base_url: "http://127.0.0.1/".into(),
            request: RequestInfo {
                id: "check".into(),
                cpr: "010101-0000".into(),
                period: Period {
                    from: today,
                    to: today,
                },
                topics: vec![],
            },
            browser: None,
            screen: None,
            secrets: Arc::new(NoSecrets),
            guard: None,
            steps: None,
            sink: Box::new(|_| Err("emit is not available while checking".into())),
            log: Box::new(|_| {}),
            limits: sandbox::Limits::default(),
            cancel: Arc::new(AtomicBool::new(false)),
            started: Instant::now(),
            emitted: AtomicUsize::new(0),
            masked: Mutex::new(Vec::new()),
        }
    }

    /// Replaces every secret value handed to the script by a placeholder
    /// naming the secret (`«secret:esdh.password»`), so recordings can be
    /// replayed without ever holding the value.
    pub fn mask(&self, s: &str) -> String {
        let masked = self.masked.lock().map(|m| m.clone()).unwrap_or_default();
        mask_secrets(s, &masked)
    }

    /// The secret values handed to the script so far.
    pub fn secret_values(&self) -> Vec<String> {
        self.masked
            .lock()
            .map(|m| m.iter().map(|(_, v)| v.clone()).collect())
            .unwrap_or_default()
    }

    pub fn documents_emitted(&self) -> usize {
        self.emitted.load(Ordering::Relaxed)
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Replaces each `(name, value)` secret's value in `s` by its placeholder.
/// `secrets` should be sorted longest value first, so a secret containing
/// another is masked whole.
pub fn mask_secrets(s: &str, secrets: &[(String, String)]) -> String {
    let mut out = s.to_string();
    for (name, v) in secrets.iter().filter(|(_, v)| !v.is_empty()) {
        out = out.replace(v.as_str(), &secret_placeholder(name));
    }
    out
}

/// How a masked secret appears in logs and recordings.
pub fn secret_placeholder(name: &str) -> String {
    format!("«secret:{name}»")
}

/// A secret source with nothing in it.
pub struct NoSecrets;

impl SecretSource for NoSecrets {
    fn get(&self, name: &str) -> Result<String, String> {
        Err(format!(
            "no secret named {name:?} is configured; add it with `marc secret set {name}`"
        ))
    }
}

/// Why a robot run stopped without success.
#[derive(Debug, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum RobotError {
    #[error("{file}:{line}:{column}: {message}")]
    Compile {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Runtime {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("cannot read the script {file}: {reason}")]
    Read { file: String, reason: String },
    /// The browser or screen could not be opened (worth another attempt).
    #[error("{0}")]
    Setup(String),
    /// The robot process died or overran its budget (see [`crate::worker`]).
    #[error("{0}")]
    Process(String),
}

impl RobotError {
    /// Whether the rights profile refused an action.
    pub fn is_refusal(&self) -> bool {
        matches!(self, RobotError::Runtime { message, .. } if message.contains("refused by the rights profile"))
    }

    /// Whether trying again cannot help: a refusal, a sandbox stop, a spent
    /// time budget, or a script that does not compile.
    pub fn is_final(&self) -> bool {
        match self {
            RobotError::Compile { .. } | RobotError::Read { .. } => true,
            RobotError::Setup(_) | RobotError::Process(_) => false,
            RobotError::Runtime { message, .. } => {
                self.is_refusal()
                    || message.contains("stopped by the sandbox")
                    || message.contains("time budget")
            }
        }
    }
}

/// The scope `marc check` compiles against: the same constants a run has.
pub(crate) fn script_scope_for_check() -> rhai::Scope<'static> {
    let rt_today = chrono::Local::now().date_naive();
    let req = RequestInfo {
        id: "check".into(),
        cpr: "010101-0000".into(),
        period: Period {
            from: rt_today,
            to: rt_today,
        },
        topics: vec![],
    };
    script_scope(&req, "check", "http://127.0.0.1/")
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

impl Script {
    /// Reads `file` and every `*.rhai` in `scripts_dir/lib`.
    pub fn load(
        file: &std::path::Path,
        scripts_dir: Option<&std::path::Path>,
    ) -> Result<Script, RobotError> {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p).map_err(|e| RobotError::Read {
                file: p.display().to_string(),
                reason: e.to_string(),
            })
        };
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
                libs.push((stem, read(&p)?));
            }
        }
        Ok(Script {
            name: file.display().to_string(),
            source: read(file)?,
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

/// Builds the sandboxed engine for `env`, with `libs` importable as
/// `import "lib/<name>" as x;`.
pub fn robot_engine(
    env: Arc<RobotEnv>,
    libs: &[(String, String)],
) -> Result<rhai::Engine, RobotError> {
    let mut engine = sandbox::raw_engine(&env.limits, env.cancel.clone(), env.started);
    api::register(&mut engine, env);
    let mut resolver = rhai::module_resolvers::StaticModuleResolver::new();
    for (stem, src) in libs {
        let file = format!("lib/{stem}.rhai");
        let ast = engine.compile(src).map_err(|e| compile_error(&file, &e))?;
        let module = rhai::Module::eval_ast_as_new(rhai::Scope::new(), &ast, &engine)
            .map_err(|e| runtime_error(&file, &e))?;
        resolver.insert(format!("lib/{stem}"), module);
    }
    engine.set_module_resolver(resolver);
    Ok(engine)
}

fn compile_error(file: &str, e: &rhai::ParseError) -> RobotError {
    let pos = e.position();
    RobotError::Compile {
        file: file.to_string(),
        line: pos.line().unwrap_or(0),
        column: pos.position().unwrap_or(0),
        message: format!("syntax error: {}", e.err_type()),
    }
}

fn runtime_error(file: &str, e: &rhai::EvalAltResult) -> RobotError {
    let pos = e.position();
    // The message without Rhai's own " (line x, position y)" suffix.
    let mut message = match e.unwrap_inner() {
        rhai::EvalAltResult::ErrorRuntime(v, _) => v.to_string(),
        rhai::EvalAltResult::ErrorTooManyOperations(_) => {
            "stopped by the sandbox: the script ran too many operations (an endless loop?)".into()
        }
        rhai::EvalAltResult::ErrorStackOverflow(_) => {
            "stopped by the sandbox: calls nested too deeply (runaway recursion?)".into()
        }
        rhai::EvalAltResult::ErrorDataTooLarge(what, _) => {
            format!("stopped by the sandbox: {what} grew beyond its limit")
        }
        rhai::EvalAltResult::ErrorTerminated(v, _) => format!("stopped: {v}"),
        other => other.to_string(),
    };
    if let Some(i) = message.rfind(" (line ") {
        if message.ends_with(')') {
            message.truncate(i);
        }
    }
    RobotError::Runtime {
        file: file.to_string(),
        line: pos.line().unwrap_or(0),
        column: pos.position().unwrap_or(0),
        message,
    }
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
    engine
        .run_ast_with_scope(&mut scope, &ast)
        .map_err(|e| match runtime_error(name, &e) {
            // Whatever the script did with a secret, it never leaves in an error.
            RobotError::Runtime {
                file,
                line,
                column,
                message,
            } => RobotError::Runtime {
                file,
                line,
                column,
                message: env.mask(&message),
            },
            other => other,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(
        limits: sandbox::Limits,
        docs: Arc<Mutex<Vec<Document>>>,
        rt: &tokio::runtime::Runtime,
    ) -> Arc<RobotEnv> {
        let mut env = RobotEnv::for_check(rt.handle().clone());
        env.limits = limits;
        env.sink = Box::new(move |d| {
            docs.lock().unwrap().push(d);
            Ok(true)
        });
        Arc::new(env)
    }

    fn run(src: &str, limits: sandbox::Limits) -> (Result<(), RobotError>, Vec<Document>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let docs = Arc::new(Mutex::new(Vec::new()));
        let env = env_with(limits, docs.clone(), &rt);
        let r = run_script(env, &Script::inline("t.rhai", src));
        let d = docs.lock().unwrap().clone();
        (r, d)
    }

    fn message(r: Result<(), RobotError>) -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(()) => panic!("the script should have been stopped"),
        }
    }

    #[test]
    fn endless_loop_is_stopped() {
        let limits = sandbox::Limits {
            max_operations: 200_000,
            ..Default::default()
        };
        let m = message(run("let x = 0;\nloop { x += 1; }", limits).0);
        assert!(m.contains("too many operations"), "{m}");
        assert!(m.starts_with("t.rhai:2:"), "{m}");
    }

    #[test]
    fn time_budget_stops_a_busy_script() {
        let limits = sandbox::Limits {
            time_budget: Duration::from_millis(200),
            ..Default::default()
        };
        let m = message(run("loop { }", limits).0);
        assert!(m.contains("time budget"), "{m}");
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
    fn no_eval_and_no_file_imports() {
        assert!(run("eval(\"1\")", Default::default()).0.is_err());
        let m = message(run("import \"/etc/passwd\" as p;", Default::default()).0);
        assert!(m.contains("/etc/passwd"), "{m}");
    }

    #[test]
    fn emit_validates_and_respects_max_documents() {
        let src = r#"emit(#{case_id: "S1", doc_id: "D1", title: "Brev", date: "07.03.2019", text: "hej"});"#;
        let (r, docs) = run(src, Default::default());
        r.unwrap();
        assert_eq!(docs[0].date, "2019-03-07");
        assert_eq!(docs[0].system, "check");
        let m = message(
            run(
                r#"emit(#{case_id: "S1", title: "x", date: "2019-02-31", text: ""});"#,
                Default::default(),
            )
            .0,
        );
        assert!(m.contains("not a date"), "{m}");
        let limits = sandbox::Limits {
            max_documents: 1,
            ..Default::default()
        };
        let two = format!("{src}\n{src}");
        let (r, docs) = run(&two, limits);
        assert!(message(r).contains("at most 1 documents"));
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn retry_retries_and_gives_up() {
        let src = "let n = 0;\nlet v = retry(3, || { n += 1; if n < 3 { fail(\"flaky\") } n });\nif v != 3 { fail(\"wrong\") }";
        run(src, Default::default()).0.unwrap();
        let m = message(run("retry(2, || fail(\"down\"));", Default::default()).0);
        assert!(
            m.contains("gave up after 2 attempts") && m.contains("down"),
            "{m}"
        );
    }

    #[test]
    fn secrets_are_masked_in_errors() {
        struct S;
        impl SecretSource for S {
            fn get(&self, _: &str) -> Result<String, String> {
                Ok("hemmeligt-kodeord".into())
            }
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut env = RobotEnv::for_check(rt.handle().clone());
        env.secrets = Arc::new(S);
        let m = message(run_script(
            Arc::new(env),
            &Script::inline(
                "t.rhai",
                "let p = secret(\"x.password\");\nfail(\"login failed for \" + p);",
            ),
        ));
        assert!(!m.contains("hemmeligt"), "{m}");
        assert!(m.contains("«secret:x.password»"), "{m}");
    }
}
