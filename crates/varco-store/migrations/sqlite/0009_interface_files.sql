-- E-service versions' interface files (OpenAPI or WSDL, at most 10 MiB): kept
-- apart from the e-service's document, which every replica reads again from the
-- event log and which is bounded to 64 KiB. One file per version; replacing a
-- draft's file replaces the row.
CREATE TABLE interface_files (
    env TEXT NOT NULL,
    descriptor_id TEXT NOT NULL,
    eservice_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes BLOB NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (env, descriptor_id)
);
