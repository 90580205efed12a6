DROP TABLE conversation_events;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE refresh_tokens;
DROP TABLE credentials;
DROP TABLE patients;
DROP TABLE staff_members;
DROP TABLE organizations;
