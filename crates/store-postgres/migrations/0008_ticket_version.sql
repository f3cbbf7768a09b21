-- A ticket's version: every decided change is saved only if the ticket still has
-- the version it was loaded at, and moves it on by one (optimistic concurrency; the
-- application layer decides again when a save finds it moved).
ALTER TABLE tickets ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
