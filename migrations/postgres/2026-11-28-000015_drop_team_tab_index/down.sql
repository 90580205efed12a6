CREATE INDEX CONCURRENTLY conversations_team_tab_idx
    ON conversations (organization_id, status, team, urgent, last_activity_at, id);
