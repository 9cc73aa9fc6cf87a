//! What the web tests share: a `marc serve` to test, and a person at a
//! browser (real Chromium through marc's WebDriver driver) with the checks
//! every page gets (axe-core, 390 px).

use marc_e2e::*;
use marc_testbed::idp::{demo_identities, Identities};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// A running `marc serve`, stopped when dropped.
/// Where a served installation keeps its state: the same suite runs on both.
#[derive(Clone, Copy, Debug)]
pub enum Backing {
    /// The embedded default: a sled data directory.
    Sled,
    /// A fresh schema in a throwaway PostgreSQL cluster (or on
    /// `MARC_TEST_DATABASE_URL`): `--database`, the shared queue included.
    Postgres,
}

pub struct Served {
    child: Child,
    /// The database of a [`Backing::Postgres`] server (dropped after it).
    db: Option<marc_store::testing::TestDatabase>,
    _dir: tempfile::TempDir,
    pub web: String,
    identities: Identities,
    data: PathBuf,
    key: PathBuf,
    testbed_log: PathBuf,
    rt: Arc<tokio::runtime::Runtime>,
}

fn runtime() -> Arc<tokio::runtime::Runtime> {
    Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .worker_threads(2)
            .build()
            .unwrap(),
    )
}

/// Reads the child's stdout until `want` lines start with the given
/// prefixes; returns the rest of each such line.
fn read_lines(child: &mut Child, prefixes: &[&str]) -> Vec<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut found = vec![String::new(); prefixes.len()];
    let deadline = Instant::now() + Duration::from_secs(120);
    while found.iter().any(String::is_empty) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("marc serve did not print {prefixes:?} in time"));
        for (i, p) in prefixes.iter().enumerate() {
            if let Some(rest) = line.trim_start().strip_prefix(p) {
                found[i] = rest.trim().to_string();
            }
        }
    }
    // Keep draining, so marc never blocks on a full pipe.
    std::thread::spawn(move || for _ in rx {});
    found
}

impl Served {
    /// `marc serve --demo` on the two web systems, with `more` arguments.
    pub fn start(backing: Backing, more: &[&str]) -> Served {
        Served::start_in(backing, tempfile::tempdir().unwrap(), None, more)
    }

