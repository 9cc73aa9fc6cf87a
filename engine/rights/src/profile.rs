//! The rights profile (`[rights]` in `robots/<system>/robot.toml`) and the
//! decisions derived from it. Pure logic: no I/O, so every rule can be tested.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::glob::{glob_match, glob_match_ci, path_forms};
use crate::selector::{self, SelectorList};

/// Placeholder in `origins` that the engine replaces with the origin of the
/// manifest's base URL (testbed ports are random, so profiles cannot name them).
pub const BASE_PLACEHOLDER: &str = "$base";

/// Errors loading or resolving a rights profile. Messages say what to change.
#[derive(Debug, thiserror::Error)]
pub enum RightsError {
    /// The manifest is not valid TOML, or `[rights]` has a bad value.
    #[error("robot.toml line {line}, column {column}: {message}")]
    Manifest {
        /// 1-based line of the offending value (0 if unknown).
        line: usize,
        /// 1-based column of the offending value (0 if unknown).
        column: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The manifest has no `[rights]` table.
    #[error("robot.toml has no [rights] table: add one (at least `origins = [\"$base\"]`); a robot without a rights profile may not run")]
    MissingRights,
    /// The profile is well-formed but unusable.
    #[error("invalid rights profile: {0}")]
    Invalid(String),
    /// The base URL given to [`RightsProfile::resolve`] cannot serve as an origin.
    #[error("base URL {url:?} cannot be used for \"$base\": {reason}; give an absolute http(s) URL such as http://127.0.0.1:8080/")]
    BadBaseUrl {
        /// The base URL as given.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
}

/// The outcome of a rights check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The action is within the robot's rights.
    Allow,
    /// Refused; the reason is meant for the robot's error and the audit log.
    Refuse(String),
}

impl Decision {
    /// True for [`Decision::Allow`].
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
    /// The refusal reason, if refused.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Decision::Allow => None,
            Decision::Refuse(r) => Some(r),
        }
    }
}

// ---------------------------------------------------------------------------
// Validated value types. Each deserialises from a string and fails during
// deserialisation, so the TOML error carries the line and column of the bad
// value.
// ---------------------------------------------------------------------------

/// An allowed origin: `scheme://host[:port]`, `*` as port for any port, or
/// the `$base` placeholder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OriginPattern {
    src: String,
    kind: OriginKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum OriginKind {
    Placeholder,
    Exact {
        scheme: String,
        host: String,
        /// `None` = any port.
        port: Option<u16>,
    },
}

impl OriginPattern {
    /// The value as written in the manifest.
    pub fn as_str(&self) -> &str {
        &self.src
    }
    /// True for the unresolved `$base` placeholder (which matches nothing).
    pub fn is_placeholder(&self) -> bool {
        self.kind == OriginKind::Placeholder
    }
    /// Does the origin (scheme, normalised host, effective port) match?
    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        match &self.kind {
            OriginKind::Placeholder => false,
            OriginKind::Exact {
                scheme: s,
                host: h,
                port: p,
            } => s == scheme && h == host && p.is_none_or(|p| p == port),
        }
    }
}

