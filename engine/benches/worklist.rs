//! The caseworkers' request list with 10,000 requests in the store (issue
//! 11: a search and a sort answer in under 100 ms server time).
//!
//! Fills a temporary store with 10,000 realistic requests, written the way
//! the engine writes them (`marc::requests::new_id` and `insert`), then times
//! the work `RequestService::worklist` does for a caseworker — every request
//! loaded (`marc::requests::list`), `may_view`, `worklist::select` — for
//! four lists:
//!
//! - a: a surname searched for, sorted by deadline, latest first;
//! - b: a CPR number searched for (without the hyphen);
//! - c: no search, one state, sorted by name;
//! - d: the default list (no search or filter, most urgent first): every
//!   request sorted.
//!
//! Prints one line per list: p50/p95/max in ms of the whole, the process's
//! CPU time for it (every thread: what a list costs however busy the
//! machine is), and its two parts (load = sled scan + JSON of every record +
//! sort by creation; select = filter, search, sort, page). A second line per
//! list times the same page made by `marc::requests::worklist` (rows chosen
//! from the listed fields only, the page's requests read whole), and a third
//! the same on PostgreSQL (a throwaway cluster, the same records copied in:
//! an indexed query on the listed fields' docs); each checks it shows the
//! same rows. Bounded: it stops by itself in about a minute and a half.
//!
//!   nice -n 10 cargo bench -p marc --bench worklist [-- ROUNDS]

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use marc_request::access::Role;
use marc_request::worklist::{select, Page, Query, SortBy};
use marc_request::{
    may_view, InternalNote, Party, Principal, RequestRecord, RequestState, RunState, RunStatus,
};
use marc_store::Store;
use std::collections::BTreeMap;
use std::time::Instant;

const REQUESTS: usize = 10_000;
const WARMUP: usize = 3;
const DEFAULT_ROUNDS: usize = 30;
/// Rounds stop early past this, so the benchmark ends by itself.
const BUDGET_SECONDS: f64 = 60.0;
/// The target, server time.
const TARGET_MS: f64 = 100.0;

/// A small deterministic generator (xorshift64*), so every run stores the
/// same requests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const FIRST: &[&str] = &[
    "Anna", "Mette", "Sofie", "Ida", "Freja", "Emma", "Laura", "Karen", "Kirsten", "Hanne", "Inge",
    "Lene", "Birgitte", "Åse", "Signe", "Maja", "Lars", "Søren", "Jens", "Peter", "Mikkel",
    "Rasmus", "Frederik", "Anders", "Niels", "Bo", "Carl", "Oliver", "Magnus", "Jørgen", "Henrik",
    "Thomas", "Morten", "Kasper", "Ole", "Poul",
];
const MIDDLE: &[&str] = &[
    "Marie",
    "Louise",
    "Kristine",
    "Emil",
    "Juul",
    "Bach",
    "Kjær",
    "Skov",
    "Lund",
    "Vestergaard",
];
const SURNAMES: &[&str] = &[
    "Nielsen",
    "Jensen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Petersen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
    "Christiansen",
    "Poulsen",
    "Johansen",
    "Møller",
    "Mortensen",
    "Holm",
    "Berg",
    "Østergaard",
    "Frederiksen",
    "Dahl",
    "Bech",
    "Kjeldsen",
    "Brødsgaard",
    "Ravnsbæk",
    "Aagaard",
];
const STREETS: &[&str] = &[
    "Vestergade",
    "Østergade",
    "Nørregade",
    "Søndergade",
    "Jernbanegade",
    "Skolevej",
    "Kirkevej",
    "Møllevej",
    "Engtoften",
    "Åboulevarden",
];
const TOWNS: &[&str] = &[
    "8000 Aarhus C",
    "2100 København Ø",
    "5000 Odense C",
    "9000 Aalborg",
    "7100 Vejle",
    "6700 Esbjerg",
    "8600 Silkeborg",
    "4000 Roskilde",
];
const TOPICS: &[&str] = &[
    "sundhed",
    "beskæftigelse",
    "ydelser",
    "børn og familie",
    "handicap",
    "ældre",
];
const SYSTEMS: &[&str] = &["esdh", "sbsys", "nexus", "kmd-sag", "opus", "momentum"];
const CASEWORKERS: &[&str] = &["kbh", "mlj", "ahn", "sro", "tpe", "lkd"];
const NOTES: &[&str] = &[
    "Ringede til borgeren; vedkommende ønsker svaret med Digital Post.",
    "Journalnotat fra 2019 skal vurderes: nævner en tredjepart.",
    "Afventer svar fra Ydelsesservice om de ældste sager.",
    "Fristen forlænget: omfattende materiale i to systemer.",
    "Tjekket for oplysninger om andre personer; intet at skærme.",
];

