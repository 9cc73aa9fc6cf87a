//! The command line and a running `marc serve`. sled lets one process open
//! a data directory; while `marc serve` holds it, `marc requests`,
//! `marc audit verify`, `marc exempt add` and the other commands that work
//! on the data directory are sent to the server over a Unix socket in that
//! directory (`marc.sock`, 0600 in the 0700 directory: only marc's own user
//! can connect) and run there, on the server's open store and audit log,
//! with their output sent back. The command line behaves the same either
//! way; a stale socket (a server that died) is ignored.
//!
//! Why this and not a store several processes can open: sled is the
//! embedded default and allows one opener; the PostgreSQL store allows
//! many, and then nothing needs forwarding.

use super::io::capture;
use super::{Cli, Command};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The socket's file name in the data directory.
pub const SOCKET: &str = "marc.sock";

/// A command line sent to the server.
#[derive(Debug, Serialize, Deserialize)]
struct Call {
    args: Vec<String>,
    /// Standard input, for the commands that read it (`secret set`).
    stdin: Option<String>,
}

/// What the command printed and its exit code.
#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    out: String,
    err: String,
    code: i32,
}

/// Whether a command works on the data directory and may run in the server.
fn forwardable(c: &Command) -> bool {
    use super::admin::SecretCommand;
    match c {
        Command::Run(_)
        | Command::Requests { .. }
        | Command::Deliver { .. }
        | Command::Forward { .. }
        | Command::Delivery(_)
        | Command::Exempt(_)
        | Command::Staff(_)
        | Command::Audit(_)
        | Command::Replay(_) => true,
        Command::Secret(s) => !matches!(s, SecretCommand::Keygen),
        _ => false,
    }
}

/// Options whose value is a path: made absolute before the command line is
/// sent, since the server's working directory is not the caller's.
const PATH_OPTIONS: [&str; 8] = [
    "--data",
    "--config",
    "--out",
    "--robots",
    "--scripts",
    "--html",
    "--input",
    "--output",
];

/// The caller's arguments with path option values made absolute, and the
/// data directory (and `MARC_CONFIG`) named explicitly.
fn absolute_args(raw: Vec<OsString>, data: &Path) -> Vec<String> {
    let abs = |v: &str| {
        std::path::absolute(v)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| v.to_string())
    };
    let mut out = Vec::new();
    let mut path_next = false;
    let mut has_data = false;
    let mut has_config = false;
    let mut has_database = false;
    for a in raw.into_iter().map(|a| a.to_string_lossy().into_owned()) {
        if path_next {
            out.push(abs(&a));
            path_next = false;
            continue;
        }
        has_data |= a == "--data" || a.starts_with("--data=");
        has_config |= a == "--config" || a.starts_with("--config=");
        has_database |= a == "--database" || a.starts_with("--database=");
        match a.split_once('=') {
            Some((k, v)) if PATH_OPTIONS.contains(&k) => out.push(format!("{k}={}", abs(v))),
            _ => {
                path_next = PATH_OPTIONS.contains(&a.as_str());
                out.push(a);
            }
        }
    }
    let mut pre = Vec::new();
    if !has_data {
        pre.extend(["--data".to_string(), abs(&data.display().to_string())]);
    }
    if !has_config {
        if let Some(c) = std::env::var_os("MARC_CONFIG") {
            pre.extend(["--config".to_string(), abs(&c.to_string_lossy())]);
        }
    }
    if !has_database {
        if let Some(u) = std::env::var_os("MARC_DATABASE_URL").filter(|u| !u.is_empty()) {
            pre.extend(["--database".to_string(), u.to_string_lossy().into_owned()]);
        }
    }
    pre.extend(out);
    pre
}

