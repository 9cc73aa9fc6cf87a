//! The shared backend: PostgreSQL through sqlx 0.9 (the version
//! apalis-postgres 1.0 uses, so the engine ends up with one sqlx), with the
//! schema in `engine/store/migrations` embedded and applied on connect.
//!
//! **Sync over async.** The [`Store`](crate::Store) API is synchronous and is
//! called from plain threads and from inside tokio runtimes (axum handlers,
//! apalis workers), where `Runtime::block_on` would panic ("Cannot start a
//! runtime from within a runtime") and a `block_on` on the caller's own
//! current-thread runtime would deadlock. So each connected store owns a
//! background thread with its own current-thread tokio runtime and the
//! `PgPool`: a call sends a job over an unbounded channel (sending never
//! blocks), the runtime spawns it as a task (many calls run at once, one
//! pooled connection each), and the caller waits on a std channel for the
//! answer. The caller's thread blocks like it does on sled's disk I/O; from
//! async code, `spawn_blocking` keeps a runtime's workers free, but is not
//! needed for correctness.
//!
//! **Connection loss.** A dead connection gives an error; the pool pings a
//! connection before handing it out and replaces a dead one, so the next call
//! reconnects (a PostgreSQL restart is survived). Calls whose repetition
//! changes nothing (reads, `put`, `remove`, `next_id`) are retried for a
//! while on connection errors; a compare-and-swap is retried only when it
//! never reached the server (no connection could be had), because after a
//! lost answer its outcome is unknown: it then fails with
//! [`StoreError::Unavailable`] and the caller decides.
//!
//! **Schema.** One table `marc_kv (tbl, key, value)` with primary key
//! `(tbl, key)`: `bytea` sorts like memcmp, as sled orders its keys, so the
//! primary key's index serves `get`, prefix ranges, ordered pages and `last`.
//! A sequence `marc_ids` gives `next_id`. Migrations are recorded in
//! `marc_store_migrations`, not sqlx's default `_sqlx_migrations`, which
//! apalis-postgres uses for its own: two migrators sharing one table each
//! refuse the other's versions as missing.
//!
//! **Durability.** Every statement commits on its own, durable at commit
//! (PostgreSQL's default `synchronous_commit`), so `flush` has nothing left
//! to do, and the sled seal has no counterpart: PostgreSQL's WAL and its
//! page checksums (if the cluster was initialised with them) guard its files.

use crate::{Result, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Rows per round trip when [`PgTable::iter`] pages through a table.
const ITER_PAGE: i64 = 512;

/// Time limits of the PostgreSQL backend.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// How long to wait for a pooled connection (connecting included).
    pub(crate) acquire: Duration,
    /// How long idempotent calls keep retrying on connection errors.
    pub(crate) retry_for: Duration,
    /// The longest any one call may take, retries included: a half-open TCP
    /// connection would otherwise hang a caller for good.
    pub(crate) call: Duration,
    /// The most connections one store (one process, usually) opens: as many
    /// calls run at once; more wait for a free connection. PostgreSQL's own
    /// limit (`max_connections`, 100 by default) is shared by all processes.
    pub(crate) connections: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            acquire: Duration::from_secs(5),
            retry_for: Duration::from_secs(15),
            call: Duration::from_secs(60),
            connections: 10,
        }
    }
}

