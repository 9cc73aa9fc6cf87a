//! The caseworkers' list of requests: search, filter, sort and page, and
//! how urgent each one is. Pure functions over records, so the web page
//! and a future indexed query (PostgreSQL) agree on what a list shows.

use crate::deadline::working_days_left;
use crate::record::{RequestRecord, RequestState};
use chrono::NaiveDate;

/// A column the list can be sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    Id,
    Name,
    Ordered,
    Deadline,
    Status,
    Caseworker,
}

impl SortBy {
    /// Parses the column's name as it stands in a URL (`deadline`, …).
    pub fn parse(s: &str) -> Option<SortBy> {
        Some(match s {
            "id" => SortBy::Id,
            "name" => SortBy::Name,
            "ordered" => SortBy::Ordered,
            "deadline" => SortBy::Deadline,
            "status" => SortBy::Status,
            "caseworker" => SortBy::Caseworker,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            SortBy::Id => "id",
            SortBy::Name => "name",
            SortBy::Ordered => "ordered",
            SortBy::Deadline => "deadline",
            SortBy::Status => "status",
            SortBy::Caseworker => "caseworker",
        }
    }
}

/// What a caseworker asks the list for.
#[derive(Clone, Debug)]
pub struct Query {
    /// Words to find in the case id, the citizen's name or CPR number
    /// (with or without the hyphen); every word must match.
    pub search: String,
    /// Only requests in this state.
    pub state: Option<RequestState>,
    /// Only requests that wait for a person ([`waits_for_a_person`]): the
    /// caseworkers' queue.
    pub waiting: bool,
    pub sort: SortBy,
    pub descending: bool,
    /// 1-based page of `per_page` rows.
    pub page: usize,
    pub per_page: usize,
}

impl Default for Query {
    /// The most urgent first.
    fn default() -> Self {
        Query {
            search: String::new(),
            state: None,
            waiting: false,
            sort: SortBy::Deadline,
            descending: false,
            page: 1,
            per_page: 25,
        }
    }
}

/// One page of the list.
#[derive(Clone, Debug)]
pub struct Page {
    pub rows: Vec<RequestRecord>,
    /// Rows matching the search and filter, on all pages.
    pub total: usize,
    pub page: usize,
    pub pages: usize,
}

/// Whether a request waits for a caseworker: held by the leak check, the
/// control level or something unreadable, exempt from automatic handling,
/// incomplete after retries, or not delivered.
pub fn waits_for_a_person(state: RequestState) -> bool {
    matches!(
        state,
        RequestState::HeldForReview
            | RequestState::ManualHandling
            | RequestState::Incomplete
            | RequestState::DeliveryFailed
    )
}

/// Whether a request matches every word of a search, the words already
/// lowercased ([`search_words`]). A word is found in the case id or the name
/// (lowercased), or in the CPR number with or without its hyphen.
fn matches(rec: &RequestRecord, words: &[String]) -> bool {
    if words.is_empty() {
        return true;
    }
    let id = rec.id.to_lowercase();
    let name = rec.name.to_lowercase();
    let mut bare_cpr = None;
    words.iter().all(|w| {
        id.contains(w.as_str())
            || name.contains(w.as_str())
            || rec.cpr.contains(w.as_str())
            || bare_cpr
                .get_or_insert_with(|| rec.cpr.replace('-', ""))
                .contains(w.as_str())
    })
}

/// The words of a search, lowercased once.
pub fn search_words(search: &str) -> Vec<String> {
    search.split_whitespace().map(str::to_lowercase).collect()
}

/// The rows of `q`'s page, out of `all`.
///
/// With 10,000 requests this runs on every view of the list, so it works on
/// references: the rows that match are sorted by index (a name sort
/// lowercases each name once, not in every comparison), and only the page's
/// records are moved out of `all`.
pub fn select(all: Vec<RequestRecord>, q: &Query) -> Page {
    let words = search_words(&q.search);
    // Matching rows, in `all`'s order, with the name sort's key.
    let mut rows: Vec<(usize, String)> = all
        .iter()
        .enumerate()
        .filter(|(_, r)| q.state.is_none_or(|s| r.state == s))
        .filter(|(_, r)| !q.waiting || waits_for_a_person(r.state))
        .filter(|(_, r)| matches(r, &words))
        .map(|(i, r)| {
            let key = match q.sort {
                SortBy::Name => r.name.to_lowercase(),
                _ => String::new(),
            };
            (i, key)
        })
        .collect();
    // Stable, as before: rows equal in the column and the id keep their order.
    rows.sort_by(|(i, ka), (j, kb)| {
        let (a, b) = (&all[*i], &all[*j]);
        let o = match q.sort {
            SortBy::Id => a.id.cmp(&b.id),
            SortBy::Name => ka.cmp(kb),
            SortBy::Ordered => a.created.cmp(&b.created),
            SortBy::Deadline => a.deadline.cmp(&b.deadline),
            SortBy::Status => a.state.as_str().cmp(b.state.as_str()),
            SortBy::Caseworker => a.caseworker.cmp(&b.caseworker),
        }
        .then_with(|| a.id.cmp(&b.id));
        if q.descending {
            o.reverse()
        } else {
            o
        }
    });
    let per_page = q.per_page.max(1);
    let total = rows.len();
    let pages = total.div_ceil(per_page).max(1);
    let page = q.page.clamp(1, pages);
    // Where each of the page's records goes on the page, by index in `all`.
    let mut place = vec![usize::MAX; all.len()];
    let mut on_page = 0;
    for (at, (i, _)) in rows
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .enumerate()
    {
        place[*i] = at;
        on_page += 1;
    }
    let mut slots: Vec<Option<RequestRecord>> = (0..on_page).map(|_| None).collect();
    for (i, r) in all.into_iter().enumerate() {
        if let Some(slot) = slots.get_mut(place[i]) {
            *slot = Some(r);
        }
    }
    Page {
        rows: slots.into_iter().flatten().collect(),
        total,
        page,
        pages,
    }
}

/// How pressing a deadline is, for the list's colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    /// Past the deadline.
    Overdue,
    /// Due today or on the next working day.
    Urgent,
    /// Two or three working days left.
    Soon,
    /// More time than that, or nothing left to do.
    Calm,
}

