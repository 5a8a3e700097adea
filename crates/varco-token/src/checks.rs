//! Every check of a token request, in the order of the voucher contract. The same
//! function serves the token endpoint (which hides the reason behind a generic 400)
//! and the "Debug client assertion" tool (which explains it).
use crate::view::{ClientEntry, EnvView};
use serde_json::{Map, Value};
use varco_domain::*;
use varco_jose::Compact;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Why a request is refused. `code()` gives PDND's name for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    InvalidRequest,
    InvalidAssertionType,
    InvalidGrantType,
    ClientAssertionNotFound,
    InvalidClientIdFormat,
    InvalidClientAssertionFormat,
    AlgorithmNotFound,
    AlgorithmNotAllowed,
    KidNotFound,
    InvalidKidFormat,
    JtiNotFound,
    IssuedAtNotFound,
    ExpNotFound,
    TokenExpiredError,
    NotBeforeError,
    IssuerNotFound,
    SubjectNotFound,
    InvalidSubjectFormat,
    InvalidSubject,
    AudienceNotFound,
    InvalidAudience,
    InvalidPurposeIdClaimFormat,
    InvalidDigestClaim,
    InvalidHashAlgorithm,
    InvalidHashLength,
    TokenGenerationStatesEntryNotFound,
    PurposeIdNotProvided,
    UnexpectedPurposeId,
    InvalidSignature,
    InvalidEServiceState,
    InvalidAgreementState,
    InvalidPurposeState,
    DpopProofInvalid,
    DpopJtiAlreadyUsed,
    AssertionJtiAlreadyUsed,
    AssertionLifetimeTooLong,
    IssuedAtInFuture,
    IssuerNotSubject,
}

impl Reason {
    /// Whether the answer depends on the platform's state (clients, keys, purposes,
    /// agreements, e-services) rather than on the request alone.
    pub fn depends_on_state(self) -> bool {
        use Reason::*;
        matches!(
            self,
            TokenGenerationStatesEntryNotFound
                | PurposeIdNotProvided
                | UnexpectedPurposeId
                | InvalidSignature
                | InvalidEServiceState
                | InvalidAgreementState
                | InvalidPurposeState
        )
    }

    pub fn code(self) -> &'static str {
        use Reason::*;
        match self {
            InvalidRequest => "invalidRequest",
            InvalidAssertionType => "invalidAssertionType",
            InvalidGrantType => "invalidGrantType",
            ClientAssertionNotFound => "clientAssertionNotFound",
            InvalidClientIdFormat => "invalidClientIdFormat",
            InvalidClientAssertionFormat => "invalidClientAssertionFormat",
            AlgorithmNotFound => "algorithmNotFound",
            AlgorithmNotAllowed => "algorithmNotAllowed",
            KidNotFound => "kidNotFound",
            InvalidKidFormat => "invalidKidFormat",
            JtiNotFound => "jtiNotFound",
            IssuedAtNotFound => "issuedAtNotFound",
            ExpNotFound => "expNotFound",
            TokenExpiredError => "tokenExpiredError",
            NotBeforeError => "notBeforeError",
            IssuerNotFound => "issuerNotFound",
            SubjectNotFound => "subjectNotFound",
            InvalidSubjectFormat => "invalidSubjectFormat",
            InvalidSubject => "invalidSubject",
            AudienceNotFound => "audienceNotFound",
            InvalidAudience => "invalidAudience",
            InvalidPurposeIdClaimFormat => "invalidPurposeIdClaimFormat",
            InvalidDigestClaim => "invalidDigestClaim",
            InvalidHashAlgorithm => "invalidHashAlgorithm",
            InvalidHashLength => "invalidHashLength",
            TokenGenerationStatesEntryNotFound => "tokenGenerationStatesEntryNotFound",
            PurposeIdNotProvided => "purposeIdNotProvided",
            UnexpectedPurposeId => "unexpectedPurposeId",
            InvalidSignature => "invalidSignature",
            InvalidEServiceState => "invalidEServiceState",
            InvalidAgreementState => "invalidAgreementState",
            InvalidPurposeState => "invalidPurposeState",
            DpopProofInvalid => "dpopProofInvalid",
            DpopJtiAlreadyUsed => "dpopJtiAlreadyUsed",
            AssertionJtiAlreadyUsed => "assertionJtiAlreadyUsed",
            AssertionLifetimeTooLong => "assertionLifetimeTooLong",
            IssuedAtInFuture => "issuedAtInFuture",
            IssuerNotSubject => "issuerNotSubject",
        }
    }
}

