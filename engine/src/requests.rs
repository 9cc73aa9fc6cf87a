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

/// What a request is listed by ([`marc_store::Doc`]): the fields
/// [`marc_request::worklist::select`] searches, filters and sorts by, in the
/// form they compare in there (lowercased names, dates that sort as text),
/// and [`marc_request::viewer_tags`] for [`marc_request::may_view`]. Made
/// from the stored JSON without decoding the rest of the record.
fn list_doc(key: &[u8], value: &[u8]) -> marc_store::Result<marc_store::Doc> {
    let f: ListFields =
        serde_json::from_slice(value).map_err(|e| marc_store::StoreError::Decode {
            table: REQUESTS.to_string(),
            key: String::from_utf8_lossy(key).into_owned(),
            reason: e.to_string(),
        })?;
    let (id, name) = (f.id.to_lowercase(), f.name.to_lowercase());
    let search = format!("{id}\n{name}\n{}\n{}", f.cpr, f.cpr.replace('-', ""));
    let caseworker = match &f.caseworker {
        // Sorts as `Option` does: nobody before anybody.
        None => String::new(),
        Some(c) => format!("={c}"),
    };
    let fields = [
        ("id", f.id.clone()),
        ("name", name),
        // Nanoseconds from the earliest time chrono's nanoseconds reach,
        // zero-padded: sorts as text as the times do.
        (
            "ordered",
            format!(
                "{:020}",
                i128::from(f.created.timestamp_nanos_opt().unwrap_or(i64::MIN))
                    - i128::from(i64::MIN)
            ),
        ),
        ("deadline", f.deadline.to_string()),
        ("status", f.state.as_str().to_string()),
        ("caseworker", caseworker),
        ("test_run", if f.test_run { "1" } else { "" }.to_string()),
    ];
    let tags = marc_request::viewer_tags(&f.into_record());
    Ok(marc_store::Doc {
        search,
        tags,
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    })
}

/// The tags a list for `who` asks for ([`marc_request::viewers`]).
fn any_tag(who: &marc_request::Principal) -> Option<Vec<String>> {
    match marc_request::viewers(who) {
        marc_request::Viewers::All => None,
        marc_request::Viewers::AnyTag(tags) => Some(tags),
    }
}

/// The caseworkers' list as [`list`], [`marc_request::may_view`] and
/// [`marc_request::worklist::select`] make it, asked of the store as one
/// query ([`marc_store::Table::query_docs`]): on PostgreSQL an indexed
/// query, on sled a scan that decodes only the listed fields. Only the
/// page's requests are read whole. An administrator's test run is not a
/// case and is never listed.
pub fn worklist(
    store: &Store,
    who: &marc_request::Principal,
    q: &marc_request::worklist::Query,
) -> Result<marc_request::worklist::Page> {
    use marc_request::worklist::{search_words, waits_for_a_person};
    use marc_request::RequestState;
    let mut field_in = vec![("test_run".to_string(), vec![String::new()])];
    if let Some(s) = q.state {
        field_in.push(("status".into(), vec![s.as_str().to_string()]));
    }
    if q.waiting {
        let waiting = RequestState::ALL
            .iter()
            .filter(|s| waits_for_a_person(**s))
            .map(|s| s.as_str().to_string())
            .collect();
        field_in.push(("status".into(), waiting));
    }
    let query = marc_store::DocQuery {
        any_tag: any_tag(who),
        field_in,
        words: search_words(&q.search),
        sort: q.sort.as_str().to_string(),
        descending: q.descending,
        page: q.page,
        per_page: q.per_page,
    };
    let found = store.table(REQUESTS)?.query_docs(&query, list_doc)?;
    let rows = found
        .keys
        .iter()
        .map(|k| get(store, &String::from_utf8_lossy(k)))
        .collect::<Result<Vec<_>>>()?;
    Ok(marc_request::worklist::Page {
        rows,
        total: found.total,
        page: found.page,
        pages: found.pages,
    })
}

