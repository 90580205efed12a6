-- Ids are UUIDv7 strings and times are UTC timestamps, typed identically on both backends so one
-- Diesel schema serves PostgreSQL and SQLite.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- JSON; NULL means the rules and texts that ship with the code.
    routing_rules TEXT,
    acknowledgment_texts TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE staff_members (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('clinician', 'coach', 'support', 'admin')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX staff_members_organization_idx ON staff_members (organization_id, display_name);

CREATE TABLE patients (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    display_name TEXT NOT NULL,
    external_id TEXT,
    assigned_clinician_id TEXT REFERENCES staff_members (id),
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX patients_external_id_key ON patients (organization_id, external_id);
CREATE INDEX patients_organization_idx ON patients (organization_id, display_name);
CREATE INDEX patients_assigned_clinician_idx ON patients (assigned_clinician_id);

-- One login per person, staff or patient; emails are stored lower-cased.
CREATE TABLE credentials (
    principal_id TEXT PRIMARY KEY,
    principal_kind TEXT NOT NULL CHECK (principal_kind IN ('staff', 'patient')),
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX credentials_email_key ON credentials (email);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    principal_id TEXT NOT NULL REFERENCES credentials (principal_id),
    -- SHA-256 of the token; the token itself is never stored.
    token_hash TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    team TEXT NOT NULL CHECK (team IN ('care_team', 'support')),
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    urgent BOOLEAN NOT NULL,
    -- The routing decision that placed the conversation: category and the ids of the rules that
    -- fired (JSON array), so staff and auditors can see why.
    category TEXT,
    matched_rules TEXT NOT NULL,
    assigned_to TEXT REFERENCES staff_members (id),
    claimed_by TEXT REFERENCES staff_members (id),
    claimed_at TIMESTAMP,
    -- Ordering key of the inbox: the most recent patient activity (creation for staff-started ones).
    last_activity_at TIMESTAMP NOT NULL,
    last_message_at TIMESTAMP NOT NULL,
    last_message_preview TEXT NOT NULL,
    -- Set by a patient message nobody has answered yet, cleared by a staff reply.
    unanswered_since TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP
);
-- my_clinic and support tabs: open conversations of a team, urgent first, newest activity first.
CREATE INDEX conversations_team_tab_idx
    ON conversations (organization_id, status, team, urgent, last_activity_at, id);
-- assigned tab: assigned_to = caller or claimed_by = caller.
CREATE INDEX conversations_assigned_tab_idx
    ON conversations (assigned_to, status, urgent, last_activity_at, id);
CREATE INDEX conversations_claimed_tab_idx
    ON conversations (claimed_by, status, urgent, last_activity_at, id);
-- closed tab and the patient app's list.
CREATE INDEX conversations_status_activity_idx
    ON conversations (organization_id, status, last_activity_at, id);
CREATE INDEX conversations_patient_idx ON conversations (patient_id, last_activity_at, id);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    kind TEXT NOT NULL CHECK (kind IN ('patient', 'staff', 'acknowledgment', 'internal_note')),
    -- The patient or staff member who wrote it; NULL for automatic acknowledgments.
    author_id TEXT,
    body TEXT NOT NULL,
    client_message_id TEXT,
    -- The patient message an acknowledgment answers (an idempotent retry returns both).
    in_reply_to TEXT REFERENCES messages (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at, id);
-- Idempotent sends: one message per author and client_message_id.
CREATE UNIQUE INDEX messages_client_message_id_key ON messages (author_id, client_message_id);

CREATE TABLE conversation_events (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    kind TEXT NOT NULL,
    -- Who caused it; NULL for the system (routing, auto-assignment).
    actor_id TEXT,
    -- JSON object: reason, from/to team, assignee, matched rules.
    details TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX conversation_events_conversation_idx ON conversation_events (conversation_id, created_at, id);
