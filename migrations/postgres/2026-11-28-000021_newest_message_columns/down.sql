ALTER TABLE conversations
    DROP COLUMN newest_message_at,
    DROP COLUMN newest_message_author_id,
    DROP COLUMN newest_other_message_at;
