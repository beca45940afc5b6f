-- Catalog: images (content-addressed originals) and products.
CREATE TABLE images (
    id          TEXT PRIMARY KEY CHECK (length(id) = 64),
    width       INTEGER NOT NULL CHECK (width > 0),
    height      INTEGER NOT NULL CHECK (height > 0),
    format      TEXT NOT NULL,
    bytes       INTEGER NOT NULL CHECK (bytes > 0),
    created_at  TEXT NOT NULL
);

-- AUTOINCREMENT: ids are never reused after a delete, so caches keyed by id stay honest.
CREATE TABLE products (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    sku         TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    brand       TEXT NOT NULL,
    category    TEXT NOT NULL,
    price       INTEGER NOT NULL CHECK (price >= 0),
    currency    TEXT NOT NULL CHECK (length(currency) = 3),
    attributes  TEXT NOT NULL DEFAULT '{}',
    image_id    TEXT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE INDEX products_updated_at_idx ON products (updated_at);
CREATE INDEX products_image_id_idx ON products (image_id);