/// A state, weighted as a year of running looks: most requests sent.
fn state(rng: &mut Rng) -> RequestState {
    match rng.below(100) {
        0..=61 => RequestState::Delivered,
        62..=69 => RequestState::HeldForReview,
        70..=74 => RequestState::Ready,
        75..=79 => RequestState::Collecting,
        80..=82 => RequestState::Received,
        83..=84 => RequestState::Collected,
        85..=88 => RequestState::Incomplete,
        89..=90 => RequestState::DeliveryFailed,
        91..=93 => RequestState::ManualHandling,
        94..=96 => RequestState::Cancelled,
        _ => RequestState::Refused,
    }
}

fn cpr(rng: &mut Rng) -> String {
    let born = NaiveDate::from_ymd_opt(1935, 1, 1).unwrap_or_default()
        + Duration::days(rng.below(365 * 70) as i64);
    format!(
        "{:02}{:02}{:02}-{:04}",
        born.day(),
        born.month(),
        born.year() % 100,
        rng.below(10_000)
    )
}

fn hex(rng: &mut Rng, n: usize) -> String {
    (0..n.div_ceil(16))
        .map(|_| format!("{:016x}", rng.next()))
        .collect::<String>()[..n]
        .to_string()
}

/// One request as the engine would have stored it by now.
fn record(rng: &mut Rng, id: String, created: DateTime<Utc>) -> RequestRecord {
    let name = if rng.chance(30) {
        format!(
            "{} {} {}",
            rng.pick(FIRST),
            rng.pick(MIDDLE),
            rng.pick(SURNAMES)
        )
    } else {
        format!("{} {}", rng.pick(FIRST), rng.pick(SURNAMES))
    };
    let cpr = cpr(rng);
    let (requested_by, consent, requester) = match rng.below(10) {
        0 => (
            Some(Party::Cvr(format!(
                "{:08}",
                10_000_000 + rng.below(89_999_999)
            ))),
            Some(format!("samtykke-{}", hex(rng, 8))),
            "Advokatfirmaet Holm & Dahl".to_string(),
        ),
        1 => (
            Some(Party::Cpr(self::cpr(rng))),
            Some(format!("samtykke-{}", hex(rng, 8))),
            format!("{} {}", rng.pick(FIRST), rng.pick(SURNAMES)),
        ),
        _ => (None, None, name.clone()),
    };
    let state = state(rng);
    let systems: Vec<String> = {
        let mut s: Vec<String> = SYSTEMS.iter().map(|s| s.to_string()).collect();
        let n = 2 + rng.below(4);
        for i in 0..n {
            let j = i + rng.below(s.len() - i);
            s.swap(i, j);
        }
        s.truncate(n);
        s
    };
    let started = !matches!(state, RequestState::Received | RequestState::ManualHandling);
    let runs: BTreeMap<String, RunState> = systems
        .iter()
        .map(|s| {
            let failed = state == RequestState::Incomplete && rng.chance(50);
            let run = if !started {
                RunState::default()
            } else if failed {
                RunState {
                    status: RunStatus::Failed,
                    documents: 0,
                    attempts: 3,
                    error: Some(format!("{s}: login timed out after 30 s (attempt 3 of 3)")),
                    sessions: (0..3).map(|_| hex(rng, 32)).collect(),
                    webdriver_commands: 40 + rng.below(200) as u64,
                    seconds: 30.0 + rng.below(60_000) as f64 / 1000.0,
                    failure: Some("login".into()),
                }
            } else {
                RunState {
                    status: RunStatus::Complete,
                    documents: rng.below(40),
                    attempts: 1 + rng.below(2) as u32,
                    error: None,
                    sessions: vec![hex(rng, 32)],
                    webdriver_commands: 100 + rng.below(2_000) as u64,
                    seconds: 5.0 + rng.below(120_000) as f64 / 1000.0,
                    failure: None,
                }
            };
            (s.clone(), run)
        })
        .collect();
    let documents: usize = runs.values().map(|r| r.documents).sum();
    let assembled = matches!(
        state,
        RequestState::Ready
            | RequestState::HeldForReview
            | RequestState::Delivered
            | RequestState::DeliveryFailed
    );
    let mut history = Vec::new();
    let mut at = created;
    for st in [
        RequestState::Received,
        RequestState::Collecting,
        RequestState::Collected,
    ] {
        history.push(marc_request::StateChange { at, state: st });
        at += Duration::minutes(1 + rng.below(30) as i64);
        if !started {
            break;
        }
    }
    if state != RequestState::Received {
        history.push(marc_request::StateChange { at, state });
    }
    let notes = (0..[0, 0, 1, 1, 2, 3][rng.below(6)])
        .map(|i| InternalNote {
            at: created + Duration::hours(2 + 24 * i as i64),
            by: rng.pick(CASEWORKERS).to_string(),
            text: rng.pick(NOTES).to_string(),
        })
        .collect();
    let from = created.date_naive() - Duration::days(365 * (1 + rng.below(10) as i64));
    RequestRecord {
        id: id.clone(),
        cpr,
        name,
        address: format!(
            "{} {}, {}",
            rng.pick(STREETS),
            1 + rng.below(120),
            rng.pick(TOWNS)
        ),
        requester,
        period_from: from,
        period_to: created.date_naive(),
        topics: (0..1 + rng.below(3))
            .map(|_| rng.pick(TOPICS).to_string())
            .collect(),
        systems,
        created,
        deadline: marc_request::deadline(created.date_naive(), 7 + 3 * rng.below(2) as u32),
        state,
        runs,
        pdf: assembled.then(|| format!("answers/{id}.pdf")),
        marks: if assembled { rng.below(25) } else { 0 },
        documents,
        note: if state == RequestState::Refused {
            "Afslået efter offentlighedslovens § 22.".into()
        } else {
            String::new()
        },
        leaks: if state == RequestState::HeldForReview {
            rng.below(3)
        } else {
            0
        },
        delivery: (state == RequestState::Delivered).then(|| format!("outbox/{id}.json")),
        requested_by,
        consent,
        caseworker: rng.chance(60).then(|| rng.pick(CASEWORKERS).to_string()),
        history,
        pdf_sha256: assembled.then(|| hex(rng, 64)),
        notes,
        test_run: false,
    }
}

