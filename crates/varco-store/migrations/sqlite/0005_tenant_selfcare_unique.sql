-- A SelfCare institution has at most one tenant per environment: the back office,
-- `varco ente add` and the demo world find it by SelfCare id (varco-platform's
-- `tenant_for`), and two replicas creating it at once must not make two. NULLs
-- (tenants not from SelfCare) do not collide.
--
-- The IPA code (origin, external_value) is no longer unique: two Enti may share
-- one. SQLite cannot drop a table constraint, so the table is rebuilt.
CREATE TABLE tenants_new (
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    origin TEXT NOT NULL,
    external_value TEXT NOT NULL,
    selfcare_id TEXT,
    doc TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (env, id)
);
INSERT INTO tenants_new (env, id, name, origin, external_value, selfcare_id, doc, version)
    SELECT env, id, name, origin, external_value, selfcare_id, doc, version FROM tenants;
DROP TABLE tenants;
ALTER TABLE tenants_new RENAME TO tenants;
CREATE INDEX tenants_external ON tenants (env, origin, external_value);
CREATE UNIQUE INDEX tenants_env_selfcare_id ON tenants (env, selfcare_id);
