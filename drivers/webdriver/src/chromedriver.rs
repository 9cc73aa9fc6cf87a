use crate::DriverError;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// A chromedriver process owned by marc. Dropping it kills the process.
pub struct Chromedriver {
    child: Child,
    url: String,
    path: PathBuf,
    /// A shell waiting on a pipe only marc holds: when marc dies, even by
    /// SIGKILL, the pipe closes and the shell kills chromedriver's whole
    /// process group, browsers included.
    _watchdog: Option<std::process::Child>,
    /// chromedriver's and its browsers' HOME and TMPDIR (Chromium's own
    /// folders and scratch directories), removed with it.
    _home: tempfile::TempDir,
}

impl Chromedriver {
    /// Where chromedriver is: `$MARC_CHROMEDRIVER`, `/usr/bin/chromedriver`, then `$PATH`.
    pub fn find() -> Result<PathBuf, DriverError> {
        let mut tried = Vec::new();
        if let Some(p) = std::env::var_os("MARC_CHROMEDRIVER") {
            // An explicit choice is not second-guessed with a fallback.
            let p = PathBuf::from(p);
            if p.is_file() {
                return Ok(p);
            }
            return Err(DriverError::NoChromedriver {
                tried: format!("MARC_CHROMEDRIVER={}", p.display()),
            });
        }
        let default = PathBuf::from("/usr/bin/chromedriver");
        if default.is_file() {
            return Ok(default);
        }
        tried.push(default.display().to_string());
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                let p = dir.join("chromedriver");
                if p.is_file() {
                    return Ok(p);
                }
            }
            tried.push("$PATH".into());
        }
        Err(DriverError::NoChromedriver {
            tried: tried.join(", "),
        })
    }

    /// Starts chromedriver on a free loopback port and waits until it is ready.
    pub async fn start(path: Option<&Path>) -> Result<Chromedriver, DriverError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => Self::find()?,
        };
        let start_err = |reason: String| DriverError::ChromedriverStart {
            path: path.display().to_string(),
            reason,
        };
        let port = free_port().map_err(|e| start_err(format!("no free port: {e}")))?;
        let robot = robot_user();
        // Chromium writes a config folder into HOME and scratch folders
        // into TMPDIR: a directory of their own, gone when chromedriver is.
        let home = tempfile::Builder::new()
            .prefix("marc-chromedriver-")
            .tempdir()
            .map_err(|e| start_err(format!("cannot create its home directory: {e}")))?;
        let mut cmd = Command::new(&path);
        // A bare environment: chromedriver hands its own to every Chromium
        // it starts, and those run as the robot user, who could read it in
        // /proc/PID/environ. marc's vault key and MARC_SECRET_* stay here.
        cmd.env_clear()
            .envs(child_env(robot.is_some()))
            .env("HOME", home.path())
            .env("TMPDIR", home.path())
            // Not marc's working directory: headless downloads default there.
            .current_dir(home.path())
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // SAFETY: setpgid and prctl are async-signal-safe. chromedriver gets
        // its own process group (so stopping it also stops the Chromiums it
        // started) and SIGTERM from the kernel when marc dies, even by SIGKILL.
        unsafe {
            cmd.pre_exec(|| {
                libc::setpgid(0, 0);
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        if let Some((uid, gid)) = robot {
            // marc runs as root: the browser side runs as the unprivileged
            // robot user, so a compromised page cannot act as root.
            std::os::unix::fs::chown(home.path(), Some(uid), Some(gid))
                .map_err(|e| start_err(format!("cannot hand it its home directory: {e}")))?;
            cmd.uid(uid).gid(gid);
        }
        let mut child = cmd.spawn().map_err(|e| start_err(e.to_string()))?;
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut msg = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use tokio::io::AsyncReadExt;
                    let _ = e.read_to_string(&mut msg).await;
                }
                return Err(start_err(format!("exited with {status}: {}", msg.trim())));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            if Instant::now() > deadline {
                return Err(start_err("did not listen within 20 s".into()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tracing::debug!(%url, "chromedriver ready");
        let mut watchdog = None;
        if let Some(pid) = child.id() {
            register_group(pid as i32);
            watchdog = std::process::Command::new("/bin/sh")
                .env_clear()
                .envs(child_env(false))
                .arg("-c")
                .arg(format!("read _ ; kill -9 -{pid} 2>/dev/null"))
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| tracing::warn!("no watchdog for chromedriver: {e}"))
                .ok();
        }
        Ok(Chromedriver {
            child,
            url,
            path,
            _watchdog: watchdog,
            _home: home,
        })
    }

    /// The WebDriver URL to connect sessions to.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops chromedriver and every browser it started.
    pub async fn stop(mut self) {
        self.kill_group();
        let _ = self.child.kill().await;
    }

    fn kill_group(&mut self) {
        if let Some(pid) = self.child.id() {
            kill_group(pid as i32);
            unregister_group(pid as i32);
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        self.kill_group();
        let _ = self.child.start_kill();
    }
}

/// Variables passed on to the processes marc starts for the browser side;
/// nothing else of marc's environment is (no `MARC_VAULT_KEY`, no
/// `MARC_SECRET_*`, no `MARC_DATA`). The display variables let `marc record`
/// show a window.
const PASSED_ENV: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "DISPLAY",
    "XAUTHORITY",
    "WAYLAND_DISPLAY",
];

/// The whole environment of a child process marc starts for the browser
/// side: [`PASSED_ENV`] from marc's own, and `HOME` set to the temporary
/// directory (never root's home). `TMPDIR` is passed only to a child that
/// does not run as the robot user (`robot`), who may not write marc's.
pub fn child_env(robot: bool) -> Vec<(String, std::ffi::OsString)> {
    let mut env: Vec<(String, std::ffi::OsString)> = PASSED_ENV
        .iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (k.to_string(), v)))
        .collect();
    if !env.iter().any(|(k, _)| k == "PATH") {
        env.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
    }
    let tmp = std::env::temp_dir().into_os_string();
    if !robot {
        env.push(("TMPDIR".into(), tmp.clone()));
    }
    env.push(("HOME".into(), tmp));
    env
}

