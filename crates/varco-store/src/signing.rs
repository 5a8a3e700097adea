//! The platform's voucher signing keys, one set per environment.
use crate::{millis_to_ts, Result, Store, Tx};
use sqlx::Row;
use varco_domain::event::{AggregateKind, NewEvent};
use varco_domain::{Env, Timestamp};

#[derive(Debug, Clone)]
pub struct SigningKeyRow {
    pub kid: String,
    /// PKCS#8 PEM. Kept in the database so every replica signs with the same key.
    pub private_pem: String,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

impl Store {
    /// All signing keys of an environment, newest first.
    pub async fn signing_keys(&self, env: Env) -> Result<Vec<SigningKeyRow>> {
        let rows = sqlx::query(
            "SELECT kid, private_pem, created_ms, retired_ms FROM signing_keys WHERE env = $1 \
             ORDER BY created_ms DESC, kid",
        )
        .bind(env.slug())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRow {
                    kid: r.try_get("kid")?,
                    private_pem: r.try_get("private_pem")?,
                    created_at: millis_to_ts(r.try_get("created_ms")?),
                    retired_at: r.try_get::<Option<i64>, _>("retired_ms")?.map(millis_to_ts),
                })
            })
            .collect()
    }
}

impl Tx {
    /// Adds a new signing key and retires every other active one of the environment,
    /// recording a `SigningKeyRotated` event that other replicas follow.
    pub async fn rotate_signing_key(&mut self, kid: &str, private_pem: &str, now: Timestamp) -> Result<()> {
        let env = self.env().slug();
        let now_ms = now.timestamp_millis();
        sqlx::query("UPDATE signing_keys SET retired_ms = $1 WHERE env = $2 AND retired_ms IS NULL")
            .bind(now_ms)
            .bind(env)
            .execute(self.conn())
            .await?;
        sqlx::query("INSERT INTO signing_keys (env, kid, private_pem, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(env)
            .bind(kid)
            .bind(private_pem)
            .bind(now_ms)
            .execute(self.conn())
            .await?;
        self.append(NewEvent {
            aggregate: AggregateKind::SigningKey,
            aggregate_id: kid.to_string(),
            event_type: "SigningKeyRotated".into(),
            payload: serde_json::json!({ "kid": kid }),
        })
        .await
    }
}
