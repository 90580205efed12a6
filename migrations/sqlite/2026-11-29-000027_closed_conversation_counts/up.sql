-- How many closed conversations each organization has, per team, kept by triggers: the closed
-- tab's count without counting its rows (see the PostgreSQL migration of the same name).
CREATE TABLE closed_conversation_counts (
    organization_id TEXT PRIMARY KEY NOT NULL REFERENCES organizations (id),
    care_team BIGINT NOT NULL DEFAULT 0,
    support BIGINT NOT NULL DEFAULT 0
);

CREATE TRIGGER conversations_closed_count_after_insert AFTER INSERT ON conversations
WHEN NEW.status = 'closed'
BEGIN
    INSERT INTO closed_conversation_counts (organization_id, care_team, support)
    VALUES (NEW.organization_id, NEW.team = 'care_team', NEW.team = 'support')
    ON CONFLICT (organization_id) DO UPDATE
    SET care_team = care_team + excluded.care_team, support = support + excluded.support;
END;

CREATE TRIGGER conversations_closed_count_after_update
AFTER UPDATE OF status, team, organization_id ON conversations
WHEN (OLD.status = 'closed' OR NEW.status = 'closed')
    AND (OLD.status IS NOT NEW.status OR OLD.team IS NOT NEW.team
        OR OLD.organization_id IS NOT NEW.organization_id)
BEGIN
    UPDATE closed_conversation_counts
    SET care_team = care_team - (OLD.team = 'care_team'),
        support = support - (OLD.team = 'support')
    WHERE organization_id = OLD.organization_id AND OLD.status = 'closed';
    INSERT INTO closed_conversation_counts (organization_id, care_team, support)
    SELECT NEW.organization_id, NEW.team = 'care_team', NEW.team = 'support'
    WHERE NEW.status = 'closed'
    ON CONFLICT (organization_id) DO UPDATE
    SET care_team = care_team + excluded.care_team, support = support + excluded.support;
END;

CREATE TRIGGER conversations_closed_count_after_delete AFTER DELETE ON conversations
WHEN OLD.status = 'closed'
BEGIN
    UPDATE closed_conversation_counts
    SET care_team = care_team - (OLD.team = 'care_team'),
        support = support - (OLD.team = 'support')
    WHERE organization_id = OLD.organization_id;
END;

INSERT INTO closed_conversation_counts (organization_id, care_team, support)
SELECT organization_id, SUM(team = 'care_team'), SUM(team = 'support')
FROM conversations
WHERE status = 'closed'
GROUP BY organization_id;
