//! The shared job queue: jobs in PostgreSQL through apalis-postgres, taken
//! by `marc serve` and any number of `marc worker`s on other machines.
//!
//! - **One queue per system** and one for finishing jobs, named under the
//!   store's schema (`marc:<schema>:<system>`), so two installations (or
//!   two tests) sharing one database never take each other's jobs.
//! - **Leases.** A worker heart-beats every `heartbeat`; a job whose worker
//!   missed `missed_heartbeats` beats (killed, its machine gone) is put back
//!   by the next live worker of that queue and taken again. The store's
//!   compare-and-swap makes the second run add no document twice and
//!   deliver once ([`super::RequestService::run_job`]).
//! - **Exactly one job per step.** Each job carries an idempotency key from
//!   the request's stored state (a system's attempt count, the request's
//!   total), so pushing a job again, from a restarted `marc serve` or two
//!   nodes at once, adds nothing; a later step gets a new key.
//! - **Per-system limits across machines.** A robot job holds one of its
//!   system's `max_sessions` slots, a PostgreSQL advisory lock held by a
//!   transaction for the length of the run: released when the run ends, and
//!   by PostgreSQL when a killed worker's connection drops.

use super::Job;
use apalis_postgres::{Config, PgPool, PostgresStorage};
use marc_request::{RequestRecord, RunState};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

/// The storage of one queue: what workers take from and jobs are pushed to.
pub type Storage = PostgresStorage<Job>;

/// Attempts of a job that fails for a reason outside the robot (the store
/// unreachable, a worker's runtime stopping); robots retry their own
/// transient failures inside one job.
const MAX_ATTEMPTS: usize = 5;

/// How often a waiting robot job asks for a free slot of its system.
const SLOT_POLL: Duration = Duration::from_millis(250);

/// Why the shared queue cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("cannot reach the queue's database {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("the queue's database: {0}")]
    Database(String),
}

impl From<sqlx::Error> for QueueError {
    fn from(e: sqlx::Error) -> Self {
        QueueError::Database(e.to_string())
    }
}

impl From<apalis_postgres::Error> for QueueError {
    fn from(e: apalis_postgres::Error) -> Self {
        QueueError::Database(e.to_string())
    }
}

/// How often workers beat and how many missed beats end a lease.
#[derive(Clone, Copy, Debug)]
pub struct Lease {
    pub heartbeat: Duration,
    pub missed_heartbeats: usize,
}

impl Default for Lease {
    /// A job of a dead worker is taken again after about a minute.
    fn default() -> Self {
        Lease {
            heartbeat: Duration::from_secs(10),
            missed_heartbeats: 6,
        }
    }
}

/// The connection to the shared queue (cheap to clone).
#[derive(Clone)]
pub struct SharedQueue {
    pool: PgPool,
    /// The store's schema: the queues' namespace.
    namespace: String,
    lease: Lease,
}

impl SharedQueue {
    /// Connects to the database `url` names (the store's), creates apalis'
    /// tables if they are missing, and reads the namespace. Call inside a
    /// tokio runtime: the pool lives on it.
    pub async fn connect(url: &str, lease: Lease) -> Result<SharedQueue, QueueError> {
        let connect = |reason: String| QueueError::Connect {
            url: marc_store::redact_url(url),
            reason,
        };
        let options = PgConnectOptions::from_str(url).map_err(|e| connect(e.to_string()))?;
        // The namespace is the store's schema, as the URL's search_path gives it.
        let mut first = sqlx::ConnectOptions::connect(&options)
            .await
            .map_err(|e| connect(e.to_string()))?;
        let namespace: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_one(&mut first)
            .await?;
        let types = prepare(&mut first).await?;
        // apalis' tables are in the schema `apalis`, its queries name the
        // type hstore without a schema, and its migrations are recorded in
        // an unqualified `_sqlx_migrations`: one search_path for all of it,
        // whatever the store's schema is, so every marc schema in the
        // database shares one queue schema with one migration history.
        let search_path = if types == "apalis" {
            "apalis".to_string()
        } else {
            format!("apalis, \"{}\"", types.replace('"', "\"\""))
        };
        let pool = PgPoolOptions::new()
            // apalis holds connections of its own: per queue a worker
            // takes from, one listening for new jobs (LISTEN/NOTIFY) and
            // others for polling and heart-beats; each running robot job
            // holds one for its slot.
            .max_connections(48)
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(true)
            .connect_with(options.options([("search_path", search_path.as_str())]))
            .await
            .map_err(|e| connect(e.to_string()))?;
        PostgresStorage::setup(&pool)
            .await
            .map_err(|e| connect(format!("cannot create the queue's tables: {e}")))?;
        Ok(SharedQueue {
            pool,
            namespace,
            lease,
        })
    }

    /// The queue of `name` (a system, or [`super::pool::FINISH`]).
    pub fn queue_name(&self, name: &str) -> String {
        format!("marc:{}:{name}", self.namespace)
    }

    /// A storage on the queue of `name`, with this queue's lease. A worker
    /// takes from it `with_pubsub()`: an idle worker then hears of a new job
    /// at once (PostgreSQL NOTIFY) instead of at its next heart-beat.
    pub fn storage(&self, name: &str) -> Storage {
        self.storage_of(name)
    }

