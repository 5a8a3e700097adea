-- Lists of agreements, purposes and clients are ordered (and paged) by the
-- database, oldest first: their creation time becomes a filter column, as
-- zero-padded milliseconds in text (sortable on both backends, and bound like the
-- other filter columns). Existing rows take it from their document.
ALTER TABLE agreements ADD COLUMN created_ms TEXT NOT NULL DEFAULT '';
ALTER TABLE purposes ADD COLUMN created_ms TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN created_ms TEXT NOT NULL DEFAULT '';
UPDATE agreements SET created_ms = lpad(round(extract(epoch FROM (doc::jsonb ->> 'created_at')::timestamptz) * 1000)::bigint::text, 15, '0');
UPDATE purposes SET created_ms = lpad(round(extract(epoch FROM (doc::jsonb ->> 'created_at')::timestamptz) * 1000)::bigint::text, 15, '0');
UPDATE clients SET created_ms = lpad(round(extract(epoch FROM (doc::jsonb ->> 'created_at')::timestamptz) * 1000)::bigint::text, 15, '0');
CREATE INDEX agreements_created ON agreements (env, created_ms);
CREATE INDEX clients_created ON clients (env, created_ms);
