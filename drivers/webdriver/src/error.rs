/// What went wrong talking to the browser. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("chromedriver not found (looked at {tried}); install the Debian package chromium-driver (`make deps`), set MARC_CHROMEDRIVER, or pass --webdriver URL")]
    NoChromedriver { tried: String },
    #[error("chromedriver at {path} did not start: {reason}")]
    ChromedriverStart { path: String, reason: String },
    #[error("cannot open a browser session at {url}: {reason}")]
    Session { url: String, reason: String },
    #[error("no element matches {selector:?} on {url}")]
    NotFound { selector: String, url: String },
    #[error("timed out after {ms} ms waiting for {what} on {url}")]
    Timeout { what: String, ms: u64, url: String },
    #[error("WebDriver command {command} failed: {reason}")]
    Command { command: String, reason: String },
    #[error("script in the page failed: {0}")]
    Script(String),
    #[error("cannot capture the whole of {what}: {reason}")]
    Incomplete { what: String, reason: String },
}
