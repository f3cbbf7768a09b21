-- The transactional outbox (entreposto_store::outbox): every business change inserts
-- its events here in its own transaction. `seq` is taken at insert, so it is not
-- commit order across transactions; `position` is stamped after commit, under the one
-- row lock of `outbox_stamp`, in `seq` order, and is what sinks' cursors count in
-- (gap-free: see the module's note). Times are UTC epoch microseconds.
CREATE TABLE outbox_events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position    BIGINT,
    id          TEXT COLLATE "C" NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    operator_id TEXT NOT NULL,
    seller_id   TEXT,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    payload     JSONB NOT NULL
);

-- Sinks read by position; the stamper finds what is left to stamp.
CREATE UNIQUE INDEX outbox_events_by_position ON outbox_events (position)
    WHERE position IS NOT NULL;
CREATE INDEX outbox_events_unstamped ON outbox_events (seq) WHERE position IS NULL;
-- Recovery ("everything since a time") and retention walk this.
CREATE INDEX outbox_events_by_time ON outbox_events (operator_id, occurred_at, seq);

-- The stamping lock, and the last position given.
CREATE TABLE outbox_stamp (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL
);
INSERT INTO outbox_stamp (id, position) VALUES (1, 0);

-- One row per sink: how far it acked, and which node holds it until when.
CREATE TABLE outbox_sinks (
    sink        TEXT PRIMARY KEY,
    position    BIGINT NOT NULL DEFAULT 0,
    holder      TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);