impl TryFrom<String> for OriginPattern {
    type Error = String;
    fn try_from(src: String) -> Result<Self, String> {
        let s = src.trim();
        if s == BASE_PLACEHOLDER {
            return Ok(OriginPattern {
                src,
                kind: OriginKind::Placeholder,
            });
        }
        let bad = |why: &str| {
            format!("origin {s:?} {why}; write scheme://host:port, e.g. \"http://127.0.0.1:*\" or \"$base\"")
        };
        let (body, any_port) = match s.strip_suffix(":*") {
            Some(b) => (b, true),
            None => (s, false),
        };
        let url = Url::parse(body).map_err(|e| bad(&format!("is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("must use http or https"));
        }
        let tail_ok = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        let after_scheme = &body[url.scheme().len() + 3..];
        if !tail_ok || after_scheme.contains('/') {
            return Err(bad("must not contain a path; use allow_paths for paths"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not contain a user name or password"));
        }
        let host = url
            .host_str()
            .ok_or_else(|| bad("has no host"))?
            .to_string();
        if host.contains('*') {
            return Err(bad("has a wildcard host; only the port may be *"));
        }
        if any_port && url.port().is_some() {
            return Err(bad("has both a port and :*"));
        }
        let port = if any_port {
            None
        } else {
            url.port_or_known_default()
        };
        Ok(OriginPattern {
            kind: OriginKind::Exact {
                scheme: url.scheme().to_string(),
                host,
                port,
            },
            src,
        })
    }
}

impl From<OriginPattern> for String {
    fn from(o: OriginPattern) -> String {
        o.src
    }
}

/// A glob on the URL path (query ignored): `*` any run, `?` one character.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PathGlob(String);

impl PathGlob {
    /// The value as written in the manifest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PathGlob {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if !(s.starts_with('/') || s.starts_with('*')) {
            return Err(format!(
                "path pattern {s:?} must start with '/' or '*' (it is matched against the URL path, e.g. \"/cases*\")"
            ));
        }
        if s.contains('?') && s.contains("?=") {
            return Err(format!(
                "path pattern {s:?} looks like it contains a query string; queries are ignored, match on the path only"
            ));
        }
        Ok(PathGlob(s))
    }
}

impl From<PathGlob> for String {
    fn from(p: PathGlob) -> String {
        p.0
    }
}

fn valid_method(m: &str) -> bool {
    !m.is_empty() && m.chars().all(|c| c.is_ascii_alphabetic())
}

/// An HTTP method, stored upper-case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Method(String);

impl Method {
    /// The value as written in the manifest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Method {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let m = s.trim().to_ascii_uppercase();
        if !valid_method(&m) {
            return Err(format!("{s:?} is not an HTTP method (e.g. \"GET\")"));
        }
        Ok(Method(m))
    }
}

impl From<Method> for String {
    fn from(m: Method) -> String {
        m.0
    }
}

/// An extra `"METHOD path-glob"` grant, e.g. `"POST /login"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SubmitRule {
    src: String,
    method: String,
    path: String,
}

impl SubmitRule {
    /// The value as written in the manifest.
    pub fn as_str(&self) -> &str {
        &self.src
    }
    /// The granted method, upper-case.
    pub fn method(&self) -> &str {
        &self.method
    }
    /// The granted path glob.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl TryFrom<String> for SubmitRule {
    type Error = String;
    fn try_from(src: String) -> Result<Self, String> {
        let mut parts = src.split_whitespace();
        let (Some(m), Some(p), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "submit rule {src:?} must be \"METHOD /path-glob\", e.g. \"POST /login\""
            ));
        };
        let method = m.to_ascii_uppercase();
        if !valid_method(&method) {
            return Err(format!("submit rule {src:?}: {m:?} is not an HTTP method"));
        }
        let path = PathGlob::try_from(p.to_string())?.0;
        Ok(SubmitRule { src, method, path })
    }
}

impl From<SubmitRule> for String {
    fn from(r: SubmitRule) -> String {
        r.src
    }
}

/// Something the robot may never click: `text:<pattern>` (visible text,
/// case-insensitive; whole words, or a glob on the whole text if it contains
/// `*`/`?`) or a CSS selector (see [`crate::selector`] for the subset).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClickRule {
    src: String,
    kind: ClickKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ClickKind {
    Text(String),
    Css(SelectorList),
}

impl ClickRule {
    /// The value as written in the manifest.
    pub fn as_str(&self) -> &str {
        &self.src
    }
    /// The CSS selector of this rule, if it is one. The driver can evaluate
    /// `element.matches(sel)` in the browser for exact CSS semantics.
    pub fn css(&self) -> Option<&str> {
        match self.kind {
            ClickKind::Css(_) => Some(self.src.trim()),
            ClickKind::Text(_) => None,
        }
    }
    /// The text pattern of this rule, if it is one.
    pub fn text(&self) -> Option<&str> {
        match &self.kind {
            ClickKind::Text(t) => Some(t),
            ClickKind::Css(_) => None,
        }
    }
}

