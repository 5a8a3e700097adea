-- Signing keys revoked in an emergency (`varco signing-key revoke`): such a key
-- leaves the JWKS and is refused at once, whatever its grace period; its private
-- half is wiped from the row.
ALTER TABLE signing_keys ADD COLUMN revoked_ms BIGINT;

-- Present once the database's private keys are encrypted at rest: a sealed check
-- value, so that a start without the key-encryption key, or with another one,
-- stops with a clear message instead of making new keys.
CREATE TABLE key_encryption (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    check_value TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
