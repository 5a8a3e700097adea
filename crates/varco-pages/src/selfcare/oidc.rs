//! Login through an OpenID Connect provider (how SPID and CIE reach SelfCare).
//!
//! Varco is the relying party of the authorization code flow (OpenID Connect
//! Core §3.1) with PKCE S256 (RFC 7636), `state` and `nonce`:
//!
//! 1. [`begin`] draws `state`, `nonce` and the PKCE verifier, seals them in a
//!    cookie of the browser (see `login_state`: ten minutes, nothing written to
//!    the database) and sends the browser to the provider's authorization
//!    endpoint, asking for the configured SPID level (`acr_values`).
//! 2. [`callback`] opens that cookie and compares `state` in constant time
//!    before anything else (no database read or write for a callback that fails
//!    these), removes the cookie, checks the RFC 9207 `iss` parameter, exchanges
//!    the code at the token endpoint (HTTP Basic with the client secret, or a
//!    public client proved by PKCE alone), and checks the ID Token: RS256 only,
//!    signed by a key of the provider's JWKS (fetched again once on an unknown
//!    `kid`), `iss`, `aud` (and `azp`), `exp`/`iat`/`nbf` with [`LEEWAY_SECS`],
//!    `nonce`, and `acr` at least the level asked for.
//! 3. The person's `fiscal_number` (SPID's `TINIT-<codice fiscale>`), `name` and
//!    `family_name` come from the ID Token or, when missing there, from the
//!    UserInfo endpoint (same `sub`); then [`start_session`] opens SelfCare.
//!
//! Every request to the provider has a timeout and a size limit, follows no
//! redirect, and goes over https (plain http only to a loopback address, for
//! tests and a provider on the same machine). Failures become Italian pages;
//! the log says why, without codes, tokens or secrets.
use super::login::{start_session, LoginPerson};
use super::login_state::{LoginStateKey, PendingLogin, StateError, DEFAULT_BACK};
use crate::pages::{see_other, with_cookies, PageError};
use crate::session::{self, SetCookie};
use crate::PagesState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};
use varco_jose::{b64url_decode, b64url_encode, Compact, RsaPublicKey};

/// The cookie of a login under way over plain http; its path covers the
/// callback only.
pub const OIDC_COOKIE: &str = "varco_oidc";
/// The same over https. `__Host-` makes the browser refuse it unless it is
/// `Secure`, for `Path=/` and set by this host itself: no sibling subdomain
/// can plant its own (valid, from its own login) state in a visitor's browser
/// to log them in as someone else. The prefix requires `Path=/`; the cookie
/// lives ten minutes at most and goes at the callback.
pub const OIDC_COOKIE_HTTPS: &str = "__Host-varco_oidc";
const OIDC_PATH: &str = "/selfcare/login/oidc";
/// How long the browser may stay at the provider.
const PENDING_TTL: Duration = Duration::from_secs(10 * 60);
/// SPID's levels, lowest first (AgID's URIs, also used by CIE's providers).
const SPID_LEVELS: [&str; 3] =
    ["https://www.spid.gov.it/SpidL1", "https://www.spid.gov.it/SpidL2", "https://www.spid.gov.it/SpidL3"];
/// The level asked for unless configured: SPID's level 2, PagoPA's Area
/// Riservata's.
pub const DEFAULT_ACR: &str = "https://www.spid.gov.it/SpidL2";
/// Clock difference tolerated on `exp`, `iat` and `nbf`.
pub const LEEWAY_SECS: i64 = 60;
/// Per request to the provider, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// No discovery document, key set, token or UserInfo response is this big.
const MAX_BODY: usize = 512 * 1024;
/// An unknown `kid` fetches the keys again at most this often.
const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(5);
const SCOPES: &str = "openid profile";

/// One verification key of the provider.
#[derive(Debug, Clone)]
struct Jwk {
    kid: Option<String>,
    key: RsaPublicKey,
}

#[derive(Debug, Default)]
struct KeyCache {
    keys: Arc<Vec<Jwk>>,
    last_refetch: Option<Instant>,
}

/// The OpenID Connect client, discovered at start.
pub struct OidcClient {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    redirect_uri: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
    /// The provider adds `iss` to its authorization responses (RFC 9207).
    iss_parameter: bool,
    /// The authentication level asked for (`acr_values`) and required of the
    /// ID Token's `acr` (or a higher SPID level).
    acr: String,
    /// Seals the logins under way; derived from SelfCare's key on first use.
    state_key: OnceLock<LoginStateKey>,
    http: reqwest::Client,
    keys: RwLock<KeyCache>,
    /// One refetch of the keys at a time.
    refetch: tokio::sync::Mutex<()>,
}

// The client secret must never reach a log line.
impl fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("redirect_uri", &self.redirect_uri)
            .field("acr", &self.acr)
            .finish_non_exhaustive()
    }
}

// ------------------------------------------------------------------ discovery

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    response_types_supported: Option<Vec<String>>,
    #[serde(default)]
    id_token_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    acr_values_supported: Option<Vec<String>>,
}

/// https, or http to a loopback host (a provider on the same machine, the tests).
fn check_url(what: &str, raw: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("{what} {raw:?} is not a URL: {e}"))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(format!("{what} {raw:?} must use https (plain http only on a loopback address)")),
    }
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{what} {raw:?} must have no fragment and no credentials"));
    }
    Ok(url)
}

