-- The inbox's `q` searches conversations, not messages: a conversation matches when its messages
-- (acknowledgments aside), together, hold every word, or when its patient's name does. Matching
-- message rows and then their conversations read every matching message of the organization
-- before the tab's order and page could apply; these per-conversation lexemes let the planner
-- either walk the tab's index and test each row, or start from the GIN index for rare words.
-- persistence/src/search.rs builds the queries against them.

-- A message's lexemes, computed once when it is written: finding the latest matching message of
-- each listed conversation (the search snippet) tests every message of those conversations, and
-- `to_tsvector` on each was most of a search's time.
ALTER TABLE messages
    ADD COLUMN body_lexemes tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED;
CREATE INDEX messages_body_lexemes_idx ON messages USING GIN (body_lexemes);
DROP INDEX messages_body_search_idx;

ALTER TABLE conversations
    -- Every distinct lexeme of the conversation's messages, without positions: it grows with the
    -- vocabulary of the thread, not with its length.
    ADD COLUMN message_lexemes tsvector NOT NULL DEFAULT ''::tsvector,
    -- The patient's name, unstemmed like the directory's name search.
    ADD COLUMN patient_name_lexemes tsvector NOT NULL DEFAULT ''::tsvector;

-- Kept here rather than in the application so that no way of writing a message (the API, the
-- benchmark's bulk seeding, a repair by hand) can leave a conversation unfindable. One UPDATE per
-- statement and conversation, so bulk inserts do not rewrite a conversation once per message.
CREATE FUNCTION conversations_take_message_lexemes() RETURNS trigger AS $$
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

CREATE TRIGGER messages_search_after_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION conversations_take_message_lexemes();

CREATE FUNCTION conversations_take_patient_name() RETURNS trigger AS $$
BEGIN
    NEW.patient_name_lexemes :=
        (SELECT to_tsvector('simple', display_name) FROM patients WHERE id = NEW.patient_id);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER conversations_search_before_insert BEFORE INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversations_take_patient_name();

CREATE FUNCTION patients_rename_conversations() RETURNS trigger AS $$
BEGIN
    UPDATE conversations
    SET patient_name_lexemes = to_tsvector('simple', NEW.display_name)
    WHERE patient_id = NEW.id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER patients_search_after_rename AFTER UPDATE OF display_name ON patients
    FOR EACH ROW WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name)
    EXECUTE FUNCTION patients_rename_conversations();

-- Conversations written before this migration.
UPDATE conversations
SET patient_name_lexemes = to_tsvector('simple', patients.display_name)
FROM patients
WHERE patients.id = conversations.patient_id;

UPDATE conversations
SET message_lexemes = added.lexemes
FROM (
    SELECT conversation_id, array_to_tsvector(array_agg(DISTINCT words.lexeme)) AS lexemes
    FROM messages, unnest(messages.body_lexemes) AS words
    WHERE kind <> 'acknowledgment'
    GROUP BY conversation_id
) AS added
WHERE conversations.id = added.conversation_id;

CREATE INDEX conversations_message_search_idx ON conversations USING GIN (message_lexemes);
CREATE INDEX conversations_patient_name_search_idx
    ON conversations USING GIN (patient_name_lexemes);