/// Fills `store` with [`REQUESTS`] requests created over two years, oldest
/// first; returns a CPR number that is in the store.
fn fill(store: &Store) -> anyhow::Result<String> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = Utc
        .with_ymd_and_hms(2024, 12, 1, 8, 0, 0)
        .single()
        .ok_or_else(|| anyhow::anyhow!("start date"))?;
    let mut created: Vec<DateTime<Utc>> = (0..REQUESTS)
        .map(|_| start + Duration::seconds(rng.below(2 * 365 * 24 * 3600) as i64))
        .collect();
    created.sort();
    let mut probe = String::new();
    for (i, at) in created.into_iter().enumerate() {
        let id = marc::requests::new_id(store, at.year())?;
        let rec = record(&mut rng, id, at);
        if i == REQUESTS / 2 {
            probe = rec.cpr.clone();
        }
        marc::requests::insert(store, &rec)?;
    }
    Ok(probe)
}

/// CPU time of the whole process (every thread), in ms: what a list costs
/// however busy the machine is.
fn cpu_ms() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to fill in.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 * 1000.0 + t.tv_nsec as f64 / 1e6
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// p50, p95 and max of `xs` (sorted here).
fn stats(xs: &mut [f64]) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    let at = |p: f64| xs[((xs.len() - 1) as f64 * p).round() as usize];
    (at(0.50), at(0.95), xs[xs.len() - 1])
}

