use crate::DriverError;
use base64::Engine as _;
use fantoccini::wd::{Capabilities, WindowHandle};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How to open a browser session.
#[derive(Clone, Debug)]
pub struct BrowserOptions {
    /// Route every request of the browser through this proxy (marc's rights proxy).
    pub proxy: Option<String>,
    /// The browser runs on this machine: give it a fresh profile directory.
    /// False for a remote Selenium Grid, which manages its own profiles.
    pub local: bool,
    /// Window size; canvases are captured only inside the window.
    pub window: (u32, u32),
    /// Chromium binary for local sessions (default `/usr/bin/chromium`).
    pub chromium: Option<String>,
    /// Upper bound for any single WebDriver command.
    pub command_timeout: Duration,
    /// More Chromium flags (e.g. the rights proxy's quiet flags).
    pub extra_args: Vec<String>,
    /// No window: robots and tests. `marc record` shows one to a person.
    pub headless: bool,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            proxy: None,
            local: true,
            window: (1280, 900),
            chromium: None,
            command_timeout: Duration::from_secs(30),
            extra_args: Vec::new(),
            headless: true,
        }
    }
}

/// A file fetched through the browser session (cookies and proxy apply).
#[derive(Clone, Debug)]
pub struct Download {
    pub bytes: Vec<u8>,
    pub mime: String,
    /// The URL answered, after redirects.
    pub url: String,
    /// The HTTP status of the answer (any status: the caller decides).
    pub status: u16,
    /// An HTML answer showed the selector the caller asked about (the login
    /// form of an expired session).
    pub expired: bool,
}

/// An element found once, so what is checked is what is acted on.
#[derive(Clone, Debug)]
pub struct ElementRef(fantoccini::elements::Element);

/// What a wait for elements found.
#[derive(Clone, Debug, PartialEq)]
pub enum Waited {
    /// The selector at this index matched.
    Found(usize),
    /// The page shows the session-expired marker.
    Expired,
    /// The page is an error page: an HTTP status or an error selector.
    ErrorPage(String),
    /// Nothing matched in time; what the page showed, shortened.
    TimedOut { shows: String },
}

/// What a wait watches for besides its own selectors.
#[derive(Clone, Debug, Default)]
pub struct Watch {
    /// A selector that shows the session has expired (the login form).
    pub expired: Option<String>,
    /// Selectors that show an error page.
    pub error_pages: Vec<String>,
    /// HTTP statuses of the page that make it an error page.
    pub error_status: Vec<u16>,
}

/// The whole of an element as an image.
#[derive(Clone, Debug)]
pub struct Capture {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// The host of a proxy URL (`http://127.0.0.1:8080` → `127.0.0.1`).
fn proxy_host(proxy: &str) -> &str {
    let rest = proxy.split_once("://").map_or(proxy, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    }
}

/// One Chromium session. All methods are cancellation-safe and time-bounded.
pub struct Browser {
    client: Client,
    webdriver: String,
    timeout: Duration,
    commands: AtomicU64,
    _profile: Option<tempfile::TempDir>,
}

/// The flags Chromium needs on this closed network, as root, in a container.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    // Side channels around the rights proxy (issue 12 §13). QUIC is UDP,
    // which no HTTP proxy carries; WebRTC would send UDP (STUN, TURN, peer
    // data) straight from the browser: only proxied connections remain,
    // i.e. TURN over TCP through CONNECT, which the proxy refuses.
    "--disable-quic",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--dns-prefetch-disable",
    "--disable-popup-blocking",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--lang=da-DK",
];

