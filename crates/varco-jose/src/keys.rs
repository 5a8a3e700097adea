//! RSA keys: the public keys clients upload (SPKI PEM) and the private key Varco
//! itself signs with.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{ParsedPublicKey, RsaKeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use pem_rfc7468::LineEnding;
use pkcs1::der::Decode as _;
use sha2::{Digest as _, Sha256};
use varco_domain::Kid;

use crate::b64::b64url_encode;

/// Upper bound on PEM text we are willing to look at. A 8192-bit SPKI PEM is under
/// 1.5 KiB, so 16 KiB leaves room for comments and line-ending noise while making
/// sure a hostile upload cannot make us decode megabytes.
pub const MAX_PEM_LEN: usize = 16 * 1024;

/// PDND (and therefore Varco) refuses RSA keys below 2048 bits.
const MIN_RSA_BITS: usize = 2048;
/// aws-lc's RS256 verifier only accepts moduli up to 8192 bits; a bigger key could
/// be stored but would never verify, so it is refused up front.
const MAX_RSA_BITS: usize = 8192;

const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// Why a public key upload was refused. Messages are meant to be shown to the user
/// who pasted the key, so each says what was wrong and, where possible, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key is empty")]
    Empty,
    #[error("the key is longer than {max} bytes", max = MAX_PEM_LEN)]
    TooLong,
    #[error("the key is not in PEM format (expected a block starting with -----BEGIN PUBLIC KEY-----)")]
    NotPem,
    #[error("the key is neither PEM text nor base64-encoded PEM")]
    NotBase64,
    #[error("this is a private key ({label}): upload only the public key, never the private one (openssl rsa -in key.pem -pubout)")]
    PrivateKey { label: String },
    #[error("this is a certificate, not a public key; extract the key with: openssl x509 -in cert.pem -pubkey -noout")]
    Certificate,
    #[error("this is a PKCS#1 public key (BEGIN RSA PUBLIC KEY); convert it to SubjectPublicKeyInfo with: openssl rsa -RSAPublicKey_in -in k -pubout")]
    Pkcs1PublicKey,
    #[error("unexpected PEM block \"{label}\": expected PUBLIC KEY")]
    UnexpectedLabel { label: String },
    #[error("the key is not an RSA key (found {algorithm})")]
    NotRsa { algorithm: String },
    #[error("the RSA key is {bits} bits; at least {min} are required", min = MIN_RSA_BITS)]
    TooSmall { bits: usize },
    #[error("the RSA key is {bits} bits; at most {max} are supported", max = MAX_RSA_BITS)]
    TooLarge { bits: usize },
    #[error("the key is malformed: {0}")]
    Malformed(String),
}

impl KeyError {
    /// The same message in Italian, for the web UI.
    pub fn message_it(&self) -> String {
        match self {
            KeyError::Empty => "la chiave è vuota".into(),
            KeyError::TooLong => format!("la chiave supera i {MAX_PEM_LEN} byte"),
            KeyError::NotPem => "la chiave non è in formato PEM (atteso un blocco che inizia con -----BEGIN PUBLIC KEY-----)".into(),
            KeyError::NotBase64 => "la chiave non è né testo PEM né PEM codificato in base64".into(),
            KeyError::PrivateKey { label } => format!(
                "questa è una chiave privata ({label}): caricare solo la chiave pubblica, mai quella privata (openssl rsa -in key.pem -pubout)"
            ),
            KeyError::Certificate => "questo è un certificato, non una chiave pubblica; estrarre la chiave con: openssl x509 -in cert.pem -pubkey -noout".into(),
            KeyError::Pkcs1PublicKey => "questa è una chiave pubblica PKCS#1 (BEGIN RSA PUBLIC KEY); convertirla in SubjectPublicKeyInfo con: openssl rsa -RSAPublicKey_in -in k -pubout".into(),
            KeyError::UnexpectedLabel { label } => format!("blocco PEM inatteso \"{label}\": atteso PUBLIC KEY"),
            KeyError::NotRsa { algorithm } => format!("la chiave non è RSA (trovato {algorithm})"),
            KeyError::TooSmall { bits } => format!("la chiave RSA è di {bits} bit; ne servono almeno {MIN_RSA_BITS}"),
            KeyError::TooLarge { bits } => format!("la chiave RSA è di {bits} bit; al massimo {MAX_RSA_BITS} sono supportati"),
            KeyError::Malformed(reason) => format!("la chiave è malformata: {reason}"),
        }
    }
}

