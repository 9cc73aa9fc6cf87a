//! [`Table::query_docs`](crate::Table::query_docs) on PostgreSQL: each row's
//! [`Doc`] in the `doc jsonb` column, the query in SQL on partial expression
//! indexes (one per listed table and sort field, `WHERE tbl = '<table>'`),
//! so a page of a long list is read off an index in sort order.
//!
//! Writes clear a row's doc (`postgres.rs`). A query first makes the docs
//! that are missing, from the caller's function, and stores each only if the
//! value is still the one it was made from; a row written again in between
//! is made again, a few rounds at most. A row written after that is missing
//! from this one answer and is in the next.

use crate::docs::{clamp_page, Doc, DocPage, DocQuery};
use crate::postgres::{retrying, PgTable};
use crate::{Result, StoreError};
// Every SQL string built here is made of fixed text and names checked by
// `is_plain_name`; values always go in as parameters.
use sqlx::AssertSqlSafe;

/// Rounds of making missing docs before the query runs anyway.
const FILL_ROUNDS: usize = 3;

type Entry = (Vec<u8>, Vec<u8>);

/// The caller's function from a row's key and value to its doc.
type DocOf<'a> = dyn Fn(&[u8], &[u8]) -> Result<Doc> + 'a;

/// `%word%` for LIKE, with LIKE's own characters escaped (`\` is the escape).
fn contains_pattern(word: &str) -> String {
    let mut p = String::with_capacity(word.len() + 2);
    p.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A doc field as the indexes and queries spell it (a missing field is "").
fn field_expr(name: &str) -> String {
    format!("coalesce(doc->'f'->>'{name}', '')")
}

/// The `WHERE` of a query and its text parameters, numbered from `$2` (`$1`
/// is the table). Array parameters are separate (`$n::text[]`).
struct Where {
    sql: String,
    texts: Vec<String>,
    arrays: Vec<Vec<String>>,
}

impl Where {
    fn of(q: &DocQuery) -> Where {
        let mut w = Where {
            sql: "tbl = $1 AND doc IS NOT NULL".into(),
            texts: Vec::new(),
            arrays: Vec::new(),
        };
        // Binds go in order: texts first, then arrays; numbered accordingly
        // when the SQL is finished (`finish`).
        let mut parts: Vec<String> = Vec::new();
        if let Some(tags) = &q.any_tag {
            w.arrays.push(tags.clone());
            parts.push(format!("doc->'t' ?| {{a{}}}", w.arrays.len() - 1));
        }
        for (field, values) in &q.field_in {
            w.arrays.push(values.clone());
            parts.push(format!(
                "{} = ANY({{a{}}})",
                field_expr(field),
                w.arrays.len() - 1
            ));
        }
        for word in &q.words {
            w.texts.push(contains_pattern(word));
            parts.push(format!("(doc->>'s') LIKE {{t{}}}", w.texts.len() - 1));
        }
        for p in parts {
            w.sql.push_str(" AND ");
            w.sql.push_str(&p);
        }
        w.finish();
        w
    }

    /// Numbers the placeholders: `$2…` for texts, then the arrays.
    fn finish(&mut self) {
        let mut sql = self.sql.clone();
        for i in 0..self.texts.len() {
            sql = sql.replace(&format!("{{t{i}}}"), &format!("${}", 2 + i));
        }
        for i in 0..self.arrays.len() {
            sql = sql.replace(
                &format!("{{a{i}}}"),
                &format!("${}::text[]", 2 + self.texts.len() + i),
            );
        }
        self.sql = sql;
    }

    /// The next free placeholder number.
    fn next(&self) -> usize {
        2 + self.texts.len() + self.arrays.len()
    }

    fn bind<'q, O>(
        &'q self,
        tbl: &'q str,
        mut query: sqlx::query::QueryScalar<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryScalar<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
        query = query.bind(tbl);
        for t in &self.texts {
            query = query.bind(t);
        }
        for a in &self.arrays {
            query = query.bind(a);
        }
        query
    }
}

impl PgTable {
    /// The names were checked ([`crate::docs::check_names`]).
    pub(crate) fn query_docs(&self, q: &DocQuery, doc_of: &DocOf<'_>) -> Result<DocPage> {
        self.ensure_indexes(&q.sort)?;
        self.fill_docs(doc_of)?;

        let filter = Where::of(q);
        let tbl = self.name.clone();
        let count_sql = format!("SELECT count(*) FROM marc_kv WHERE {}", filter.sql);
        let filter = std::sync::Arc::new(filter);
        let f = filter.clone();
        let total: i64 = self.store.run(move |pool, limits| async move {
            retrying(limits, || {
                f.bind(
                    &tbl,
                    sqlx::query_scalar::<_, i64>(AssertSqlSafe(count_sql.as_str())),
                )
                .fetch_one(&pool)
            })
            .await
        })?;
        let total = usize::try_from(total).unwrap_or(0);
        let (page, pages) = clamp_page(q, total);
        let per_page = q.per_page.max(1);
        let order = if q.descending { "DESC" } else { "ASC" };
        let n = filter.next();
        let keys_sql = format!(
            "SELECT key FROM marc_kv WHERE {} ORDER BY {} COLLATE \"C\" {order}, key {order} \
             OFFSET ${n} LIMIT ${}",
            filter.sql,
            field_expr(&q.sort),
            n + 1
        );
        let offset = i64::try_from((page - 1) * per_page).unwrap_or(i64::MAX);
        let limit = i64::try_from(per_page).unwrap_or(i64::MAX);
        let tbl = self.name.clone();
        let keys: Vec<Vec<u8>> = self.store.run(move |pool, limits| async move {
            retrying(limits, || {
                filter
                    .bind(
                        &tbl,
                        sqlx::query_scalar::<_, Vec<u8>>(AssertSqlSafe(keys_sql.as_str())),
                    )
                    .bind(offset)
                    .bind(limit)
                    .fetch_all(&pool)
            })
            .await
        })?;
        Ok(DocPage {
            keys,
            total,
            page,
            pages,
        })
    }

