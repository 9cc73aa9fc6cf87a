//! The worker pool: apalis workers taking jobs from one queue per system
//! (so a system that allows few sessions holds up only its own jobs) and
//! one for finishing jobs.
//!
//! Two kinds of queue under the same pool:
//! - **in memory** (`marc serve` on the embedded store): the queues are only
//!   the schedule; the store holds every request's state, so a restarted
//!   `marc serve` puts the outstanding jobs back
//!   ([`super::RequestService::outstanding`]);
//! - **shared** ([`super::queue`], PostgreSQL): jobs outlive processes and
//!   are taken by every `marc serve` and `marc worker` on that database.
//!
//! Limits: at most `workers` robot sessions at once in this process, and at
//! most the manifest's `max_sessions` per system: in memory by the worker's
//! concurrency, shared across machines by the queue's slots.

use super::queue::SharedQueue;
use super::{Job, RequestService};
use crate::pipeline::RobotRunner;
use apalis::prelude::*;
use futures_util::{Sink, SinkExt, StreamExt};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Sessions a system allows at once when its manifest does not say.
pub const DEFAULT_MAX_SESSIONS: u32 = 2;

/// The name of the finishing jobs' queue.
pub const FINISH: &str = "finish";

/// How long a shared job that failed outside its robot waits before it
/// gives its attempt back (a database restarting, say).
const RETRY_AFTER: Duration = Duration::from_secs(3);

/// What every worker shares.
struct Shared {
    service: RequestService,
    runner: Arc<RobotRunner>,
    /// Robot sessions running in this process.
    sessions: Arc<Semaphore>,
    queues: Queues,
    /// Each system's `max_sessions`.
    limits: HashMap<String, u32>,
    /// Jobs queued or running (in memory): the same job is never queued
    /// twice (a form sent twice, a restart while it runs).
    inflight: std::sync::Mutex<HashSet<Job>>,
}

enum Queues {
    Memory(HashMap<String, Pusher>),
    Shared(SharedQueue),
}

/// A running pool; jobs are pushed with [`Pool::push`].
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

/// Why a job could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("no queue for system {0:?}: it is not connected (restart `marc serve` after adding a robot)")]
    UnknownSystem(String),
    #[error("the queue is closed: {0}")]
    Closed(String),
    #[error(transparent)]
    Shared(#[from] super::queue::QueueError),
    #[error("cannot read request {0}: {1}")]
    Request(String, String),
}

/// Which queues a process takes jobs from.
pub struct Takes {
    /// Each system whose robot jobs it runs, with its `max_sessions`.
    pub systems: HashMap<String, u32>,
    /// Whether it runs finishing jobs (screening, assembly, delivery: they
    /// write the answer and the outbox into its data directory).
    pub finish: bool,
}

impl Pool {
    /// Starts one worker per system and one for finishing jobs on in-memory
    /// queues, on the current tokio runtime. `limits` is each system's
    /// `max_sessions`.
    pub fn start(
        service: RequestService,
        runner: Arc<RobotRunner>,
        workers: usize,
        limits: &HashMap<String, u32>,
    ) -> Pool {
        let mut queues = HashMap::new();
        let mut storages = Vec::new();
        for (name, limit) in concurrency(limits, true) {
            let (storage, sink) = queue();
            queues.insert(name.clone(), sink);
            storages.push((name, limit, storage));
        }
        let pool = Pool::new(
            service,
            runner,
            workers,
            limits.clone(),
            Queues::Memory(queues),
        );
        for (name, limit, storage) in storages {
            let worker = WorkerBuilder::new(format!("marc-{name}"))
                .backend(storage)
                .concurrency(limit)
                .data(pool.clone())
                .build(handle);
            tokio::spawn(async move {
                if let Err(e) = worker.run().await {
                    tracing::error!("the {name} worker stopped: {e}");
                }
            });
        }
        pool
    }

