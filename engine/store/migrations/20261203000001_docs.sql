-- Table::query_docs: what a row is listed by (filter, search, sort), made by
-- the caller from the value. A write clears it (the value changed); the next
-- query makes the missing ones. Partial expression indexes per listed table
-- and sort field are made by the first query that needs them (docs.rs).
ALTER TABLE marc_kv ADD COLUMN doc jsonb;
