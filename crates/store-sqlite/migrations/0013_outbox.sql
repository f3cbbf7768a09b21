-- The transactional outbox (entreposto_store::outbox): every business change inserts
-- its events here in its own transaction; sinks (webhooks, NATS) read them in `seq`
-- order, which on SQLite's single writer is commit order, so `seq` is also the
-- position a sink's cursor counts in. AUTOINCREMENT: a pruned event's `seq` is never
-- given again (a cursor past it would skip the new one). Times are UTC epoch
-- microseconds; `payload` is JSON text.
CREATE TABLE outbox_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    operator_id TEXT NOT NULL,
    seller_id   TEXT,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    payload     TEXT NOT NULL
);

-- Recovery ("everything since a time") and retention walk this.
CREATE INDEX outbox_events_by_time ON outbox_events (operator_id, occurred_at, seq);

-- One row per sink: how far it acked, and which node holds it until when.
CREATE TABLE outbox_sinks (
    sink        TEXT PRIMARY KEY,
    position    INTEGER NOT NULL DEFAULT 0,
    holder      TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
