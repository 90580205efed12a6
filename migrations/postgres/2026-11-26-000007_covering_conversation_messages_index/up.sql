-- The unread counts of every listed page (`read_markers::unread_counts`: the messages of its 50
-- conversations not written by the reader, acknowledgments aside, after the reader's marker)
-- were half the database time of listing a tab: an index scan of messages_conversation_idx
-- that fetched each message's heap row for its author and kind. With the two in the index the
-- counts are an index-only scan. Measured on the benchmark's 1 M messages, tabs alone with 8
-- clients, four pairs of runs: 1,142-1,274 against 962-1,087 requests/s, about a fifth less
-- PostgreSQL time per request, and sends unchanged (BENCHMARKS.md).
--
-- CONCURRENTLY, so that building it on a clinic's messages does not hold up patients' sends; it
-- cannot run inside a transaction (metadata.toml), nor beside another statement, so the old
-- index goes in the next migration. No IF NOT EXISTS: a build that fails leaves an invalid index
-- of this name, and a second run must then stop and say so rather than skip to dropping the
-- index that works (drop the invalid one by hand, then migrate again).
CREATE INDEX CONCURRENTLY messages_conversation_covering_idx
    ON messages (conversation_id, created_at, id) INCLUDE (author_id, kind);
