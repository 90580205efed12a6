-- See the PostgreSQL migrations 21 and 22: what the unread count reads instead of each
-- open conversation's messages. SQLite adds a NOT NULL column only with a default; the
-- backfill below replaces it in every row, and the application always writes the column.
-- SQLite is embedded, one process and no rolling deploy, so columns and backfill are one
-- migration here.
ALTER TABLE conversations ADD COLUMN newest_message_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
ALTER TABLE conversations ADD COLUMN newest_message_author_id TEXT;
ALTER TABLE conversations ADD COLUMN newest_other_message_at TIMESTAMP;

UPDATE conversations
SET newest_message_at = coalesce((
        SELECT m.created_at FROM messages m
        WHERE m.conversation_id = conversations.id AND m.kind <> 'acknowledgment'
        ORDER BY m.created_at DESC, m.id DESC LIMIT 1
    ), created_at),
    newest_message_author_id = (
        SELECT m.author_id FROM messages m
        WHERE m.conversation_id = conversations.id AND m.kind <> 'acknowledgment'
        ORDER BY m.created_at DESC, m.id DESC LIMIT 1
    );

UPDATE conversations
SET newest_other_message_at = (
    SELECT max(m.created_at) FROM messages m
    WHERE m.conversation_id = conversations.id
        AND m.kind <> 'acknowledgment'
        AND m.author_id IS NOT conversations.newest_message_author_id
);
