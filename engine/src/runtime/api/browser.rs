//! Browser functions, the declared login, and recovery from expired
//! sessions and error pages.

use super::{driver_failure, to_dynamic, RResult};
use crate::runtime::files::{FileData, FileHandle};
use crate::runtime::session::path_of;
use crate::runtime::{shorten, Failure, FailureKind, RobotEnv};
use marc_webdriver::{Browser, Waited, Watch};
use rhai::{Array, Dynamic, Engine};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long `login()` waits for each of its pages.
const LOGIN_WAIT_MS: i64 = 15_000;

impl RobotEnv {
    pub(crate) fn web(&self) -> RResult<Arc<Browser>> {
        match &self.browser {
            Some(b) => Ok(b.clone()),
            None => self.fail_as(
                FailureKind::Script,
                "this robot has no browser (its manifest's driver is not webdriver)",
            ),
        }
    }

    /// Asks the rights profile about a URL the robot is about to request.
    fn check_url(&self, command: &str, url: &str) -> RResult<Option<String>> {
        match &self.guard {
            Some(g) => self.refuse_if(command, &[url], g.navigation(url)),
            None => Ok(None),
        }
    }

    pub(crate) fn navigate(&self, url: &str) -> RResult<()> {
        let abs = self.absolute(url);
        let rights = self.check_url("navigate", &abs)?;
        let b = self.web()?;
        let target = abs.clone();
        self.act("navigate", &[&abs], rights, async move {
            b.goto(&target).await.map_err(driver_failure)
        })?;
        if let Ok(mut s) = self.run.session.lock() {
            s.step_url = Some(abs);
        }
        Ok(())
    }

    /// Clicks the element the selector matches. The element is found once;
    /// the rights check and the click concern that same element.
    pub(crate) fn click(&self, sel: &str) -> RResult<()> {
        let b = self.web()?;
        let t0 = Instant::now();
        let found = self.handle.block_on(async {
            let el = b.find_element(sel).await?;
            let info = match &self.guard {
                Some(_) => Some(b.element_info(&el).await?),
                None => None,
            };
            Ok::<_, marc_webdriver::DriverError>((el, info))
        });
        let (el, info) = match found {
            Ok(x) => x,
            Err(e) => {
                return self.act_since(t0, "click", &[sel], None, async {
                    Err::<(), _>(driver_failure(e))
                })
            }
        };
        let rights = match (&self.guard, info) {
            (Some(g), Some(i)) => {
                self.refuse_if("click", &[sel], g.click(sel, &i.text, &i.attrs))?
            }
            _ => None,
        };
        self.act_since(t0, "click", &[sel], rights, async move {
            b.click_element(&el).await.map_err(driver_failure)
        })
    }

    pub(crate) fn fill(&self, sel: &str, text: &str) -> RResult<()> {
        let b = self.web()?;
        let (s, t) = (sel.to_string(), text.to_string());
        self.act("fill", &[sel, text], None, async move {
            b.type_text(&s, &t).await.map_err(driver_failure)
        })
    }

    pub(crate) fn frame(&self, sel: &str) -> RResult<()> {
        let b = self.web()?;
        let s = sel.to_string();
        self.act("frame", &[sel], None, async move {
            b.frame(&s).await.map_err(driver_failure)
        })
    }

    pub(crate) fn parent_frame(&self) -> RResult<()> {
        let b = self.web()?;
        self.act("parent_frame", &[], None, async move {
            b.parent_frame().await.map_err(driver_failure)
        })
    }

    /// What waits watch for: the session rules' expired and error pages,
    /// unless there are none or `login()` is running.
    fn watch(&self) -> Option<(Watch, u32)> {
        let rules = self.run.rules.lock().ok()?.clone();
        let logging_in = self
            .run
            .session
            .lock()
            .map(|s| s.logging_in)
            .unwrap_or(false);
        if logging_in || !rules.watches() || rules == Default::default() {
            return None;
        }
        Some((
            Watch {
                expired: rules.expired.clone(),
                error_pages: rules.error_pages.clone(),
                error_status: rules.error_statuses(),
            },
            rules.max_recoveries(),
        ))
    }