/// A refused request: the reason and a sentence that says exactly what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub detail: String,
}

fn refuse<T>(reason: Reason, detail: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal { reason, detail: detail.into() })
}

/// The form fields of a token request, after the form-level checks.
#[derive(Debug, Clone)]
pub struct TokenForm {
    pub client_assertion: String,
    pub client_id: Option<ClientId>,
}

/// Parses and checks the form body (`application/x-www-form-urlencoded`).
pub fn parse_form(body: &[u8]) -> Result<TokenForm, Refusal> {
    let mut assertion = None;
    let mut assertion_type = None;
    let mut grant_type = None;
    let mut client_id = None;
    for (k, v) in form_urlencoded::parse(body) {
        let slot = match k.as_ref() {
            "client_assertion" => &mut assertion,
            "client_assertion_type" => &mut assertion_type,
            "grant_type" => &mut grant_type,
            "client_id" => &mut client_id,
            _ => continue,
        };
        if slot.is_some() {
            return refuse(Reason::InvalidRequest, format!("the field {k} appears more than once"));
        }
        *slot = Some(v.into_owned());
    }
    match assertion_type.as_deref() {
        Some(ASSERTION_TYPE) => {}
        Some(other) => {
            return refuse(
                Reason::InvalidAssertionType,
                format!("client_assertion_type is {:?}, it must be {ASSERTION_TYPE}", short(other)),
            )
        }
        None => return refuse(Reason::InvalidAssertionType, "client_assertion_type is missing"),
    }
    match grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(other) => {
            return refuse(
                Reason::InvalidGrantType,
                format!("grant_type is {:?}, it must be client_credentials", short(other)),
            )
        }
        None => return refuse(Reason::InvalidGrantType, "grant_type is missing"),
    }
    let client_id = match client_id {
        None => None,
        Some(s) => match s.parse::<ClientId>() {
            Ok(id) => Some(id),
            Err(_) => return refuse(Reason::InvalidClientIdFormat, format!("client_id {:?} is not a UUID", short(&s))),
        },
    };
    let client_assertion = match assertion {
        Some(a) if !a.is_empty() => a,
        _ => return refuse(Reason::ClientAssertionNotFound, "client_assertion is missing"),
    };
    Ok(TokenForm { client_assertion, client_id })
}

/// At most 80 characters of an untrusted value, for a message or a log line.
pub(crate) fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Varco's own hardening, off by default (PDND has none of it).
#[derive(Debug, Clone, Copy)]
pub struct Hardened {
    /// Refuse assertions living longer than this (exp - iat).
    pub max_lifetime_secs: i64,
    /// Tolerance for exp/nbf/iat against our clock.
    pub clock_skew_secs: i64,
}

impl Hardened {
    /// How long an accepted assertion's jti must be remembered at most: its `exp` is
    /// at most lifetime + skew ahead, and it is accepted until `exp` + skew.
    pub fn max_remembered_secs(self) -> i64 {
        self.max_lifetime_secs.saturating_add(self.clock_skew_secs.saturating_mul(2))
    }
}

/// What a client is asking a voucher for, after every check passed.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub client_id: ClientId,
    pub kid: String,
    pub organization_id: TenantId,
    pub assertion_jti: String,
    pub assertion_exp: i64,
    pub assertion_claims: Map<String, Value>,
    pub digest: Option<Value>,
    pub grant: Grant,
}