impl Browser {
    /// Opens a session on the WebDriver server at `webdriver`.
    pub async fn open(webdriver: &str, opts: &BrowserOptions) -> Result<Browser, DriverError> {
        let session_err = |reason: String| DriverError::Session {
            url: webdriver.to_string(),
            reason,
        };
        let mut args: Vec<String> = CHROMIUM_FLAGS
            .iter()
            .filter(|f| opts.headless || !f.starts_with("--headless"))
            .map(|s| s.to_string())
            .collect();
        args.push(format!("--window-size={},{}", opts.window.0, opts.window.1));
        args.extend(
            opts.extra_args
                .iter()
                .filter(|a| !args.contains(a))
                .cloned()
                .collect::<Vec<_>>(),
        );
        let mut downloads = None;
        let profile = if opts.local {
            let dir = tempfile::Builder::new()
                .prefix("marc-chromium-")
                .tempdir()
                .map_err(|e| session_err(format!("cannot create a profile directory: {e}")))?;
            if let Some((uid, gid)) = crate::chromedriver::robot_user() {
                // The browser runs as the robot user and must own its profile.
                std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).map_err(|e| {
                    session_err(format!(
                        "cannot hand the profile directory to the robot user: {e}"
                    ))
                })?;
            }
            args.push(format!("--user-data-dir={}", dir.path().display()));
            // Files a page makes the browser download land in the session's
            // own profile, which is deleted with it, never in a Downloads
            // folder of the browser user's home.
            downloads = Some(dir.path().join("Downloads"));
            Some(dir)
        } else {
            None
        };
        if let Some(proxy) = &opts.proxy {
            // Chromium never proxies loopback unless told to; marc's testbed
            // and most robot targets in tests are on loopback.
            for flag in [
                format!("--proxy-server={proxy}"),
                "--proxy-bypass-list=<-loopback>".into(),
                // Everything goes through the proxy, which resolves names
                // itself: the browser resolves none (no DNS prefetch, no
                // lookups a page could use to send data out as host names).
                // The proxy's own address is an IP literal.
                format!(
                    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {}",
                    proxy_host(proxy)
                ),
            ] {
                if !args
                    .iter()
                    .any(|a| a.split('=').next() == flag.split('=').next())
                {
                    args.push(flag);
                }
            }
        }
        // No prediction or preconnect: Chromium would otherwise open
        // connections to its search engine, which the rights proxy refuses.
        let mut chrome = json!({ "args": args, "prefs": {
            "download": { "prompt_for_download": false, "directory_upgrade": true },
            "plugins": { "always_open_pdf_externally": true },
            "net": { "network_prediction_options": 2 },
            "search": { "suggest_enabled": false },
            "webrtc": {
                "ip_handling_policy": "disable_non_proxied_udp",
                "multiple_routes_enabled": false,
                "nonproxied_udp_enabled": false,
            },
        }});
        if let Some(d) = &downloads {
            let d = d.display().to_string();
            chrome["prefs"]["download"]["default_directory"] = json!(d);
            chrome["prefs"]["savefile"] = json!({ "default_directory": d });
        }
        if opts.local {
            chrome["binary"] = json!(opts
                .chromium
                .clone()
                .unwrap_or_else(|| "/usr/bin/chromium".into()));
        }
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), chrome);
        caps.insert("unhandledPromptBehavior".into(), json!("dismiss"));
        caps.insert("pageLoadStrategy".into(), json!("normal"));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let mut builder = ClientBuilder::new(connector);
        builder.capabilities(caps);
        let connect = builder.connect(webdriver);
        let client = tokio::time::timeout(Duration::from_secs(60), connect)
            .await
            .map_err(|_| session_err("the browser did not start within 60 s".into()))?
            .map_err(|e| session_err(e.to_string()))?;
        let b = Browser {
            client,
            webdriver: webdriver.to_string(),
            timeout: opts.command_timeout,
            commands: AtomicU64::new(1),
            _profile: profile,
        };
        Ok(b)
    }

    /// How many WebDriver commands this session has sent.
    pub fn commands(&self) -> u64 {
        self.commands.load(Ordering::Relaxed)
    }

    pub fn webdriver_url(&self) -> &str {
        &self.webdriver
    }

    async fn cmd<T, E: std::fmt::Display>(
        &self,
        name: &str,
        fut: impl Future<Output = Result<T, E>>,
    ) -> Result<T, DriverError> {
        self.commands.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => Err(DriverError::Timeout {
                what: format!("WebDriver command {name}"),
                ms: self.timeout.as_millis() as u64,
                url: String::new(),
            }),
            Ok(Err(e)) => Err(DriverError::Command {
                command: name.to_string(),
                reason: e.to_string(),
            }),
            Ok(Ok(v)) => Ok(v),
        }
    }

    /// Runs a script in the page and returns its JSON result (one round trip).
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, DriverError> {
        self.commands.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(self.timeout, self.client.execute(script, args)).await {
            Err(_) => Err(DriverError::Timeout {
                what: "a script in the page".into(),
                ms: self.timeout.as_millis() as u64,
                url: String::new(),
            }),
            Ok(Err(e)) => Err(DriverError::Script(e.to_string())),
            Ok(Ok(v)) => Ok(v),
        }
    }

    /// Runs an asynchronous script (its last argument is the callback that
    /// ends it), e.g. an accessibility check that returns a promise.
    pub async fn execute_async(
        &self,
        script: &str,
        args: Vec<Value>,
    ) -> Result<Value, DriverError> {
        self.commands.fetch_add(1, Ordering::Relaxed);
        match tokio::time::timeout(self.timeout, self.client.execute_async(script, args)).await {
            Err(_) => Err(DriverError::Timeout {
                what: "an asynchronous script in the page".into(),
                ms: self.timeout.as_millis() as u64,
                url: String::new(),
            }),
            Ok(Err(e)) => Err(DriverError::Script(e.to_string())),
            Ok(Ok(v)) => Ok(v),
        }
    }

    /// Forgets every cookie of the session (a session that ended).
    pub async fn delete_all_cookies(&self) -> Result<(), DriverError> {
        self.cmd("delete_all_cookies", self.client.delete_all_cookies())
            .await
    }

    /// The session's cookies as `name=value` pairs, HttpOnly ones too (a
    /// page's script cannot read those; a test or benchmark that speaks
    /// HTTP as the same person needs them).
    pub async fn cookies(&self) -> Result<Vec<(String, String)>, DriverError> {
        let all = self
            .cmd("get_all_cookies", self.client.get_all_cookies())
            .await?;
        Ok(all
            .iter()
            .map(|c| (c.name().to_string(), c.value().to_string()))
            .collect())
    }

    pub async fn goto(&self, url: &str) -> Result<(), DriverError> {
        self.cmd("navigate", self.client.goto(url)).await
    }

    pub async fn current_url(&self) -> Result<String, DriverError> {
        Ok(self
            .cmd("current_url", self.client.current_url())
            .await?
            .to_string())
    }

    pub async fn refresh(&self) -> Result<(), DriverError> {
        self.cmd("refresh", self.client.refresh()).await
    }

    pub async fn back(&self) -> Result<(), DriverError> {
        self.cmd("back", self.client.back()).await
    }

    async fn find(&self, selector: &str) -> Result<fantoccini::elements::Element, DriverError> {
        self.commands.fetch_add(1, Ordering::Relaxed);
        let fut = self.client.find(locator(selector));
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(e)) => Ok(e),
            Ok(Err(e)) if e.is_no_such_element() => Err(DriverError::NotFound {
                selector: selector.to_string(),
                url: self.current_url().await.unwrap_or_default(),
            }),
            Ok(Err(e)) => Err(DriverError::Command {
                command: "find".into(),
                reason: e.to_string(),
            }),
            Err(_) => Err(DriverError::Timeout {
                what: format!("element {selector:?}"),
                ms: self.timeout.as_millis() as u64,
                url: String::new(),
            }),
        }
    }

    pub async fn click(&self, selector: &str) -> Result<(), DriverError> {
        let el = self.find(selector).await?;
        self.cmd("click", el.click()).await
    }

    /// Clears a field and types into it.
    pub async fn type_text(&self, selector: &str, text: &str) -> Result<(), DriverError> {
        let el = self.find(selector).await?;
        self.cmd("clear", el.clear()).await?;
        self.cmd("send_keys", el.send_keys(text)).await
    }

    /// Sends keys (WebDriver key code points allowed) to an element
    /// without clearing it; used for canvases and key-driven pages.
    pub async fn send_keys(&self, selector: &str, text: &str) -> Result<(), DriverError> {
        let el = self.find(selector).await?;
        self.cmd("send_keys", el.send_keys(text)).await
    }

    /// Clicks at a point inside an element (offsets from its top-left corner).
    pub async fn click_in(&self, selector: &str, x: i32, y: i32) -> Result<(), DriverError> {
        use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
        let el = self.find(selector).await?;
        let (ex, ey, w, h) = self.cmd("rect", el.rectangle()).await?;
        let (px, py) = (ex + x as f64, ey + y as f64);
        if x < 0 || y < 0 || x as f64 > w || y as f64 > h {
            return Err(DriverError::Command {
                command: "click_at".into(),
                reason: format!("({x}, {y}) lies outside {selector} ({w}×{h})"),
            });
        }
        let actions = MouseActions::new("mouse".into())
            .then(PointerAction::MoveTo {
                duration: None,
                x: px,
                y: py,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.perform_actions(actions).await
    }

    pub async fn select(&self, selector: &str, value: &str) -> Result<(), DriverError> {
        let el = self.find(selector).await?;
        self.cmd("select", el.select_by_value(value)).await
    }

    /// The visible text of the first match.
    pub async fn text(&self, selector: &str) -> Result<String, DriverError> {
        let el = self.find(selector).await?;
        self.cmd("text", el.text()).await
    }

    /// The visible text of every match, in one round trip.
    pub async fn texts(&self, selector: &str) -> Result<Vec<String>, DriverError> {
        let v = self
            .execute(
                "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText);",
                vec![json!(selector)],
            )
            .await?;
        Ok(serde_json::from_value(v).unwrap_or_default())
    }

    pub async fn attr(&self, selector: &str, name: &str) -> Result<Option<String>, DriverError> {
        let el = self.find(selector).await?;
        self.cmd("attr", el.attr(name)).await
    }

    /// Whether any element matches, without waiting and without an error.
    pub async fn exists(&self, selector: &str) -> Result<bool, DriverError> {
        let v = self.execute(JS_EXISTS, vec![json!(selector)]).await?;
        Ok(v.as_bool().unwrap_or(false))
    }

    /// Waits until an element matches (see [`Browser::wait_any`]).
    pub async fn wait_for(&self, selector: &str, ms: u64) -> Result<(), DriverError> {
        let (w, url) = self
            .wait_any(&[selector.to_string()], ms, &Watch::default())
            .await?;
        match w {
            Waited::Found(_) => Ok(()),
            _ => Err(DriverError::Timeout {
                what: format!("element {selector:?}"),
                ms,
                url,
            }),
        }
    }

    /// Reads a whole table as rows of `column → text` in one round trip.
    /// Columns are keyed by header text and by cell class; links add
    /// `<key>_href`; row `data-*` attributes add `data_<name>`.
    pub async fn table(
        &self,
        selector: &str,
    ) -> Result<Vec<serde_json::Map<String, Value>>, DriverError> {
        let v = self.execute(JS_TABLE, vec![json!(selector)]).await?;
        match v {
            Value::Null => Err(DriverError::NotFound {
                selector: selector.to_string(),
                url: self.current_url().await.unwrap_or_default(),
            }),
            Value::Array(rows) => Ok(rows
                .into_iter()
                .filter_map(|r| match r {
                    Value::Object(m) => Some(m),
                    _ => None,
                })
                .collect()),
            other => Err(DriverError::Script(format!("table() returned {other}"))),
        }
    }

    /// Finds the element a selector matches, once: checks and actions on
    /// the returned reference concern that very element, even if the page
    /// changes in between.
    pub async fn find_element(&self, selector: &str) -> Result<ElementRef, DriverError> {
        Ok(ElementRef(self.find(selector).await?))
    }

    /// What the rights check needs to know about an element before a click:
    /// tag, visible text and attributes (and its form's method and action).
    pub async fn element_info(&self, el: &ElementRef) -> Result<ElementInfo, DriverError> {
        let arg = serde_json::to_value(&el.0).map_err(|e| DriverError::Script(e.to_string()))?;
        let v = self.execute(JS_ELEMENT_INFO, vec![arg]).await?;
        serde_json::from_value(v).map_err(|e| DriverError::Script(format!("element info: {e}")))
    }

    /// Clicks the element found by [`Browser::find_element`].
    pub async fn click_element(&self, el: &ElementRef) -> Result<(), DriverError> {
        self.cmd("click", el.0.clone().click()).await
    }

    /// Waits up to `ms` until one of `selectors` matches, polling inside the
    /// page (one WebDriver command per 20 s of waiting, not one per poll),
    /// and stops early when the page shows what `watch` describes. A page
    /// that is replaced while waiting (a navigation) is waited on anew.
    pub async fn wait_any(
        &self,
        selectors: &[String],
        ms: u64,
        watch: &Watch,
    ) -> Result<(Waited, String), DriverError> {
        let deadline = Instant::now() + Duration::from_millis(ms);
        let mut last_error = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let chunk = left.min(Duration::from_secs(20));
            self.commands.fetch_add(1, Ordering::Relaxed);
            let fut = self.client.execute_async(
                JS_WAIT,
                vec![
                    json!(selectors),
                    json!(chunk.as_millis() as u64),
                    json!(watch.expired),
                    json!(watch.error_pages),
                    json!(watch.error_status),
                ],
            );
            match tokio::time::timeout(chunk + Duration::from_secs(10), fut).await {
                Ok(Ok(v)) => {
                    let href = v["href"].as_str().unwrap_or_default().to_string();
                    if let Some(i) = v["hit"].as_u64() {
                        return Ok((Waited::Found(i as usize), href));
                    }
                    if v["expired"].as_bool() == Some(true) {
                        return Ok((Waited::Expired, href));
                    }
                    if let Some(e) = v["error"].as_str() {
                        return Ok((Waited::ErrorPage(e.to_string()), href));
                    }
                    if let Some(bad) = v["bad"].as_str() {
                        return Err(DriverError::Script(format!(
                            "cannot wait for {selectors:?}: {bad}"
                        )));
                    }
                    if Instant::now() >= deadline {
                        let shows = v["shows"].as_str().unwrap_or_default().to_string();
                        return Ok((Waited::TimedOut { shows }, href));
                    }
                }
                Ok(Err(e)) => {
                    let msg = e.to_string();
                    if ["no such window", "invalid session id", "disconnected"]
                        .iter()
                        .any(|m| msg.contains(m))
                    {
                        return Err(DriverError::Command {
                            command: "wait".into(),
                            reason: msg,
                        });
                    }
                    // The document went away under the poll (a navigation):
                    // wait in the next one.
                    last_error = msg;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(_) => last_error = "the page did not answer".into(),
            }
            if Instant::now() >= deadline {
                let href = self.current_url().await.unwrap_or_default();
                return Ok((
                    Waited::TimedOut {
                        shows: format!("(the page was changing: {last_error})"),
                    },
                    href,
                ));
            }
        }
    }

    /// The whole of an element as a PNG, however much of it the window
    /// shows. A canvas or a same-origin image is read from its own pixels
    /// (over its background colour); anything else is captured piece by
    /// piece as the page scrolls. An error, never a partial image, when the
    /// whole element cannot be captured.
    pub async fn capture_element(&self, selector: &str) -> Result<Capture, DriverError> {
        use base64::Engine as _;
        let el = self.find(selector).await?;
        let arg = serde_json::to_value(&el).map_err(|e| DriverError::Script(e.to_string()))?;
        let v = self.execute(JS_PIXELS, vec![arg]).await?;
        let incomplete = |reason: String| DriverError::Incomplete {
            what: format!("the element {selector:?}"),
            reason,
        };
        if let Some(data) = v["data"].as_str() {
            let b64 = data.split_once(',').map(|(_, b)| b).unwrap_or_default();
            let png = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| incomplete(format!("its pixels came back damaged: {e}")))?;
            let (w, h) = png_size(&png).ok_or_else(|| incomplete("not a PNG".into()))?;
            return Ok(Capture {
                png,
                width: w,
                height: h,
            });
        }
        // Not readable as pixels (another origin's image, an SVG, a div):
        // screenshots of the viewport, scrolled over the element piece by
        // piece, put together.
        self.stitch(&el, selector).await
    }

    /// The element captured in viewport-sized pieces (see
    /// [`Browser::capture_element`]); the page's scroll position is put back.
    async fn stitch(
        &self,
        el: &fantoccini::elements::Element,
        selector: &str,
    ) -> Result<Capture, DriverError> {
        let incomplete = |reason: String| DriverError::Incomplete {
            what: format!("the element {selector:?}"),
            reason,
        };
        let arg = serde_json::to_value(el).map_err(|e| DriverError::Script(e.to_string()))?;
        let geo = self.execute(JS_GEOMETRY, vec![arg.clone()]).await?;
        let num = |v: &Value, k: &str| v[k].as_f64().unwrap_or(0.0);
        let (w, h) = (num(&geo, "w"), num(&geo, "h"));
        let (vw, vh, dpr) = (num(&geo, "vw"), num(&geo, "vh"), num(&geo, "dpr").max(1.0));
        if w < 1.0 || h < 1.0 || vw < 1.0 || vh < 1.0 {
            return Err(incomplete("it has no size (is it hidden?)".into()));
        }
        let px = |css: f64| (css * dpr).round() as u32;
        let mut out = image::RgbaImage::new(px(w), px(h));
        let mut y = 0.0;
        while y < h {
            let mut x = 0.0;
            while x < w {
                // Scroll this piece into view; where it is now says where to cut.
                let at = self
                    .execute(JS_SCROLL_TO_PART, vec![arg.clone(), json!(x), json!(y)])
                    .await?;
                let (left, top) = (num(&at, "left") + x, num(&at, "top") + y);
                let (pw, ph) = ((w - x).min(vw), (h - y).min(vh));
                if left < -0.5 || top < -0.5 || left + pw > vw + 0.5 || top + ph > vh + 0.5 {
                    self.execute(JS_SCROLL_BACK, vec![geo.clone()]).await?;
                    return Err(incomplete(format!(
                        "a part of it ({pw:.0}×{ph:.0} at {x:.0},{y:.0}) cannot be scrolled into the window"
                    )));
                }
                let shot = self.screenshot().await?;
                let shot = image::load_from_memory(&shot)
                    .map_err(|e| incomplete(format!("a screenshot came back damaged: {e}")))?
                    .to_rgba8();
                let (sx, sy) = (px(left.max(0.0)), px(top.max(0.0)));
                let (cw, ch) = (
                    px(pw).min(shot.width().saturating_sub(sx)),
                    px(ph).min(shot.height().saturating_sub(sy)),
                );
                if cw + 1 < px(pw) || ch + 1 < px(ph) {
                    self.execute(JS_SCROLL_BACK, vec![geo.clone()]).await?;
                    return Err(incomplete(format!(
                        "the window showed {cw}×{ch} px of a {}×{} px piece",
                        px(pw),
                        px(ph)
                    )));
                }
                let piece = image::imageops::crop_imm(&shot, sx, sy, cw, ch).to_image();
                image::imageops::replace(&mut out, &piece, px(x) as i64, px(y) as i64);
                x += vw;
            }
            y += vh;
        }
        self.execute(JS_SCROLL_BACK, vec![geo]).await?;
        let mut png = Vec::new();
        image::DynamicImage::ImageRgba8(out.clone())
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| incomplete(format!("cannot encode it: {e}")))?;
        Ok(Capture {
            png,
            width: out.width(),
            height: out.height(),
        })
    }

    /// Enters the frame the selector matches.
    pub async fn frame(&self, selector: &str) -> Result<(), DriverError> {
        let el = self.find(selector).await?;
        self.cmd("enter_frame", el.enter_frame()).await
    }

    pub async fn parent_frame(&self) -> Result<(), DriverError> {
        self.cmd("parent_frame", self.client.enter_parent_frame())
            .await
    }

    pub async fn windows(&self) -> Result<Vec<String>, DriverError> {
        let hs = self.cmd("windows", self.client.windows()).await?;
        Ok(hs.into_iter().map(String::from).collect())
    }

    pub async fn current_window(&self) -> Result<String, DriverError> {
        Ok(self.cmd("window", self.client.window()).await?.into())
    }

    pub async fn switch_window(&self, handle: &str) -> Result<(), DriverError> {
        let h = WindowHandle::try_from(handle.to_string()).map_err(|e| DriverError::Command {
            command: "switch_window".into(),
            reason: format!("{handle:?} is not a window handle: {e}"),
        })?;
        self.cmd("switch_window", self.client.switch_to_window(h))
            .await
    }

    /// Closes the current window; switch to another one afterwards.
    pub async fn close_window(&self) -> Result<(), DriverError> {
        self.cmd("close_window", self.client.close_window()).await
    }

    /// Fetches a URL inside the page (with its cookies, through its proxy)
    /// and returns the bytes, MIME type and HTTP status, whatever the status.
    /// An HTML answer is also checked for `expired` (a selector).
    pub async fn download(
        &self,
        url: &str,
        expired: Option<&str>,
    ) -> Result<Download, DriverError> {
        self.commands.fetch_add(1, Ordering::Relaxed);
        let fut = self
            .client
            .execute_async(JS_DOWNLOAD, vec![json!(url), json!(expired)]);
        let v = match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => {
                return Err(DriverError::Timeout {
                    what: "a download".into(),
                    ms: self.timeout.as_millis() as u64,
                    url: url.to_string(),
                })
            }
            Ok(Err(e)) => return Err(DriverError::Script(e.to_string())),
            Ok(Ok(v)) => v,
        };
        if let Some(err) = v.get("error").and_then(Value::as_str) {
            return Err(DriverError::Script(format!("the download failed: {err}")));
        }
        let b64 = v.get("b64").and_then(Value::as_str).unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| DriverError::Script(format!("the download came back damaged: {e}")))?;
        Ok(Download {
            bytes,
            mime: v
                .get("mime")
                .and_then(Value::as_str)
                .unwrap_or("application/octet-stream")
                .to_string(),
            url: v
                .get("url")
                .and_then(Value::as_str)
                .unwrap_or(url)
                .to_string(),
            status: v.get("status").and_then(Value::as_u64).unwrap_or(0) as u16,
            expired: v.get("expired").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// A PNG of the current viewport.
    pub async fn screenshot(&self) -> Result<Vec<u8>, DriverError> {
        self.cmd("screenshot", self.client.screenshot()).await
    }

    pub async fn set_window_size(&self, w: u32, h: u32) -> Result<(), DriverError> {
        self.cmd("set_window_size", self.client.set_window_size(w, h))
            .await
    }

    /// Sends W3C key and pointer actions (used by the canvas screen backend).
    pub async fn perform_actions(
        &self,
        actions: impl Into<fantoccini::actions::Actions>,
    ) -> Result<(), DriverError> {
        self.cmd("perform_actions", self.client.perform_actions(actions))
            .await
    }

    /// The page's HTML source.
    pub async fn source(&self) -> Result<String, DriverError> {
        self.cmd("source", self.client.source()).await
    }

    /// The WebDriver session id, so another process can end the session
    /// with [`end_session`] if this one dies.
    pub async fn session_id(&self) -> Option<String> {
        self.client.session_id().await.ok().flatten()
    }

    /// Ends the session and closes the browser.
    pub async fn close(self) -> Result<(), DriverError> {
        let client = self.client.clone();
        let r = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(DriverError::Command {
                command: "close".into(),
                reason: e.to_string(),
            }),
            Err(_) => Err(DriverError::Timeout {
                what: "closing the browser".into(),
                ms: 10_000,
                url: String::new(),
            }),
        }
    }
}

