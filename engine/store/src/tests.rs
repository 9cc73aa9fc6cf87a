//! One behaviour suite, two stores: every test in [`both`] runs on a sled
//! data directory and on PostgreSQL (a fresh schema on a throwaway cluster,
//! or on `MARC_TEST_DATABASE_URL`). Then what only PostgreSQL has: other
//! processes, restarts, a stopped server.

use crate::testing::{PgCluster, TestDatabase};
use crate::{be_key, postgres::Limits, Store, StoreError};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A store and what keeps it alive (its directory or its schema).
struct Fixture {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    _db: Option<TestDatabase>,
}

fn sled() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("data")).unwrap();
    Fixture {
        store,
        _dir: Some(dir),
        _db: None,
    }
}

fn postgres() -> Fixture {
    let db = TestDatabase::new().unwrap_or_else(|e| panic!("a test database: {e}"));
    let store = Store::connect(db.url()).unwrap_or_else(|e| panic!("connect: {e}"));
    assert_eq!(store.backend_name(), "postgres");
    Fixture {
        store,
        _dir: None,
        _db: Some(db),
    }
}

/// Declares each behaviour test once per backend: `on_sled::NAME` and
/// `on_postgres::NAME`.
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod on_sled {
            $( #[test] fn $name() { let f = super::sled(); super::$name(&f.store); } )*
        }
        mod on_postgres {
            $( #[test] fn $name() { let f = super::postgres(); super::$name(&f.store); } )*
        }
    };
}

both!(
    put_get_remove,
    tables_are_separate,
    compare_and_swap_succeeds_and_conflicts,
    compare_and_swap_counter_from_8_threads,
    scan_prefix_finds_exactly_the_prefix,
    iter_goes_in_key_byte_order,
    iter_pages_through_many_entries,
    last_is_the_greatest_key,
    len_and_is_empty,
    next_id_is_unique_across_threads,
    json_helpers,
    flush_succeeds,
    query_docs_agrees_with_select_and_follows_writes,
);

/// A record for [`query_docs_agrees_with_select_and_follows_writes`]:
/// `name|state|tag`, listed by its lowercased name and state.
fn doc_of_record(key: &[u8], value: &[u8]) -> crate::Result<crate::Doc> {
    let text = String::from_utf8_lossy(value);
    let mut parts = text.split('|');
    let (Some(name), Some(state), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(StoreError::Decode {
            table: "people".into(),
            key: String::from_utf8_lossy(key).into_owned(),
            reason: "not name|state|tag".into(),
        });
    };
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("name".to_string(), name.to_lowercase());
    if !state.is_empty() {
        fields.insert("state".to_string(), state.to_string());
    }
    Ok(crate::Doc {
        search: format!("{}\n{}", String::from_utf8_lossy(key), name.to_lowercase()),
        tags: vec![tag.to_string()],
        fields,
    })
}