    /// Waits until one of `sels` matches; returns its index. With session
    /// rules, an expired session logs in again and an error page is waited
    /// out, then the step's page is reopened and the wait starts again.
    pub(crate) fn wait_any(&self, command: &str, sels: &[String], ms: i64) -> RResult<usize> {
        let b = self.web()?;
        let ms = ms.clamp(0, 600_000) as u64;
        let (watch, max) = self.watch().unwrap_or_default();
        let ms_s = ms.to_string();
        let mut args: Vec<&str> = sels.iter().map(String::as_str).collect();
        args.push(&ms_s);
        let mut recoveries = 0;
        loop {
            let (b2, s2, w2) = (b.clone(), sels.to_vec(), watch.clone());
            let (waited, href) = self.act(command, &args, None, async move {
                b2.wait_any(&s2, ms, &w2).await.map_err(driver_failure)
            })?;
            let what = match waited {
                Waited::Found(i) => {
                    self.saw_page(&href);
                    return Ok(i);
                }
                Waited::TimedOut { shows } => {
                    let wanted = match sels {
                        [one] => format!("{one:?}"),
                        many => format!("any of {many:?}"),
                    };
                    return self.fail_as(
                        FailureKind::System,
                        format!(
                            "{command}: timed out after {ms} ms waiting for {wanted} on {href}; the page shows: {shows}"
                        ),
                    );
                }
                Waited::Expired => None,
                Waited::ErrorPage(what) => Some(what),
            };
            recoveries += 1;
            if recoveries > max {
                let seen = match &what {
                    Some(w) => format!("an error page ({w})"),
                    None => "the login page (the session expired)".into(),
                };
                return self.fail_as(
                    FailureKind::System,
                    format!(
                        "{command}: {href} kept showing {seen} after {max} attempts to recover"
                    ),
                );
            }
            self.recover(&href, what.as_deref(), recoveries)?;
        }
    }

    /// Notes a page the robot reached, as where its step is (unless it is a
    /// login page).
    pub(super) fn saw_page(&self, href: &str) {
        if let Ok(mut s) = self.run.session.lock() {
            if !href.is_empty() && !s.login_paths.iter().any(|p| p == path_of(href)) {
                s.step_url = Some(href.to_string());
            }
        }
    }

    /// Gets the step on `href` going again after an expired session
    /// (`error` is `None`: log in again) or an error page (wait a moment),
    /// by reopening the step's page.
    fn recover(&self, href: &str, error: Option<&str>, attempt: u32) -> RResult<()> {
        let target = {
            let s = self
                .run
                .session
                .lock()
                .map(|s| s.clone())
                .unwrap_or_default();
            let on_login_page = s.login_paths.iter().any(|p| p == path_of(href));
            match (&s.step_url, on_login_page || href.is_empty()) {
                (Some(step), true) => step.clone(),
                _ => href.to_string(),
            }
        };
        match error {
            None => {
                self.note(&format!(
                    "the session expired at {href}; logging in again to reopen {target}"
                ));
                self.login()?;
            }
            Some(what) => {
                self.note(&format!(
                    "{href} is an error page ({what}); reopening it (attempt {attempt})"
                ));
                std::thread::sleep(backoff(attempt));
            }
        }
        self.navigate(&target)
    }

    /// Logs in as the session rules say, with the robot's own credential.
    /// A login the system refuses ends the robot for good (kind `login`).
    pub(crate) fn login(&self) -> RResult<()> {
        let rules = self.run.rules.lock().map(|r| r.clone()).unwrap_or_default();
        let form = match rules.login_form() {
            Ok(f) => f,
            Err(m) => return self.fail_as(FailureKind::Script, m),
        };
        let set_logging_in = |v: bool| {
            if let Ok(mut s) = self.run.session.lock() {
                s.logging_in = v;
            }
        };
        set_logging_in(true);
        let r = self.login_with(&form, rules.max_recoveries(), &rules.error_pages);
        set_logging_in(false);
        r
    }

