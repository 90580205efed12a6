CREATE INDEX CONCURRENTLY conversations_claimed_tab_idx
    ON conversations (claimed_by, status, urgent, last_activity_at, id);
