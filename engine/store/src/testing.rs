//! Real PostgreSQL for tests, no mocks: a throwaway cluster from Debian's
//! binaries (`/usr/lib/postgresql/<version>/bin`, package `postgresql`) in a
//! temporary directory, or the database `MARC_TEST_DATABASE_URL` names; each
//! test gets a fresh schema of its own. Enabled for this crate's tests and,
//! with the feature `testing`, for other crates' tests (the same end-to-end
//! suite on sled and on PostgreSQL).
//!
//! PostgreSQL refuses to run as root, and the tests run as root here and in
//! CI: as root, the cluster runs as an unprivileged user (`MARC_TEST_PG_USER`,
//! else `nobody`; a `marc-test` system user is created if neither exists),
//! in a directory that user owns. It listens on 127.0.0.1 on a free port, and
//! its unix socket lives in that directory (not in /var/run/postgresql, which
//! the user may not write).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Why a test database could not be had.
pub type Error = String;

/// Debian's PostgreSQL programs: `MARC_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin` that has `initdb`.
pub fn postgres_bin() -> Result<PathBuf, Error> {
    if let Ok(dir) = std::env::var("MARC_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no PostgreSQL in /usr/lib/postgresql ({e}): install Debian's `postgresql` (packages.txt) or set MARC_TEST_DATABASE_URL"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".into())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The unprivileged user a root test process runs PostgreSQL as.
fn cluster_user() -> Result<String, Error> {
    let exists = |u: &str| {
        Command::new("id")
            .args(["-u", u])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Ok(u) = std::env::var("MARC_TEST_PG_USER") {
        return if exists(&u) {
            Ok(u)
        } else {
            Err(format!("MARC_TEST_PG_USER={u}: no such user"))
        };
    }
    for u in ["nobody", "marc-test"] {
        if exists(u) {
            return Ok(u.into());
        }
    }
    let made = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            "marc-test",
        ])
        .status()
        .map_err(|e| format!("useradd marc-test: {e}"))?;
    if made.success() || exists("marc-test") {
        Ok("marc-test".into())
    } else {
        Err("cannot create the user marc-test to run PostgreSQL as".into())
    }
}

/// Temporary cluster directories are named so, in the system's temp directory.
const CLUSTER_PREFIX: &str = "marc-pg-";
/// The test process that started a cluster (its pid), in the cluster's directory.
const OWNER_FILE: &str = "owner.pid";

/// Whether process `pid` exists and has not ended (a zombie, which nobody
/// has waited for yet, has ended).
pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let exists = pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM));
    let zombie = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
    };
    exists && !zombie()
}