    fn login_with(
        &self,
        form: &crate::runtime::session::LoginForm<'_>,
        max: u32,
        error_pages: &[String],
    ) -> RResult<()> {
        let user = self.secret(&format!("{}.user", self.credential))?;
        let password = self.secret(&format!("{}.password", self.credential))?;
        let b = self.web()?;
        let watch = Watch {
            expired: None,
            error_pages: error_pages.to_vec(),
            error_status: vec![500, 502, 503, 504],
        };
        let mut targets = vec![form.success.to_string()];
        targets.extend(form.failure.map(str::to_string));
        for attempt in 1..=max.max(1) {
            self.navigate(form.url)?;
            if let Some(f) = form.frame {
                self.frame(f)?;
            }
            let (b2, u, w) = (b.clone(), vec![form.user.to_string()], watch.clone());
            let (waited, href) = self.act("login", &[form.user], None, async move {
                b2.wait_any(&u, LOGIN_WAIT_MS as u64, &w)
                    .await
                    .map_err(driver_failure)
            })?;
            match waited {
                Waited::Found(_) => {
                    if let Ok(mut s) = self.run.session.lock() {
                        let p = path_of(&href).to_string();
                        if !s.login_paths.contains(&p) {
                            s.login_paths.push(p);
                        }
                        let login_url = path_of(&self.absolute(form.url)).to_string();
                        if !s.login_paths.contains(&login_url) {
                            s.login_paths.push(login_url);
                        }
                    }
                }
                Waited::ErrorPage(what) => {
                    self.note(&format!(
                        "the login page is an error page ({what}); trying again"
                    ));
                    std::thread::sleep(backoff(attempt));
                    continue;
                }
                _ => {
                    return self.fail_as(
                        FailureKind::System,
                        format!(
                            "login: the login form {:?} did not appear on {href}",
                            form.user
                        ),
                    )
                }
            }
            self.fill(form.user, &user)?;
            self.fill(form.password, &password)?;
            self.click(form.submit)?;
            let (b2, t, w) = (b.clone(), targets.clone(), watch.clone());
            let (waited, href) = self.act("login", &[form.success], None, async move {
                b2.wait_any(&t, LOGIN_WAIT_MS as u64, &w)
                    .await
                    .map_err(driver_failure)
            })?;
            match waited {
                Waited::Found(0) => {
                    if form.frame.is_some() {
                        self.parent_frame()?;
                    }
                    self.saw_page(&href);
                    return Ok(());
                }
                Waited::Found(_) => {
                    let sel = form.failure.unwrap_or_default().to_string();
                    let b2 = b.clone();
                    let said = self
                        .handle
                        .block_on(async move { b2.text(&sel).await })
                        .unwrap_or_default();
                    return self.fail_as(
                        FailureKind::Login,
                        format!(
                            "login: the system refused the robot's credentials ({}.user): {}; not tried again, so the account is not locked",
                            self.credential,
                            said.trim()
                        ),
                    );
                }
                Waited::ErrorPage(what) => {
                    self.note(&format!(
                        "the page after logging in is an error page ({what}); logging in again"
                    ));
                    std::thread::sleep(backoff(attempt));
                }
                Waited::Expired | Waited::TimedOut { .. } => {
                    return self.fail_as(
                        FailureKind::System,
                        format!(
                            "login: neither {:?} nor the failure {:?} appeared on {href}",
                            form.success,
                            form.failure.unwrap_or("(none declared)")
                        ),
                    )
                }
            }
        }
        self.fail_as(
            FailureKind::System,
            format!("login: the system kept answering with error pages ({max} attempts)"),
        )
    }

    /// Fetches a file through the browser session. With session rules, an
    /// expired session logs in again and an error status is waited out.
    pub(crate) fn download(&self, url: &str) -> RResult<FileHandle> {
        if url.starts_with("data:") {
            return self.data_url(url);
        }
        let abs = self.absolute(url);
        let rights = self.check_url("download", &abs)?;
        let b = self.web()?;
        let watch = self.watch();
        let expired = watch.as_ref().and_then(|(w, _)| w.expired.clone());
        let mut attempt = 0;
        loop {
            let (b2, a2, x2) = (b.clone(), abs.clone(), expired.clone());
            let d = self.act("download", &[&abs], rights.clone(), async move {
                b2.download(&a2, x2.as_deref())
                    .await
                    .map_err(driver_failure)
            })?;
            let error = watch
                .as_ref()
                .is_some_and(|(w, _)| w.error_status.contains(&d.status));
            if let Some((_, max)) = &watch {
                if d.expired || error {
                    attempt += 1;
                    if attempt > *max {
                        return self.fail_as(
                            FailureKind::System,
                            format!(
                                "download: {abs} kept failing (HTTP {}) after {max} attempts",
                                d.status
                            ),
                        );
                    }
                    if d.expired {
                        self.note(&format!(
                            "the session expired while fetching {abs}; logging in again"
                        ));
                        self.login()?;
                    } else {
                        std::thread::sleep(backoff(attempt));
                    }
                    continue;
                }
            }
            if !(200..300).contains(&d.status) {
                return self.fail_as(
                    FailureKind::System,
                    format!("download: {abs} answered HTTP {}", d.status),
                );
            }
            let name = file_name(&d.url);
            return self.new_file(FileData {
                name,
                mime: d.mime,
                url: d.url,
                bytes: d.bytes,
            });
        }
    }