impl OidcClient {
    /// Reads the provider's discovery document and keys. `acr` is the
    /// authentication level to ask for and require ([`DEFAULT_ACR`] when `None`).
    pub async fn discover(
        issuer: String,
        client_id: String,
        client_secret: Option<String>,
        acr: Option<String>,
        public_url: &str,
    ) -> Result<OidcClient, String> {
        if client_id.trim().is_empty() {
            return Err("the client id is empty".into());
        }
        let acr = acr.map(|a| a.trim().to_string()).unwrap_or_else(|| DEFAULT_ACR.into());
        if acr.is_empty() || acr.len() > 200 || acr.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "the authentication level {acr:?} must be one value, such as {DEFAULT_ACR} \
                 (a higher SPID level in the ID Token is accepted too)"
            ));
        }
        check_url("the issuer", &issuer)?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Varco/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let doc: Discovery = serde_json::from_slice(&get_json(&http, &url, None).await?)
            .map_err(|e| format!("the discovery document {url} is not valid: {e}"))?;
        // OpenID Connect Discovery §4.3: exactly the issuer we were given.
        if doc.issuer != issuer {
            return Err(format!(
                "the discovery document names the issuer {:?}, not {issuer:?}: configure exactly {:?}",
                doc.issuer, doc.issuer
            ));
        }
        check_url("the authorization endpoint", &doc.authorization_endpoint)?;
        check_url("the token endpoint", &doc.token_endpoint)?;
        check_url("the JWKS URI", &doc.jwks_uri)?;
        if let Some(u) = &doc.userinfo_endpoint {
            check_url("the UserInfo endpoint", u)?;
        }
        let lacks = |list: &Option<Vec<String>>, v: &str| list.as_ref().is_some_and(|l| !l.iter().any(|x| x == v));
        if lacks(&doc.response_types_supported, "code") {
            return Err("the provider does not offer the authorization code flow (response type \"code\")".into());
        }
        if lacks(&doc.id_token_signing_alg_values_supported, "RS256") {
            return Err("the provider does not sign ID Tokens with RS256".into());
        }
        if lacks(&doc.code_challenge_methods_supported, "S256") {
            return Err("the provider does not support PKCE with S256".into());
        }
        if lacks(&doc.acr_values_supported, &acr) {
            tracing::warn!(issuer = %issuer, acr = %acr, "the OpenID Connect provider does not list the authentication level Varco asks for (acr_values_supported); logins whose ID Token has a lower or no acr will be refused");
        }
        if doc.code_challenge_methods_supported.is_none() {
            tracing::warn!(issuer = %issuer, "the OpenID Connect provider does not advertise PKCE; Varco sends S256 anyway");
        }
        let auth_method = if client_secret.is_some() { "client_secret_basic" } else { "none" };
        let default_methods = Some(vec!["client_secret_basic".to_string()]);
        let methods = doc.token_endpoint_auth_methods_supported.clone().or(default_methods);
        if lacks(&methods, auth_method) {
            return Err(format!(
                "the provider's token endpoint does not accept the authentication method {auth_method:?} \
                 ({})",
                if client_secret.is_some() {
                    "Varco sends the client secret with HTTP Basic"
                } else {
                    "without a client secret Varco is a public client"
                }
            ));
        }
        let client = OidcClient {
            issuer,
            client_id,
            client_secret,
            redirect_uri: format!("{}/selfcare/login/oidc/callback", public_url.trim_end_matches('/')),
            authorization_endpoint: doc.authorization_endpoint,
            token_endpoint: doc.token_endpoint,
            userinfo_endpoint: doc.userinfo_endpoint,
            jwks_uri: doc.jwks_uri,
            iss_parameter: doc.authorization_response_iss_parameter_supported,
            acr,
            state_key: OnceLock::new(),
            http,
            keys: RwLock::new(KeyCache::default()),
            refetch: tokio::sync::Mutex::new(()),
        };
        let keys = client.fetch_keys().await?;
        if keys.is_empty() {
            return Err(format!("the provider's key set {} has no RSA key for RS256", client.jwks_uri));
        }
        client.keys.write().expect("key cache lock").keys = Arc::new(keys);
        tracing::info!(issuer = %client.issuer, redirect_uri = %client.redirect_uri, "OpenID Connect provider ready");
        Ok(client)
    }

    /// The redirect URI to register at the provider.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The authentication level asked for and required.
    pub fn acr(&self) -> &str {
        &self.acr
    }

    fn state_key(&self, selfcare_key: &varco_jose::RsaPrivateKey) -> &LoginStateKey {
        self.state_key.get_or_init(|| LoginStateKey::derive(selfcare_key))
    }

    async fn fetch_keys(&self) -> Result<Vec<Jwk>, String> {
        let body = get_json(&self.http, &self.jwks_uri, None).await?;
        let set: Value =
            serde_json::from_slice(&body).map_err(|e| format!("the key set {} is not JSON: {e}", self.jwks_uri))?;
        Ok(parse_jwks(&set))
    }

    fn current_keys(&self) -> Arc<Vec<Jwk>> {
        self.keys.read().expect("key cache lock").keys.clone()
    }

    /// Fetches the keys again (key rotation at the provider), at most once per
    /// [`MIN_REFETCH_INTERVAL`]; returns the keys to use.
    async fn refetch_keys(&self) -> Arc<Vec<Jwk>> {
        let _one = self.refetch.lock().await;
        {
            let cache = self.keys.read().expect("key cache lock");
            if cache.last_refetch.is_some_and(|t| t.elapsed() < MIN_REFETCH_INTERVAL) {
                return cache.keys.clone();
            }
        }
        let fetched = self.fetch_keys().await;
        let mut cache = self.keys.write().expect("key cache lock");
        cache.last_refetch = Some(Instant::now());
        match fetched {
            Ok(keys) if !keys.is_empty() => {
                tracing::info!(issuer = %self.issuer, keys = keys.len(), "OpenID Connect provider keys fetched again");
                cache.keys = Arc::new(keys);
            }
            Ok(_) => {
                tracing::warn!(issuer = %self.issuer, "the provider's key set has no usable key; keeping the old one")
            }
            Err(e) => tracing::warn!(issuer = %self.issuer, "cannot fetch the provider's keys again: {e}"),
        }
        cache.keys.clone()
    }

    /// Checks an ID Token (see [`verify_id_token`]), fetching the keys once more
    /// when its `kid` is unknown.
    async fn check_id_token(&self, token: &str, nonce: &str) -> Result<IdClaims, IdTokenError> {
        let compact = parse_id_token(token)?;
        let expected =
            Expected { issuer: &self.issuer, client_id: &self.client_id, nonce, acr: &self.acr, now: now_secs() };
        let keys = self.current_keys();
        match verify_id_token(&compact, &keys, &expected) {
            Err(IdTokenError::UnknownKid(_)) => {
                let keys = self.refetch_keys().await;
                verify_id_token(&compact, &keys, &expected)
            }
            other => other,
        }
    }

    fn authorization_url(&self, pending: &PendingLogin) -> Result<String, String> {
        let mut url = reqwest::Url::parse(&self.authorization_endpoint).map_err(|e| e.to_string())?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", SCOPES)
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &pkce_challenge(&pending.verifier))
            .append_pair("code_challenge_method", "S256")
            .append_pair("acr_values", &self.acr);
        Ok(url.into())
    }

    /// The token request of the authorization code grant.
    async fn exchange(&self, code: &str, verifier: &str) -> Result<TokenResponse, String> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", verifier),
        ];
        let mut req = self.http.post(&self.token_endpoint).header(header::ACCEPT, "application/json");
        match &self.client_secret {
            // RFC 6749 §2.3.1: both form-urlencoded before the Basic encoding.
            Some(secret) => {
                let pair = format!("{}:{}", form_encode(&self.client_id), form_encode(secret));
                let basic = base64::engine::general_purpose::STANDARD.encode(pair);
                req = req.header(header::AUTHORIZATION, format!("Basic {basic}"));
            }
            None => form.push(("client_id", self.client_id.as_str())),
        }
        let resp = req.form(&form).send().await.map_err(|e| format!("token endpoint unreachable: {e}"))?;
        let status = resp.status();
        let body = read_limited(resp).await.map_err(|e| format!("token endpoint: {e}"))?;
        if !status.is_success() {
            // Only the error code: descriptions may echo what was sent.
            let code = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(error_code))
                .unwrap_or_else(|| "-".into());
            return Err(format!("token endpoint answered {status} (error {code})"));
        }
        serde_json::from_slice::<TokenResponse>(&body)
            .map_err(|e| format!("token endpoint answered with an unexpected body: {}", json_problem(&e)))
    }

    /// The UserInfo claims, checked to be about `sub`.
    async fn userinfo(&self, access_token: &str, sub: &str) -> Result<Map<String, Value>, String> {
        let Some(endpoint) = &self.userinfo_endpoint else {
            return Err("the provider has no UserInfo endpoint".into());
        };
        let body = get_json(&self.http, endpoint, Some(access_token)).await?;
        let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(&body) else {
            return Err("the UserInfo response is not a JSON object".into());
        };
        // OpenID Connect Core §5.3.2: the same person as the ID Token, or nothing.
        if claims.get("sub").and_then(Value::as_str) != Some(sub) {
            return Err("the UserInfo response is about another subject".into());
        }
        Ok(claims)
    }
}

