-- Which visual model computed each stored row (`descriptor-v4`,
-- `efficientnet-lite0@<16 hex of the weights' BLAKE3>+descriptor-v4`), and what the model
-- saw: the top ImageNet labels as JSON text (`[{"name","score"}…]`, `[]` without a
-- classifier). Rows written before this column existed were all descriptor-only (the
-- combined model's versions are ≥ 2^30), so their id follows from the version.
ALTER TABLE image_descriptors ADD COLUMN model TEXT NOT NULL DEFAULT '';
ALTER TABLE image_descriptors ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';
UPDATE image_descriptors SET model = 'descriptor-v' || version::text WHERE version < 1073741824;
