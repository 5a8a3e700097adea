//! Helpers shared by the black-box tests: a consumer (agreement, purpose, client,
//! key) and an API client set up through the platform services, token requests over
//! HTTP, the generic refusal body, and capture of the server's log.
#![allow(dead_code)]

pub mod node;
pub mod web;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use varco::testkit::TestApp;
use varco_domain::*;
use varco_jose::{b64url_decode, RsaPrivateKey, RsaPublicKey};
use varco_platform::Caller;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// ------------------------------------------------------------------ log capture

/// Everything the server logs while the guard lives. The server runs on the test's
/// current-thread runtime, so a thread-local default subscriber sees its events.
pub struct LogCapture {
    buf: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct BufWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BufWriter {
    type Writer = BufWriter;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl LogCapture {
    pub fn start() -> LogCapture {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::fmt()
            .with_writer(BufWriter(buf.clone()))
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        LogCapture { buf, _guard: guard }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).into_owned()
    }

    /// The lines that mention `needle` (e.g. a correlation id).
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.text().lines().filter(|l| l.contains(needle)).map(str::to_string).collect()
    }

    /// The `reason=` logged with this correlation id, if any (quotes removed).
    pub fn reason_for(&self, correlation_id: &str) -> Option<String> {
        self.lines_with(correlation_id).iter().find_map(|l| field(l, "reason"))
    }
}

/// The value of `name=value` or `name="value"` in a log line.
pub fn field(line: &str, name: &str) -> Option<String> {
    let pat = format!(" {name}=");
    let start = line.find(&pat)? + pat.len();
    let rest = &line[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        Some(quoted[..quoted.find('"')?].to_string())
    } else {
        Some(rest.split_whitespace().next().unwrap_or("").to_string())
    }
}

// ------------------------------------------------------------------- fixtures

/// A file of crates/varco-jose/tests/data (keys made with OpenSSL).
pub fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../varco-jose/tests/data").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

// -------------------------------------------------------------- platform setup

/// A consumer ready to ask vouchers for an e-service: agreement Active, purpose
/// Active, client e-service with a key, associated with the purpose.
pub struct Consumer {
    pub env: Env,
    pub key: RsaPrivateKey,
    pub kid: String,
    pub client_id: ClientId,
    pub purpose_id: PurposeId,
    pub tenant_id: TenantId,
    pub eservice_id: EServiceId,
    pub agreement_id: AgreementId,
}

fn id<T: std::str::FromStr>(v: &Value, name: &str) -> T {
    v[name].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{name} in {v}"))
}

/// Walks the consumer side with `varco::cli::setup_consumer` (as `varco demo
/// setup-consumer` does) for `tenant` on the demo SEND e-service of Collaudo.
pub async fn setup_consumer(app: &TestApp, tenant: &str) -> Consumer {
    let key = RsaPrivateKey::generate_2048();
    let pem = key.public_key().to_pem();
    let out = varco::cli::setup_consumer(
        &app.running.platform,
        Env::Collaudo,
        tenant,
        varco_platform::demo::SEND_UAT,
        &pem,
        1000,
    )
    .await
    .expect("setup consumer");
    Consumer {
        env: Env::Collaudo,
        kid: out["kid"].as_str().expect("kid").to_string(),
        client_id: id(&out, "clientId"),
        purpose_id: id(&out, "purposeId"),
        tenant_id: id(&out, "tenantId"),
        eservice_id: id(&out, "eserviceId"),
        agreement_id: id(&out, "agreementId"),
        key,
    }
}

/// An API client ("client API Interop") of `tenant` in `env`, with a fresh key.
pub struct ApiClient {
    pub env: Env,
    pub key: RsaPrivateKey,
    pub kid: String,
    pub client_id: ClientId,
    pub tenant_id: TenantId,
    pub admin_id: Option<UserId>,
}

pub async fn setup_api_client(app: &TestApp, env: Env, tenant: &str, admin: bool) -> ApiClient {
    setup_api_client_with_key(app, env, tenant, admin, RsaPrivateKey::generate_2048()).await
}

