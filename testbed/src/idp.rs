//! The test OpenID provider (`testbed/idp/idp.mjs`: npm `oidc-provider` 9,
//! OpenID-certified) started from Rust, and the demo's test identities.
//!
//! Citizens log in to `marc serve` through OpenID Connect, as through a MitID
//! broker. For the demo and the tests a real provider runs on 127.0.0.1 with
//! identities from the testbed's [`World`]: a real code flow with PKCE, real
//! signed ID tokens, its own login pages that say plainly that they are a test
//! and not MitID. [`Idp::start`] runs it as a `node` process that dies with
//! its owner: on [`Idp::stop`], on drop, and when the owning process dies
//! (`PR_SET_PDEATHSIG`, and the process also exits when its stdin closes).

use crate::world::World;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The folder's package that must be installed (by `make deps`).
const PACKAGE: &str = "oidc-provider";
/// How long node may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of node's stderr kept for an error message.
const STDERR_TAIL: usize = 20;

/// CVR number of the demo's law firm: a valid check digit (modulus 11 with
/// weights 2,7,6,5,4,3,2,1), as a real organisation's would have.
pub const LAW_FIRM_CVR: &str = "37184527";

/// A person who can log in: a citizen, or a person acting for a citizen
/// (a bisidder).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonIdentity {
    /// `DDMMYY-SSSS` (the CPR claim carries the 10 digits).
    pub cpr: String,
    pub name: String,
    /// Shown beside the name on the login page ("Demo-borger", "Bisidder").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An organisation that can log in (MitID Erhverv), through the person acting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgIdentity {
    /// 8 digits.
    pub cvr: String,
    /// The organisation's name (claim `organization_name`).
    pub name: String,
    /// The person acting for it (claim `name`).
    pub person: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The identities the test provider offers: its identities file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identities {
    pub persons: Vec<PersonIdentity>,
    pub organisations: Vec<OrgIdentity>,
}

/// How to start the test provider.
#[derive(Clone, Debug)]
pub struct IdpConfig {
    pub identities: Identities,
    /// The one confidential client (authenticates with HTTP Basic,
    /// `client_secret_basic`, at the token endpoint).
    pub client_id: String,
    pub client_secret: String,
    /// Exact redirect URIs the client may use (at least one).
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return to.
    pub post_logout_redirect_uris: Vec<String>,
    /// The claim carrying a person's CPR number (10 digits); brokers differ:
    /// `dk.cpr`, `cprNumberIdentifier`, …
    pub cpr_claim: String,
    /// The claim carrying an organisation's CVR number.
    pub cvr_claim: String,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The folder holding `idp.mjs` and its `node_modules`; `None`:
    /// `MARC_IDP_DIR`, else `testbed/idp` of the checkout.
    pub dir: Option<PathBuf>,
}