    fn start_in(
        backing: Backing,
        dir: tempfile::TempDir,
        config: Option<&str>,
        more: &[&str],
    ) -> Served {
        let testbed_log = dir.path().join("testbed.jsonl");
        let db = match backing {
            Backing::Sled => None,
            Backing::Postgres => Some(
                marc_store::testing::TestDatabase::new()
                    .unwrap_or_else(|e| panic!("a test database: {e}")),
            ),
        };
        let mut args = Vec::new();
        if let Some(db) = &db {
            args.extend(["--database".to_string(), db.url().to_string()]);
        }
        args.extend([
            "serve".to_string(),
            "--demo".into(),
            "--systems".into(),
            "esdh,legacy".into(),
            "--testbed-log".into(),
            testbed_log.display().to_string(),
        ]);
        args.extend(more.iter().map(|s| s.to_string()));
        if let Some(toml) = config {
            let path = dir.path().join("marc.toml");
            std::fs::write(&path, toml).unwrap();
            args.extend(["--config".to_string(), path.display().to_string()]);
        }
        let mut child = Command::new(marc_bin())
            .args(&args)
            .current_dir(dir.path())
            .env("OMP_THREAD_LIMIT", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start marc serve --demo");
        let found = read_lines(&mut child, &["web app:", "test identity provider:"]);
        assert!(found[1].contains("not MitID"), "{}", found[1]);
        let world = marc_testbed::World::generate(marc_testbed::DEMO_SEED);
        let out = dir.path().join("out/serve-demo");
        Served {
            child,
            db,
            web: found[0].clone(),
            identities: demo_identities(&world),
            data: out.join("data"),
            key: out.join("demo.key"),
            testbed_log,
            _dir: dir,
            rt: runtime(),
        }
    }

    /// `marc serve --demo` with a configuration file of `toml`.
    pub fn start_with_config(backing: Backing, toml: &str, more: &[&str]) -> Served {
        Served::start_in(backing, tempfile::tempdir().unwrap(), Some(toml), more)
    }

    /// `marc` as the operator runs it beside the server: its data directory,
    /// its database if it has one, its vault key.
    fn marc(&self) -> Command {
        let mut c = Command::new(marc_bin());
        c.args(["--data", self.data.to_str().unwrap()]);
        if let Some(db) = &self.db {
            c.args(["--database", db.url()]);
        }
        c.env("MARC_VAULT_KEY_FILE", &self.key);
        c
    }

    /// A staff member logs in at /personale in this browser.
    pub fn staff_login(&self, b: &Browser, user: &str, password: &str) {
        b.go(&self.url("/personale"));
        b.fill("#user", user);
        b.fill("#password", password);
        b.submit("form[action='/personale']");
    }

    /// A plain `marc serve` whose identity provider is down (nothing
    /// listens at its issuer).
    pub fn start_plain_with_dead_idp() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let config = dir.path().join("marc.toml");
        std::fs::write(
            &config,
            format!("[web.oidc]\nissuer = \"{issuer}\"\nclient_id = \"marc\"\n"),
        )
        .unwrap();
        let key = dir.path().join("vault.key");
        std::fs::write(&key, TEST_VAULT_KEY).unwrap();
        // marc refuses a key file others can read.
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let data = dir.path().join("data");
        let mut child = Command::new(marc_bin())
            .args([
                "--data",
                data.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
            ])
            .args(["serve", "--listen", "127.0.0.1:0", "--robots"])
            .arg(root().join("robots"))
            .env("MARC_VAULT_KEY_FILE", &key)
            .env("MARC_SECRET_OIDC_CLIENT_SECRET", "irrelevant")
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start marc serve");
        let found = read_lines(&mut child, &["marc serve:"]);
        Served {
            child,
            db: None,
            web: found[0].clone(),
            identities: Identities::default(),
            data,
            key,
            testbed_log: dir.path().join("none"),
            _dir: dir,
            rt: runtime(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.web)
    }

    /// The test logins' display names (persons).
    pub fn identities_persons(&self) -> Vec<String> {
        self.identities
            .persons
            .iter()
            .map(|p| p.name.clone())
            .collect()
    }

    /// The test logins of organisations.
    pub fn identities_orgs(&self) -> Vec<marc_testbed::idp::OrgIdentity> {
        self.identities.organisations.clone()
    }

    pub fn cpr_of(&self, name: &str) -> String {
        self.identities
            .persons
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.cpr.clone())
            .unwrap()
    }

