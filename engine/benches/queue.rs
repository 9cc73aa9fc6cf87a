//! The shared job queue's own cost per job (issue 13, benchmark c): from a
//! job's push to the moment a worker's handler starts it, on a throwaway
//! PostgreSQL cluster, through `SharedQueue` exactly as `marc worker` uses
//! it (apalis-postgres, one job per poll, marc's lease), with a handler that
//! only records the time.
//!
//! Two loads: jobs pushed one at a time into an idle queue (each waits for
//! the next poll: the latency a lone request sees), and a burst of jobs
//! pushed at once (throughput, and the wait at the back of the line).
//! Prints p50/p99/max of push → start in ms, and jobs per second for the
//! burst. Bounded: it stops by itself within a minute or so.
//!
//!   cargo bench -p marc --bench queue [-- JOBS]

use apalis::prelude::*;
use marc::service::queue::{Lease, SharedQueue};
use marc_store::testing::{PgCluster, TestDatabase};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A job that carries when it was pushed.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Ping {
    pushed_us: u128,
}

type Seen = Arc<Mutex<Vec<f64>>>;

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

async fn record(p: Ping, seen: Data<Seen>) -> Result<(), BoxDynError> {
    let waited_ms = (now_us().saturating_sub(p.pushed_us)) as f64 / 1000.0;
    if let Ok(mut s) = seen.lock() {
        s.push(waited_ms);
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(what: &str, mut v: Vec<f64>) {
    v.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{what:<42} n={:<4} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms",
        v.len(),
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        v.last().copied().unwrap_or(f64::NAN)
    );
}

async fn wait_for(seen: &Seen, n: usize, within: Duration) -> bool {
    let t0 = Instant::now();
    while seen.lock().map(|s| s.len()).unwrap_or(0) < n {
        if t0.elapsed() > within {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    true
}

fn main() {
    let jobs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let cluster = PgCluster::start().expect("a PostgreSQL cluster (Debian's postgresql)");
    let db = TestDatabase::on_url(&cluster.url()).expect("a test schema");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let queue = SharedQueue::connect(db.url(), Lease::default())
            .await
            .expect("the shared queue");
        let seen: Seen = Default::default();
        let worker = WorkerBuilder::new("bench-queue")
            .backend(queue.storage_of::<Ping>("bench").with_pubsub())
            .concurrency(4)
            .data(seen.clone())
            .build(record);
        tokio::spawn(async move { worker.run().await });
        let mut sink = queue.storage_of::<Ping>("bench");

        // One at a time into an idle queue.
        let lone = (jobs / 4).clamp(10, 100);
        for i in 0..lone {
            sink.push(Ping { pushed_us: now_us() }).await.expect("push");
            if !wait_for(&seen, i + 1, Duration::from_secs(10)).await {
                println!("a lone job was not started within 10 s");
                return;
            }
        }
        let lone_waits = std::mem::take(&mut *seen.lock().expect("lock"));
        report("lone job, push → start", lone_waits);

        // A burst.
        let t0 = Instant::now();
        for _ in 0..jobs {
            sink.push(Ping { pushed_us: now_us() }).await.expect("push");
        }
        let pushed = t0.elapsed().as_secs_f64();
        let all = wait_for(&seen, jobs, Duration::from_secs(60)).await;
        let took = t0.elapsed().as_secs_f64();
        let burst = std::mem::take(&mut *seen.lock().expect("lock"));
        let done = burst.len();
        report(&format!("burst of {jobs}, push → start"), burst);
        println!(
            "burst: pushed in {:.2} s ({:.0} pushes/s); {done} started in {took:.2} s ({:.0} jobs/s){}",
            pushed,
            jobs as f64 / pushed,
            done as f64 / took,
            if all { "" } else { " — stopped at 60 s" }
        );
    });
    rt.shutdown_timeout(Duration::from_secs(2));
}
