-- Visual descriptors, one per image and descriptor version.
CREATE TABLE image_descriptors (
    image_id    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    dims        INTEGER NOT NULL CHECK (dims > 0),
    vector      BLOB NOT NULL,
    phash       INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (image_id, version)
);
