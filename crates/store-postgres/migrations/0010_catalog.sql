-- The catalog (written by the backend's catalog work).
SELECT 1;