    /// A fresh browser (its own profile, so its own cookies).
    pub fn browser(&self) -> Browser {
        // One chromedriver for the whole test binary, started by a thread
        // that lives as long as the binary: chromedriver dies with the
        // thread that started it (PR_SET_PDEATHSIG), and a test's thread
        // ends with its test.
        static DRIVER: OnceLock<String> = OnceLock::new();
        let url = DRIVER
            .get_or_init(|| {
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    let d = rt
                        .block_on(marc_webdriver::Chromedriver::start(None))
                        .expect("chromedriver");
                    tx.send(d.url().to_string()).unwrap();
                    rt.block_on(std::future::pending::<()>());
                    drop(d);
                });
                rx.recv().expect("chromedriver's url")
            })
            .clone();
        let b = self
            .rt
            .block_on(marc_webdriver::Browser::open(
                &url,
                &marc_webdriver::BrowserOptions::default(),
            ))
            .expect("a browser session");
        Browser {
            b: Some(b),
            rt: self.rt.clone(),
        }
    }

    /// `marc audit log` as the operator runs it while the server holds the
    /// store (the command runs in the server).
    pub fn audit_log(&self) -> String {
        let out = self.marc().args(["audit", "log"]).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    }

    /// `marc staff add NAME --role ROLE` as the operator runs it while the
    /// server holds the store, the password on standard input.
    pub fn staff_add(&self, name: &str, role: &str, password: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = self
            .marc()
            .args(["staff", "add", name, "--role", role])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// The Digital Post messages (MeMo XML) the server wrote about request `id`.
    pub fn outbox_messages(&self, id: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.data.join("outbox"))
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(text) = std::fs::read_to_string(e.path()) {
                if text.contains(id) {
                    out.push(text);
                }
            }
        }
        out
    }

    /// The response headers of a page, lower-cased.
    pub fn headers(&self, path: &str) -> String {
        let r = reqwest::blocking::get(self.url(path)).unwrap();
        r.headers()
            .iter()
            .map(|(k, v)| format!("{}: {}\n", k, v.to_str().unwrap_or("")).to_lowercase())
            .collect()
    }

    /// The most robot sessions each testbed system served at once: a
    /// session is one login cookie, from its first to its last request.
    pub fn most_sessions_at_once(&self) -> BTreeMap<String, usize> {
        let mut spans: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for e in read_jsonl(&self.testbed_log) {
            let (Some(session), Some(ms)) = (e["session"].as_str(), e["ms"].as_u64()) else {
                continue;
            };
            let s = spans
                .entry((
                    e["system"].as_str().unwrap().to_string(),
                    session.to_string(),
                ))
                .or_insert((ms, ms));
            s.0 = s.0.min(ms);
            s.1 = s.1.max(ms);
        }
        let mut most = BTreeMap::new();
        for ((system, _), (from, _)) in &spans {
            let at_once = spans
                .iter()
                .filter(|((s, _), (a, b))| s == system && a <= from && from <= b)
                .count();
            let m = most.entry(system.clone()).or_insert(0);
            *m = (*m).max(at_once);
        }
        most
    }
}

impl Served {
    /// Stops `marc serve` as an operator's Ctrl-C would and checks that
    /// every process it started (identity provider, chromedriver,
    /// browsers, robot processes) is gone with it.
    pub fn stop_leaving_nothing(mut self) {
        let pid = self.child.id();
        let started: Vec<(u32, String)> = descendants(pid)
            .into_iter()
            .map(|p| (p, cmdline(p)))
            .collect();
        assert!(
            started.iter().any(|(_, c)| c.contains("idp.mjs")),
            "the test identity provider is not among marc's processes: {started:?}"
        );
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        unsafe { libc::kill(pid as i32, libc::SIGINT) };
        self.child.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut left: Vec<&(u32, String)> = started.iter().filter(|(p, _)| alive(*p)).collect();
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            left.retain(|(p, _)| alive(*p));
        }
        assert!(left.is_empty(), "left behind by marc serve: {left:?}");
        assert!(
            !self.data.join("marc.sock").exists(),
            "the control socket outlived the server"
        );
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return; // stopped already: its pid may be another's now
        }
        // SIGTERM: marc stops its browsers, the testbed and the identity provider.
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The text of a PDF given as bytes (poppler, independent of marc).
pub fn pdf_text(pdf: &[u8]) -> String {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), pdf).unwrap();
    pdftotext(f.path())
}

/// axe-core's source, from `make deps` (npm ci --prefix tests/js).
fn axe_source() -> &'static str {
    static AXE: OnceLock<String> = OnceLock::new();
    AXE.get_or_init(|| {
        let p = root().join("tests/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{}: {e}; run `make deps`", p.display()))
    })
}

/// A person at a browser.
pub struct Browser {
    b: Option<marc_webdriver::Browser>,
    rt: Arc<tokio::runtime::Runtime>,
}

impl Browser {
    fn d(&self) -> &marc_webdriver::Browser {
        self.b.as_ref().unwrap()
    }