/// A validated RSA public key (SubjectPublicKeyInfo, rsaEncryption, 2048..=8192 bits),
/// parsed once for verification. Cloning is cheap (shared).
#[derive(Clone)]
pub struct RsaPublicKey(Arc<PublicInner>);

struct PublicInner {
    verifier: ParsedPublicKey,
    /// Canonical DER re-encoded from n and e, so that two uploads of the same key
    /// store the same bytes whatever optional encodings the client used.
    spki_der: Vec<u8>,
    n_b64: String,
    e_b64: String,
    bits: usize,
    kid: Kid,
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPublicKey").field("kid", &self.0.kid.as_str()).field("bits", &self.0.bits).finish()
    }
}

impl PartialEq for RsaPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.spki_der == other.0.spki_der
    }
}
impl Eq for RsaPublicKey {}

impl RsaPublicKey {
    /// Parses a `-----BEGIN PUBLIC KEY-----` PEM block holding an RSA key.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        if pem.len() > MAX_PEM_LEN {
            return Err(KeyError::TooLong);
        }
        let text = pem.trim();
        if text.is_empty() {
            return Err(KeyError::Empty);
        }
        let labels = pem_labels(text)?;
        // Classify by label before decoding anything: private key material is never
        // base64-decoded, and the user gets the most useful message even when the
        // body is damaged.
        if let Some(label) = labels.iter().find(|l| l.ends_with("PRIVATE KEY")) {
            return Err(KeyError::PrivateKey { label: label.to_string() });
        }
        if labels.len() > 1 {
            return Err(KeyError::Malformed(format!("expected a single PEM block, found {}", labels.len())));
        }
        match labels[0] {
            "PUBLIC KEY" => {}
            "RSA PUBLIC KEY" => return Err(KeyError::Pkcs1PublicKey),
            l if l.contains("CERTIFICATE") && !l.contains("REQUEST") => return Err(KeyError::Certificate),
            other => return Err(KeyError::UnexpectedLabel { label: other.to_string() }),
        }
        let start = text.find("-----BEGIN ").ok_or(KeyError::NotPem)?;
        let (_, der) = pem_rfc7468::decode_vec(&text.as_bytes()[start..])
            .map_err(|e| KeyError::Malformed(format!("invalid PEM encoding: {e}")))?;
        Self::from_spki_der(&der)
    }

    /// PDND's key upload carries the PEM base64-encoded once more. Plain PEM text is
    /// accepted too, because users paste either form.
    pub fn from_base64_pem(input: &str) -> Result<Self, KeyError> {
        // Base64 of MAX_PEM_LEN bytes is 4/3 longer; refuse anything beyond before decoding.
        if input.len() > MAX_PEM_LEN / 3 * 4 + 8 {
            return Err(KeyError::TooLong);
        }
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(KeyError::Empty);
        }
        if trimmed.contains("-----BEGIN ") {
            return Self::from_pem(trimmed);
        }
        // Line-wrapped base64 (as `base64` without -w0 produces) is common: drop the
        // whitespace, then accept padded or unpadded standard base64.
        let compact: String = trimmed.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = STANDARD
            .decode(&compact)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&compact))
            .map_err(|_| KeyError::NotBase64)?;
        let text = String::from_utf8(bytes).map_err(|_| KeyError::NotBase64)?;
        if !text.contains("-----BEGIN ") {
            return Err(KeyError::NotPem);
        }
        Self::from_pem(&text)
    }

    /// Parses DER SubjectPublicKeyInfo. Also used for keys stored by Varco itself.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| KeyError::Malformed(format!("invalid SubjectPublicKeyInfo: {e}")))?;
        let oid = spki.algorithm.oid.to_string();
        if oid != OID_RSA_ENCRYPTION {
            return Err(KeyError::NotRsa { algorithm: algorithm_name(&oid) });
        }
        // RFC 3279 §2.3.1 says the parameters are NULL; tolerate their absence (some
        // encoders omit them) but nothing else.
        if let Some(params) = spki.algorithm.parameters {
            if !params.is_null() {
                return Err(KeyError::Malformed("rsaEncryption parameters must be NULL".into()));
            }
        }
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Malformed("public key bit string is not byte-aligned".into()))?;
        let rsa = pkcs1::RsaPublicKey::from_der(key_bytes)
            .map_err(|e| KeyError::Malformed(format!("invalid RSAPublicKey: {e}")))?;
        Self::from_components(rsa.modulus.as_bytes(), rsa.public_exponent.as_bytes())
    }

    /// Builds the key from big-endian modulus and exponent (leading zeros allowed).
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = bit_len(n);
        if bits < MIN_RSA_BITS {
            return Err(KeyError::TooSmall { bits });
        }
        if bits > MAX_RSA_BITS {
            return Err(KeyError::TooLarge { bits });
        }
        if e.is_empty() || e.len() > 4 || e[e.len() - 1] & 1 == 0 || e == [1] {
            return Err(KeyError::Malformed("unsupported RSA public exponent".into()));
        }
        let components = aws_lc_rs::signature::RsaPublicKeyComponents { n, e };
        let spki_der =
            components.as_der().map_err(|_| KeyError::Malformed("RSA key rejected".into()))?.as_ref().to_vec();
        // Parsing the canonical SPKI goes through aws-lc's full key check (RSA_check_key).
        let verifier = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &spki_der)
            .map_err(|e| KeyError::Malformed(format!("RSA key rejected: {e}")))?;
        let n_b64 = b64url_encode(n);
        let e_b64 = b64url_encode(e);
        let kid = rsa_thumbprint(&e_b64, &n_b64);
        Ok(RsaPublicKey(Arc::new(PublicInner { verifier, spki_der, n_b64, e_b64, bits, kid })))
    }

    /// The RFC 7638 SHA-256 thumbprint, computed once at construction.
    pub fn kid(&self) -> Kid {
        self.0.kid.clone()
    }

    pub fn bits(&self) -> usize {
        self.0.bits
    }

    /// Modulus, base64url, minimal big-endian.
    pub fn n_b64(&self) -> &str {
        &self.0.n_b64
    }

    /// Public exponent, base64url, minimal big-endian.
    pub fn e_b64(&self) -> &str {
        &self.0.e_b64
    }

    /// The key as published in the JWKS.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA",
            "n": self.0.n_b64,
            "e": self.0.e_b64,
            "kid": self.0.kid.as_str(),
            "use": "sig",
            "alg": "RS256",
        })
    }

    /// Canonical SPKI PEM (LF line endings, 64-column lines).
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.0.spki_der)
    }

    pub fn spki_der(&self) -> &[u8] {
        &self.0.spki_der
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `signing_input`.
    pub fn verify_rs256(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        self.0.verifier.verify_sig(signing_input, signature).is_ok()
    }
}