/// What was wrong with a JSON body, without quoting it (it may hold tokens).
fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "a required field is missing or has the wrong type",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
}

/// GET a JSON document (optionally with a bearer token), within the limits.
async fn get_json(http: &reqwest::Client, url: &str, bearer: Option<&str>) -> Result<Vec<u8>, String> {
    let mut req = http.get(url).header(header::ACCEPT, "application/json");
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.map_err(|e| format!("{url} unreachable: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|t| t == "application/json" || (t.starts_with("application/") && t.ends_with("+json")));
    if !json {
        return Err(format!("{url} did not answer with JSON"));
    }
    read_limited(resp).await.map_err(|e| format!("{url}: {e}"))
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err("the response is too large".into());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("reading the response failed: {e}"))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err("the response is too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The RSA signing keys of a JWK Set; keys for other uses or algorithms, and
/// keys Varco would not accept (under 2048 bits, say), are left out.
fn parse_jwks(set: &Value) -> Vec<Jwk> {
    let Some(keys) = set.get("keys").and_then(Value::as_array) else { return vec![] };
    keys.iter()
        .filter_map(|k| {
            let s = |name: &str| k.get(name).and_then(Value::as_str);
            if s("kty") != Some("RSA") || s("use").is_some_and(|u| u != "sig") || s("alg").is_some_and(|a| a != "RS256")
            {
                return None;
            }
            if let Some(ops) = k.get("key_ops").and_then(Value::as_array) {
                if !ops.iter().any(|o| o.as_str() == Some("verify")) {
                    return None;
                }
            }
            let n = b64url_decode(s("n")?.trim_end_matches('=')).ok()?;
            let e = b64url_decode(s("e")?.trim_end_matches('=')).ok()?;
            match RsaPublicKey::from_components(&n, &e) {
                Ok(key) => Some(Jwk { kid: s("kid").map(str::to_string), key }),
                Err(err) => {
                    tracing::warn!(kid = ?s("kid"), "a key of the provider's key set is ignored: {err}");
                    None
                }
            }
        })
        .collect()
}

// ------------------------------------------------------------------ ID Token

/// What an ID Token must say.
#[derive(Debug, Clone)]
struct Expected<'a> {
    issuer: &'a str,
    client_id: &'a str,
    nonce: &'a str,
    /// The least `acr` accepted.
    acr: &'a str,
    /// Seconds since the epoch.
    now: i64,
}

/// What Varco reads from a valid ID Token.
#[derive(Debug, Clone, Default, PartialEq)]
struct IdClaims {
    sub: String,
    fiscal_number: Option<String>,
    name: Option<String>,
    family_name: Option<String>,
}

impl IdClaims {
    fn complete(&self) -> bool {
        self.fiscal_number.is_some() && self.name.is_some() && self.family_name.is_some()
    }

    /// Fills what is missing from `claims` (the UserInfo response).
    fn fill_from(&mut self, claims: &Map<String, Value>) {
        let found = read_person(claims);
        self.fiscal_number = self.fiscal_number.take().or(found.0);
        self.name = self.name.take().or(found.1);
        self.family_name = self.family_name.take().or(found.2);
    }
}

/// `fiscal_number` (or `fiscalNumber`), `name`, `family_name` (or `familyName`):
/// non-empty strings only.
fn read_person(claims: &Map<String, Value>) -> (Option<String>, Option<String>, Option<String>) {
    let s = |names: &[&str]| {
        names.iter().find_map(|n| {
            claims.get(*n).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
        })
    };
    (s(&["fiscal_number", "fiscalNumber"]), s(&["name"]), s(&["family_name", "familyName"]))
}

/// Why an ID Token was refused (for the log: holds no token material).
#[derive(Debug, Clone, PartialEq)]
enum IdTokenError {
    Malformed(String),
    Algorithm(String),
    UnknownKid(String),
    NoKey,
    BadSignature,
    Issuer(String),
    Audience,
    AuthorizedParty,
    Expired,
    IssuedInFuture,
    NotYetValid,
    MissingClaim(&'static str),
    Nonce,
    /// An `acr` below the level required (the value, cut short).
    Acr(String),
}

impl fmt::Display for IdTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdTokenError::Malformed(why) => write!(f, "the ID Token is malformed: {why}"),
            IdTokenError::Algorithm(alg) => write!(f, "the ID Token is signed with {alg:?}, only RS256 is accepted"),
            IdTokenError::UnknownKid(kid) => write!(f, "the ID Token's key {kid:?} is not in the provider's key set"),
            IdTokenError::NoKey => write!(f, "the provider's key set has no key for the ID Token"),
            IdTokenError::BadSignature => write!(f, "the ID Token's signature does not verify"),
            IdTokenError::Issuer(iss) => write!(f, "the ID Token's issuer {iss:?} is not the provider"),
            IdTokenError::Audience => write!(f, "the ID Token is not meant for this client (aud)"),
            IdTokenError::AuthorizedParty => write!(f, "the ID Token's azp is not this client"),
            IdTokenError::Expired => write!(f, "the ID Token has expired"),
            IdTokenError::IssuedInFuture => write!(f, "the ID Token is issued in the future (iat)"),
            IdTokenError::NotYetValid => write!(f, "the ID Token is not valid yet (nbf)"),
            IdTokenError::MissingClaim(c) => write!(f, "the ID Token lacks the claim {c}"),
            IdTokenError::Nonce => write!(f, "the ID Token's nonce is not the one of this login"),
            IdTokenError::Acr(acr) => {
                write!(f, "the ID Token's authentication level {acr:?} is below the one required")
            }
        }
    }
}