type Job = Box<dyn FnOnce(PgPool) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// The background thread, its channel and the pool; shut down with the last handle.
pub(crate) struct Worker {
    jobs: Option<tokio::sync::mpsc::UnboundedSender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    limits: Limits,
    /// The doc indexes this process has made sure of (`pg_docs.rs`).
    pub(crate) doc_indexes: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the channel ends the loop; the thread then closes the pool.
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

/// A connected PostgreSQL store (cheap to clone: one worker per `connect`).
#[derive(Clone)]
pub(crate) struct PgStore {
    pub(crate) worker: Arc<Worker>,
}

impl PgStore {
    /// Connects, applies the migrations and starts the worker thread.
    pub(crate) fn connect(url: &str, limits: Limits) -> Result<PgStore> {
        let shown = redact(url);
        let connect_err = |reason: String| StoreError::Connect {
            url: shown.clone(),
            reason,
        };
        let options = PgConnectOptions::from_str(url).map_err(|e| connect_err(e.to_string()))?;
        let probe_options = options.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| connect_err(format!("cannot start its runtime: {e}")))?;
        let (jobs, mut queue) = tokio::sync::mpsc::unbounded_channel::<Job>();
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Result<()>>(1);
        let pool_limits = limits;
        let shown_in = shown.clone();
        let thread = std::thread::Builder::new()
            .name("marc-store-pg".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let pool = PgPoolOptions::new()
                        .max_connections(pool_limits.connections)
                        .acquire_timeout(pool_limits.acquire)
                        .test_before_acquire(true)
                        .idle_timeout(Duration::from_secs(300))
                        .connect_lazy_with(options);
                    let ready = match migrate(&pool).await {
                        Ok(()) => Ok(()),
                        Err(reason) => Err(StoreError::Connect {
                            reason: explain(reason, &probe_options, pool_limits.acquire).await,
                            url: shown_in,
                        }),
                    };
                    let ok = ready.is_ok();
                    let _ = ready_tx.send(ready);
                    if ok {
                        while let Some(job) = queue.recv().await {
                            tokio::spawn(job(pool.clone()));
                        }
                    }
                    let _ = tokio::time::timeout(Duration::from_secs(2), pool.close()).await;
                });
            })
            .map_err(|e| connect_err(format!("cannot start its thread: {e}")))?;
        let worker = Arc::new(Worker {
            jobs: Some(jobs),
            thread: Some(thread),
            limits,
            doc_indexes: Default::default(),
        });
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(PgStore { worker }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(connect_err("its connection thread stopped".into())),
        }
    }

    /// Runs `op` on the worker's runtime and waits for its answer, within
    /// the call limit.
    pub(crate) fn run<T, F, Fut>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(PgPool, Limits) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let limits = self.worker.limits;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<T>>(1);
        let job: Job = Box::new(move |pool| {
            Box::pin(async move {
                let answer = match tokio::time::timeout(limits.call, op(pool, limits)).await {
                    Ok(a) => a,
                    Err(_) => Err(StoreError::Unavailable(format!(
                        "no answer from PostgreSQL within {} s",
                        limits.call.as_secs()
                    ))),
                };
                let _ = tx.send(answer);
            })
        });
        let stopped =
            || StoreError::Unavailable("the store's connection thread has stopped".into());
        self.worker
            .jobs
            .as_ref()
            .ok_or_else(stopped)?
            .send(job)
            .map_err(|_| stopped())?;
        rx.recv().map_err(|_| stopped())?
    }

    pub(crate) fn table(&self, name: &str) -> PgTable {
        PgTable {
            store: self.clone(),
            name: Arc::from(name),
        }
    }

    pub(crate) fn next_id(&self) -> Result<u64> {
        let id: i64 = self.run(|pool, limits| async move {
            retrying(limits, || {
                sqlx::query_scalar::<_, i64>("SELECT nextval('marc_ids')").fetch_one(&pool)
            })
            .await
        })?;
        u64::try_from(id).map_err(|_| StoreError::Io(format!("the id sequence gave {id}")))
    }
}

/// A pool that gave up says only that it timed out: one direct connection
/// says why (refused, no such host, authentication, no such database).
async fn explain(reason: String, options: &PgConnectOptions, wait: Duration) -> String {
    use sqlx::Connection;
    if !reason.contains("timed out") {
        return reason;
    }
    match tokio::time::timeout(wait, sqlx::PgConnection::connect_with(options)).await {
        Ok(Err(e)) => format!("{reason}; connecting: {e}"),
        Err(_) => format!("{reason}; connecting: no answer within {wait:?}"),
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            reason
        }
    }
}

async fn migrate(pool: &PgPool) -> std::result::Result<(), String> {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.dangerous_set_table_name("marc_store_migrations");
    migrator.run(pool).await.map_err(|e| e.to_string())
}

/// Errors after which the server or the connection is gone (or not yet back),
/// and a new connection may succeed.
fn connection_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exception; 57P01..03: shut down by an
        // administrator, crashed, cannot connect now (starting up).
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

fn store_error(e: sqlx::Error) -> StoreError {
    if connection_lost(&e) {
        StoreError::Unavailable(e.to_string())
    } else {
        StoreError::Io(format!("PostgreSQL: {e}"))
    }
}

/// Runs `attempt` again on connection errors, with a growing pause, until
/// `limits.retry_for` has passed. Only for operations whose repetition
/// changes nothing.
pub(crate) async fn retrying<T, F, Fut>(limits: Limits, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, sqlx::Error>>,
{
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        match attempt().await {
            Err(e) if connection_lost(&e) && started.elapsed() + pause < limits.retry_for => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            other => return other.map_err(store_error),
        }
    }
}

