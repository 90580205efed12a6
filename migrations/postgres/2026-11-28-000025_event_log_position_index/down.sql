DROP INDEX CONCURRENTLY IF EXISTS inbox_events_position_idx;
