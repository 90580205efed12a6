-- The live inbox: an append-only log of inbox changes that server-sent-event streams tail (its id
-- is the event id clients resume from), read markers for unread counts, and the urgent-alert
-- webhook with its transactional outbox. No message text and no names are stored here: ids,
-- kinds and counts only.

CREATE TABLE inbox_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    conversation_id TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    -- The team whose inbox the event touches (Support for moves to or from Support).
    team TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- Staff only: never sent to the patient.
    internal BOOLEAN NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX inbox_events_organization_idx ON inbox_events (organization_id, id);
CREATE INDEX inbox_events_created_idx ON inbox_events (created_at);

CREATE TABLE read_markers (
    principal_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    last_read_at TIMESTAMP NOT NULL,
    PRIMARY KEY (principal_id, conversation_id)
);

CREATE TABLE webhook_subscriptions (
    organization_id TEXT PRIMARY KEY REFERENCES organizations (id),
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_status_code INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_organization_idx ON webhook_deliveries (organization_id, id);
