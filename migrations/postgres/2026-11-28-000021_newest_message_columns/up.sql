-- The unread count (GET /v1/inbox/counts, and every staff member's live stream) asked each open
-- conversation's messages whether one was unread: at 1 M messages, 114–155 ms a count. With these
-- columns it reads the conversation rows alone. They hold the newest message staff read
-- (internal notes included, acknowledgments aside), its author, and the newest such message by
-- anyone else; the newest message a staff member did not write is one of the two. The
-- application keeps them with every message it adds (ConversationRow::take_message).
--
-- The default is for instances of the previous release, which run beside this one during a
-- rolling deploy and leave the columns out of what they write: a conversation one of them starts
-- gets the time of its start and no author, so it counts as unread for every staff member who has
-- not read it since, as a patient's new conversation should. Their messages in existing
-- conversations leave these columns as they were until the next write of this release.
-- The default is UTC, like every timestamp the application writes.
ALTER TABLE conversations
    ADD COLUMN newest_message_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    ADD COLUMN newest_message_author_id TEXT,
    ADD COLUMN newest_other_message_at TIMESTAMP;

WITH newest AS (
    SELECT DISTINCT ON (conversation_id) conversation_id, author_id, created_at
    FROM messages
    WHERE kind <> 'acknowledgment'
    ORDER BY conversation_id, created_at DESC, id DESC
)
UPDATE conversations
SET newest_message_at = newest.created_at,
    newest_message_author_id = newest.author_id,
    newest_other_message_at = (
        SELECT max(other.created_at)
        FROM messages other
        WHERE other.conversation_id = newest.conversation_id
            AND other.kind <> 'acknowledgment'
            AND other.author_id IS DISTINCT FROM newest.author_id
    )
FROM newest
WHERE conversations.id = newest.conversation_id;

-- Every conversation starts with a message; one without would keep the default, not its start.
UPDATE conversations SET newest_message_at = created_at
WHERE NOT EXISTS (
    SELECT 1 FROM messages
    WHERE messages.conversation_id = conversations.id AND messages.kind <> 'acknowledgment'
);
