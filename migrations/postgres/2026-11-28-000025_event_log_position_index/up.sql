-- A stream reads its organization's events after its position (`tx`, `id`): one range of this
-- index. CONCURRENTLY (hence metadata.toml), so that building it does not hold up the writes.
CREATE INDEX CONCURRENTLY inbox_events_position_idx ON inbox_events (organization_id, tx, id);