    /// A `data:` URL, decoded here: nothing is requested from anywhere.
    fn data_url(&self, url: &str) -> RResult<FileHandle> {
        use base64::Engine as _;
        let t0 = Instant::now();
        let parsed = url
            .strip_prefix("data:")
            .and_then(|r| r.split_once(','))
            .ok_or_else(|| format!("{} is not a data: URL", shorten(url)))
            .and_then(|(head, data)| {
                let mime = head.split(';').next().filter(|m| !m.is_empty());
                let mime = mime.unwrap_or("text/plain").to_string();
                let bytes = if head.ends_with(";base64") {
                    base64::engine::general_purpose::STANDARD
                        .decode(data.trim())
                        .map_err(|e| format!("the data: URL's base64 is damaged: {e}"))?
                } else {
                    percent_encoding::percent_decode_str(data).collect()
                };
                Ok((mime, bytes))
            });
        let (mime, bytes) = match parsed {
            Ok(x) => x,
            Err(m) => {
                return self.act_since(t0, "download", &[url], None, async {
                    Err::<FileHandle, _>(Failure::new(FailureKind::Script, m))
                })
            }
        };
        let f = self.new_file(FileData {
            name: "data".into(),
            mime,
            url: shorten(url),
            bytes,
        })?;
        let f2 = f.clone();
        self.act_since(t0, "download", &[url], None, async move { Ok(f2) })?;
        Ok(f)
    }

    pub(crate) fn new_file(&self, data: FileData) -> RResult<FileHandle> {
        match self.run.files.register(data) {
            Ok(f) => Ok(f),
            Err(m) => self.fail_as(FailureKind::Sandbox, format!("stopped by the sandbox: {m}")),
        }
    }
}

/// Waits between recoveries: 0.3 s, 0.6 s, 1.2 s … at most 5 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((300u64 << attempt.saturating_sub(1).min(5)).min(5_000))
}

/// The last path segment of a URL, for a downloaded file's name.
fn file_name(url: &str) -> String {
    let path = path_of(url);
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.is_empty() {
        "download".into()
    } else {
        percent_encoding::percent_decode_str(last)
            .decode_utf8_lossy()
            .into_owned()
    }
}