/// Why a private key could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivateKeyError {
    #[error("the private key is longer than {max} bytes", max = MAX_PEM_LEN)]
    TooLong,
    #[error("not a PEM private key (expected BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)")]
    NotPem,
    #[error("the private key is encrypted; decrypt it first (openssl pkcs8 -in k.pem -out plain.pem)")]
    Encrypted,
    #[error("unexpected PEM block \"{label}\": expected PRIVATE KEY or RSA PRIVATE KEY")]
    UnexpectedLabel { label: String },
    #[error("the private key was rejected: {0}")]
    Rejected(String),
}

/// An RSA private key, parsed once, used to sign RS256. Cloning is cheap (shared).
#[derive(Clone)]
pub struct RsaPrivateKey {
    pair: Arc<RsaKeyPair>,
    public: RsaPublicKey,
}

impl fmt::Debug for RsaPrivateKey {
    // Never print key material, not even by accident in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaPrivateKey").field("kid", &self.public.kid().as_str()).finish_non_exhaustive()
    }
}

impl RsaPrivateKey {
    /// A fresh 2048-bit key.
    ///
    /// Panics only if aws-lc cannot generate a key at all (no entropy source),
    /// which no input can cause and no caller could recover from.
    pub fn generate_2048() -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("aws-lc RSA key generation failed");
        Self::from_pair(pair).expect("aws-lc generated an RSA key it cannot serialise")
    }

    /// Accepts "PRIVATE KEY" (PKCS#8) and "RSA PRIVATE KEY" (PKCS#1).
    pub fn from_pem(pem: &str) -> Result<Self, PrivateKeyError> {
        if pem.len() > MAX_PEM_LEN {
            return Err(PrivateKeyError::TooLong);
        }
        let text = pem.trim();
        let start = text.find("-----BEGIN ").ok_or(PrivateKeyError::NotPem)?;
        let (label, der) = pem_rfc7468::decode_vec(&text.as_bytes()[start..]).map_err(|_| PrivateKeyError::NotPem)?;
        let pair = match label {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            "ENCRYPTED PRIVATE KEY" => return Err(PrivateKeyError::Encrypted),
            other => return Err(PrivateKeyError::UnexpectedLabel { label: other.to_string() }),
        }
        .map_err(|e| PrivateKeyError::Rejected(e.to_string()))?;
        Self::from_pair(pair)
    }

    fn from_pair(pair: RsaKeyPair) -> Result<Self, PrivateKeyError> {
        use aws_lc_rs::signature::KeyPair as _;
        let spki =
            pair.public_key().as_der().map_err(|_| PrivateKeyError::Rejected("cannot encode the public key".into()))?;
        let public =
            RsaPublicKey::from_spki_der(spki.as_ref()).map_err(|e| PrivateKeyError::Rejected(e.to_string()))?;
        Ok(RsaPrivateKey { pair: Arc::new(pair), public })
    }

    /// Unencrypted PKCS#8 PEM, for writing the key to disk.
    pub fn to_pkcs8_pem(&self) -> String {
        let der = self.pair.as_der().expect("aws-lc cannot serialise a key it holds");
        pem_encode("PRIVATE KEY", der.as_ref())
    }

    pub fn public_key(&self) -> RsaPublicKey {
        self.public.clone()
    }

    pub fn kid(&self) -> Kid {
        self.public.kid()
    }

    /// RSASSA-PKCS1-v1_5 SHA-256 signature of `signing_input`.
    pub fn sign_rs256(&self, signing_input: &[u8]) -> Vec<u8> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        // The buffer has exactly the modulus length, which is the only documented
        // failure condition; a failure here would be an aws-lc internal error.
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input, &mut sig)
            .expect("RS256 signing with a valid key failed");
        sig
    }
}