fn query_docs_agrees_with_select_and_follows_writes(s: &Store) {
    use crate::docs::{select, DocQuery};
    let t = s.table("people").unwrap();
    let names = ["Åse Holm", "bo berg", "Carl HOLM", "Dorte 50%_x", "Ærø"];
    let states = ["open", "done", "", "held"];
    for i in 0..120usize {
        let v = format!("{}|{}|{}", names[i % 5], states[i % 4], i % 3);
        t.put(format!("p{:03}", (i * 37) % 120), v).unwrap();
    }
    let all = |t: &crate::Table| -> Vec<(Vec<u8>, crate::Doc)> {
        t.iter()
            .map(|r| {
                let (k, v) = r.unwrap();
                let d = doc_of_record(&k, &v).unwrap();
                (k, d)
            })
            .collect()
    };
    let queries = [
        DocQuery {
            sort: "name".into(),
            page: 1,
            per_page: 7,
            ..Default::default()
        },
        DocQuery {
            sort: "name".into(),
            descending: true,
            page: 3,
            per_page: 7,
            ..Default::default()
        },
        DocQuery {
            sort: "state".into(),
            words: vec!["holm".into()],
            page: 99,
            per_page: 5,
            ..Default::default()
        },
        DocQuery {
            sort: "name".into(),
            words: vec!["åse".into(), "p0".into()],
            page: 1,
            per_page: 50,
            ..Default::default()
        },
        DocQuery {
            sort: "name".into(),
            words: vec!["50%_".into()],
            page: 1,
            per_page: 50,
            ..Default::default()
        },
        DocQuery {
            sort: "name".into(),
            words: vec!["%".into()],
            page: 1,
            per_page: 50,
            ..Default::default()
        },
        DocQuery {
            sort: "state".into(),
            any_tag: Some(vec!["1".into(), "2".into()]),
            field_in: vec![("state".into(), vec!["".into(), "held".into()])],
            page: 2,
            per_page: 4,
            ..Default::default()
        },
        DocQuery {
            sort: "name".into(),
            any_tag: Some(vec![]),
            page: 1,
            per_page: 4,
            ..Default::default()
        },
    ];
    let check = |t: &crate::Table| {
        for q in &queries {
            let got = t.query_docs(q, doc_of_record).unwrap();
            assert_eq!(got, select(all(t), q), "{q:?}");
        }
    };
    check(&t);
    // Writes after the first query: the next answer follows them.
    t.put("p005", "Zelda|done|1").unwrap();
    assert!(t
        .compare_and_swap(
            "p006",
            t.get("p006").unwrap().as_deref(),
            Some(b"aaron|held|2")
        )
        .unwrap());
    t.remove("p007").unwrap();
    assert!(t
        .compare_and_swap("p999", None, Some(b"Ny|open|0"))
        .unwrap());
    check(&t);
    // A value the caller cannot list fails the query, naming the key.
    t.put("p050", "broken").unwrap();
    let e = t.query_docs(&queries[0], doc_of_record).unwrap_err();
    assert!(e.to_string().contains("p050"), "{e}");
    // A field name that is not plain never reaches SQL.
    let bad = DocQuery {
        sort: "name'--".into(),
        ..Default::default()
    };
    t.remove("p050").unwrap();
    assert!(t.query_docs(&bad, doc_of_record).is_err());
}

/// Callers share stores and tables across threads and tasks and hold an
/// iterator across an `.await`: both backends must keep that so.
#[test]
fn handles_are_send_sync_and_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>(_: &T) {}
    send_sync_clone::<Store>();
    send_sync_clone::<crate::Table>();
    let f = sled();
    let t = f.store.table("t").unwrap();
    send(&t.iter());
}

fn put_get_remove(s: &Store) {
    let t = s.table("t").unwrap();
    assert_eq!(t.get("k").unwrap(), None);
    t.put("k", b"v1").unwrap();
    assert_eq!(t.get("k").unwrap().as_deref(), Some(&b"v1"[..]));
    t.put("k", b"v2").unwrap();
    assert_eq!(t.get("k").unwrap().as_deref(), Some(&b"v2"[..]));
    // Empty values and binary keys are values like any other.
    t.put([0u8, 0xff, 7], b"").unwrap();
    assert_eq!(t.get([0u8, 0xff, 7]).unwrap().as_deref(), Some(&b""[..]));
    t.remove("k").unwrap();
    assert_eq!(t.get("k").unwrap(), None);
    t.remove("k").unwrap(); // removing what is gone is fine
    let big = vec![0xabu8; 1 << 20];
    t.put("big", &big).unwrap();
    assert_eq!(t.get("big").unwrap(), Some(big));
}

fn tables_are_separate(s: &Store) {
    let a = s.table("a").unwrap();
    let b = s.table("b").unwrap();
    a.put("k", b"in a").unwrap();
    assert_eq!(b.get("k").unwrap(), None);
    assert_eq!(b.scan_prefix("").unwrap(), vec![]);
    assert_eq!(b.len(), 0);
    b.put("k", b"in b").unwrap();
    assert_eq!(a.get("k").unwrap().as_deref(), Some(&b"in a"[..]));
    // A second handle on the same table sees the same entries.
    assert_eq!(
        s.table("a").unwrap().get("k").unwrap().as_deref(),
        Some(&b"in a"[..])
    );
}

