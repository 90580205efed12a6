-- Streams read inbox_events_position_idx since migration 25.
-- CONCURRENTLY (hence metadata.toml), so that dropping it does not hold up the writes.
DROP INDEX CONCURRENTLY IF EXISTS inbox_events_organization_idx;
