-- Replaces conversations_assigned_tab_idx (migration 17 drops it); why, in migration 14. The
-- organization follows the assignee, so that counting the assigned tab's first part, which
-- tests it, reads this index alone instead of every row's heap page.
-- CONCURRENTLY (hence metadata.toml), so that building it does not hold up patients' sends.
CREATE INDEX CONCURRENTLY conversations_assigned_open_idx
    ON conversations (assigned_to, organization_id, urgent, last_activity_at, id)
    WHERE status = 'open' AND assigned_to IS NOT NULL;