fn compare_and_swap_succeeds_and_conflicts(s: &Store) {
    let t = s.table("claims").unwrap();
    // absent -> absent: holds while absent
    assert!(t.compare_and_swap("c", None, None).unwrap());
    // create
    assert!(t.compare_and_swap("c", None, Some(b"w1")).unwrap());
    assert!(!t.compare_and_swap("c", None, Some(b"w2")).unwrap());
    assert!(!t.compare_and_swap("c", None, None).unwrap());
    assert_eq!(t.get("c").unwrap().as_deref(), Some(&b"w1"[..]));
    // swap
    assert!(!t.compare_and_swap("c", Some(b"w2"), Some(b"w3")).unwrap());
    assert!(t.compare_and_swap("c", Some(b"w1"), Some(b"w3")).unwrap());
    assert!(!t.compare_and_swap("c", Some(b"w1"), Some(b"w4")).unwrap());
    assert_eq!(t.get("c").unwrap().as_deref(), Some(&b"w3"[..]));
    // delete
    assert!(!t.compare_and_swap("c", Some(b"w1"), None).unwrap());
    assert!(t.compare_and_swap("c", Some(b"w3"), None).unwrap());
    assert_eq!(t.get("c").unwrap(), None);
    assert!(!t.compare_and_swap("c", Some(b"w3"), Some(b"w5")).unwrap());
    assert_eq!(t.get("c").unwrap(), None);
}

/// Increments one counter with get + compare-and-swap, retrying on conflict.
fn increment(t: &crate::Table, key: &str) -> usize {
    let mut conflicts = 0;
    loop {
        let old = t.get(key).unwrap();
        let n = old
            .as_deref()
            .map(|v| u64::from_be_bytes(v.try_into().unwrap()))
            .unwrap_or(0);
        if t.compare_and_swap(key, old.as_deref(), Some(&be_key(n + 1)))
            .unwrap()
        {
            return conflicts;
        }
        conflicts += 1;
    }
}

fn compare_and_swap_counter_from_8_threads(s: &Store) {
    const THREADS: u64 = 8;
    const EACH: u64 = 200;
    let conflicts: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let t = s.table("counter").unwrap();
                scope.spawn(move || (0..EACH).map(|_| increment(&t, "n")).sum::<usize>())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let t = s.table("counter").unwrap();
    let v = t.get("n").unwrap().unwrap();
    assert_eq!(u64::from_be_bytes(v.try_into().unwrap()), THREADS * EACH);
    eprintln!(
        "{}: {} increments, {conflicts} conflicts retried",
        s.backend_name(),
        THREADS * EACH
    );
}

fn scan_prefix_finds_exactly_the_prefix(s: &Store) {
    let t = s.table("scan").unwrap();
    for k in [
        &b"a"[..],
        b"req/1",
        b"req/2/doc/1",
        b"req/2/doc/2",
        b"req/3",
        b"req0",
        b"rep/9",
        b"\xff",
        b"\xff\xff",
        b"\xff\xff\x01",
        b"\xfe\xff",
    ] {
        t.put(k, k).unwrap();
    }
    let keys = |p: &[u8]| -> Vec<Vec<u8>> {
        t.scan_prefix(p)
            .unwrap()
            .into_iter()
            .map(|(k, v)| {
                assert_eq!(k, v);
                k
            })
            .collect()
    };
    assert_eq!(
        keys(b"req/"),
        vec![
            b"req/1".to_vec(),
            b"req/2/doc/1".to_vec(),
            b"req/2/doc/2".to_vec(),
            b"req/3".to_vec()
        ]
    );
    assert_eq!(
        keys(b"req/2/"),
        vec![b"req/2/doc/1".to_vec(), b"req/2/doc/2".to_vec()]
    );
    assert_eq!(keys(b"req/2/doc/1"), vec![b"req/2/doc/1".to_vec()]);
    assert!(keys(b"nothing").is_empty());
    // Prefixes ending in 0xff have no simple successor.
    assert_eq!(
        keys(b"\xff"),
        vec![
            b"\xff".to_vec(),
            b"\xff\xff".to_vec(),
            b"\xff\xff\x01".to_vec()
        ]
    );
    assert_eq!(
        keys(b"\xff\xff"),
        vec![b"\xff\xff".to_vec(), b"\xff\xff\x01".to_vec()]
    );
    assert_eq!(keys(b"\xfe"), vec![b"\xfe\xff".to_vec()]);
    assert_eq!(keys(b"").len(), 11);
    // Big-endian numeric keys under a prefix come back in numeric order.
    let nums = s.table("nums").unwrap();
    for n in [300u64, 2, 70000, 1] {
        nums.put([&b"x"[..], &be_key(n)].concat(), be_key(n))
            .unwrap();
    }
    let got: Vec<u64> = nums
        .scan_prefix("x")
        .unwrap()
        .into_iter()
        .map(|(_, v)| u64::from_be_bytes(v.try_into().unwrap()))
        .collect();
    assert_eq!(got, vec![1, 2, 300, 70000]);
}

