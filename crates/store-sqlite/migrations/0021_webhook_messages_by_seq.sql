-- Webhook messages become a rowid table keyed by their event's `seq` (one message per
-- outbox event), the id kept unique beside it. As a WITHOUT ROWID table keyed by the
-- ULID id, each 1-2 KB message went into the middle of a B-tree of two rows a page,
-- splitting pages and moving cells on most inserts: measured, the largest part of a
-- fan-out's write. Keyed by `seq`, a fan-out appends at the end of the table.
-- Rebuilt the way SQLite documents for schema changes, with foreign keys off (the
-- line below; the store checks them all before committing): the deliveries' foreign
-- key names the table, so it holds again once the new one has the old name.
-- entreposto: foreign keys off
CREATE TABLE webhook_messages_by_seq (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    operator_id TEXT NOT NULL,
    seller_id   TEXT,
    event_type  TEXT NOT NULL,
    entity      TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    body        TEXT NOT NULL
);
INSERT INTO webhook_messages_by_seq
    (seq, id, operator_id, seller_id, event_type, entity, occurred_at, body)
SELECT seq, id, operator_id, seller_id, event_type, entity, occurred_at, body
FROM webhook_messages ORDER BY seq;
DROP TABLE webhook_messages;
ALTER TABLE webhook_messages_by_seq RENAME TO webhook_messages;
