DROP TRIGGER conversations_words_before_status ON conversations;
DROP FUNCTION conversations_move_words();

CREATE OR REPLACE FUNCTION conversations_take_message_lexemes() RETURNS trigger AS $$
BEGIN
    UPDATE conversations
    SET message_lexemes = conversations.message_lexemes || added.lexemes
    FROM (
        SELECT conversation_id, array_to_tsvector(array_agg(DISTINCT words.lexeme)) AS lexemes
        FROM inserted, unnest(inserted.body_lexemes) AS words
        WHERE kind <> 'acknowledgment'
        GROUP BY conversation_id
    ) AS added
    WHERE conversations.id = added.conversation_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

UPDATE conversations
SET message_lexemes = words.lexemes
FROM (
    SELECT conversation_id, array_to_tsvector(array_agg(lexeme)) AS lexemes
    FROM open_conversation_lexemes
    GROUP BY conversation_id
) AS words
WHERE conversations.id = words.conversation_id;

DROP TABLE open_conversation_lexemes;