#[derive(Debug, Clone)]
pub enum Grant {
    /// A voucher for an e-service.
    Consumer {
        purpose_id: PurposeId,
        purpose_version_id: PurposeVersionId,
        agreement_id: AgreementId,
        eservice_id: EServiceId,
        descriptor_id: DescriptorId,
        producer_id: TenantId,
        audience: Vec<String>,
        voucher_lifespan: u32,
    },
    /// A voucher for the platform's own API.
    Api { admin_id: Option<UserId> },
}

fn int_claim(payload: &Map<String, Value>, name: &str) -> Option<Result<i64, ()>> {
    payload.get(name).map(|v| match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).ok_or(()),
        _ => Err(()),
    })
}

fn str_claim<'a>(payload: &'a Map<String, Value>, name: &str) -> Option<Result<&'a str, ()>> {
    payload.get(name).map(|v| v.as_str().ok_or(()))
}

// ------------------------------------------------------------ the steps

/// The steps of the checks, as PDND's "Debug client assertion" numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// 1 Validazione della client assertion (header and claims).
    Assertion,
    /// 2 Recupero della chiave pubblica depositata.
    Key,
    /// 3 Verifica della firma della client assertion.
    Signature,
    /// 4 Verifica degli stati.
    State,
    /// 5 Validazione DPoP proof (only when a proof was sent).
    Dpop,
}

impl Step {
    pub const ALL: [Step; 5] = [Step::Assertion, Step::Key, Step::Signature, Step::State, Step::Dpop];

    pub fn number(self) -> u8 {
        self as u8 + 1
    }

    pub fn label(self) -> &'static str {
        match self {
            Step::Assertion => "Validazione della client assertion",
            Step::Key => "Recupero della chiave pubblica depositata",
            Step::Signature => "Verifica della firma della client assertion",
            Step::State => "Verifica degli stati",
            Step::Dpop => "Validazione DPoP proof",
        }
    }
}

/// One failure found by a step: the reason, the sentence of the log (English) and
/// the sentence of the debug tool (Italian).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub reason: Reason,
    pub detail: String,
    pub italian: String,
}

impl Finding {
    pub fn refusal(&self) -> Refusal {
        Refusal { reason: self.reason, detail: self.detail.clone() }
    }
}

/// What the step-by-step checker found: the steps that ran, in order, each with its
/// failures (none: passed); the steps after the last one listed could not run.
#[derive(Debug, Clone, Default)]
pub struct Steps {
    pub ran: Vec<(Step, Vec<Finding>)>,
    pub accepted: Option<Accepted>,
    /// The decoded header and payload, when the assertion is a JWS at all.
    pub header: Option<Map<String, Value>>,
    pub payload: Option<Map<String, Value>>,
}

impl Steps {
    /// Whether the assertion's signature was checked and verified: whoever sent it
    /// holds a private key registered on a client.
    pub fn signature_verified(&self) -> bool {
        self.ran.iter().any(|(step, found)| *step == Step::Signature && found.is_empty())
    }

    /// The endpoint's answer: accepted, or the first refusal.
    pub fn outcome(self) -> Result<Accepted, Refusal> {
        match (self.accepted, self.ran.iter().flat_map(|(_, f)| f).next()) {
            (Some(a), None) => Ok(a),
            (_, Some(f)) => Err(f.refusal()),
            (None, None) => refuse(Reason::InvalidRequest, "the checks stopped without a reason"),
        }
    }

    /// The first failure, in the order of the contract.
    pub fn first(&self) -> Option<&Finding> {
        self.ran.iter().flat_map(|(_, f)| f).next()
    }
}

/// How the checker runs: the token endpoint stops at the first failure; the debug
/// tool goes on to the end of the step and collects every failure of it.
struct Run {
    collect: bool,
    found: Vec<Finding>,
}

/// The step cannot go on (in the endpoint's mode: any failure).
struct Stop;

impl Run {
    /// A failure after which the step can still look at the rest.
    fn fail(&mut self, reason: Reason, detail: impl Into<String>, italian: impl Into<String>) -> Result<(), Stop> {
        self.found.push(Finding { reason, detail: detail.into(), italian: italian.into() });
        if self.collect {
            Ok(())
        } else {
            Err(Stop)
        }
    }

