-- Each open conversation carries a signature of its words: 512 bits, the bit of each word of its
-- entries in the open word table (migration 9) set. A search that walks an open tab for a word
-- tests the bit on the row it is reading anyway and probes the word table only for the rows
-- whose bit is set, which are the matches and a few others.
--
-- The walk for a common word probed the word table for every row it read: `knee` in My Clinic
-- at 1 M messages read 602 rows to list 51, and the probes (one walk of a 1.4 M-entry index each,
-- 2 µs) were half of its 2.2 ms. With the signatures, a walk of My Clinic's newest 1,000 rows for
-- `knee` probed 96 times, not 1,000, and took 1.9 ms instead of 3.5 (BENCHMARKS.md item 36).
--
-- The signature is a superset of the entries' bits, never less: a bit not set means the word is
-- not there, a bit set means it may be (another word shares the bit), which the probe settles.
-- So it must take every word an entry is written for. A patient's send sets its words' bits in
-- the update it makes of its conversation anyway (`persistence::conversations`); the function
-- below, which writes a message's new words to the word table, sets any bit still missing (a
-- staff member's message) with an update of its own, and a reopen sets those of the words it
-- writes back. That second update, when every message's new words took it, cost about a tenth
-- of a patient's send. A closed conversation's signature is not read (closed conversations are
-- searched through their own words, migrations 6 and 13) and is left as it was.
--
-- One word is one bit: a word of several forms matches when any form's bit is set, which a
-- single AND of the signature with the forms' bits answers. At the benchmark's 48 words a
-- conversation, about one bit in eleven is set. The hash is `hashtextextended`, the one hash
-- partitioning places rows by, which PostgreSQL therefore keeps the same from version to version.
SET LOCAL lock_timeout = '5s';

CREATE FUNCTION signature_of_lexemes(lexemes TEXT[]) RETURNS BIT(512)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        bit_or(B'1'::BIT(512) >> (hashtextextended(lexeme, 0) & 511)::INT),
        B'0'::BIT(512)
    )
    FROM unnest(lexemes) AS lexeme
$$;

-- A constant default adds the column without rewriting the table. The backfill below runs while
-- this statement's lock keeps every send and search out of the table (3 s at 1 M messages, 30,000
-- open conversations), so no word is written between its reading of the entries and the trigger
-- functions' replacement.
ALTER TABLE conversations ADD COLUMN lexemes_signature BIT(512) NOT NULL DEFAULT B'0'::BIT(512);

-- Replaces migration 28's function: the signature takes the new words' bits with their entries.
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
    ), signed AS (
        -- A patient's send has set these bits already, in the update of its conversation that
        -- it makes anyway (`persistence::conversations`); a row version is written only where
        -- bits are missing.
        UPDATE conversations
        SET lexemes_signature = conversations.lexemes_signature | new_bits.signature
        FROM (
            SELECT conversation_id, signature_of_lexemes(lexemes) AS signature
            FROM new_words WHERE cardinality(lexemes) > 0
        ) AS new_bits
        WHERE conversations.id = new_bits.conversation_id
            AND conversations.lexemes_signature | new_bits.signature
                <> conversations.lexemes_signature
    )
    INSERT INTO open_conversation_lexemes (organization_id, lexeme, conversation_id)
    SELECT organization_id, unnest(lexemes), conversation_id FROM new_words
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Replaces migration 28's function: a reopen signs the words it writes back.
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
        NEW.lexemes_signature := signature_of_lexemes(tsvector_to_array(OLD.message_lexemes));
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
SET plan_cache_mode = force_custom_plan;

-- From the entries themselves, which are what the probe reads.
UPDATE conversations
SET lexemes_signature = signed.signature
FROM (
    SELECT conversation_id, signature_of_lexemes(array_agg(lexeme)) AS signature
    FROM open_conversation_lexemes
    GROUP BY conversation_id
) AS signed
WHERE conversations.id = signed.conversation_id AND conversations.status = 'open';
