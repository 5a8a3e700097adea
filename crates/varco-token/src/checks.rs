//! Every check of a token request, in the order of the voucher contract. The same
//! function serves the token endpoint (which hides the reason behind a generic 400)
//! and the "Debug client assertion" tool (which explains it).
use crate::view::EnvView;
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

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Varco's own hardening, off by default (PDND has none of it).
#[derive(Debug, Clone, Copy)]
pub struct Hardened {
    /// Refuse assertions living longer than this (exp - iat).
    pub max_lifetime_secs: i64,
    /// Tolerance for exp/nbf against our clock.
    pub clock_skew_secs: i64,
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

/// Runs every check of the contract, in order, against the environment's view.
pub fn check_assertion(
    form: &TokenForm,
    expected_audience: &str,
    view: &EnvView,
    now: i64,
    hardened: Option<Hardened>,
) -> Result<Accepted, Refusal> {
    let jwt = match Compact::parse(&form.client_assertion) {
        Ok(j) => j,
        Err(e) => return refuse(Reason::InvalidClientAssertionFormat, format!("client_assertion is not a JWS: {e}")),
    };
    let h = &jwt.header;
    let p = &jwt.payload;

    // Header.
    match h.get("alg") {
        None => return refuse(Reason::AlgorithmNotFound, "the header has no alg"),
        Some(Value::String(a)) if a == "RS256" => {}
        Some(a) => return refuse(Reason::AlgorithmNotAllowed, format!("alg is {a}, only RS256 is allowed")),
    }
    let kid = match h.get("kid") {
        None => return refuse(Reason::KidNotFound, "the header has no kid"),
        Some(Value::String(k)) => match Kid::parse(k) {
            Ok(k) => k,
            Err(_) => {
                return refuse(
                    Reason::InvalidKidFormat,
                    format!("kid {:?} is not a key id of this platform (43 base64url characters)", short(k)),
                )
            }
        },
        Some(_) => return refuse(Reason::InvalidKidFormat, "kid is not a string"),
    };

    // Payload.
    let jti = match str_claim(p, "jti") {
        Some(Ok(j)) if !j.is_empty() => j.to_string(),
        _ => return refuse(Reason::JtiNotFound, "the payload has no jti (a string)"),
    };
    let iat = match int_claim(p, "iat") {
        Some(Ok(v)) => v,
        _ => return refuse(Reason::IssuedAtNotFound, "the payload has no iat (seconds since the epoch)"),
    };
    let exp = match int_claim(p, "exp") {
        Some(Ok(v)) => v,
        _ => return refuse(Reason::ExpNotFound, "the payload has no exp (seconds since the epoch)"),
    };
    let skew = hardened.map_or(0, |h| h.clock_skew_secs);
    if exp + skew <= now {
        return refuse(Reason::TokenExpiredError, format!("the assertion expired at {exp}, it is now {now}"));
    }
    match int_claim(p, "nbf") {
        None => {}
        Some(Ok(nbf)) if nbf - skew <= now => {}
        Some(Ok(nbf)) => {
            return refuse(
                Reason::NotBeforeError,
                format!("nbf is {nbf}: the assertion is not valid before then (now {now})"),
            )
        }
        Some(Err(())) => return refuse(Reason::NotBeforeError, "nbf is not a number"),
    }
    if let Some(h) = hardened {
        if exp - iat > h.max_lifetime_secs {
            return refuse(
                Reason::AssertionLifetimeTooLong,
                format!("the assertion lives {} s, more than the {} s allowed", exp - iat, h.max_lifetime_secs),
            );
        }
    }
    match str_claim(p, "iss") {
        Some(Ok(s)) if !s.is_empty() => {}
        _ => return refuse(Reason::IssuerNotFound, "the payload has no iss"),
    }
    let sub = match str_claim(p, "sub") {
        Some(Ok(s)) if !s.is_empty() => s,
        _ => return refuse(Reason::SubjectNotFound, "the payload has no sub (the client id)"),
    };
    let client_id = match sub.parse::<ClientId>() {
        Ok(c) => c,
        Err(_) => return refuse(Reason::InvalidSubjectFormat, format!("sub {:?} is not a UUID", short(sub))),
    };
    if let Some(form_id) = form.client_id {
        if form_id != client_id {
            return refuse(
                Reason::InvalidSubject,
                format!("sub {client_id} differs from the client_id field {form_id}"),
            );
        }
    }
    match p.get("aud") {
        None => return refuse(Reason::AudienceNotFound, "the payload has no aud"),
        Some(Value::String(a)) if a == expected_audience => {}
        Some(Value::Array(list)) if list.iter().any(|a| a.as_str() == Some(expected_audience)) => {}
        Some(a) => {
            return refuse(
                Reason::InvalidAudience,
                format!("aud is {}, it must be {expected_audience:?}", short(&a.to_string())),
            )
        }
    }
    let purpose_id = match p.get("purposeId") {
        None => None,
        Some(Value::String(s)) => match s.parse::<PurposeId>() {
            Ok(id) => Some(id),
            Err(_) => {
                return refuse(Reason::InvalidPurposeIdClaimFormat, format!("purposeId {:?} is not a UUID", short(s)))
            }
        },
        Some(_) => return refuse(Reason::InvalidPurposeIdClaimFormat, "purposeId is not a string"),
    };
    let digest = match p.get("digest") {
        None => None,
        Some(d) => Some(check_digest(d)?),
    };

    // Key.
    let client = match view.clients.get(&client_id) {
        Some(c) => c,
        None => {
            return refuse(
                Reason::TokenGenerationStatesEntryNotFound,
                format!("no client {client_id} in this environment"),
            )
        }
    };
    let key = match client.keys.get(kid.as_str()) {
        Some(k) => k,
        None => {
            return refuse(
                Reason::TokenGenerationStatesEntryNotFound,
                format!("client {client_id} has no key with kid {kid}"),
            )
        }
    };
    let grant_purpose = match (client.kind, purpose_id) {
        (ClientKind::Consumer, None) => {
            return refuse(Reason::PurposeIdNotProvided, "a client e-service must send purposeId")
        }
        (ClientKind::Consumer, Some(pid)) => {
            if !client.purposes.contains(&pid) {
                return refuse(
                    Reason::TokenGenerationStatesEntryNotFound,
                    format!("client {client_id} is not associated with purpose {pid}"),
                );
            }
            Some(pid)
        }
        (ClientKind::Api, Some(_)) => {
            return refuse(Reason::UnexpectedPurposeId, "an API client must not send purposeId")
        }
        (ClientKind::Api, None) => None,
    };

    // Signature.
    if !key.verify_rs256(jwt.signing_input.as_bytes(), &jwt.signature) {
        return refuse(Reason::InvalidSignature, format!("the signature does not verify with key {kid}"));
    }

    // Platform state.
    let grant = match grant_purpose {
        None => Grant::Api { admin_id: client.admin_id },
        Some(pid) => consumer_grant(view, client.consumer_id, pid)?,
    };

    Ok(Accepted {
        client_id,
        kid: kid.as_str().to_string(),
        organization_id: client.consumer_id,
        assertion_jti: jti,
        assertion_exp: exp,
        assertion_claims: p.clone(),
        digest,
        grant,
    })
}

fn check_digest(d: &Value) -> Result<Value, Refusal> {
    let Value::Object(m) = d else {
        return refuse(Reason::InvalidDigestClaim, "digest is not an object {alg, value}");
    };
    if m.len() != 2 || !m.contains_key("alg") || !m.contains_key("value") {
        return refuse(Reason::InvalidDigestClaim, "digest must have exactly the members alg and value");
    }
    if m.get("alg").and_then(Value::as_str) != Some("SHA256") {
        return refuse(Reason::InvalidHashAlgorithm, "digest.alg must be SHA256");
    }
    match m.get("value").and_then(Value::as_str) {
        Some(v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(d.clone()),
        Some(v) => refuse(
            Reason::InvalidHashLength,
            format!("digest.value must be 64 hexadecimal characters, it has {}", v.len()),
        ),
        None => refuse(Reason::InvalidDigestClaim, "digest.value is not a string"),
    }
}

fn consumer_grant(view: &EnvView, consumer: TenantId, pid: PurposeId) -> Result<Grant, Refusal> {
    let Some(purpose) = view.purposes.get(&pid) else {
        return refuse(Reason::TokenGenerationStatesEntryNotFound, format!("purpose {pid} does not exist"));
    };
    if purpose.consumer_id != consumer {
        return refuse(
            Reason::TokenGenerationStatesEntryNotFound,
            format!("purpose {pid} belongs to another organisation"),
        );
    }
    let Some(es) = view.eservices.get(&purpose.eservice_id) else {
        return refuse(Reason::InvalidEServiceState, format!("e-service {} does not exist", purpose.eservice_id));
    };
    let Some(agreement) = view.agreement_for(consumer, purpose.eservice_id) else {
        return refuse(Reason::InvalidAgreementState, "the organisation has no agreement on the purpose's e-service");
    };
    let Some(descriptor) = es.descriptors.iter().find(|d| d.id == agreement.descriptor_id) else {
        return refuse(Reason::InvalidEServiceState, "the agreement's e-service version does not exist");
    };
    if !descriptor.state.is_active() {
        return refuse(
            Reason::InvalidEServiceState,
            format!("the e-service version is {:?}, it must be Published or Deprecated", descriptor.state),
        );
    }
    if agreement.state != AgreementState::Active {
        return refuse(
            Reason::InvalidAgreementState,
            format!(
                "the agreement (richiesta di fruizione) {} is {:?}, it must be Active",
                agreement.id, agreement.state
            ),
        );
    }
    let Some(version) = purpose.active_version else {
        return refuse(
            Reason::InvalidPurposeState,
            format!("purpose {pid} has no active version (versions: {:?})", purpose.version_states),
        );
    };
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
