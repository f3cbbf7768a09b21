-- Version 5 on SQLite rebuilds ticket_messages clustered on (ticket_id, id). On
-- PostgreSQL the (ticket_id, id) index from version 2 already serves a conversation;
-- nothing changes, and the version is kept so both backends count the same.
SELECT 1;
