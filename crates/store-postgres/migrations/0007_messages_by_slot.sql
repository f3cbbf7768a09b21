-- Version 7 on SQLite re-keys messages by (ticket, position) integer slots to make its
-- B-tree shallower. PostgreSQL reads a conversation through its (ticket_id, id) index;
-- nothing changes, and the version is kept so both backends count the same.
SELECT 1;
