-- PostgreSQL's outbox positions move to a table of their own (its migration 20).
-- SQLite has one writer, so an event's `seq` is its position: nothing to change.
SELECT 1;
