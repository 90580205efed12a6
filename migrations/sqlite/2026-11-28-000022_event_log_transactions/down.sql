DROP INDEX inbox_events_position_idx;
CREATE INDEX inbox_events_organization_idx ON inbox_events (organization_id, id);
ALTER TABLE inbox_events DROP COLUMN tx;
