//! Base64url without padding (RFC 7515 §2), the only encoding JOSE uses.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// The input was not canonical unpadded base64url.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not valid base64url (URL-safe alphabet, no padding): {0}")]
pub struct Base64UrlError(pub String);

pub fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict decoding: padding, the standard `+`/`/` alphabet, whitespace and non-zero
/// trailing bits are all refused, so every byte string has exactly one accepted
/// encoding. That matters because signatures and thumbprints are computed over the
/// encoded text, and two spellings of the same value must not both pass.
pub fn b64url_decode(s: &str) -> Result<Vec<u8>, Base64UrlError> {
    URL_SAFE_NO_PAD.decode(s).map_err(|e| Base64UrlError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        assert_eq!(b64url_encode(b"\xfb\xff"), "-_8");
        assert_eq!(b64url_decode("-_8").unwrap(), b"\xfb\xff");
        assert!(b64url_decode("+/8").is_err(), "standard alphabet is refused");
        assert!(b64url_decode("-_8=").is_err(), "padding is refused");
        assert!(b64url_decode("-_9").is_err(), "non-zero trailing bits are refused");
        assert!(b64url_decode("a").is_err(), "impossible length");
        assert_eq!(b64url_decode("").unwrap(), b"");
    }
}
