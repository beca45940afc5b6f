-- Each image's placeholder: ThumbHash (base64) and dominant colour (`#rrggbb`); NULL until
-- the background pass fills it in, '' when the original cannot be read (see the Postgres
-- migration of the same name).
ALTER TABLE images ADD COLUMN placeholder_thumbhash TEXT NULL;
ALTER TABLE images ADD COLUMN placeholder_color TEXT NULL
    CHECK (placeholder_color IS NULL OR placeholder_color = '' OR (length(placeholder_color) = 7 AND placeholder_color GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'));
CREATE INDEX images_without_placeholder_idx ON images (id) WHERE placeholder_color IS NULL;
