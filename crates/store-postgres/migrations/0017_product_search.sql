-- Name searches on a seller's catalog walk the start of the seller's rows in id order
-- before they turn to the trigram index (store-postgres `catalog/search.rs`): with
-- the folded name in the seller's id index, that walk reads the index alone (once
-- VACUUM has marked the table's pages all-visible), not a table row per product.
-- The index keeps its name and its key, so listings by id use it as before.
DROP INDEX products_seller_id;
CREATE INDEX products_seller_id ON products (seller_id, id) INCLUDE (name_key);
