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

/// The fields of a stored request that [`marc_request::may_view`] and
/// [`marc_request::worklist::select`] read; the rest of the JSON is skipped
/// unread. Keep in step with them.
#[derive(serde::Deserialize)]
struct ListFields {
    id: String,
    cpr: String,
    name: String,
    created: chrono::DateTime<chrono::Utc>,
    deadline: chrono::NaiveDate,
    state: marc_request::RequestState,
    #[serde(default)]
    caseworker: Option<String>,
    #[serde(default)]
    requested_by: Option<marc_request::Party>,
    #[serde(default)]
    test_run: bool,
}

impl ListFields {
    /// A record with only these fields (the others empty): for choosing
    /// rows, never to show.
    fn into_record(self) -> RequestRecord {
        RequestRecord {
            id: self.id,
            cpr: self.cpr,
            name: self.name,
            address: String::new(),
            requester: String::new(),
            period_from: self.deadline,
            period_to: self.deadline,
            topics: Vec::new(),
            systems: Vec::new(),
            created: self.created,
            deadline: self.deadline,
            state: self.state,
            runs: Default::default(),
            pdf: None,
            marks: 0,
            documents: 0,
            note: String::new(),
            leaks: 0,
            delivery: None,
            requested_by: self.requested_by,
            consent: None,
            caseworker: self.caseworker,
            history: Vec::new(),
            pdf_sha256: None,
            notes: Vec::new(),
            test_run: self.test_run,
        }
    }
}

/// The caseworkers' list as [`list`], [`marc_request::may_view`] and
/// [`marc_request::worklist::select`] make it, without decoding every
/// request in full: the rows are chosen from the fields the list searches,
/// filters and sorts by, and only the page's requests are read whole. With
/// 10,000 requests most of a full list's time is decoding and freeing
/// records it never shows.
pub fn worklist(
    store: &Store,
    who: &marc_request::Principal,
    q: &marc_request::worklist::Query,
) -> Result<marc_request::worklist::Page> {
    let t = store.table(REQUESTS)?;
    let mut rows = Vec::new();
    for (k, v) in t.scan_prefix("")? {
        let f: ListFields =
            serde_json::from_slice(&v).map_err(|e| marc_store::StoreError::Decode {
                table: REQUESTS.to_string(),
                key: String::from_utf8_lossy(&k).into_owned(),
                reason: e.to_string(),
            })?;
        let r = f.into_record();
        // An administrator's test run is not a case.
        if marc_request::may_view(who, &r) && !r.test_run {
            rows.push(r);
        }
    }
    rows.sort_by_key(|r| r.created);
    let mut page = marc_request::worklist::select(rows, q);
    for row in &mut page.rows {
        *row = get(store, &row.id)?;
    }
    Ok(page)
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
    fn the_worklist_shows_what_the_full_list_shows() {
        use marc_request::access::Role;
        use marc_request::worklist::{select, Query, SortBy};
        use marc_request::{may_view, Principal, RequestState};
        let store = Store::temporary().unwrap();
        let t0 = chrono::DateTime::UNIX_EPOCH;
        let names = ["Anna Holm", "Bo Berg", "Åse Østergaard", "carl holm"];
        let states = ["received", "held_for_review", "delivered", "incomplete"];
        for i in 0..300i64 {
            let u = i as usize;
            let rec: RequestRecord = serde_json::from_value(serde_json::json!({
                "id": format!("AI-2026-{i:06}-abcd"),
                "cpr": format!("01020{}-12{:02}", u % 4, u % 100),
                "name": names[u % 4],
                "address": "Vestergade 1", "requester": names[u % 4],
                "period_from": "2020-01-01", "period_to": "2026-01-01",
                "topics": ["sundhed"], "systems": ["esdh", "sbsys"],
                // Ids in one order, creation times in another.
                "created": t0 + chrono::Duration::seconds((i * 7919) % 300),
                "deadline": format!("2026-01-{:02}", 1 + u % 28),
                "state": states[u % 4],
                "runs": {"esdh": {"status": "complete", "documents": 3, "attempts": 1,
                    "error": null, "sessions": ["s1"], "webdriver_commands": 10, "seconds": 1.5}},
                "pdf": null, "marks": 0, "documents": u, "note": format!("note {i}"),
                "caseworker": u.is_multiple_of(3).then_some("kbh"),
                "requested_by": u.is_multiple_of(5).then(|| serde_json::json!({"kind": "cpr", "id": "050607-4321"})),
            }))
            .unwrap();
            insert(&store, &rec).unwrap();
        }
        let staff = Principal::Staff {
            user: "kbh".into(),
            role: Role::Caseworker,
        };
        let citizen = Principal::Citizen {
            cpr: "050607-4321".into(),
            name: "Bo".into(),
        };
        for who in [&staff, &citizen] {
            for (search, state, sort, descending, page) in [
                ("", None, SortBy::Deadline, false, 1),
                ("holm", None, SortBy::Name, true, 2),
                ("0102011", None, SortBy::Ordered, false, 1),
                (
                    "",
                    Some(RequestState::HeldForReview),
                    SortBy::Caseworker,
                    true,
                    3,
                ),
                ("", None, SortBy::Status, false, 99),
                ("nobody", None, SortBy::Id, false, 1),
            ] {
                let q = Query {
                    search: search.into(),
                    state,
                    sort,
                    descending,
                    page,
                    ..Default::default()
                };
                let all: Vec<_> = list(&store)
                    .unwrap()
                    .into_iter()
                    .filter(|r| may_view(who, r))
                    .collect();
                let want = select(all, &q);
                let got = worklist(&store, who, &q).unwrap();
                let json =
                    |p: &marc_request::worklist::Page| serde_json::to_value(&p.rows).unwrap();
                assert_eq!(json(&got), json(&want), "{q:?}");
                assert_eq!(
                    (got.total, got.page, got.pages),
                    (want.total, want.page, want.pages),
                    "{q:?}"
                );
            }
        }
        store
            .table(REQUESTS)
            .unwrap()
            .put("AI-2026-000100-abcd", b"[]")
            .unwrap();
        let e = worklist(&store, &staff, &Query::default()).unwrap_err();
        assert!(e.to_string().contains("AI-2026-000100-abcd"), "{e}");
    }

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
