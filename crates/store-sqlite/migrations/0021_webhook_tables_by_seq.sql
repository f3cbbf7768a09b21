-- Webhook messages become a rowid table keyed by their event's `seq` (one message per
-- outbox event), the id kept unique beside it. As a WITHOUT ROWID table keyed by the
-- ULID id, each 1-2 KB message went into the middle of a B-tree of two rows a page,
-- splitting pages and moving cells on most inserts: measured, the largest part of a
-- fan-out's write. Keyed by `seq`, a fan-out appends at the end of the table.
-- Both tables are rebuilt the way SQLite documents for schema changes, with foreign
-- keys off (the line below; the store then checks the rebuilt tables' references
-- before committing): with them on, dropping the old deliveries would cascade to
-- every attempt, and dropping the old messages would check each one's deliveries.
-- The attempts' key names `webhook_deliveries`, so it holds again once the new
-- table has the old name (the ids are kept).
-- entreposto: foreign keys off, then check webhook_deliveries webhook_attempts
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

-- Deliveries: (endpoint_id, seq) is a delivery's key (a message is its event, one
-- per seq), and the same index serves the log (newest first), so the separate log
-- index goes. No foreign key to the messages: SQLite has to look a deleted
-- message's deliveries up by `message_id`, unindexed, so each message retention
-- deleted scanned every delivery; retention deletes only messages no delivery names.
CREATE TABLE webhook_deliveries_by_seq (
    id              INTEGER PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id      TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    entity          TEXT NOT NULL,
    occurred_at     INTEGER NOT NULL,
    state           TEXT NOT NULL,
    tries           INTEGER NOT NULL,
    next_attempt_at INTEGER,
    lease_until     INTEGER,
    lease_token     TEXT,
    lease_owner     TEXT,
    UNIQUE (endpoint_id, seq)
);
INSERT INTO webhook_deliveries_by_seq
    (id, endpoint_id, message_id, seq, entity, occurred_at, state, tries,
     next_attempt_at, lease_until, lease_token, lease_owner)
SELECT id, endpoint_id, message_id, seq, entity, occurred_at, state, tries,
       next_attempt_at, lease_until, lease_token, lease_owner
FROM webhook_deliveries ORDER BY id;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_by_seq RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_pending_entity ON webhook_deliveries (endpoint_id, entity, seq)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (endpoint_id, occurred_at);
