//! The JOSE pieces Varco needs, and nothing more: RSA public keys as PDND clients
//! upload them (and their RFC 7638 kids), an RS256 signer, compact JWT parsing,
//! DPoP proof verification (RFC 9449) and the client assertion builder.
//!
//! RSA and ECDSA come from `aws-lc-rs`; every key is parsed once at construction so
//! the hot path (verifying a client assertion or a DPoP proof) does no re-parsing.
//! Every parser returns a specific error instead of panicking, since all of these
//! inputs come from outside.

mod assertion;
mod b64;
mod dpop;
mod jwk;
mod jwt;
mod keys;

pub use assertion::{build_client_assertion, AssertionParams};
pub use b64::{b64url_decode, b64url_encode, Base64UrlError};
pub use dpop::{
    build_dpop_proof, verify_dpop_proof, DpopError, DpopProof, DPOP_IAT_LEEWAY_FUTURE, DPOP_IAT_LEEWAY_PAST,
};
pub use jwk::{jwk_thumbprint, ThumbprintError};
pub use jwt::{encode_rs256, Compact, JwtFormatError, MAX_JWT_LEN};
pub use keys::{KeyError, PrivateKeyError, RsaPrivateKey, RsaPublicKey, MAX_PEM_LEN};
