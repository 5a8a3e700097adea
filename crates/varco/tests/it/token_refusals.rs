//! The token endpoint over HTTP: every refusal reason of `varco_token::checks::Reason`
//! gets the one generic 400 of the contract on the wire and its precise name in the
//! log (tied by the correlation id) and in the "Debug client assertion" tool; and the
//! vouchers that are issued carry what the contract says.
use crate::common;
use varco_platform::Caller;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};
use sha2::Digest as _;
use std::collections::BTreeSet;
use varco::both_backends;
use varco::testkit::{spawn_app, spawn_app_with, TestApp};
use varco_domain::*;
use varco_jose::RsaPrivateKey;
use varco_platform::demo::{COMUNE_DI_ESEMPIO, COMUNE_DI_PROVA, PAGOPA, SEND_UAT, SEND_UAT_AUDIENCE};

// ------------------------------------------------------------ the case table

/// What the refusal tests need: two consumers of SEND in Collaudo, an API client, and
/// a key the platform has never seen.
struct Ctx<'a> {
    app: &'a TestApp,
    consumer: Consumer,
    /// Comune di Esempio, with its own purpose, client and key.
    other: Consumer,
    api: ApiClient,
    stranger: RsaPrivateKey,
    /// Maria Bianchi of Comune di Prova on "Debug client assertion", and the form's token.
    debug_page: (common::web::Browser, String),
}

impl Ctx<'_> {
    fn assertion(&self) -> String {
        self.consumer.assertion(self.app)
    }
    fn with(&self, f: impl FnOnce(&mut Map<String, Value>, &mut Map<String, Value>)) -> String {
        self.consumer.assertion_with(self.app, f)
    }
    fn token_url(&self) -> String {
        self.app.running.platform.config(Env::Collaudo).token_url.clone()
    }
}

/// One token request, and how the debug tool can be asked about it.
struct Req {
    form: Vec<(String, String)>,
    dpop: Vec<String>,
    /// (assertion, client_id) for `debug_report`; None when the cause is outside the
    /// assertion (form fields, DPoP header, replay), which the tool does not see.
    debug: Option<(String, Option<String>)>,
    /// Send the same request once first and expect a voucher (replay cases).
    warmup: bool,
}

impl Req {
    fn assertion(a: String) -> Req {
        Req { form: token_form(&a, None), dpop: vec![], debug: Some((a, None)), warmup: false }
    }
    fn form(form: Vec<(String, String)>) -> Req {
        Req { form, dpop: vec![], debug: None, warmup: false }
    }
    fn client_id(mut self, id: &str) -> Req {
        self.form.push(("client_id".into(), id.into()));
        if let Some(d) = &mut self.debug {
            d.1 = Some(id.into());
        }
        self
    }
    fn dpop(mut self, proof: String) -> Req {
        self.dpop.push(proof);
        self.debug = None;
        self
    }
    fn replayed(mut self) -> Req {
        self.warmup = true;
        self.debug = None;
        self
    }
}

fn set(form: &mut Vec<(String, String)>, k: &str, v: &str) {
    form.retain(|(name, _)| name != k);
    form.push((k.into(), v.into()));
}

fn remove(form: &mut Vec<(String, String)>, k: &str) {
    form.retain(|(name, _)| name != k);
}

struct Case {
    name: &'static str,
    reason: &'static str,
    build: fn(&Ctx) -> Req,
}

fn hex64() -> String {
    hex::encode(sha2::Sha256::digest(b"tracking evidence"))
}

