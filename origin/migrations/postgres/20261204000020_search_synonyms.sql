-- The search synonyms, one document for the whole catalog (at most one row): the rules as the
-- API took them (JSON text), and a version that every replacement increments, so each
-- instance's sync loop reloads them when the version it holds is not the stored one.
CREATE TABLE search_synonyms (
    id          SMALLINT PRIMARY KEY CHECK (id = 1),
    rules       TEXT NOT NULL,
    version     BIGINT NOT NULL CHECK (version > 0),
    updated_at  TIMESTAMPTZ NOT NULL
);
