//! The fixed world the targets run against: two test keys and a small environment
//! (one organisation with a client e-service and a client API, a purpose that may
//! have vouchers and two that may not), so that fuzzed assertions can reach every
//! step of the checks. Everything is fixed, so a corpus file means the same thing in
//! every run.
use std::collections::HashMap;
use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use uuid::Uuid;
use varco_domain::*;
use varco_jose::RsaPrivateKey;
use varco_token::view::{AgreementEntry, ClientEntry, DescriptorEntry, EServiceEntry, EnvView, PurposeEntry};

/// The test keys of varco-jose's fixtures (openssl-made, test-only, they protect
/// nothing), read from there rather than copied.
const RSA_PKCS8: &str = include_str!("../../varco-jose/tests/data/rsa2048_private_pkcs8.pem");
const EC_PKCS8: &str = include_str!("../../varco-jose/tests/data/ec_p256_private.pem");

/// The clock of every check (a fixed time keeps corpus files meaningful).
pub const NOW: i64 = 1_700_000_000;
/// The client-assertion audience of the fuzzed environment.
pub const AUDIENCE: &str = "varco.example/interop/collaudo/client-assertion";
/// The URI DPoP proofs are checked against (the one of varco-jose's fixture proofs).
pub const HTU: &str = "https://varco.example/token.oauth2";

pub const TENANT: TenantId = TenantId(Uuid::from_u128(0x11111111_1111_4111_8111_111111111111));
pub const OTHER_TENANT: TenantId = TenantId(Uuid::from_u128(0x22222222_2222_4222_8222_222222222222));
pub const PRODUCER: TenantId = TenantId(Uuid::from_u128(0x33333333_3333_4333_8333_333333333333));
pub const CONSUMER_CLIENT: ClientId = ClientId(Uuid::from_u128(0xc0000000_0000_4000_8000_000000000001));
pub const API_CLIENT: ClientId = ClientId(Uuid::from_u128(0xc0000000_0000_4000_8000_000000000002));
pub const ADMIN: UserId = UserId(Uuid::from_u128(0xa0000000_0000_4000_8000_000000000001));
/// Active purpose, on an active agreement on a published version: vouchers.
pub const PURPOSE_OK: PurposeId = PurposeId(Uuid::from_u128(0xb0000000_0000_4000_8000_000000000001));
/// Purpose with no active version.
pub const PURPOSE_INACTIVE: PurposeId = PurposeId(Uuid::from_u128(0xb0000000_0000_4000_8000_000000000002));
/// Purpose on an e-service whose agreement is suspended and version archived.
pub const PURPOSE_SUSPENDED: PurposeId = PurposeId(Uuid::from_u128(0xb0000000_0000_4000_8000_000000000003));
/// A purpose of the client that no longer exists.
pub const PURPOSE_GONE: PurposeId = PurposeId(Uuid::from_u128(0xb0000000_0000_4000_8000_000000000004));
const ESERVICE: EServiceId = EServiceId(Uuid::from_u128(0xe0000000_0000_4000_8000_000000000001));
const ESERVICE_2: EServiceId = EServiceId(Uuid::from_u128(0xe0000000_0000_4000_8000_000000000002));
const DESCRIPTOR: DescriptorId = DescriptorId(Uuid::from_u128(0xd0000000_0000_4000_8000_000000000001));
const DESCRIPTOR_2: DescriptorId = DescriptorId(Uuid::from_u128(0xd0000000_0000_4000_8000_000000000002));
const AGREEMENT: AgreementId = AgreementId(Uuid::from_u128(0xa9000000_0000_4000_8000_000000000001));
const AGREEMENT_2: AgreementId = AgreementId(Uuid::from_u128(0xa9000000_0000_4000_8000_000000000002));
const VERSION: PurposeVersionId = PurposeVersionId(Uuid::from_u128(0xf0000000_0000_4000_8000_000000000001));

pub struct World {
    pub rsa: RsaPrivateKey,
    pub ec: EcdsaKeyPair,
    /// The EC key's public JWK (the RSA one comes from `rsa.public_key()`).
    pub ec_jwk: serde_json::Value,
    pub view: EnvView,
}