/// Every request `who` may see ([`marc_request::may_view`]), newest first,
/// without an administrator's test runs: a citizen's own list. An indexed
/// query on PostgreSQL, like [`worklist`].
pub fn visible_to(store: &Store, who: &marc_request::Principal) -> Result<Vec<RequestRecord>> {
    let query = marc_store::DocQuery {
        any_tag: any_tag(who),
        field_in: vec![("test_run".to_string(), vec![String::new()])],
        sort: "ordered".into(),
        descending: true,
        page: 1,
        per_page: usize::MAX,
        ..Default::default()
    };
    store
        .table(REQUESTS)?
        .query_docs(&query, list_doc)?
        .keys
        .iter()
        .map(|k| get(store, &String::from_utf8_lossy(k)))
        .collect()
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
    fn the_worklist_shows_what_the_full_list_shows_on_sled() {
        the_worklist_shows_what_the_full_list_shows(&Store::temporary().unwrap());
    }

    #[test]
    fn the_worklist_shows_what_the_full_list_shows_on_postgres() {
        let db = marc_store::testing::TestDatabase::new().unwrap();
        the_worklist_shows_what_the_full_list_shows(&Store::connect(db.url()).unwrap());
    }

    fn the_worklist_shows_what_the_full_list_shows(store: &Store) {
        use marc_request::access::Role;
        use marc_request::worklist::{select, Query, SortBy};
        use marc_request::{may_view, Principal, RequestState};
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
                // Ids in one order, creation times in another (some with
                // fractions of a second, which must not sort as text does).
                "created": t0 + chrono::Duration::seconds((i * 7919) % 300)
                    + chrono::Duration::milliseconds(if u % 6 == 1 { 500 } else { 0 }),
                "deadline": format!("2026-01-{:02}", 1 + u % 28),
                "state": states[u % 4],
                "runs": {"esdh": {"status": "complete", "documents": 3, "attempts": 1,
                    "error": null, "sessions": ["s1"], "webdriver_commands": 10, "seconds": 1.5}},
                "pdf": null, "marks": 0, "documents": u, "note": format!("note {i}"),
                "caseworker": u.is_multiple_of(3).then_some("kbh"),
                "requested_by": if u.is_multiple_of(5) {
                    serde_json::json!({"kind": "cpr", "id": "050607-4321"})
                } else if u % 11 == 1 {
                    serde_json::json!({"kind": "cvr", "id": "12345678"})
                } else {
                    serde_json::Value::Null
                },
                "test_run": u % 7 == 3,
            }))
            .unwrap();
            insert(store, &rec).unwrap();
        }
        let staff = Principal::Staff {
            user: "kbh".into(),
            role: Role::Caseworker,
        };
        let citizen = Principal::Citizen {
            cpr: "050607-4321".into(),
            name: "Bo".into(),
        };
        let firm = Principal::ThirdParty {
            party: marc_request::Party::Cvr("12345678".into()),
            name: "Advokat ApS".into(),
        };
        let manager = Principal::Staff {
            user: "m".into(),
            role: Role::Manager,
        };
        let check = || {
            for who in [&staff, &citizen, &firm, &manager] {
                let mut want: Vec<String> = list(store)
                    .unwrap()
                    .into_iter()
                    .filter(|r| may_view(who, r) && !r.test_run)
                    .map(|r| r.id)
                    .collect();
                want.reverse();
                let got: Vec<String> = visible_to(store, who)
                    .unwrap()
                    .into_iter()
                    .map(|r| r.id)
                    .collect();
                assert_eq!(got, want, "visible_to {who:?}");
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
                    ("ai-2026-0001 åse", None, SortBy::Caseworker, false, 1),
                    ("", None, SortBy::Ordered, true, 2),
                ] {
                    for waiting in [false, true] {
                        let q = Query {
                            search: search.into(),
                            state,
                            waiting,
                            sort,
                            descending,
                            page,
                            ..Default::default()
                        };
                        let all: Vec<_> = list(store)
                            .unwrap()
                            .into_iter()
                            .filter(|r| may_view(who, r) && !r.test_run)
                            .collect();
                        let want = select(all, &q);
                        let got = worklist(store, who, &q).unwrap();
                        let json = |p: &marc_request::worklist::Page| {
                            serde_json::to_value(&p.rows).unwrap()
                        };
                        assert_eq!(json(&got), json(&want), "{q:?}");
                        assert_eq!(
                            (got.total, got.page, got.pages),
                            (want.total, want.page, want.pages),
                            "{q:?}"
                        );
                    }
                }
            }
        };
        check();
        // Changes after a list was made show in the next one.
        for i in [1, 7, 150, 299] {
            update(store, &format!("AI-2026-{i:06}-abcd"), |r| {
                r.name = format!("Zoë Ændret {i}");
                r.state = RequestState::HeldForReview;
                r.caseworker = Some("ny".into());
                Ok(())
            })
            .unwrap();
        }
        check();
        store
            .table(REQUESTS)
            .unwrap()
            .put("AI-2026-000100-abcd", b"[]")
            .unwrap();
        let e = worklist(store, &staff, &Query::default()).unwrap_err();
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
