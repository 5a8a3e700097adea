//! Browser sessions, SelfCare's identity-token keys (sealed at rest when the store
//! has a key-encryption key) and the record of identity tokens already used
//! (migration 0003). Plain rows: what a session means is
//! the web layer's business; this module only keeps them. Writes take the
//! SQLite writer's turn ([`Store::write_guard`]) like every other transaction.
use crate::at_rest::{is_sealed, selfcare_key_aad};
use crate::{PrivatePem, Result, Store, StoreError};
use sqlx::Row;

/// A live session as stored. `doc` is the web layer's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub scope: String,
    pub doc: String,
    pub csrf: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

impl Store {
    pub async fn session_insert(&self, id_hash: &str, row: &SessionRow) -> Result<()> {
        let _turn = self.write_guard().await;
        sqlx::query(
            "INSERT INTO web_sessions (id_hash, scope, doc, csrf, created_ms, expires_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id_hash)
        .bind(&row.scope)
        .bind(&row.doc)
        .bind(&row.csrf)
        .bind(row.created_ms)
        .bind(row.expires_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The session with that hash in `scope`, unless it has expired.
    pub async fn session_get(&self, id_hash: &str, scope: &str, now_ms: i64) -> Result<Option<SessionRow>> {
        let row = sqlx::query(
            "SELECT scope, doc, csrf, created_ms, expires_ms FROM web_sessions \
             WHERE id_hash = $1 AND scope = $2 AND expires_ms > $3",
        )
        .bind(id_hash)
        .bind(scope)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(SessionRow {
                scope: r.try_get("scope")?,
                doc: r.try_get("doc")?,
                csrf: r.try_get("csrf")?,
                created_ms: r.try_get("created_ms")?,
                expires_ms: r.try_get("expires_ms")?,
            })
        })
        .transpose()
    }

    /// Removes a session and returns whether it was there (and not expired), so a
    /// one-shot session (a login under way) can be taken exactly once.
    pub async fn session_take(&self, id_hash: &str, scope: &str, now_ms: i64) -> Result<Option<SessionRow>> {
        let _turn = self.write_guard().await;
        let found = self.session_get(id_hash, scope, now_ms).await?;
        if found.is_none() {
            return Ok(None);
        }
        let done = sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1 AND scope = $2")
            .bind(id_hash)
            .bind(scope)
            .execute(self.pool())
            .await?;
        // Two concurrent takers: only the one whose DELETE removed the row wins.
        Ok(if done.rows_affected() == 1 { found } else { None })
    }

    pub async fn session_delete(&self, id_hash: &str) -> Result<()> {
        let _turn = self.write_guard().await;
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1").bind(id_hash).execute(self.pool()).await?;
        Ok(())
    }

    /// Drops expired sessions and consumed-token records; returns how many rows went.
    pub async fn sessions_purge(&self, now_ms: i64) -> Result<u64> {
        let _turn = self.write_guard().await;
        let a =
            sqlx::query("DELETE FROM web_sessions WHERE expires_ms <= $1").bind(now_ms).execute(self.pool()).await?;
        let b =
            sqlx::query("DELETE FROM consumed_tokens WHERE expires_ms <= $1").bind(now_ms).execute(self.pool()).await?;
        Ok(a.rows_affected() + b.rows_affected())
    }

    /// Records that the token `jti` has been used. `false` when it already was:
    /// the primary key makes this atomic across replicas.
    pub async fn consume_token(&self, jti: &str, expires_ms: i64) -> Result<bool> {
        let _turn = self.write_guard().await;
        let done =
            sqlx::query("INSERT INTO consumed_tokens (jti, expires_ms) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
                .bind(jti)
                .bind(expires_ms)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// SelfCare's current identity-token key (kid, PKCS#8 PEM, decrypted), if one
    /// was made.
    pub async fn selfcare_key(&self) -> Result<Option<(String, PrivatePem)>> {
        let row = sqlx::query("SELECT kid, private_pem FROM selfcare_keys ORDER BY created_ms ASC, kid LIMIT 1")
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| self.unseal_selfcare_key(r.try_get("kid")?, r.try_get("private_pem")?)).transpose()
    }

    /// Stores a new key unless one exists already (sealed when the store has a
    /// key-encryption key); returns the key in force, so that replicas starting
    /// together agree on one key.
    pub async fn selfcare_key_init(&self, kid: &str, private_pem: &str, now_ms: i64) -> Result<(String, PrivatePem)> {
        let _turn = self.write_guard().await;
        if let Some(k) = self.selfcare_key().await? {
            return Ok(k);
        }
        let stored = match self.kek() {
            Some(kek) => kek.seal(&selfcare_key_aad(kid), private_pem.as_bytes()),
            None => private_pem.to_string(),
        };
        sqlx::query(
            "INSERT INTO selfcare_keys (kid, private_pem, created_ms) VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING",
        )
        .bind(kid)
        .bind(stored)
        .bind(now_ms)
        .execute(self.pool())
        .await?;
        // Another replica may have inserted first with an earlier or equal time:
        // whatever the table now says first is the key for everyone.
        self.selfcare_key().await?.ok_or_else(|| StoreError::Corrupt {
            table: "selfcare_keys",
            error: "the key just stored is not there".into(),
        })
    }

    fn unseal_selfcare_key(&self, kid: String, stored: String) -> Result<(String, PrivatePem)> {
        if !is_sealed(&stored) {
            return Ok((kid, PrivatePem::new(stored)));
        }
        let opened = self.kek().and_then(|kek| kek.open(&selfcare_key_aad(&kid), &stored));
        let plain = opened.ok_or_else(|| {
            StoreError::KeysAtRest(match self.kek() {
                None => format!(
                    "SelfCare's identity-token key {kid} is encrypted at rest and no key-encryption key was given"
                ),
                Some(_) => {
                    format!("SelfCare's identity-token key {kid} does not decrypt with the key-encryption key given")
                }
            })
        })?;
        let pem = String::from_utf8(plain)
            .map_err(|_| StoreError::Corrupt { table: "selfcare_keys", error: format!("{kid}: not UTF-8") })?;
        Ok((kid, PrivatePem::new(pem)))
    }
}