/// Ends a session by id (`DELETE /session/{id}`), closing its browser: for
/// cleaning up after the process that held the session died. Only plain
/// `http://` WebDriver servers (chromedriver on loopback, a Grid).
pub async fn end_session(webdriver: &str, session: &str) -> Result<(), DriverError> {
    let fail = |reason: String| DriverError::Command {
        command: "delete session".into(),
        reason,
    };
    let url = format!("{}/session/{session}", webdriver.trim_end_matches('/'));
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| fail(format!("not a WebDriver URL: {url}: {e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(fail(format!("not an http:// WebDriver URL: {webdriver}")));
    }
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let req = hyper::Request::delete(uri)
        .body(http_body_util::Empty::<hyper::body::Bytes>::new())
        .map_err(|e| fail(e.to_string()))?;
    let resp = tokio::time::timeout(Duration::from_secs(10), client.request(req))
        .await
        .map_err(|_| fail("no answer within 10 s".into()))?
        .map_err(|e| fail(e.to_string()))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(fail(format!("answered {}", resp.status())))
    }
}

/// Tag, text and attributes of an element, for rights checks and recordings.
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct ElementInfo {
    pub tag: String,
    pub text: String,
    pub attrs: Vec<(String, String)>,
}

/// `xpath:` and `link:` prefixes select other locators; the default is CSS.
fn locator(selector: &str) -> Locator<'_> {
    if let Some(x) = selector.strip_prefix("xpath:") {
        Locator::XPath(x)
    } else if let Some(t) = selector.strip_prefix("link:") {
        Locator::LinkText(t)
    } else {
        Locator::Css(selector)
    }
}