    /// A failure after which the step cannot go on.
    fn stop<T>(&mut self, reason: Reason, detail: impl Into<String>, italian: impl Into<String>) -> Result<T, Stop> {
        self.found.push(Finding { reason, detail: detail.into(), italian: italian.into() });
        Err(Stop)
    }

    /// Ends a step: its failures go to `steps`; Err when the next may not run.
    fn end<T>(&mut self, steps: &mut Steps, step: Step, r: Result<T, Stop>) -> Result<T, Stop> {
        let found = std::mem::take(&mut self.found);
        let failed = !found.is_empty();
        steps.ran.push((step, found));
        match r {
            Ok(v) if !failed => Ok(v),
            _ => Err(Stop),
        }
    }
}

/// The request as the checker sees it: the assertion, and the `client_id` field
/// (None: not sent; Some(Err): sent, not a UUID).
pub struct Request<'a> {
    pub client_assertion: &'a str,
    pub client_id: Option<Result<ClientId, &'a str>>,
}

/// Runs every check of the contract, in order, against the environment's view.
pub fn check_assertion(
    form: &TokenForm,
    expected_audience: &str,
    view: &EnvView,
    now: i64,
    hardened: Option<Hardened>,
) -> Result<Accepted, Refusal> {
    let req = Request { client_assertion: &form.client_assertion, client_id: form.client_id.map(Ok) };
    check_steps(&req, expected_audience, view, now, hardened, None, false).outcome()
}

/// The step-by-step checker, for the endpoint (`collect` false: the first failure
/// ends everything) and the debug tool (`collect` true: each step reports all its
/// failures, and the next steps run only when it passed). With `owner`, only that
/// organisation's clients are examined: another one's reads as a key not found.
pub fn check_steps(
    req: &Request,
    expected_audience: &str,
    view: &EnvView,
    now: i64,
    hardened: Option<Hardened>,
    owner: Option<TenantId>,
    collect: bool,
) -> Steps {
    let mut steps = Steps::default();
    let mut run = Run { collect, found: vec![] };
    let _ = run_steps(&mut run, &mut steps, req, expected_audience, view, now, hardened, owner);
    steps
}

#[allow(clippy::too_many_arguments)]
fn run_steps(
    run: &mut Run,
    steps: &mut Steps,
    req: &Request,
    expected_audience: &str,
    view: &EnvView,
    now: i64,
    hardened: Option<Hardened>,
    owner: Option<TenantId>,
) -> Result<(), Stop> {
    let jwt = match Compact::parse(req.client_assertion) {
        Ok(j) => j,
        Err(e) => {
            let r = run.stop(
                Reason::InvalidClientAssertionFormat,
                format!("client_assertion is not a JWS: {e}"),
                format!("La client assertion non è un JWT valido (tre parti base64url separate da punti): {e}"),
            );
            return run.end(steps, Step::Assertion, r);
        }
    };
    steps.header = Some(jwt.header.clone());
    steps.payload = Some(jwt.payload.clone());
    let r = assertion_step(run, &jwt, req, expected_audience, now, hardened);
    let claims = run.end(steps, Step::Assertion, r)?;
    let r = key_step(run, view, &claims, owner);
    let (client, key) = run.end(steps, Step::Key, r)?;
    let r = if key.verify_rs256(jwt.signing_input.as_bytes(), &jwt.signature) {
        Ok(())
    } else {
        run.stop(
            Reason::InvalidSignature,
            format!("the signature does not verify with key {}", claims.kid),
            format!(
                "La firma della client assertion non è verificata dalla chiave pubblica con kid {}: firma con la chiave privata corrispondente",
                claims.kid
            ),
        )
    };
    run.end(steps, Step::Signature, r)?;
    // Only now, with the signature verified, does anything depend on the state
    // beyond the key: an anonymous caller learns nothing more, and (see
    // `Reason::depends_on_state`) cannot make the server re-read its log.
    let r = client_purpose(run, client, &claims).and_then(|purpose| match purpose {
        None => Ok(Grant::Api { admin_id: client.admin_id }),
        Some(pid) => consumer_grant(run, view, client.consumer_id, pid),
    });
    let grant = run.end(steps, Step::State, r)?;
    steps.accepted = Some(Accepted {
        client_id: claims.client_id,
        kid: claims.kid.as_str().to_string(),
        organization_id: client.consumer_id,
        assertion_jti: claims.jti,
        assertion_exp: claims.exp,
        assertion_claims: jwt.payload.clone(),
        digest: claims.digest,
        grant,
    });
    Ok(())
}

