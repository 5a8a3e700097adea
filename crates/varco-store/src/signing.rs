//! The platform's voucher signing keys, one set per environment. Their private
//! halves are sealed at rest when the store was opened with a key-encryption key
//! (see `at_rest.rs`); what this module hands out is always the decrypted PEM.
use crate::at_rest::{is_sealed, signing_key_aad};
use crate::{millis_to_ts, PrivatePem, Result, Store, StoreError, Tx};
use sqlx::Row;
use varco_domain::event::{AggregateKind, NewEvent};
use varco_domain::{Env, Timestamp};

/// A signing key as stored. `Debug` shows the kid and the dates, never the key
/// (`PrivatePem` prints only its length).
#[derive(Debug, Clone)]
pub struct SigningKeyRow {
    pub kid: String,
    /// PKCS#8 PEM, decrypted. Kept in the database so every replica signs with the
    /// same key. Empty for a revoked key, whose private half is wiped.
    pub private_pem: PrivatePem,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
    /// Revoked by an operator: out of the JWKS and refused at once.
    pub revoked_at: Option<Timestamp>,
}

impl Store {
    /// All signing keys of an environment, newest first, decrypted.
    pub async fn signing_keys(&self, env: Env) -> Result<Vec<SigningKeyRow>> {
        let rows = sqlx::query(
            "SELECT kid, private_pem, created_ms, retired_ms, revoked_ms FROM signing_keys WHERE env = $1 \
             ORDER BY created_ms DESC, kid",
        )
        .bind(env.slug())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kid: String = r.try_get("kid")?;
                let stored: String = r.try_get("private_pem")?;
                Ok(SigningKeyRow {
                    private_pem: PrivatePem::new(self.unseal_signing_key(env, &kid, stored)?),
                    kid,
                    created_at: millis_to_ts(r.try_get("created_ms")?),
                    retired_at: r.try_get::<Option<i64>, _>("retired_ms")?.map(millis_to_ts),
                    revoked_at: r.try_get::<Option<i64>, _>("revoked_ms")?.map(millis_to_ts),
                })
            })
            .collect()
    }

    fn unseal_signing_key(&self, env: Env, kid: &str, stored: String) -> Result<String> {
        if !is_sealed(&stored) {
            return Ok(stored);
        }
        let kek = self.kek().ok_or_else(|| {
            StoreError::KeysAtRest(format!(
                "the signing key {kid} of {} is encrypted at rest and no key-encryption key was given",
                env.slug()
            ))
        })?;
        let plain = kek.open(&signing_key_aad(env.slug(), kid), &stored).ok_or_else(|| {
            StoreError::KeysAtRest(format!(
                "the signing key {kid} of {} does not decrypt with the key-encryption key given",
                env.slug()
            ))
        })?;
        String::from_utf8(plain)
            .map_err(|_| StoreError::Corrupt { table: "signing_keys", error: format!("{kid}: not UTF-8") })
    }
}

impl Tx {
    /// Adds a new signing key and retires every other active one of the environment,
    /// recording a `SigningKeyRotated` event that other replicas follow. The key is
    /// sealed first when the store has a key-encryption key.
    pub async fn rotate_signing_key(&mut self, kid: &str, private_pem: &str, now: Timestamp) -> Result<()> {
        let env = self.env().slug();
        let now_ms = now.timestamp_millis();
        let stored = match self.kek() {
            Some(kek) => kek.seal(&signing_key_aad(env, kid), private_pem.as_bytes()),
            None => private_pem.to_string(),
        };
        sqlx::query("UPDATE signing_keys SET retired_ms = $1 WHERE env = $2 AND retired_ms IS NULL")
            .bind(now_ms)
            .bind(env)
            .execute(self.conn())
            .await?;
        sqlx::query("INSERT INTO signing_keys (env, kid, private_pem, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(env)
            .bind(kid)
            .bind(stored)
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

    /// Whether `kid` is a signing key of the environment: `None` if unknown, else
    /// `(active, revoked)`.
    pub async fn signing_key_state(&mut self, kid: &str) -> Result<Option<(bool, bool)>> {
        let env = self.env().slug();
        let row = sqlx::query("SELECT retired_ms, revoked_ms FROM signing_keys WHERE env = $1 AND kid = $2")
            .bind(env)
            .bind(kid)
            .fetch_optional(self.conn())
            .await?;
        row.map(|r| {
            Ok((
                r.try_get::<Option<i64>, _>("retired_ms")?.is_none(),
                r.try_get::<Option<i64>, _>("revoked_ms")?.is_some(),
            ))
        })
        .transpose()
    }

    /// Revokes a retired signing key: it leaves the JWKS and acceptance at once (a
    /// `SigningKeyRevoked` event tells every replica, which reloads its keys), and its
    /// private half is wiped, as nothing may sign with it again. The active key is
    /// refused here: the caller rotates first, in the same transaction.
    pub async fn revoke_signing_key(&mut self, kid: &str, now: Timestamp) -> Result<()> {
        let env = self.env().slug();
        match self.signing_key_state(kid).await? {
            None => return Err(StoreError::SigningKey(format!("{env} has no signing key {kid}"))),
            Some((_, true)) => {
                return Err(StoreError::SigningKey(format!("the signing key {kid} of {env} is revoked already")))
            }
            Some((true, _)) => {
                return Err(StoreError::SigningKey(format!(
                    "the signing key {kid} of {env} is the active one: rotate before revoking it"
                )))
            }
            Some((false, false)) => {}
        }
        sqlx::query("UPDATE signing_keys SET revoked_ms = $1, private_pem = '' WHERE env = $2 AND kid = $3")
            .bind(now.timestamp_millis())
            .bind(env)
            .bind(kid)
            .execute(self.conn())
            .await?;
        self.append(NewEvent {
            aggregate: AggregateKind::SigningKey,
            aggregate_id: kid.to_string(),
            event_type: "SigningKeyRevoked".into(),
            payload: serde_json::json!({ "kid": kid }),
        })
        .await
    }
}
