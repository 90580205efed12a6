-- Its readers read conversations_assigned_open_idx since migration 16.
-- CONCURRENTLY (hence metadata.toml), so that dropping it does not hold up patients' sends.
DROP INDEX CONCURRENTLY IF EXISTS conversations_assigned_tab_idx;
