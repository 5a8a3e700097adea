//! The browser sessions of SelfCare and of every back office, the record of
//! identity tokens already used, and SelfCare's identity-token key: what the
//! web fronts keep between two requests, in Varco's database.
//!
//! A session is a plain row ([`SessionRow`]): what its document means is the
//! web layer's business, as is the cookie (the store only ever sees the hash
//! of its value). Expired rows are refused when read; [`Sessions::purge`] only
//! keeps the tables small.

use varco_store::{PrivatePem, Store};

use crate::service::Result;

pub use varco_store::SessionRow;

/// The sessions over a [`Store`]; cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
}

impl Sessions {
    pub fn new(store: Store) -> Self {
        Sessions { store }
    }

    /// Stores a new session under the hash of its cookie value.
    pub async fn open(&self, id_hash: &str, row: &SessionRow) -> Result<()> {
        Ok(self.store.session_insert(id_hash, row).await?)
    }

    /// The session with that hash in `scope`, unless it expired by `now_ms`.
    pub async fn get(&self, id_hash: &str, scope: &str, now_ms: i64) -> Result<Option<SessionRow>> {
        Ok(self.store.session_get(id_hash, scope, now_ms).await?)
    }

    /// Reads and removes a one-shot session (a login under way): of two
    /// concurrent takers only one gets it.
    pub async fn take(&self, id_hash: &str, scope: &str, now_ms: i64) -> Result<Option<SessionRow>> {
        Ok(self.store.session_take(id_hash, scope, now_ms).await?)
    }

    /// Ends a session (logout).
    pub async fn end(&self, id_hash: &str) -> Result<()> {
        Ok(self.store.session_delete(id_hash).await?)
    }

    /// Records that the identity token `jti` has been used, until `expires_ms`.
    /// `false` when it already was: a token opens one session, across replicas.
    pub async fn consume_identity_token(&self, jti: &str, expires_ms: i64) -> Result<bool> {
        Ok(self.store.consume_token(jti, expires_ms).await?)
    }

    /// SelfCare's identity-token key (kid, PKCS#8 PEM): the given one is kept
    /// unless a key exists already, and the key in force is returned, so that
    /// replicas starting together agree on one. It is sealed at rest when the store
    /// has a key-encryption key; the PEM returned is decrypted, and prints as `***`.
    pub async fn selfcare_key_init(&self, kid: &str, private_pem: &str, now_ms: i64) -> Result<(String, PrivatePem)> {
        Ok(self.store.selfcare_key_init(kid, private_pem, now_ms).await?)
    }

    /// Drops expired sessions and used-token records; returns how many rows went.
    pub async fn purge(&self, now_ms: i64) -> Result<u64> {
        Ok(self.store.sessions_purge(now_ms).await?)
    }
}
