-- Change feeds (00K's "ATIVA" notifications): per seller, the URL of the seller's
-- system the hub polls for what changed, its settings, and the poll state: the last
-- position applied, when it is due, who holds it (`lease_holder` until
-- `lease_until`), and the last error. Times are microseconds since the epoch (UTC).
CREATE TABLE change_feeds (
    seller_id        TEXT PRIMARY KEY,
    operator_id      TEXT NOT NULL,
    url              TEXT NOT NULL,
    -- A JSON array of [name, value] pairs.
    headers          TEXT NOT NULL,
    interval_seconds INTEGER NOT NULL,
    enabled          INTEGER NOT NULL,
    position         TEXT,
    next_poll_at     INTEGER NOT NULL,
    lease_holder     TEXT,
    lease_until      INTEGER,
    last_polled_at   INTEGER,
    last_success_at  INTEGER,
    last_error       TEXT,
    last_error_at    INTEGER,
    failures         INTEGER NOT NULL DEFAULT 0,
    applied          INTEGER NOT NULL DEFAULT 0,
    rejected         INTEGER NOT NULL DEFAULT 0,
    last_rejection   TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
-- What a node claims next: the enabled feed due soonest.
CREATE INDEX change_feeds_due ON change_feeds (next_poll_at, seller_id) WHERE enabled = 1;
CREATE INDEX change_feeds_operator ON change_feeds (operator_id);
