-- Migration 28's function.
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
    ), new_words AS (
        SELECT conversations.organization_id, conversations.id AS conversation_id,
            ARRAY(SELECT unnest(added.lexemes) EXCEPT SELECT unnest(known.lexemes)) AS lexemes
        FROM added
        JOIN conversations ON conversations.id = added.conversation_id
        LEFT JOIN open_conversation_known_lexemes AS known
            ON known.conversation_id = added.conversation_id
        WHERE conversations.status = 'open'
    ), learned AS (
        INSERT INTO open_conversation_known_lexemes AS known (conversation_id, lexemes)
        SELECT conversation_id, lexemes FROM new_words WHERE cardinality(lexemes) > 0
        ON CONFLICT (conversation_id) DO UPDATE SET lexemes = known.lexemes || excluded.lexemes
    )
    INSERT INTO open_conversation_lexemes (organization_id, lexeme, conversation_id)
    SELECT organization_id, unnest(lexemes), conversation_id FROM new_words
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Migration 28's function.
CREATE OR REPLACE FUNCTION conversations_move_words() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'closed' THEN
        DELETE FROM closed_conversation_lexemes
        WHERE organization_id = OLD.organization_id
            AND lexeme = ANY (tsvector_to_array(OLD.message_lexemes))
            AND last_activity_at = OLD.last_activity_at
            AND conversation_id = OLD.id;
    END IF;
    IF OLD.status = 'closed' AND NEW.status = 'open' THEN
        INSERT INTO open_conversation_lexemes (organization_id, lexeme, conversation_id)
        SELECT NEW.organization_id, unnest(tsvector_to_array(OLD.message_lexemes)), NEW.id
        ON CONFLICT DO NOTHING;
        INSERT INTO open_conversation_known_lexemes (conversation_id, lexemes)
        VALUES (NEW.id, tsvector_to_array(OLD.message_lexemes))
        ON CONFLICT (conversation_id) DO UPDATE SET lexemes = excluded.lexemes;
        NEW.message_lexemes := ''::tsvector;
    ELSIF OLD.status = 'open' AND NEW.status = 'closed' THEN
        NEW.message_lexemes := coalesce((
            SELECT array_to_tsvector(array_agg(DISTINCT words.lexeme))
            FROM messages, unnest(messages.body_lexemes) AS words
            WHERE messages.conversation_id = NEW.id AND messages.kind <> 'acknowledgment'
        ), ''::tsvector);
        DELETE FROM open_conversation_lexemes
        WHERE organization_id = NEW.organization_id
            AND lexeme = ANY (tsvector_to_array(NEW.message_lexemes))
            AND conversation_id = NEW.id;
        DELETE FROM open_conversation_known_lexemes WHERE conversation_id = NEW.id;
    END IF;
    IF NEW.status = 'closed' THEN
        INSERT INTO closed_conversation_lexemes
            (organization_id, lexeme, last_activity_at, conversation_id, team)
        SELECT NEW.organization_id, unnest(tsvector_to_array(NEW.message_lexemes)),
            NEW.last_activity_at, NEW.id, NEW.team
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
-- As in migration 13: each statement planned for its values.
SET plan_cache_mode = force_custom_plan;

ALTER TABLE conversations DROP COLUMN lexemes_signature;
DROP FUNCTION signature_of_lexemes(TEXT[]);
