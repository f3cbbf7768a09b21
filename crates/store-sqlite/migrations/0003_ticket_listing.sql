-- Omnik lists tickets by creation date and by marketplace order id.
CREATE INDEX tickets_seller_created ON tickets (seller_id, created_at, id);
CREATE INDEX tickets_operator_created ON tickets (operator_id, created_at, id);
CREATE INDEX tickets_operator_marketplace_order ON tickets (operator_id, marketplace_order_id);
