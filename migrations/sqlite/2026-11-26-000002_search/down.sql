DROP TRIGGER patients_fts_after_update;
DROP TRIGGER patients_fts_after_delete;
DROP TRIGGER patients_fts_after_insert;
DROP TABLE patients_fts;
DROP TRIGGER messages_fts_after_update;
DROP TRIGGER messages_fts_after_delete;
DROP TRIGGER messages_fts_after_insert;
DROP TABLE messages_fts;