/// Parses the token and refuses any algorithm but RS256 (so `none` and HS256,
/// whose "key" would be public, never get near a check).
fn parse_id_token(token: &str) -> Result<Compact, IdTokenError> {
    let compact = Compact::parse(token).map_err(|e| IdTokenError::Malformed(e.to_string()))?;
    match compact.alg() {
        Some("RS256") => {}
        Some(other) => return Err(IdTokenError::Algorithm(other.chars().take(20).collect())),
        None => return Err(IdTokenError::Algorithm("(none given)".into())),
    }
    if compact.header.contains_key("crit") {
        return Err(IdTokenError::Malformed("critical header parameters are not understood".into()));
    }
    Ok(compact)
}

/// Signature with a key of `keys` (the one named by `kid`; without `kid`, any),
/// then the claims of OpenID Connect Core §3.1.3.7.
fn verify_id_token(compact: &Compact, keys: &[Jwk], expected: &Expected) -> Result<IdClaims, IdTokenError> {
    let kid = compact.header.get("kid").and_then(Value::as_str);
    let candidates: Vec<&Jwk> = match kid {
        Some(kid) => keys.iter().filter(|k| k.kid.as_deref() == Some(kid)).collect(),
        None => keys.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(match kid {
            Some(kid) => IdTokenError::UnknownKid(kid.chars().take(80).collect()),
            None => IdTokenError::NoKey,
        });
    }
    if !candidates.iter().any(|k| compact.verify_rs256(&k.key)) {
        return Err(IdTokenError::BadSignature);
    }
    let claims = &compact.payload;
    let str_claim = |name: &'static str| claims.get(name).and_then(Value::as_str);
    let int_claim = |name: &'static str| claims.get(name).and_then(|v| v.as_i64().or(v.as_f64().map(|f| f as i64)));

    let iss = str_claim("iss").ok_or(IdTokenError::MissingClaim("iss"))?;
    if iss != expected.issuer {
        return Err(IdTokenError::Issuer(iss.chars().take(200).collect()));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return Err(IdTokenError::MissingClaim("aud")),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(IdTokenError::Audience);
    }
    match str_claim("azp") {
        Some(azp) if azp != expected.client_id => return Err(IdTokenError::AuthorizedParty),
        // Several audiences: the token must say it was issued to this client.
        None if audiences.len() > 1 => return Err(IdTokenError::AuthorizedParty),
        _ => {}
    }
    let exp = int_claim("exp").ok_or(IdTokenError::MissingClaim("exp"))?;
    if expected.now > exp + LEEWAY_SECS {
        return Err(IdTokenError::Expired);
    }
    let iat = int_claim("iat").ok_or(IdTokenError::MissingClaim("iat"))?;
    if iat > expected.now + LEEWAY_SECS {
        return Err(IdTokenError::IssuedInFuture);
    }
    if let Some(nbf) = int_claim("nbf") {
        if nbf > expected.now + LEEWAY_SECS {
            return Err(IdTokenError::NotYetValid);
        }
    }
    let nonce = str_claim("nonce").ok_or(IdTokenError::MissingClaim("nonce"))?;
    if !session::same_secret(nonce, expected.nonce) {
        return Err(IdTokenError::Nonce);
    }
    let sub = str_claim("sub").filter(|s| !s.is_empty()).ok_or(IdTokenError::MissingClaim("sub"))?;
    let acr = str_claim("acr").ok_or(IdTokenError::MissingClaim("acr"))?;
    if !acr_satisfies(acr, expected.acr) {
        return Err(IdTokenError::Acr(acr.chars().take(100).collect()));
    }
    let (fiscal_number, name, family_name) = read_person(claims);
    Ok(IdClaims { sub: sub.to_string(), fiscal_number, name, family_name })
}

/// Whether an ID Token's `acr` meets the level `required`: on SPID's scale,
/// that level or a higher one (asking for L2 and getting L3 is fine, L1 is
/// not); a level outside that scale is met only by itself.
fn acr_satisfies(got: &str, required: &str) -> bool {
    let rank = |v: &str| SPID_LEVELS.iter().position(|l| *l == v);
    match (rank(got), rank(required)) {
        (Some(g), Some(r)) => g >= r,
        _ => got == required,
    }
}

/// "SPID di livello 2", or the level as configured when it is not SPID's.
fn acr_label(acr: &str) -> String {
    match SPID_LEVELS.iter().position(|l| *l == acr) {
        Some(i) => format!("SPID di livello {}", i + 1),
        None => format!("«{}»", acr.chars().filter(|c| !c.is_control()).take(100).collect::<String>()),
    }
}

// ------------------------------------------------------------------ helpers

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))).
fn pkce_challenge(verifier: &str) -> String {
    b64url_encode(&Sha256::digest(verifier.as_bytes()))
}

/// application/x-www-form-urlencoded of one value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A provider's error code, safe to show and log (RFC 6749 allows only
/// printable ASCII; anything else is cut out).
fn error_code(raw: &str) -> String {
    raw.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').take(64).collect()
}

// ------------------------------------------------------------------ pages

#[derive(Deserialize)]
pub struct BeginQuery {
    #[serde(default)]
    idp: Option<String>,
}

fn not_configured() -> PageError {
    PageError::not_found("L'accesso con SPID e CIE").back("/selfcare/login", "Torna all'accesso")
}

