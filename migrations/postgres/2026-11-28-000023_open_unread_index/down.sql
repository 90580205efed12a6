DROP INDEX CONCURRENTLY IF EXISTS conversations_open_unread_idx;