impl IdpConfig {
    /// A configuration with the usual claim names and a free port.
    pub fn new(
        identities: Identities,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> IdpConfig {
        IdpConfig {
            identities,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: vec![redirect_uri.into()],
            post_logout_redirect_uris: Vec::new(),
            cpr_claim: "dk.cpr".into(),
            cvr_claim: "dk.cvr".into(),
            port: 0,
            dir: None,
        }
    }
}

/// Why the test provider did not start.
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    #[error("the test identity provider is not installed: {dir} has no node_modules/{PACKAGE}; run `make deps` (it runs `npm ci --prefix testbed/idp`)")]
    NotInstalled { dir: String },
    #[error("cannot find the test identity provider's folder (idp.mjs): set MARC_IDP_DIR or run from a checkout of marc")]
    NoDir,
    #[error("cannot start node ({node}): {reason}; install Node.js 20 or later")]
    Node { node: String, reason: String },
    #[error("the test identity provider exited before it was ready ({status}): {stderr}")]
    Exited { status: String, stderr: String },
    #[error("the test identity provider did not say it was ready within {0:?}: {1}")]
    Timeout(Duration, String),
    #[error("the test identity provider's ready line is not what was expected: {0:?}")]
    BadReadyLine(String),
    #[error("bad test identity provider configuration: {0}")]
    Config(String),
    #[error("cannot write the identities file: {0}")]
    Io(#[from] std::io::Error),
}

/// A running test provider. Dropping it stops it.
pub struct Idp {
    /// `http://127.0.0.1:PORT`; discovery at `/.well-known/openid-configuration`.
    pub issuer: String,
    pid: u32,
    stop: Option<mpsc::Sender<()>>,
    owner: Option<JoinHandle<()>>,
}

impl Idp {
    /// Starts `node idp.mjs` and waits until it listens. Blocks (up to 30 s);
    /// from async code call it in `spawn_blocking` — the process belongs to a
    /// thread of its own, so it does not die with the blocking thread.
    pub fn start(cfg: IdpConfig) -> Result<Idp, IdpError> {
        if cfg.redirect_uris.is_empty() {
            return Err(IdpError::Config("no redirect URI".into()));
        }
        if cfg.client_id.is_empty() || cfg.client_secret.is_empty() {
            return Err(IdpError::Config(
                "the client id and secret must not be empty".into(),
            ));
        }
        let dir = find_dir(cfg.dir.as_deref())?;
        let mut ids = tempfile::Builder::new()
            .prefix("marc-idp-identities-")
            .suffix(".json")
            .tempfile()?;
        serde_json::to_writer(&mut ids, &cfg.identities).map_err(std::io::Error::other)?;
        ids.flush()?;
        let node = std::env::var("MARC_NODE").unwrap_or_else(|_| "node".into());
        let mut cmd = Command::new(&node);
        cmd.arg(dir.join("idp.mjs"))
            .arg("--identities")
            .arg(ids.path())
            .arg("--client-id")
            .arg(&cfg.client_id)
            .arg("--port")
            .arg(cfg.port.to_string())
            .arg("--cpr-claim")
            .arg(&cfg.cpr_claim)
            .arg("--cvr-claim")
            .arg(&cfg.cvr_claim)
            .arg("--exit-with-stdin");
        for u in &cfg.redirect_uris {
            cmd.arg("--redirect-uri").arg(u);
        }
        for u in &cfg.post_logout_redirect_uris {
            cmd.arg("--post-logout-redirect-uri").arg(u);
        }
        // A bare environment: none of marc's secrets or keys reach node; the
        // client secret goes by environment, not the (world-readable) command line.
        cmd.env_clear()
            .env("IDP_CLIENT_SECRET", &cfg.client_secret)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group: a Ctrl-C meant for the owner is the owner's to handle.
            .process_group(0);
        for var in ["PATH", "HOME", "LANG", "TMPDIR"] {
            if let Some(v) = std::env::var_os(var) {
                cmd.env(var, v);
            }
        }
        // SAFETY: prctl is async-signal-safe. node gets SIGKILL when the
        // thread that started it ends — the owner thread below, which lives
        // exactly as long as this Idp, or the whole process if it dies.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let owner = std::thread::Builder::new()
            .name("marc-idp".into())
            .spawn(move || own(cmd, node, ready_tx, stop_rx))?;
        let ready = ready_rx.recv().unwrap_or_else(|_| {
            Err(IdpError::Exited {
                status: "the owner thread ended".into(),
                stderr: String::new(),
            })
        });
        // node has read the identities by now; the file goes.
        drop(ids);
        match ready {
            Ok((issuer, pid)) => Ok(Idp {
                issuer,
                pid,
                stop: Some(stop_tx),
                owner: Some(owner),
            }),
            Err(e) => {
                let _ = owner.join();
                Err(e)
            }
        }
    }

    /// The node process's id (for tests that check it is gone).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Stops the provider and waits until the process is gone.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(owner) = self.owner.take() {
            let _ = owner.join();
        }
    }
}

