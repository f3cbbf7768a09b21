-- The HTTP edge's state: the responses of requests sent with an Idempotency-Key, the
-- rate-limit buckets nodes share (when `[rate_limits] shared` is on), and a
-- credential's own rate limit. Times are UTC epoch microseconds.

-- `N/s`, `N/min` or `N/h`; NULL: the configuration's limit applies.
ALTER TABLE credentials ADD COLUMN rate_limit TEXT;

-- One row per credential and key. `status` is NULL while the first request is in
-- flight; then the response that request got (only successes are kept).
CREATE TABLE idempotency_keys (
    credential_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    status SMALLINT,
    content_type TEXT,
    body BYTEA,
    PRIMARY KEY (credential_id, idem_key)
);

-- The hourly cleanup deletes by age.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- GCRA: a bucket's theoretical arrival time, the moment it is full again. Unlogged:
-- every limited request updates a row, and an unlogged table writes no WAL, so those
-- commits wait for no flush; a crash empties it, which only refills the buckets.
CREATE UNLOGGED TABLE rate_buckets (
    bucket TEXT PRIMARY KEY,
    tat BIGINT NOT NULL
);
