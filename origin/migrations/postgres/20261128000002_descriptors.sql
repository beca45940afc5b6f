-- Visual descriptors, one per image and descriptor version (images are content-addressed,
-- so a descriptor never goes stale for its image; a new version adds rows).
CREATE TABLE image_descriptors (
    image_id    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    dims        INTEGER NOT NULL CHECK (dims > 0),
    vector      BYTEA NOT NULL,
    phash       BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (image_id, version)
);
