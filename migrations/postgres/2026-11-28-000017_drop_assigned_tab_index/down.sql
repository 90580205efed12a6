CREATE INDEX CONCURRENTLY conversations_assigned_tab_idx
    ON conversations (assigned_to, status, urgent, last_activity_at, id);
