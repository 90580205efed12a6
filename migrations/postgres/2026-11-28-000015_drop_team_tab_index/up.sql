-- Its one reader, the Support tab, reads conversations_support_tab_idx since migration 14.
-- CONCURRENTLY (hence metadata.toml), so that dropping it does not hold up patients' sends.
DROP INDEX CONCURRENTLY IF EXISTS conversations_team_tab_idx;