pub async fn setup_api_client_with_key(
    app: &TestApp,
    env: Env,
    tenant: &str,
    admin: bool,
    key: RsaPrivateKey,
) -> ApiClient {
    let svc = app.running.platform.env(env);
    let t = svc.tenant_by_name(&Caller::Operator, tenant).await.expect("tenant");
    let admin_id = admin.then(UserId::new);
    let actor = Caller::Operator;
    let client = svc
        .create_client(
            &actor,
            t.id,
            ClientKind::Api,
            "Client API di prova",
            None,
            admin_id.into_iter().collect(),
            admin_id,
        )
        .await
        .expect("create API client");
    let k =
        svc.add_client_key(&actor, client.id, "Chiave API di prova", &key.public_key().to_pem()).await.expect("key");
    ApiClient { env, key, kid: k.kid.to_string(), client_id: client.id, tenant_id: t.id, admin_id }
}

// ---------------------------------------------------------------- assertions

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn token_path(env: Env) -> String {
    format!("/interop/{}/token.oauth2", env.slug())
}

pub fn jwks_path(env: Env) -> String {
    format!("/interop/{}/.well-known/jwks.json", env.slug())
}

pub fn assertion_audience(app: &TestApp, env: Env) -> String {
    app.running.platform.config(env).client_assertion_audience.clone()
}

/// The header and claims of a valid client assertion, to be altered by a test.
pub fn assertion_parts(
    app: &TestApp,
    env: Env,
    kid: &str,
    client_id: ClientId,
    purpose_id: Option<PurposeId>,
) -> (Map<String, Value>, Map<String, Value>) {
    let header = json!({ "alg": "RS256", "kid": kid, "typ": "JWT" });
    let iat = now();
    let mut claims = json!({
        "iss": client_id.to_string(),
        "sub": client_id.to_string(),
        "aud": assertion_audience(app, env),
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": iat,
        "exp": iat + 600,
    });
    if let Some(p) = purpose_id {
        claims["purposeId"] = json!(p.to_string());
    }
    (obj(header), obj(claims))
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

pub fn sign(header: &Map<String, Value>, claims: &Map<String, Value>, key: &RsaPrivateKey) -> String {
    varco_jose::encode_rs256(&Value::Object(header.clone()), &Value::Object(claims.clone()), key)
}

impl Consumer {
    /// A valid assertion, after `f` altered its header and claims.
    pub fn assertion_with(
        &self,
        app: &TestApp,
        f: impl FnOnce(&mut Map<String, Value>, &mut Map<String, Value>),
    ) -> String {
        let (mut h, mut c) = assertion_parts(app, self.env, &self.kid, self.client_id, Some(self.purpose_id));
        f(&mut h, &mut c);
        sign(&h, &c, &self.key)
    }

    pub fn assertion(&self, app: &TestApp) -> String {
        self.assertion_with(app, |_, _| {})
    }
}

impl ApiClient {
    pub fn assertion_with(
        &self,
        app: &TestApp,
        f: impl FnOnce(&mut Map<String, Value>, &mut Map<String, Value>),
    ) -> String {
        let (mut h, mut c) = assertion_parts(app, self.env, &self.kid, self.client_id, None);
        f(&mut h, &mut c);
        sign(&h, &c, &self.key)
    }

    pub fn assertion(&self, app: &TestApp) -> String {
        self.assertion_with(app, |_, _| {})
    }
}

// -------------------------------------------------------------- HTTP requests

/// An answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }
}

pub async fn read(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("read body");
    Reply { status, headers, text }
}

/// The form of a token request for `assertion` (client_id only when given).
pub fn token_form(assertion: &str, client_id: Option<&str>) -> Vec<(String, String)> {
    let mut f = vec![
        ("client_assertion".to_string(), assertion.to_string()),
        ("client_assertion_type".to_string(), ASSERTION_TYPE.to_string()),
        ("grant_type".to_string(), "client_credentials".to_string()),
    ];
    if let Some(c) = client_id {
        f.push(("client_id".to_string(), c.to_string()));
    }
    f
}

