-- Audit retention (--audit-retention-days) deletes the oldest records first.
CREATE INDEX voucher_audit_issued ON voucher_audit (issued_ms);
