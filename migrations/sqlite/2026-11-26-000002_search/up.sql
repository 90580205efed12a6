-- Full-text search of the inbox (`q`) and the patient directory: FTS5 indexes over the rows of
-- `messages` and `patients` (external content, so the text is stored once), kept current by
-- triggers. Message text is stemmed (porter: "bleeding" finds "bleed"); names are not.
--
-- The index refers to rows by rowid. These tables have TEXT primary keys, so their rowids are not
-- stable under VACUUM: after a VACUUM, rebuild both indexes with the two INSERTs at the end.

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = 'porter unicode61'
);

CREATE TRIGGER messages_fts_after_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER messages_fts_after_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
CREATE TRIGGER messages_fts_after_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.rowid, new.body);
END;

CREATE VIRTUAL TABLE patients_fts USING fts5 (
    display_name,
    content = 'patients',
    content_rowid = 'rowid',
    tokenize = 'unicode61'
);

CREATE TRIGGER patients_fts_after_insert AFTER INSERT ON patients BEGIN
    INSERT INTO patients_fts (rowid, display_name) VALUES (new.rowid, new.display_name);
END;
CREATE TRIGGER patients_fts_after_delete AFTER DELETE ON patients BEGIN
    INSERT INTO patients_fts (patients_fts, rowid, display_name)
        VALUES ('delete', old.rowid, old.display_name);
END;
CREATE TRIGGER patients_fts_after_update AFTER UPDATE OF display_name ON patients BEGIN
    INSERT INTO patients_fts (patients_fts, rowid, display_name)
        VALUES ('delete', old.rowid, old.display_name);
    INSERT INTO patients_fts (rowid, display_name) VALUES (new.rowid, new.display_name);
END;

-- Rows written before this migration.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
INSERT INTO patients_fts (patients_fts) VALUES ('rebuild');
