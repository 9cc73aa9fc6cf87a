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
    pub url: String,
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

    /// Waits until an element matches, polling in the page.
    pub async fn wait_for(&self, selector: &str, ms: u64) -> Result<(), DriverError> {
        let deadline = Instant::now() + Duration::from_millis(ms);
        loop {
            if self.exists(selector).await? {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DriverError::Timeout {
                    what: format!("element {selector:?}"),
                    ms,
                    url: self.current_url().await.unwrap_or_default(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
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

    /// What the rights check needs to know about an element before a click:
    /// tag, visible text and attributes. `None` when nothing matches.
    pub async fn element_info(&self, selector: &str) -> Result<Option<ElementInfo>, DriverError> {
        let v = self.execute(JS_ELEMENT_INFO, vec![json!(selector)]).await?;
        Ok(serde_json::from_value(v).ok())
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

    /// Fetches a URL inside the page (with its cookies, through its proxy) and
    /// returns the bytes and MIME type.
    pub async fn download(&self, url: &str) -> Result<Download, DriverError> {
        self.commands.fetch_add(1, Ordering::Relaxed);
        let fut = self.client.execute_async(JS_DOWNLOAD, vec![json!(url)]);
        let v = match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => {
                return Err(DriverError::Timeout {
                    what: format!("download of {url}"),
                    ms: self.timeout.as_millis() as u64,
                    url: String::new(),
                })
            }
            Ok(Err(e)) => return Err(DriverError::Script(e.to_string())),
            Ok(Ok(v)) => v,
        };
        if let Some(err) = v.get("error").and_then(Value::as_str) {
            return Err(DriverError::Script(format!(
                "download of {url} failed: {err}"
            )));
        }
        let b64 = v.get("b64").and_then(Value::as_str).unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| DriverError::Script(format!("download of {url}: bad data: {e}")))?;
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
        })
    }

    /// A PNG of the current viewport.
    pub async fn screenshot(&self) -> Result<Vec<u8>, DriverError> {
        self.cmd("screenshot", self.client.screenshot()).await
    }

    /// A PNG of one element (e.g. a canvas).
    pub async fn element_screenshot(&self, selector: &str) -> Result<Vec<u8>, DriverError> {
        let el = self.find(selector).await?;
        self.cmd("element_screenshot", el.screenshot()).await
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

const JS_ELEMENT_INFO: &str = concat!(
    js_find!(),
    r#"
const e = marcFind(arguments[0]);
if (!e) return null;
const attrs = Array.from(e.attributes).map(a => [a.name, a.value]);
const form = e.closest('form');
if (form) { attrs.push(['form-method', (form.getAttribute('method') || 'get').toUpperCase()]); attrs.push(['form-action', form.action]); }
return { tag: e.tagName.toLowerCase(), text: (e.innerText || e.value || '').trim(), attrs: attrs };
"#
);

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
fetch(arguments[0], { credentials: 'same-origin' }).then(async r => {
  if (!r.ok) { done({ error: 'HTTP ' + r.status }); return; }
  const buf = new Uint8Array(await r.arrayBuffer());
  let s = '';
  for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode.apply(null, buf.subarray(i, i + 0x8000));
  done({ b64: btoa(s), mime: (r.headers.get('content-type') || 'application/octet-stream').split(';')[0], url: r.url });
}).catch(e => done({ error: String(e) }));
"#;