impl TryFrom<String> for ClickRule {
    type Error = String;
    fn try_from(src: String) -> Result<Self, String> {
        let kind = if let Some(t) = src.trim().strip_prefix("text:") {
            let t = normalize_text(t);
            if t.is_empty() {
                return Err(format!(
                    "never_click rule {src:?} has an empty text pattern"
                ));
            }
            ClickKind::Text(t)
        } else {
            ClickKind::Css(
                selector::parse(src.trim()).map_err(|e| format!("never_click rule: {e}"))?,
            )
        };
        Ok(ClickRule { src, kind })
    }
}

impl From<ClickRule> for String {
    fn from(r: ClickRule) -> String {
        r.src
    }
}

fn default_methods() -> Vec<Method> {
    vec![Method("GET".into()), Method("HEAD".into())]
}

/// A robot's rights: what its browser may reach and do. Enforced by the
/// engine (proxy + script API), never left to the script.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RightsProfile {
    /// Allowed origins; anything else is refused.
    pub origins: Vec<OriginPattern>,
    /// Path globs allowed for `methods`; empty = every path on allowed origins.
    #[serde(default)]
    pub allow_paths: Vec<PathGlob>,
    /// Always refused, whatever else allows them (matched case-insensitively).
    #[serde(default)]
    pub deny_paths: Vec<PathGlob>,
    /// Methods allowed in general (default GET, HEAD).
    #[serde(default = "default_methods")]
    pub methods: Vec<Method>,
    /// Extra "METHOD path-glob" grants (form submissions).
    #[serde(default)]
    pub submit: Vec<SubmitRule>,
    /// Elements never to be clicked.
    #[serde(default)]
    pub never_click: Vec<ClickRule>,
    /// Most documents the robot may emit in one run (enforced by the engine).
    #[serde(default)]
    pub max_documents: Option<u64>,
    /// Wall-clock budget of one run in seconds (enforced by the engine).
    #[serde(default)]
    pub time_budget_secs: Option<u64>,
    /// PEM file with the CA certificate(s) that sign the system's https
    /// certificate (a municipality's internal CA). When given, the proxy
    /// trusts only these for the system; otherwise the system's roots.
    /// Relative to the manifest's folder (see [`RightsProfile::resolve_files`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
}

#[derive(Deserialize)]
struct ManifestRightsOnly {
    rights: Option<RightsProfile>,
}

