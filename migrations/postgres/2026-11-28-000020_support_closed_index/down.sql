DROP INDEX CONCURRENTLY IF EXISTS conversations_support_closed_idx;