    /// Starts workers on the shared queue for what `takes` names (none:
    /// a node that only pushes), on the current tokio runtime.
    pub fn start_shared(
        service: RequestService,
        runner: Arc<RobotRunner>,
        workers: usize,
        queue: SharedQueue,
        takes: Takes,
    ) -> Pool {
        let names = concurrency(&takes.systems, takes.finish);
        let pool = Pool::new(
            service,
            runner,
            workers,
            takes.systems,
            Queues::Shared(queue.clone()),
        );
        for (name, limit) in names {
            let (pool, queue) = (pool.clone(), queue.clone());
            tokio::spawn(async move {
                // A worker whose database went away stops; a new one (new
                // name, so the old one's jobs count as orphaned and come
                // back after their lease) starts when the database answers.
                for n in 0u64.. {
                    let worker = WorkerBuilder::new(worker_name(&name, n))
                        .backend(queue.storage(&name).with_pubsub())
                        .concurrency(limit)
                        .data(pool.clone())
                        .build(handle);
                    match worker.run().await {
                        Ok(()) => break,
                        Err(e) => {
                            tracing::error!("the {name} worker stopped ({e}); starting again")
                        }
                    }
                    tokio::time::sleep(RETRY_AFTER).await;
                }
            });
        }
        pool
    }

    fn new(
        service: RequestService,
        runner: Arc<RobotRunner>,
        workers: usize,
        limits: HashMap<String, u32>,
        queues: Queues,
    ) -> Pool {
        Pool {
            shared: Arc::new(Shared {
                service,
                runner,
                sessions: Arc::new(Semaphore::new(workers.max(1))),
                queues,
                limits,
                inflight: Default::default(),
            }),
        }
    }

    /// Queues a job, unless the same job is queued or running already.
    pub async fn push(&self, job: Job) -> Result<(), PoolError> {
        let queues = match &self.shared.queues {
            Queues::Memory(queues) => queues,
            Queues::Shared(shared) => {
                // The key comes from the request as stored: read it off the runtime's threads.
                let service = self.shared.service.clone();
                let id = job.request().to_string();
                let unreadable = |e: String| PoolError::Request(id.clone(), e);
                let read = id.clone();
                let rec = tokio::task::spawn_blocking(move || {
                    crate::requests::get(&service.settings.store, &read)
                })
                .await
                .map_err(|e| unreadable(e.to_string()))?
                .map_err(|e| unreadable(format!("{e:#}")))?;
                return Ok(shared.push_job(job, &rec).await?);
            }
        };
        let queue = match &job {
            Job::Robot { system, .. } => system.as_str(),
            Job::Finish { .. } => FINISH,
        };
        let sink = queues
            .get(queue)
            .ok_or_else(|| PoolError::UnknownSystem(queue.to_string()))?;
        if let Ok(mut set) = self.shared.inflight.lock() {
            if !set.insert(job.clone()) {
                return Ok(());
            }
        }
        if let Err(e) = sink.unbounded_send(TaskBuilder::new(job.clone()).build()) {
            if let Ok(mut set) = self.shared.inflight.lock() {
                set.remove(&job);
            }
            return Err(PoolError::Closed(e.to_string()));
        }
        Ok(())
    }

    /// Queues every job of `jobs`, logging those that cannot be.
    pub async fn push_all(&self, jobs: Vec<Job>) {
        for job in jobs {
            if let Err(e) = self.push(job.clone()).await {
                tracing::error!("cannot queue {job:?}: {e}");
            }
        }
    }
}

/// The queues of `limits`' systems and (if `finish`) the finishing one,
/// with how many jobs each runs at once.
fn concurrency(limits: &HashMap<String, u32>, finish: bool) -> Vec<(String, usize)> {
    limits
        .iter()
        .map(|(s, l)| (s.clone(), (*l).max(1) as usize))
        .chain(finish.then(|| (FINISH.to_string(), 1)))
        .collect()
}

/// A worker's name in the shared queue's register: unique per machine,
/// process and start.
fn worker_name(queue: &str, start: u64) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!("marc-{queue}-{host}-{}-{start}", std::process::id())
}

/// How long a job keeps trying to reach the shared queue's database.
const PATIENCE: Duration = Duration::from_secs(120);

