-- Operators, sellers, credentials and orders. Times are UTC epoch microseconds.
CREATE TABLE operators (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE sellers (
    id            TEXT PRIMARY KEY,
    operator_id   TEXT NOT NULL REFERENCES operators (id),
    name          TEXT NOT NULL,
    document      TEXT,
    document_type TEXT,
    created_at    INTEGER NOT NULL,
    UNIQUE (id, operator_id)
);
CREATE INDEX sellers_operator ON sellers (operator_id);

CREATE TABLE credentials (
    id          TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators (id),
    seller_id   TEXT,
    dialect     TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    user_email  TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);

-- Nested order parts (customer, address, items, payments) live in `body` as JSON;
-- every column a query filters or sorts on is a real column.
CREATE TABLE orders (
    id                   INTEGER PRIMARY KEY,
    operator_id          TEXT NOT NULL,
    seller_id            TEXT NOT NULL,
    channel              TEXT NOT NULL,
    marketplace_order_id TEXT NOT NULL,
    status               TEXT NOT NULL,
    placed_at            INTEGER NOT NULL,
    total                INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    body                 TEXT NOT NULL,
    UNIQUE (seller_id, channel, marketplace_order_id),
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
CREATE INDEX orders_operator_marketplace_id ON orders (operator_id, marketplace_order_id);
CREATE INDEX orders_seller_placed ON orders (seller_id, placed_at);