/// What step 1 gets out of the assertion.
struct Claims {
    kid: Kid,
    jti: String,
    exp: i64,
    client_id: ClientId,
    purpose_id: Option<PurposeId>,
    digest: Option<Value>,
}

/// Step 1: the header and the claims.
fn assertion_step(
    run: &mut Run,
    jwt: &Compact,
    req: &Request,
    expected_audience: &str,
    now: i64,
    hardened: Option<Hardened>,
) -> Result<Claims, Stop> {
    let h = &jwt.header;
    let p = &jwt.payload;
    let form_id = match req.client_id {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(s)) => {
            run.fail(
                Reason::InvalidClientIdFormat,
                format!("client_id {:?} is not a UUID", short(s)),
                format!("Il client_id «{}» non è un UUID", short(s)),
            )?;
            None
        }
    };

    // Header.
    match h.get("alg") {
        None => run.fail(
            Reason::AlgorithmNotFound,
            "the header has no alg",
            "L'header non contiene il campo ALG (algoritmo): deve essere RS256",
        )?,
        Some(Value::String(a)) if a == "RS256" => {}
        Some(a) => {
            // Untrusted and unbounded (up to the body's size): cut for the log.
            let a = short(&a.to_string());
            run.fail(
                Reason::AlgorithmNotAllowed,
                format!("alg is {a}, only RS256 is allowed"),
                format!("L'algoritmo ALG {a} non è ammesso: deve essere RS256"),
            )?
        }
    }
    let kid = match h.get("kid") {
        None => {
            run.fail(
                Reason::KidNotFound,
                "the header has no kid",
                "L'header non contiene il campo KID (l'id della chiave pubblica depositata)",
            )?;
            None
        }
        Some(Value::String(k)) => match Kid::parse(k) {
            Ok(k) => Some(k),
            Err(_) => {
                run.fail(
                    Reason::InvalidKidFormat,
                    format!("kid {:?} is not a key id of this platform (43 base64url characters)", short(k)),
                    format!("Il KID «{}» non è un id di chiave della piattaforma (43 caratteri base64url)", short(k)),
                )?;
                None
            }
        },
        Some(_) => {
            run.fail(Reason::InvalidKidFormat, "kid is not a string", "Il KID non è una stringa")?;
            None
        }
    };

    // Payload.
    let jti = match str_claim(p, "jti") {
        Some(Ok(j)) if !j.is_empty() => Some(j.to_string()),
        _ => {
            run.fail(
                Reason::JtiNotFound,
                "the payload has no jti (a string)",
                "Il payload non contiene il claim JTI (una stringa)",
            )?;
            None
        }
    };
    let iat = match int_claim(p, "iat") {
        Some(Ok(v)) => Some(v),
        _ => {
            run.fail(
                Reason::IssuedAtNotFound,
                "the payload has no iat (seconds since the epoch)",
                "Il payload non contiene il claim IAT (secondi dal 1970)",
            )?;
            None
        }
    };
    let exp = match int_claim(p, "exp") {
        Some(Ok(v)) => Some(v),
        _ => {
            run.fail(
                Reason::ExpNotFound,
                "the payload has no exp (seconds since the epoch)",
                "Il payload non contiene il claim EXP (secondi dal 1970)",
            )?;
            None
        }
    };
    let skew = hardened.map_or(0, |h| h.clock_skew_secs);
    if let Some(exp) = exp {
        if exp.saturating_add(skew) <= now {
            run.fail(
                Reason::TokenExpiredError,
                format!("the assertion expired at {exp}, it is now {now}"),
                format!("La client assertion è scaduta: EXP è {exp}, ora è {now}"),
            )?;
        }
    }
    match int_claim(p, "nbf") {
        None => {}
        Some(Ok(nbf)) if nbf.saturating_sub(skew) <= now => {}
        Some(Ok(nbf)) => run.fail(
            Reason::NotBeforeError,
            format!("nbf is {nbf}: the assertion is not valid before then (now {now})"),
            format!("Il claim NBF è {nbf}: la client assertion non è ancora valida (ora è {now})"),
        )?,
        Some(Err(())) => run.fail(Reason::NotBeforeError, "nbf is not a number", "Il claim NBF non è un numero")?,
    }
    if let (Some(h), Some(iat)) = (hardened, iat) {
        if iat > now.saturating_add(h.clock_skew_secs) {
            run.fail(
                Reason::IssuedAtInFuture,
                format!("iat is {iat}, in the future (now {now}, {} s of skew allowed)", h.clock_skew_secs),
                format!("Il claim IAT è {iat}, nel futuro (ora è {now}, tolleranza {} secondi)", h.clock_skew_secs),
            )?;
        }
    }
    if let (Some(h), Some(iat), Some(exp)) = (hardened, iat, exp) {
        // Both from the lifetime it claims and from now: `iat` could be made up to
        // keep `exp - iat` small while `exp` is years ahead.
        let lives = exp.checked_sub(iat).unwrap_or(i64::MAX);
        let ahead = exp.checked_sub(now).unwrap_or(i64::MAX);
        let most = h.max_lifetime_secs;
        if lives > most || ahead > most.saturating_add(h.clock_skew_secs) {
            run.fail(
                Reason::AssertionLifetimeTooLong,
                format!("the assertion lives {lives} s ({ahead} s from now), more than the {most} s allowed"),
                format!("La client assertion dura {lives} secondi ({ahead} da ora), più dei {most} ammessi"),
            )?;
        }
    }
    let iss = match str_claim(p, "iss") {
        Some(Ok(s)) if !s.is_empty() => Some(s),
        _ => {
            run.fail(
                Reason::IssuerNotFound,
                "the payload has no iss",
                "Il payload non contiene il claim ISS (issuer)",
            )?;
            None
        }
    };
    let client_id = match str_claim(p, "sub") {
        Some(Ok(s)) if !s.is_empty() => match s.parse::<ClientId>() {
            Ok(c) => Some(c),
            Err(_) => {
                run.fail(
                    Reason::InvalidSubjectFormat,
                    format!("sub {:?} is not a UUID", short(s)),
                    format!("Il claim SUB (subject) «{}» non è un UUID: deve essere l'id del client", short(s)),
                )?;
                None
            }
        },
        _ => {
            run.fail(
                Reason::SubjectNotFound,
                "the payload has no sub (the client id)",
                "Il payload non contiene il claim SUB (subject, l'id del client)",
            )?;
            None
        }
    };
    if let (Some(_), Some(iss), Some(client_id)) = (hardened, iss, client_id) {
        // RFC 7523 §3: the issuer of a client assertion is the client itself.
        if iss != client_id.to_string() {
            run.fail(
                Reason::IssuerNotSubject,
                format!("iss {:?} is not the client {client_id} (sub)", short(iss)),
                format!("Il claim ISS «{}» non è il client {client_id} (SUB)", short(iss)),
            )?;
        }
    }
    if let (Some(form_id), Some(client_id)) = (form_id, client_id) {
        if form_id != client_id {
            run.fail(
                Reason::InvalidSubject,
                format!("sub {client_id} differs from the client_id field {form_id}"),
                format!("Il claim SUB (subject) {client_id} è diverso dal client_id {form_id}"),
            )?;
        }
    }
    match p.get("aud") {
        None => run.fail(
            Reason::AudienceNotFound,
            "the payload has no aud",
            "Il payload non contiene il claim AUD (audience)",
        )?,
        Some(Value::String(a)) if a == expected_audience => {}
        Some(Value::Array(list)) if list.iter().any(|a| a.as_str() == Some(expected_audience)) => {}
        Some(a) => run.fail(
            Reason::InvalidAudience,
            format!("aud is {}, it must be {expected_audience:?}", short(&a.to_string())),
            format!(
                "Il claim AUD (audience) non contiene l'audience corretta: è {}, deve essere «{expected_audience}»",
                short(&a.to_string())
            ),
        )?,
    }
    let purpose_id = match p.get("purposeId") {
        None => None,
        Some(Value::String(s)) => match s.parse::<PurposeId>() {
            Ok(id) => Some(id),
            Err(_) => {
                run.fail(
                    Reason::InvalidPurposeIdClaimFormat,
                    format!("purposeId {:?} is not a UUID", short(s)),
                    format!("Il claim purposeId «{}» non è un UUID", short(s)),
                )?;
                None
            }
        },
        Some(_) => {
            run.fail(
                Reason::InvalidPurposeIdClaimFormat,
                "purposeId is not a string",
                "Il claim purposeId non è una stringa",
            )?;
            None
        }
    };
    let digest = match p.get("digest") {
        None => None,
        Some(d) => check_digest(run, d)?,
    };
    match (kid, jti, exp, client_id) {
        (Some(kid), Some(jti), Some(exp), Some(client_id)) if run.found.is_empty() => {
            Ok(Claims { kid, jti, exp, client_id, purpose_id, digest })
        }
        _ => Err(Stop),
    }
}

