-- A SelfCare institution has at most one tenant per environment: the back office,
-- `varco ente add` and the demo world find it by SelfCare id (varco-platform's
-- `tenant_for`), and two replicas creating it at once must not make two. NULLs
-- (tenants not from SelfCare) do not collide.
--
-- The IPA code (origin, external_value) is no longer unique: two Enti may share one.
ALTER TABLE tenants DROP CONSTRAINT IF EXISTS tenants_env_origin_external_value_key;
CREATE INDEX tenants_external ON tenants (env, origin, external_value);
CREATE UNIQUE INDEX tenants_env_selfcare_id ON tenants (env, selfcare_id);