/// toml reports a bad array element with the span of the whole array; point
/// at the element itself when the message quotes it and it occurs in the span.
fn value_offset(src: &str, span: std::ops::Range<usize>, message: &str) -> usize {
    let quoted = message
        .find('"')
        .and_then(|a| message[a + 1..].find('"').map(|b| &message[a..a + b + 2]));
    if let (Some(q), Some(region)) = (quoted, src.get(span.clone())) {
        if let Some(i) = region.find(q) {
            return span.start + i;
        }
    }
    span.start
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// Parses the `[rights]` table of a `robot.toml` (other tables are ignored),
/// validating every value; errors carry the line and column of the bad value.
pub fn parse_manifest_rights(toml_str: &str) -> Result<RightsProfile, RightsError> {
    let parsed: ManifestRightsOnly = toml::from_str(toml_str).map_err(|e| {
        let message = e.message().trim().to_string();
        let (line, column) = e
            .span()
            .map(|span| line_col(toml_str, value_offset(toml_str, span, &message)))
            .unwrap_or((0, 0));
        RightsError::Manifest {
            line,
            column,
            message,
        }
    })?;
    let profile = parsed.rights.ok_or(RightsError::MissingRights)?;
    profile.validate()?;
    Ok(profile)
}

impl RightsProfile {
    /// Checks rules that span fields (each value is already checked on load).
    pub fn validate(&self) -> Result<(), RightsError> {
        if self.origins.is_empty() {
            return Err(RightsError::Invalid(
                "`origins` is empty, so the robot could reach nothing; add \"$base\" or the system's origin".into(),
            ));
        }
        if self.methods.is_empty() && self.submit.is_empty() {
            return Err(RightsError::Invalid(
                "`methods` and `submit` are both empty, so the robot could not load a page; use methods = [\"GET\", \"HEAD\"]".into(),
            ));
        }
        if self.time_budget_secs == Some(0) {
            return Err(RightsError::Invalid(
                "`time_budget_secs` is 0; give a positive number of seconds or leave it out".into(),
            ));
        }
        Ok(())
    }

    /// Replaces `$base` in `origins` with the origin of `base_url`.
    pub fn resolve(&self, base_url: &str) -> Result<RightsProfile, RightsError> {
        let bad = |reason: &str| RightsError::BadBaseUrl {
            url: base_url.to_string(),
            reason: reason.to_string(),
        };
        let url = Url::parse(base_url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("scheme is not http or https"));
        }
        let host = url.host_str().ok_or_else(|| bad("it has no host"))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| bad("it has no port"))?;
        let origin = format!("{}://{}:{}", url.scheme(), host, port);
        let mut out = self.clone();
        for o in &mut out.origins {
            if o.is_placeholder() {
                *o = OriginPattern::try_from(origin.clone()).map_err(|e| bad(&e))?;
            }
        }
        Ok(out)
    }

    /// Makes `tls_ca` absolute against `manifest_dir` (the folder of the
    /// `robot.toml` it was written in) and checks that it is a PEM file of
    /// CA certificates, so a bad file is an error before any robot runs.
    pub fn resolve_files(&self, manifest_dir: &Path) -> Result<RightsProfile, RightsError> {
        let mut out = self.clone();
        if let Some(ca) = &self.tls_ca {
            let ca = manifest_dir.join(ca);
            crate::tls::load_ca_file(&ca).map_err(|e| RightsError::Invalid(e.to_string()))?;
            out.tls_ca = Some(ca);
        }
        Ok(out)
    }

    /// The run's time budget, if any.
    pub fn time_budget(&self) -> Option<Duration> {
        self.time_budget_secs.map(Duration::from_secs)
    }

    fn origin_allowed(&self, url: &Url) -> Result<(), String> {
        let scheme = url.scheme();
        let host = url.host_str().unwrap_or("");
        let port = url.port_or_known_default().unwrap_or(0);
        if self.origins.iter().any(|o| o.matches(scheme, host, port)) {
            return Ok(());
        }
        let unresolved = self.origins.iter().any(|o| o.is_placeholder());
        Err(format!(
            "origin {scheme}://{host}:{port} is not among the robot's allowed origins{}",
            if unresolved {
                " (the profile still contains \"$base\": the engine must call RightsProfile::resolve)"
            } else {
                ""
            }
        ))
    }

    fn denied_path(&self, forms: &[String]) -> Option<&PathGlob> {
        self.deny_paths
            .iter()
            .find(|g| forms.iter().any(|f| glob_match_ci(&g.0, f)))
    }

    fn paths_allowed(&self, forms: &[String]) -> bool {
        self.allow_paths.is_empty()
            || forms
                .iter()
                .all(|f| self.allow_paths.iter().any(|g| glob_match(&g.0, f)))
    }

    /// Decides whether `url`'s origin (scheme, host, port) is allowed, ignoring
    /// path and method. Used for `CONNECT` tunnels, where nothing else is visible.
    pub fn check_origin(&self, url: &str) -> Decision {
        match Url::parse(url) {
            Ok(u) => match self.origin_allowed(&u) {
                Ok(()) => Decision::Allow,
                Err(r) => Decision::Refuse(r),
            },
            Err(e) => Decision::Refuse(format!("{url}: not a valid URL ({e})")),
        }
    }

    /// Decides whether the browser may send `method` to `url` (absolute URL).
    /// Order: scheme, origin, `deny_paths` (beats everything), then either
    /// (method in `methods` and path in `allow_paths`) or a `submit` grant.
    pub fn check_request(&self, method: &str, url: &str) -> Decision {
        let method = method.trim().to_ascii_uppercase();
        let parsed = match Url::parse(url) {
            Ok(u) => u,
            Err(e) => return Decision::Refuse(format!("{method} {url}: not a valid URL ({e})")),
        };
        if !matches!(parsed.scheme(), "http" | "https") {
            return Decision::Refuse(format!(
                "{method} {url}: scheme {} is not allowed (http/https only)",
                parsed.scheme()
            ));
        }
        if let Err(r) = self.origin_allowed(&parsed) {
            return Decision::Refuse(format!("{method} {url}: {r}"));
        }
        let path = parsed.path();
        let forms = path_forms(path);
        if let Some(g) = self.denied_path(&forms) {
            return Decision::Refuse(format!(
                "{method} {path} matches the robot's deny_paths pattern {:?}",
                g.0
            ));
        }
        let general = self.methods.iter().any(|m| m.0 == method) && self.paths_allowed(&forms);
        if general {
            return Decision::Allow;
        }
        let granted = self
            .submit
            .iter()
            .any(|r| r.method == method && forms.iter().all(|f| glob_match(&r.path, f)));
        if granted {
            return Decision::Allow;
        }
        if self.methods.iter().any(|m| m.0 == method) {
            Decision::Refuse(format!(
                "{method} {path} is not in the robot's allow_paths or submit rights"
            ))
        } else {
            Decision::Refuse(format!(
                "{method} {path} is not in the robot's submit rights"
            ))
        }
    }

    /// Decides whether the script may navigate to `url` (a GET). `about:blank`
    /// is allowed; `javascript:`, `data:`, `file:` and other schemes are not.
    pub fn check_navigation(&self, url: &str) -> Decision {
        if url.trim() == "about:blank" {
            return Decision::Allow;
        }
        match self.check_request("GET", url) {
            Decision::Allow => Decision::Allow,
            Decision::Refuse(r) => Decision::Refuse(format!("navigation refused: {r}")),
        }
    }

    /// Like [`RightsProfile::check_navigation`] for a possibly relative
    /// `target` (as a script writes it, e.g. `"/cases?id=7"`), resolved
    /// against the page the browser is on.
    pub fn check_navigation_from(&self, current_url: &str, target: &str) -> Decision {
        if target.trim() == "about:blank" {
            return Decision::Allow;
        }
        match Url::parse(current_url).and_then(|base| base.join(target.trim())) {
            Ok(u) => self.check_navigation(u.as_str()),
            Err(e) => Decision::Refuse(format!(
                "navigation refused: {target:?} cannot be resolved against {current_url:?} ({e})"
            )),
        }
    }

    /// Decides whether the script may click the element it found with
    /// `selector`, whose visible text is `element_text` and whose attributes
    /// are `element_attrs` (tag name under [`crate::TAG_KEY`]). Refused if
    /// the selector equals a rule, implies a CSS rule, the element matches a
    /// CSS rule, or its text (or `value`/`aria-label`/`title`/`alt`) matches
    /// a `text:` rule. Works with empty element data (selector-only check).
    pub fn check_click(
        &self,
        selector: &str,
        element_text: &str,
        element_attrs: &[(String, String)],
    ) -> Decision {
        let sel_norm = normalize_ws(selector);
        let script_sel = selector::parse(selector.trim()).ok();
        let mut texts = vec![normalize_text(element_text)];
        for key in ["value", "aria-label", "title", "alt"] {
            if let Some((_, v)) = element_attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
            {
                texts.push(normalize_text(v));
            }
        }
        for rule in &self.never_click {
            let refuse = || {
                Decision::Refuse(format!(
                    "click on {selector:?} is refused: it matches the robot's never_click rule {:?}",
                    rule.src
                ))
            };
            if normalize_ws(&rule.src) == sel_norm {
                return refuse();
            }
            match &rule.kind {
                ClickKind::Css(list) => {
                    for rc in &list.0 {
                        if !element_attrs.is_empty() && rc.matches(element_attrs) {
                            return refuse();
                        }
                        if let Some(ss) = &script_sel {
                            if ss.0.iter().any(|sc| !sc.0.is_empty() && sc.implies(rc)) {
                                return refuse();
                            }
                        }
                    }
                }
                ClickKind::Text(pat) => {
                    if texts.iter().any(|t| text_matches(pat, t)) {
                        return refuse();
                    }
                }
            }
        }
        Decision::Allow
    }

    /// A best-effort lexical guard on `eval_js` code: refuses code that could
    /// send requests, submit forms, click, navigate, open windows, write
    /// cookies or build code at run time. The proxy is the real enforcement;
    /// this gives the script author an early, clear error.
    pub fn check_script(&self, js: &str) -> Decision {
        let variants = script_variants(js);
        for (re, what) in script_rules() {
            if variants.iter().any(|v| re.is_match(v)) {
                return Decision::Refuse(format!(
                    "eval_js refused: the code {what}; use the robot API (navigate, click, type, download) so the engine can check it"
                ));
            }
        }
        // window.open: allowed only with a literal URL the robot may navigate to.
        for v in &variants {
            for cap in window_open_re().captures_iter(v) {
                let Some(arg) = cap.get(2) else {
                    return Decision::Refuse(
                        "eval_js refused: window.open with a computed URL; use navigate(url)"
                            .into(),
                    );
                };
                let target = arg.as_str();
                let ok = if target.starts_with('/') && !target.starts_with("//") {
                    let forms = path_forms(target.split(['?', '#']).next().unwrap_or("/"));
                    self.denied_path(&forms).is_none() && self.paths_allowed(&forms)
                } else {
                    self.check_navigation(target).is_allowed()
                };
                if !ok {
                    return Decision::Refuse(format!(
                        "eval_js refused: window.open({target:?}) leaves the robot's rights"
                    ));
                }
            }
        }
        Decision::Allow
    }

    /// The CSS selectors among `never_click` (for an in-browser
    /// `element.matches()` check by the driver).
    pub fn never_click_css(&self) -> Vec<&str> {
        self.never_click.iter().filter_map(|r| r.css()).collect()
    }
}

