-- Delivery of the mail outbox over SMTP (varco-selfcare's mailer).
-- next_try_ms: no replica takes the mail before this time. A replica that claims
-- a mail sets it to now + a lease (so the others leave it alone while it is
-- being sent, and take it again if that replica dies); a failed attempt sets it
-- to now + a growing pause. Empty: due now.
ALTER TABLE mail_outbox ADD COLUMN next_try_ms BIGINT;
-- Failed attempts so far, and the last error (never a password).
ALTER TABLE mail_outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mail_outbox ADD COLUMN last_error TEXT;