/// Step 2: the client and its key.
fn key_step<'v>(
    run: &mut Run,
    view: &'v EnvView,
    c: &Claims,
    owner: Option<TenantId>,
) -> Result<(&'v ClientEntry, &'v varco_jose::RsaPublicKey), Stop> {
    let client_id = c.client_id;
    let kid = &c.kid;
    // For the debug tool, an unknown client, another organisation's client and a
    // key not found read the same.
    let not_found =
        format!("Il client {client_id} non ha una chiave pubblica con kid {kid} tra quelle depositate dal tuo ente");
    let client = match view.clients.get(&client_id) {
        Some(c) if owner.is_none_or(|o| o == c.consumer_id) => c,
        _ => {
            return run.stop(
                Reason::TokenGenerationStatesEntryNotFound,
                format!("no client {client_id} in this environment"),
                not_found,
            )
        }
    };
    let Some(key) = client.keys.get(kid.as_str()) else {
        return run.stop(
            Reason::TokenGenerationStatesEntryNotFound,
            format!("client {client_id} has no key with kid {kid}"),
            not_found,
        );
    };
    Ok((client, key))
}

/// Step 4, first part: the purpose the client may ask for.
fn client_purpose(run: &mut Run, client: &ClientEntry, c: &Claims) -> Result<Option<PurposeId>, Stop> {
    let client_id = c.client_id;
    let purpose = match (client.kind, c.purpose_id) {
        (ClientKind::Consumer, None) => run.stop(
            Reason::PurposeIdNotProvided,
            "a client e-service must send purposeId",
            "Il client è un client e-service: la client assertion deve contenere il claim purposeId",
        )?,
        (ClientKind::Consumer, Some(pid)) => {
            if !client.purposes.contains(&pid) {
                return run.stop(
                    Reason::TokenGenerationStatesEntryNotFound,
                    format!("client {client_id} is not associated with purpose {pid}"),
                    format!("Il client {client_id} non è associato alla finalità {pid}"),
                );
            }
            Some(pid)
        }
        (ClientKind::Api, Some(_)) => run.stop(
            Reason::UnexpectedPurposeId,
            "an API client must not send purposeId",
            "Il client è un client API Interoperabilità: la client assertion non deve contenere il claim purposeId",
        )?,
        (ClientKind::Api, None) => None,
    };
    Ok(purpose)
}

