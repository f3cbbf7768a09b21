-- The order lifecycle: each order's progress (entreposto_store::progress_json) next to
-- its body. What listings filter and sort on is a column (`state`, the flags); the
-- pendencies and warnings, which every push replaces, are columns of their own; the
-- rest of the progress is `progress`, JSON kept as TEXT (nothing queries inside it).
-- ERP marks and payment transaction ids are also rows of their own tables, for the
-- `erp_type` and `trans_id` filters.
ALTER TABLE orders
    ADD COLUMN state TEXT NOT NULL DEFAULT 'awaiting_payment',
    ADD COLUMN progress_version BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN has_pendency BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN has_warnings BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN erp_sent BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN pendencies TEXT NOT NULL DEFAULT '[]',
    ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]',
    ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';

-- Orders placed before the lifecycle: the state their marketplace status maps to
-- (OrderState::from_marketplace), reached at their placement. Their pendencies are
-- known only once they are pushed again (they follow from the data, a domain rule).
UPDATE orders SET state = CASE status
        WHEN 'new' THEN 'awaiting_payment'
        WHEN 'awaiting_payment' THEN 'awaiting_payment'
        WHEN 'approved' THEN 'paid'
        WHEN 'invoiced' THEN 'billed'
        WHEN 'shipped' THEN 'shipped'
        WHEN 'delivered' THEN 'delivered'
        WHEN 'cancelled' THEN 'cancelled'
    END;
UPDATE orders SET progress = '{"hist":[{"to":"' || state || '","at":' || placed_at || '}]}';
-- Every write names every column; a default would hide one it forgot.
ALTER TABLE orders
    ALTER COLUMN state DROP DEFAULT,
    ALTER COLUMN progress_version DROP DEFAULT,
    ALTER COLUMN has_pendency DROP DEFAULT,
    ALTER COLUMN has_warnings DROP DEFAULT,
    ALTER COLUMN erp_sent DROP DEFAULT,
    ALTER COLUMN pendencies DROP DEFAULT,
    ALTER COLUMN warnings DROP DEFAULT,
    ALTER COLUMN progress DROP DEFAULT;

-- Listings are newest placement first (`placed_at` then id, both descending), read
-- backwards along these indexes, for one seller without a sort. The flags they carry
-- (INCLUDE) let a filter on them be checked in the index, so a listing's offset is
-- skipped by an index-only scan, never by reading rows (see orders' listing query).
DROP INDEX orders_seller_placed;
CREATE INDEX orders_seller_listing ON orders (seller_id, placed_at, id)
    INCLUDE (state, erp_sent, has_pendency, has_warnings);
CREATE INDEX orders_seller_state ON orders (seller_id, state, placed_at, id)
    INCLUDE (erp_sent, has_pendency, has_warnings);
-- The ERP's work queue (`state = 'paid' AND NOT erp_sent`), and any state's unsent
-- orders: every entry matches, so a page deep in the queue skips index entries only.
CREATE INDEX orders_seller_unsent ON orders (seller_id, state, placed_at, id)
    INCLUDE (has_pendency, has_warnings) WHERE NOT erp_sent;
CREATE INDEX orders_operator_listing ON orders (operator_id, placed_at, id)
    INCLUDE (state, erp_sent, has_pendency, has_warnings);

-- One mark per order and ERP, the latest (the progress holds them too, for reads).
-- The `erp_type` filter probes it by order while walking a listing index.
CREATE TABLE order_erp_marks (
    order_id    BIGINT NOT NULL REFERENCES orders (id),
    operator_id TEXT NOT NULL,
    seller_id   TEXT NOT NULL,
    erp         TEXT NOT NULL,
    sent        BOOLEAN NOT NULL,
    error       TEXT,
    marked_at   BIGINT NOT NULL,
    PRIMARY KEY (order_id, erp)
);

-- The transaction ids of an order's payments, as its body last had them.
CREATE TABLE order_payment_ids (
    order_id       BIGINT NOT NULL REFERENCES orders (id),
    operator_id    TEXT NOT NULL,
    seller_id      TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    PRIMARY KEY (order_id, transaction_id)
);
CREATE INDEX order_payment_ids_transaction
    ON order_payment_ids (operator_id, transaction_id, seller_id, order_id);
-- From the bodies there are (JSON, see order_json: `payments[].transaction_id`).
INSERT INTO order_payment_ids (order_id, operator_id, seller_id, transaction_id)
    SELECT DISTINCT o.id, o.operator_id, o.seller_id, p ->> 'transaction_id'
    FROM orders o, jsonb_array_elements(o.body::jsonb -> 'payments') p
    WHERE p ->> 'transaction_id' IS NOT NULL;
