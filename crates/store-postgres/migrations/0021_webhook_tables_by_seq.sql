-- SQLite's webhook messages and deliveries are keyed by `seq` (its migration 21).
-- PostgreSQL's heap appends rows whatever their key: nothing to change.
SELECT 1;
