-- Full-text search of the inbox (`q`) and the patient directory. The queries use these exact
-- expressions (see persistence/src/search.rs) so that the planner can use the indexes.

-- Message text, English word forms ("bleeding" finds "bleed").
CREATE INDEX messages_body_search_idx ON messages USING GIN (to_tsvector('english', body));
-- Patient names: no stemming, since names are not English words; searched by prefix.
CREATE INDEX patients_name_search_idx ON patients USING GIN (to_tsvector('simple', display_name));
