//! The stored requests: created under a real counter and never overwritten,
//! read, listed, and changed atomically (compare-and-swap), so robot jobs of
//! one request running at once, a caseworker and the engine cannot undo one
//! another's changes.

use anyhow::{anyhow, bail, Context, Result};
use marc_request::RequestRecord;
use marc_store::Store;

const REQUESTS: &str = "requests";
const COUNTERS: &str = "counters";
/// Form submissions already turned into requests: key → request id.
const SUBMISSIONS: &str = "submissions";

/// The next value of a named counter, starting at 1. Compare-and-swap, so
/// two processes or threads never get the same value.
pub fn next_counter(store: &Store, name: &str) -> Result<u64> {
    let t = store.table(COUNTERS)?;
    loop {
        let old = t.get(name)?;
        let n = match old.as_deref() {
            None => 0,
            Some(b) => u64::from_be_bytes(
                b.try_into()
                    .map_err(|_| anyhow!("counter {name:?} in the store is damaged"))?,
            ),
        };
        let next = n + 1;
        if t.compare_and_swap(name, old.as_deref(), Some(&next.to_be_bytes()))? {
            return Ok(next);
        }
    }
}

/// A new request id: `AI-<year>-<counter>-<4 hex>`. The counter makes it
/// unique in this data directory; the suffix keeps ids (and the Digital
/// Post message ids derived from them) apart across installations.
pub fn new_id(store: &Store, year: i32) -> Result<String> {
    let n = next_counter(store, "request")?;
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..4];
    Ok(format!("AI-{year}-{n:06}-{suffix}"))
}

/// Stores a new request; fails rather than overwrite an existing one.
pub fn insert(store: &Store, rec: &RequestRecord) -> Result<()> {
    let bytes = serde_json::to_vec(rec)?;
    if !store
        .table(REQUESTS)?
        .compare_and_swap(&rec.id, None, Some(&bytes))?
    {
        bail!("a request {} exists already; it is not overwritten", rec.id);
    }
    store.flush()?;
    Ok(())
}

/// Writes a request record as it is and flushes. For a single writer that
/// has just read the record; concurrent changes go through [`update`].
pub fn save(store: &Store, rec: &RequestRecord) -> Result<()> {
    store.table(REQUESTS)?.put_json(&rec.id, rec)?;
    store.flush()?;
    Ok(())
}

pub fn load(store: &Store, id: &str) -> Result<Option<RequestRecord>> {
    Ok(store.table(REQUESTS)?.get_json(id)?)
}

/// A request that must exist.
pub fn get(store: &Store, id: &str) -> Result<RequestRecord> {
    load(store, id)?.ok_or_else(|| anyhow!("no request {id:?}; `marc requests` lists them"))
}

/// Changes a request atomically: `change` runs on the current record and
/// again if someone else wrote it meanwhile. Returns the record as written
/// and what `change` returned the last time. An `Err` from `change` leaves
/// the record as it was.
pub fn update<T>(
    store: &Store,
    id: &str,
    mut change: impl FnMut(&mut RequestRecord) -> Result<T>,
) -> Result<(RequestRecord, T)> {
    let t = store.table(REQUESTS)?;
    loop {
        let old = t
            .get(id)?
            .ok_or_else(|| anyhow!("no request {id:?}; `marc requests` lists them"))?;
        let mut rec: RequestRecord = serde_json::from_slice(&old)
            .with_context(|| format!("the stored request {id} is unreadable"))?;
        let out = change(&mut rec)?;
        let new = serde_json::to_vec(&rec)?;
        if t.compare_and_swap(id, Some(&old), Some(&new))? {
            store.flush()?;
            return Ok((rec, out));
        }
    }
}

/// All requests, oldest first.
pub fn list(store: &Store) -> Result<Vec<RequestRecord>> {
    let mut v: Vec<RequestRecord> = store
        .table(REQUESTS)?
        .scan_json("")?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    v.sort_by_key(|r| r.created);
    Ok(v)
}

/// Remembers that a form submission made request `id`; returns the request
/// an earlier identical submission made instead, if any (a double click or
/// a reloaded form makes one request, not two).
pub fn claim_submission(store: &Store, key: &str, id: &str) -> Result<Option<String>> {
    let t = store.table(SUBMISSIONS)?;
    if t.compare_and_swap(key, None, Some(id.as_bytes()))? {
        store.flush()?;
        return Ok(None);
    }
    Ok(t.get(key)?
        .map(|v| String::from_utf8_lossy(&v).into_owned()))
}

/// Forgets a submission whose request could not be made, so the same form
/// can be sent again.
pub fn release_submission(store: &Store, key: &str) -> Result<()> {
    store.table(SUBMISSIONS)?.remove(key)?;
    store.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_values_are_unique_across_threads_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3 {
            let store = Store::open(dir.path()).unwrap();
            let got: Vec<u64> = std::thread::scope(|s| {
                let hs: Vec<_> = (0..4)
                    .map(|_| {
                        s.spawn(|| {
                            (0..50)
                                .map(|_| next_counter(&store, "request").unwrap())
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
            });
            for n in got {
                assert!(seen.insert(n), "counter value {n} issued twice");
            }
            store.flush().unwrap();
        }
        assert_eq!(seen.len(), 600);
        assert_eq!(*seen.iter().max().unwrap(), 600);
    }
}
