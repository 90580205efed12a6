CREATE INDEX CONCURRENTLY messages_conversation_idx
    ON messages (conversation_id, created_at, id);