fn failed(status: StatusCode, message: impl Into<String>) -> PageError {
    PageError::new(status, "Accesso non riuscito", message).back("/selfcare/login", "Torna all'accesso")
}

const PROVIDER_TROUBLE: &str =
    "Il provider di identità non ha risposto come previsto e l'accesso non è stato completato. \
     Riprova tra qualche minuto; se il problema continua, contatta l'amministratore di sistema.";

fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The login-state cookie's name and path: `__Host-` over https (see
/// [`OIDC_COOKIE_HTTPS`]), otherwise scoped to the callback.
fn state_cookie(state: &PagesState) -> (&'static str, &'static str) {
    if state.web.secure_cookies {
        (OIDC_COOKIE_HTTPS, "/")
    } else {
        (OIDC_COOKIE, OIDC_PATH)
    }
}

/// GET `/selfcare/login/oidc[?idp=spid|cie]`: to the provider's login. Writes
/// nothing anywhere but in the browser's cookie.
pub async fn begin(
    State(state): State<PagesState>,
    query: Result<Query<BeginQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let client = state.web.oidc.as_ref().ok_or_else(not_configured)?;
    let idp = match query.ok().and_then(|Query(q)| q.idp) {
        None => None,
        Some(i) if i == "spid" || i == "cie" => Some(i),
        Some(_) => {
            return Err(failed(StatusCode::BAD_REQUEST, "Il metodo di accesso scelto non esiste: scegli SPID o CIE."))
        }
    };
    let pending = PendingLogin {
        state: session::random_token(),
        nonce: session::random_token(),
        verifier: session::random_token(),
        idp,
        back: DEFAULT_BACK.into(),
        exp: now_secs() + PENDING_TTL.as_secs() as i64,
    };
    let url = client.authorization_url(&pending).map_err(PageError::internal)?;
    let (name, path) = state_cookie(&state);
    let cookie = SetCookie {
        name: name.into(),
        value: client.state_key(&state.web.selfcare_key).seal(&pending),
        path: path.into(),
        max_age: Some(PENDING_TTL.as_secs()),
        secure: state.web.secure_cookies,
    };
    tracing::info!(idp = pending.idp.as_deref().unwrap_or("-"), "OpenID Connect login started");
    Ok(no_store(with_cookies(see_other(&url), &[cookie])))
}

#[derive(Deserialize, Default)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    iss: Option<String>,
}

/// GET `/selfcare/login/oidc/callback`: the provider sends the browser back.
pub async fn callback(
    State(state): State<PagesState>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    // The cookie of the login under way goes in any case: a login ends once.
    let (name, path) = state_cookie(&state);
    let gone = SetCookie::removal(name, path, state.web.secure_cookies);
    let result = finish(&state, &headers, query).await;
    no_store(with_cookies(result.unwrap_or_else(IntoResponse::into_response), &[gone]))
}