/// Runs `f` until it succeeds or [`PATIENCE`] has passed. A job that gave
/// up while the database was away could not even record that it failed:
/// it would stay taken by a worker that goes on beating, so it is better
/// to wait for the database (a restart takes seconds).
async fn patiently<T, E, F, Fut>(what: &str, mut f: F) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let t0 = std::time::Instant::now();
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if t0.elapsed() < PATIENCE => {
                tracing::warn!("cannot {what} yet ({e}); trying again");
                tokio::time::sleep(RETRY_AFTER).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// What jobs are pushed through: the sending end of a queue's channel.
type Pusher = futures_channel::mpsc::UnboundedSender<Task<Job>>;

/// An in-memory queue: the backend a worker takes from, and the sender
/// that pushes to it.
///
/// The pool does not push through apalis' `MemorySink`: the worker polls
/// that sink's lock for readiness, and a poll that meets the lock held by
/// a push drops its waker, which leaves the worker asleep with jobs
/// waiting. The worker's storage gets a sink of its own (a clone of the
/// same channel behind a lock nobody else takes); the pool sends on the
/// channel directly, which needs no lock.
fn queue() -> (MemoryStorage<Job>, Pusher) {
    let (tx, rx) = futures_channel::mpsc::unbounded::<Task<Job>>();
    let own: Box<dyn Sink<Task<Job>, Error = MemoryStorageError> + Send + Sync + Unpin> =
        Box::new(tx.clone().sink_map_err(MemoryStorageError::from));
    let sink = MemorySink::new(Arc::new(futures_util::lock::Mutex::new(own)));
    (MemoryStorage::new_with(sink, rx.boxed()), tx)
}

/// Runs one job in a blocking thread (robots and assembly block), then
/// queues what follows it. In memory, a failed job leaves the request as
/// the store has it: its jobs are queued again at the next start. On the
/// shared queue it fails, and apalis gives it another attempt.
async fn handle(job: Job, pool: Data<Pool>) -> Result<(), BoxDynError> {
    tracing::debug!(request = job.request(), "job {job:?} starts");
    let shared = pool.shared.clone();
    let _session = match &job {
        Job::Robot { .. } => Some(shared.sessions.clone().acquire_owned().await?),
        Job::Finish { .. } => None,
    };
    // Across machines, a system's sessions are counted in the database.
    let _slot = match (&job, &shared.queues) {
        (Job::Robot { system, .. }, Queues::Shared(q)) => {
            let limit = shared
                .limits
                .get(system)
                .copied()
                .unwrap_or(DEFAULT_MAX_SESSIONS);
            Some(patiently("take a session slot", || q.slot(system, limit)).await?)
        }
        _ => None,
    };
    let j = job.clone();
    let s = shared.clone();
    let next = tokio::task::spawn_blocking(move || s.service.run_job(&s.runner, &j)).await;
    if let Ok(mut set) = shared.inflight.lock() {
        set.remove(&job);
    }
    match next? {
        Ok(Some(next)) => patiently("queue the next job", || pool.push(next.clone())).await?,
        Ok(None) => {}
        Err(e) => {
            tracing::error!(request = job.request(), "job {job:?} failed: {e:#}");
            if let Queues::Shared(_) = shared.queues {
                tokio::time::sleep(RETRY_AFTER).await;
                return Err(format!("{e:#}").into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Seen = Arc<std::sync::Mutex<Vec<Job>>>;

    async fn count(job: Job, seen: Data<Seen>) -> Result<(), BoxDynError> {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        if let Ok(mut s) = seen.lock() {
            s.push(job);
        }
        Ok(())
    }

    /// Jobs pushed from many tasks at once while the workers run are all
    /// taken (a worker that loses its wake-up leaves jobs waiting).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn every_queue_delivers_what_is_pushed_from_many_tasks() {
        let seen: Seen = Default::default();
        let mut pushers = Vec::new();
        for name in ["a", "b", "c"] {
            let (storage, tx) = queue();
            pushers.push(tx);
            let w = WorkerBuilder::new(format!("t-{name}"))
                .backend(storage)
                .concurrency(2)
                .data(seen.clone())
                .build(count);
            tokio::spawn(async move { w.run().await });
        }
        let mut tasks = Vec::new();
        for t in 0..4 {
            let pushers = pushers.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..50 {
                    let job = Job::Finish {
                        request: format!("r{t}-{i}"),
                    };
                    pushers[i % 3]
                        .unbounded_send(TaskBuilder::new(job).build())
                        .expect("queue open");
                    tokio::task::yield_now().await;
                }
            }));
        }
        for t in tasks {
            t.await.expect("pusher");
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while seen.lock().map(|s| s.len()).unwrap_or(0) < 200
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(seen.lock().map(|s| s.len()).unwrap_or(0), 200);
    }
}