pub(super) fn register(engine: &mut Engine, env: Arc<RobotEnv>) {
    let e = env.clone();
    api!(engine, "navigate", ["url: &str", "()"], "Opens a URL (relative URLs are resolved against the system's base URL). Checked against the rights profile. Wait for what the page must show afterwards (`wait_for`): the wait is where an expired session or an error page is noticed and recovered from.", move |url: &str| e.navigate(url));
    let e = env.clone();
    api!(engine, "click", ["selector: &str", "()"], "Clicks the element a CSS selector (or `xpath:`/`link:` selector) matches. The element is found once, checked against the rights profile (`never_click`) and then clicked: a refused click stops the robot.", move |sel: &str| e.click(sel));
    let e = env.clone();
    api!(
        engine,
        "fill",
        ["selector: &str", "text: &str", "()"],
        "Clears a form field and types text into it (secrets are masked in recordings).",
        move |sel: &str, text: &str| e.fill(sel, text)
    );
    let e = env.clone();
    api!(
        engine,
        "select",
        ["selector: &str", "value: &str", "()"],
        "Chooses the option with the given value in a <select>.",
        move |sel: &str, value: &str| -> RResult<()> {
            let b = e.web()?;
            let (s, v) = (sel.to_string(), value.to_string());
            e.act("select", &[sel, value], None, async move {
                b.select(&s, &v).await.map_err(driver_failure)
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
            let b = e.web()?;
            let s = sel.to_string();
            e.act("text", &[sel], None, async move {
                b.text(&s).await.map_err(driver_failure)
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
            let b = e.web()?;
            let s = sel.to_string();
            let v = e.act("texts", &[sel], None, async move {
                b.texts(&s).await.map_err(driver_failure)
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
            let b = e.web()?;
            let (s, n) = (sel.to_string(), name.to_string());
            let v = e.act("attr", &[sel, name], None, async move {
                b.attr(&s, &n).await.map_err(driver_failure)
            })?;
            Ok(v.map(Dynamic::from).unwrap_or(Dynamic::UNIT))
        }
    );
    let e = env.clone();
    api!(
        engine,
        "exists",
        ["selector: &str", "bool"],
        "Whether any element matches now (no waiting, no error). To wait for one of several outcomes use `wait_any`.",
        move |sel: &str| -> RResult<bool> {
            let b = e.web()?;
            let s = sel.to_string();
            e.act("exists", &[sel], None, async move {
                b.exists(&s).await.map_err(driver_failure)
            })
        }
    );
    let e = env.clone();
    api!(engine, "wait_for", ["selector: &str", "ms: i64", "()"], "Waits up to `ms` milliseconds until an element matches (polling inside the page: one WebDriver command, not one per poll); an error naming the page and what it shows if it never does. With session rules, an expired session or an error page on the way is recovered from (log in again or wait, reopen the page, wait again).", move |sel: &str, ms: i64| -> RResult<()> {
        e.wait_any("wait_for", &[sel.to_string()], ms).map(|_| ())
    });
    let e = env.clone();
    api!(engine, "wait_any", ["selectors: Array", "ms: i64", "String"], "Waits up to `ms` milliseconds until one of several selectors matches and returns the one that did, e.g. `wait_any([\"#cases\", \"#no-cases\"], 10000)`; recovers like `wait_for`.", move |sels: Array, ms: i64| -> RResult<String> {
        let sels: Vec<String> = sels.into_iter().map(|s| s.to_string()).collect();
        if sels.is_empty() {
            return e.fail_as(FailureKind::Script, "wait_any: give at least one selector");
        }
        let i = e.wait_any("wait_any", &sels, ms)?;
        Ok(sels[i].clone())
    });
    let e = env.clone();
    api!(engine, "table", ["selector: &str", "Array"], "Reads a whole table in one round trip: an array of maps keyed by header text and by each cell's first class. A link in a cell adds `<key>_href` (its href attribute) and, when it has one, `<key>_onclick` (its onclick code, e.g. a popup's `window.open('/doc?id=7', ...)`); row `data-*` attributes add `data_<name>`.", move |sel: &str| -> RResult<Array> {
        let b = e.web()?;
        let s = sel.to_string();
        let rows = e.act("table", &[sel], None, async move { b.table(&s).await.map_err(driver_failure) })?;
        rows.iter().map(to_dynamic).collect()
    });
    let e = env.clone();
    api!(
        engine,
        "frame",
        ["selector: &str", "()"],
        "Enters the frame or iframe the selector matches.",
        move |sel: &str| e.frame(sel)
    );
    let e = env.clone();
    api!(
        engine,
        "parent_frame",
        ["()"],
        "Leaves the current frame for its parent.",
        move || e.parent_frame()
    );
    let e = env.clone();
    api!(
        engine,
        "windows",
        ["Array"],
        "Handles of all open windows (popups included).",
        move || -> RResult<Array> {
            let b = e.web()?;
            let v = e.act("windows", &[], None, async move {
                b.windows().await.map_err(driver_failure)
            })?;
            Ok(v.into_iter().map(Dynamic::from).collect())
        }
    );
    let e = env.clone();
    api!(engine, "wait_new_window", ["known: Array", "ms: i64", "String"], "Waits up to `ms` milliseconds for a window that is not in `known` (from `windows()` before the click that opens a popup) and returns its handle; switch to it with `switch_window`.", move |known: Array, ms: i64| -> RResult<String> {
        let b = e.web()?;
        let known: Vec<String> = known.into_iter().map(|h| h.to_string()).collect();
        let ms = ms.clamp(0, 600_000) as u64;
        let k2 = known.clone();
        e.act("wait_new_window", &[&format!("{} known", known.len()), &ms.to_string()], None, async move {
            let deadline = Instant::now() + Duration::from_millis(ms);
            loop {
                let now = b.windows().await.map_err(driver_failure)?;
                if let Some(h) = now.into_iter().find(|h| !k2.contains(h)) {
                    return Ok(h);
                }
                if Instant::now() >= deadline {
                    return Err(Failure::new(FailureKind::System, format!("no new window opened within {ms} ms")));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let e = env.clone();
    api!(
        engine,
        "current_window",
        ["String"],
        "The handle of the window the robot is in.",
        move || -> RResult<String> {
            let b = e.web()?;
            e.act("current_window", &[], None, async move {
                b.current_window().await.map_err(driver_failure)
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
            let b = e.web()?;
            let h2 = h.to_string();
            e.act("switch_window", &[h], None, async move {
                b.switch_window(&h2).await.map_err(driver_failure)
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
            let b = e.web()?;
            e.act("close_window", &[], None, async move {
                b.close_window().await.map_err(driver_failure)
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
            let b = e.web()?;
            e.act("current_url", &[], None, async move {
                b.current_url().await.map_err(driver_failure)
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
            let b = e.web()?;
            e.act("refresh", &[], None, async move {
                b.refresh().await.map_err(driver_failure)
            })
        }
    );
    let e = env.clone();
    api!(engine, "login", ["()"], "Logs in as the session rules say (the manifest's `[session]`, or `session(#{...})`), with the robot's own secrets `<credential>.user` and `<credential>.password`. A login the system refuses (its `failure` selector shows) stops the robot for good: it is not tried again, so the account is not locked. Waits and downloads call it again by themselves when the session expires.", move || e.login());
    let e = env.clone();
    api!(engine, "download", ["url: &str", "File"], "Fetches a file through the browser session (its cookies; the rights profile and proxy apply) and returns a `File` handle (`name`, `mime`, `url`, `size`; `bytes` as a blob) for `pdf_text`, `attachment_text`, `ocr` or `emit`. An answer other than 2xx is an error. Redirects are followed, so without session rules an expired session gives you the login page as an HTML file; with session rules the robot logs in again and fetches the file anew, and waits out error statuses. A `data:` URL is decoded without any request.", move |url: &str| e.download(url));
    let e = env.clone();
    api!(engine, "screenshot", ["File"], "A PNG of the current viewport (or of the screen, for screen robots) as a `File` handle: give it to `ocr` or `emit` as an attachment. The bytes stay in the engine, so a large screenshot does not trip the sandbox's size limits.", move || -> RResult<FileHandle> {
        let t0 = Instant::now();
        let png = match &e.screen {
            Some(s) => s
                .lock()
                .map_err(|_| "the screen driver failed earlier in this run".to_string())
                .and_then(|mut s| s.screenshot())
                .map_err(|m| Failure::new(FailureKind::Driver, m)),
            None => {
                let b = e.web()?;
                e.handle.block_on(b.screenshot()).map_err(driver_failure)
            }
        };
        let f = match png {
            Ok(png) => e.new_file(FileData { name: "screenshot.png".into(), mime: "image/png".into(), url: "screenshot".into(), bytes: png })?,
            Err(f) => return e.act_since(t0, "screenshot", &[], None, async { Err::<FileHandle, _>(f) }),
        };
        let f2 = f.clone();
        e.act_since(t0, "screenshot", &[], None, async move { Ok(f2) })
    });
    let e = env;
    api!(engine, "eval_js", ["code: &str", "Dynamic"], "Runs JavaScript in the page and returns its JSON result. Checked against the rights profile first: code that could send requests, navigate or click on its own is refused (`fetch(` in any spelling, `XMLHttpRequest`, `sendBeacon`, `WebSocket`, `.submit(`, `.click()`, assigning `location` or a `src`/`href`, `eval`, `innerHTML =` …), so read with it, never act; every request the page makes still goes through the enforcing proxy.", move |code: &str| -> RResult<Dynamic> {
        let rights = match &e.guard {
            Some(g) => e.refuse_if("eval_js", &[code], g.script(code))?,
            None => None,
        };
        let b = e.web()?;
        let c = code.to_string();
        let v = e.act("eval_js", &[code], rights, async move { b.execute(&c, vec![]).await.map_err(driver_failure) })?;
        to_dynamic(&v)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert_eq!(backoff(1), Duration::from_millis(300));
        assert_eq!(backoff(2), Duration::from_millis(600));
        assert_eq!(backoff(30), Duration::from_millis(5_000));
        assert_eq!(file_name("http://h/bilag?id=3"), "bilag");
        assert_eq!(file_name("http://h/a/Brev%20til.pdf"), "Brev til.pdf");
        assert_eq!(file_name("http://h/"), "download");
    }
}
