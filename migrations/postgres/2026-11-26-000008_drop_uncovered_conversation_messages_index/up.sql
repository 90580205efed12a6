-- Migration 7's covering index has the same keys and serves every query this one did.
DROP INDEX CONCURRENTLY IF EXISTS messages_conversation_idx;