/// The exclusive upper bound of the keys that start with `prefix`: the prefix
/// with trailing 0xff bytes dropped and its last byte incremented; none when
/// the prefix is empty or all 0xff (then every greater key qualifies).
pub(crate) fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

type Entry = (Vec<u8>, Vec<u8>);

/// One named table: the rows of `marc_kv` whose `tbl` is its name.
#[derive(Clone)]
pub(crate) struct PgTable {
    pub(crate) store: PgStore,
    pub(crate) name: Arc<str>,
}

impl PgTable {
    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let (tbl, key) = (self.name.clone(), key.to_vec());
        self.store.run(|pool, limits| async move {
            retrying(limits, || {
                sqlx::query_scalar::<_, Vec<u8>>(
                    "SELECT value FROM marc_kv WHERE tbl = $1 AND key = $2",
                )
                .bind(&*tbl)
                .bind(&key)
                .fetch_optional(&pool)
            })
            .await
        })
    }

    pub(crate) fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let (tbl, key, value) = (self.name.clone(), key.to_vec(), value.to_vec());
        self.store.run(|pool, limits| async move {
            retrying(limits, || {
                sqlx::query(
                    "INSERT INTO marc_kv (tbl, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (tbl, key) DO UPDATE SET value = EXCLUDED.value, doc = NULL",
                )
                .bind(&*tbl)
                .bind(&key)
                .bind(&value)
                .execute(&pool)
            })
            .await
            .map(|_| ())
        })
    }

    pub(crate) fn remove(&self, key: &[u8]) -> Result<()> {
        let (tbl, key) = (self.name.clone(), key.to_vec());
        self.store.run(|pool, limits| async move {
            retrying(limits, || {
                sqlx::query("DELETE FROM marc_kv WHERE tbl = $1 AND key = $2")
                    .bind(&*tbl)
                    .bind(&key)
                    .execute(&pool)
            })
            .await
            .map(|_| ())
        })
    }

    /// One statement per case, each atomic on its own under any number of
    /// processes: a conditional `UPDATE`/`DELETE` takes the row's lock, and
    /// one that waited for a concurrent writer re-checks `value = old` on the
    /// row that writer left (PostgreSQL's read-committed update rule), so of
    /// two swaps from the same `old` exactly one matches; `INSERT … ON
    /// CONFLICT DO NOTHING` lets exactly one of two creators insert.
    pub(crate) fn compare_and_swap(
        &self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool> {
        let tbl = self.name.clone();
        let key = key.to_vec();
        let old = old.map(<[u8]>::to_vec);
        let new = new.map(<[u8]>::to_vec);
        self.store.run(|pool, limits| async move {
            // Retried only up to here: nothing was sent yet.
            let mut conn = retrying(limits, || pool.acquire()).await?;
            let tbl = &*tbl;
            let done = match (old, new) {
                (None, None) => sqlx::query_scalar::<_, i32>(
                    "SELECT 1 FROM marc_kv WHERE tbl = $1 AND key = $2",
                )
                .bind(tbl)
                .bind(&key)
                .fetch_optional(&mut *conn)
                .await
                .map(|found| found.is_none()),
                (None, Some(new)) => sqlx::query(
                    "INSERT INTO marc_kv (tbl, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (tbl, key) DO NOTHING",
                )
                .bind(tbl)
                .bind(&key)
                .bind(&new)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected() == 1),
                (Some(old), Some(new)) => sqlx::query(
                    "UPDATE marc_kv SET value = $4, doc = NULL \
                     WHERE tbl = $1 AND key = $2 AND value = $3",
                )
                .bind(tbl)
                .bind(&key)
                .bind(&old)
                .bind(&new)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected() == 1),
                (Some(old), None) => {
                    sqlx::query("DELETE FROM marc_kv WHERE tbl = $1 AND key = $2 AND value = $3")
                        .bind(tbl)
                        .bind(&key)
                        .bind(&old)
                        .execute(&mut *conn)
                        .await
                        .map(|r| r.rows_affected() == 1)
                }
            };
            done.map_err(|e| match store_error(e) {
                StoreError::Unavailable(m) => StoreError::Unavailable(format!(
                    "{m} (a compare-and-swap was under way: whether it happened is unknown)"
                )),
                other => other,
            })
        })
    }

    /// A range query on the primary key's index, not a scan of the table.
    pub(crate) fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>> {
        let tbl = self.name.clone();
        let from = prefix.to_vec();
        let to = prefix_successor(prefix);
        self.store.run(|pool, limits| async move {
            retrying(limits, || {
                let q = match &to {
                    Some(to) => sqlx::query_as::<_, Entry>(
                        "SELECT key, value FROM marc_kv \
                         WHERE tbl = $1 AND key >= $2 AND key < $3 ORDER BY key",
                    )
                    .bind(&*tbl)
                    .bind(&from)
                    .bind(to),
                    None => sqlx::query_as::<_, Entry>(
                        "SELECT key, value FROM marc_kv WHERE tbl = $1 AND key >= $2 ORDER BY key",
                    )
                    .bind(&*tbl)
                    .bind(&from),
                };
                q.fetch_all(&pool)
            })
            .await
        })
    }

    /// The entries after `after` (from the start if none), at most `limit`.
    fn page(&self, after: Option<Vec<u8>>, limit: i64) -> Result<Vec<Entry>> {
        let tbl = self.name.clone();
        self.store.run(move |pool, limits| async move {
            retrying(limits, || {
                let q = match &after {
                    Some(after) => sqlx::query_as::<_, Entry>(
                        "SELECT key, value FROM marc_kv WHERE tbl = $1 AND key > $2 \
                         ORDER BY key LIMIT $3",
                    )
                    .bind(&*tbl)
                    .bind(after)
                    .bind(limit),
                    None => sqlx::query_as::<_, Entry>(
                        "SELECT key, value FROM marc_kv WHERE tbl = $1 ORDER BY key LIMIT $2",
                    )
                    .bind(&*tbl)
                    .bind(limit),
                };
                q.fetch_all(&pool)
            })
            .await
        })
    }

    /// Pages of [`ITER_PAGE`] entries in key order, each one indexed query
    /// starting after the last key seen (like sled's iterator, not a snapshot:
    /// entries written meanwhile may or may not be seen).
    pub(crate) fn iter(&self) -> PgIter {
        PgIter {
            table: self.clone(),
            after: None,
            buffer: VecDeque::new(),
            done: false,
        }
    }

    pub(crate) fn last(&self) -> Result<Option<Entry>> {
        let tbl = self.name.clone();
        self.store.run(|pool, limits| async move {
            retrying(limits, || {
                sqlx::query_as::<_, Entry>(
                    "SELECT key, value FROM marc_kv WHERE tbl = $1 ORDER BY key DESC LIMIT 1",
                )
                .bind(&*tbl)
                .fetch_optional(&pool)
            })
            .await
        })
    }

    pub(crate) fn try_len(&self) -> Result<usize> {
        let tbl = self.name.clone();
        let n: i64 = self.store.run(|pool, limits| async move {
            retrying(limits, || {
                sqlx::query_scalar::<_, i64>("SELECT count(*) FROM marc_kv WHERE tbl = $1")
                    .bind(&*tbl)
                    .fetch_one(&pool)
            })
            .await
        })?;
        usize::try_from(n).map_err(|_| StoreError::Io(format!("a count of {n} entries")))
    }

    pub(crate) fn try_is_empty(&self) -> Result<bool> {
        Ok(self.page(None, 1)?.is_empty())
    }
}

