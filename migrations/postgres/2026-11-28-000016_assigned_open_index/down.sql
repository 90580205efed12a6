DROP INDEX CONCURRENTLY IF EXISTS conversations_assigned_open_idx;