/// The owner thread: starts node, reports its issuer (or why not), then
/// holds it until told to stop (or the `Idp` is dropped), and kills it.
fn own(
    mut cmd: Command,
    node: String,
    ready: mpsc::Sender<Result<(String, u32), IdpError>>,
    stop: mpsc::Receiver<()>,
) {
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(IdpError::Node {
                node,
                reason: e.to_string(),
            }));
            return;
        }
    };
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let stderr = child.stderr.take().map(|e| forward_stderr(e, tail.clone()));
    let (line_tx, line_rx) = mpsc::channel();
    let stdout = child.stdout.take().map(|out| {
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            let _ = line_tx.send(lines.next());
            // Keep draining so node never blocks on a full pipe.
            for _ in lines {}
        })
    });
    let tail_text = |tail: &Arc<Mutex<VecDeque<String>>>| {
        tail.lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join(" | "))
            .unwrap_or_default()
    };
    let result = match line_rx.recv_timeout(READY_TIMEOUT) {
        Ok(Some(Ok(line))) => parse_ready(&line).map(|issuer| (issuer, child.id())),
        Ok(_) => {
            let status = exit_status(&mut child);
            // Let the stderr reader catch up before quoting it.
            if let Some(h) = stderr {
                let _ = h.join();
            }
            let _ = ready.send(Err(IdpError::Exited {
                status,
                stderr: tail_text(&tail),
            }));
            return;
        }
        Err(_) => Err(IdpError::Timeout(READY_TIMEOUT, tail_text(&tail))),
    };
    let ok = result.is_ok();
    let _ = ready.send(result);
    if ok {
        // Until stop() or drop: either sends nothing and hangs up.
        let _ = stop.recv();
    }
    end(&mut child);
    if let Some(h) = stdout {
        let _ = h.join();
    }
    if let Some(h) = stderr {
        let _ = h.join();
    }
}

/// How node ended, once its stdout closed: it exits right after, else it
/// is killed.
fn exit_status(child: &mut Child) -> String {
    for _ in 0..40 {
        if let Ok(Some(s)) = child.try_wait() {
            return s.to_string();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    end(child);
    "closed its output and was killed".into()
}

/// Kills node and reaps it.
fn end(child: &mut Child) {
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
}

/// `{"issuer":"http://127.0.0.1:PORT"}` → the issuer.
fn parse_ready(line: &str) -> Result<String, IdpError> {
    #[derive(Deserialize)]
    struct Ready {
        issuer: String,
    }
    serde_json::from_str::<Ready>(line)
        .ok()
        .map(|r| r.issuer)
        .filter(|i| i.starts_with("http://127.0.0.1:"))
        .ok_or_else(|| IdpError::BadReadyLine(line.to_string()))
}

/// Forwards node's stderr to the log and keeps the last lines for errors.
fn forward_stderr(
    stderr: std::process::ChildStderr,
    tail: Arc<Mutex<VecDeque<String>>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            tracing::debug!(target: "marc_testbed::idp", "{line}");
            if let Ok(mut t) = tail.lock() {
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
        }
    })
}

/// The provider's folder: given, `MARC_IDP_DIR`, this crate's `idp/`, or
/// `testbed/idp` above the running binary; it must have its packages.
fn find_dir(given: Option<&Path>) -> Result<PathBuf, IdpError> {
    let candidates: Vec<PathBuf> = match given {
        Some(d) => vec![d.to_path_buf()],
        None => {
            let mut c: Vec<PathBuf> = std::env::var_os("MARC_IDP_DIR")
                .map(PathBuf::from)
                .into_iter()
                .collect();
            c.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("idp"));
            if let Ok(exe) = std::env::current_exe() {
                c.extend(exe.ancestors().skip(1).map(|a| a.join("testbed/idp")));
            }
            c
        }
    };
    let dir = candidates
        .into_iter()
        .find(|d| d.join("idp.mjs").is_file())
        .ok_or(IdpError::NoDir)?;
    if !dir
        .join("node_modules")
        .join(PACKAGE)
        .join("package.json")
        .is_file()
    {
        return Err(IdpError::NotInstalled {
            dir: dir.display().to_string(),
        });
    }
    Ok(dir)
}

