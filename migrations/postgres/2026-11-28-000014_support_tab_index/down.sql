DROP INDEX CONCURRENTLY IF EXISTS conversations_support_tab_idx;
