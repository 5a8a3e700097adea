//! The OpenID Connect login under way, kept by the browser in a sealed cookie
//! instead of a database row: an anonymous `GET /selfcare/login/oidc` writes
//! nothing (on SQLite it would take the one writer's turn), and any replica can
//! end a login another one began, since they share no memory but all hold
//! SelfCare's key.
//!
//! The cookie is AES-256-GCM over the login's `state`, `nonce`, PKCE verifier,
//! chosen identity provider, where to land, and expiry: the tag is its MAC (a
//! changed byte and it does not open), and the encryption keeps the nonce and
//! the verifier out of whatever sees cookies (a proxy's log). The key is derived
//! with HKDF-SHA256 from SelfCare's identity-token private key, which every
//! replica loads from the database at start; the derivation's own salt and
//! label keep it apart from that key's use for signatures.
//!
//! Single use is the provider's business (a code is exchanged once and its ID
//! Token names this login's nonce); the callback removes the cookie anyway.
use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use serde::{Deserialize, Serialize};
use std::fmt;
use varco_jose::{b64url_decode, b64url_encode, RsaPrivateKey};

/// Bound to this use: the same key sealing something else opens nothing here.
const AAD: &[u8] = b"varco selfcare oidc login state v1";
const HKDF_SALT: &[u8] = b"varco selfcare oidc login state";
const HKDF_INFO: &[u8] = b"AES-256-GCM v1";
/// No login state is this long (it is ~400 characters); longer is not ours.
const MAX_COOKIE_LEN: usize = 2048;
/// Where a login lands, unless the login asked for another SelfCare page.
pub const DEFAULT_BACK: &str = "/selfcare/";

/// A login begun at the provider and not yet back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// `spid` or `cie`, as chosen on the login page.
    pub idp: Option<String>,
    /// The SelfCare page to land on once logged in.
    pub back: String,
    /// Seconds since the epoch after which the login is refused.
    pub exp: i64,
}

/// Why a login-state cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateError {
    /// No cookie: never begun here, ended already, or another browser.
    Missing,
    /// It does not open with the key (changed, forged, from another Varco) or
    /// opens to something that is not a login state.
    Tampered,
    /// Opened, but its time is over.
    Expired,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StateError::Missing => "no login under way (expired, used already, or another browser)",
            StateError::Tampered => "the login-state cookie does not open with SelfCare's key (changed or forged)",
            StateError::Expired => "the login-state cookie has expired",
        })
    }
}

/// The key that seals and opens login states.
pub struct LoginStateKey(RandomizedNonceKey);

// Key material never reaches a log line.
impl fmt::Debug for LoginStateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginStateKey(***)")
    }
}

impl LoginStateKey {
    /// Derives the key from SelfCare's identity-token key: the same on every
    /// replica, different for every Varco installation.
    pub fn derive(selfcare_key: &RsaPrivateKey) -> LoginStateKey {
        let ikm = selfcare_key.to_pkcs8_pem();
        let prk = Salt::new(HKDF_SHA256, HKDF_SALT).extract(ikm.as_bytes());
        let mut bytes = [0u8; 32];
        // 32 bytes are within HKDF-SHA256's limit (255 × 32), the only failure.
        prk.expand(&[HKDF_INFO], HKDF_SHA256).and_then(|okm| okm.fill(&mut bytes)).expect("HKDF-SHA256 gives 32 bytes");
        LoginStateKey(RandomizedNonceKey::new(&AES_256_GCM, &bytes).expect("a 32-byte AES-256 key"))
    }

    /// The cookie value for `pending`.
    pub fn seal(&self, pending: &PendingLogin) -> String {
        let mut data = serde_json::to_vec(pending).expect("a login state serialises");
        let nonce =
            self.0.seal_in_place_append_tag(Aad::from(AAD), &mut data).expect("AES-256-GCM sealing of a few bytes");
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&data);
        b64url_encode(&out)
    }

    /// The login state in `value` (the cookie, if any), if it opens and its
    /// time (seconds since the epoch `now`) is not over.
    pub fn open(&self, value: Option<&str>, now: i64) -> Result<PendingLogin, StateError> {
        let value = value.map(str::trim).filter(|v| !v.is_empty()).ok_or(StateError::Missing)?;
        if value.len() > MAX_COOKIE_LEN {
            return Err(StateError::Tampered);
        }
        let raw = b64url_decode(value).map_err(|_| StateError::Tampered)?;
        if raw.len() < NONCE_LEN {
            return Err(StateError::Tampered);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| StateError::Tampered)?;
        let mut sealed = sealed.to_vec();
        let plain = self.0.open_in_place(nonce, Aad::from(AAD), &mut sealed).map_err(|_| StateError::Tampered)?;
        let pending: PendingLogin = serde_json::from_slice(plain).map_err(|_| StateError::Tampered)?;
        if now > pending.exp {
            return Err(StateError::Expired);
        }
        if !is_selfcare_page(&pending.back) {
            return Err(StateError::Tampered);
        }
        Ok(pending)
    }
}

