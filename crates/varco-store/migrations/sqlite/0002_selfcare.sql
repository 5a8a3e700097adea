-- SelfCare's data (sqlite). SelfCare is one platform shared by the three Interoperabilità
-- environments, so unlike the aggregates of 0001 these rows carry no env. Documents
-- are the whole model value as JSON; the other columns are copies used for lookups
-- and for the rules the database must enforce even under concurrent requests.

CREATE TABLE institutions (
    id TEXT PRIMARY KEY,
    tax_code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    version BIGINT NOT NULL
);

-- A person is one user across institutions, found by the fiscal code SPID/CIE give us.
CREATE TABLE sc_users (
    id TEXT PRIMARY KEY,
    fiscal_code TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL,
    version BIGINT NOT NULL
);

CREATE TABLE user_roles (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES sc_users (id),
    institution_id TEXT NOT NULL REFERENCES institutions (id),
    product TEXT NOT NULL,
    party_role TEXT NOT NULL,
    product_role TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX user_roles_institution ON user_roles (institution_id, product);
CREATE INDEX user_roles_user ON user_roles (user_id, institution_id);
-- "Re-adding the same role is refused" is checked by the rules on what was read; this
-- index makes two concurrent "Crea Utente" for the same person fail instead of both
-- passing. Deleted roles are history and may be given again.
CREATE UNIQUE INDEX user_roles_live ON user_roles (user_id, institution_id, product, product_role)
    WHERE status <> 'DELETED';

-- Mails are queued in the transaction that makes them true and sent later, so a mail
-- never announces a change that was rolled back, nor is lost for one that committed.
CREATE TABLE mail_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    sent_ms BIGINT
);
CREATE INDEX mail_outbox_unsent ON mail_outbox (sent_ms, seq);