/// Stops and removes the clusters of test processes that died without
/// dropping them (killed by a timeout, or by hand): a `Drop` or an `atexit`
/// does not run then, and PostgreSQL would keep running.
fn reap_orphans() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with(CLUSTER_PREFIX) {
            continue;
        }
        let dir = e.path();
        let pid_in = |file: &Path| -> Option<i32> {
            std::fs::read_to_string(file)
                .ok()?
                .lines()
                .next()?
                .trim()
                .parse()
                .ok()
        };
        let Some(owner) = pid_in(&dir.join(OWNER_FILE)) else {
            continue;
        };
        if alive(owner) {
            continue;
        }
        if let Some(postmaster) = pid_in(&dir.join("data/postmaster.pid")) {
            // SIGQUIT: PostgreSQL's immediate shutdown.
            // SAFETY: sends a signal; no memory is touched.
            unsafe { libc::kill(postmaster, libc::SIGQUIT) };
            let started = std::time::Instant::now();
            while alive(postmaster) && started.elapsed() < std::time::Duration::from_secs(5) {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn free_port() -> Result<u16, Error> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// A PostgreSQL cluster of its own in a temporary directory, stopped (and
/// removed) when dropped.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    user: Option<String>,
}

impl PgCluster {
    /// `initdb` and `pg_ctl start`, as an unprivileged user when run as root.
    pub fn start() -> Result<PgCluster, Error> {
        let bin = postgres_bin()?;
        let user = if is_root() {
            Some(cluster_user()?)
        } else {
            None
        };
        reap_orphans();
        let dir = tempfile::Builder::new()
            .prefix(CLUSTER_PREFIX)
            .tempdir()
            .map_err(|e| e.to_string())?;
        std::fs::write(dir.path().join(OWNER_FILE), std::process::id().to_string())
            .map_err(|e| e.to_string())?;
        if let Some(u) = &user {
            let out = Command::new("chown")
                .arg(u)
                .arg(dir.path())
                .output()
                .map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!(
                    "chown {u} {}: {}",
                    dir.path().display(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        let mut cluster = PgCluster {
            dir,
            bin,
            port: 0,
            user,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                "data",
                "-U",
                "postgres",
                "--auth=trust",
                "--no-locale",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        // A port taken between probing and binding makes `start` fail: try again.
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port()?;
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c max_connections=200",
                cluster.port,
                cluster.dir.path().display()
            );
            match cluster.run(
                "pg_ctl",
                &[
                    "-D", "data", "-l", "log", "-w", "-t", "60", "-o", &options, "start",
                ],
            ) {
                Ok(()) => return Ok(cluster),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Runs one of PostgreSQL's programs in the cluster's directory, as its user.
    fn run(&self, program: &str, args: &[&str]) -> Result<(), Error> {
        let exe = self.bin.join(program);
        let mut cmd = match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("PGDATA")
            .output()
            .map_err(|e| format!("{}: {e}", exe.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            Err(format!(
                "{program} {}: {}{}\n{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ))
        }
    }

    /// The cluster's own database, as the superuser `postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `pg_ctl restart` (fast: open connections are cut).
    pub fn restart(&self) -> Result<(), Error> {
        self.run(
            "pg_ctl",
            &["-D", "data", "-l", "log", "-w", "-m", "fast", "restart"],
        )
    }

    /// `pg_ctl stop` (fast); [`PgCluster::start_again`] brings it back.
    pub fn stop(&self) -> Result<(), Error> {
        self.run("pg_ctl", &["-D", "data", "-w", "-m", "fast", "stop"])
    }

    /// Starts a stopped cluster again, on its port.
    pub fn start_again(&self) -> Result<(), Error> {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D", "data", "-l", "log", "-w", "-t", "60", "-o", &options, "start",
            ],
        )
    }

    fn stop_now(&self) {
        let _ = self.run("pg_ctl", &["-D", "data", "-w", "-m", "immediate", "stop"]);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// One cluster for all tests of a process (starting one takes seconds);
/// statics are never dropped, so it is stopped when the process exits.
fn shared_cluster() -> Result<&'static PgCluster, Error> {
    static SHARED: OnceLock<Result<PgCluster, Error>> = OnceLock::new();
    extern "C" fn stop_shared() {
        if let Some(Ok(c)) = SHARED.get() {
            c.stop_now();
            let _ = std::fs::remove_dir_all(c.dir());
        }
    }
    SHARED
        .get_or_init(|| {
            let c = PgCluster::start()?;
            // SAFETY: registers a plain function without arguments.
            unsafe { libc::atexit(stop_shared) };
            Ok(c)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs SQL on its own thread and runtime, so it works from any context
/// (a test inside a tokio runtime, a `Drop`).
pub fn execute(url: &str, sql: &str) -> Result<(), Error> {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())
        })
    })
    .join()
    .map_err(|_| "the SQL thread panicked".to_string())?
}

/// Runs a query and gives its rows' first column as text (for `EXPLAIN`).
pub fn query_text(url: &str, setup: &str, sql: &str) -> Result<Vec<String>, Error> {
    let (url, setup, sql) = (url.to_string(), setup.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut conn)
                .await
                .map_err(|e| e.to_string())
        })
    })
    .join()
    .map_err(|_| "the SQL thread panicked".to_string())?
}

/// A fresh schema for one test: [`TestDatabase::url`] connects with it as
/// the only `search_path` entry, so marc's tables are created in it. Dropped
/// (with everything in it) when the value is.
pub struct TestDatabase {
    url: String,
    admin_url: String,
    schema: String,
}

impl TestDatabase {
    /// On `MARC_TEST_DATABASE_URL` if set, else on this process's shared cluster.
    pub fn new() -> Result<TestDatabase, Error> {
        match std::env::var("MARC_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => TestDatabase::on_url(&url),
            _ => TestDatabase::on_url(&shared_cluster()?.url()),
        }
    }

    /// A fresh schema in the database `url` names.
    pub fn on_url(url: &str) -> Result<TestDatabase, Error> {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let schema = format!(
            "marc_test_{}_{}_{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        execute(url, &format!("CREATE SCHEMA {schema}"))?;
        let sep = if url.contains('?') { '&' } else { '?' };
        Ok(TestDatabase {
            url: format!("{url}{sep}options[search_path]={schema}"),
            admin_url: url.to_string(),
            schema,
        })
    }

    /// Connects with the test's schema.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = execute(
            &self.admin_url,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema),
        );
    }
}
