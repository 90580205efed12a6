-- The unread count (GET /v1/inbox/counts, and every staff member's live stream) asked each open
-- conversation's messages whether one was unread: at 1 M messages, 66–155 ms a count on the
-- instances measured. With these columns it reads the conversation rows alone. They hold the time
-- of the newest message visible to staff (internal notes included, acknowledgments aside), its
-- author, and the time of the newest such message by anyone else; the newest message a staff
-- member did not write is one of the two. The application keeps them with every message it adds
-- (ConversationRow::take_message); migration 22 fills them in for the conversations before it.
-- Adding them with a stable default changes no row, so this holds the table only for an instant.
--
-- The default is for instances of the previous release, which run beside this one during a
-- rolling deploy and leave these columns out of what they write. A conversation one of them
-- starts gets the time of its start and no author: unread for every staff member who has not
-- read it since, its starter included, until its next message. Their messages in existing
-- conversations leave the columns as they were, so the unread count can miss such a message
-- until someone else writes in that conversation; the conversation's own unread number in the
-- inbox list, which counts its messages, is right throughout. The default is UTC, like every
-- timestamp the application writes.
ALTER TABLE conversations
    ADD COLUMN newest_message_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'utc'),
    ADD COLUMN newest_message_author_id TEXT,
    ADD COLUMN newest_other_message_at TIMESTAMP;
