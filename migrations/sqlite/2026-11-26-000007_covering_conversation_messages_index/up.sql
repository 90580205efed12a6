-- As on PostgreSQL (its migrations 7 and 8): the unread counts of a listed page read each
-- message's author and kind, and with them in the index those counts never touch the table.
-- SQLite has no INCLUDE; trailing key columns cover the same.
CREATE INDEX messages_conversation_covering_idx
    ON messages (conversation_id, created_at, id, author_id, kind);
DROP INDEX messages_conversation_idx;
