//! Listing a table by fields of its records: filter, search, sort and page
//! ([`Table::query_docs`](crate::Table::query_docs)).
//!
//! The store keeps bytes; it does not know what a record means. The caller
//! says what a record is listed by: a function that turns a stored value
//! into a [`Doc`] (the few fields a list filters, searches and sorts by,
//! already in the form they compare in). The store answers a [`DocQuery`]
//! over those docs:
//!
//! - **sled** makes every row's doc as it scans the table and selects with
//!   [`select`] (one process, a few thousand rows: a scan is what sled has);
//! - **PostgreSQL** keeps each row's doc in a `jsonb` column beside the
//!   value and answers with SQL on partial expression indexes, so a list of
//!   many thousands of requests is a range of an index, not a scan. A write
//!   clears the row's doc; the next query makes the missing docs first (from
//!   the same function), so every write path stays as it is.
//!
//! Both answer the same query the same way: [`select`] is the definition,
//! and the PostgreSQL tests compare the two.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a record is listed by. Field values compare as bytes (so a caller
/// encodes dates and numbers to sort as text, and lowercases what sorts
/// without case).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doc {
    /// Text the search words are found in (each word anywhere in it). Words
    /// never contain whitespace, so parts joined by a newline never make a
    /// match across two parts.
    #[serde(rename = "s")]
    pub search: String,
    /// Who or what the record is for (a query may ask for any of some).
    #[serde(rename = "t")]
    pub tags: Vec<String>,
    /// Fields to filter and sort by, by name.
    #[serde(rename = "f")]
    pub fields: BTreeMap<String, String>,
}

/// A list: rows whose doc passes every filter, sorted, one page of it.
#[derive(Clone, Debug, Default)]
pub struct DocQuery {
    /// `Some`: only rows with at least one of these tags (none: no rows).
    pub any_tag: Option<Vec<String>>,
    /// Only rows whose field is one of the values (a missing field is "").
    pub field_in: Vec<(String, Vec<String>)>,
    /// Only rows whose search text contains every one of these words.
    pub words: Vec<String>,
    /// The field to sort by; rows equal in it are in key order.
    pub sort: String,
    /// Largest first (the key order reversed too).
    pub descending: bool,
    /// 1-based; clamped to the pages there are.
    pub page: usize,
    pub per_page: usize,
}

/// One page of a list: the keys of its rows, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocPage {
    pub keys: Vec<Vec<u8>>,
    /// Rows that pass the filters, on all pages.
    pub total: usize,
    /// The page shown (the asked one, clamped).
    pub page: usize,
    pub pages: usize,
}

/// Field names reach PostgreSQL as part of an index expression, so they are
/// plain identifiers: lowercase ASCII letters, digits and `_`.
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Refuses a table or field name that is not plain ([`is_plain_name`]).
pub(crate) fn check_names(table: &str, q: &DocQuery) -> crate::Result<()> {
    let names = [table, q.sort.as_str()]
        .into_iter()
        .chain(q.field_in.iter().map(|(f, _)| f.as_str()));
    for n in names {
        if !is_plain_name(n) {
            return Err(crate::StoreError::Io(format!(
                "cannot list by {n:?}: tables and fields to list by are named with a-z, 0-9 and _"
            )));
        }
    }
    Ok(())
}

impl Doc {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }

    /// Whether the doc passes the query's filters.
    pub fn passes(&self, q: &DocQuery) -> bool {
        q.any_tag
            .as_ref()
            .is_none_or(|want| self.tags.iter().any(|t| want.contains(t)))
            && q.field_in
                .iter()
                .all(|(f, values)| values.iter().any(|v| v == self.field(f)))
            && q.words.iter().all(|w| self.search.contains(w.as_str()))
    }
}

/// The page number shown and the page count, for `total` rows.
pub(crate) fn clamp_page(q: &DocQuery, total: usize) -> (usize, usize) {
    let per_page = q.per_page.max(1);
    let pages = total.div_ceil(per_page).max(1);
    (q.page.clamp(1, pages), pages)
}

/// The definition of a query's answer, over `(key, doc)` rows: what sled
/// runs, and what PostgreSQL's SQL must agree with.
pub fn select(rows: Vec<(Vec<u8>, Doc)>, q: &DocQuery) -> DocPage {
    let mut hits: Vec<(String, Vec<u8>)> = rows
        .into_iter()
        .filter(|(_, d)| d.passes(q))
        .map(|(k, mut d)| (d.fields.remove(&q.sort).unwrap_or_default(), k))
        .collect();
    hits.sort_unstable();
    if q.descending {
        hits.reverse();
    }
    let total = hits.len();
    let (page, pages) = clamp_page(q, total);
    let per_page = q.per_page.max(1);
    let keys = hits
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(_, k)| k)
        .collect();
    DocPage {
        keys,
        total,
        page,
        pages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(search: &str, tags: &[&str], fields: &[(&str, &str)]) -> Doc {
        Doc {
            search: search.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn filters_search_sort_and_pages() {
        let rows = vec![
            (
                b"a".to_vec(),
                doc("anna holm", &["x"], &[("d", "2"), ("s", "open")]),
            ),
            (
                b"b".to_vec(),
                doc("bo berg", &["y"], &[("d", "1"), ("s", "open")]),
            ),
            (b"c".to_vec(), doc("carl holm", &["x", "y"], &[("d", "2")])),
            (
                b"d".to_vec(),
                doc("dorte", &[], &[("d", "0"), ("s", "done")]),
            ),
        ];
        let q = |f: &dyn Fn(&mut DocQuery)| {
            let mut q = DocQuery {
                sort: "d".into(),
                page: 1,
                per_page: 2,
                ..Default::default()
            };
            f(&mut q);
            let p = select(rows.clone(), &q);
            let keys: Vec<String> = p
                .keys
                .iter()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect();
            (keys.join(""), p.total, p.page, p.pages)
        };
        assert_eq!(q(&|_| {}), ("db".into(), 4, 1, 2));
        assert_eq!(q(&|q| q.page = 9), ("ac".into(), 4, 2, 2));
        // Equal in the field: key order, reversed when descending.
        assert_eq!(q(&|q| q.descending = true), ("ca".into(), 4, 1, 2));
        assert_eq!(
            q(&|q| q.words = vec!["holm".into()]),
            ("ac".into(), 2, 1, 1)
        );
        assert_eq!(
            q(&|q| q.words = vec!["holm".into(), "carl".into()]),
            ("c".into(), 1, 1, 1)
        );
        assert_eq!(
            q(&|q| q.any_tag = Some(vec!["y".into()])),
            ("bc".into(), 2, 1, 1)
        );
        assert_eq!(q(&|q| q.any_tag = Some(vec![])), ("".into(), 0, 1, 1));
        // A missing field is "".
        assert_eq!(
            q(&|q| q.field_in = vec![("s".into(), vec!["".into(), "done".into()])]),
            ("dc".into(), 2, 1, 1)
        );
    }

    #[test]
    fn plain_names_only() {
        assert!(is_plain_name("deadline_2"));
        for bad in ["", "Name", "a-b", "x'); drop", "ø"] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }
}
