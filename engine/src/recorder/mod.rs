//! `marc record`: a person works in a browser, marc writes the robot script.
//!
//! The recorder polls the page with a small script ([`capture.js`]) that
//! records clicks, typing and form submits with robust selectors (id, name,
//! label, text, then a CSS path) and keeps them in `sessionStorage` across
//! page loads; navigations nobody clicked for (a typed address) are seen as
//! URL changes. A window the person's click opens (a popup) is followed:
//! the recorder works in it until it closes, then returns to the window
//! that opened it. [`script::generate`] turns the events into Rhai. The
//! script file is rewritten after every new event, so stopping marc at any
//! moment loses nothing.

pub mod script;

pub use script::Event;

use marc_rights::RightsProfile;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const CAPTURE_JS: &str = include_str!("capture.js");

/// What to record and where to write it.
pub struct RecordOptions {
    pub system: String,
    pub base_url: String,
    pub credential: String,
    /// The robot's secrets known to marc, to recognise typed ones.
    pub secrets: Vec<(String, String)>,
    /// The robot's rights: events it would refuse are written as comments.
    pub profile: RightsProfile,
    pub out: PathBuf,
    pub webdriver: String,
    pub local_browser: bool,
    /// No window (the session is driven over WebDriver, e.g. by a test).
    pub headless: bool,
    /// A header line for the script (who recorded, when).
    pub header: String,
}

/// Why a recording stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Browser(#[from] marc_webdriver::DriverError),
    #[error("cannot write the script {path}: {reason}")]
    Write { path: String, reason: String },
}

/// Records until `stop()` says so or the browser window is closed; returns
/// the events written. `ready` is told the WebDriver session id once the
/// browser shows the system.
pub fn record(
    handle: &tokio::runtime::Handle,
    opts: &RecordOptions,
    stop: &dyn Fn() -> bool,
    ready: &dyn Fn(&str),
) -> Result<Vec<Event>, RecordError> {
    let browser_opts = marc_webdriver::BrowserOptions {
        local: opts.local_browser,
        headless: opts.headless,
        ..Default::default()
    };
    let browser = Arc::new(handle.block_on(marc_webdriver::Browser::open(
        &opts.webdriver,
        &browser_opts,
    ))?);
    handle.block_on(browser.goto(&opts.base_url))?;
    let session = handle.block_on(browser.session_id()).unwrap_or_default();
    let start = handle
        .block_on(browser.current_url())
        .unwrap_or_else(|_| opts.base_url.clone());
    let mut events = vec![Event {
        kind: "navigate".into(),
        url: start.clone(),
        ..Default::default()
    }];
    write(opts, &events)?;
    ready(&session);
    let mut last_url = start;
    let mut acted = false;
    // The windows being worked in, the newest last: a popup on top of the
    // window that opened it.
    let first = handle.block_on(browser.current_window())?;
    let mut stack = vec![first.clone()];
    let mut known = vec![first];
    while !stop() {
        std::thread::sleep(Duration::from_millis(250));
        let current = stack.last().cloned().unwrap_or_default();
        let before = events.len();
        // A new window: what happened in this one first (the click that
        // opened it), then follow the person into the popup.
        let opened = handle
            .block_on(browser.windows())
            .ok()
            .and_then(|hs| hs.into_iter().find(|h| !known.contains(h)));
        if let Some(popup) = opened {
            if let Ok(v) =
                handle.block_on(browser.execute(CAPTURE_JS, vec![current.clone().into()]))
            {
                events.extend(
                    serde_json::from_value::<Vec<Event>>(v["events"].clone()).unwrap_or_default(),
                );
            }
            handle.block_on(browser.switch_window(&popup))?;
            events.push(Event {
                kind: "window_open".into(),
                ..Default::default()
            });
            known.push(popup.clone());
            stack.push(popup);
            // The popup's first page comes from the click, not a typed address.
            last_url.clear();
            acted = true;
            write(opts, &events)?;
            continue;
        }
        let polled = handle.block_on(browser.execute(CAPTURE_JS, vec![current.clone().into()]));
        let v = match polled {
            Ok(v) => v,
            Err(e) if window_gone(&e.to_string()) => {
                // A popup closed: back to the window that opened it.
                if stack.len() > 1 {
                    stack.pop();
                    events.push(Event {
                        kind: "window_close".into(),
                        ..Default::default()
                    });
                    let back = stack.last().cloned().unwrap_or_default();
                    handle.block_on(browser.switch_window(&back))?;
                    last_url = handle.block_on(browser.current_url()).unwrap_or_default();
                    acted = false;
                    write(opts, &events)?;
                    continue;
                }
                // The last window, closed by the person: the recording is done.
                break;
            }
            // A page in the middle of loading: ask again.
            Err(_) => continue,
        };
        let new: Vec<Event> = serde_json::from_value(v["events"].clone()).unwrap_or_default();
        let url = v["url"].as_str().unwrap_or_default().to_string();
        acted |= new.iter().any(may_navigate);
        events.extend(new);
        if url != last_url && !url.is_empty() {
            // A page change nobody clicked for: the person typed an address.
            if !acted {
                events.push(Event {
                    kind: "navigate".into(),
                    url: url.clone(),
                    ..Default::default()
                });
            }
            last_url = url;
            acted = false;
        }
        if events.len() > before {
            write(opts, &events)?;
        }
    }
    if let Ok(b) = Arc::try_unwrap(browser) {
        let _ = handle.block_on(b.close());
    }
    Ok(events)
}

/// A click on a link or a submit button, which explains a page change.
fn may_navigate(e: &Event) -> bool {
    let attr = |k: &str| {
        e.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    e.kind == "click"
        && (attr("href").is_some()
            || attr("type") == Some("submit")
            || attr("onclick").is_some()
            || e.selector.contains("button"))
}

fn window_gone(msg: &str) -> bool {
    [
        "no such window",
        "invalid session id",
        "target window already closed",
        "disconnected",
    ]
    .iter()
    .any(|m| msg.contains(m))
}

/// Writes the script for `events` (atomically: a reader never sees half).
fn write(opts: &RecordOptions, events: &[Event]) -> Result<(), RecordError> {
    let refused = |e: &Event| -> Option<String> {
        let d = match e.kind.as_str() {
            "navigate" => opts.profile.check_navigation(&e.url),
            "click" => opts.profile.check_click(&e.selector, &e.text, &e.attrs),
            _ => return None,
        };
        d.reason().map(str::to_string)
    };
    let text = script::generate(
        events,
        &script::Context {
            system: &opts.system,
            base_url: &opts.base_url,
            credential: &opts.credential,
            secrets: &opts.secrets,
            refused: &refused,
            header: &opts.header,
        },
    );
    let fail = |e: std::io::Error| RecordError::Write {
        path: opts.out.display().to_string(),
        reason: e.to_string(),
    };
    let tmp = opts.out.with_extension("rhai.partial");
    std::fs::write(&tmp, text).map_err(fail)?;
    std::fs::rename(&tmp, &opts.out).map_err(fail)
}