/// Every reason that depends only on the request (the platform state stays valid).
const CASES: &[Case] = &[
    Case {
        name: "a form field given twice",
        reason: "invalidRequest",
        build: |c| {
            let mut f = token_form(&c.assertion(), None);
            f.push(("grant_type".into(), "client_credentials".into()));
            Req::form(f)
        },
    },
    Case {
        name: "client_assertion_type of another profile",
        reason: "invalidAssertionType",
        build: |c| {
            let mut f = token_form(&c.assertion(), None);
            set(&mut f, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer");
            Req::form(f)
        },
    },
    Case {
        name: "client_assertion_type missing",
        reason: "invalidAssertionType",
        build: |c| {
            let mut f = token_form(&c.assertion(), None);
            remove(&mut f, "client_assertion_type");
            Req::form(f)
        },
    },
    Case {
        name: "grant_type password",
        reason: "invalidGrantType",
        build: |c| {
            let mut f = token_form(&c.assertion(), None);
            set(&mut f, "grant_type", "password");
            Req::form(f)
        },
    },
    Case {
        name: "grant_type missing",
        reason: "invalidGrantType",
        build: |c| {
            let mut f = token_form(&c.assertion(), None);
            remove(&mut f, "grant_type");
            Req::form(f)
        },
    },
    Case {
        name: "client_assertion missing",
        reason: "clientAssertionNotFound",
        build: |c| {
            let mut f = token_form(&c.assertion(), None);
            remove(&mut f, "client_assertion");
            Req::form(f)
        },
    },
    Case {
        name: "client_assertion empty",
        reason: "clientAssertionNotFound",
        build: |_| Req::assertion(String::new()),
    },
    Case {
        name: "client_id not a UUID",
        reason: "invalidClientIdFormat",
        build: |c| Req::assertion(c.assertion()).client_id("not-a-uuid"),
    },
    Case {
        name: "client_id UUID without hyphens",
        reason: "invalidClientIdFormat",
        build: |c| Req::assertion(c.assertion()).client_id(&c.consumer.client_id.0.simple().to_string()),
    },
    Case {
        name: "assertion with two parts",
        reason: "invalidClientAssertionFormat",
        build: |c| {
            let a = c.assertion();
            Req::assertion(a[..a.rfind('.').unwrap()].to_string())
        },
    },
    Case {
        name: "assertion not base64url",
        reason: "invalidClientAssertionFormat",
        build: |_| Req::assertion("e30=.e30=.c2ln".into()),
    },
    Case {
        name: "assertion payload not JSON",
        reason: "invalidClientAssertionFormat",
        build: |c| {
            let a = c.assertion();
            let parts: Vec<&str> = a.split('.').collect();
            Req::assertion(format!("{}.{}.{}", parts[0], varco_jose::b64url_encode(b"not json"), parts[2]))
        },
    },
    Case {
        name: "alg missing",
        reason: "algorithmNotFound",
        build: |c| {
            Req::assertion(c.with(|h, _| {
                h.remove("alg");
            }))
        },
    },
    Case {
        name: "alg HS256",
        reason: "algorithmNotAllowed",
        build: |c| {
            Req::assertion(c.with(|h, _| {
                h.insert("alg".into(), json!("HS256"));
            }))
        },
    },
    Case {
        name: "alg none",
        reason: "algorithmNotAllowed",
        build: |c| {
            let a = c.with(|h, _| {
                h.insert("alg".into(), json!("none"));
            });
            Req::assertion(format!("{}.", &a[..a.rfind('.').unwrap()]))
        },
    },
    Case {
        name: "alg RS512",
        reason: "algorithmNotAllowed",
        build: |c| {
            Req::assertion(c.with(|h, _| {
                h.insert("alg".into(), json!("RS512"));
            }))
        },
    },
    Case {
        name: "kid missing",
        reason: "kidNotFound",
        build: |c| {
            Req::assertion(c.with(|h, _| {
                h.remove("kid");
            }))
        },
    },
    Case {
        name: "kid too short",
        reason: "invalidKidFormat",
        build: |c| {
            Req::assertion(c.with(|h, _| {
                h.insert("kid".into(), json!("my-key-1"));
            }))
        },
    },
    Case {
        name: "kid a number",
        reason: "invalidKidFormat",
        build: |c| {
            Req::assertion(c.with(|h, _| {
                h.insert("kid".into(), json!(42));
            }))
        },
    },
    Case {
        name: "jti missing",
        reason: "jtiNotFound",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.remove("jti");
            }))
        },
    },
    Case {
        name: "jti a number",
        reason: "jtiNotFound",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("jti".into(), json!(7));
            }))
        },
    },
    Case {
        name: "iat missing",
        reason: "issuedAtNotFound",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.remove("iat");
            }))
        },
    },
    Case {
        name: "iat a string",
        reason: "issuedAtNotFound",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("iat".into(), json!("yesterday"));
            }))
        },
    },
    Case {
        name: "exp missing",
        reason: "expNotFound",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.remove("exp");
            }))
        },
    },
    Case {
        name: "expired a second ago",
        reason: "tokenExpiredError",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("iat".into(), json!(now() - 600));
                p.insert("exp".into(), json!(now() - 1));
            }))
        },
    },
    Case {
        name: "nbf in the future",
        reason: "notBeforeError",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("nbf".into(), json!(now() + 300));
            }))
        },
    },
    Case {
        name: "iss missing",
        reason: "issuerNotFound",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.remove("iss");
            }))
        },
    },
    Case {
        name: "sub missing",
        reason: "subjectNotFound",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.remove("sub");
            }))
        },
    },
    Case {
        name: "sub not a UUID",
        reason: "invalidSubjectFormat",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("sub".into(), json!("client-di-prova"));
            }))
        },
    },
    Case {
        name: "sub differs from client_id",
        reason: "invalidSubject",
        build: |c| Req::assertion(c.assertion()).client_id(&ClientId::new().to_string()),
    },
    Case {
        name: "aud missing",
        reason: "audienceNotFound",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.remove("aud");
            }))
        },
    },
    Case {
        name: "aud of PDND's collaudo",
        reason: "invalidAudience",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("aud".into(), json!("auth.uat.interop.pagopa.it/client-assertion"));
            }))
        },
    },
    Case {
        name: "aud of another environment of this Varco",
        reason: "invalidAudience",
        build: |c| {
            let prod = assertion_audience(c.app, Env::Produzione);
            Req::assertion(c.with(|_, p| {
                p.insert("aud".into(), json!(prod));
            }))
        },
    },
    Case {
        name: "aud an array without ours",
        reason: "invalidAudience",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("aud".into(), json!(["a", "b"]));
            }))
        },
    },
    Case {
        name: "purposeId not a UUID",
        reason: "invalidPurposeIdClaimFormat",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("purposeId".into(), json!("finalita-1"));
            }))
        },
    },
    Case {
        name: "purposeId a number",
        reason: "invalidPurposeIdClaimFormat",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("purposeId".into(), json!(1));
            }))
        },
    },
    Case {
        name: "digest a string",
        reason: "invalidDigestClaim",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("digest".into(), json!(hex64()));
            }))
        },
    },
    Case {
        name: "digest with an extra member",
        reason: "invalidDigestClaim",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("digest".into(), json!({ "alg": "SHA256", "value": hex64(), "x": 1 }));
            }))
        },
    },
    Case {
        name: "digest alg SHA512",
        reason: "invalidHashAlgorithm",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("digest".into(), json!({ "alg": "SHA512", "value": hex64() }));
            }))
        },
    },
    Case {
        name: "digest value of 63 characters",
        reason: "invalidHashLength",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("digest".into(), json!({ "alg": "SHA256", "value": &hex64()[1..] }));
            }))
        },
    },
    Case {
        name: "unknown client",
        reason: "tokenGenerationStatesEntryNotFound",
        build: |c| {
            let stranger = ClientId::new().to_string();
            Req::assertion(c.with(|_, p| {
                p.insert("sub".into(), json!(stranger));
                p.insert("iss".into(), json!(stranger));
            }))
        },
    },
    Case {
        name: "unknown kid",
        reason: "tokenGenerationStatesEntryNotFound",
        build: |c| {
            let (mut h, p) =
                assertion_parts(c.app, Env::Collaudo, "", c.consumer.client_id, Some(c.consumer.purpose_id));
            h.insert("kid".into(), json!(c.stranger.kid().to_string()));
            Req::assertion(sign(&h, &p, &c.stranger))
        },
    },
    Case {
        name: "kid of another client",
        reason: "tokenGenerationStatesEntryNotFound",
        build: |c| {
            let (h, p) =
                assertion_parts(c.app, Env::Collaudo, &c.other.kid, c.consumer.client_id, Some(c.consumer.purpose_id));
            Req::assertion(sign(&h, &p, &c.other.key))
        },
    },
    Case {
        name: "client not associated with the purpose (another tenant's)",
        reason: "tokenGenerationStatesEntryNotFound",
        build: |c| {
            let other = c.other.purpose_id.to_string();
            Req::assertion(c.with(|_, p| {
                p.insert("purposeId".into(), json!(other));
            }))
        },
    },
    Case {
        name: "client not associated with an unknown purpose",
        reason: "tokenGenerationStatesEntryNotFound",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("purposeId".into(), json!(PurposeId::new().to_string()));
            }))
        },
    },
    Case {
        name: "consumer client without purposeId",
        reason: "purposeIdNotProvided",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.remove("purposeId");
            }))
        },
    },
    Case {
        name: "API client with purposeId",
        reason: "unexpectedPurposeId",
        build: |c| {
            let purpose = c.consumer.purpose_id.to_string();
            Req::assertion(c.api.assertion_with(c.app, |_, p| {
                p.insert("purposeId".into(), json!(purpose));
            }))
        },
    },
    Case {
        name: "signed by another key with the client's kid",
        reason: "invalidSignature",
        build: |c| {
            let (h, p) = assertion_parts(
                c.app,
                Env::Collaudo,
                &c.consumer.kid,
                c.consumer.client_id,
                Some(c.consumer.purpose_id),
            );
            Req::assertion(sign(&h, &p, &c.stranger))
        },
    },
    Case {
        name: "payload changed after signing",
        reason: "invalidSignature",
        build: |c| {
            let a = c.assertion();
            let b = c.with(|_, p| {
                p.insert("exp".into(), json!(now() + 86_400 * 365));
            });
            let (a_parts, b_parts): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
            Req::assertion(format!("{}.{}.{}", a_parts[0], b_parts[1], a_parts[2]))
        },
    },
    Case {
        name: "DPoP proof not a JWT",
        reason: "dpopProofInvalid",
        build: |c| Req::assertion(c.assertion()).dpop("not-a-proof".into()),
    },
    Case {
        name: "DPoP proof for another URL",
        reason: "dpopProofInvalid",
        build: |c| {
            let k = RsaPrivateKey::generate_2048();
            let proof = varco_jose::build_dpop_proof(
                &k,
                "POST",
                "https://auth.uat.interop.pagopa.it/token.oauth2",
                now(),
                &uuid::Uuid::new_v4().to_string(),
                None,
            );
            Req::assertion(c.assertion()).dpop(proof)
        },
    },
    Case {
        name: "DPoP proof for GET",
        reason: "dpopProofInvalid",
        build: |c| {
            let k = RsaPrivateKey::generate_2048();
            let proof =
                varco_jose::build_dpop_proof(&k, "GET", &c.token_url(), now(), &uuid::Uuid::new_v4().to_string(), None);
            Req::assertion(c.assertion()).dpop(proof)
        },
    },
    Case {
        name: "DPoP proof too old",
        reason: "dpopProofInvalid",
        build: |c| {
            let k = RsaPrivateKey::generate_2048();
            let proof = varco_jose::build_dpop_proof(
                &k,
                "POST",
                &c.token_url(),
                now() - 120,
                &uuid::Uuid::new_v4().to_string(),
                None,
            );
            Req::assertion(c.assertion()).dpop(proof)
        },
    },
    Case {
        name: "two DPoP headers",
        reason: "dpopProofInvalid",
        build: |c| {
            let k = RsaPrivateKey::generate_2048();
            let proof = |jti: &str| varco_jose::build_dpop_proof(&k, "POST", &c.token_url(), now(), jti, None);
            Req::assertion(c.assertion()).dpop(proof("one")).dpop(proof("two"))
        },
    },
    Case {
        name: "DPoP proof replayed",
        reason: "dpopJtiAlreadyUsed",
        build: |c| {
            let k = RsaPrivateKey::generate_2048();
            let proof = varco_jose::build_dpop_proof(
                &k,
                "POST",
                &c.token_url(),
                now(),
                &uuid::Uuid::new_v4().to_string(),
                None,
            );
            Req::assertion(c.assertion()).dpop(proof).replayed()
        },
    },
];