impl Urgency {
    /// The CSS class the list colours by.
    pub fn class(&self) -> &'static str {
        match self {
            Urgency::Overdue => "overdue",
            Urgency::Urgent => "urgent",
            Urgency::Soon => "soon",
            Urgency::Calm => "calm",
        }
    }
}

/// How urgent a request is on `today`: only open requests are ever urgent.
pub fn urgency(rec: &RequestRecord, today: NaiveDate) -> Urgency {
    let done = matches!(
        rec.state,
        RequestState::Delivered | RequestState::Cancelled | RequestState::Refused
    );
    if done {
        return Urgency::Calm;
    }
    match working_days_left(today, rec.deadline) {
        n if n < 0 => Urgency::Overdue,
        0 | 1 => Urgency::Urgent,
        2 | 3 => Urgency::Soon,
        _ => Urgency::Calm,
    }
}

/// A CPR number as the list shows it until a caseworker reveals it: the
/// date of birth, not the serial number ("010203-••••").
pub fn masked_cpr(cpr: &str) -> String {
    match cpr.split_once('-') {
        Some((date, _)) => format!("{date}-••••"),
        None => "••••••-••••".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests_support::record;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn search_filter_sort_and_page() {
        let mut a = record("AI-2026-000001-aaaa", "010203-1234", "Anna Holm");
        a.deadline = d("2026-12-10");
        let mut b = record("AI-2026-000002-bbbb", "050607-4321", "Bo Berg");
        b.deadline = d("2026-12-08");
        b.state = RequestState::HeldForReview;
        let mut c = record("AI-2026-000003-cccc", "111111-1118", "Carl Holm");
        c.deadline = d("2026-12-09");
        let all = vec![a, b, c];
        let ids = |p: &Page| p.rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>();

        let p = select(all.clone(), &Query::default());
        assert_eq!(
            ids(&p),
            [
                "AI-2026-000002-bbbb",
                "AI-2026-000003-cccc",
                "AI-2026-000001-aaaa"
            ]
        );
        let q = Query {
            search: "holm".into(),
            sort: SortBy::Name,
            descending: true,
            ..Default::default()
        };
        assert_eq!(
            ids(&select(all.clone(), &q)),
            ["AI-2026-000003-cccc", "AI-2026-000001-aaaa"]
        );
        for s in ["0506074321", "050607-4321", "000002", "bo berg"] {
            let q = Query {
                search: s.into(),
                ..Default::default()
            };
            assert_eq!(
                ids(&select(all.clone(), &q)),
                ["AI-2026-000002-bbbb"],
                "{s}"
            );
        }
        let q = Query {
            state: Some(RequestState::HeldForReview),
            ..Default::default()
        };
        assert_eq!(select(all.clone(), &q).total, 1);
        let q = Query {
            per_page: 2,
            page: 9,
            ..Default::default()
        };
        let p = select(all, &q);
        assert_eq!((p.page, p.pages, p.total, p.rows.len()), (2, 2, 3, 1));
    }

    /// `select` as it was before it worked on references: the reference
    /// the faster one must agree with, row for row.
    fn select_by_cloning(all: Vec<RequestRecord>, q: &Query) -> Page {
        let matches = |rec: &RequestRecord| {
            let hay = format!(
                "{} {} {} {}",
                rec.id.to_lowercase(),
                rec.name.to_lowercase(),
                rec.cpr,
                rec.cpr.replace('-', "")
            );
            q.search
                .split_whitespace()
                .all(|w| hay.contains(&w.to_lowercase()))
        };
        let mut rows: Vec<RequestRecord> = all
            .into_iter()
            .filter(|r| q.state.is_none_or(|s| r.state == s))
            .filter(|r| !q.waiting || waits_for_a_person(r.state))
            .filter(|r| matches(r))
            .collect();
        rows.sort_by(|a, b| {
            let o = match q.sort {
                SortBy::Id => a.id.cmp(&b.id),
                SortBy::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
                SortBy::Ordered => a.created.cmp(&b.created),
                SortBy::Deadline => a.deadline.cmp(&b.deadline),
                SortBy::Status => a.state.as_str().cmp(b.state.as_str()),
                SortBy::Caseworker => a.caseworker.cmp(&b.caseworker),
            }
            .then_with(|| a.id.cmp(&b.id));
            if q.descending {
                o.reverse()
            } else {
                o
            }
        });
        let per_page = q.per_page.max(1);
        let total = rows.len();
        let pages = total.div_ceil(per_page).max(1);
        let page = q.page.clamp(1, pages);
        let rows = rows
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        Page {
            rows,
            total,
            page,
            pages,
        }
    }

    #[test]
    fn the_list_agrees_with_the_plain_implementation() {
        let names = [
            "Anna Holm",
            "anna holm",
            "Åse Østergaard",
            "Bo Berg",
            "ÆBLE Jørgensen",
            "Carl Holm-Dahl",
            "",
        ];
        let states = [
            RequestState::Received,
            RequestState::HeldForReview,
            RequestState::Delivered,
            RequestState::DeliveryFailed,
        ];
        let mut all = Vec::new();
        for i in 0..60usize {
            // Some ids twice, to show equal rows keep their order.
            let id = format!("AI-2026-{:06}-{:04x}", i % 50, i % 7);
            let cpr = format!("{:02}0{}0{}-{:04}", 1 + i % 28, 1 + i % 9, i % 10, i * 37);
            let mut r = record(&id, &cpr, names[i % names.len()]);
            r.deadline = d("2026-12-01") + chrono::Duration::days((i % 9) as i64);
            r.created = chrono::DateTime::UNIX_EPOCH + chrono::Duration::days((i % 13) as i64);
            r.state = states[i % states.len()];
            r.caseworker = (i % 3 > 0).then(|| ["kbh", "mlj"][i % 2].to_string());
            r.note = format!("{i}");
            all.push(r);
        }
        let searches = [
            "",
            "holm",
            "HOLM anna",
            "åse",
            "ØSTERGAARD",
            "jørg",
            "æble",
            "0101",
            "01010-",
            "ai-2026-000007",
            "000003 bo",
            "nobody",
            "-",
            "holm-dahl",
        ];
        let sorts = [
            SortBy::Id,
            SortBy::Name,
            SortBy::Ordered,
            SortBy::Deadline,
            SortBy::Status,
            SortBy::Caseworker,
        ];
        let rows = |p: &Page| {
            p.rows
                .iter()
                .map(|r| format!("{} {}", r.id, r.note))
                .collect::<Vec<_>>()
        };
        for search in searches {
            for sort in sorts {
                for descending in [false, true] {
                    for (state, waiting) in [
                        (None, false),
                        (None, true),
                        (Some(RequestState::Delivered), false),
                    ] {
                        for (page, per_page) in [(1, 25), (2, 7), (9, 10), (0, 0)] {
                            let q = Query {
                                search: search.into(),
                                state,
                                waiting,
                                sort,
                                descending,
                                page,
                                per_page,
                            };
                            let want = select_by_cloning(all.clone(), &q);
                            let got = select(all.clone(), &q);
                            assert_eq!(rows(&got), rows(&want), "{q:?}");
                            assert_eq!(
                                (got.total, got.page, got.pages),
                                (want.total, want.page, want.pages),
                                "{q:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn urgency_counts_working_days_and_only_open_requests() {
        // Friday 4 December 2026; Monday 7th is the next working day.
        let fri = d("2026-12-04");
        let mut r = record("AI-1", "010203-1234", "A");
        r.deadline = d("2026-12-07");
        assert_eq!(urgency(&r, fri), Urgency::Urgent);
        r.deadline = d("2026-12-09");
        assert_eq!(urgency(&r, fri), Urgency::Soon);
        r.deadline = d("2026-12-03");
        assert_eq!(urgency(&r, fri), Urgency::Overdue);
        r.state = RequestState::Delivered;
        assert_eq!(urgency(&r, fri), Urgency::Calm);
    }

    #[test]
    fn the_serial_number_is_hidden() {
        assert_eq!(masked_cpr("010203-1234"), "010203-••••");
        assert_eq!(masked_cpr("0102031234"), "••••••-••••");
    }
}