fn check_digest(run: &mut Run, d: &Value) -> Result<Option<Value>, Stop> {
    let Value::Object(m) = d else {
        run.fail(
            Reason::InvalidDigestClaim,
            "digest is not an object {alg, value}",
            "Il claim digest non è un oggetto {alg, value}",
        )?;
        return Ok(None);
    };
    if m.len() != 2 || !m.contains_key("alg") || !m.contains_key("value") {
        run.fail(
            Reason::InvalidDigestClaim,
            "digest must have exactly the members alg and value",
            "Il claim digest deve avere esattamente i campi alg e value",
        )?;
        return Ok(None);
    }
    if m.get("alg").and_then(Value::as_str) != Some("SHA256") {
        run.fail(Reason::InvalidHashAlgorithm, "digest.alg must be SHA256", "Il campo digest.alg deve essere SHA256")?;
        return Ok(None);
    }
    match m.get("value").and_then(Value::as_str) {
        Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Some(d.clone())),
        Some(v) => {
            run.fail(
                Reason::InvalidHashLength,
                format!("digest.value must be 64 hexadecimal characters, it has {}", v.len()),
                format!("Il campo digest.value deve avere 64 caratteri esadecimali, ne ha {}", v.len()),
            )?;
            Ok(None)
        }
        None => {
            run.fail(
                Reason::InvalidDigestClaim,
                "digest.value is not a string",
                "Il campo digest.value non è una stringa",
            )?;
            Ok(None)
        }
    }
}