/// Sends the command to the `marc serve` holding its data directory, if
/// one is running; `None` when the command runs here.
pub fn forward_if_served(cli: &Cli) -> Option<i32> {
    if !forwardable(&cli.command) {
        return None;
    }
    let socket = cli.global.data.join(SOCKET);
    if !socket.exists() {
        return None;
    }
    let stdin = match &cli.command {
        Command::Secret(super::admin::SecretCommand::Set { .. }) => {
            match super::io::stdin_bytes().map(String::from_utf8) {
                Ok(Ok(s)) => Some(s),
                _ => {
                    eprintln!("error: cannot read the secret from stdin (it must be UTF-8 text)");
                    return Some(super::exit::ERROR);
                }
            }
        }
        Command::Staff(super::admin::StaffCommand::Add { name, .. }) => {
            match super::io::read_password(&format!("Password for {name}")) {
                Ok(s) => Some(s),
                Err(e) => {
                    eprintln!("error: cannot read the password: {e}");
                    return Some(super::exit::ERROR);
                }
            }
        }
        _ => None,
    };
    let call = Call {
        args: absolute_args(std::env::args_os().skip(1).collect(), &cli.global.data),
        stdin,
    };
    let client = reqwest::blocking::Client::builder()
        .unix_socket(socket.clone())
        // Commands such as `run` take as long as the robots do.
        .timeout(None)
        .build()
        .ok()?;
    let answer: Answer = match client.post("http://marc/cli").json(&call).send() {
        Ok(r) if r.status().is_success() => match r.json() {
            Ok(a) => a,
            Err(e) => {
                eprintln!("error: the running marc serve answered unreadably: {e}");
                return Some(super::exit::ERROR);
            }
        },
        Ok(r) => {
            eprintln!(
                "error: the running marc serve refused the command: {}",
                r.text().unwrap_or_default()
            );
            return Some(super::exit::ERROR);
        }
        // Nobody listening: a socket a stopped server left. Run here.
        Err(e) if e.is_connect() => return None,
        Err(e) => {
            eprintln!(
                "error: cannot reach the running marc serve at {}: {e}",
                socket.display()
            );
            return Some(super::exit::ERROR);
        }
    };
    print!("{}", answer.out);
    eprint!("{}", answer.err);
    Some(answer.code)
}

/// Runs a command sent by the command line, in a thread of its own (with a
/// runtime of its own, as the command would have in its own process).
fn run_call(call: Call, data: &Path) -> Answer {
    let mut args = vec![OsString::from("marc")];
    args.extend(call.args.iter().map(OsString::from));
    let cli = match <Cli as clap::Parser>::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            return Answer {
                out: String::new(),
                err: e.render().to_string(),
                code: if e.use_stderr() {
                    super::exit::USAGE
                } else {
                    super::exit::OK
                },
            }
        }
    };
    let same = |p: &Path| p.canonicalize().ok() == data.canonicalize().ok();
    if !forwardable(&cli.command) || !same(&cli.global.data) || !same_database(&cli) {
        return Answer {
            out: String::new(),
            err:
                "error: this command does not run in marc serve, or names another data directory or database (give it the server's --data, --config and --database)\n"
                    .into(),
            code: super::exit::USAGE,
        };
    }
    let stdin = call.stdin.map(String::into_bytes);
    let (code, captured) = capture(stdin, || match super::new_runtime() {
        Ok(rt) => super::dispatch(cli, &rt),
        Err(e) => {
            super::io::errln!("error: cannot start the async runtime: {e}");
            super::exit::ERROR
        }
    });
    Answer {
        out: String::from_utf8_lossy(&captured.out).into_owned(),
        err: String::from_utf8_lossy(&captured.err).into_owned(),
        code,
    }
}

/// Listens on the data directory's socket for the command line; the
/// socket is removed when the returned guard is dropped.
/// The server's own audit log, which the commands run in it write to: one
/// writer per chain, and the key the server was started with (`marc serve
/// --demo` keys its log with the demo's key, not the environment's). With
/// the data directory it serves and the database its state is in.
static SERVED: std::sync::OnceLock<Served> = std::sync::OnceLock::new();

struct Served {
    data: Option<PathBuf>,
    database: Option<String>,
    audit: marc_audit::AuditLog,
}