fn normalize_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn normalize_text(s: &str) -> String {
    normalize_ws(s).to_lowercase()
}

/// `pat` and `text` are already normalised (lower-case, single spaces).
fn text_matches(pat: &str, text: &str) -> bool {
    if text.is_empty() {
        return false;
    }
    if pat.contains(['*', '?']) {
        return glob_match(pat, text);
    }
    // whole-word containment
    let mut start = 0;
    while let Some(i) = text[start..].find(pat) {
        let at = start + i;
        let end = at + pat.len();
        let before_ok = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after_ok = text[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            return true;
        }
        start = at + text[at..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// The code as given, with JS escapes (`\uXXXX`, `\u{X}`, `\xXX`) decoded,
/// and with string concatenations (`'fet' + 'ch'`) and comments removed, so
/// the simplest obfuscations are seen through.
fn script_variants(js: &str) -> Vec<String> {
    let decoded = decode_js_escapes(js);
    let no_comments = strip_comments(&decoded);
    let joined = concat_re().replace_all(&no_comments, "").into_owned();
    let dotted = bracket_re().replace_all(&joined, ".$1").into_owned();
    vec![js.to_string(), decoded, no_comments, joined, dotted]
}

fn decode_js_escapes(s: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"\\u\{([0-9a-fA-F]{1,6})\}|\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})")
            .expect("static regex")
    });
    re.replace_all(s, |c: &regex::Captures| {
        let hex = c
            .get(1)
            .or_else(|| c.get(2))
            .or_else(|| c.get(3))
            .map(|m| m.as_str())
            .unwrap_or("");
        u32::from_str_radix(hex, 16)
            .ok()
            .and_then(char::from_u32)
            .map(String::from)
            .unwrap_or_default()
    })
    .into_owned()
}