pub fn encode_form(form: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(form.iter().map(|(k, v)| (k, v))).finish()
}

/// POSTs a token request form to `env`'s token endpoint, with zero or more DPoP headers.
pub async fn post_token(app: &TestApp, env: Env, form: &[(String, String)], dpop: &[String]) -> Reply {
    let mut req = app
        .http
        .post(app.url(&token_path(env)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode_form(form));
    for proof in dpop {
        req = req.header("DPoP", proof);
    }
    read(req.send().await.expect("token request sent")).await
}

/// Asks a voucher with `assertion` and nothing else.
pub async fn request_voucher(app: &TestApp, env: Env, assertion: &str) -> Reply {
    post_token(app, env, &token_form(assertion, None), &[]).await
}

/// POSTs raw bytes to a path, with an optional content type.
pub async fn post_raw(app: &TestApp, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
    let mut req = app.http.post(app.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    read(req.send().await.expect("request sent")).await
}

pub async fn get(app: &TestApp, path: &str) -> Reply {
    read(app.http.get(app.url(path)).send().await.expect("request sent")).await
}

/// The body every refused token request gets, whatever the cause.
pub fn generic_400_body(correlation_id: &str) -> Value {
    json!({
        "type": "about:blank",
        "status": 400,
        "title": "The request contains bad syntax or cannot be fulfilled.",
        "detail": "Bad request",
        "errors": [{ "code": "015-0008", "detail": "Unable to generate a token for the given request" }],
        "correlationId": correlation_id,
    })
}

/// Checks that `r` is exactly the generic 400 of the contract; returns its correlation id.
pub fn check_generic_400(r: &Reply) -> Result<String, String> {
    if r.status != StatusCode::BAD_REQUEST {
        return Err(format!("status {} (body {})", r.status, r.text));
    }
    if r.content_type() != Some("application/problem+json") {
        return Err(format!("content-type {:?}", r.content_type()));
    }
    let body: Value = serde_json::from_str(&r.text).map_err(|e| format!("body not JSON: {e}: {}", r.text))?;
    let corr = body["correlationId"].as_str().ok_or_else(|| format!("no correlationId in {body}"))?.to_string();
    if uuid::Uuid::parse_str(&corr).is_err() {
        return Err(format!("correlationId {corr:?} is not a UUID"));
    }
    if body != generic_400_body(&corr) {
        return Err(format!("body differs from the generic one: {body}"));
    }
    Ok(corr)
}

pub fn assert_generic_400(r: &Reply) -> String {
    check_generic_400(r).unwrap_or_else(|e| panic!("not the generic 400: {e}"))
}

/// A problem+json answer with this status; returns its body.
pub fn assert_problem(r: &Reply, status: StatusCode) -> Value {
    assert_eq!(r.status, status, "status; body {}", r.text);
    assert_eq!(r.content_type(), Some("application/problem+json"), "content-type; body {}", r.text);
    let body = r.json();
    assert_eq!(body["status"], json!(status.as_u16()), "{body}");
    assert_eq!(body["type"], "about:blank", "{body}");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    body
}

// ------------------------------------------------------------------- vouchers

/// Header and claims of a compact JWS, not verified.
pub fn decode_jwt(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "compact JWS: {token}");
    let part = |s: &str| -> Value { serde_json::from_slice(&b64url_decode(s).expect("base64url")).expect("JSON") };
    (part(parts[0]), part(parts[1]))
}

/// The RSA public key of a JWK (`n`, `e`), built as SPKI DER so that the crate's own
/// verifier can check a voucher as a producer would with the JWKS.
pub fn public_key_from_jwk(jwk: &Value) -> RsaPublicKey {
    fn len(n: usize) -> Vec<u8> {
        if n < 0x80 {
            vec![n as u8]
        } else {
            let b: Vec<u8> = n.to_be_bytes().iter().copied().skip_while(|&x| x == 0).collect();
            let mut v = vec![0x80 | b.len() as u8];
            v.extend(b);
            v
        }
    }
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend(len(content.len()));
        v.extend_from_slice(content);
        v
    }
    fn uint(bytes: &[u8]) -> Vec<u8> {
        let mut b: Vec<u8> = bytes.iter().copied().skip_while(|&x| x == 0).collect();
        if b.first().is_none_or(|&x| x & 0x80 != 0) {
            b.insert(0, 0);
        }
        tlv(0x02, &b)
    }
    let n = b64url_decode(jwk["n"].as_str().expect("n")).expect("n base64url");
    let e = b64url_decode(jwk["e"].as_str().expect("e")).expect("e base64url");
    let rsa = tlv(0x30, &[uint(&n), uint(&e)].concat());
    let alg =
        tlv(0x30, &[&[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01][..], &[0x05, 0x00]].concat());
    let mut bits = vec![0u8];
    bits.extend(rsa);
    let spki = tlv(0x30, &[alg, tlv(0x03, &bits)].concat());
    RsaPublicKey::from_spki_der(&spki).expect("JWK is a usable RSA key")
}

