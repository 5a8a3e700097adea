//! Target `token_form`: `parse_form` on the request body, and then, for a form it
//! accepts, the checks of the assertion it carries (as the token endpoint runs them).
use varco_token::checks::{parse_form, ASSERTION_TYPE};
use varco_token::Reason;

use crate::assert_message;

pub fn token_form(data: &[u8]) {
    match parse_form(data) {
        Ok(form) => {
            assert!(!form.client_assertion.is_empty(), "accepted a form with an empty client_assertion");
            // Each field the contract names is there once, with the value it must have.
            let values = |name: &str| -> Vec<String> {
                form_urlencoded::parse(data).filter(|(k, _)| k == name).map(|(_, v)| v.into_owned()).collect()
            };
            assert_eq!(values("grant_type"), ["client_credentials"], "accepted with another grant_type");
            assert_eq!(values("client_assertion_type"), [ASSERTION_TYPE], "accepted with another assertion type");
            assert_eq!(values("client_assertion"), std::slice::from_ref(&form.client_assertion));
            let ids = values("client_id");
            assert!(ids.len() <= 1, "accepted with client_id {} times", ids.len());
            assert_eq!(ids.first().map(|s| s.parse().ok()), form.client_id.map(Some), "client_id read wrong");
            // What was parsed survives being written back as a form and read again.
            let mut out = form_urlencoded::Serializer::new(String::new());
            out.append_pair("client_assertion_type", ASSERTION_TYPE);
            out.append_pair("grant_type", "client_credentials");
            out.append_pair("client_assertion", &form.client_assertion);
            if let Some(id) = form.client_id {
                out.append_pair("client_id", &id.to_string());
            }
            let again = parse_form(out.finish().as_bytes()).expect("a re-encoded accepted form is accepted");
            assert_eq!(again.client_assertion, form.client_assertion);
            assert_eq!(again.client_id, form.client_id);
            crate::assertion::check(&form.client_assertion, form.client_id.map(Ok), None);
        }
        Err(refusal) => {
            use Reason::*;
            assert!(
                matches!(
                    refusal.reason,
                    InvalidRequest
                        | InvalidAssertionType
                        | InvalidGrantType
                        | InvalidClientIdFormat
                        | ClientAssertionNotFound
                ),
                "the form was refused for a reason that is not about the form: {:?}",
                refusal.reason
            );
            assert_message("refusal", &refusal.detail);
        }
    }
}
