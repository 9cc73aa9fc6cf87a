//! The robot API registered into Rhai. Each function's doc line here is what
//! `marc dsl` prints, so the reference is generated from this file.

use super::{RobotEnv, StepRecord};
use marc_model::Document;
use rhai::{
    Array, Blob, Dynamic, Engine, EvalAltResult, FnPtr, FuncRegistration, Map, NativeCallContext,
    Position,
};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

type RResult<T> = Result<T, Box<EvalAltResult>>;

fn err<T>(msg: impl Into<String>) -> RResult<T> {
    Err(Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(msg.into()),
        Position::NONE,
    )))
}

/// Registers a documented API function.
macro_rules! api {
    ($engine:expr, $name:literal, [$($p:literal),*], $doc:literal, $f:expr) => {
        FuncRegistration::new($name)
            .with_params_info([$($p),*])
            .with_comments([concat!("/// ", $doc)])
            .register_into_engine($engine, $f);
    };
}

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
        format!("{} bytes {}", self.bytes.len(), self.mime)
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

impl RobotEnv {
    /// Runs one API action: blocks on its future, checks the proxy's
    /// refusals, records the step (arguments masked), and turns failures
    /// into script errors.
    fn act<T: Summary>(
        &self,
        command: &str,
        args: &[&str],
        rights: Option<String>,
        fut: impl Future<Output = Result<T, String>>,
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
        fut: impl Future<Output = Result<T, String>>,
    ) -> RResult<T> {
        if self.cancelled() {
            return err("the robot run was cancelled");
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
            let browser = self.browser.clone();
            let (url, shot) = match &browser {
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
            let shot = match (shot, wants_shot, &self.screen) {
                (None, true, Some(s)) => s.lock().ok().and_then(|mut s| s.screenshot().ok()),
                (s, _, _) => s,
            };
            steps.step(StepRecord {
                command: command.to_string(),
                args: args.iter().map(|a| self.mask(a)).collect(),
                ok: out.is_ok() && refusal.is_none(),
                result: self.mask(&match (&out, &refusal) {
                    (_, Some(r)) => format!("refused: {r}"),
                    (Ok(v), None) => v.summary(),
                    (Err(e), None) => format!("error: {e}"),
                }),
                duration: t0.elapsed(),
                url: url.map(|u| self.mask(&u)),
                rights: match &refusal {
                    Some(r) => Some(format!("refused: {r}")),
                    None => rights.or_else(|| Some("allowed".into())),
                },
                screenshot: shot,
            });
        }
        if let Some(r) = refusal {
            (self.log)(&format!("REFUSED: {r}"));
            return err(format!("{command}: refused by the rights profile: {r}"));
        }
        match out {
            Ok(v) => Ok(v),
            Err(e) => err(self.mask(&format!("{command}: {e}"))),
        }
    }

    fn browser(&self) -> RResult<Arc<marc_webdriver::Browser>> {
        match &self.browser {
            Some(b) => Ok(b.clone()),
            None => err("this robot has no browser (its manifest's driver is not webdriver)"),
        }
    }

    /// Resolves a URL relative to the system's base URL.
    pub fn absolute(&self, url: &str) -> String {
        if url.contains("://") {
            return url.to_string();
        }
        let base = self.base_url.trim_end_matches('/');
        if url.starts_with('/') {
            // keep scheme://host:port of the base
            let origin_end = base
                .find("://")
                .map(|i| i + 3)
                .and_then(|i| base[i..].find('/').map(|j| i + j));
            let origin = match origin_end {
                Some(e) => &base[..e],
                None => base,
            };
            format!("{origin}{url}")
        } else {
            format!("{base}/{url}")
        }
    }

    fn refuse_if(
        &self,
        command: &str,
        args: &[&str],
        decision: Result<(), String>,
    ) -> RResult<Option<String>> {
        match decision {
            Ok(()) => Ok(Some("allowed".into())),
            Err(reason) => {
                (self.log)(&format!("REFUSED {command}: {reason}"));
                if let Some(steps) = &self.steps {
                    steps.step(StepRecord {
                        command: command.into(),
                        args: args.iter().map(|a| self.mask(a)).collect(),
                        ok: false,
                        result: format!("refused: {reason}"),
                        duration: Duration::ZERO,
                        url: None,
                        rights: Some(format!("refused: {reason}")),
                        screenshot: None,
                    });
                }
                err(format!(
                    "{command}: refused by the rights profile: {reason}"
                ))
            }
        }
    }
}

fn to_dynamic<T: serde::Serialize>(v: &T) -> RResult<Dynamic> {
    rhai::serde::to_dynamic(v)
}

/// Registers the whole robot API into `engine`, bound to `env`.
pub fn register(engine: &mut Engine, env: Arc<RobotEnv>) {
    register_browser(engine, env.clone());
    register_screen(engine, env.clone());
    register_flow(engine, env);
}

fn register_browser(engine: &mut Engine, env: Arc<RobotEnv>) {
    let e = env.clone();
    api!(engine, "navigate", ["url: &str", "()"], "Opens a URL (relative URLs are resolved against the system's base URL). Checked against the rights profile.", move |url: &str| -> RResult<()> {
        let abs = e.absolute(url);
        let rights = match &e.guard {
            Some(g) => e.refuse_if("navigate", &[&abs], g.navigation(&abs))?,
            None => None,
        };
        let b = e.browser()?;
        let target = abs.clone();
        e.act("navigate", &[&abs], rights, async move { b.goto(&target).await.map_err(|x| x.to_string()) })
    });
    let e = env.clone();
    api!(engine, "click", ["selector: &str", "()"], "Clicks the element a CSS selector (or `xpath:`/`link:` selector) matches. Elements the rights profile forbids are refused before the click.", move |sel: &str| -> RResult<()> {
        let b = e.browser()?;
        let rights = match &e.guard {
            Some(g) => {
                let sel2 = sel.to_string();
                let b2 = b.clone();
                let info = e.handle.block_on(async move { b2.element_info(&sel2).await }).map_err(|x| x.to_string());
                let info = match info {
                    Ok(Some(i)) => i,
                    Ok(None) => return err(format!("click: no element matches {sel:?}")),
                    Err(x) => return err(format!("click: {x}")),
                };
                e.refuse_if("click", &[sel], g.click(sel, &info.text, &info.attrs))?
            }
            None => None,
        };
        let s = sel.to_string();
        e.act("click", &[sel], rights, async move { b.click(&s).await.map_err(|x| x.to_string()) })
    });
    let e = env.clone();
    api!(
        engine,
        "fill",
        ["selector: &str", "text: &str", "()"],
        "Clears a form field and types text into it (secrets are masked in recordings).",
        move |sel: &str, text: &str| -> RResult<()> {
            let b = e.browser()?;
            let (s, t) = (sel.to_string(), text.to_string());
            e.act("fill", &[sel, text], None, async move {
                b.type_text(&s, &t).await.map_err(|x| x.to_string())
            })
        }
    );
    let e = env.clone();
    api!(
        engine,
        "select",
        ["selector: &str", "value: &str", "()"],
        "Chooses the option with the given value in a <select>.",
        move |sel: &str, value: &str| -> RResult<()> {
            let b = e.browser()?;
            let (s, v) = (sel.to_string(), value.to_string());
            e.act("select", &[sel, value], None, async move {
                b.select(&s, &v).await.map_err(|x| x.to_string())
            })
        }
    );
    let e = env.clone();
    api!(
        engine,
        "text",
        ["selector: &str", "String"],
        "The visible text of the first matching element; an error if none matches.",
        move |sel: &str| -> RResult<String> {
            let b = e.browser()?;
            let s = sel.to_string();
            e.act("text", &[sel], None, async move {
                b.text(&s).await.map_err(|x| x.to_string())
            })
        }
    );
    let e = env.clone();
    api!(
        engine,
        "texts",
        ["selector: &str", "Array"],
        "The visible text of every matching element, in one round trip.",
        move |sel: &str| -> RResult<Array> {
            let b = e.browser()?;
            let s = sel.to_string();
            let v = e.act("texts", &[sel], None, async move {
                b.texts(&s).await.map_err(|x| x.to_string())
            })?;
            Ok(v.into_iter().map(Dynamic::from).collect())
        }
    );
    let e = env.clone();
    api!(
        engine,
        "attr",
        ["selector: &str", "name: &str", "String"],
        "An attribute of the first matching element, or () when it has none.",
        move |sel: &str, name: &str| -> RResult<Dynamic> {
            let b = e.browser()?;
            let (s, n) = (sel.to_string(), name.to_string());
            let v = e.act("attr", &[sel, name], None, async move {
                b.attr(&s, &n).await.map_err(|x| x.to_string())
            })?;
            Ok(v.map(Dynamic::from).unwrap_or(Dynamic::UNIT))
        }
    );
    let e = env.clone();
    api!(
        engine,
        "exists",
        ["selector: &str", "bool"],
        "Whether any element matches now (no waiting, no error).",
        move |sel: &str| -> RResult<bool> {
            let b = e.browser()?;
            let s = sel.to_string();
            e.act("exists", &[sel], None, async move {
                b.exists(&s).await.map_err(|x| x.to_string())
            })
        }
    );
    let e = env.clone();
    api!(engine, "wait_for", ["selector: &str", "ms: i64", "()"], "Waits up to `ms` milliseconds until an element matches; an error naming the page if it never does.", move |sel: &str, ms: i64| -> RResult<()> {
        let b = e.browser()?;
        let s = sel.to_string();
        let ms = ms.clamp(0, 600_000) as u64;
        e.act("wait_for", &[sel, &ms.to_string()], None, async move { b.wait_for(&s, ms).await.map_err(|x| x.to_string()) })
    });
    let e = env.clone();
    api!(engine, "table", ["selector: &str", "Array"], "Reads a whole table in one round trip: an array of maps keyed by header text and cell class; links add `<key>_href`, row data attributes add `data_<name>`.", move |sel: &str| -> RResult<Array> {
        let b = e.browser()?;
        let s = sel.to_string();
        let rows = e.act("table", &[sel], None, async move { b.table(&s).await.map_err(|x| x.to_string()) })?;
        rows.iter().map(to_dynamic).collect()
    });
    let e = env.clone();
    api!(
        engine,
        "frame",
        ["selector: &str", "()"],
        "Enters the frame or iframe the selector matches.",
        move |sel: &str| -> RResult<()> {
            let b = e.browser()?;
            let s = sel.to_string();
            e.act("frame", &[sel], None, async move {
                b.frame(&s).await.map_err(|x| x.to_string())
            })
        }
    );
    let e = env.clone();
    api!(
        engine,
        "parent_frame",
        ["()"],
        "Leaves the current frame for its parent.",
        move || -> RResult<()> {
            let b = e.browser()?;
            e.act("parent_frame", &[], None, async move {
                b.parent_frame().await.map_err(|x| x.to_string())
            })
        }
    );
    let e = env.clone();
    api!(
        engine,
        "windows",
        ["Array"],
        "Handles of all open windows (popups included).",
        move || -> RResult<Array> {
            let b = e.browser()?;
            let v = e.act("windows", &[], None, async move {
                b.windows().await.map_err(|x| x.to_string())
            })?;
            Ok(v.into_iter().map(Dynamic::from).collect())
        }
    );
    let e = env.clone();
    api!(
        engine,
        "current_window",
        ["String"],
        "The handle of the window the robot is in.",
        move || -> RResult<String> {
            let b = e.browser()?;
            e.act("current_window", &[], None, async move {
                b.current_window().await.map_err(|x| x.to_string())
            })
        }
    );
    let e = env.clone();
    api!(
        engine,
        "switch_window",
        ["handle: &str", "()"],
        "Switches to another window (a popup a click opened).",
        move |h: &str| -> RResult<()> {
            let b = e.browser()?;
            let h2 = h.to_string();
            e.act("switch_window", &[h], None, async move {
                b.switch_window(&h2).await.map_err(|x| x.to_string())
            })
        }
    );
    let e = env.clone();
    api!(
        engine,
        "close_window",
        ["()"],
        "Closes the current window; switch to another one afterwards.",
        move || -> RResult<()> {
            let b = e.browser()?;
            e.act("close_window", &[], None, async move {
                b.close_window().await.map_err(|x| x.to_string())
            })
        }
    );
    let e = env.clone();
    api!(
        engine,
        "current_url",
        ["String"],
        "The URL of the current page (or frame's top document).",
        move || -> RResult<String> {
            let b = e.browser()?;
            e.act("current_url", &[], None, async move {
                b.current_url().await.map_err(|x| x.to_string())
            })
        }
    );
    let e = env.clone();
    api!(
        engine,
        "refresh",
        ["()"],
        "Reloads the current page.",
        move || -> RResult<()> {
            let b = e.browser()?;
            e.act("refresh", &[], None, async move {
                b.refresh().await.map_err(|x| x.to_string())
            })
        }
    );
    let e = env.clone();
    api!(engine, "download", ["url: &str", "Map"], "Fetches a file through the browser session (cookies, proxy and rights apply): #{bytes: Blob, mime, url, size}.", move |url: &str| -> RResult<Map> {
        let abs = e.absolute(url);
        let rights = match &e.guard {
            Some(g) => e.refuse_if("download", &[&abs], g.navigation(&abs))?,
            None => None,
        };
        let b = e.browser()?;
        let a2 = abs.clone();
        let d = e.act("download", &[&abs], rights, async move { b.download(&a2).await.map_err(|x| x.to_string()) })?;
        let mut m = Map::new();
        m.insert("size".into(), Dynamic::from(d.bytes.len() as i64));
        m.insert("bytes".into(), Dynamic::from_blob(d.bytes));
        m.insert("mime".into(), Dynamic::from(d.mime));
        m.insert("url".into(), Dynamic::from(d.url));
        Ok(m)
    });
    let e = env.clone();
    api!(
        engine,
        "screenshot",
        ["Blob"],
        "A PNG of the current viewport (also stored in the session recording).",
        move || -> RResult<Blob> {
            if let Some(s) = &e.screen {
                let png = s
                    .lock()
                    .map_err(|_| "screen lock poisoned".to_string())
                    .and_then(|mut s| s.screenshot());
                return match png {
                    Ok(p) => Ok(p),
                    Err(x) => err(format!("screenshot: {x}")),
                };
            }
            let b = e.browser()?;
            e.act("screenshot", &[], None, async move {
                b.screenshot().await.map_err(|x| x.to_string())
            })
        }
    );
    let e = env;
    api!(engine, "eval_js", ["code: &str", "Dynamic"], "Runs JavaScript in the page and returns its JSON result. Subject to the rights profile; requests it makes go through the enforcing proxy.", move |code: &str| -> RResult<Dynamic> {
        let rights = match &e.guard {
            Some(g) => e.refuse_if("eval_js", &[code], g.script(code))?,
            None => None,
        };
        let b = e.browser()?;
        let c = code.to_string();
        let v = e.act("eval_js", &[code], rights, async move { b.execute(&c, vec![]).await.map_err(|x| x.to_string()) })?;
        to_dynamic(&v)
    });
}

fn register_screen(engine: &mut Engine, env: Arc<RobotEnv>) {
    fn with_screen<T: Summary>(
        e: &RobotEnv,
        cmd: &str,
        args: &[&str],
        f: impl FnOnce(&mut dyn super::ScreenAccess) -> Result<T, String>,
    ) -> RResult<T> {
        let Some(s) = &e.screen else {
            return err(format!(
                "{cmd}: this robot has no screen (its manifest's driver is not screen)"
            ));
        };
        let t0 = Instant::now();
        let mut guard = match s.lock() {
            Ok(g) => g,
            Err(_) => return err("the screen driver failed earlier in this run"),
        };
        let r = f(guard.as_mut());
        drop(guard);
        e.act_since(t0, cmd, args, None, async move { r })
    }
    fn text_map(t: &super::ScreenText) -> RResult<Map> {
        let mut m = Map::new();
        m.insert("text".into(), Dynamic::from(t.text.clone()));
        m.insert("conf".into(), Dynamic::from(t.mean_conf as f64));
        m.insert("words".into(), to_dynamic(&t.words)?);
        Ok(m)
    }
    let e = env.clone();
    api!(engine, "ocr", ["Map"], "Captures the screen and reads it with OCR: #{text, conf, words: [#{text, x, y, w, h, conf, line}]}.", move || -> RResult<Map> {
        let t = with_screen(&e, "ocr", &[], |s| s.ocr())?;
        text_map(&t)
    });
    let e = env.clone();
    api!(engine, "screen_rows", ["Array"], "Captures the screen and returns the OCR text of each row of the character grid (24 for a terminal); empty rows are empty strings.", move || -> RResult<Array> {
        let t = with_screen(&e, "ocr", &[], |s| s.ocr())?;
        Ok(t.rows.into_iter().map(Dynamic::from).collect())
    });
    let e = env.clone();
    api!(
        engine,
        "screen_text",
        ["String"],
        "Captures the screen and returns the OCR text, lines separated by newlines.",
        move || -> RResult<String> { Ok(with_screen(&e, "ocr", &[], |s| s.ocr())?.text) }
    );
    let e = env.clone();
    api!(
        engine,
        "keys",
        ["spec: &str", "()"],
        "Types keys: plain text plus named keys in braces, e.g. \"12345{Enter}{F8}{Tab}\".",
        move |spec: &str| -> RResult<()> { with_screen(&e, "keys", &[spec], |s| s.keys(spec)) }
    );
    let e = env.clone();
    api!(
        engine,
        "click_at",
        ["x: i64", "y: i64", "()"],
        "Clicks at screen coordinates.",
        move |x: i64, y: i64| -> RResult<()> {
            with_screen(&e, "click_at", &[&x.to_string(), &y.to_string()], |s| {
                s.click_at(x as i32, y as i32)
            })
        }
    );
    let e = env.clone();
    api!(engine, "find_text", ["text: &str", "Dynamic"], "Finds text on the screen (case-insensitive, phrases allowed): #{text, x, y, w, h, conf} or ().", move |needle: &str| -> RResult<Dynamic> {
        let t = with_screen(&e, "find_text", &[needle], |s| s.ocr())?;
        match find_phrase(&t, needle) {
            Some(w) => to_dynamic(&w),
            None => Ok(Dynamic::UNIT),
        }
    });
    let e = env.clone();
    api!(engine, "click_text", ["text: &str", "()"], "Finds text on the screen with OCR and clicks its centre; an error saying what was on the screen if it is not there.", move |needle: &str| -> RResult<()> {
        let t = with_screen(&e, "click_text", &[needle], |s| s.ocr())?;
        match find_phrase(&t, needle) {
            Some(w) => with_screen(&e, "click_at", &[needle], |s| s.click_at(w.x + w.w / 2, w.y + w.h / 2)),
            None => err(format!("click_text: {needle:?} is not on the screen; it shows: {}", excerpt(&t.text))),
        }
    });
    let e = env;
    api!(engine, "wait_text", ["text: &str", "ms: i64", "Map"], "Waits up to `ms` milliseconds until text appears on the screen; returns the OCR result, or an error that quotes what the screen showed.", move |needle: &str, ms: i64| -> RResult<Map> {
        let deadline = Instant::now() + Duration::from_millis(ms.clamp(0, 600_000) as u64);
        loop {
            let t = with_screen(&e, "wait_text", &[needle], |s| s.ocr())?;
            if find_phrase(&t, needle).is_some() || t.text.to_lowercase().contains(&needle.to_lowercase()) {
                return text_map(&t);
            }
            if Instant::now() >= deadline {
                return err(format!("wait_text: {needle:?} did not appear within {ms} ms; the screen shows: {}", excerpt(&t.text)));
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    });
}

fn excerpt(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    flat.chars().take(300).collect()
}

/// Finds a phrase in OCR words: consecutive words on one line whose text,
/// case-folded, matches the phrase's words.
pub fn find_phrase(t: &super::ScreenText, needle: &str) -> Option<super::ScreenWord> {
    let want: Vec<String> = needle
        .split_whitespace()
        .map(|w| w.to_lowercase())
        .collect();
    if want.is_empty() {
        return None;
    }
    let words = &t.words;
    for i in 0..words.len() {
        let mut ok = true;
        for (k, w) in want.iter().enumerate() {
            match words.get(i + k) {
                Some(x) if x.line == words[i].line && norm(&x.text).contains(&norm(w)) => {}
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            let last = &words[i + want.len() - 1];
            let first = &words[i];
            return Some(super::ScreenWord {
                text: needle.to_string(),
                x: first.x,
                y: first.y.min(last.y),
                w: last.x + last.w - first.x,
                h: first.h.max(last.h),
                conf: first.conf.min(last.conf),
                line: first.line,
            });
        }
    }
    None
}

fn norm(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '=')
        .collect()
}

fn register_flow(engine: &mut Engine, env: Arc<RobotEnv>) {
    let e = env.clone();
    api!(engine, "secret", ["name: &str", "String"], "A secret from the vault (e.g. the robot's password). Its value is masked in every log, recording and error.", move |name: &str| -> RResult<String> {
        match e.secrets.get(name) {
            Ok(v) => {
                if let Ok(mut m) = e.masked.lock() {
                    m.push((name.to_string(), v.clone()));
                    m.sort_by_key(|(_, s)| std::cmp::Reverse(s.len()));
                }
                Ok(v)
            }
            Err(x) => err(format!("secret: {x}")),
        }
    });
    let e = env.clone();
    api!(
        engine,
        "log",
        ["message: &str", "()"],
        "Writes a line to the run's log (secrets masked).",
        move |msg: &str| {
            (e.log)(&e.mask(msg));
        }
    );
    api!(
        engine,
        "fail",
        ["reason: &str", "()"],
        "Stops the robot with an error; the system is reported as failed.",
        move |reason: &str| -> RResult<()> { err(format!("robot failed: {reason}")) }
    );
    api!(
        engine,
        "sleep",
        ["ms: i64", "()"],
        "Pauses the robot (at most 60 s at a time).",
        move |ms: i64| {
            std::thread::sleep(Duration::from_millis(ms.clamp(0, 60_000) as u64));
        }
    );
    api!(engine, "iso_date", ["date: &str", "String"], "Normalises a Danish date (DD.MM.YYYY, DD-MM-YYYY, DD/MM/YYYY) or an ISO date to YYYY-MM-DD.", |s: &str| -> RResult<String> {
        match iso_date(s) {
            Some(d) => Ok(d),
            None => err(format!("iso_date: {s:?} is not a date")),
        }
    });
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
        "absolute",
        ["url: &str", "String"],
        "Resolves a URL against the system's base URL.",
        move |u: &str| -> String { e.absolute(u) }
    );
    api!(engine, "retry", ["times: i64", "action: FnPtr", "Dynamic"], "Calls `action` up to `times` times, with backoff (0.2 s, 0.4 s, ... up to 5 s), until it succeeds; rights refusals are never retried.", |ctx: NativeCallContext, times: i64, f: FnPtr| -> RResult<Dynamic> {
        let times = times.clamp(1, 20);
        let mut last = String::new();
        for attempt in 0..times {
            match f.call_within_context::<Dynamic>(&ctx, ()) {
                Ok(v) => return Ok(v),
                Err(x) => {
                    let msg = x.to_string();
                    if msg.contains("refused by the rights profile") || msg.contains("cancelled") || msg.contains("time budget") {
                        return Err(x);
                    }
                    last = msg;
                    if attempt + 1 < times {
                        std::thread::sleep(Duration::from_millis((200u64 << attempt.min(5)).min(5_000)));
                    }
                }
            }
        }
        err(format!("retry: gave up after {times} attempts; last error: {last}"))
    });
    let e = env;
    api!(engine, "emit", ["document: Map", "bool"], "Hands one extracted document to marc: #{case_id, doc_id, title, date (YYYY-MM-DD), kind, department, text, attachments: [#{name, url} or #{name, mime, bytes}]}. Returns false for a document already stored (a resumed run).", move |m: Map| -> RResult<bool> {
        emit(&e, m)
    });
}

fn emit(e: &RobotEnv, m: Map) -> RResult<bool> {
    let get = |k: &str| -> String {
        m.get(k)
            .map(|v| {
                if v.is_unit() {
                    String::new()
                } else {
                    v.to_string()
                }
            })
            .unwrap_or_default()
    };
    for required in ["case_id", "title", "date", "text"] {
        if !m.contains_key(required) {
            return err(format!("emit: the document has no `{required}` field"));
        }
    }
    let date = get("date");
    let date = match iso_date(&date) {
        Some(d) => d,
        None => {
            return err(format!(
                "emit: date {date:?} is not a date (use YYYY-MM-DD)"
            ))
        }
    };
    if e.documents_emitted() >= e.limits.max_documents {
        return err(format!(
            "emit: refused by the rights profile: the robot may extract at most {} documents",
            e.limits.max_documents
        ));
    }
    let mut attachments = Vec::new();
    if let Some(list) = m.get("attachments") {
        let Some(list) = list.read_lock::<Array>().map(|a| a.clone()) else {
            return err("emit: `attachments` must be an array of maps");
        };
        for a in list {
            let Some(a) = a.try_cast::<Map>() else {
                return err(
                    "emit: each attachment must be a map #{name, url} or #{name, mime, bytes}",
                );
            };
            let name = a
                .get("name")
                .map(|v| v.to_string())
                .unwrap_or_else(|| "bilag".into());
            let (bytes, mime) = if let Some(b) = a
                .get("bytes")
                .and_then(|b| b.read_lock::<Blob>().map(|x| x.clone()))
            {
                (b, a.get("mime").map(|v| v.to_string()).unwrap_or_default())
            } else if let Some(url) = a.get("url") {
                let url = e.absolute(&url.to_string());
                if let Some(g) = &e.guard {
                    e.refuse_if("download", &[&url], g.navigation(&url))?;
                }
                let b = e.browser()?;
                let u2 = url.clone();
                let d = e.act("download", &[&url], None, async move {
                    b.download(&u2).await.map_err(|x| x.to_string())
                })?;
                (d.bytes, d.mime)
            } else {
                return err(format!(
                    "emit: attachment {name:?} has neither `url` nor `bytes`"
                ));
            };
            attachments.push(crate::convert::attachment_to_text(&name, &mime, &bytes));
        }
    }
    let doc = Document {
        system: e.system.clone(),
        case_id: get("case_id"),
        doc_id: get("doc_id"),
        title: get("title"),
        date,
        kind: get("kind"),
        department: get("department"),
        text: get("text"),
        attachments,
        ocr_confidence: e
            .screen
            .as_ref()
            .and_then(|s| s.lock().ok().map(|mut s| s.take_min_confidence()))
            .filter(|c| *c < 1.0),
        cpr: Some(get("cpr")).filter(|c| !c.is_empty()),
    };
    let key = doc.key();
    match (e.sink)(doc) {
        Ok(new) => {
            e.emitted.fetch_add(1, Ordering::Relaxed);
            if let Some(steps) = &e.steps {
                steps.step(StepRecord {
                    command: "emit".into(),
                    args: vec![key],
                    ok: true,
                    result: if new {
                        "stored".into()
                    } else {
                        "already stored".into()
                    },
                    duration: Duration::ZERO,
                    url: None,
                    rights: None,
                    screenshot: None,
                });
            }
            Ok(new)
        }
        Err(x) => err(format!("emit: {x}")),
    }
}

/// `DD.MM.YYYY`, `DD-MM-YYYY`, `DD/MM/YYYY` or `YYYY-MM-DD` → `YYYY-MM-DD`.
pub fn iso_date(s: &str) -> Option<String> {
    let s = s.trim();
    for fmt in [
        "%Y-%m-%d",
        "%d.%m.%Y",
        "%d-%m-%Y",
        "%d/%m/%Y",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(d) = chrono::NaiveDate::parse_from_str(s.get(..s.len().min(19)).unwrap_or(s), fmt)
        {
            return Some(d.format("%Y-%m-%d").to_string());
        }
        if let Some(head) = s.get(..10) {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(head, fmt) {
                return Some(d.format("%Y-%m-%d").to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso_date("07.03.2019").as_deref(), Some("2019-03-07"));
        assert_eq!(iso_date("2019-03-07").as_deref(), Some("2019-03-07"));
        assert_eq!(iso_date("31.02.2019"), None);
    }

    #[test]
    fn phrase_search() {
        let w = |t: &str, x: i32, line: usize| super::super::ScreenWord {
            text: t.into(),
            x,
            y: 0,
            w: 10,
            h: 10,
            conf: 0.9,
            line,
        };
        let t = super::super::ScreenText {
            text: String::new(),
            mean_conf: 0.9,
            words: vec![
                w("PF8", 0, 1),
                w("=", 20, 1),
                w("Næste", 40, 1),
                w("side", 60, 1),
            ],
            rows: vec![],
        };
        let hit = find_phrase(&t, "næste side").unwrap();
        assert_eq!((hit.x, hit.w), (40, 30));
        assert!(find_phrase(&t, "forrige side").is_none());
    }
}
