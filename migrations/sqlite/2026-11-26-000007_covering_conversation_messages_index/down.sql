CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at, id);
DROP INDEX messages_conversation_covering_idx;