/// Two defects at once, each pair from neighbouring checks of the contract: the
/// reason reported is the earlier check's. A reordering of the checks fails here,
/// where one defect per request could not tell.
const ORDER_CASES: &[Case] = &[
    Case {
        name: "assertion type and grant type both wrong",
        reason: "invalidAssertionType",
        build: |c| {
            let mut form = token_form(&c.assertion(), None);
            set(&mut form, "client_assertion_type", "urn:nope");
            set(&mut form, "grant_type", "password");
            Req::form(form)
        },
    },
    Case {
        name: "grant type wrong and client_id not a UUID",
        reason: "invalidGrantType",
        build: |c| {
            let mut form = token_form(&c.assertion(), Some("not-a-uuid"));
            set(&mut form, "grant_type", "password");
            Req::form(form)
        },
    },
    Case {
        name: "alg HS256 and no kid",
        reason: "algorithmNotAllowed",
        build: |c| {
            Req::assertion(c.with(|h, _| {
                h.insert("alg".into(), json!("HS256"));
                h.remove("kid");
            }))
        },
    },
    Case {
        name: "kid malformed and no jti",
        reason: "invalidKidFormat",
        build: |c| {
            Req::assertion(c.with(|h, p| {
                h.insert("kid".into(), json!("short"));
                p.remove("jti");
            }))
        },
    },
    Case {
        name: "no jti and no iat",
        reason: "jtiNotFound",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.remove("jti");
                p.remove("iat");
            }))
        },
    },
    Case {
        name: "no iat and no exp",
        reason: "issuedAtNotFound",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.remove("iat");
                p.remove("exp");
            }))
        },
    },
    Case {
        name: "expired and not yet valid",
        reason: "tokenExpiredError",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("exp".into(), json!(now() - 60));
                p.insert("nbf".into(), json!(now() + 600));
            }))
        },
    },
    Case {
        name: "not yet valid and no iss",
        reason: "notBeforeError",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("nbf".into(), json!(now() + 600));
                p.remove("iss");
            }))
        },
    },
    Case {
        name: "no iss and no sub",
        reason: "issuerNotFound",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.remove("iss");
                p.remove("sub");
            }))
        },
    },
    Case {
        name: "sub not a UUID and no aud",
        reason: "invalidSubjectFormat",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("sub".into(), json!("comune-di-prova"));
                p.remove("aud");
            }))
        },
    },
    Case {
        name: "sub differs from client_id and aud wrong",
        reason: "invalidSubject",
        build: |c| {
            let a = c.with(|_, p| {
                p.insert("aud".into(), json!("https://example.org"));
            });
            Req::assertion(a).client_id(&ClientId::new().to_string())
        },
    },
    Case {
        name: "aud wrong and purposeId not a UUID",
        reason: "invalidAudience",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("aud".into(), json!("https://example.org"));
                p.insert("purposeId".into(), json!("finalita-1"));
            }))
        },
    },
    Case {
        name: "purposeId not a UUID and digest malformed",
        reason: "invalidPurposeIdClaimFormat",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("purposeId".into(), json!("finalita-1"));
                p.insert("digest".into(), json!("sha256"));
            }))
        },
    },
    Case {
        name: "digest malformed and client unknown",
        reason: "invalidDigestClaim",
        build: |c| {
            let stranger = ClientId::new().to_string();
            Req::assertion(c.with(|_, p| {
                p.insert("digest".into(), json!({ "alg": "SHA256" }));
                p.insert("sub".into(), json!(stranger));
            }))
        },
    },
    // The signature is checked before anything of the state but the key.
    Case {
        name: "signed by another key, and the purpose another tenant's",
        reason: "invalidSignature",
        build: |c| {
            let (h, mut p) =
                assertion_parts(c.app, Env::Collaudo, &c.consumer.kid, c.consumer.client_id, Some(c.other.purpose_id));
            p.insert("purposeId".into(), json!(c.other.purpose_id.to_string()));
            Req::assertion(sign(&h, &p, &c.stranger))
        },
    },
    Case {
        name: "signed by another key, and no purposeId",
        reason: "invalidSignature",
        build: |c| {
            let (h, mut p) = assertion_parts(
                c.app,
                Env::Collaudo,
                &c.consumer.kid,
                c.consumer.client_id,
                Some(c.consumer.purpose_id),
            );
            p.remove("purposeId");
            Req::assertion(sign(&h, &p, &c.stranger))
        },
    },
];