/// Finds an element in the page the way [`locator`] does on the WebDriver side.
macro_rules! js_find {
    () => {
        r#"
function marcFind(sel) {
  if (sel.startsWith('xpath:')) {
    return document.evaluate(sel.slice(6), document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
  }
  if (sel.startsWith('link:')) {
    const t = sel.slice(5);
    return Array.from(document.querySelectorAll('a')).find(a => a.innerText.trim() === t) || null;
  }
  return document.querySelector(sel);
}
"#
    };
}

const JS_EXISTS: &str = concat!(js_find!(), "return marcFind(arguments[0]) !== null;");

const JS_ELEMENT_INFO: &str = r#"
const e = arguments[0];
const attrs = Array.from(e.attributes).map(a => [a.name, a.value]);
const form = e.closest('form');
if (form) { attrs.push(['form-method', (form.getAttribute('method') || 'get').toUpperCase()]); attrs.push(['form-action', form.action]); }
return { tag: e.tagName.toLowerCase(), text: (e.innerText || e.value || '').trim(), attrs: attrs };
"#;

const JS_TABLE: &str = r#"
const t = document.querySelector(arguments[0]);
if (!t) return null;
const headers = Array.from(t.querySelectorAll('thead th, thead td')).map(h => h.innerText.trim());
let rows = t.tBodies && t.tBodies.length ? Array.from(t.tBodies).flatMap(b => Array.from(b.rows)) : Array.from(t.rows || []);
if (!headers.length && rows.length && rows[0].querySelector('th')) {
  Array.from(rows[0].cells).forEach(c => headers.push(c.innerText.trim()));
  rows = rows.slice(1);
}
return rows.map(r => {
  const o = {};
  Array.from(r.cells).forEach((c, i) => {
    const keys = [];
    if (headers[i]) keys.push(headers[i]);
    if (c.className) keys.push(c.className.split(/\s+/)[0]);
    if (!keys.length) keys.push('col' + i);
    const a = c.querySelector('a');
    for (const k of keys) {
      o[k] = c.innerText.trim();
      if (a) { o[k + '_href'] = a.getAttribute('href') || ''; const oc = a.getAttribute('onclick'); if (oc) o[k + '_onclick'] = oc; }
    }
  });
  for (const [k, v] of Object.entries(r.dataset || {})) o['data_' + k] = v;
  return o;
});
"#;

const JS_DOWNLOAD: &str = r#"
const done = arguments[arguments.length - 1];
const expired = arguments[1];
fetch(arguments[0], { credentials: 'same-origin' }).then(async r => {
  const buf = new Uint8Array(await r.arrayBuffer());
  const mime = (r.headers.get('content-type') || 'application/octet-stream').split(';')[0].trim();
  let gone = false;
  if (expired && mime === 'text/html') {
    try {
      const doc = new DOMParser().parseFromString(new TextDecoder().decode(buf), 'text/html');
      gone = expired.startsWith('xpath:')
        ? doc.evaluate(expired.slice(6), doc, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue !== null
        : doc.querySelector(expired) !== null;
    } catch (e) { gone = false; }
  }
  let s = '';
  for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));
  done({ b64: btoa(s), mime: mime, url: r.url, status: r.status, expired: gone });
}).catch(e => done({ error: String(e) }));
"#;