/// The audit log of the running server, when `data` is its data directory
/// (whose store, sled or PostgreSQL, the server holds).
pub(super) fn served_audit(data: &Path) -> Option<marc_audit::AuditLog> {
    SERVED
        .get()
        .filter(|s| s.data.is_some() && s.data == data.canonicalize().ok())
        .map(|s| s.audit.clone())
}

/// Whether a forwarded command's database is the server's.
fn same_database(cli: &Cli) -> bool {
    let Some(served) = SERVED.get() else {
        return true;
    };
    let Ok(config) = crate::config::Config::load(cli.global.config.as_deref()) else {
        // The command reports its configuration error itself.
        return true;
    };
    super::database(&cli.global, &config) == served.database
}

pub fn serve(
    rt: &tokio::runtime::Runtime,
    data: &Path,
    database: Option<String>,
    audit: marc_audit::AuditLog,
) -> anyhow::Result<SocketGuard> {
    let _ = SERVED.set(Served {
        data: data.canonicalize().ok(),
        database,
        audit,
    });
    use anyhow::Context;
    use std::os::unix::fs::PermissionsExt;
    let path = data.join(SOCKET);
    // This process holds the data directory's store, so no other server
    // can be using the socket: an old one is a leftover.
    let _ = std::fs::remove_file(&path);
    let listener = {
        let _enter = rt.enter();
        tokio::net::UnixListener::bind(&path)
            .with_context(|| format!("cannot listen on {}", path.display()))?
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    if let Ok(mut on) = super::ON_SIGNAL.lock() {
        on.message = "marc serve: stopping. Requests in progress go on when it is started again.";
        on.remove.push(path.clone());
    }
    let data = data.to_path_buf();
    let app = axum::Router::new().route(
        "/cli",
        axum::routing::post(
            move |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<Peer>,
                  axum::Json(call): axum::Json<Call>| {
                let data = data.clone();
                async move {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    std::thread::spawn(move || {
                        // The command's audit entries name the caller, not
                        // the server's user.
                        super::admin::set_caller_uid(peer.uid);
                        let _ = tx.send(run_call(call, &data));
                    });
                    match rx.await {
                        Ok(a) => axum::Json(a),
                        Err(_) => axum::Json(Answer {
                            out: String::new(),
                            err: "error: the command stopped unexpectedly in marc serve\n".into(),
                            code: super::exit::ERROR,
                        }),
                    }
                }
            },
        ),
    );
    rt.spawn(async move {
        if let Err(e) =
            axum::serve(listener, app.into_make_service_with_connect_info::<Peer>()).await
        {
            tracing::error!("the command-line socket stopped: {e}");
        }
    });
    Ok(SocketGuard(path))
}

/// Who is at the other end of the socket: the kernel's word for the
/// caller's uid (SO_PEERCRED), so a forwarded command is audited as the
/// person who ran it.
#[derive(Clone, Copy, Debug)]
struct Peer {
    uid: Option<u32>,
}

impl
    axum::extract::connect_info::Connected<
        axum::serve::IncomingStream<'_, tokio::net::UnixListener>,
    > for Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::UnixListener>) -> Self {
        Peer {
            uid: stream.io().peer_cred().ok().map(|c| c.uid()),
        }
    }
}

/// Removes the socket when the server stops.
pub struct SocketGuard(PathBuf);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_options_become_absolute_and_the_data_directory_is_named() {
        let cwd = std::env::current_dir().unwrap();
        let a = absolute_args(
            ["requests", "--json"].iter().map(OsString::from).collect(),
            Path::new("data"),
        );
        assert_eq!(a[0], "--data");
        assert_eq!(a[1], cwd.join("data").display().to_string());
        assert_eq!(&a[2..], ["requests", "--json"]);
        let b = absolute_args(
            ["--data=d", "replay", "S1", "--html", "h"]
                .iter()
                .map(OsString::from)
                .collect(),
            Path::new("d"),
        );
        assert_eq!(b[0], format!("--data={}", cwd.join("d").display()));
        assert_eq!(b[4], cwd.join("h").display().to_string());
    }
}
