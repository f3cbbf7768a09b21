-- Version 6 on SQLite finds tickets by code through an integer hash of the code. On
-- PostgreSQL the (operator_id, code) index serves that lookup well; nothing changes,
-- and the version is kept so both backends count the same.
SELECT 1;
