-- The GIN indexes of conversations' search documents cover closed conversations only. Every
-- patient send rewrites its (open) conversation's row, and since the row's activity time and
-- preview are indexed no such update is HOT: PostgreSQL inserted the whole document (every
-- lexeme of the thread, and the patient's name) into both GIN indexes again on each send, and the
-- pending lists those entries queue in were flushed inside some unlucky send. Measured on the
-- benchmark's 1 M messages, sends alone: p99 83-107 ms with these indexes whole, 13-27 ms with
-- them partial (BENCHMARKS.md).
--
-- What the indexes serve is a search for a rare word, which would otherwise walk a whole tab.
-- The closed tab is the one that grows without bound (most conversations end there and stay
-- searchable); an open tab holds what staff are working on, and is walked on its own index.
DROP INDEX conversations_message_search_idx;
DROP INDEX conversations_patient_name_search_idx;
CREATE INDEX conversations_message_search_idx
    ON conversations USING GIN (message_lexemes) WHERE status = 'closed';
CREATE INDEX conversations_patient_name_search_idx
    ON conversations USING GIN (patient_name_lexemes) WHERE status = 'closed';
