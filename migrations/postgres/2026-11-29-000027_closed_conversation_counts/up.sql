-- How many closed conversations each organization has, per team. The closed tab's count is the
-- one count of `GET /v1/inbox/counts` that grows with a clinic's history rather than with its
-- open work: counted from the conversations' index it took 7.4 ms at 70,000 closed
-- conversations (1 M messages), for every request and every live stream's counts
-- (BENCHMARKS.md, item 30). Kept here by triggers, like the search tables, so that no way of
-- writing conversations (the API, the benchmark's bulk seeding, a repair by hand) leaves it
-- wrong. The SQLite migration of the same name keeps the same table.
--
-- One row per organization, a column per team (the teams are the conversations' CHECK): a
-- transaction that closes or reopens conversations of both teams takes one row lock per
-- organization, and a patients' send batch holding closed conversations of several
-- organizations locks their rows first, in organization order (persistence/src/conversations.rs),
-- so two of them lock these rows in the same order and cannot deadlock on them.
-- Every write of a conversation waits for this migration's lock on the table: rather than
-- have them all queue behind it while it waits for a long transaction, it gives up (and the
-- instance does not start), as migration 24 does.
SET LOCAL lock_timeout = '5s';

CREATE TABLE closed_conversation_counts (
    organization_id TEXT PRIMARY KEY REFERENCES organizations (id),
    care_team BIGINT NOT NULL DEFAULT 0,
    support BIGINT NOT NULL DEFAULT 0
);

-- A statement's new closed conversations, counted once per organization: the bulk seeding
-- inserts thousands per statement, and a row trigger would write the organization's row once
-- for each.
CREATE FUNCTION closed_conversations_inserted() RETURNS trigger AS $$
BEGIN
    INSERT INTO closed_conversation_counts AS counts (organization_id, care_team, support)
    SELECT organization_id,
        count(*) FILTER (WHERE team = 'care_team'),
        count(*) FILTER (WHERE team = 'support')
    FROM inserted
    WHERE status = 'closed'
    GROUP BY organization_id
    ORDER BY organization_id
    ON CONFLICT (organization_id) DO UPDATE
    SET care_team = counts.care_team + excluded.care_team,
        support = counts.support + excluded.support;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- A row trigger, so that the conversations' updates that close, reopen or move nothing (every
-- send's) are passed over by its WHEN without a call.
CREATE FUNCTION closed_conversation_changed() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 'closed' THEN
        UPDATE closed_conversation_counts
        SET care_team = care_team - (OLD.team = 'care_team')::int,
            support = support - (OLD.team = 'support')::int
        WHERE organization_id = OLD.organization_id;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status = 'closed' THEN
        INSERT INTO closed_conversation_counts AS counts (organization_id, care_team, support)
        VALUES (NEW.organization_id, (NEW.team = 'care_team')::int, (NEW.team = 'support')::int)
        ON CONFLICT (organization_id) DO UPDATE
        SET care_team = counts.care_team + excluded.care_team,
            support = counts.support + excluded.support;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER conversations_closed_count_after_insert AFTER INSERT ON conversations
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION closed_conversations_inserted();

CREATE TRIGGER conversations_closed_count_after_update
    AFTER UPDATE OF status, team, organization_id ON conversations
    FOR EACH ROW
    WHEN ((OLD.status = 'closed' OR NEW.status = 'closed')
        AND (OLD.status, OLD.team, OLD.organization_id)
            IS DISTINCT FROM (NEW.status, NEW.team, NEW.organization_id))
    EXECUTE FUNCTION closed_conversation_changed();

CREATE TRIGGER conversations_closed_count_after_delete AFTER DELETE ON conversations
    FOR EACH ROW WHEN (OLD.status = 'closed')
    EXECUTE FUNCTION closed_conversation_changed();

-- After the triggers, in the same transaction: their table lock keeps writers out until the
-- count below is committed with them, and the count (in READ COMMITTED, the server's level)
-- sees every conversation committed before the lock.
INSERT INTO closed_conversation_counts (organization_id, care_team, support)
SELECT organization_id,
    count(*) FILTER (WHERE team = 'care_team'),
    count(*) FILTER (WHERE team = 'support')
FROM conversations
WHERE status = 'closed'
GROUP BY organization_id;
