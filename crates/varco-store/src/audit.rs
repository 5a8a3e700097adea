//! The voucher audit trail, written with group commit: requests arriving together
//! share one transaction (one fsync), and each waits until its row is durable before
//! its voucher is returned.
use crate::{Result, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// One issued voucher, as stored before the voucher leaves the server.
#[derive(Debug, Clone)]
pub struct VoucherAuditRow {
    pub jti: String,
    pub env: String,
    pub correlation_id: String,
    pub issued_ms: i64,
    pub client_id: String,
    pub organization_id: String,
    pub kid: String,
    pub audience: String,
    /// The whole record as JSON (claims, assertion claims, agreement, purpose...).
    pub record: serde_json::Value,
}

type Job = (VoucherAuditRow, oneshot::Sender<Result<(), String>>);

/// Handle to the background writer; cheap to clone.
#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Job>,
}

/// Largest batch written in one transaction; bounds latency under heavy load.
const MAX_BATCH: usize = 512;

impl Store {
    /// Starts the group-commit writer on the current runtime.
    pub fn spawn_audit_writer(&self) -> AuditSink {
        let (tx, mut rx) = mpsc::channel::<Job>(16 * MAX_BATCH);
        let store = self.clone();
        tokio::spawn(async move {
            let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
            while let Some(job) = rx.recv().await {
                batch.push(job);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(j) => batch.push(j),
                        Err(_) => break,
                    }
                }
                let rows: Vec<&VoucherAuditRow> = batch.iter().map(|(r, _)| r).collect();
                let outcome = store.write_audit_batch(&rows).await.map_err(|e| e.to_string());
                if let Err(e) = &outcome {
                    tracing::error!(error = %e, rows = batch.len(), "voucher audit write failed");
                }
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(outcome.clone());
                }
            }
        });
        AuditSink { tx }
    }

    async fn write_audit_batch(&self, rows: &[&VoucherAuditRow]) -> Result<()> {
        // The same writer's turn as every other transaction (SQLite has one writer).
        let _turn = self.write_guard().await;
        let mut tx = self.begin_write().await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO voucher_audit (jti, env, correlation_id, issued_ms, client_id, \
                 organization_id, kid, audience, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(r.jti.clone())
            .bind(r.env.clone())
            .bind(r.correlation_id.clone())
            .bind(r.issued_ms)
            .bind(r.client_id.clone())
            .bind(r.organization_id.clone())
            .bind(r.kid.clone())
            .bind(r.audience.clone())
            .bind(r.record.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the audit records issued before `before_ms`, a batch at a time (so
    /// that vouchers keep being issued meanwhile); returns how many went.
    pub async fn purge_audit_before(&self, before_ms: i64) -> Result<u64> {
        let mut gone = 0;
        loop {
            let _turn = self.write_guard().await;
            let done = sqlx::query(
                "DELETE FROM voucher_audit WHERE jti IN \
                 (SELECT jti FROM voucher_audit WHERE issued_ms < $1 ORDER BY issued_ms LIMIT 5000)",
            )
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
            gone += done.rows_affected();
            if done.rows_affected() < 5000 {
                return Ok(gone);
            }
        }
    }

    /// Audit records of a client, newest first (for operators and tests).
    pub async fn audit_of_client(&self, env: &str, client_id: &str) -> Result<Vec<serde_json::Value>> {
        use sqlx::Row;
        let rows =
            sqlx::query("SELECT record FROM voucher_audit WHERE env = $1 AND client_id = $2 ORDER BY issued_ms DESC")
                .bind(env)
                .bind(client_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get("record")?;
                serde_json::from_str(&s)
                    .map_err(|e| StoreError::Corrupt { table: "voucher_audit", error: e.to_string() })
            })
            .collect()
    }
}

impl AuditSink {
    /// Returns once the row is committed; an error means no voucher may be issued.
    pub async fn record(&self, row: VoucherAuditRow) -> Result<(), String> {
        let (reply, wait) = oneshot::channel();
        self.tx.send((row, reply)).await.map_err(|_| "audit writer stopped".to_string())?;
        wait.await.map_err(|_| "audit writer stopped".to_string())?
    }
}