const JS_WAIT: &str = concat!(
    js_find!(),
    r#"
const done = arguments[arguments.length - 1];
const sels = arguments[0], ms = arguments[1], expired = arguments[2], errs = arguments[3], statuses = arguments[4];
function status() {
  try { const n = performance.getEntriesByType('navigation')[0]; return n && n.responseStatus ? n.responseStatus : 0; } catch (e) { return 0; }
}
const t0 = Date.now();
(function poll() {
  try {
    for (let i = 0; i < sels.length; i++) if (marcFind(sels[i])) return done({ hit: i, href: location.href });
    if (expired && marcFind(expired)) return done({ expired: true, href: location.href });
    const s = status();
    if (statuses.indexOf(s) >= 0) return done({ error: 'HTTP ' + s, href: location.href });
    for (const e of errs) if (marcFind(e)) return done({ error: e, href: location.href });
  } catch (e) { return done({ bad: String(e), href: location.href }); }
  if (Date.now() - t0 >= ms) {
    const text = document.body ? document.body.innerText : '';
    return done({ timeout: true, href: location.href, shows: text.replace(/\s+/g, ' ').trim().slice(0, 200) });
  }
  setTimeout(poll, 50);
})();
"#
);

/// An element's own pixels (a canvas, or a same-origin image at its
/// natural size) drawn over its background colour, if it can be read so.
const JS_PIXELS: &str = r#"
const el = arguments[0];
const out = {};
function background(e) {
  for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (c && c !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(c)) return c;
  }
  return '#ffffff';
}
try {
  const tag = el.tagName.toLowerCase();
  let w = 0, h = 0;
  if (tag === 'canvas') { w = el.width; h = el.height; }
  else if (tag === 'img' && el.complete && el.naturalWidth) { w = el.naturalWidth; h = el.naturalHeight; }
  if (w && h) {
    const c = document.createElement('canvas');
    c.width = w; c.height = h;
    const g = c.getContext('2d');
    g.fillStyle = background(el);
    g.fillRect(0, 0, w, h);
    g.drawImage(el, 0, 0);
    out.data = c.toDataURL('image/png');
  }
} catch (e) { out.unreadable = String(e); }
return out;
"#;