/// Built once per process: parsing the keys is the slow part.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(build)
}

fn build() -> World {
    let rsa = RsaPrivateKey::from_pem(RSA_PKCS8).expect("the RSA fixture parses");
    let (_, der) = pem_rfc7468::decode_vec(EC_PKCS8.as_bytes()).expect("the EC fixture is PEM");
    let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).expect("the EC fixture parses");
    let ec_jwk = {
        use aws_lc_rs::signature::KeyPair as _;
        // SEC1 uncompressed point: 0x04 || x || y.
        let point = ec.public_key().as_ref();
        serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "x": varco_jose::b64url_encode(&point[1..33]),
            "y": varco_jose::b64url_encode(&point[33..65]),
        })
    };

    let public = rsa.public_key();
    let keys: HashMap<String, varco_jose::RsaPublicKey> = [(public.kid().as_str().to_string(), public)].into();
    let mut view = EnvView::default();
    view.clients.insert(
        CONSUMER_CLIENT,
        ClientEntry {
            kind: ClientKind::Consumer,
            consumer_id: TENANT,
            purposes: vec![PURPOSE_OK, PURPOSE_INACTIVE, PURPOSE_SUSPENDED, PURPOSE_GONE],
            keys: keys.clone(),
            admin_id: None,
        },
    );
    view.clients.insert(
        API_CLIENT,
        ClientEntry { kind: ClientKind::Api, consumer_id: TENANT, purposes: vec![], keys, admin_id: Some(ADMIN) },
    );
    view.purposes.insert(
        PURPOSE_OK,
        PurposeEntry {
            consumer_id: TENANT,
            eservice_id: ESERVICE,
            active_version: Some(VERSION),
            version_states: vec![PurposeVersionState::Active],
        },
    );
    view.purposes.insert(
        PURPOSE_INACTIVE,
        PurposeEntry {
            consumer_id: TENANT,
            eservice_id: ESERVICE,
            active_version: None,
            version_states: vec![PurposeVersionState::Suspended],
        },
    );
    view.purposes.insert(
        PURPOSE_SUSPENDED,
        PurposeEntry {
            consumer_id: TENANT,
            eservice_id: ESERVICE_2,
            active_version: Some(VERSION),
            version_states: vec![PurposeVersionState::Active],
        },
    );
    view.eservices.insert(
        ESERVICE,
        EServiceEntry {
            producer_id: PRODUCER,
            descriptors: vec![DescriptorEntry {
                id: DESCRIPTOR,
                state: DescriptorState::Published,
                audience: vec!["https://api.example/e-service".into()],
                voucher_lifespan: 600,
            }],
        },
    );
    view.eservices.insert(
        ESERVICE_2,
        EServiceEntry {
            producer_id: PRODUCER,
            descriptors: vec![DescriptorEntry {
                id: DESCRIPTOR_2,
                state: DescriptorState::Archived,
                audience: vec!["https://api.example/other".into()],
                voucher_lifespan: 60,
            }],
        },
    );
    view.agreements.insert(
        AGREEMENT,
        AgreementEntry {
            id: AGREEMENT,
            eservice_id: ESERVICE,
            descriptor_id: DESCRIPTOR,
            consumer_id: TENANT,
            state: AgreementState::Active,
        },
    );
    view.agreements.insert(
        AGREEMENT_2,
        AgreementEntry {
            id: AGREEMENT_2,
            eservice_id: ESERVICE_2,
            descriptor_id: DESCRIPTOR_2,
            consumer_id: TENANT,
            state: AgreementState::Suspended,
        },
    );
    World { rsa, ec, ec_jwk, view }
}

impl World {
    /// The kid of the RSA key, which both clients hold.
    pub fn kid(&self) -> String {
        self.rsa.kid().as_str().to_string()
    }

    pub fn sign_rs256(&self, input: &[u8]) -> Vec<u8> {
        self.rsa.sign_rs256(input)
    }

    pub fn sign_es256(&self, input: &[u8]) -> Vec<u8> {
        self.ec.sign(&SystemRandom::new(), input).expect("ES256 signing with a valid key").as_ref().to_vec()
    }
}
