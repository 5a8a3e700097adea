-- Browser sessions of SelfCare and of each environment's back office, kept in the
-- database so that every replica sees them and a restart logs nobody out.
-- The cookie holds a random secret; only its SHA-256 is stored, so a copy of the
-- database does not hand out live sessions.
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    -- 'selfcare', 'oidc' (a login under way) or 'bo:<env>'.
    scope TEXT NOT NULL,
    doc TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_ms);

-- SelfCare's keys for the identity tokens it gives the back offices.
CREATE TABLE selfcare_keys (
    kid TEXT PRIMARY KEY,
    private_pem TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

-- Identity tokens already exchanged for a back-office session: each is good once.
CREATE TABLE consumed_tokens (
    jti TEXT PRIMARY KEY,
    expires_ms BIGINT NOT NULL
);
