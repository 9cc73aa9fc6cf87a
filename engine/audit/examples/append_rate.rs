//! Audit append rate, before and after authenticated entries with a checkpoint
//! outside the store, side by side in one run.
//!
//! Run: `cargo run --release -p marc-audit --example append_rate [N]` (default N = 2000).
//!
//! - "before": the design this replaced, rebuilt here as the baseline: SHA-256
//!   chain without a key, the head record in the store, one flush per append.
//! - "after": `AuditLog::append`: HMAC-SHA256 under the derived key, one flush,
//!   then the checkpoint file rewritten (temporary file, fsync, rename).
//!
//! Both use on-disk stores in temporary directories, so flushes are real fsyncs,
//! and run in alternating rounds so a busy machine slows both alike.

use marc_audit::{canonical_json, AuditKey, AuditLog, Entry, NewEntry, GENESIS, TABLE};
use marc_store::{be_key, Store};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Instant;

fn entry(i: usize) -> NewEntry {
    NewEntry::robot("aktindsigt-sbsys", "click")
        .request("req-2026-0042")
        .session("sess-7")
        .system("sbsys")
        .detail(json!({"selector": "#doc-list tr:nth-child(3) a", "i": i, "url": "https://sbsys.example/sag/123"}))
}

/// The replaced design: unkeyed SHA-256 over the same fields, head in the store.
struct Baseline {
    store: Store,
    table: marc_store::Table,
    head: marc_store::Table,
}

impl Baseline {
    fn append(&self, ne: NewEntry) -> Result<(), Box<dyn std::error::Error>> {
        let (seq, prev) = match self.table.last()? {
            None => (1, GENESIS.to_string()),
            Some((_, v)) => {
                let e: Entry = serde_json::from_slice(&v)?;
                (e.seq + 1, e.hash)
            }
        };
        let mut e = Entry {
            seq,
            time: chrono::Utc::now().to_rfc3339(),
            actor_kind: ne.actor_kind,
            actor: ne.actor,
            action: ne.action,
            request: ne.request,
            session: ne.session,
            system: ne.system,
            detail: ne.detail,
            prev,
            key: String::new(),
            hash: String::new(),
        };
        let mut d = String::new();
        canonical_json(&e.detail, &mut d);
        let mut h = Sha256::new();
        for part in [&e.time, &e.actor, &e.action, &d, &e.prev] {
            h.update(part.as_bytes());
        }
        e.hash = hex::encode(h.finalize());
        let bytes = serde_json::to_vec(&e)?;
        self.table
            .compare_and_swap(be_key(seq), None, Some(&bytes))?;
        self.head
            .put_json("head", &json!({"seq": seq, "hash": e.hash}))?;
        self.store.flush()?;
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let rounds = 4;
    let per_round = n.div_ceil(rounds);
    let dir = tempfile::tempdir()?;
    let before_store = Store::open(dir.path().join("before"))?;
    let before = Baseline {
        table: before_store.table(TABLE)?,
        head: before_store.table("audit_head")?,
        store: before_store.clone(),
    };
    let after_store = Store::open(dir.path().join("after"))?;
    let key = AuditKey::from_vault_key(&marc_vault::VaultKey::generate());
    let after = AuditLog::open(&after_store, key)?;

    let (mut t_before, mut t_after) = (0.0f64, 0.0f64);
    let mut done = 0;
    for _ in 0..rounds {
        let k = per_round.min(n - done);
        let t = Instant::now();
        for i in done..done + k {
            before.append(entry(i))?;
        }
        t_before += t.elapsed().as_secs_f64();
        let t = Instant::now();
        for i in done..done + k {
            after.append(entry(i))?;
        }
        t_after += t.elapsed().as_secs_f64();
        done += k;
    }

    let mut batch_rates = Vec::new();
    for batch in [10usize, 100] {
        let t = Instant::now();
        let mut done = 0;
        while done < n {
            let k = batch.min(n - done);
            after.append_batch((done..done + k).map(entry).collect())?;
            done += k;
        }
        batch_rates.push((batch, n as f64 / t.elapsed().as_secs_f64()));
    }
    let t = Instant::now();
    let report = after.verify()?;
    let verify = t.elapsed().as_secs_f64();
    if !report.is_ok() {
        return Err(format!("the benchmark's own log does not verify: {report}").into());
    }

    println!("audit append, {n} entries each, on-disk sled stores, {rounds} alternating rounds");
    println!(
        "  before (SHA-256, head in store)         : {:>7.0} appends/s ({:.3} ms/append)",
        n as f64 / t_before,
        t_before * 1000.0 / n as f64
    );
    println!(
        "  after  (HMAC-SHA256, checkpoint file)   : {:>7.0} appends/s ({:.3} ms/append)",
        n as f64 / t_after,
        t_after * 1000.0 / n as f64
    );
    for (b, r) in batch_rates {
        println!("  after, batches of {b:<4}                 : {r:>7.0} appends/s");
    }
    println!(
        "  verify {} entries (MACs + checkpoint)   : {:.3} s ({:.0} entries/s)",
        report.entries,
        verify,
        report.entries as f64 / verify
    );
    Ok(())
}