/// With the e-service version, the agreement and the purpose all suspended: the
/// reason reported as each is restored in turn, and a bad signature before all.
const STATE_ORDER: &[(&str, &str)] = &[
    ("bad signature, version, agreement and purpose suspended", "invalidSignature"),
    ("version, agreement and purpose suspended", "invalidEServiceState"),
    ("agreement and purpose suspended", "invalidAgreementState"),
    ("purpose suspended", "invalidPurposeState"),
];

/// Reasons that come from the platform state: the change that causes each.
#[derive(Debug, Clone, Copy)]
enum Mutation {
    SuspendDescriptor,
    SuspendAgreement,
    SuspendPurposeByConsumer,
    SuspendPurposeByProducer,
    ArchivePurpose,
}

const STATE_CASES: &[(Mutation, &str)] = &[
    (Mutation::SuspendDescriptor, "invalidEServiceState"),
    (Mutation::SuspendAgreement, "invalidAgreementState"),
    (Mutation::SuspendPurposeByConsumer, "invalidPurposeState"),
    (Mutation::SuspendPurposeByProducer, "invalidPurposeState"),
    // Last: there is no way back from it.
    (Mutation::ArchivePurpose, "invalidPurposeState"),
];

/// Reasons of hardened mode only.
const HARDENED_CASES: &[Case] = &[
    Case {
        name: "assertion used twice",
        reason: "assertionJtiAlreadyUsed",
        build: |c| Req::assertion(c.assertion()).replayed(),
    },
    Case {
        name: "assertion expired 31 s ago, past the 30 s of skew",
        reason: "tokenExpiredError",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("iat".into(), json!(now() - 300));
                p.insert("exp".into(), json!(now() - 31));
            }))
        },
    },
    Case {
        // Accepted until exp + skew, so its jti must be remembered as long.
        name: "assertion replayed inside the skew window, after its exp",
        reason: "assertionJtiAlreadyUsed",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("iat".into(), json!(now() - 300));
                p.insert("exp".into(), json!(now() - 5));
            }))
            .replayed()
        },
    },
    Case {
        name: "assertion living one hour and one second",
        reason: "assertionLifetimeTooLong",
        build: |c| {
            let t = now();
            Req::assertion(c.with(|_, p| {
                p.insert("iat".into(), json!(t));
                p.insert("exp".into(), json!(t + 3601));
            }))
        },
    },
    Case {
        // exp - iat is one minute, but exp is years ahead: its jti would be kept as
        // long. With iat bounded by now, exp is too.
        name: "assertion expiring in ten years with iat a minute before exp",
        reason: "issuedAtInFuture",
        build: |c| {
            let exp = now() + 10 * 365 * 86_400;
            Req::assertion(c.with(|_, p| {
                p.insert("iat".into(), json!(exp - 60));
                p.insert("exp".into(), json!(exp));
            }))
        },
    },
    Case {
        name: "exp - iat overflows",
        reason: "assertionLifetimeTooLong",
        build: |c| {
            Req::assertion(c.with(|_, p| {
                p.insert("iat".into(), json!(i64::MIN));
                p.insert("exp".into(), json!(i64::MAX));
            }))
        },
    },
    Case {
        name: "iat 31 s in the future, past the 30 s of skew",
        reason: "issuedAtInFuture",
        build: |c| {
            let t = now();
            Req::assertion(c.with(|_, p| {
                p.insert("iat".into(), json!(t + 31));
                p.insert("exp".into(), json!(t + 120));
            }))
        },
    },
    Case {
        // RFC 7523: the issuer of a client assertion is the client.
        name: "iss is not the client",
        reason: "issuerNotSubject",
        build: |c| Req::assertion(c.with(|_, p| drop(p.insert("iss".into(), json!("https://comune.example"))))),
    },
];

async fn setup_ctx(app: &TestApp) -> Ctx<'_> {
    let consumer = setup_consumer(app, COMUNE_DI_PROVA).await;
    let other = setup_consumer(app, COMUNE_DI_ESEMPIO).await;
    let api = setup_api_client(app, Env::Collaudo, COMUNE_DI_PROVA, true).await;
    let b = common::web::Browser::new(&app.running.base_url);
    b.demo_login(varco_selfcare::demo::ADMIN_COMUNE.fiscal_code).await;
    b.enter_backoffice("Comune di Prova", "collaudo").await;
    let csrf = b.get(DEBUG_PAGE).await.csrf();
    Ctx { app, consumer, other, api, stranger: RsaPrivateKey::generate_2048(), debug_page: (b, csrf) }
}

/// Sends the request and checks the wire (generic 400), the log (reason with the
/// correlation id) and the debug tool (same reason, explained). Failures are
/// collected, so that one run lists every broken case.
#[derive(Default)]
struct Run {
    failures: Vec<String>,
    /// Vouchers issued to the consumer client along the way.
    issued: usize,
}

const DEBUG_PAGE: &str = "/interop/collaudo/tool-sviluppo/debug-voucher";

/// The step of PDND's debug tool where each reason belongs, written here from the
/// contract's grouping (not from the page's code): 1 the assertion's header and
/// claims, 2 the key, 3 the signature, 4 the states (the client's purpose among
/// them: only a signed assertion learns anything of the state beyond the key).
fn step_of(name: &str, reason: &str) -> u8 {
    match reason {
        "tokenGenerationStatesEntryNotFound" if name.contains("purpose") => 4,
        "tokenGenerationStatesEntryNotFound" => 2,
        "invalidSignature" => 3,
        "purposeIdNotProvided"
        | "unexpectedPurposeId"
        | "invalidEServiceState"
        | "invalidAgreementState"
        | "invalidPurposeState" => 4,
        _ => 1,
    }
}

/// The step of the debug page whose failures list `reason`, if any.
fn debug_page_step(body: &str, reason: &str) -> Option<u8> {
    let at = body.find(&format!("data-reason=\"{reason}\""))?;
    let before = &body[..at];
    let start = before.rfind("data-testid=\"passo-")? + "data-testid=\"passo-".len();
    before[start..].split('"').next()?.parse().ok()
}