/// Whether an 8-digit CVR number has a valid check digit.
pub fn cvr_valid(cvr: &str) -> bool {
    const WEIGHTS: [u32; 8] = [2, 7, 6, 5, 4, 3, 2, 1];
    let d: Vec<u32> = cvr.chars().filter_map(|c| c.to_digit(10)).collect();
    d.len() == 8
        && cvr.chars().all(|c| c.is_ascii_digit())
        && d[0] != 0
        && d.iter().zip(WEIGHTS).map(|(a, w)| a * w).sum::<u32>() % 11 == 0
}

/// The demo's test identities: the demo citizen, a second citizen with
/// documents of their own, a citizen who acts as a bisidder, and a law firm
/// (MitID Erhverv) acting for citizens with their consent.
pub fn demo_identities(world: &World) -> Identities {
    let demo = world.demo_citizen();
    let web_systems: Vec<&str> = world
        .systems
        .iter()
        .filter(|s| s.kind != crate::world::SystemKind::Terminal)
        .map(|s| s.id.as_str())
        .collect();
    // Others with documents in every web system, so their requests find something.
    let mut others = world.citizens.iter().filter(|c| {
        c.cpr != demo.cpr
            && web_systems
                .iter()
                .all(|s| world.documents_for(s, &c.cpr).next().is_some())
    });
    let mut persons = vec![PersonIdentity {
        cpr: demo.cpr.clone(),
        name: demo.name.clone(),
        note: Some("Demo-borger".into()),
    }];
    if let Some(c) = others.next() {
        persons.push(PersonIdentity {
            cpr: c.cpr.clone(),
            name: c.name.clone(),
            note: Some("Borger".into()),
        });
    }
    if let Some(c) = others.next() {
        persons.push(PersonIdentity {
            cpr: c.cpr.clone(),
            name: c.name.clone(),
            note: Some("Bisidder".into()),
        });
    }
    Identities {
        persons,
        organisations: vec![OrgIdentity {
            cvr: LAW_FIRM_CVR.into(),
            name: "Advokatfirmaet Krogh & Vind".into(),
            person: "Advokat Signe Krogh".into(),
            note: Some("Advokat for borgere".into()),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvr_check_digit() {
        assert!(cvr_valid(LAW_FIRM_CVR));
        assert!(cvr_valid("29189919")); // a municipality's
        assert!(!cvr_valid("37184528"));
        assert!(!cvr_valid("3718452"));
        assert!(!cvr_valid("3718452a"));
    }

    #[test]
    fn demo_identities_are_testbed_citizens() {
        let w = World::generate(crate::DEMO_SEED);
        let ids = demo_identities(&w);
        assert_eq!(ids.persons.len(), 3);
        assert_eq!(ids.persons[0].cpr, w.demo_citizen().cpr);
        let mut cprs: Vec<_> = ids.persons.iter().map(|p| p.cpr.clone()).collect();
        cprs.dedup();
        assert_eq!(cprs.len(), 3);
        for p in &ids.persons {
            let c = w.citizen(&p.cpr).expect("a testbed citizen");
            assert_eq!(c.name, p.name);
        }
        // The second citizen has documents of their own.
        assert!(w
            .documents_for("esdh", &ids.persons[1].cpr)
            .next()
            .is_some());
        assert!(ids.organisations.iter().all(|o| cvr_valid(&o.cvr)));
        // Same world, same identities.
        assert_eq!(ids, demo_identities(&World::generate(crate::DEMO_SEED)));
    }

    #[test]
    fn ready_line() {
        assert_eq!(
            parse_ready(r#"{"issuer":"http://127.0.0.1:4711"}"#).ok(),
            Some("http://127.0.0.1:4711".to_string())
        );
        assert!(parse_ready("listening").is_err());
        assert!(parse_ready(r#"{"issuer":"http://0.0.0.0:4711"}"#).is_err());
    }

    #[test]
    fn a_folder_without_packages_says_run_make_deps() {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::write(d.path().join("idp.mjs"), "").expect("write");
        let cfg = IdpConfig {
            dir: Some(d.path().to_path_buf()),
            ..IdpConfig::new(Identities::default(), "c", "s", "http://127.0.0.1:1/cb")
        };
        let e = Idp::start(cfg).err().expect("refused").to_string();
        assert!(e.contains("make deps"), "{e}");
    }
}
