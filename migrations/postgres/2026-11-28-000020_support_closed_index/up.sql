-- A support agent sees Support's conversations alone, so their closed tab and its count ask for
-- `status = 'closed' AND team = 'support'`. conversations_team_tab_idx (dropped by migration 15)
-- answered the count from its entries alone; conversations_status_activity_idx has no team, so
-- without this index the count tests the team of each of the organization's closed
-- conversations on its heap page, for every support agent's GET /v1/inbox/counts and live
-- stream. This index holds the closed Support conversations alone, in the closed tab's order,
-- so it serves the tab's pages too. Sends, which rewrite open conversations, never write to it.
--
-- PostgreSQL only, as migration 14's indexes are. CONCURRENTLY (hence metadata.toml), so that
-- building it does not hold up patients' sends; no IF NOT EXISTS, as in migration 11.
CREATE INDEX CONCURRENTLY conversations_support_closed_idx
    ON conversations (organization_id, last_activity_at, id)
    WHERE status = 'closed' AND team = 'support';