async fn check(ctx: &Ctx<'_>, logs: &LogCapture, name: &str, reason: &str, req: Req, run: &mut Run) {
    let failures = &mut run.failures;
    if req.warmup {
        let first = post_token(ctx.app, Env::Collaudo, &req.form, &req.dpop).await;
        if first.status != StatusCode::OK {
            failures
                .push(format!("{name}: the first request should get a voucher, got {} {}", first.status, first.text));
            return;
        }
        run.issued += 1;
    }
    let r = post_token(ctx.app, Env::Collaudo, &req.form, &req.dpop).await;
    match check_generic_400(&r) {
        Err(e) => failures.push(format!("{name} ({reason}): {e}")),
        Ok(corr) => match logs.reason_for(&corr) {
            Some(logged) if logged == reason => {}
            other => failures.push(format!(
                "{name}: log reason {other:?}, expected {reason:?}; lines: {:?}",
                logs.lines_with(&corr)
            )),
        },
    }
    if let Some((assertion, client_id)) = &req.debug {
        // The back office's "Debug client assertion" names the same reason, in its step.
        let (b, csrf) = &ctx.debug_page;
        let page = b
            .post(
                DEBUG_PAGE,
                &[
                    ("csrf", csrf.as_str()),
                    ("client_assertion", assertion.as_str()),
                    ("dpop", ""),
                    ("client_id", client_id.as_deref().unwrap_or("")),
                ],
            )
            .await;
        match debug_page_step(&page.body, reason) {
            // Nothing to examine: the page asks for the assertion instead.
            _ if assertion.is_empty() && page.status.is_client_error() => {}
            Some(n) if n == step_of(name, reason) => {}
            found => failures.push(format!(
                "{name}: the debug page names {reason:?} in step {found:?}, expected step {}",
                step_of(name, reason)
            )),
        }
        let (report, ok) =
            varco::cli::debug_report(&ctx.app.running.token, Env::Collaudo, assertion, client_id.as_deref());
        let detail_ok = report["detail"].as_str().is_some_and(|d| !d.trim().is_empty());
        if ok || report["valid"] != json!(false) || report["reason"] != json!(reason) || !detail_ok {
            failures.push(format!("{name}: debug report {report}, expected reason {reason:?} with a detail"));
        }
    }
}

/// The assertion is valid again once the state is restored (so the case before
/// really tested only its own cause).
async fn expect_voucher(ctx: &Ctx<'_>, what: &str, run: &mut Run) {
    let r = request_voucher(ctx.app, Env::Collaudo, &ctx.assertion()).await;
    if r.status == StatusCode::OK {
        run.issued += 1;
    } else {
        run.failures.push(format!("{what}: expected a voucher, got {} {}", r.status, r.text));
    }
}

async fn mutate(ctx: &Ctx<'_>, m: Mutation, undo: bool) {
    let svc = ctx.app.running.platform.env(Env::Collaudo);
    let c = &ctx.consumer;
    let consumer = Caller::Person {
        env: Env::Collaudo,
        tenant: c.tenant_id,
        user: UserId::new(),
        roles: varco_platform::ProductRoles { admin: true, ..Default::default() },
    };
    let producer_id = svc.eservice(&Caller::Operator, c.eservice_id).await.unwrap().producer_id;
    let producer = Caller::Person {
        env: Env::Collaudo,
        tenant: producer_id,
        user: UserId::new(),
        roles: varco_platform::ProductRoles { admin: true, ..Default::default() },
    };
    match (m, undo) {
        (Mutation::SuspendDescriptor, _) => {
            let es = svc.eservice(&Caller::Operator, c.eservice_id).await.unwrap();
            let d = es.descriptors[0].id;
            if undo {
                svc.unsuspend_descriptor(&producer, es.id, d).await.unwrap();
            } else {
                svc.suspend_descriptor(&producer, es.id, d).await.unwrap();
            }
        }
        (Mutation::SuspendAgreement, false) => drop(svc.suspend_agreement(&producer, c.agreement_id).await.unwrap()),
        (Mutation::SuspendAgreement, true) => drop(svc.unsuspend_agreement(&producer, c.agreement_id).await.unwrap()),
        (Mutation::SuspendPurposeByConsumer, false) => {
            drop(svc.suspend_purpose(&consumer, c.purpose_id).await.unwrap())
        }
        (Mutation::SuspendPurposeByConsumer, true) => {
            drop(svc.unsuspend_purpose(&consumer, c.purpose_id).await.unwrap())
        }
        (Mutation::SuspendPurposeByProducer, false) => {
            drop(svc.suspend_purpose(&producer, c.purpose_id).await.unwrap())
        }
        (Mutation::SuspendPurposeByProducer, true) => {
            drop(svc.unsuspend_purpose(&producer, c.purpose_id).await.unwrap())
        }
        (Mutation::ArchivePurpose, false) => drop(svc.archive_purpose(&consumer, c.purpose_id).await.unwrap()),
        (Mutation::ArchivePurpose, true) => {}
    }
}

both_backends!(every_refusal_is_generic_on_the_wire_and_explained_in_log_and_debug, |backend| async move {
    let logs = LogCapture::start();
    let app = spawn_app(backend).await;
    let ctx = setup_ctx(&app).await;
    let mut run = Run::default();
    expect_voucher(&ctx, "control", &mut run).await;
    for case in CASES {
        check(&ctx, &logs, case.name, case.reason, (case.build)(&ctx), &mut run).await;
    }
    for &(m, reason) in STATE_CASES {
        mutate(&ctx, m, false).await;
        check(&ctx, &logs, &format!("{m:?}"), reason, Req::assertion(ctx.assertion()), &mut run).await;
        mutate(&ctx, m, true).await;
        if !matches!(m, Mutation::ArchivePurpose) {
            expect_voucher(&ctx, &format!("after undoing {m:?}"), &mut run).await;
        }
    }
    // The refused requests left no audit row: only the vouchers issued are there.
    let audit = app.running.store.audit_of_client("collaudo", &ctx.consumer.client_id.to_string()).await.unwrap();
    assert_eq!(audit.len(), run.issued, "one audit row per voucher issued");
    let failures = run.failures;
    assert!(failures.is_empty(), "{} refusal case(s) failed:\n{}", failures.len(), failures.join("\n"));
});

both_backends!(two_defects_report_the_earlier_check, |backend| async move {
    let logs = LogCapture::start();
    let app = spawn_app(backend).await;
    let ctx = setup_ctx(&app).await;
    let mut run = Run::default();
    for case in ORDER_CASES {
        check(&ctx, &logs, case.name, case.reason, (case.build)(&ctx), &mut run).await;
    }
    // Platform state: all three suspended, then restored one at a time.
    for m in [Mutation::SuspendDescriptor, Mutation::SuspendAgreement, Mutation::SuspendPurposeByConsumer] {
        mutate(&ctx, m, false).await;
    }
    let (h, p) = assertion_parts(
        ctx.app,
        Env::Collaudo,
        &ctx.consumer.kid,
        ctx.consumer.client_id,
        Some(ctx.consumer.purpose_id),
    );
    let (name, reason) = STATE_ORDER[0];
    check(&ctx, &logs, name, reason, Req::assertion(sign(&h, &p, &ctx.stranger)), &mut run).await;
    let undo = [Mutation::SuspendDescriptor, Mutation::SuspendAgreement, Mutation::SuspendPurposeByConsumer];
    for (i, &(name, reason)) in STATE_ORDER[1..].iter().enumerate() {
        check(&ctx, &logs, name, reason, Req::assertion(ctx.assertion()), &mut run).await;
        mutate(&ctx, undo[i], true).await;
    }
    expect_voucher(&ctx, "all restored", &mut run).await;
    let failures = run.failures;
    assert!(failures.is_empty(), "{} order case(s) failed:\n{}", failures.len(), failures.join("\n"));
});

