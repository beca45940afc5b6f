-- Each image's placeholder, computed at ingest: its ThumbHash (standard base64) and dominant
-- colour (`#rrggbb`). NULL in both: an image stored before placeholders existed, which the
-- background pass (origin/src/images/backfill.rs) fills in; '' in both: its original could
-- not be read as an image, so there is nothing to retry. The partial index keeps the pass's
-- look-up for work cheap once every row has one.
ALTER TABLE images ADD COLUMN placeholder_thumbhash TEXT NULL;
ALTER TABLE images ADD COLUMN placeholder_color TEXT NULL
    CHECK (placeholder_color IS NULL OR placeholder_color = '' OR placeholder_color ~ '^#[0-9a-f]{6}$');
CREATE INDEX images_without_placeholder_idx ON images (id) WHERE placeholder_color IS NULL;