/// An element's size, the viewport's, and the page's scroll position.
const JS_GEOMETRY: &str = r#"
const r = arguments[0].getBoundingClientRect();
return { w: r.width, h: r.height, vw: document.documentElement.clientWidth || window.innerWidth,
         vh: document.documentElement.clientHeight || window.innerHeight,
         dpr: window.devicePixelRatio || 1, sx: window.scrollX, sy: window.scrollY };
"#;

/// Scrolls the part of an element at (x, y) (CSS px) to the window's top
/// left, as far as the page lets it; returns where the element now is.
const JS_SCROLL_TO_PART: &str = r#"
const el = arguments[0], x = arguments[1], y = arguments[2];
const r0 = el.getBoundingClientRect();
window.scrollTo(window.scrollX + r0.left + x, window.scrollY + r0.top + y);
const r = el.getBoundingClientRect();
return { left: r.left, top: r.top };
"#;

/// Puts the page's scroll position back (from a [`JS_GEOMETRY`] answer).
const JS_SCROLL_BACK: &str = "window.scrollTo(arguments[0].sx, arguments[0].sy); return true;";

/// Width and height from a PNG's header.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || !png.starts_with(b"\x89PNG") {
        return None;
    }
    let w = u32::from_be_bytes(png[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(png[20..24].try_into().ok()?);
    Some((w, h))
}
