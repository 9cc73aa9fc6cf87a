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
use tokio::sync::{Mutex, Semaphore};

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
    queues: HashMap<String, Mutex<MemorySink<Job>>>,
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
            queues.insert(name.clone(), Mutex::new(sink));
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
        // One pusher at a time per queue: apalis' memory sink must not be
        // sent to from two tasks at once.
        let mut sink = sink.lock().await;
        let sent = sink.send(TaskBuilder::new(job.clone()).build()).await;
        if let Err(e) = sent {
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

/// An in-memory queue: the backend a worker takes from, and a sink that
/// pushes to it (apalis' `MemoryStorage` keeps its own sink private).
fn queue() -> (MemoryStorage<Job>, MemorySink<Job>) {
    let (tx, rx) = futures_channel::mpsc::unbounded::<Task<Job>>();
    let tx: Box<dyn Sink<Task<Job>, Error = MemoryStorageError> + Send + Sync + Unpin> =
        Box::new(tx.sink_map_err(MemoryStorageError::from));
    let sink = MemorySink::new(Arc::new(futures_util::lock::Mutex::new(tx)));
    (MemoryStorage::new_with(sink.clone(), rx.boxed()), sink)
}

/// Runs one job in a blocking thread (robots and assembly block), then
/// queues what follows it. A failed job leaves the request as the store
/// has it: its jobs are queued again at the next start.
async fn handle(job: Job, pool: Data<Pool>) -> Result<(), BoxDynError> {
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
