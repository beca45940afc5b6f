-- The search synonyms, one document for the whole catalog (see the Postgres migration of the
-- same name).
CREATE TABLE search_synonyms (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    rules       TEXT NOT NULL,
    version     INTEGER NOT NULL CHECK (version > 0),
    updated_at  TEXT NOT NULL
);
