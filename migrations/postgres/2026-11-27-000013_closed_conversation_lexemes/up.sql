-- Closed conversations' words get a table of their own, one row per word and conversation, in
-- the closed tab's order.
--
-- A search of the closed tab walked its newest 1,000 conversations testing each one's document,
-- then listed every older match from the GIN index (migration 6) and read each match's row to
-- sort them: `charged`, in 1,680 of 70,000 closed conversations at 1 M messages, read 1,511
-- buffers and took 4.6-6.1 ms, and the cost grows with the closed tab, which grows without end.
-- A closed conversation changes rarely, so its words can carry its place in the tab: here a
-- word's newest closed conversations are the start of one index range, and a page of them is
-- read from the index alone. persistence/src/search.rs builds the query.
--
-- The entries follow their conversation: a close writes them, a reopen removes them, and a note
-- on a closed thread or a change of activity or team while closed rewrites them.
--
-- No foreign key: conversations are never deleted, and a close would pay for a check per word.
CREATE TABLE closed_conversation_lexemes (
    organization_id TEXT NOT NULL,
    lexeme TEXT NOT NULL,
    last_activity_at TIMESTAMP NOT NULL,
    conversation_id TEXT NOT NULL,
    -- Support agents see Support's conversations only: a page is filtered while the index is
    -- read, without visiting the table.
    team TEXT NOT NULL,
    PRIMARY KEY (organization_id, lexeme, last_activity_at, conversation_id) INCLUDE (team)
);

-- Replaces migration 9's function: it also keeps the closed conversation's entries.
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
-- A session keeps PL/pgSQL's plans, and after five calls may keep one made for any values. Made
-- while this table was empty (a new database, or the benchmark's bulk seeding), the DELETE's
-- plan tested the words as a filter over the organization's every entry instead of probing the
-- index once per word: 3,503 buffers and 19 ms at 300,000 entries, against 12 buffers and
-- 0.06 ms planned for its values; the seeding spent minutes in it. Planned for its values on
-- each call (0.1 ms), every statement here sees the table as it is.
SET plan_cache_mode = force_custom_plan;

-- Open conversations, which every send rewrites, do not fire it: the WHEN is tested first.
DROP TRIGGER conversations_words_before_status ON conversations;
CREATE TRIGGER conversations_words_before_update
    BEFORE UPDATE OF status, message_lexemes, last_activity_at, team ON conversations
    FOR EACH ROW WHEN (
        (OLD.status = 'closed' OR NEW.status = 'closed')
        AND (OLD.status, OLD.message_lexemes, OLD.last_activity_at, OLD.team)
            IS DISTINCT FROM (NEW.status, NEW.message_lexemes, NEW.last_activity_at, NEW.team)
    )
    EXECUTE FUNCTION conversations_move_words();

INSERT INTO closed_conversation_lexemes
    (organization_id, lexeme, last_activity_at, conversation_id, team)
SELECT organization_id, unnest(tsvector_to_array(message_lexemes)), last_activity_at, id, team
FROM conversations
WHERE status = 'closed';
