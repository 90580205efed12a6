DROP INDEX patients_name_search_idx;
DROP INDEX messages_body_search_idx;
