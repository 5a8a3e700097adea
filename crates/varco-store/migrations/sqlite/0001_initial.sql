-- Varco's schema (sqlite). Aggregates are stored whole as JSON documents (column doc),
-- with the columns we filter on copied out next to them. Every change also appends an
-- event, in the same transaction. Every row carries its environment: the three
-- environments share a database but never a row.

CREATE TABLE tenants (
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    origin TEXT NOT NULL,
    external_value TEXT NOT NULL,
    selfcare_id TEXT,
    doc TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (env, id),
    UNIQUE (env, origin, external_value)
);

CREATE TABLE attributes (
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (env, id),
    UNIQUE (env, kind, name)
);

CREATE TABLE eservices (
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    producer_id TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (env, id),
    UNIQUE (env, producer_id, name)
);

CREATE TABLE agreements (
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    eservice_id TEXT NOT NULL,
    descriptor_id TEXT NOT NULL,
    consumer_id TEXT NOT NULL,
    producer_id TEXT NOT NULL,
    state TEXT NOT NULL,
    doc TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (env, id)
);
CREATE INDEX agreements_consumer ON agreements (env, consumer_id, eservice_id);
CREATE INDEX agreements_producer ON agreements (env, producer_id);

CREATE TABLE purposes (
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    eservice_id TEXT NOT NULL,
    consumer_id TEXT NOT NULL,
    title TEXT NOT NULL,
    doc TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (env, id)
);
CREATE INDEX purposes_consumer ON purposes (env, consumer_id, eservice_id);
CREATE INDEX purposes_eservice ON purposes (env, eservice_id);

CREATE TABLE clients (
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    consumer_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (env, id)
);
CREATE INDEX clients_consumer ON clients (env, consumer_id);

-- A kid is unique within an environment: the token endpoint finds keys by it.
CREATE TABLE client_keys (
    env TEXT NOT NULL,
    kid TEXT NOT NULL,
    client_id TEXT NOT NULL,
    PRIMARY KEY (env, kid)
);

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    env TEXT NOT NULL,
    aggregate_kind TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    actor TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX events_aggregate ON events (env, aggregate_kind, aggregate_id);

-- The platform's voucher signing keys, per environment. A retired key stays in the
-- JWKS until every voucher it signed has expired.
CREATE TABLE signing_keys (
    env TEXT NOT NULL,
    kid TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    retired_ms BIGINT,
    PRIMARY KEY (env, kid)
);

-- One row per issued voucher, written before the voucher is returned.
CREATE TABLE voucher_audit (
    jti TEXT PRIMARY KEY,
    env TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    issued_ms BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    kid TEXT NOT NULL,
    audience TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX voucher_audit_client ON voucher_audit (env, client_id, issued_ms);
