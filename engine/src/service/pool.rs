//! The worker pool of `marc serve` on the embedded store: apalis workers on
//! in-memory queues, one queue per system (so a system that allows few
//! sessions holds up only its own jobs) and one for finishing jobs.
//!
//! Limits: at most `workers` robot sessions at once in all, and at most the
//! manifest's `max_sessions` per system. The queues are only the schedule:
//! the store holds every request's state, so a restarted `marc serve` puts
//! the outstanding jobs back ([`super::RequestService::outstanding`]).

use super::{Job, RequestService};
use crate::pipeline::RobotRunner;
use apalis::prelude::*;
use futures_util::{Sink, SinkExt, StreamExt};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Sessions a system allows at once when its manifest does not say.
pub const DEFAULT_MAX_SESSIONS: u32 = 2;

/// The name of the finishing jobs' queue.
const FINISH: &str = "finish";

/// What every worker shares.
struct Shared {
    service: RequestService,
    runner: Arc<RobotRunner>,
    /// Robot sessions running in all.
    sessions: Arc<Semaphore>,
    queues: HashMap<String, Pusher>,
    /// Jobs queued or running: the same job is never queued twice (a form
    /// sent twice, a restart while it runs).
    inflight: std::sync::Mutex<HashSet<Job>>,
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
}

impl Pool {
    /// Starts one worker per system and one for finishing jobs on the
    /// current tokio runtime. `limits` is each system's `max_sessions`.
    pub fn start(
        service: RequestService,
        runner: Arc<RobotRunner>,
        workers: usize,
        limits: &HashMap<String, u32>,
    ) -> Pool {
        let mut queues = HashMap::new();
        let mut storages = Vec::new();
        for (name, limit) in limits
            .iter()
            .map(|(s, l)| (s.clone(), (*l).max(1) as usize))
            .chain([(FINISH.to_string(), 1)])
        {
            let (storage, sink) = queue();
            queues.insert(name.clone(), sink);
            storages.push((name, limit, storage));
        }
        let shared = Arc::new(Shared {
            service,
            runner,
            sessions: Arc::new(Semaphore::new(workers.max(1))),
            queues,
            inflight: Default::default(),
        });
        let pool = Pool { shared };
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

    /// Queues a job, unless the same job is queued or running already.
    pub async fn push(&self, job: Job) -> Result<(), PoolError> {
        let queue = match &job {
            Job::Robot { system, .. } => system.as_str(),
            Job::Finish { .. } => FINISH,
        };
        let sink = self
            .shared
            .queues
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
/// queues what follows it. A failed job leaves the request as the store
/// has it: its jobs are queued again at the next start.
async fn handle(job: Job, pool: Data<Pool>) -> Result<(), BoxDynError> {
    tracing::debug!(request = job.request(), "job {job:?} starts");
    let shared = pool.shared.clone();
    let _session = match &job {
        Job::Robot { .. } => Some(shared.sessions.clone().acquire_owned().await?),
        Job::Finish { .. } => None,
    };
    let j = job.clone();
    let s = shared.clone();
    let next = tokio::task::spawn_blocking(move || s.service.run_job(&s.runner, &j)).await;
    if let Ok(mut set) = shared.inflight.lock() {
        set.remove(&job);
    }
    let next = next?;
    match next {
        Ok(Some(next)) => pool.push(next).await?,
        Ok(None) => {}
        Err(e) => {
            tracing::error!(request = job.request(), "job {job:?} failed: {e:#}");
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