    /// As [`SharedQueue::storage`], for jobs of any type (the queue
    /// benchmark's own).
    pub fn storage_of<A>(&self, name: &str) -> PostgresStorage<A> {
        let config = Config::default()
            .queue(self.queue_name(name))
            .heartbeat_interval(self.lease.heartbeat)
            .missed_heartbeats(self.lease.missed_heartbeats)
            // One at a time per poll: a worker never holds a job it has
            // no free session for while another worker idles.
            .batch_size(1);
        PostgresStorage::new(&self.pool).with_config(config)
    }

    /// Puts `job` on its queue, keyed by the request `rec` as stored.
    pub async fn push_job(&self, job: Job, rec: &RequestRecord) -> Result<(), QueueError> {
        let key = job_key(&job, rec);
        let name = match &job {
            Job::Robot { system, .. } => system.clone(),
            Job::Finish { .. } => super::pool::FINISH.to_string(),
        };
        self.push(&name, job, &key).await
    }

    /// Puts `job` on the queue `name`, unless a job with the same key is
    /// there already (queued, running, or done: a done step is not redone).
    async fn push(&self, name: &str, job: Job, key: &str) -> Result<(), QueueError> {
        use apalis::prelude::*;
        let queue = self.queue_name(name);
        if self.has(&queue, key).await? {
            return Ok(());
        }
        let task = TaskBuilder::new(job)
            .max_attempts(MAX_ATTEMPTS)
            .idempotency_key(key)
            .build();
        let mut storage = self.storage(name);
        match storage.push_task(task).await {
            Ok(()) => Ok(()),
            // Pushed by another node since the check: the unique key held.
            Err(_) if self.has(&queue, key).await? => Ok(()),
            Err(e) => Err(QueueError::Database(e.to_string())),
        }
    }

    async fn has(&self, queue: &str, key: &str) -> Result<bool, QueueError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM apalis.jobs WHERE job_type = $1 AND idempotency_key = $2)",
        )
        .bind(queue)
        .bind(key)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Waits for one of `system`'s `limit` session slots and holds it
    /// until the returned slot is dropped.
    pub async fn slot(&self, system: &str, limit: u32) -> Result<Slot, QueueError> {
        let key = format!("marc:{}:slot:{system}", self.namespace);
        loop {
            for n in 0..limit.max(1) as i32 {
                let mut tx = self.pool.begin().await?;
                let got: bool =
                    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext($1), $2)")
                        .bind(&key)
                        .bind(n)
                        .fetch_one(&mut *tx)
                        .await?;
                if got {
                    return Ok(Slot { _tx: tx });
                }
                tx.rollback().await?;
            }
            tokio::time::sleep(SLOT_POLL).await;
        }
    }
}

/// Makes the schema `apalis` and the extension hstore its tables use (in
/// that schema, unless the database has it elsewhere already), one process
/// at a time; returns the schema hstore is in.
async fn prepare(conn: &mut sqlx::PgConnection) -> Result<String, QueueError> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('marc:apalis-setup'))")
        .execute(&mut *tx)
        .await?;
    sqlx::query("CREATE SCHEMA IF NOT EXISTS apalis")
        .execute(&mut *tx)
        .await?;
    sqlx::query("CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA apalis")
        .execute(&mut *tx)
        .await?;
    let schema: String = sqlx::query_scalar(
        "SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'hstore'",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(schema)
}

/// One of a system's session slots; given back when dropped (the
/// transaction that holds the lock rolls back).
pub struct Slot {
    _tx: Transaction<'static, Postgres>,
}

/// The idempotency key of `job` for the request as stored: a robot job per
/// attempt count of its system (a resumed system gets a new key), a
/// finishing job per total of attempts (a resumed request finishes again).
fn job_key(job: &Job, rec: &RequestRecord) -> String {
    key_of(job, &rec.runs)
}

fn key_of(job: &Job, runs: &BTreeMap<String, RunState>) -> String {
    match job {
        Job::Robot { request, system } => {
            let n = runs.get(system).map(|r| r.attempts).unwrap_or(0);
            format!("{request}/robot/{system}/{n}")
        }
        Job::Finish { request } => {
            let n: u64 = runs.values().map(|r| r.attempts as u64).sum();
            format!("{request}/finish/{n}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marc_request::RunStatus;

    #[test]
    fn a_step_gets_a_new_key_only_when_the_stored_state_moved_on() {
        let mut runs = BTreeMap::new();
        runs.insert("esdh".to_string(), RunState::default());
        let robot = Job::Robot {
            request: "R1".into(),
            system: "esdh".into(),
        };
        let finish = Job::Finish {
            request: "R1".into(),
        };
        let (k1, f1) = (key_of(&robot, &runs), key_of(&finish, &runs));
        assert_eq!(k1, key_of(&robot, &runs));
        assert_ne!(k1, f1);
        if let Some(r) = runs.get_mut("esdh") {
            r.attempts = 2;
            r.status = RunStatus::Failed;
        }
        assert_ne!(k1, key_of(&robot, &runs));
        assert_ne!(f1, key_of(&finish, &runs));
    }
}
