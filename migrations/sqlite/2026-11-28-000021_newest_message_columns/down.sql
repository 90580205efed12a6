ALTER TABLE conversations DROP COLUMN newest_other_message_at;
ALTER TABLE conversations DROP COLUMN newest_message_author_id;
ALTER TABLE conversations DROP COLUMN newest_message_at;
