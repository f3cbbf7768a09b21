-- Customer service: subjects, tickets (cases on orders) and their messages.
CREATE TABLE subjects (
    id          TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators (id),
    name        TEXT NOT NULL,
    sla_hours   INTEGER NOT NULL,
    for_return  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (operator_id, name)
);

CREATE TABLE tickets (
    id                   INTEGER PRIMARY KEY,
    operator_id          TEXT NOT NULL,
    seller_id            TEXT NOT NULL,
    order_id             INTEGER NOT NULL REFERENCES orders (id),
    code                 TEXT NOT NULL,
    subject_id           TEXT,
    subject              TEXT NOT NULL,
    sla_hours            INTEGER NOT NULL,
    for_return           INTEGER NOT NULL,
    responsible          TEXT NOT NULL,
    opened_by            TEXT NOT NULL,
    read_state           TEXT NOT NULL,
    mediation            INTEGER NOT NULL,
    message_count        INTEGER NOT NULL,
    last_message_at      INTEGER,
    closed_at            INTEGER,
    channel              TEXT NOT NULL,
    marketplace_order_id TEXT NOT NULL,
    warehouse            TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    UNIQUE (seller_id, code),
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
CREATE INDEX tickets_seller_updated ON tickets (seller_id, updated_at, id);
CREATE INDEX tickets_operator_updated ON tickets (operator_id, updated_at, id);
CREATE INDEX tickets_order ON tickets (order_id);
CREATE INDEX tickets_operator_code ON tickets (operator_id, code);

CREATE TABLE ticket_messages (
    id                INTEGER PRIMARY KEY,
    ticket_id         INTEGER NOT NULL REFERENCES tickets (id),
    conversation      TEXT NOT NULL,
    author_party      TEXT NOT NULL,
    author_name       TEXT,
    author_email      TEXT,
    author_code       TEXT,
    content           TEXT NOT NULL,
    customer_can_view INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    replied_at        INTEGER
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, id);
