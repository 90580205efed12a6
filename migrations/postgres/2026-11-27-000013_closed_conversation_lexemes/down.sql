DROP TRIGGER conversations_words_before_update ON conversations;

-- Migration 9's function.
CREATE OR REPLACE FUNCTION conversations_move_words() RETURNS trigger AS $$
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

DROP TABLE closed_conversation_lexemes;
