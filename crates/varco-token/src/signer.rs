//! The platform's voucher signing keys of one environment, parsed once.
use chrono::Utc;
use std::sync::Arc;
use varco_domain::event::Actor;
use varco_domain::{Env, Timestamp};
use varco_jose::{RsaPrivateKey, RsaPublicKey};
use varco_store::{Store, StoreError};

/// A retired key stays published this long after retirement: the longest voucher
/// lifespan a descriptor may have (86400 s) plus a margin.
pub const RETIRED_KEY_GRACE_SECS: i64 = 86_400 + 300;

pub struct SigningKeys {
    pub active: RsaPrivateKey,
    pub active_kid: String,
    /// Retired keys that were still in their grace period when loaded, with the
    /// time each was retired: whether one is still published is decided at the
    /// moment of use ([`SigningKeys::published`]), by the token server's clock, so
    /// a key leaves the JWKS on time even when nothing is rotated after it.
    pub retired: Vec<(RsaPublicKey, Timestamp)>,
}

impl SigningKeys {
    /// Loads the environment's keys, creating the first one if there is none. A
    /// key that cannot be decrypted is an error, never a reason to make a new one.
    pub async fn load_or_create(store: &Store, env: Env, now: Timestamp) -> Result<Arc<SigningKeys>, StoreError> {
        let mut rows = store.signing_keys(env).await?;
        if rows.iter().all(|r| r.retired_at.is_some()) {
            rotate(store, env, Actor::System).await?;
            rows = store.signing_keys(env).await?;
        }
        let mut active = None;
        let mut retired = Vec::new();
        for r in &rows {
            // Revoked keys are gone at once, whatever their grace; keys past their
            // grace period are not even parsed.
            if r.revoked_at.is_some()
                || r.retired_at.is_some_and(|t| !in_grace(t, now))
                || (r.retired_at.is_none() && active.is_some())
            {
                continue;
            }
            let key = RsaPrivateKey::from_pem(&r.private_pem)
                .map_err(|e| StoreError::Corrupt { table: "signing_keys", error: format!("{}: {e}", r.kid) })?;
            match r.retired_at {
                None => active = Some((key, r.kid.clone())),
                Some(t) => retired.push((key.public_key(), t)),
            }
        }
        let (active, active_kid) = active.expect("an active key exists after rotation");
        Ok(Arc::new(SigningKeys { active, active_kid, retired }))
    }

    /// The public keys to publish at `now`: the active one, then the retired ones
    /// still in their grace period.
    pub fn published(&self, now: Timestamp) -> impl Iterator<Item = RsaPublicKey> + '_ {
        std::iter::once(self.active.public_key())
            .chain(self.retired.iter().filter(move |(_, t)| in_grace(*t, now)).map(|(k, _)| k.clone()))
    }

    pub fn jwks(&self, now: Timestamp) -> serde_json::Value {
        serde_json::json!({ "keys": self.published(now).map(|k| k.jwk()).collect::<Vec<_>>() })
    }
}

fn in_grace(retired_at: Timestamp, now: Timestamp) -> bool {
    (now - retired_at).num_seconds() < RETIRED_KEY_GRACE_SECS
}

/// Generates a new signing key for `env`, retiring the current one. Returns its kid.
pub async fn rotate(store: &Store, env: Env, actor: Actor) -> Result<String, StoreError> {
    rotate_to(store, env, actor, RsaPrivateKey::generate_2048()).await
}

/// Makes `key()` the signing key of `env` if it has no active one, as
/// [`SigningKeys::load_or_create`] would with a generated key; for a caller that
/// has its keys made already (the tests' servers). Returns whether it did.
pub async fn create_if_none(store: &Store, env: Env, key: impl FnOnce() -> RsaPrivateKey) -> Result<bool, StoreError> {
    if store.signing_keys(env).await?.iter().any(|r| r.retired_at.is_none()) {
        return Ok(false);
    }
    rotate_to(store, env, Actor::System, key()).await?;
    Ok(true)
}

/// `key` becomes the signing key of `env`, retiring the current one. Returns its kid.
async fn rotate_to(store: &Store, env: Env, actor: Actor, key: RsaPrivateKey) -> Result<String, StoreError> {
    let kid = key.kid().to_string();
    let mut tx = store.begin(env, actor).await?;
    tx.rotate_signing_key(&kid, &key.to_pkcs8_pem(), Utc::now()).await?;
    tx.commit().await?;
    Ok(kid)
}

/// What [`revoke`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub kid: String,
    /// The key made to replace it, when the revoked key was the active one.
    pub new_active_kid: Option<String>,
}

/// Emergency revocation of the signing key `kid` of `env` (e.g. it leaked): it leaves
/// the JWKS, and vouchers it signed are refused by the machine API, on every server
/// after its next read of the log (each reloads its keys on a signing-key event).
/// If it is the active key, a new key is made and becomes active first, in the same
/// transaction, so the environment is never without a key to sign with.
pub async fn revoke(store: &Store, env: Env, kid: &str, actor: Actor) -> Result<Revoked, StoreError> {
    // Generating a key takes a while: never inside the transaction (on SQLite, it
    // holds the database's one write lock).
    let active = store.signing_keys(env).await?.iter().any(|r| r.kid == kid && r.retired_at.is_none());
    let replacement = active.then(RsaPrivateKey::generate_2048);
    let mut tx = store.begin(env, actor).await?;
    let mut new_active_kid = None;
    if let Some((true, false)) = tx.signing_key_state(kid).await? {
        // Rotated concurrently since the first read? Then it is retired already
        // and no replacement is needed; if it became active meanwhile, ask again.
        let Some(key) = &replacement else { return Err(StoreError::Conflict("signing_keys")) };
        let new_kid = key.kid().to_string();
        tx.rotate_signing_key(&new_kid, &key.to_pkcs8_pem(), Utc::now()).await?;
        new_active_kid = Some(new_kid);
    }
    tx.revoke_signing_key(kid, Utc::now()).await?;
    tx.commit().await?;
    Ok(Revoked { kid: kid.to_string(), new_active_kid })
}
