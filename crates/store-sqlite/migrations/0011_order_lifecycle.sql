-- The order lifecycle: each order's progress (entreposto_store::progress_json) next to
-- its body. What listings filter and sort on is a column (`state`, the flags); the
-- pendencies and warnings, which every push replaces, are columns of their own; the
-- rest of the progress is `progress`, JSON. ERP marks and payment transaction ids are
-- also rows of their own tables, for the `erp_type` and `trans_id` filters.
ALTER TABLE orders ADD COLUMN state TEXT NOT NULL DEFAULT 'awaiting_payment';
ALTER TABLE orders ADD COLUMN progress_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE orders ADD COLUMN has_pendency INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN has_warnings INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN erp_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN pendencies TEXT NOT NULL DEFAULT '[]';
ALTER TABLE orders ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
ALTER TABLE orders ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';

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

-- Listings are newest placement first (`placed_at` then id, both descending), read
-- backwards along these indexes, for one seller without a sort. Each names `id` (the
-- rowid) before the flag columns it carries, so ties come by id and a filter on a
-- flag is checked in the index: rows an offset skips are never read from the table.
DROP INDEX orders_seller_placed;
CREATE INDEX orders_seller_listing
    ON orders (seller_id, placed_at, id, state, erp_sent, has_pendency, has_warnings);
CREATE INDEX orders_seller_state
    ON orders (seller_id, state, placed_at, id, erp_sent, has_pendency, has_warnings);
-- The ERP's work queue (`state = 'paid' AND erp_sent = 0`), and any state's unsent
-- orders: every entry matches, so a page deep in the queue skips index entries only.
CREATE INDEX orders_seller_unsent
    ON orders (seller_id, state, placed_at, id, has_pendency, has_warnings) WHERE erp_sent = 0;
CREATE INDEX orders_operator_listing
    ON orders (operator_id, placed_at, id, state, erp_sent, has_pendency, has_warnings);

-- One mark per order and ERP, the latest (the progress holds them too, for reads).
-- The `erp_type` filter probes it by order while walking a listing index.
CREATE TABLE order_erp_marks (
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    operator_id TEXT NOT NULL,
    seller_id   TEXT NOT NULL,
    erp         TEXT NOT NULL,
    sent        INTEGER NOT NULL,
    error       TEXT,
    marked_at   INTEGER NOT NULL,
    PRIMARY KEY (order_id, erp)
) WITHOUT ROWID;

-- The transaction ids of an order's payments, as its body last had them.
CREATE TABLE order_payment_ids (
    order_id       INTEGER NOT NULL REFERENCES orders (id),
    operator_id    TEXT NOT NULL,
    seller_id      TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    PRIMARY KEY (order_id, transaction_id)
) WITHOUT ROWID;
CREATE INDEX order_payment_ids_transaction
    ON order_payment_ids (operator_id, transaction_id, seller_id, order_id);
-- From the bodies there are (JSON text or postcard): read by the store's own codec.
INSERT OR IGNORE INTO order_payment_ids (order_id, operator_id, seller_id, transaction_id)
    SELECT o.id, o.operator_id, o.seller_id, t.value
    FROM orders o, json_each(entreposto_payment_ids(o.body)) t;
