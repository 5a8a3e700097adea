//! The fuzz targets of Varco, one function per target. Each takes the fuzzer's bytes,
//! runs the code under test and asserts what must hold beyond "no panic"; a broken
//! invariant is a panic, which the fuzzer reports as a crash.
//!
//! The same functions run in two places: the coverage-guided fuzzer (`fuzz/`, see
//! docs/fuzzing.md), and `tests/corpus.rs`, which replays the kept corpus and every
//! crash ever found as ordinary tests, so CI needs no fuzz build.
//!
//! Where a target has a "signed" mode, the first byte of the input selects it and
//! the harness signs the fuzzed header and claims with a fixed test key: random bytes
//! never carry a valid RSA signature, and without one the fuzzer would never get past
//! the signature to the checks that come after it.

mod assertion;
mod codice_fiscale;
mod dpop;
mod form;
mod pem;
pub mod seeds;
pub mod world;

pub use assertion::client_assertion;
pub use codice_fiscale::codice_fiscale;
pub use dpop::dpop_proof;
pub use form::token_form;
pub use pem::public_key;

/// A fuzz target: the fuzzer's bytes in, a panic when an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target by name, as the fuzzer and the corpus directories call it.
pub const TARGETS: &[(&str, Target)] = &[
    ("token_form", token_form),
    ("client_assertion", client_assertion),
    ("public_key", public_key),
    ("dpop_proof", dpop_proof),
    ("codice_fiscale", codice_fiscale),
];

/// Error texts are shown to users or written to logs and echo parts of the input:
/// whatever the input, they stay short. The code cuts each echoed value to 80-128
/// characters and then quotes it with `{:?}`, which may write one character as ten
/// (`\u{10ffff}`): this bound is what those cuts guarantee, and an echo left uncut
/// (inputs reach 16 KiB) breaks it.
pub(crate) const MAX_MESSAGE_CHARS: usize = 2000;

pub(crate) fn assert_message(what: &str, msg: &str) {
    assert!(!msg.trim().is_empty(), "{what}: empty message");
    let n = msg.chars().count();
    assert!(n <= MAX_MESSAGE_CHARS, "{what}: message of {n} characters: {msg:.200}");
}

/// The first byte as flags, the rest as the payload (an empty input is all payload).
pub(crate) fn split_mode(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((m, rest)) => (*m, rest),
        None => (0, data),
    }
}

/// Signed modes take `header NUL claims`; without a NUL the whole payload is the
/// claims and the harness writes the usual header. JSON never holds a raw NUL, so
/// the separator cannot be produced by a mutation of valid JSON by accident.
pub(crate) fn split_header(rest: &[u8]) -> (Option<&[u8]>, &[u8]) {
    match rest.iter().position(|&b| b == 0) {
        Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
        None => (None, rest),
    }
}

/// `base64url(header).base64url(claims)` of the raw bytes (not necessarily JSON, so
/// the JSON errors are reached too), signed with `sign`.
pub(crate) fn compact(header: &[u8], claims: &[u8], sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let mut token = varco_jose::b64url_encode(header);
    token.push('.');
    token.push_str(&varco_jose::b64url_encode(claims));
    let sig = sign(token.as_bytes());
    token.push('.');
    token.push_str(&varco_jose::b64url_encode(&sig));
    token
}