    /// Makes and stores the docs of rows that have none.
    fn fill_docs(&self, doc_of: &DocOf<'_>) -> Result<()> {
        for _ in 0..FILL_ROUNDS {
            let tbl = self.name.clone();
            let missing: Vec<Entry> = self.store.run(move |pool, limits| async move {
                retrying(limits, || {
                    sqlx::query_as::<_, Entry>(
                        "SELECT key, value FROM marc_kv WHERE tbl = $1 AND doc IS NULL",
                    )
                    .bind(&*tbl)
                    .fetch_all(&pool)
                })
                .await
            })?;
            if missing.is_empty() {
                return Ok(());
            }
            let mut keys = Vec::with_capacity(missing.len());
            let mut values = Vec::with_capacity(missing.len());
            let mut docs = Vec::with_capacity(missing.len());
            for (k, v) in missing {
                let doc = doc_of(&k, &v)?;
                docs.push(
                    serde_json::to_string(&doc).map_err(|e| StoreError::Encode(e.to_string()))?,
                );
                keys.push(k);
                values.push(v);
            }
            let tbl = self.name.clone();
            self.store.run(move |pool, limits| async move {
                retrying(limits, || {
                    sqlx::query(
                        "UPDATE marc_kv m SET doc = u.doc::jsonb \
                         FROM unnest($2::bytea[], $3::bytea[], $4::text[]) AS u(key, value, doc) \
                         WHERE m.tbl = $1 AND m.key = u.key AND m.value = u.value",
                    )
                    .bind(&*tbl)
                    .bind(&keys)
                    .bind(&values)
                    .bind(&docs)
                    .execute(&pool)
                })
                .await
                .map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Makes the table's partial indexes once per process: rows without a
    /// doc (found by [`Self::fill_docs`] without a scan) and the sort field
    /// with the key (a page in sort order is an index range). Under an
    /// advisory lock, as two processes making the same index at once would
    /// fail.
    fn ensure_indexes(&self, sort: &str) -> Result<()> {
        let memo = format!("{}/{sort}", self.name);
        let seen = |add: bool| {
            let mut set = self
                .store
                .worker
                .doc_indexes
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if add {
                set.insert(memo.clone());
                true
            } else {
                set.contains(&memo)
            }
        };
        if seen(false) {
            return Ok(());
        }
        let tbl = self.name.to_string();
        let statements = [
            format!(
                "CREATE INDEX IF NOT EXISTS marc_kv_nodoc_{tbl} ON marc_kv (key) \
                 WHERE tbl = '{tbl}' AND doc IS NULL"
            ),
            format!(
                "CREATE INDEX IF NOT EXISTS marc_kv_doc_{tbl}_{sort} \
                 ON marc_kv (({}) COLLATE \"C\", key) WHERE tbl = '{tbl}' AND doc IS NOT NULL",
                field_expr(sort)
            ),
        ];
        self.store.run(move |pool, limits| async move {
            retrying(limits, || {
                let statements = statements.clone();
                let pool = pool.clone();
                async move {
                    let mut tx = pool.begin().await?;
                    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('marc_kv doc indexes'))")
                        .execute(&mut *tx)
                        .await?;
                    for s in &statements {
                        sqlx::query(AssertSqlSafe(s.as_str()))
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await
                }
            })
            .await
        })?;
        seen(true);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_characters_are_escaped() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn placeholders_are_numbered_texts_then_arrays() {
        let q = DocQuery {
            any_tag: Some(vec!["x".into()]),
            field_in: vec![("state".into(), vec!["a".into()])],
            words: vec!["w".into(), "v".into()],
            ..Default::default()
        };
        let w = Where::of(&q);
        assert!(w.sql.contains("doc->'t' ?| $4::text[]"), "{}", w.sql);
        assert!(w.sql.contains("= ANY($5::text[])"), "{}", w.sql);
        assert!(
            w.sql.contains("LIKE $2") && w.sql.contains("LIKE $3"),
            "{}",
            w.sql
        );
        assert_eq!(w.next(), 6);
    }
}
