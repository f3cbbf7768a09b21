-- Webhooks, as on SQLite: endpoints (an operator's, or one of its sellers'), the
-- messages fanned out to them (one per outbox event, the body as signed), one delivery per message and
-- endpoint, and the log of every attempt. Times are UTC epoch microseconds. Words and
-- JSON are entreposto_store::webhooks'.

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    operator_id     TEXT NOT NULL REFERENCES operators (id),
    seller_id       TEXT,
    url             TEXT NOT NULL,
    -- A JSON array of event types; NULL: every type.
    events          TEXT,
    description     TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL,
    disabled_reason TEXT,
    secret          TEXT NOT NULL,
    previous_secret TEXT,
    previous_until  BIGINT,
    failing_since   BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL,
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
CREATE INDEX webhook_endpoints_by_operator ON webhook_endpoints (operator_id, created_at);

CREATE TABLE webhook_messages (
    id          TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL,
    operator_id TEXT NOT NULL,
    seller_id   TEXT,
    event_type  TEXT NOT NULL,
    entity      TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    body        TEXT NOT NULL
);

-- `seq`, `entity` and `occurred_at` are the message's, kept here for the indexes.
CREATE TABLE webhook_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id      TEXT NOT NULL REFERENCES webhook_messages (id),
    seq             BIGINT NOT NULL,
    entity          TEXT NOT NULL,
    occurred_at     BIGINT NOT NULL,
    state           TEXT NOT NULL,
    tries           INTEGER NOT NULL,
    next_attempt_at BIGINT,
    lease_until     BIGINT,
    lease_token     TEXT,
    -- The node holding the lease.
    lease_owner     TEXT,
    UNIQUE (endpoint_id, message_id)
);
-- What the dispatcher claims, and the earlier pending delivery of an entity it checks.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_pending_entity ON webhook_deliveries (endpoint_id, entity, seq)
    WHERE state = 'pending';
-- The log, newest first, and recovery since a time.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, seq);
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (endpoint_id, occurred_at);

CREATE TABLE webhook_attempts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    node        TEXT NOT NULL,
    status      INTEGER,
    response    TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    error       TEXT
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);
