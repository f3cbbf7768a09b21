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
    interval_seconds BIGINT NOT NULL,
    enabled          BOOLEAN NOT NULL,
    position         TEXT,
    next_poll_at     BIGINT NOT NULL,
    lease_holder     TEXT,
    lease_until      BIGINT,
    last_polled_at   BIGINT,
    last_success_at  BIGINT,
    last_error       TEXT,
    last_error_at    BIGINT,
    failures         BIGINT NOT NULL DEFAULT 0,
    applied          BIGINT NOT NULL DEFAULT 0,
    rejected         BIGINT NOT NULL DEFAULT 0,
    last_rejection   TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
-- What a node claims next: the enabled feed due soonest.
CREATE INDEX change_feeds_due ON change_feeds (next_poll_at, seller_id) WHERE enabled;
CREATE INDEX change_feeds_operator ON change_feeds (operator_id);
