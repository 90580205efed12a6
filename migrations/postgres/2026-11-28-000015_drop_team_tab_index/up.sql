-- Its readers: the Support tab reads conversations_support_tab_idx since migration 14, and a
-- support agent's closed tab conversations_support_closed_idx since migration 20 (added after
-- a review found that reader missed; between the two it reads
-- conversations_status_activity_idx and tests each row's team, slower but correct).
-- CONCURRENTLY (hence metadata.toml), so that dropping it does not hold up patients' sends.
DROP INDEX CONCURRENTLY IF EXISTS conversations_team_tab_idx;
