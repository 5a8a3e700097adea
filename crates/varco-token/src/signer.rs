//! The platform's voucher signing keys of one environment, parsed once.
use chrono::Utc;
use std::sync::Arc;
use varco_domain::event::Actor;
use varco_domain::Env;
use varco_jose::{RsaPrivateKey, RsaPublicKey};
use varco_store::{Store, StoreError};

/// A retired key stays published this long after retirement: the longest voucher
/// lifespan a descriptor may have (86400 s) plus a margin.
pub const RETIRED_KEY_GRACE_SECS: i64 = 86_400 + 300;

pub struct SigningKeys {
    pub active: RsaPrivateKey,
    pub active_kid: String,
    /// Public keys to publish in the JWKS: the active one and the recently retired.
    pub published: Vec<RsaPublicKey>,
}

impl SigningKeys {
    /// Loads the environment's keys, creating the first one if there is none.
    pub async fn load_or_create(store: &Store, env: Env) -> Result<Arc<SigningKeys>, StoreError> {
        let mut rows = store.signing_keys(env).await?;
        if rows.iter().all(|r| r.retired_at.is_some()) {
            rotate(store, env, Actor::System).await?;
            rows = store.signing_keys(env).await?;
        }
        let now = Utc::now();
        let mut active = None;
        let mut published = Vec::new();
        for r in &rows {
            let key = RsaPrivateKey::from_pem(&r.private_pem)
                .map_err(|e| StoreError::Corrupt { table: "signing_keys", error: format!("{}: {e}", r.kid) })?;
            match r.retired_at {
                None if active.is_none() => {
                    published.push(key.public_key());
                    active = Some((key, r.kid.clone()));
                }
                Some(t) if (now - t).num_seconds() < RETIRED_KEY_GRACE_SECS => published.push(key.public_key()),
                _ => {}
            }
        }
        let (active, active_kid) = active.expect("an active key exists after rotation");
        Ok(Arc::new(SigningKeys { active, active_kid, published }))
    }

    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": self.published.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
    }
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
