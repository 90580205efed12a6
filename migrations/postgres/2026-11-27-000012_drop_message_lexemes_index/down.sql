CREATE INDEX CONCURRENTLY messages_body_lexemes_idx ON messages USING GIN (body_lexemes);
