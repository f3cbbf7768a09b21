-- The catalog: categories, manufacturers, brands, collections, products with their
-- stock per location, links and parts, and durable import jobs. A product's `body`
-- is the JSON of everything no query filters on (entreposto_store::catalog_json);
-- what a listing filters or sorts on is a column. `name_key` is the name folded
-- (entreposto_domain::search::fold): names are searched and unique by it.

CREATE TABLE categories (
    id           INTEGER PRIMARY KEY,
    operator_id  TEXT NOT NULL,
    seller_id    TEXT NOT NULL,
    parent_id    INTEGER REFERENCES categories (id),
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    description  TEXT,
    slug         TEXT NOT NULL,
    keywords     TEXT,
    image_source TEXT,
    external_id  TEXT,
    created_at   INTEGER NOT NULL,
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
CREATE UNIQUE INDEX categories_external_id ON categories (seller_id, external_id)
    WHERE external_id IS NOT NULL;
-- Siblings have distinct folded names; roots are siblings under parent 0.
CREATE UNIQUE INDEX categories_sibling_name
    ON categories (seller_id, COALESCE(parent_id, 0), name_key);

CREATE TABLE manufacturers (
    id           INTEGER PRIMARY KEY,
    operator_id  TEXT NOT NULL,
    seller_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    external_id  TEXT,
    image_source TEXT,
    created_at   INTEGER NOT NULL,
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
CREATE UNIQUE INDEX manufacturers_external_id ON manufacturers (seller_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX manufacturers_name ON manufacturers (seller_id, name_key);

CREATE TABLE brands (
    id              INTEGER PRIMARY KEY,
    operator_id     TEXT NOT NULL,
    seller_id       TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    external_id     TEXT,
    image_source    TEXT,
    manufacturer_id INTEGER REFERENCES manufacturers (id),
    created_at      INTEGER NOT NULL,
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
CREATE UNIQUE INDEX brands_external_id ON brands (seller_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX brands_name ON brands (seller_id, name_key);

CREATE TABLE collections (
    id           INTEGER PRIMARY KEY,
    operator_id  TEXT NOT NULL,
    seller_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    external_id  TEXT,
    image_source TEXT,
    created_at   INTEGER NOT NULL,
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
CREATE UNIQUE INDEX collections_external_id ON collections (seller_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX collections_name ON collections (seller_id, name_key);

-- AUTOINCREMENT: a deleted product's id is never given to another (clients and
-- import results keep ids).
CREATE TABLE products (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    operator_id      TEXT NOT NULL,
    seller_id        TEXT NOT NULL,
    sku              TEXT NOT NULL,
    external_id      TEXT,
    kind             TEXT NOT NULL,
    name             TEXT NOT NULL,
    name_key         TEXT NOT NULL,
    active           INTEGER NOT NULL,
    published        INTEGER NOT NULL,
    archived         INTEGER NOT NULL,
    price_list       INTEGER,
    price_value      INTEGER,
    price_expires_at INTEGER,
    brand_id         INTEGER REFERENCES brands (id),
    manufacturer_id  INTEGER REFERENCES manufacturers (id),
    seo_url          TEXT,
    version          INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    body             TEXT NOT NULL,
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
CREATE UNIQUE INDEX products_sku ON products (seller_id, sku);
CREATE UNIQUE INDEX products_external_id ON products (seller_id, external_id)
    WHERE external_id IS NOT NULL;
-- The listing's orders (each index ends in the rowid, which breaks ties; the first
-- is the default order, by id) and filters.
CREATE INDEX products_seller ON products (seller_id);
CREATE INDEX products_seller_name ON products (seller_id, name_key);
CREATE INDEX products_seller_price ON products (seller_id, price_value);
CREATE INDEX products_seller_url ON products (seller_id, seo_url);
CREATE INDEX products_seller_brand ON products (seller_id, brand_id);
CREATE INDEX products_operator ON products (operator_id);

-- Substring search on folded names: trigrams of `products.name_key`, with their
-- positions (`detail=full`), so a phrase query of a text's trigrams is exact
-- containment answered from the index alone: a `LIKE '%text%'` on a position-less
-- index has to read every candidate's name (300 ms for a word in a tenth of a
-- million names, against 15 ms for the first 10,000 by phrase). The store writes it
-- next to every insert, name change and delete of a product, not by triggers: a
-- statement that fires a trigger runs in a statement savepoint, at which FTS5 writes
-- its pending terms out as a new segment, one per product (a bulk load of 100,000
-- took 37 s, merging them).
CREATE VIRTUAL TABLE product_names USING fts5 (
    name_key,
    content = 'products',
    content_rowid = 'id',
    tokenize = 'trigram',
    detail = 'full'
);

CREATE TABLE product_stock (
    product_id    INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    location_id   INTEGER NOT NULL,
    location_name TEXT,
    quantity      INTEGER NOT NULL,
    minimum       INTEGER NOT NULL,
    status        INTEGER,
    PRIMARY KEY (product_id, location_id)
) WITHOUT ROWID;

CREATE TABLE product_categories (
    product_id  INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    category_id INTEGER NOT NULL REFERENCES categories (id),
    position    INTEGER NOT NULL,
    PRIMARY KEY (product_id, position)
) WITHOUT ROWID;
CREATE INDEX product_categories_category ON product_categories (category_id, product_id);

CREATE TABLE product_collections (
    product_id    INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    collection_id INTEGER NOT NULL REFERENCES collections (id),
    position      INTEGER NOT NULL,
    PRIMARY KEY (product_id, position)
) WITHOUT ROWID;
CREATE INDEX product_collections_collection
    ON product_collections (collection_id, product_id);

-- A kit's components and a group's variations, by SKU (they need not exist yet).
CREATE TABLE product_parts (
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    seller_id  TEXT NOT NULL,
    part_sku   TEXT NOT NULL,
    quantity   INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (product_id, position)
) WITHOUT ROWID;
CREATE INDEX product_parts_sku ON product_parts (seller_id, part_sku);

CREATE TABLE import_jobs (
    id                TEXT PRIMARY KEY,
    operator_id       TEXT NOT NULL,
    seller_id         TEXT NOT NULL,
    state             TEXT NOT NULL,
    verify_categories INTEGER NOT NULL,
    verify_brands     INTEGER NOT NULL,
    total             INTEGER NOT NULL,
    processed         INTEGER NOT NULL,
    succeeded         INTEGER NOT NULL,
    failed            INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    finished_at       INTEGER,
    lease_until       INTEGER,
    FOREIGN KEY (seller_id, operator_id) REFERENCES sellers (id, operator_id)
);
CREATE INDEX import_jobs_seller_created ON import_jobs (seller_id, created_at, id);
-- The claim's queue: unfinished jobs, oldest first.
CREATE INDEX import_jobs_open ON import_jobs (created_at, id) WHERE state <> 'finished';

CREATE TABLE import_rows (
    job_id TEXT NOT NULL REFERENCES import_jobs (id),
    row    INTEGER NOT NULL,
    draft  TEXT NOT NULL,
    PRIMARY KEY (job_id, row)
) WITHOUT ROWID;

-- One per row done. `product_id` is no foreign key: a product deleted later leaves
-- the job's record of having written it.
CREATE TABLE import_results (
    job_id     TEXT NOT NULL REFERENCES import_jobs (id),
    row        INTEGER NOT NULL,
    sku        TEXT,
    product_id INTEGER,
    errors     TEXT,
    PRIMARY KEY (job_id, row)
) WITHOUT ROWID;