both_backends!(hardened_mode_refusals, |backend| async move {
    let logs = LogCapture::start();
    let app = spawn_app_with(backend, |o| o.hardened = true).await;
    let ctx = setup_ctx(&app).await;
    let mut run = Run::default();
    for case in HARDENED_CASES {
        check(&ctx, &logs, case.name, case.reason, (case.build)(&ctx), &mut run).await;
    }
    // The replay cache is per client: the same jti from another client is another assertion.
    let jti = uuid::Uuid::new_v4().to_string();
    for client in [&ctx.consumer, &ctx.other] {
        let a = client.assertion_with(&app, |_, p| {
            p.insert("jti".into(), json!(jti));
        });
        let r = request_voucher(&app, Env::Collaudo, &a).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // Hardened mode allows 30 s of clock skew: an assertion expired 5 s ago passes.
    let a = ctx.with(|_, p| {
        p.insert("iat".into(), json!(now() - 300));
        p.insert("exp".into(), json!(now() - 5));
    });
    let r = request_voucher(&app, Env::Collaudo, &a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Exactly one hour is the cap, not beyond.
    let t = now();
    let a = ctx.with(|_, p| {
        p.insert("iat".into(), json!(t));
        p.insert("exp".into(), json!(t + 3600));
    });
    assert_eq!(request_voucher(&app, Env::Collaudo, &a).await.status, StatusCode::OK);
    // An iat 25 s ahead is within the skew.
    let a = ctx.with(|_, p| {
        p.insert("iat".into(), json!(t + 25));
        p.insert("exp".into(), json!(t + 120));
    });
    assert_eq!(request_voucher(&app, Env::Collaudo, &a).await.status, StatusCode::OK);
    let failures = run.failures;
    assert!(failures.is_empty(), "{} hardened case(s) failed:\n{}", failures.len(), failures.join("\n"));
});

// Outside hardened mode (PDND's behaviour) a replayed or long-lived assertion passes.
both_backends!(default_mode_is_pdnd_compatible, |backend| async move {
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let a = c.assertion_with(&app, |_, p| {
        p.insert("exp".into(), json!(now() + 30 * 86_400));
    });
    for _ in 0..2 {
        let r = request_voucher(&app, Env::Collaudo, &a).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    // PDND does not compare iss with sub; nor does Varco outside hardened mode.
    let a = c.assertion_with(&app, |_, p| drop(p.insert("iss".into(), json!("https://comune.example"))));
    assert_eq!(request_voucher(&app, Env::Collaudo, &a).await.status, StatusCode::OK);
    // An array audience containing ours is accepted, with client_id equal to sub.
    let aud = assertion_audience(&app, Env::Collaudo);
    let a = c.assertion_with(&app, |_, p| {
        p.insert("aud".into(), json!(["https://example.org", aud]));
    });
    let r = post_token(&app, Env::Collaudo, &token_form(&a, Some(&c.client_id.to_string())), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
});

/// Every reason in checks.rs has at least one case above: a new reason without a test
/// fails here.
#[test]
fn every_reason_of_checks_rs_is_covered() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../varco-token/src/checks.rs")).unwrap();
    let body = &src[src.find("pub fn code(self)").unwrap()..];
    let body = &body[..body.find("\n    }\n").unwrap()];
    let all: BTreeSet<&str> =
        body.lines().filter_map(|l| l.split("=> \"").nth(1)).map(|s| s.trim_end_matches("\",")).collect();
    assert!(all.len() >= 38, "parsed {all:?}");
    let covered: BTreeSet<&str> =
        CASES.iter().chain(HARDENED_CASES).map(|c| c.reason).chain(STATE_CASES.iter().map(|(_, r)| *r)).collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "reasons without a test: {missing:?}");
    let unknown: Vec<_> = covered.difference(&all).collect();
    assert!(unknown.is_empty(), "tests for reasons checks.rs does not have: {unknown:?}");
}

// ---------------------------------------------------------------- vouchers

fn assert_rate_headers(r: &Reply, limit: u32, remaining: u32) {
    assert_eq!(r.header("x-rate-limit-limit"), Some(limit.to_string().as_str()), "{:?}", r.headers);
    assert_eq!(r.header("x-rate-limit-interval"), Some("1000"), "{:?}", r.headers);
    assert_eq!(r.header("x-rate-limit-remaining"), Some(remaining.to_string().as_str()), "{:?}", r.headers);
}

/// Checks a 200 token answer; returns (token, header, claims).
async fn voucher_of(app: &TestApp, env: Env, r: &Reply, token_type: &str, lifespan: i64) -> (String, Value, Value) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.content_type().is_some_and(|c| c.starts_with("application/json")), "{:?}", r.content_type());
    assert_eq!(r.header("cache-control"), Some("no-cache, no-store"));
    let body = r.json();
    assert_eq!(body.as_object().unwrap().len(), 3, "{body}");
    assert_eq!(body["token_type"], token_type);
    assert_eq!(body["expires_in"], json!(lifespan));
    let token = body["access_token"].as_str().unwrap().to_string();
    let (header, claims) = decode_jwt(&token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["use"], "sig");
    let kid = header["kid"].as_str().unwrap();
    assert!(jwks_kids(app, env).await.iter().any(|k| k == kid), "kid {kid} not in the JWKS");
    assert!(verify_with_jwks(app, env, &token).await, "signature verifies with the JWKS");
    let cfg = app.running.platform.config(env);
    assert_eq!(claims["iss"], json!(cfg.issuer));
    assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
    let iat = claims["iat"].as_i64().unwrap();
    assert!((iat - now()).abs() <= 5, "iat {iat}");
    assert_eq!(claims["nbf"], json!(iat));
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, lifespan);
    assert_eq!(claims["sub"], claims["client_id"]);
    (token, header, claims)
}