/// The ids and total of a page, to compare two ways of making it.
fn ids(page: &Page) -> Vec<String> {
    let mut v: Vec<String> = page.rows.iter().map(|r| r.id.clone()).collect();
    v.push(format!("{} of {}", page.total, page.pages));
    v
}

/// Prints one line; whether the p50 missed the target.
fn report(label: &str, total: &mut [f64], cpu: &mut [f64], parts: &str) -> bool {
    let n = total.len();
    let (p50, p95, max) = stats(total);
    let (c50, _, _) = stats(cpu);
    println!(
        "{label:<50} n={n:<3} total p50 {p50:6.1} p95 {p95:6.1} max {max:6.1} ms | cpu p50 {c50:6.1} \
         {parts} [{}]",
        if p50 < TARGET_MS { "ok < 100 ms" } else { "MISSED" }
    );
    p50 >= TARGET_MS
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; a number is the rounds per list.
    let rounds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(DEFAULT_ROUNDS)
        .max(1);
    let bench_start = Instant::now();
    let store = Store::temporary()?;
    let t = Instant::now();
    let cpr = fill(&store)?;
    let stored_bytes: usize = store
        .table("requests")?
        .iter()
        .map(|r| r.map(|(_, v)| v.len()).unwrap_or(0))
        .sum();
    println!(
        "worklist: {REQUESTS} requests stored in {:.1} s ({:.0} bytes of JSON each on average); \
         {WARMUP} warm-up + up to {rounds} rounds per list",
        t.elapsed().as_secs_f64(),
        stored_bytes as f64 / REQUESTS as f64,
    );

    // Where the load goes: the raw sled scan (every value copied out), the
    // JSON of every record, and dropping 10,000 records (a list pays for
    // that too, in `select`, for every row not on its page).
    let (mut scan, mut parse, mut drop_) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..WARMUP + 10 {
        let t0 = Instant::now();
        let raw = store.table("requests")?.scan_prefix("")?;
        let t1 = Instant::now();
        let recs: Vec<RequestRecord> = raw
            .iter()
            .map(|(_, v)| serde_json::from_slice(v))
            .collect::<Result<_, _>>()?;
        let t2 = Instant::now();
        drop(std::hint::black_box(recs));
        let t3 = Instant::now();
        if round >= WARMUP {
            scan.push(ms(t1 - t0));
            parse.push(ms(t2 - t1));
            drop_.push(ms(t3 - t2));
        }
    }
    println!(
        "load parts (p50 of 10): sled scan {:.1} ms, JSON on one thread {:.1} ms, dropping the records {:.1} ms",
        stats(&mut scan).0,
        stats(&mut parse).0,
        stats(&mut drop_).0,
    );

    // The same requests in PostgreSQL (a throwaway cluster, or
    // MARC_TEST_DATABASE_URL), copied value for value, so every list can be
    // compared row for row.
    let db = marc_store::testing::TestDatabase::new()
        .map_err(|e| anyhow::anyhow!("a PostgreSQL database for the benchmark: {e}"))?;
    let pg = Store::connect(db.url())?;
    let t = Instant::now();
    let pg_requests = pg.table("requests")?;
    for row in store.table("requests")?.iter() {
        let (k, v) = row?;
        pg_requests.put(k, v)?;
    }
    let copied = t.elapsed().as_secs_f64();
    let who = Principal::Staff {
        user: "kbh".into(),
        role: Role::Caseworker,
    };
    let t = Instant::now();
    marc::requests::worklist(&pg, &who, &Query::default())?;
    println!(
        "postgres: {REQUESTS} requests copied in {copied:.1} s; the first list made every row's \
         doc and its indexes in {:.0} ms",
        ms(t.elapsed())
    );
    let cases: [(&str, Query); 4] = [
        (
            "a: search surname \"Jørgensen\", sort deadline desc",
            Query {
                search: "Jørgensen".into(),
                sort: SortBy::Deadline,
                descending: true,
                ..Default::default()
            },
        ),
        (
            "b: search CPR (no hyphen)",
            Query {
                search: cpr.replace('-', ""),
                ..Default::default()
            },
        ),
        (
            "c: no search, state held_for_review, sort name",
            Query {
                state: Some(RequestState::HeldForReview),
                sort: SortBy::Name,
                ..Default::default()
            },
        ),
        (
            "d: the default list (no search, deadline first)",
            Query::default(),
        ),
    ];

    // Each line gets an equal share of the time budget.
    let per_line =
        (BUDGET_SECONDS - bench_start.elapsed().as_secs_f64()).max(8.0) / (3 * cases.len()) as f64;
    let (mut missed_now, mut missed_new, mut missed_pg) = (false, false, false);
    for (label, q) in &cases {
        // What `RequestService::worklist` does for a caseworker today.
        let (mut total, mut load, mut sel, mut cpu) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut now_ids = Vec::new();
        let mut matched = 0;
        let line = Instant::now();
        for round in 0..WARMUP + rounds {
            if round >= WARMUP + 5 && line.elapsed().as_secs_f64() > per_line {
                break;
            }
            let c0 = cpu_ms();
            let t0 = Instant::now();
            let all: Vec<RequestRecord> = marc::requests::list(&store)?
                .into_iter()
                .filter(|r| may_view(&who, r))
                .collect();
            let t1 = Instant::now();
            let page = select(all, q);
            let t2 = Instant::now();
            let c2 = cpu_ms();
            now_ids = ids(&page);
            matched = page.total;
            std::hint::black_box(page);
            if round >= WARMUP {
                total.push(ms(t2 - t0));
                load.push(ms(t1 - t0));
                sel.push(ms(t2 - t1));
                cpu.push(c2 - c0);
            }
        }
        let (l50, l95, _) = stats(&mut load);
        let (s50, s95, _) = stats(&mut sel);
        missed_now |= report(
            label,
            &mut total,
            &mut cpu,
            &format!(
                "| load p50 {l50:6.1} p95 {l95:6.1} | select p50 {s50:5.1} p95 {s95:5.1} \
                 | {matched} rows match"
            ),
        );

        // The same list through `marc::requests::worklist`: the rows chosen
        // from the listed fields, only the page read whole.
        let (mut total, mut cpu) = (Vec::new(), Vec::new());
        let line = Instant::now();
        for round in 0..WARMUP + rounds {
            if round >= WARMUP + 5 && line.elapsed().as_secs_f64() > per_line {
                break;
            }
            let c0 = cpu_ms();
            let t0 = Instant::now();
            let page = marc::requests::worklist(&store, &who, q)?;
            let t1 = Instant::now();
            let c1 = cpu_ms();
            anyhow::ensure!(
                ids(&page) == now_ids,
                "{label}: requests::worklist shows other rows than list + select"
            );
            std::hint::black_box(page);
            if round >= WARMUP {
                total.push(ms(t1 - t0));
                cpu.push(c1 - c0);
            }
        }
        missed_new |= report(
            "   the same via marc::requests::worklist",
            &mut total,
            &mut cpu,
            "",
        );

        // The same on PostgreSQL: an indexed query, then the page's rows.
        let (mut total, mut cpu) = (Vec::new(), Vec::new());
        let line = Instant::now();
        for round in 0..WARMUP + rounds {
            if round >= WARMUP + 5 && line.elapsed().as_secs_f64() > per_line {
                break;
            }
            let c0 = cpu_ms();
            let t0 = Instant::now();
            let page = marc::requests::worklist(&pg, &who, q)?;
            let t1 = Instant::now();
            let c1 = cpu_ms();
            anyhow::ensure!(
                ids(&page) == now_ids,
                "{label}: requests::worklist on PostgreSQL shows other rows than on sled"
            );
            std::hint::black_box(page);
            if round >= WARMUP {
                total.push(ms(t1 - t0));
                cpu.push(c1 - c0);
            }
        }
        missed_pg |= report(
            "   the same on PostgreSQL (indexed query)",
            &mut total,
            &mut cpu,
            "",
        );
    }
    let verdict = |missed: bool| {
        if missed {
            "target missed"
        } else {
            "every list under 100 ms (p50)"
        }
    };
    println!(
        "worklist: list + may_view + select: {}; requests::worklist: {}; on PostgreSQL: {}; \
         in {:.1} s",
        verdict(missed_now),
        verdict(missed_new),
        verdict(missed_pg),
        bench_start.elapsed().as_secs_f64()
    );
    Ok(())
}
