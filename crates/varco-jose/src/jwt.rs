//! JWS compact serialisation, RS256 only on the signing side.

use serde_json::{Map, Value};

use crate::b64::{b64url_decode, b64url_encode};
use crate::keys::{RsaPrivateKey, RsaPublicKey};

/// Tokens longer than this are refused before any decoding. Client assertions and
/// DPoP proofs with an RSA-8192 JWK stay well under 4 KiB.
pub const MAX_JWT_LEN: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtFormatError {
    #[error("the token is empty")]
    Empty,
    #[error("the token is longer than {max} bytes", max = MAX_JWT_LEN)]
    TooLong,
    #[error("a compact JWS has 3 dot-separated parts, this token has {0}")]
    WrongPartCount(usize),
    #[error("the JWT {part} is not valid base64url")]
    BadBase64 { part: &'static str },
    #[error("the JWT {part} is not valid JSON: {reason}")]
    BadJson { part: &'static str, reason: String },
    #[error("the JWT {part} is not a JSON object")]
    NotObject { part: &'static str },
}

/// A syntactically valid compact JWS. Nothing here is verified yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Compact {
    pub header: Map<String, Value>,
    pub payload: Map<String, Value>,
    /// `base64url(header) "." base64url(payload)` exactly as received: signatures are
    /// over these bytes, not over a re-serialisation.
    pub signing_input: String,
    pub signature: Vec<u8>,
}

impl Compact {
    pub fn parse(token: &str) -> Result<Compact, JwtFormatError> {
        if token.len() > MAX_JWT_LEN {
            return Err(JwtFormatError::TooLong);
        }
        if token.is_empty() {
            return Err(JwtFormatError::Empty);
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [h, p, s] = parts[..] else {
            return Err(JwtFormatError::WrongPartCount(parts.len()));
        };
        let header = json_object(h, "header")?;
        let payload = json_object(p, "payload")?;
        let signature = b64url_decode(s).map_err(|_| JwtFormatError::BadBase64 { part: "signature" })?;
        Ok(Compact { header, payload, signing_input: token[..h.len() + 1 + p.len()].to_string(), signature })
    }

    /// The header's `alg`, if it is a string.
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }

    /// True when the header says RS256 and the signature verifies with `key`.
    /// Checking `alg` here stops a token labelled with another algorithm from being
    /// accepted just because the bytes happen to verify.
    pub fn verify_rs256(&self, key: &RsaPublicKey) -> bool {
        self.alg() == Some("RS256") && key.verify_rs256(self.signing_input.as_bytes(), &self.signature)
    }
}

fn json_object(b64: &str, part: &'static str) -> Result<Map<String, Value>, JwtFormatError> {
    let bytes = b64url_decode(b64).map_err(|_| JwtFormatError::BadBase64 { part })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(JwtFormatError::NotObject { part }),
        Err(e) => Err(JwtFormatError::BadJson { part, reason: e.to_string() }),
    }
}

/// Signs `claims` with RS256. The header is serialised as given, so it should carry
/// `"alg":"RS256"` (and a `kid`); the builders in this crate do.
pub fn encode_rs256(header: &Value, claims: &Value, key: &RsaPrivateKey) -> String {
    let mut token = b64url_encode(header.to_string().as_bytes());
    token.push('.');
    token.push_str(&b64url_encode(claims.to_string().as_bytes()));
    let signature = key.sign_rs256(token.as_bytes());
    token.push('.');
    token.push_str(&b64url_encode(&signature));
    token
}