async fn finish(
    state: &PagesState,
    headers: &HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let client = state.web.oidc.as_ref().ok_or_else(not_configured)?;
    // Opened from the browser's cookie: no database is read or written until
    // the cookie, its expiry and `state` have passed.
    let (name, _) = state_cookie(state);
    let pending = client.state_key(&state.web.selfcare_key).open(session::cookie(headers, name), now_secs());
    let Ok(Query(q)) = query else {
        tracing::warn!("OpenID Connect callback refused: unreadable query");
        return Err(failed(StatusCode::BAD_REQUEST, "La risposta del provider di identità non è leggibile."));
    };
    if let Some(error) = &q.error {
        let code = error_code(error);
        tracing::warn!(error = %code, "OpenID Connect provider refused the login");
        return Err(match code.as_str() {
            "access_denied" => failed(
                StatusCode::FORBIDDEN,
                "L'accesso è stato annullato o negato presso il provider di identità. Puoi riprovare quando vuoi.",
            ),
            "login_required" | "interaction_required" | "consent_required" => {
                failed(StatusCode::FORBIDDEN, "Il provider di identità chiede di completare l'accesso: riprova.")
            }
            "temporarily_unavailable" | "server_error" => failed(
                StatusCode::BAD_GATEWAY,
                "Il provider di identità non è al momento disponibile. Riprova tra qualche minuto.",
            ),
            _ => failed(
                StatusCode::BAD_GATEWAY,
                format!("Il provider di identità ha rifiutato la richiesta di accesso (codice «{code}»). Riprova."),
            ),
        });
    }
    let pending = match pending {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("OpenID Connect callback refused: {e}");
            return Err(failed(
                StatusCode::BAD_REQUEST,
                match e {
                    StateError::Missing => {
                        "Questa richiesta di accesso è scaduta o è già stata usata. Riprova ad accedere dall'inizio."
                    }
                    StateError::Expired => {
                        "Questa richiesta di accesso è scaduta: sono passati più di dieci minuti. \
                         Riprova ad accedere dall'inizio."
                    }
                    StateError::Tampered => {
                        "Questa richiesta di accesso non è valida: il browser ha presentato dati alterati. \
                         Riprova ad accedere dall'inizio."
                    }
                },
            ));
        }
    };
    if !session::same_secret(&pending.state, q.state.as_deref().unwrap_or_default()) {
        tracing::warn!("OpenID Connect callback refused: state does not match the login under way");
        return Err(failed(
            StatusCode::BAD_REQUEST,
            "La risposta del provider di identità non corrisponde alla richiesta di accesso. Riprova ad accedere.",
        ));
    }
    // RFC 9207: the response comes from our provider, not from another one the
    // browser was also talking to.
    match &q.iss {
        Some(iss) if *iss != client.issuer => {
            tracing::warn!("OpenID Connect callback refused: iss parameter names another issuer");
            return Err(failed(StatusCode::BAD_REQUEST, "La risposta proviene da un provider di identità diverso."));
        }
        None if client.iss_parameter => {
            tracing::warn!("OpenID Connect callback refused: iss parameter missing");
            return Err(failed(StatusCode::BAD_REQUEST, "La risposta del provider di identità è incompleta."));
        }
        _ => {}
    }
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty()) else {
        tracing::warn!("OpenID Connect callback refused: no authorization code");
        return Err(failed(StatusCode::BAD_REQUEST, "La risposta del provider di identità è incompleta."));
    };
    let tokens = client.exchange(code, &pending.verifier).await.map_err(|e| {
        tracing::warn!("OpenID Connect code exchange failed: {e}");
        failed(StatusCode::BAD_GATEWAY, PROVIDER_TROUBLE)
    })?;
    let mut claims = client.check_id_token(&tokens.id_token, &pending.nonce).await.map_err(|e| {
        tracing::warn!("OpenID Connect ID Token refused: {e}");
        match e {
            // The person logged in, at a level too low for the Area Riservata:
            // their doing (or their identity's), not the provider's trouble.
            IdTokenError::Acr(_) | IdTokenError::MissingClaim("acr") => {
                let used = match &e {
                    IdTokenError::Acr(acr) => format!("con {}", acr_label(acr)),
                    _ => "senza dichiarare il livello di autenticazione".into(),
                };
                failed(
                    StatusCode::FORBIDDEN,
                    format!(
                        "L'accesso è avvenuto {used}: per l'Area Riservata serve almeno {}. \
                         Riprova ad accedere con un livello di sicurezza adeguato.",
                        acr_label(client.acr())
                    ),
                )
            }
            _ => failed(StatusCode::BAD_GATEWAY, PROVIDER_TROUBLE),
        }
    })?;
    if !claims.complete() {
        let bearer = tokens
            .access_token
            .as_deref()
            .filter(|_| tokens.token_type.as_deref().is_none_or(|t| t.eq_ignore_ascii_case("bearer")));
        match bearer {
            Some(token) => match client.userinfo(token, &claims.sub).await {
                Ok(more) => claims.fill_from(&more),
                Err(e) => {
                    tracing::warn!("OpenID Connect UserInfo failed: {e}");
                    return Err(failed(StatusCode::BAD_GATEWAY, PROVIDER_TROUBLE));
                }
            },
            None => tracing::warn!("the ID Token lacks claims and there is no bearer access token for UserInfo"),
        }
    }
    let (Some(fiscal_code), Some(name), Some(family_name)) = (claims.fiscal_number, claims.name, claims.family_name)
    else {
        tracing::warn!("OpenID Connect login refused: fiscal number, name or family name missing");
        return Err(failed(
            StatusCode::BAD_GATEWAY,
            "Il provider di identità non ha comunicato codice fiscale, nome e cognome, necessari per entrare \
             nell'Area Riservata.",
        ));
    };
    tracing::info!(idp = pending.idp.as_deref().unwrap_or("-"), "OpenID Connect login verified");
    start_session(state, LoginPerson { fiscal_code, name, family_name }, "oidc", &pending.back).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use varco_jose::{encode_rs256, RsaPrivateKey};

    const ISS: &str = "https://idp.example";
    const CLIENT: &str = "varco";
    const NONCE: &str = "n-0S6_WzA2Mj";

    struct Fixture {
        key: RsaPrivateKey,
        keys: Vec<Jwk>,
        now: i64,
    }

    fn fixture() -> Fixture {
        let key = RsaPrivateKey::generate_2048();
        let keys = vec![Jwk { kid: Some("k1".into()), key: key.public_key() }];
        Fixture { key, keys, now: 1_800_000_000 }
    }

    fn claims(f: &Fixture) -> Value {
        json!({
            "iss": ISS, "aud": CLIENT, "sub": "abc", "nonce": NONCE,
            "iat": f.now - 5, "exp": f.now + 300,
            "fiscal_number": "TINIT-RSSMRA80A01H501U", "name": "Mario", "family_name": "Rossi",
            "acr": DEFAULT_ACR,
        })
    }

    fn sign(f: &Fixture, header: Value, claims: Value) -> String {
        encode_rs256(&header, &claims, &f.key)
    }

    fn check(f: &Fixture, token: &str) -> Result<IdClaims, IdTokenError> {
        let expected = Expected { issuer: ISS, client_id: CLIENT, nonce: NONCE, acr: DEFAULT_ACR, now: f.now };
        verify_id_token(&parse_id_token(token)?, &f.keys, &expected)
    }

    fn with(mut v: Value, name: &str, value: Value) -> Value {
        v[name] = value;
        v
    }

    fn without(mut v: Value, name: &str) -> Value {
        v.as_object_mut().unwrap().remove(name);
        v
    }

    fn rs256() -> Value {
        json!({"alg": "RS256", "kid": "k1"})
    }

    #[test]
    fn a_good_id_token_gives_the_person() {
        let f = fixture();
        let got = check(&f, &sign(&f, rs256(), claims(&f))).unwrap();
        assert_eq!(got.sub, "abc");
        assert_eq!(got.fiscal_number.as_deref(), Some("TINIT-RSSMRA80A01H501U"));
        assert_eq!(got.name.as_deref(), Some("Mario"));
        assert_eq!(got.family_name.as_deref(), Some("Rossi"));
        assert!(got.complete());
        // Without kid, any key of the set may have signed it.
        assert!(check(&f, &sign(&f, json!({"alg": "RS256"}), claims(&f))).is_ok());
        // Several audiences are fine when azp names this client.
        let multi = with(with(claims(&f), "aud", json!(["other", CLIENT])), "azp", json!(CLIENT));
        assert!(check(&f, &sign(&f, rs256(), multi)).is_ok());
        // Within the leeway.
        let late = with(claims(&f), "exp", json!(f.now - LEEWAY_SECS + 1));
        assert!(check(&f, &sign(&f, rs256(), late)).is_ok());
    }

    #[test]
    fn camel_case_claims_are_read_too() {
        let f = fixture();
        let c = without(without(claims(&f), "fiscal_number"), "family_name");
        let c = with(with(c, "fiscalNumber", json!("TINIT-BNCMRA85M41F205D")), "familyName", json!("Bianchi"));
        let got = check(&f, &sign(&f, rs256(), c)).unwrap();
        assert_eq!(got.fiscal_number.as_deref(), Some("TINIT-BNCMRA85M41F205D"));
        assert_eq!(got.family_name.as_deref(), Some("Bianchi"));
    }

    #[test]
    fn missing_person_claims_are_filled_from_userinfo() {
        let f = fixture();
        let c = without(without(claims(&f), "name"), "family_name");
        let mut got = check(&f, &sign(&f, rs256(), c)).unwrap();
        assert!(!got.complete());
        let info = json!({"sub": "abc", "name": "Mario", "familyName": "Rossi", "fiscal_number": "TINIT-X"});
        got.fill_from(info.as_object().unwrap());
        assert_eq!(got.name.as_deref(), Some("Mario"));
        assert_eq!(got.family_name.as_deref(), Some("Rossi"));
        // What the ID Token said wins.
        assert_eq!(got.fiscal_number.as_deref(), Some("TINIT-RSSMRA80A01H501U"));
    }

    #[test]
    fn wrong_nonce_is_refused() {
        let f = fixture();
        let c = with(claims(&f), "nonce", json!("another"));
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::Nonce));
        let c = without(claims(&f), "nonce");
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::MissingClaim("nonce")));
    }

    #[test]
    fn acr_below_the_level_or_missing_is_refused() {
        let f = fixture();
        let l1 = "https://www.spid.gov.it/SpidL1";
        let c = with(claims(&f), "acr", json!(l1));
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::Acr(l1.into())));
        let c = without(claims(&f), "acr");
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::MissingClaim("acr")));
        let c = with(claims(&f), "acr", json!(7));
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::MissingClaim("acr")));
        let c = with(claims(&f), "acr", json!("https://www.spid.gov.it/SpidL2 "));
        assert!(matches!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::Acr(_))));
        // A higher level than asked is fine.
        let c = with(claims(&f), "acr", json!("https://www.spid.gov.it/SpidL3"));
        assert!(check(&f, &sign(&f, rs256(), c)).is_ok());
    }

    #[test]
    fn acr_levels_compare_on_spids_scale_and_others_exactly() {
        let [l1, l2, l3] = SPID_LEVELS;
        for (got, required, ok) in [
            (l1, l1, true),
            (l2, l1, true),
            (l3, l2, true),
            (l2, l2, true),
            (l1, l2, false),
            (l2, l3, false),
            ("urn:custom:high", l2, false),
            ("urn:custom:high", "urn:custom:high", true),
            (l3, "urn:custom:high", false),
            ("", l1, false),
        ] {
            assert_eq!(acr_satisfies(got, required), ok, "{got} for {required}");
        }
        assert_eq!(acr_label(l2), "SPID di livello 2");
        assert_eq!(acr_label("urn:x\n"), "«urn:x»");
    }

    #[test]
    fn wrong_audience_or_azp_is_refused() {
        let f = fixture();
        let c = with(claims(&f), "aud", json!("someone-else"));
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::Audience));
        let c = with(claims(&f), "aud", json!(["a", "b"]));
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::Audience));
        let c = with(claims(&f), "azp", json!("someone-else"));
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::AuthorizedParty));
        let c = with(claims(&f), "aud", json!([CLIENT, "other"]));
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::AuthorizedParty));
        let c = without(claims(&f), "aud");
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::MissingClaim("aud")));
    }

    #[test]
    fn wrong_issuer_is_refused() {
        let f = fixture();
        let c = with(claims(&f), "iss", json!("https://idp.example/"));
        assert!(matches!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::Issuer(_))));
    }

    #[test]
    fn expired_or_future_tokens_are_refused() {
        let f = fixture();
        let c = with(claims(&f), "exp", json!(f.now - LEEWAY_SECS - 1));
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::Expired));
        let c = with(claims(&f), "iat", json!(f.now + LEEWAY_SECS + 10));
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::IssuedInFuture));
        let c = with(claims(&f), "nbf", json!(f.now + LEEWAY_SECS + 10));
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::NotYetValid));
        let c = without(claims(&f), "exp");
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::MissingClaim("exp")));
        let c = without(claims(&f), "iat");
        assert_eq!(check(&f, &sign(&f, rs256(), c)), Err(IdTokenError::MissingClaim("iat")));
    }

    #[test]
    fn only_rs256_is_accepted() {
        let f = fixture();
        let body = b64url_encode(claims(&f).to_string().as_bytes());
        // alg none, with and without an (empty) signature.
        let none = format!("{}.{body}.", b64url_encode(br#"{"alg":"none"}"#));
        assert_eq!(check(&f, &none), Err(IdTokenError::Algorithm("none".into())));
        // HS256 "signed" with the public modulus: the classic confusion attack.
        let header = b64url_encode(br#"{"alg":"HS256","kid":"k1"}"#);
        let input = format!("{header}.{body}");
        let mac = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, f.key.public_key().n_b64().as_bytes()),
            input.as_bytes(),
        );
        let hs = format!("{input}.{}", b64url_encode(mac.as_ref()));
        assert_eq!(check(&f, &hs), Err(IdTokenError::Algorithm("HS256".into())));
        // An RS256 signature under a header that claims something else.
        let ps = sign(&f, json!({"alg": "PS256", "kid": "k1"}), claims(&f));
        assert_eq!(check(&f, &ps), Err(IdTokenError::Algorithm("PS256".into())));
        let no_alg = sign(&f, json!({"kid": "k1"}), claims(&f));
        assert!(matches!(check(&f, &no_alg), Err(IdTokenError::Algorithm(_))));
        let crit = sign(&f, json!({"alg": "RS256", "kid": "k1", "crit": ["x"], "x": 1}), claims(&f));
        assert!(matches!(check(&f, &crit), Err(IdTokenError::Malformed(_))));
        assert!(matches!(check(&f, "not-a-jwt"), Err(IdTokenError::Malformed(_))));
    }

    #[test]
    fn unknown_kid_and_bad_signatures_are_refused() {
        let f = fixture();
        let token = sign(&f, json!({"alg": "RS256", "kid": "k9"}), claims(&f));
        assert_eq!(check(&f, &token), Err(IdTokenError::UnknownKid("k9".into())));
        // Signed by another key, under the kid of the provider's key.
        let other = RsaPrivateKey::generate_2048();
        let forged = encode_rs256(&rs256(), &claims(&f), &other);
        assert_eq!(check(&f, &forged), Err(IdTokenError::BadSignature));
        // A payload changed after signing.
        let good = sign(&f, rs256(), claims(&f));
        let parts: Vec<&str> = good.split('.').collect();
        let changed = b64url_encode(with(claims(&f), "sub", json!("mallory")).to_string().as_bytes());
        let tampered = format!("{}.{changed}.{}", parts[0], parts[2]);
        assert_eq!(check(&f, &tampered), Err(IdTokenError::BadSignature));
        // No key at all.
        let empty = Fixture { key: f.key.clone(), keys: vec![], now: f.now };
        let no_kid = sign(&f, json!({"alg": "RS256"}), claims(&f));
        assert_eq!(check(&empty, &no_kid), Err(IdTokenError::NoKey));
    }

    #[test]
    fn key_sets_keep_only_rsa_signing_keys() {
        let a = RsaPrivateKey::generate_2048().public_key();
        let b = RsaPrivateKey::generate_2048().public_key();
        let set = json!({"keys": [
            {"kty": "RSA", "kid": "a", "n": a.n_b64(), "e": a.e_b64(), "use": "sig", "alg": "RS256"},
            {"kty": "RSA", "kid": "b", "n": b.n_b64(), "e": b.e_b64()},
            {"kty": "RSA", "kid": "enc", "n": b.n_b64(), "e": b.e_b64(), "use": "enc"},
            {"kty": "RSA", "kid": "ps", "n": b.n_b64(), "e": b.e_b64(), "alg": "PS256"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "garbage", "n": "!!", "e": "AQAB"},
        ]});
        let keys = parse_jwks(&set);
        let kids: Vec<_> = keys.iter().map(|k| k.kid.clone().unwrap()).collect();
        assert_eq!(kids, ["a", "b"]);
        assert_eq!(keys[0].key, a);
        assert!(parse_jwks(&json!({"nokeys": 1})).is_empty());
    }

    #[test]
    fn pkce_and_form_encoding() {
        // RFC 7636 Appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(form_encode("a b:c/é~"), "a+b%3Ac%2F%C3%A9%7E");
        assert_eq!(error_code("access_denied<script>"), "access_deniedscript");
    }

    #[test]
    fn urls_need_https_except_on_loopback() {
        assert!(check_url("x", "https://idp.example/x").is_ok());
        assert!(check_url("x", "http://127.0.0.1:8080").is_ok());
        assert!(check_url("x", "http://localhost:8080").is_ok());
        assert!(check_url("x", "http://[::1]:8080").is_ok());
        assert!(check_url("x", "http://idp.example").is_err());
        assert!(check_url("x", "ftp://idp.example").is_err());
        assert!(check_url("x", "https://u:p@idp.example").is_err());
        assert!(check_url("x", "not a url").is_err());
    }

    /// A key set served over HTTP, which the test can change (key rotation).
    async fn jwks_server(set: Arc<std::sync::Mutex<Value>>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use axum::routing::get;
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let h = hits.clone();
        let app = axum::Router::new().route(
            "/jwks",
            get(move || {
                let set = set.clone();
                let h = h.clone();
                async move {
                    h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    axum::Json(set.lock().unwrap().clone())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/jwks"), hits)
    }

    fn test_client(jwks_uri: String, keys: Vec<Jwk>) -> OidcClient {
        OidcClient {
            issuer: ISS.into(),
            client_id: CLIENT.into(),
            client_secret: Some("s3cret".into()),
            redirect_uri: "https://varco.example/selfcare/login/oidc/callback".into(),
            authorization_endpoint: "https://idp.example/auth?tenant=pa".into(),
            token_endpoint: "https://idp.example/token".into(),
            userinfo_endpoint: None,
            jwks_uri,
            iss_parameter: true,
            acr: DEFAULT_ACR.into(),
            state_key: OnceLock::new(),
            http: reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build().unwrap(),
            keys: RwLock::new(KeyCache { keys: Arc::new(keys), last_refetch: None }),
            refetch: tokio::sync::Mutex::new(()),
        }
    }

    fn jwk_json(kid: &str, key: &RsaPublicKey) -> Value {
        json!({"kty": "RSA", "kid": kid, "n": key.n_b64(), "e": key.e_b64(), "use": "sig", "alg": "RS256"})
    }

    #[tokio::test]
    async fn an_unknown_kid_fetches_the_keys_once_more() {
        let old = RsaPrivateKey::generate_2048();
        let new = RsaPrivateKey::generate_2048();
        let set = Arc::new(std::sync::Mutex::new(json!({"keys": [jwk_json("old", &old.public_key())]})));
        let (uri, hits) = jwks_server(set.clone()).await;
        let client = test_client(uri, parse_jwks(&set.lock().unwrap()));
        let now = now_secs();
        let c = json!({"iss": ISS, "aud": CLIENT, "sub": "abc", "nonce": NONCE, "iat": now, "exp": now + 300, "acr": DEFAULT_ACR});
        let by_new = encode_rs256(&json!({"alg": "RS256", "kid": "new"}), &c, &new);

        // The provider has not published the new key yet: refused after one refetch.
        assert_eq!(client.check_id_token(&by_new, NONCE).await, Err(IdTokenError::UnknownKid("new".into())));
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Now it has, but refetches are spaced out: still refused, no new request.
        *set.lock().unwrap() =
            json!({"keys": [jwk_json("new", &new.public_key()), jwk_json("old", &old.public_key())]});
        assert!(client.check_id_token(&by_new, NONCE).await.is_err());
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
        // After the interval the new key is fetched and the token verifies.
        client.keys.write().unwrap().last_refetch = Some(Instant::now() - MIN_REFETCH_INTERVAL);
        let got = client.check_id_token(&by_new, NONCE).await.unwrap();
        assert_eq!(got.sub, "abc");
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);
        // Known kids need no request.
        let by_old = encode_rs256(&json!({"alg": "RS256", "kid": "old"}), &c, &old);
        assert!(client.check_id_token(&by_old, NONCE).await.is_ok());
        assert_eq!(client.check_id_token(&by_old, "other").await, Err(IdTokenError::Nonce));
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn the_authorization_url_carries_pkce_state_and_nonce() {
        let client = test_client("https://idp.example/jwks".into(), vec![]);
        let p = PendingLogin {
            state: "st".into(),
            nonce: "nn".into(),
            verifier: "v".repeat(43),
            idp: None,
            back: DEFAULT_BACK.into(),
            exp: 0,
        };
        let url = reqwest::Url::parse(&client.authorization_url(&p).unwrap()).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["tenant"], "pa", "the endpoint's own query is kept");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], CLIENT);
        assert_eq!(q["redirect_uri"], "https://varco.example/selfcare/login/oidc/callback");
        assert_eq!(q["scope"], "openid profile");
        assert_eq!(q["state"], "st");
        assert_eq!(q["nonce"], "nn");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], pkce_challenge(&"v".repeat(43)));
        assert_eq!(q["acr_values"], "https://www.spid.gov.it/SpidL2");
        // The secret stays out of Debug.
        let dbg = format!("{client:?}");
        assert!(!dbg.contains("s3cret") && dbg.contains("***"), "{dbg}");
    }
}