fn strip_comments(s: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"(?s)/\*.*?\*/|//[^\n]*").expect("static regex"));
    re.replace_all(s, " ").into_owned()
}

fn concat_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r#"["'`]\s*\+\s*["'`]"#).expect("static regex"))
}

fn bracket_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"\[\s*["'`]([A-Za-z_$][\w$]*)["'`]\s*\]"#).expect("static regex")
    })
}

fn window_open_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"(?:\b(?:window|self|top|parent|globalThis|frames)\s*\.\s*|(?:^|[^.\w$]))open\s*\(\s*(?:(["'`])([^"'`]*)["'`])?"#,
        ).expect("static regex")
    })
}

fn script_rules() -> &'static [(Regex, &'static str)] {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RULES.get_or_init(|| {
        let r = |p: &str| Regex::new(p).expect("static regex");
        vec![
            (r(r"\bfetch\b"), "calls fetch()"),
            (r(r"\bXMLHttpRequest\b"), "uses XMLHttpRequest"),
            (r(r"\bsendBeacon\b"), "calls navigator.sendBeacon"),
            (r(r"\bWebSocket\b"), "opens a WebSocket"),
            (r(r"\bEventSource\b"), "opens an EventSource"),
            (r(r"\bRTCPeerConnection\b"), "opens a WebRTC connection"),
            (r(r"\b(?:submit|requestSubmit)\s*\("), "submits a form"),
            (r(r"\.\s*click\s*\(\s*\)"), "clicks an element from JavaScript"),
            (r(r"\bdispatchEvent\b"), "dispatches synthetic events"),
            (
                r(r"\blocation\s*(?:\.\s*(?:href|pathname|search|hash|host|hostname|port|protocol)\s*)?(?:=[^=]|\+=)"),
                "assigns to location",
            ),
            (
                r(r"\blocation\s*\.\s*(?:assign|replace|reload)\s*\("),
                "navigates via location",
            ),
            (r(r"\.\s*cookie\s*(?:=[^=]|\+=)"), "writes document.cookie"),
            (r(r"\bcookieStore\b"), "uses cookieStore"),
            (
                r(r"\b(?:eval|Function|setTimeout|setInterval)\s*\(\s*['`]"),
                "builds code from a string",
            ),
            (r(r"\beval\s*\("), "calls eval()"),
            (r(r"\bnew\s+Function\b|\bFunction\s*\("), "builds code with Function()"),
            (r(r"\bimport\s*\(|\bimportScripts\b"), "loads a module"),
            (r(r"\bserviceWorker\b|\bnew\s+Worker\b|\bSharedWorker\b"), "starts a worker"),
            (
                r(r"\.\s*(?:src|href|action|formAction|data)\s*(?:=[^=]|\+=)"),
                "sets a URL property (src/href/action), which makes the browser load it",
            ),
            (r(r"\bsetAttribute\s*\(\s*['`]?(?:src|href|action|formaction)"), "sets a URL attribute"),
            (
                r(r"\b(?:innerHTML|outerHTML)\s*(?:=[^=]|\+=)|\b(?:insertAdjacentHTML|write|writeln)\s*\("),
                "writes HTML into the page",
            ),
            (r(r"\bpostMessage\b"), "posts messages to other windows"),
        ]
    })
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allow => f.write_str("allow"),
            Decision::Refuse(r) => write!(f, "refuse: {r}"),
        }
    }
}