both_backends!(consumer_voucher_carries_the_contract_claims, |backend| async move {
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let es = svc.eservice_by_name(&Caller::Operator, SEND_UAT).await.unwrap();
    let pagopa = svc.tenant_by_name(&Caller::Operator, PAGOPA).await.unwrap();
    let digest = hex64();
    let a = c.assertion_with(&app, |_, p| {
        p.insert("digest".into(), json!({ "alg": "SHA256", "value": digest }));
    });
    let r = request_voucher(&app, Env::Collaudo, &a).await;
    let (_, header, claims) = voucher_of(&app, Env::Collaudo, &r, "Bearer", 3600).await;
    assert_rate_headers(&r, 450, 449);
    assert_eq!(claims["aud"], SEND_UAT_AUDIENCE);
    assert_eq!(claims["sub"], json!(c.client_id));
    assert_eq!(claims["purposeId"], json!(c.purpose_id));
    assert_eq!(claims["consumerId"], json!(c.tenant_id));
    assert_eq!(claims["producerId"], json!(pagopa.id));
    assert_eq!(claims["eserviceId"], json!(es.id));
    assert_eq!(claims["descriptorId"], json!(es.descriptors[0].id));
    assert_eq!(claims["digest"], json!({ "alg": "SHA256", "value": digest }));
    assert!(claims.get("cnf").is_none() && claims.get("role").is_none());

    // Without a digest, none is invented.
    let r = request_voucher(&app, Env::Collaudo, &c.assertion(&app)).await;
    let (_, _, plain) = voucher_of(&app, Env::Collaudo, &r, "Bearer", 3600).await;
    assert!(plain.get("digest").is_none(), "{plain}");

    // One audit row per voucher, newest first, with the contract's fields.
    let audit = app.running.store.audit_of_client("collaudo", &c.client_id.to_string()).await.unwrap();
    assert_eq!(audit.len(), 2);
    let first = &audit[1];
    assert_eq!(first["jwtDetails"], claims);
    assert!(uuid::Uuid::parse_str(first["correlationId"].as_str().unwrap()).is_ok());
    assert_eq!(first["clientId"], json!(c.client_id));
    assert_eq!(first["organizationId"], json!(c.tenant_id));
    assert_eq!(first["kid"], json!(c.kid));
    assert_eq!(first["platformKid"], header["kid"]);
    assert_eq!(first["agreementId"], json!(c.agreement_id));
    assert_eq!(first["eserviceId"], json!(es.id));
    assert_eq!(first["descriptorId"], json!(es.descriptors[0].id));
    assert_eq!(first["purposeId"], json!(c.purpose_id));
    assert!(first["purposeVersionId"].is_string());
    assert_eq!(first["digest"], json!({ "alg": "SHA256", "value": digest }));
    assert_eq!(first["clientAssertion"]["sub"], json!(c.client_id));
    assert_eq!(audit[0]["jwtDetails"], plain);
    assert!(audit[0].get("digest").is_none());
});

both_backends!(api_voucher_carries_the_m2m_claims, |backend| async move {
    let app = spawn_app(backend).await;
    let cfg = app.running.platform.config(Env::Collaudo).clone();
    for admin in [true, false] {
        let api = setup_api_client(&app, Env::Collaudo, COMUNE_DI_PROVA, admin).await;
        let r = request_voucher(&app, Env::Collaudo, &api.assertion(&app)).await;
        let (_, _, claims) = voucher_of(&app, Env::Collaudo, &r, "Bearer", 600).await;
        assert_eq!(claims["aud"], json!(cfg.m2m_audience));
        assert_eq!(claims["sub"], json!(api.client_id));
        assert_eq!(claims["organizationId"], json!(api.tenant_id));
        if admin {
            assert_eq!(claims["role"], "m2m-admin");
            assert_eq!(claims["adminId"], json!(api.admin_id.unwrap()));
        } else {
            assert_eq!(claims["role"], "m2m");
            assert!(claims.get("adminId").is_none());
        }
        for absent in ["purposeId", "eserviceId", "descriptorId", "producerId", "consumerId"] {
            assert!(claims.get(absent).is_none(), "{absent} in {claims}");
        }
        let audit = app.running.store.audit_of_client("collaudo", &api.client_id.to_string()).await.unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0]["jwtDetails"], claims);
    }
});

both_backends!(dpop_voucher_is_bound_to_the_proof_key, |backend| async move {
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let dpop_key = RsaPrivateKey::generate_2048();
    let token_url = app.running.platform.config(Env::Collaudo).token_url.clone();
    assert_eq!(token_url, app.url(&token_path(Env::Collaudo)));
    let proof = varco_jose::build_dpop_proof(&dpop_key, "POST", &token_url, now(), "proof-1", None);
    let r = post_token(&app, Env::Collaudo, &token_form(&c.assertion(&app), None), &[proof]).await;
    let (_, _, claims) = voucher_of(&app, Env::Collaudo, &r, "DPoP", 3600).await;
    assert_eq!(claims["cnf"], json!({ "jkt": dpop_key.kid().to_string() }));
    // The ES256 proof of the JOSE fixtures is for another URL: refused, not a 500.
    let proof = fixture("dpop_es256.jwt").trim().to_string();
    let r = post_token(&app, Env::Collaudo, &token_form(&c.assertion(&app), None), &[proof]).await;
    assert_generic_400(&r);
});

both_backends!(rate_limit_is_per_organisation_and_answers_429, |backend| async move {
    let logs = LogCapture::start();
    // The window is a fixed second of the server's clock: a manual one, set at the
    // start of a second (just ahead of the assertions' iat) and moved by the test.
    let start = chrono::DateTime::from_timestamp(now() + 1, 0).unwrap();
    let clock = varco_domain::clock::Clock::manual(start);
    let server_clock = clock.clone();
    let app = spawn_app_with(backend, move |o| {
        o.rate_limit = 2;
        o.clock = server_clock;
    })
    .await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let same_org = setup_api_client(&app, Env::Collaudo, COMUNE_DI_PROVA, false).await;
    let other_org = setup_api_client(&app, Env::Collaudo, COMUNE_DI_ESEMPIO, false).await;
    let a = [c.assertion(&app), same_org.assertion(&app), other_org.assertion(&app)];
    // Refused requests do not count.
    let store = &app.running.store;
    let client_id = c.client_id.to_string();
    let audit_before = store.audit_of_client("collaudo", &client_id).await.unwrap().len();
    for _ in 0..3 {
        let bad = c.assertion_with(&app, |_, p| {
            p.remove("jti");
        });
        assert_generic_400(&request_voucher(&app, Env::Collaudo, &bad).await);
    }
    let r1 = request_voucher(&app, Env::Collaudo, &a[0]).await;
    let r2 = request_voucher(&app, Env::Collaudo, &a[1]).await;
    // Still the same second, however slow the machine: the clock has not moved.
    clock.advance(chrono::Duration::milliseconds(999));
    let r3 = request_voucher(&app, Env::Collaudo, &a[0]).await;
    let r4 = request_voucher(&app, Env::Collaudo, &a[2]).await;
    assert_eq!(r1.status, StatusCode::OK, "{}", r1.text);
    assert_rate_headers(&r1, 2, 1);
    assert_eq!(r2.status, StatusCode::OK, "another client of the same organisation: {}", r2.text);
    assert_rate_headers(&r2, 2, 0);
    let body = assert_problem(&r3, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["detail"], format!("Requests limit exceeded for organization {}", c.tenant_id));
    assert_rate_headers(&r3, 2, 0);
    let corr = body["correlationId"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(corr).is_ok());
    assert_eq!(logs.reason_for(corr).as_deref(), Some("tooManyRequests"), "{:?}", logs.lines_with(corr));
    assert_eq!(r4.status, StatusCode::OK, "another organisation has its own budget: {}", r4.text);
    assert_rate_headers(&r4, 2, 1);
    // No voucher, no audit row for the 429: one row per 200.
    let audit = store.audit_of_client("collaudo", &client_id).await.unwrap();
    assert_eq!(audit.len() - audit_before, 1);
    // The next window starts afresh.
    clock.advance(chrono::Duration::milliseconds(1));
    let r5 = request_voucher(&app, Env::Collaudo, &a[0]).await;
    assert_eq!(r5.status, StatusCode::OK, "{}", r5.text);
});

