-- Open conversations' words move to a table of their own, one row per word and conversation.
--
-- Open conversations have no GIN index (migration 6): every send rewrites the row, and a GIN
-- index takes in the whole document again each time. So a search for a word that is rare in an
-- open tab walked the whole tab and tested every row's document (12,000 open care-team
-- conversations at 1 M messages: 26-45 ms for `password`). In this table the open conversations
-- holding a word are one index range away. A send adds only its words; it no longer rewrites its
-- conversation a second time to extend the row's document, which open conversations now leave
-- empty. Closing a conversation gathers its document from its messages (for the closed GIN
-- indexes) and removes its words; reopening puts them back. persistence/src/search.rs builds the
-- queries against both.
--
-- No foreign key: conversations are never deleted, and a send would pay for a check per word.
CREATE TABLE open_conversation_lexemes (
    organization_id TEXT NOT NULL,
    lexeme TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    PRIMARY KEY (lexeme, organization_id, conversation_id)
);

-- Replaces migration 5's function: open conversations' words go to the table, closed ones'
-- (a note on a closed thread) to the row's document as before.
CREATE OR REPLACE FUNCTION conversations_take_message_lexemes() RETURNS trigger AS $$
BEGIN
    WITH added AS (
        SELECT conversation_id, array_agg(DISTINCT words.lexeme) AS lexemes
        FROM inserted, unnest(inserted.body_lexemes) AS words
        WHERE kind <> 'acknowledgment'
        GROUP BY conversation_id
    ), closed AS (
        UPDATE conversations
        SET message_lexemes = conversations.message_lexemes || array_to_tsvector(added.lexemes)
        FROM added
        WHERE conversations.id = added.conversation_id AND conversations.status = 'closed'
    )
    INSERT INTO open_conversation_lexemes (organization_id, lexeme, conversation_id)
    SELECT conversations.organization_id, unnest(added.lexemes), conversations.id
    FROM added JOIN conversations ON conversations.id = added.conversation_id
    WHERE conversations.status = 'open'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Before the update, so that a close writes the document in the same row version.
CREATE FUNCTION conversations_move_words() RETURNS trigger AS $$
BEGIN
    IF NEW.status = 'open' THEN
        INSERT INTO open_conversation_lexemes (organization_id, lexeme, conversation_id)
        SELECT NEW.organization_id, unnest(tsvector_to_array(OLD.message_lexemes)), NEW.id
        ON CONFLICT DO NOTHING;
        NEW.message_lexemes := ''::tsvector;
    ELSE
        NEW.message_lexemes := coalesce((
            SELECT array_to_tsvector(array_agg(DISTINCT words.lexeme))
            FROM messages, unnest(messages.body_lexemes) AS words
            WHERE messages.conversation_id = NEW.id AND messages.kind <> 'acknowledgment'
        ), ''::tsvector);
        DELETE FROM open_conversation_lexemes
        WHERE organization_id = NEW.organization_id
            AND lexeme = ANY (tsvector_to_array(NEW.message_lexemes))
            AND conversation_id = NEW.id;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER conversations_words_before_status BEFORE UPDATE OF status ON conversations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION conversations_move_words();

INSERT INTO open_conversation_lexemes (organization_id, lexeme, conversation_id)
SELECT organization_id, unnest(tsvector_to_array(message_lexemes)), id
FROM conversations
WHERE status = 'open';

UPDATE conversations SET message_lexemes = ''::tsvector WHERE status = 'open';
