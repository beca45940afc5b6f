-- Which visual model computed each stored row, and its top labels as JSON text (see the
-- Postgres migration of the same name).
ALTER TABLE image_descriptors ADD COLUMN model TEXT NOT NULL DEFAULT '';
ALTER TABLE image_descriptors ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';
UPDATE image_descriptors SET model = 'descriptor-v' || version WHERE version < 1073741824;
