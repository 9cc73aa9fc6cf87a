-- marc's store on PostgreSQL: every named table of the Store API is a range of
-- rows here, ordered by key bytes (bytea compares like memcmp, as sled orders
-- its keys). The primary key's index serves get, the prefix ranges of
-- scan_prefix, iter's pages and last.
CREATE TABLE marc_kv (
    tbl   text COLLATE "C" NOT NULL,
    key   bytea NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (tbl, key)
);

-- Store::next_id: increasing across processes and restarts. Starts at 0 like
-- sled's generate_id; a sequence may skip values (after a crash or a rolled
-- back transaction), never repeats one.
CREATE SEQUENCE marc_ids AS bigint MINVALUE 0 START WITH 0;
