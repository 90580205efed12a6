-- PostgreSQL's streams read the log in the order of its writers' transaction ids (`tx`), then of
-- its row ids (see the PostgreSQL migration of the same name). SQLite commits one writer at a
-- time, so its row ids are in commit order already: `tx` is always 0 here, and the same queries
-- read the log by row id.
ALTER TABLE inbox_events ADD COLUMN tx BIGINT NOT NULL DEFAULT 0;
DROP INDEX inbox_events_organization_idx;
CREATE INDEX inbox_events_position_idx ON inbox_events (organization_id, tx, id);