    pub fn js(&self, script: &str) -> serde_json::Value {
        self.rt
            .block_on(self.d().execute(script, vec![]))
            .unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Runs `act`, then waits until a new page has loaded.
    fn navigating(&self, act: impl FnOnce()) {
        self.js("window.__marc_old_page = true;");
        act();
        let t0 = Instant::now();
        loop {
            let done = self.rt.block_on(self.d().execute(
                "return window.__marc_old_page === undefined && document.readyState === 'complete';",
                vec![],
            ));
            if let Ok(serde_json::Value::Bool(true)) = done {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "no new page after 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn go(&self, url: &str) {
        self.rt.block_on(self.d().goto(url)).unwrap();
    }

    pub fn current_url(&self) -> String {
        self.rt.block_on(self.d().current_url()).unwrap()
    }

    pub fn body(&self) -> String {
        self.js("return document.body.innerText;")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn text(&self, sel: &str) -> String {
        self.rt.block_on(self.d().text(sel)).unwrap()
    }

    pub fn count(&self, sel: &str) -> usize {
        self.js(&format!(
            "return document.querySelectorAll({sel:?}).length;"
        ))
        .as_u64()
        .unwrap() as usize
    }

    pub fn hrefs(&self, sel: &str) -> Vec<String> {
        let v = self.js(&format!(
            "return [...document.querySelectorAll({sel:?})].map(a => a.getAttribute('href'));"
        ));
        v.as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect()
    }

    /// Submits a form with its own submit button, as a person would.
    pub fn submit(&self, form: &str) {
        let sel = format!("{form} button[type=submit]");
        self.navigating(|| self.rt.block_on(self.d().click(&sel)).unwrap());
    }

    pub fn click_button_containing(&self, text: &str) {
        self.navigating(|| {
            self.js(&format!(
                "[...document.querySelectorAll('button')].find(b => b.textContent.includes({text:?})).click();"
            ));
        });
    }

    /// Ticks a topic by its label.
    pub fn check_topic(&self, topic: &str) {
        self.js(&format!(
            "[...document.querySelectorAll('input[name=topic]')].find(c => c.value === {topic:?}).checked = true;"
        ));
    }

    /// Picks a test identity at the identity provider (and consents).
    pub fn login_as(&self, name: &str) {
        assert!(
            self.body().contains("Vælg en testidentitet"),
            "{}",
            self.body()
        );
        self.navigating(|| {
            self.js(&format!(
                "[...document.querySelectorAll('button.identity')].find(b => b.querySelector('.name').textContent.trim() === {name:?}).click();"
            ));
        });
        if self.count("#consent") > 0 {
            assert!(self.body().contains("ikke MitID"));
            self.navigating(|| {
                self.js("document.getElementById('consent').click();");
            });
        }
        // Redirects end on our app.
        let t0 = Instant::now();
        while !self.body().contains("Logget ind som") {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "not logged in: {}",
                self.body()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Gives a consent on the consents page.
    pub fn grant(
        &self,
        grantee: &str,
        name: &str,
        topics: &[&str],
        valid_from: &str,
        valid_to: &str,
    ) {
        let mut js = format!(
            "document.getElementById('grantee').value = {grantee:?}; document.getElementById('grantee_name').value = {name:?};"
        );
        if !valid_from.is_empty() {
            js.push_str(&format!(
                "document.getElementById('valid_from').value = {valid_from:?};"
            ));
        }
        if !valid_to.is_empty() {
            js.push_str(&format!(
                "document.getElementById('valid_to').value = {valid_to:?};"
            ));
        }
        for t in topics {
            js.push_str(&format!(
                "[...document.querySelectorAll(\"form[action='/samtykker'] input[name=topic]\")].find(c => c.value === {t:?}).checked = true;"
            ));
        }
        self.js(&js);
        self.submit("form[action='/samtykker']");
    }

    /// The status shown, until it is one of `finals` (reloading the page as
    /// a person would); every state seen is collected.
    pub fn wait_for_state(
        &self,
        seen: &mut std::collections::BTreeSet<String>,
        finals: &[&str],
        secs: u64,
    ) -> String {
        let url = self.current_url();
        let t0 = Instant::now();
        loop {
            let st = self
                .js("let s = document.querySelector('p.status strong'); return s ? s.textContent : '';")
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !st.is_empty() {
                seen.insert(st.clone());
                if finals.contains(&st.as_str()) {
                    return st;
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "still {st:?} after {secs} s"
            );
            std::thread::sleep(Duration::from_millis(700));
            self.go(&url);
        }
    }

    pub fn download_bytes(&self, url: &str) -> Vec<u8> {
        self.rt
            .block_on(self.d().download(url, None))
            .unwrap()
            .bytes
    }

    /// The HTTP status of a GET with this browser's cookies (asked from a
    /// page of the same site, which a fresh browser is not on yet).
    pub fn status_of(&self, url: &str) -> u64 {
        let origin: String = url.split('/').take(3).collect::<Vec<_>>().join("/");
        if !self.current_url().starts_with(&origin) {
            self.go(&format!("{origin}/"));
        }
        self.js(&format!(
            "let x = new XMLHttpRequest(); x.open('GET', {url:?}, false); x.send(); return x.status;"
        ))
        .as_u64()
        .unwrap()
    }

    /// Posts a form straight to `url` (as a hand-made request would, not
    /// through the page's form), with the session's CSRF token; returns
    /// the status and the page.
    pub fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> (u64, String) {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        // The token is on every page of a logged-in person (the logout form).
        if self.js("return !!document.querySelector('input[name=csrf]')") != serde_json::json!(true)
        {
            let origin: String = url.split('/').take(3).collect::<Vec<_>>().join("/");
            self.go(&format!("{origin}/mine"));
        }
        let v = self.js(&format!(
            "let t = document.querySelector('input[name=csrf]').value; \
             let x = new XMLHttpRequest(); x.open('POST', {url:?}, false); \
             x.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded'); \
             x.send({body:?} + '&csrf=' + encodeURIComponent(t)); \
             return [x.status, x.responseText];"
        ));
        (
            v[0].as_u64().unwrap(),
            v[1].as_str().unwrap_or_default().to_string(),
        )
    }

    /// Uploads a file to `url` as a multipart form (the CSRF token in the
    /// query string, as the page's form does), with this browser's cookies;
    /// returns the status and the page.
    #[allow(dead_code)]
    pub fn upload(
        &self,
        url: &str,
        fields: &[(&str, &str)],
        file_name: &str,
        bytes: Vec<u8>,
    ) -> (u16, String) {
        let token = self
            .js("let t = document.querySelector('input[name=csrf]'); return t ? t.value : '';")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let origin: String = url.split('/').take(3).collect::<Vec<_>>().join("/");
        let mut form = reqwest::blocking::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        form = form.part(
            "file",
            reqwest::blocking::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
        );
        let res = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap()
            .post(format!("{url}?csrf={token}"))
            .header("Cookie", self.cookie_header())
            .header("Origin", origin)
            .multipart(form)
            .send();
        match res {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.text().unwrap_or_default())
            }
            Err(e) => (0, format!("{e:#}")),
        }
    }

    /// Types `value` into the field `sel`.
    pub fn fill(&self, sel: &str, value: &str) {
        let (sel, value) = (serde_json::json!(sel), serde_json::json!(value));
        self.js(&format!("document.querySelector({sel}).value = {value};"));
    }

    /// The browser's cookies as a `Cookie:` header value (for uploads and
    /// the load generator of `benches/serve.rs`).
    #[allow(dead_code)]
    pub fn cookie_header(&self) -> String {
        self.rt
            .block_on(self.d().cookies())
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn delete_cookies(&self) {
        self.rt.block_on(self.d().delete_all_cookies()).unwrap();
    }

    pub fn narrow(&self) {
        self.rt
            .block_on(self.d().set_window_size(390, 844))
            .unwrap();
    }

    pub fn no_sideways_scroll(&self, what: &str) {
        let v = self.js(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
        );
        let (sw, cw) = (v[0].as_u64().unwrap(), v[1].as_u64().unwrap());
        assert!(sw <= cw, "{what} scrolls sideways at 390 px: {sw} > {cw}");
    }

    /// axe-core finds no serious or critical violation on this page.
    pub fn axe_clean(&self, what: &str) {
        self.js(axe_source());
        let v = self
            .rt
            .block_on(self.d().execute_async(
                "let done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']}).then(r => done(
                   r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))
                 ), e => done(['axe failed: ' + e]));",
                vec![],
            ))
            .unwrap();
        let found: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_str())
            .collect();
        assert!(found.is_empty(), "axe-core on {what}: {found:#?}");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(b) = self.b.take() {
            let _ = self.rt.block_on(b.close());
        }
    }
}