/// The machine API's answer to a v2 call with this voucher.
async fn api_status(app: &TestApp, voucher: &str) -> StatusCode {
    let url = app.url("/interop/collaudo/api/v2/eservices?offset=0&limit=1");
    app.http.get(url).bearer_auth(voucher).send().await.unwrap().status()
}

// `varco signing-key rotate`, run as its own process against the database of a
// running server: nobody tells the server, which signs with the new key after its
// next read of the log; vouchers signed before still verify (JWKS, machine API)
// until the old key's grace period ends, by the server's clock.
both_backends!(signing_key_rotation_by_the_cli_reaches_the_running_server, |backend| async move {
    let clock = varco_domain::clock::Clock::manual(chrono::Utc::now());
    let app = spawn_app_with(backend, |o| o.clock = clock.clone()).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    let api = setup_api_client(&app, Env::Collaudo, COMUNE_DI_PROVA, true).await;
    let r = request_voucher(&app, Env::Collaudo, &c.assertion(&app)).await;
    let (old_token, old_header, _) = voucher_of(&app, Env::Collaudo, &r, "Bearer", 3600).await;
    let old_api_voucher = request_voucher(&app, Env::Collaudo, &api.assertion(&app)).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let old_kid = old_header["kid"].as_str().unwrap().to_string();
    assert_eq!(jwks_kids(&app, Env::Collaudo).await, vec![old_kid.clone()]);
    let other_envs_before = (jwks_kids(&app, Env::Produzione).await, jwks_kids(&app, Env::Attestazione).await);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_varco"))
        .args(["signing-key", "rotate", "--env", "collaudo"])
        .env("VARCO_DATABASE_URL", &app.db.url)
        .output()
        .expect("varco runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let new_kid = serde_json::from_slice::<Value>(&out.stdout).unwrap()["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);

    // New vouchers are signed with the new key after one read of the log (every
    // 250 ms): allow four.
    let rotated = std::time::Instant::now();
    loop {
        let r = request_voucher(&app, Env::Collaudo, &c.assertion(&app)).await;
        let (_, header, _) = voucher_of(&app, Env::Collaudo, &r, "Bearer", 3600).await;
        if header["kid"] == json!(new_kid) {
            break;
        }
        assert_eq!(header["kid"], json!(old_kid));
        assert!(rotated.elapsed() < std::time::Duration::from_secs(1), "still signing with the old key");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let kids: BTreeSet<String> = jwks_kids(&app, Env::Collaudo).await.into_iter().collect();
    assert_eq!(kids, [old_kid.clone(), new_kid.clone()].into_iter().collect());
    assert!(verify_with_jwks(&app, Env::Collaudo, &old_token).await, "vouchers signed before still verify");
    assert_eq!(api_status(&app, &old_api_voucher).await, StatusCode::OK, "the machine API still takes them");
    // Only Collaudo rotated.
    assert_eq!((jwks_kids(&app, Env::Produzione).await, jwks_kids(&app, Env::Attestazione).await), other_envs_before);

    // The old key stays published for the longest voucher lifespan (24 h) plus five
    // minutes after its retirement, then leaves the JWKS with nothing else happening.
    clock.advance(chrono::Duration::seconds(86_400 + 300 - 10));
    assert_eq!(jwks_kids(&app, Env::Collaudo).await.len(), 2, "still published just before the end of the grace");
    clock.advance(chrono::Duration::seconds(20));
    assert_eq!(jwks_kids(&app, Env::Collaudo).await, vec![new_kid.clone()]);
    assert!(!verify_with_jwks(&app, Env::Collaudo, &old_token).await);
});

both_backends!(environments_are_isolated, |backend| async move {
    let logs = LogCapture::start();
    let app = spawn_app(backend).await;
    let c = setup_consumer(&app, COMUNE_DI_PROVA).await;
    for env in [Env::Produzione, Env::Attestazione] {
        // The Collaudo assertion as it is: the audience is Collaudo's.
        let r = request_voucher(&app, env, &c.assertion(&app)).await;
        let corr = assert_generic_400(&r);
        assert_eq!(logs.reason_for(&corr).as_deref(), Some("invalidAudience"), "{env}");
        // Rewritten for this environment: the client and its key do not exist here.
        let aud = assertion_audience(&app, env);
        let a = c.assertion_with(&app, |_, p| {
            p.insert("aud".into(), json!(aud));
        });
        let r = request_voucher(&app, env, &a).await;
        let corr = assert_generic_400(&r);
        assert_eq!(logs.reason_for(&corr).as_deref(), Some("tokenGenerationStatesEntryNotFound"), "{env}");
        let (report, ok) = varco::cli::debug_report(&app.running.token, env, &a, None);
        assert!(!ok);
        assert_eq!(report["reason"], "tokenGenerationStatesEntryNotFound");
        // An API client of the same organisation there gets that environment's claims.
        let api = setup_api_client(&app, env, COMUNE_DI_PROVA, false).await;
        let r = request_voucher(&app, env, &api.assertion(&app)).await;
        let (_, _, claims) = voucher_of(&app, env, &r, "Bearer", 600).await;
        assert_eq!(claims["aud"], json!(app.running.platform.config(env).m2m_audience));
        assert_ne!(claims["iss"], json!(app.running.platform.config(Env::Collaudo).issuer));
        assert_ne!(claims["organizationId"], json!(c.tenant_id), "tenants have their own ids per environment");
        // ...and that client is unknown in Collaudo.
        let aud = assertion_audience(&app, Env::Collaudo);
        let a = api.assertion_with(&app, |_, p| {
            p.insert("aud".into(), json!(aud));
        });
        let corr = assert_generic_400(&request_voucher(&app, Env::Collaudo, &a).await);
        assert_eq!(logs.reason_for(&corr).as_deref(), Some("tokenGenerationStatesEntryNotFound"));
    }
    // Collaudo still works.
    let r = request_voucher(&app, Env::Collaudo, &c.assertion(&app)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Each environment signs with its own keys.
    let mut all = BTreeSet::new();
    for env in Env::ALL {
        let kids = jwks_kids(&app, env).await;
        assert!(!kids.is_empty(), "{env} has a JWKS");
        for k in kids {
            assert!(all.insert(k), "a signing key shared between environments");
        }
    }
    // Audit rows are per environment too.
    let store = &app.running.store;
    assert_eq!(store.audit_of_client("produzione", &c.client_id.to_string()).await.unwrap().len(), 0);
    assert_eq!(store.audit_of_client("collaudo", &c.client_id.to_string()).await.unwrap().len(), 1);
});
