-- Financial reconciliation: each seller's terms per channel, the settlement orders a
-- channel owes for, their extract lines (expected and released, one row per line),
-- and the conciliations (one per loaded statement). Words and JSON are
-- entreposto_store::finance_json's; money is centavos, rates hundredths of a percent,
-- times UTC epoch microseconds. Every table carries the operator and the seller.

CREATE TABLE channel_terms (
    operator_id TEXT NOT NULL,
    seller_id   TEXT NOT NULL,
    channel     TEXT NOT NULL,
    terms       TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (seller_id, channel),
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
) WITHOUT ROWID;

-- What a line renders with of its order has columns; `body` is the JSON of the rest.
CREATE TABLE settlement_orders (
    id           INTEGER PRIMARY KEY,
    operator_id  TEXT NOT NULL,
    seller_id    TEXT NOT NULL,
    channel      TEXT NOT NULL,
    order_code   TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    hub_order_id INTEGER,
    status       TEXT NOT NULL,
    ordered_at   INTEGER NOT NULL,
    invoiced_at  INTEGER,
    total        INTEGER NOT NULL,
    body         TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (seller_id, channel, order_code),
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);

-- AUTOINCREMENT: the ERP keeps conciliation and line ids, so a deleted line's id is
-- never given to another.
CREATE TABLE conciliations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    operator_id     TEXT NOT NULL,
    seller_id       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    digest          TEXT NOT NULL,
    init_date       INTEGER NOT NULL,
    end_date        INTEGER NOT NULL,
    close_date      INTEGER,
    rows_valid      INTEGER NOT NULL,
    rows_refused    INTEGER NOT NULL,
    cursor_row      INTEGER NOT NULL,
    concilied_count INTEGER NOT NULL,
    divergent_count INTEGER NOT NULL,
    partial_count   INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (seller_id, channel, digest),
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
-- The overlap check (a channel's closed periods) and the listing, newest first.
CREATE INDEX conciliations_period ON conciliations (seller_id, channel, init_date);

-- `conciliation_id` is the conciliation that last released on the line; it is not a
-- foreign key because conciliations are never deleted, and the check would cost a
-- lookup for each of the million lines a statement writes.
CREATE TABLE extract_lines (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    operator_id      TEXT NOT NULL,
    seller_id        TEXT NOT NULL,
    channel          TEXT NOT NULL,
    order_code       TEXT NOT NULL,
    kind             TEXT NOT NULL,
    plot_number      INTEGER NOT NULL,
    plots_quantity   INTEGER,
    plot_value       INTEGER,
    total_value      INTEGER,
    expected_value   INTEGER,
    expected_percent INTEGER,
    expected_date    INTEGER,
    original_value   INTEGER,
    released_value   INTEGER,
    released_parts   INTEGER NOT NULL,
    released_percent INTEGER,
    released_date    INTEGER,
    situation        TEXT NOT NULL,
    partial          INTEGER NOT NULL,
    observation      TEXT,
    conciliation_id  INTEGER,
    resolved_in_erp  INTEGER NOT NULL,
    is_read          INTEGER NOT NULL,
    extra            TEXT,
    updated_at       INTEGER NOT NULL,
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
-- A line's key: a statement step's lookups, an order's lines, the seller's channels.
-- Writes never set these columns on an existing line, so updating a line never
-- rewrites this index.
CREATE UNIQUE INDEX extract_lines_key
    ON extract_lines (seller_id, channel, order_code, kind, plot_number);
-- The listings (`concilieds`, and `unresolveds` by `resolved_in_erp`): the seller's
-- released lines in id order (`id` named second, so the order is the id's), with
-- every column a listing filters on and a close counts by, so a page's offset, a
-- listing's count and a conciliation's counts are read from the index alone. One
-- index, not one per listing: a statement rewrites it for every line it releases.
CREATE INDEX extract_lines_listing
    ON extract_lines (seller_id, id, resolved_in_erp, released_date, channel,
                      conciliation_id, is_read, situation, partial)
    WHERE conciliation_id IS NOT NULL;