fn iter_goes_in_key_byte_order(s: &Store) {
    let t = s.table("order").unwrap();
    let keys: Vec<Vec<u8>> = vec![
        vec![0x80],
        vec![],
        vec![0x01, 0x00],
        vec![0xff],
        vec![0x00],
        vec![0x01],
        b"B".to_vec(),
        b"a".to_vec(),
        "æ".as_bytes().to_vec(),
        b"aa".to_vec(),
    ];
    for k in &keys {
        t.put(k, b"").unwrap();
    }
    let mut want = keys.clone();
    want.sort(); // Vec<u8> orders bytewise, shorter first: sled's order
    let got: Vec<Vec<u8>> = t.iter().map(|r| r.unwrap().0).collect();
    assert_eq!(got, want);
}

fn iter_pages_through_many_entries(s: &Store) {
    let t = s.table("many").unwrap();
    let n = 1100u64; // more than two of the PostgreSQL backend's pages
    for i in (0..n).rev() {
        t.put(be_key(i), i.to_string()).unwrap();
    }
    let mut count = 0u64;
    for (i, r) in t.iter().enumerate() {
        let (k, v) = r.unwrap();
        assert_eq!(k, be_key(i as u64));
        assert_eq!(v, i.to_string().into_bytes());
        count += 1;
    }
    assert_eq!(count, n);
    assert_eq!(t.len() as u64, n);
    // A lazy iterator: taking a few does not need the rest.
    let first: Vec<_> = t.iter().take(3).map(|r| r.unwrap().0).collect();
    assert_eq!(first, vec![be_key(0), be_key(1), be_key(2)]);
}

fn last_is_the_greatest_key(s: &Store) {
    let t = s.table("log").unwrap();
    assert_eq!(t.last().unwrap(), None);
    for n in [5u64, 1, 256, 3] {
        t.put(be_key(n), n.to_string()).unwrap();
    }
    let (k, v) = t.last().unwrap().unwrap();
    assert_eq!(k, be_key(256));
    assert_eq!(v, b"256");
    t.remove(be_key(256)).unwrap();
    assert_eq!(t.last().unwrap().unwrap().0, be_key(5));
}

fn len_and_is_empty(s: &Store) {
    let t = s.table("len").unwrap();
    assert_eq!(t.len(), 0);
    assert!(t.is_empty());
    for i in 0..10u64 {
        t.put(be_key(i), b"x").unwrap();
    }
    t.put(be_key(3), b"again").unwrap();
    assert_eq!(t.len(), 10);
    assert_eq!(t.try_len().unwrap(), 10);
    assert!(!t.is_empty());
    t.remove(be_key(0)).unwrap();
    assert_eq!(t.len(), 9);
}

fn next_id_is_unique_across_threads(s: &Store) {
    let ids: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mine: Vec<u64> = (0..100).map(|_| s.next_id().unwrap()).collect();
                    assert!(mine.windows(2).all(|w| w[0] < w[1]), "increasing");
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let unique: HashSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 400);
}

