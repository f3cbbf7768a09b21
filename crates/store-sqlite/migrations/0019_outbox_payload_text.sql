-- PostgreSQL's outbox payload becomes text (its migration 19). SQLite's has always
-- been text: nothing to change.
SELECT 1;