/// See [`PgTable::iter`]. After an error it ends.
pub(crate) struct PgIter {
    table: PgTable,
    after: Option<Vec<u8>>,
    buffer: VecDeque<Entry>,
    done: bool,
}

impl Iterator for PgIter {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffer.is_empty() && !self.done {
            match self.table.page(self.after.take(), ITER_PAGE) {
                Ok(page) => {
                    self.done = (page.len() as i64) < ITER_PAGE;
                    self.after = page.last().map(|(k, _)| k.clone());
                    self.buffer = page.into();
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.buffer.pop_front().map(Ok)
    }
}

/// The URL without its password (in the user part or a `password=`
/// parameter), for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successors() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xff, 0xff]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xff, 0xff]), None);
        assert_eq!(prefix_successor(b""), None);
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact("postgres://marc:s3cret@db:5432/marc?sslmode=require"),
            "postgres://marc:***@db:5432/marc?sslmode=require"
        );
        assert_eq!(redact("postgres://marc@db/marc"), "postgres://marc@db/marc");
        assert_eq!(redact("postgresql:///marc"), "postgresql:///marc");
        assert_eq!(
            redact("postgres://db/marc?user=marc&password=s3cret&sslmode=require"),
            "postgres://db/marc?user=marc&password=***&sslmode=require"
        );
    }
}