fn json_helpers(s: &Store) {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Request {
        id: u32,
        cpr_hash: String,
        systems: Vec<String>,
    }
    let t = s.table("requests").unwrap();
    let r = |id| Request {
        id,
        cpr_hash: "ab12".into(),
        systems: vec!["sbsys".into(), "æøå".into()],
    };
    t.put_json("req/1", &r(1)).unwrap();
    t.put_json("req/2", &r(2)).unwrap();
    t.put_json("other", &r(9)).unwrap();
    assert_eq!(t.get_json::<Request>("req/1").unwrap(), Some(r(1)));
    assert_eq!(t.get_json::<Request>("req/3").unwrap(), None);
    let all = t.scan_json::<Request>("req/").unwrap();
    assert_eq!(
        all,
        vec![(b"req/1".to_vec(), r(1)), (b"req/2".to_vec(), r(2))]
    );
    t.put("req/bad", b"{not json").unwrap();
    match t.get_json::<Request>("req/bad") {
        Err(StoreError::Decode { table, key, .. }) => {
            assert_eq!((table.as_str(), key.as_str()), ("requests", "req/bad"));
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(t.scan_json::<Request>("req/").is_err());
}

fn flush_succeeds(s: &Store) {
    s.table("f").unwrap().put("k", b"v").unwrap();
    s.flush().unwrap();
}

// ---- from inside tokio runtimes (axum handlers, apalis workers) ----

/// What a handler does: open, write, read, claim, all synchronously.
fn handler_work(s: &Store) {
    let t = s.table("from_async").unwrap();
    t.put("k", b"v").unwrap();
    assert_eq!(t.get("k").unwrap().as_deref(), Some(&b"v"[..]));
    assert!(t.compare_and_swap("claim", None, Some(b"me")).unwrap());
    assert_eq!(t.scan_prefix("").unwrap().len(), 2);
    s.next_id().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_from_a_multi_thread_runtime() {
    // Connecting, using and dropping the store all happen inside the runtime.
    let f = postgres();
    handler_work(&f.store);
    // And from several tasks at once, none starving the others.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = f.store.clone();
            tokio::spawn(async move {
                let t = s.table("tasks").unwrap();
                t.put(format!("k{i}"), b"v").unwrap();
                t.get(format!("k{i}")).unwrap()
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().is_some());
    }
    // spawn_blocking, the considerate way, works too.
    let s = f.store.clone();
    tokio::task::spawn_blocking(move || handler_work_again(&s))
        .await
        .unwrap();
}

fn handler_work_again(s: &Store) {
    let t = s.table("from_async").unwrap();
    assert!(!t.compare_and_swap("claim", None, Some(b"other")).unwrap());
}

#[tokio::test(flavor = "current_thread")]
async fn postgres_from_a_current_thread_runtime() {
    let f = postgres();
    handler_work(&f.store);
    // Work on this runtime still runs between store calls.
    let side = tokio::spawn(async { 41 + 1 });
    handler_work_again(&f.store);
    assert_eq!(side.await.unwrap(), 42);
}

#[tokio::test(flavor = "current_thread")]
async fn sled_from_a_current_thread_runtime() {
    let f = sled();
    handler_work(&f.store);
    handler_work_again(&f.store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_from_a_multi_thread_runtime() {
    let f = sled();
    handler_work(&f.store);
    handler_work_again(&f.store);
}

// ---- PostgreSQL only ----

/// Several stores on one database, as several marc processes would have:
/// each its own pool and thread; the claims still exclude each other.
#[test]
fn postgres_compare_and_swap_is_atomic_across_separate_stores() {
    let db = TestDatabase::new().unwrap();
    let stores: Vec<Store> = (0..4).map(|_| Store::connect(db.url()).unwrap()).collect();
    let won: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .iter()
            .flat_map(|s| [s.clone(), s.clone()])
            .enumerate()
            .map(|(i, s)| {
                scope.spawn(move || {
                    let t = s.table("jobs").unwrap();
                    for _ in 0..50 {
                        increment(&t, "n");
                    }
                    // 8 workers race for the same 20 jobs: each job claimed once.
                    (0..20)
                        .filter(|j| {
                            t.compare_and_swap(
                                format!("job/{j}"),
                                None,
                                Some(format!("w{i}").as_bytes()),
                            )
                            .unwrap()
                        })
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(won, 20);
    let t = stores[0].table("jobs").unwrap();
    let n = t.get("n").unwrap().unwrap();
    assert_eq!(u64::from_be_bytes(n.try_into().unwrap()), 8 * 50);
}

/// Real processes: this test binary started 3 more times, each running
/// [`cas_child_process`] against the same schema; every increment of every
/// process counts, and each job is claimed by exactly one of them.
#[test]
fn postgres_compare_and_swap_is_atomic_across_processes() {
    let db = TestDatabase::new().unwrap();
    // The schema's tables exist before the children race for them.
    drop(Store::connect(db.url()).unwrap());
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..3)
        .map(|i| {
            std::process::Command::new(&exe)
                .args(["--exact", "tests::cas_child_process", "--ignored"])
                .args(["--nocapture", "--test-threads=1"])
                .env("MARC_CAS_CHILD_URL", db.url())
                .env("MARC_CAS_CHILD_NAME", format!("p{i}"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut claimed = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The harness prints "test … ... " before the test's own output.
        let count = text
            .split("claimed ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no claim count in: {text}"));
        claimed += count.parse::<usize>().unwrap();
    }
    let s = Store::connect(db.url()).unwrap();
    let t = s.table("jobs").unwrap();
    let n = t.get("n").unwrap().unwrap();
    assert_eq!(u64::from_be_bytes(n.try_into().unwrap()), 3 * 2 * 60);
    assert_eq!(claimed, 30);
    assert_eq!(t.scan_prefix("job/").unwrap().len(), 30);
}

/// The child of [`postgres_compare_and_swap_is_atomic_across_processes`]:
/// 2 threads, each 60 increments, then a race for 30 jobs.
#[test]
#[ignore = "a child process of postgres_compare_and_swap_is_atomic_across_processes"]
fn cas_child_process() {
    let Ok(url) = std::env::var("MARC_CAS_CHILD_URL") else {
        return;
    };
    let name = std::env::var("MARC_CAS_CHILD_NAME").unwrap_or_default();
    let s = Store::connect(&url).unwrap();
    let claimed: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let t = s.table("jobs").unwrap();
                let name = name.as_bytes();
                scope.spawn(move || {
                    for _ in 0..60 {
                        increment(&t, "n");
                    }
                    (0..30)
                        .filter(|j| {
                            t.compare_and_swap(format!("job/{j}"), None, Some(name))
                                .unwrap()
                        })
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    println!("claimed {claimed}");
}

#[test]
fn postgres_scan_prefix_is_an_index_range_query() {
    let db = TestDatabase::new().unwrap();
    let s = Store::connect(db.url()).unwrap();
    let t = s.table("t").unwrap();
    for i in 0..200u64 {
        t.put(format!("req/{i}"), b"v").unwrap();
    }
    let plan = crate::testing::query_text(
        db.url(),
        // A table this small is cheaper to scan; with scans priced out, the
        // plan shows whether the primary key's index can serve the range.
        "ANALYZE marc_kv; SET enable_seqscan = off",
        "EXPLAIN SELECT key, value FROM marc_kv \
         WHERE tbl = 't' AND key >= '\\x7265712f31'::bytea AND key < '\\x7265712f32'::bytea \
         ORDER BY key",
    )
    .unwrap()
    .join("\n");
    // An index scan, or a bitmap scan of the index (the planner's choice by
    // its statistics): either way the range is the index condition.
    assert!(plan.contains("marc_kv_pkey"), "{plan}");
    assert!(
        plan.contains("Index Cond: ((tbl = 't'::text) AND (key >= "),
        "{plan}"
    );
    assert!(!plan.contains("Seq Scan"), "{plan}");
}

#[test]
fn postgres_lists_a_page_off_its_sort_index() {
    let db = TestDatabase::new().unwrap();
    let s = Store::connect(db.url()).unwrap();
    let t = s.table("people").unwrap();
    for i in 0..300u64 {
        t.put(format!("p{i:04}"), format!("n{}|open|{}", i % 97, i % 3))
            .unwrap();
    }
    let q = crate::DocQuery {
        sort: "name".into(),
        descending: true,
        page: 2,
        per_page: 10,
        ..Default::default()
    };
    let page = t.query_docs(&q, doc_of_record).unwrap();
    assert_eq!((page.total, page.keys.len()), (300, 10));
    let plan = crate::testing::query_text(
        db.url(),
        "ANALYZE marc_kv; SET enable_seqscan = off",
        "EXPLAIN SELECT key FROM marc_kv WHERE tbl = 'people' AND doc IS NOT NULL \
         ORDER BY coalesce(doc->'f'->>'name', '') COLLATE \"C\" DESC, key DESC \
         OFFSET 10 LIMIT 10",
    )
    .unwrap()
    .join("\n");
    assert!(
        plan.contains("Index Scan Backward using marc_kv_doc_people_name"),
        "{plan}"
    );
    assert!(
        !plan.contains("Sort"),
        "no sort step: the index gives the order\n{plan}"
    );
}

#[test]
fn postgres_reconnecting_twice_applies_the_migrations_once() {
    let db = TestDatabase::new().unwrap();
    let a = Store::connect(db.url()).unwrap();
    a.table("t").unwrap().put("k", b"v").unwrap();
    let id = a.next_id().unwrap();
    drop(a);
    let b = Store::connect(db.url()).unwrap();
    assert_eq!(
        b.table("t").unwrap().get("k").unwrap().as_deref(),
        Some(&b"v"[..])
    );
    assert!(b.next_id().unwrap() > id, "ids survive a reconnect");
    // marc's migrations have a table of their own, so apalis-postgres's
    // (sqlx's default `_sqlx_migrations`) can live in the same database.
    let tables = crate::testing::query_text(
        db.url(),
        "SELECT 1",
        &format!(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = '{}' ORDER BY 1",
            db.schema()
        ),
    )
    .unwrap();
    assert_eq!(tables, vec!["marc_kv", "marc_store_migrations"]);
}

#[test]
fn postgres_connect_errors_are_clear_and_hide_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // now closed: nothing listens there
    let limits = Limits {
        acquire: Duration::from_secs(1),
        ..Limits::default()
    };
    let url = format!("postgres://marc:hemmelig@127.0.0.1:{port}/marc");
    let e = Store::connect_with(&url, limits).err().unwrap().to_string();
    assert!(e.contains("cannot use the PostgreSQL store"), "{e}");
    assert!(!e.contains("hemmelig"), "{e}");
    let e = Store::connect("mysql://x/y").err().unwrap().to_string();
    assert!(e.contains("not in mysql://"), "{e}");
}

/// A PostgreSQL restart between two calls: the second succeeds (the pool
/// replaces the dead connections). A stopped server: calls fail with
/// `Unavailable` within the limits instead of hanging, and once it is back
/// the next call succeeds without reconnecting by hand. Needs a cluster of
/// its own (restarting a shared one would break the tests running on it).
#[test]
fn postgres_restart_is_survived_and_a_stopped_server_is_an_error() {
    if std::env::var("MARC_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        eprintln!("skipped: MARC_TEST_DATABASE_URL names a server this test cannot restart");
        return;
    }
    let cluster = PgCluster::start().unwrap();
    let db = TestDatabase::on_url(&cluster.url()).unwrap();
    let limits = Limits {
        acquire: Duration::from_secs(1),
        retry_for: Duration::from_secs(3),
        call: Duration::from_secs(20),
        ..Limits::default()
    };
    let s = Store::connect_with(db.url(), limits).unwrap();
    let t = s.table("t").unwrap();
    t.put("before", b"1").unwrap();
    // Several idle connections in the pool, all cut by the restart.
    std::thread::scope(|scope| {
        for i in 0..4 {
            let t = t.clone();
            scope.spawn(move || t.put(format!("warm{i}"), b"x").unwrap());
        }
    });

    cluster.restart().unwrap();
    assert_eq!(t.get("before").unwrap().as_deref(), Some(&b"1"[..]));
    assert!(t.compare_and_swap("after", None, Some(b"2")).unwrap());
    for i in 0..4 {
        assert!(t.get(format!("warm{i}")).unwrap().is_some());
    }

    cluster.stop().unwrap();
    let started = Instant::now();
    match t.get("before") {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable while stopped, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    match t.compare_and_swap("during", None, Some(b"3")) {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable while stopped, got {other:?}"),
    }

    cluster.start_again().unwrap();
    assert_eq!(t.get("before").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(
        t.get("during").unwrap(),
        None,
        "the failed swap did nothing"
    );
    assert!(t.compare_and_swap("during", None, Some(b"3")).unwrap());
    drop(t);
    drop(s);
    drop(db);
}

/// A restart while calls are under way: every call either succeeds or
/// fails with `Unavailable`, none hangs, and afterwards all succeed.
#[test]
fn postgres_restart_during_a_run_of_calls() {
    if std::env::var("MARC_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        eprintln!("skipped: MARC_TEST_DATABASE_URL names a server this test cannot restart");
        return;
    }
    let cluster = Arc::new(PgCluster::start().unwrap());
    let db = TestDatabase::on_url(&cluster.url()).unwrap();
    let s = Store::connect(db.url()).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (ok, failed) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..3)
            .map(|w| {
                let t = s.table("run").unwrap();
                let stop = &stop;
                scope.spawn(move || {
                    let (mut ok, mut failed) = (0, 0);
                    let mut i = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        i += 1;
                        match t.put(format!("{w}/{i}"), b"x") {
                            Ok(()) => ok += 1,
                            Err(StoreError::Unavailable(_)) => failed += 1,
                            Err(e) => panic!("{e}"),
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        cluster.restart().unwrap();
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        workers
            .into_iter()
            .map(|h| h.join().unwrap())
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    });
    eprintln!("during a restart: {ok} puts succeeded, {failed} failed");
    assert!(ok > 0);
    let t = s.table("run").unwrap();
    t.put("after", b"x").unwrap();
    assert!(!t.is_empty());
}

/// A cluster whose test process died (no `Drop`, no `atexit`) is stopped
/// and removed by the next test process that starts one.
#[test]
fn a_dead_test_process_leaves_no_postgres_running() {
    if std::env::var("MARC_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        eprintln!("skipped: MARC_TEST_DATABASE_URL is set, no cluster of our own");
        return;
    }
    let orphan = PgCluster::start().unwrap();
    let dir = orphan.dir().to_path_buf();
    let postmaster: i32 = std::fs::read_to_string(dir.join("data/postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // As if its process had been killed: the owner is a pid that is gone
    // (a child that has exited and been waited for), and it is not dropped.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(dir.join("owner.pid"), gone_pid.to_string()).unwrap();
    std::mem::forget(orphan);

    let next = PgCluster::start().unwrap();
    assert!(!dir.exists(), "the orphan's directory is removed");
    assert!(
        !crate::testing::alive(postmaster),
        "the orphan's PostgreSQL is stopped"
    );
    drop(next);
}

// ---- a bounded benchmark (cargo test -p marc-store -- --ignored --nocapture bench) ----

fn bench_one(s: &Store, n: u64) {
    let t = s.table("bench").unwrap();
    let rate = |what: &str, ops: u64, started: Instant| {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{:>8} {what:<22} {ops:>6} ops in {secs:>6.2} s = {:>8.0} ops/s",
            s.backend_name(),
            ops as f64 / secs
        );
    };
    let value = vec![7u8; 200];
    let t0 = Instant::now();
    for i in 0..n {
        t.put(be_key(i), &value).unwrap();
    }
    rate("put", n, t0);
    let t0 = Instant::now();
    for i in 0..n {
        t.put(be_key(i), &value).unwrap();
        s.flush().unwrap();
    }
    rate("put + flush", n, t0);
    let t0 = Instant::now();
    for i in 0..n {
        t.get(be_key(i)).unwrap().unwrap();
    }
    rate("get", n, t0);
    let t0 = Instant::now();
    for i in 0..n {
        assert!(t
            .compare_and_swap(be_key(i), Some(&value), Some(b"claimed"))
            .unwrap());
    }
    rate("compare_and_swap", n, t0);
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..4u64 {
            let t = t.clone();
            scope.spawn(move || {
                for i in 0..n / 4 {
                    t.get(be_key(w * (n / 4) + i)).unwrap().unwrap();
                }
            });
        }
    });
    rate("get, 4 threads", n, t0);
    let t0 = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..4u64 {
            let (t, value) = (t.clone(), &value);
            scope.spawn(move || {
                for i in 0..n / 4 {
                    t.put(be_key(w * (n / 4) + i), value).unwrap();
                    s.flush().unwrap();
                }
            });
        }
    });
    rate("put + flush, 4 threads", n, t0);
    let t0 = Instant::now();
    let scanned = t.scan_prefix([0u8; 6]).unwrap().len() as u64;
    rate("scan_prefix (entries)", scanned, t0);
    s.flush().unwrap();
}

#[test]
#[ignore = "a benchmark: run with --ignored --nocapture"]
fn bench_backends() {
    let n = std::env::var("MARC_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    bench_one(&sled().store, n);
    bench_one(&postgres().store, n);
}
