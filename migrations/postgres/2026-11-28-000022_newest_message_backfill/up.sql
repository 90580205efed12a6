-- Fills in migration 21's columns for the conversations written before it, from their messages,
-- a few thousand conversations at a time, each batch committed on its own (hence
-- metadata.toml): one transaction would hold the rows of every conversation, and patients'
-- sends to them, for the whole backfill (4.4 s at 1 M messages, in one with the columns).
--
-- The newest message staff see (acknowledgments aside), its author, and the newest by anyone
-- else; a conversation without messages keeps its start. Times are compared as stored, so the
-- newest is the latest by the writers' clocks, as ConversationRow::take_message keeps it.
DO $$
DECLARE
    done_up_to TEXT := '';
    batch_end TEXT;
BEGIN
    LOOP
        SELECT max(id) INTO batch_end
        FROM (
            SELECT id FROM conversations WHERE id > done_up_to ORDER BY id LIMIT 5000
        ) AS batch;
        EXIT WHEN batch_end IS NULL;

        -- The batch's rows in id order, as the application's writers lock them: the update
        -- below would lock them in its plan's order and could deadlock with a send batch of
        -- the release still serving.
        PERFORM 1 FROM conversations
        WHERE id > done_up_to AND id <= batch_end
        ORDER BY id
        FOR UPDATE;

        WITH newest AS (
            SELECT DISTINCT ON (conversation_id) conversation_id, author_id, created_at
            FROM messages
            WHERE kind <> 'acknowledgment'
                AND conversation_id > done_up_to AND conversation_id <= batch_end
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

        UPDATE conversations SET newest_message_at = created_at
        WHERE id > done_up_to AND id <= batch_end
            AND NOT EXISTS (
                SELECT 1 FROM messages
                WHERE messages.conversation_id = conversations.id
                    AND messages.kind <> 'acknowledgment'
            );

        COMMIT;
        done_up_to := batch_end;
    END LOOP;
END
$$;
