-- Streams read the log in the order of the transaction ids of its writers (`tx`), then of its
-- row ids, and only as far as no running transaction can still add to (persistence/src/live.rs).
-- Before, every writer took one lock from its events to its commit so that row ids came in
-- commit order, and with the NOTIFY in the same commit that made the commits of all writers of
-- the database wait for one another (BENCHMARKS.md, item 27).
--
-- The rows kept from before were written in commit order, and with `tx` 0 they come first, in
-- row id order. The default is set apart from the column so that adding it rewrites nothing;
-- the writers of the previous release fill it too during a rolling deploy. While both releases
-- serve, a stream of either can miss an event the other's streams sent in their own order (the
-- previous release reads by id, and a client may resume on the other release): clients should
-- reload their lists once the deploy is done.
-- Every write appends to the log: rather than have them all queue behind this lock while it
-- waits for a long transaction, the migration gives up (and the instance does not start).
SET LOCAL lock_timeout = '5s';
ALTER TABLE inbox_events ADD COLUMN tx BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inbox_events ALTER COLUMN tx SET DEFAULT (pg_current_xact_id()::text::bigint);
