-- Who read or changed what, when, from where. No message text, no names: ids only.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    -- NULL only for a failed sign-in with an unknown email.
    organization_id TEXT REFERENCES organizations (id),
    actor_id TEXT,
    actor_role TEXT,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    request_id TEXT,
    client_address TEXT,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_organization_idx ON audit_events (organization_id, id);
CREATE INDEX audit_events_target_idx ON audit_events (target_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id);

-- Append-only: the log cannot be edited or trimmed through the application's connection.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
