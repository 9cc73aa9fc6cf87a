//! Audit append rate: one flush per append vs batched appends (one flush per batch).
//! Run: `cargo run --release -p marc-audit --example append_rate [N]` (default N = 2000).
//! Uses an on-disk store in a temporary directory, so flushes are real fsyncs.

use marc_audit::{AuditLog, NewEntry};
use marc_store::Store;
use serde_json::json;
use std::time::Instant;

fn entry(i: usize) -> NewEntry {
    NewEntry::robot("aktindsigt-sbsys", "click")
        .request("req-2026-0042")
        .session("sess-7")
        .system("sbsys")
        .detail(json!({"selector": "#doc-list tr:nth-child(3) a", "i": i, "url": "https://sbsys.example/sag/123"}))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = std::env::temp_dir().join(format!("marc-audit-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(&dir)?;
    let log = AuditLog::open(&store)?;

    let t = Instant::now();
    for i in 0..n {
        log.append(entry(i))?;
    }
    let single = t.elapsed().as_secs_f64();

    let mut rates = Vec::new();
    for batch in [10usize, 100] {
        let t = Instant::now();
        let mut done = 0;
        while done < n {
            let k = batch.min(n - done);
            log.append_batch((done..done + k).map(entry).collect())?;
            done += k;
        }
        rates.push((batch, n as f64 / t.elapsed().as_secs_f64()));
    }

    let t = Instant::now();
    let report = log.verify()?;
    let verify = t.elapsed().as_secs_f64();
    assert!(report.is_ok(), "{report:?}");

    println!(
        "audit append, {n} entries each, on-disk sled store at {}",
        dir.display()
    );
    println!(
        "  flush per append : {:>9.0} appends/s ({:.3} ms/append)",
        n as f64 / single,
        single * 1000.0 / n as f64
    );
    for (b, r) in rates {
        println!("  batches of {b:<6}: {r:>9.0} appends/s");
    }
    println!(
        "  verify {} entries: {:.3} s ({:.0} entries/s)",
        report.entries,
        verify,
        report.entries as f64 / verify
    );
    drop(log);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