/// Step 4: the states of the e-service version, the agreement and the purpose.
fn consumer_grant(run: &mut Run, view: &EnvView, consumer: TenantId, pid: PurposeId) -> Result<Grant, Stop> {
    let Some(purpose) = view.purposes.get(&pid) else {
        return run.stop(
            Reason::TokenGenerationStatesEntryNotFound,
            format!("purpose {pid} does not exist"),
            format!("La finalità {pid} non esiste"),
        );
    };
    if purpose.consumer_id != consumer {
        return run.stop(
            Reason::TokenGenerationStatesEntryNotFound,
            format!("purpose {pid} belongs to another organisation"),
            format!("La finalità {pid} non esiste"),
        );
    }
    let Some(es) = view.eservices.get(&purpose.eservice_id) else {
        return run.stop(
            Reason::InvalidEServiceState,
            format!("e-service {} does not exist", purpose.eservice_id),
            format!("L'e-service {} non esiste", purpose.eservice_id),
        );
    };
    let Some(agreement) = view.agreement_for(consumer, purpose.eservice_id) else {
        return run.stop(
            Reason::InvalidAgreementState,
            "the organisation has no agreement on the purpose's e-service",
            "Il tuo ente non ha una richiesta di fruizione sull'e-service della finalità",
        );
    };
    let Some(descriptor) = es.descriptors.iter().find(|d| d.id == agreement.descriptor_id) else {
        return run.stop(
            Reason::InvalidEServiceState,
            "the agreement's e-service version does not exist",
            "La versione dell'e-service della richiesta di fruizione non esiste",
        );
    };
    if !descriptor.state.is_active() {
        run.fail(
            Reason::InvalidEServiceState,
            format!("the e-service version is {:?}, it must be Published or Deprecated", descriptor.state),
            format!(
                "La versione dell'e-service non è attiva (stato {:?}): deve essere pubblicata o deprecata",
                descriptor.state
            ),
        )?;
    }
    if agreement.state != AgreementState::Active {
        run.fail(
            Reason::InvalidAgreementState,
            format!(
                "the agreement (richiesta di fruizione) {} is {:?}, it must be Active",
                agreement.id, agreement.state
            ),
            format!("La richiesta di fruizione {} non è attiva (stato {:?})", agreement.id, agreement.state),
        )?;
    }
    let Some(version) = purpose.active_version else {
        return run.stop(
            Reason::InvalidPurposeState,
            format!("purpose {pid} has no active version (versions: {:?})", purpose.version_states),
            format!("La finalità {pid} non ha una versione attiva (versioni: {:?})", purpose.version_states),
        );
    };
    if !run.found.is_empty() {
        return Err(Stop);
    }
    Ok(Grant::Consumer {
        purpose_id: pid,
        purpose_version_id: version,
        agreement_id: agreement.id,
        eservice_id: purpose.eservice_id,
        descriptor_id: descriptor.id,
        producer_id: es.producer_id,
        audience: descriptor.audience.clone(),
        voucher_lifespan: descriptor.voucher_lifespan,
    })
}