/// The OS user robots' browsers run as when marc runs as root.
pub const ROBOT_USER: &str = "marc-robot";

/// `(uid, gid)` of [`ROBOT_USER`] when marc runs as root, creating the user
/// on first use; `None` when marc is not root (then nothing changes) or the
/// user cannot be created (a warning is logged).
pub fn robot_user() -> Option<(u32, u32)> {
    static USER: std::sync::OnceLock<Option<(u32, u32)>> = std::sync::OnceLock::new();
    *USER.get_or_init(|| {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return None;
        }
        if lookup_user(ROBOT_USER).is_none() {
            let status = std::process::Command::new("useradd")
                .env_clear()
                .envs(child_env(false))
                .args([
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    ROBOT_USER,
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if !matches!(status, Ok(s) if s.success()) {
                tracing::warn!("cannot create the OS user {ROBOT_USER}; browsers run as root");
            }
        }
        lookup_user(ROBOT_USER)
    })
}

/// The name of the OS user `uid`, for reports of who a process runs as.
pub fn user_name(uid: u32) -> Option<String> {
    // SAFETY: getpwuid returns a pointer to static storage or null; the name
    // is copied out at once and no reference is kept.
    unsafe {
        let pw = libc::getpwuid(uid);
        if pw.is_null() || (*pw).pw_name.is_null() {
            return None;
        }
        Some(
            std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam returns a pointer to static storage or null; we copy
    // the two ids out at once and keep no reference.
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    // SAFETY: pw is non-null and points to a valid passwd record.
    unsafe { Some(((*pw).pw_uid, (*pw).pw_gid)) }
}

/// Process groups of running chromedrivers, for [`kill_all`] on a signal.
static GROUPS: std::sync::Mutex<Vec<i32>> = std::sync::Mutex::new(Vec::new());

fn register_group(pid: i32) {
    if let Ok(mut g) = GROUPS.lock() {
        g.push(pid);
    }
}

fn unregister_group(pid: i32) {
    if let Ok(mut g) = GROUPS.lock() {
        g.retain(|p| *p != pid);
    }
}

fn kill_group(pid: i32) {
    // SAFETY: sending a signal to a process group we created.
    unsafe {
        libc::kill(-pid, libc::SIGTERM);
    }
}

/// Stops every chromedriver (and its browsers) this process started; for
/// Ctrl-C and SIGTERM handlers, where destructors will not run.
pub fn kill_all() {
    let groups = GROUPS.lock().map(|g| g.clone()).unwrap_or_default();
    for pid in groups {
        kill_group(pid);
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
