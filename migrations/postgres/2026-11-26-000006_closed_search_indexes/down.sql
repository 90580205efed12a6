DROP INDEX conversations_message_search_idx;
DROP INDEX conversations_patient_name_search_idx;
CREATE INDEX conversations_message_search_idx ON conversations USING GIN (message_lexemes);
CREATE INDEX conversations_patient_name_search_idx
    ON conversations USING GIN (patient_name_lexemes);
