//! How a robot logs in, and what an expired session and an error page look
//! like, declared once (the manifest's `[session]`, or `session(#{...})` in
//! the script) instead of written into every robot.
//!
//! With these rules `login()` logs in with the robot's own credential and
//! tells a refused login (final: never tried again, so the account is not
//! locked) from a slow one; and every wait (`wait_for`, `wait_any`) and
//! every `download` that meets the login page or an error page recovers by
//! itself: it logs in again (expired session) or waits a moment (error
//! page), reopens the page the step was on and goes on waiting.

use serde::{Deserialize, Serialize};

/// The declared session behaviour of a system. Every selector may also be
/// an `xpath:` or `link:` selector.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRules {
    /// Where the login form is (relative to the base URL). Default `/`.
    #[serde(default)]
    pub login_url: Option<String>,
    /// The frame the login form is in, if any (entered after opening
    /// `login_url`, left again after logging in).
    #[serde(default)]
    pub login_frame: Option<String>,
    /// The user name field; filled with the secret `<credential>.user`.
    #[serde(default)]
    pub user: Option<String>,
    /// The password field; filled with the secret `<credential>.password`.
    #[serde(default)]
    pub password: Option<String>,
    /// The button that submits the login form.
    #[serde(default)]
    pub submit: Option<String>,
    /// What shows once logged in.
    #[serde(default)]
    pub success: Option<String>,
    /// What shows when the system refuses the credentials.
    #[serde(default)]
    pub failure: Option<String>,
    /// What shows on a page when the session has expired (usually the login
    /// form's user field): the robot logs in again and reopens the page.
    #[serde(default)]
    pub expired: Option<String>,
    /// What shows on an error page (e.g. `body > pre` for a plain-text 503):
    /// the robot waits and reopens the page. Pages answered with an HTTP
    /// status in `error_status` count as error pages without a selector.
    #[serde(default)]
    pub error_pages: Vec<String>,
    /// HTTP statuses of a page that make it an error page (default 500, 502,
    /// 503, 504).
    #[serde(default)]
    pub error_status: Option<Vec<u16>>,
    /// How often one step may recover before it fails (default 6).
    #[serde(default)]
    pub retries: Option<u32>,
}

impl SessionRules {
    /// The statuses that make a page an error page.
    pub fn error_statuses(&self) -> Vec<u16> {
        self.error_status
            .clone()
            .unwrap_or_else(|| vec![500, 502, 503, 504])
    }

    pub fn max_recoveries(&self) -> u32 {
        self.retries.unwrap_or(6).min(50)
    }

    /// Whether a wait has anything to watch for besides its own selectors.
    pub fn watches(&self) -> bool {
        self.expired.is_some() || !self.error_pages.is_empty() || !self.error_statuses().is_empty()
    }

    /// Fills in the fields `other` sets (a script's `session(#{...})` over
    /// the manifest's rules).
    pub fn merge(&mut self, other: SessionRules) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            login_url,
            login_frame,
            user,
            password,
            submit,
            success,
            failure,
            expired,
            error_status,
            retries
        );
        if !other.error_pages.is_empty() {
            self.error_pages = other.error_pages;
        }
    }

    /// What `login()` needs, or a message naming what is missing.
    pub fn login_form(&self) -> Result<LoginForm<'_>, String> {
        fn need<'a>(v: &'a Option<String>, k: &str) -> Result<&'a str, String> {
            v.as_deref().ok_or_else(|| {
                format!("login: the session rules do not say `{k}` (the manifest's [session], or session(#{{{k}: ...}}))")
            })
        }
        Ok(LoginForm {
            url: self.login_url.as_deref().unwrap_or("/"),
            frame: self.login_frame.as_deref(),
            user: need(&self.user, "user")?,
            password: need(&self.password, "password")?,
            submit: need(&self.submit, "submit")?,
            success: need(&self.success, "success")?,
            failure: self.failure.as_deref(),
        })
    }
}

/// The login form, with everything `login()` needs.
#[derive(Debug)]
pub struct LoginForm<'a> {
    pub url: &'a str,
    pub frame: Option<&'a str>,
    pub user: &'a str,
    pub password: &'a str,
    pub submit: &'a str,
    pub success: &'a str,
    pub failure: Option<&'a str>,
}

/// Where a robot's session is, for recovering a step.
#[derive(Clone, Debug, Default)]
pub struct SessionState {
    /// The page the current step is on: the last URL opened or seen while
    /// waiting that was not the login page.
    pub step_url: Option<String>,
    /// Paths of the login pages seen (the login URL, and where the form
    /// was): a step never resumes there.
    pub login_paths: Vec<String>,
    /// `login()` is running: its own waits do not recover.
    pub logging_in: bool,
}

/// The path of a URL (`/case` of `http://h/case?id=1`).
pub fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let path = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
    path.split(['?', '#']).next().unwrap_or("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_rules_override_the_manifest() {
        let mut m: SessionRules = toml::from_str(
            "user = \"#user\"\npassword = \"#pass\"\nsubmit = \"#go\"\nsuccess = \"#ok\"\nerror_pages = [\"body > pre\"]",
        )
        .unwrap();
        m.merge(SessionRules {
            success: Some("#menu".into()),
            ..Default::default()
        });
        let f = m.login_form().unwrap();
        assert_eq!((f.url, f.success, f.user), ("/", "#menu", "#user"));
        assert_eq!(m.error_pages, ["body > pre"]);
        assert!(SessionRules::default()
            .login_form()
            .unwrap_err()
            .contains("`user`"));
        assert!(toml::from_str::<SessionRules>("usr = \"#x\"").is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(path_of("http://127.0.0.1:80/login?expired=1"), "/login");
        assert_eq!(path_of("http://h"), "/");
        assert_eq!(path_of("/case?id=3#x"), "/case");
    }
}