/// A path of SelfCare on this server: never another host (`//host`), never a
/// scheme, never outside `/selfcare/`.
pub fn is_selfcare_page(path: &str) -> bool {
    path.starts_with("/selfcare/") && !path.contains("//") && !path.contains('\\') && path.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(exp: i64) -> PendingLogin {
        PendingLogin {
            state: "st".repeat(20),
            nonce: "nn".repeat(20),
            verifier: "vv".repeat(22),
            idp: Some("spid".into()),
            back: DEFAULT_BACK.into(),
            exp,
        }
    }

    #[test]
    fn a_sealed_state_opens_until_it_expires() {
        let key = LoginStateKey::derive(&RsaPrivateKey::generate_2048());
        let cookie = key.seal(&pending(1000));
        assert_eq!(key.open(Some(&cookie), 999), Ok(pending(1000)));
        assert_eq!(key.open(Some(&cookie), 1000), Ok(pending(1000)));
        assert_eq!(key.open(Some(&cookie), 1001), Err(StateError::Expired));
        // The secrets are not readable in the cookie.
        assert!(!String::from_utf8_lossy(&b64url_decode(&cookie).unwrap()).contains("ststst"));
        // Two seals of the same state differ (random nonce).
        assert_ne!(key.seal(&pending(1000)), cookie);
        assert!(cookie.len() < 600, "{}", cookie.len());
    }

    #[test]
    fn replicas_with_the_same_selfcare_key_agree_and_others_do_not() {
        let selfcare = RsaPrivateKey::generate_2048();
        let a = LoginStateKey::derive(&selfcare);
        let b = LoginStateKey::derive(&RsaPrivateKey::from_pem(&selfcare.to_pkcs8_pem()).unwrap());
        let cookie = a.seal(&pending(1000));
        assert_eq!(b.open(Some(&cookie), 0), Ok(pending(1000)));
        let other = LoginStateKey::derive(&RsaPrivateKey::generate_2048());
        assert_eq!(other.open(Some(&cookie), 0), Err(StateError::Tampered));
    }

    #[test]
    fn changed_or_garbage_cookies_are_tampered_and_none_is_missing() {
        let key = LoginStateKey::derive(&RsaPrivateKey::generate_2048());
        let cookie = key.seal(&pending(1000));
        let mut raw = b64url_decode(&cookie).unwrap();
        for i in [0, NONCE_LEN, raw.len() / 2, raw.len() - 1] {
            raw[i] ^= 1;
            assert_eq!(key.open(Some(&b64url_encode(&raw)), 0), Err(StateError::Tampered), "byte {i}");
            raw[i] ^= 1;
        }
        let long = "A".repeat(MAX_COOKIE_LEN + 1);
        for bad in ["x", "!!!", "AAAA", &cookie[..cookie.len() - 2], long.as_str()] {
            assert_eq!(key.open(Some(bad), 0), Err(StateError::Tampered), "{bad:?}");
        }
        assert_eq!(key.open(None, 0), Err(StateError::Missing));
        assert_eq!(key.open(Some(" "), 0), Err(StateError::Missing));
        // A well-sealed state that would land elsewhere is refused too.
        let away = PendingLogin { back: "//evil.example/".into(), ..pending(1000) };
        assert_eq!(key.open(Some(&key.seal(&away)), 0), Err(StateError::Tampered));
    }

    #[test]
    fn only_selfcare_pages_are_landing_places() {
        for ok in ["/selfcare/", "/selfcare/enti", "/selfcare/enti/x/utenti?y=1"] {
            assert!(is_selfcare_page(ok), "{ok}");
        }
        for bad in
            ["/", "https://evil.example/selfcare/", "//evil.example", "/selfcare//evil", "/selfcare/\\x", "/interop/"]
        {
            assert!(!is_selfcare_page(bad), "{bad}");
        }
    }

    #[test]
    fn the_key_does_not_print() {
        let key = LoginStateKey::derive(&RsaPrivateKey::generate_2048());
        assert_eq!(format!("{key:?}"), "LoginStateKey(***)");
    }
}