/// Verifies a voucher's RS256 signature with the key of the environment's JWKS named
/// by its `kid`, as a producer does.
pub async fn verify_with_jwks(app: &TestApp, env: Env, token: &str) -> bool {
    let (header, _) = decode_jwt(token);
    let jwks = get(app, &jwks_path(env)).await.json();
    let Some(jwk) = jwks["keys"].as_array().and_then(|ks| ks.iter().find(|k| k["kid"] == header["kid"])) else {
        return false;
    };
    let key = public_key_from_jwk(jwk);
    let (input, sig) = token.rsplit_once('.').expect("three parts");
    key.verify_rs256(input.as_bytes(), &b64url_decode(sig).expect("signature base64url"))
}

pub async fn jwks_kids(app: &TestApp, env: Env) -> Vec<String> {
    let jwks = get(app, &jwks_path(env)).await.json();
    jwks["keys"].as_array().expect("keys").iter().map(|k| k["kid"].as_str().expect("kid").to_string()).collect()
}

// ------------------------------------------------------- machine API refusals

/// The title and `errors[0].code` of the machine API's problem for each 4xx status:
/// one code per status, written here independently of the server's table.
pub fn api_problem_title_and_code(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("Bad Request", "000-0001"),
        401 => ("Unauthorized", "000-0002"),
        403 => ("Forbidden", "000-0003"),
        404 => ("Resource not found", "000-0004"),
        409 => ("Conflict", "000-0005"),
        429 => ("Too Many Requests", "000-0006"),
        other => panic!("no machine API problem is expected with status {other}"),
    }
}

/// A machine API refusal's body is PDND's problem for `status`: that status, its title,
/// a detail, exactly one error with the status's code (and the same detail), and a
/// UUID correlation id.
#[track_caller]
pub fn assert_api_problem(body: &Value, status: u16) {
    let (title, code) = api_problem_title_and_code(status);
    assert_eq!(body["type"], "about:blank", "problem type: {body}");
    assert_eq!(body["status"], status, "problem status: {body}");
    assert_eq!(body["title"], title, "problem title: {body}");
    let detail = body["detail"].as_str().filter(|d| !d.is_empty());
    assert!(detail.is_some(), "problem detail: {body}");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "problem errors: {body}");
    assert_eq!(body["errors"][0]["code"], code, "problem error code: {body}");
    assert_eq!(body["errors"][0]["detail"].as_str(), detail, "problem error detail: {body}");
    let corr = body["correlationId"].as_str().unwrap_or_default();
    assert!(uuid::Uuid::parse_str(corr).is_ok(), "problem correlationId: {body}");
}

/// An answer `(status, body)` of the machine API is a refusal with `status` and PDND's
/// problem for it; returns the body.
#[track_caller]
pub fn assert_api_refused<S: Into<u16>>(got: (S, Value), status: u16) -> Value {
    let (got_status, body) = got;
    assert_eq!(got_status.into(), status, "status; body {body}");
    assert_api_problem(&body, status);
    body
}