/// RFC 7638 §3: the required members in lexicographic order, no whitespace.
pub(crate) fn rsa_thumbprint(e_b64: &str, n_b64: &str) -> Kid {
    let canonical = format!(r#"{{"e":"{e_b64}","kty":"RSA","n":"{n_b64}"}}"#);
    let kid = b64url_encode(&Sha256::digest(canonical.as_bytes()));
    // A base64url SHA-256 is always 43 characters of the alphabet Kid accepts.
    Kid::parse(&kid).expect("a SHA-256 base64url thumbprint is always a valid kid")
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    // Only fails for labels with invalid characters, and ours are constants.
    pem_rfc7468::encode_string(label, LineEnding::LF, der).expect("constant PEM label is valid")
}

/// The labels of every `-----BEGIN X-----` line in `text`.
fn pem_labels(text: &str) -> Result<Vec<&str>, KeyError> {
    let mut labels = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find("-----BEGIN ") {
        let after = &rest[pos + "-----BEGIN ".len()..];
        let end = after.find("-----").ok_or(KeyError::NotPem)?;
        let label = &after[..end];
        if label.contains('\n') || label.len() > 64 {
            return Err(KeyError::NotPem);
        }
        labels.push(label);
        rest = &after[end..];
    }
    if labels.is_empty() {
        return Err(KeyError::NotPem);
    }
    Ok(labels)
}

fn algorithm_name(oid: &str) -> String {
    let name = match oid {
        "1.2.840.10045.2.1" => "an EC key (id-ecPublicKey)",
        "1.3.101.112" => "an Ed25519 key",
        "1.3.101.113" => "an Ed448 key",
        "1.3.101.110" => "an X25519 key",
        "1.2.840.10040.4.1" => "a DSA key",
        "1.2.840.113549.1.1.10" => "an RSASSA-PSS-only key; re-export it as a plain rsaEncryption key",
        _ => return format!("algorithm OID {oid}"),
    };
    name.to_string()
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

/// Bit length of a big-endian unsigned integer without leading zero bytes.
fn bit_len(b: &[u8]) -> usize {
    match b.first() {
        None => 0,
        Some(&top) => (b.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_len_counts_from_the_top_bit() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0x80, 0]), 16);
        assert_eq!(bit_len(&[0x7f, 0]), 15);
    }

    #[test]
    fn labels_are_found_in_order() {
        let t = "-----BEGIN A-----\nx\n-----END A-----\n-----BEGIN B C-----\n";
        assert_eq!(pem_labels(t).unwrap(), vec!["A", "B C"]);
        assert_eq!(pem_labels("nothing"), Err(KeyError::NotPem));
    }
}
