DROP TRIGGER patients_search_after_rename ON patients;
DROP FUNCTION patients_rename_conversations();
DROP TRIGGER conversations_search_before_insert ON conversations;
DROP FUNCTION conversations_take_patient_name();
DROP TRIGGER messages_search_after_insert ON messages;
DROP FUNCTION conversations_take_message_lexemes();
DROP INDEX conversations_patient_name_search_idx;
DROP INDEX conversations_message_search_idx;
ALTER TABLE conversations DROP COLUMN patient_name_lexemes, DROP COLUMN message_lexemes;
