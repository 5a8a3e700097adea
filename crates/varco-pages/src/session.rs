//! Browser sessions of SelfCare and of each back office.
//!
//! The cookie carries 32 random bytes; the database keeps only their SHA-256
//! (see `varco_selfcare::sessions`), with the session's JSON document, its CSRF
//! token and its expiry. Cookies are `HttpOnly`, `SameSite=Lax` (so a form
//! posted from another site carries no session), `Secure` when Varco is served
//! over https, and scoped by `Path` to the part of the site they belong to.
//! Every state-changing form carries the session's CSRF token, compared in
//! constant time.
use crate::pages::PageError;
use crate::PagesState;
use axum::http::HeaderMap;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Duration;
use varco_selfcare::sessions::SessionRow;

/// SelfCare's session cookie (path `/selfcare`).
pub const SELFCARE_COOKIE: &str = "varco_sc";
/// A SelfCare session lasts as long as SelfCare's own session token (~9 h).
pub const SELFCARE_TTL: Duration = Duration::from_secs(9 * 3600);
/// The cookie of the anonymous login form (double-submit CSRF token).
pub const LOGIN_CSRF_COOKIE: &str = "varco_login";

/// One cookie to set, rendered by [`SetCookie::header`].
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    pub path: String,
    /// `None`: a session cookie; `Some(0)`: delete it.
    pub max_age: Option<u64>,
    pub secure: bool,
}

impl SetCookie {
    pub fn header(&self) -> String {
        let mut s = format!("{}={}; Path={}; HttpOnly; SameSite=Lax", self.name, self.value, self.path);
        if let Some(age) = self.max_age {
            s.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            s.push_str("; Secure");
        }
        s
    }

    pub fn removal(name: &str, path: &str, secure: bool) -> SetCookie {
        SetCookie { name: name.into(), value: String::new(), path: path.into(), max_age: Some(0), secure }
    }
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// 32 bytes from the system's CSPRNG, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares without leaking, through timing, how many leading bytes matched.
pub fn same_secret(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok() && !a.is_empty()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A loaded session: its data, its CSRF token, and how to end it.
#[derive(Debug, Clone)]
pub struct Session<T> {
    pub data: T,
    pub csrf: String,
    id_hash: String,
}

impl<T> Session<T> {
    /// Every POST of a page carries the token of the session that rendered it.
    pub fn check_csrf(&self, given: &str) -> Result<(), PageError> {
        if same_secret(&self.csrf, given) {
            Ok(())
        } else {
            Err(PageError::csrf())
        }
    }

    pub async fn end(&self, state: &PagesState) -> Result<(), PageError> {
        state.selfcare.sessions().end(&self.id_hash).await.map_err(PageError::internal)
    }

    /// Names this session on the server side only (the hash of its cookie value,
    /// never sent to a browser): a back office keeps the SelfCare session it came
    /// from, to end with it.
    pub(crate) fn reference(&self) -> &str {
        &self.id_hash
    }
}

/// Whether the session named by `reference` ([`Session::reference`]) is still open.
pub async fn alive(state: &PagesState, reference: &str, scope: &str) -> Result<bool, PageError> {
    Ok(state.selfcare.sessions().get(reference, scope, now_ms()).await.map_err(PageError::internal)?.is_some())
}

/// Remembers, until `expires_ms`, which session handed over the identity token
/// `jti` (server side: the token itself goes through the browser).
pub async fn link_handoff(state: &PagesState, jti: &str, reference: &str, expires_ms: i64) -> Result<(), PageError> {
    let row = SessionRow {
        scope: "handoff".into(),
        doc: serde_json::to_string(reference).map_err(PageError::internal)?,
        csrf: String::new(),
        created_ms: now_ms(),
        expires_ms,
    };
    state.selfcare.sessions().open(&hash(&format!("handoff:{jti}")), &row).await.map_err(PageError::internal)
}

/// The session that handed over `jti`, once.
pub async fn take_handoff(state: &PagesState, jti: &str) -> Result<Option<String>, PageError> {
    let row = state
        .selfcare
        .sessions()
        .take(&hash(&format!("handoff:{jti}")), "handoff", now_ms())
        .await
        .map_err(PageError::internal)?;
    Ok(row.and_then(|r| serde_json::from_str(&r.doc).ok()))
}

/// Opens a session in `scope` and returns the cookie to set and the CSRF token.
pub async fn open<T: Serialize>(
    state: &PagesState,
    scope: &str,
    cookie_name: &str,
    path: &str,
    data: &T,
    ttl: Duration,
) -> Result<(SetCookie, String), PageError> {
    let token = random_token();
    let csrf = random_token();
    let now = now_ms();
    let row = SessionRow {
        scope: scope.into(),
        doc: serde_json::to_string(data).map_err(PageError::internal)?,
        csrf: csrf.clone(),
        created_ms: now,
        expires_ms: now + ttl.as_millis() as i64,
    };
    state.selfcare.sessions().open(&hash(&token), &row).await.map_err(PageError::internal)?;
    let cookie = SetCookie {
        name: cookie_name.into(),
        value: token,
        path: path.into(),
        // The browser may forget the cookie when it closes; the server forgets the
        // session at its expiry whatever the browser does.
        max_age: Some(ttl.as_secs()),
        secure: state.web.secure_cookies,
    };
    Ok((cookie, csrf))
}

/// The live session of `scope` named by the request's cookie, if any.
pub async fn load<T: DeserializeOwned>(
    state: &PagesState,
    headers: &HeaderMap,
    scope: &str,
    cookie_name: &str,
) -> Result<Option<Session<T>>, PageError> {
    let Some(token) = cookie(headers, cookie_name).filter(|t| !t.is_empty()) else { return Ok(None) };
    let id_hash = hash(token);
    let Some(row) = state.selfcare.sessions().get(&id_hash, scope, now_ms()).await.map_err(PageError::internal)? else {
        return Ok(None);
    };
    // A document that no longer parses (an older shape) is a session that ended.
    let Ok(data) = serde_json::from_str(&row.doc) else { return Ok(None) };
    Ok(Some(Session { data, csrf: row.csrf, id_hash }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_found_among_several_headers_and_pairs() {
        let mut h = HeaderMap::new();
        h.append("cookie", HeaderValue::from_static("a=1; varco_sc=abc"));
        h.append("cookie", HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, "varco_sc"), Some("abc"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "varco"), None);
    }

    #[test]
    fn cookie_attributes() {
        let c = SetCookie {
            name: "n".into(),
            value: "v".into(),
            path: "/selfcare".into(),
            max_age: Some(60),
            secure: true,
        };
        assert_eq!(c.header(), "n=v; Path=/selfcare; HttpOnly; SameSite=Lax; Max-Age=60; Secure");
        let c = SetCookie::removal("n", "/", false);
        assert_eq!(c.header(), "n=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    }

    #[test]
    fn secrets_compare_whole_and_never_empty() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", ""));
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 43);
    }
}
