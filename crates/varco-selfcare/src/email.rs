//! E-mail addresses as typed into "Crea Utente".
//!
//! The check is deliberately shallow (RFC 5322 allows far more than any
//! mailbox a public body will give us): its job is to catch typos next to
//! the field, not to prove the mailbox exists. Delivery is what proves that.

use std::fmt;

use serde::{Deserialize, Serialize};

/// RFC 5321 caps a forward path at 256 octets including the angle brackets,
/// which leaves 254 for the address itself.
const MAX_LEN: usize = 254;

/// Why a string is not an acceptable e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("l'indirizzo email è obbligatorio")]
    Vuota,
    #[error("l'indirizzo email può avere al massimo {MAX_LEN} caratteri (trovati {found})")]
    TroppoLunga { found: usize },
    #[error("l'indirizzo email non può contenere spazi")]
    Spazi,
    #[error("l'indirizzo email deve contenere una e una sola «@»")]
    Chiocciola,
    #[error("manca la parte prima della «@» nell'indirizzo email")]
    ParteLocaleVuota,
    #[error("il dominio dell'indirizzo email non è valido (esempio: nome@ente.it)")]
    Dominio,
    #[error("gli indirizzi email non coincidono")]
    ConfermaDiversa,
}

/// A syntactically plausible e-mail address, trimmed, with the domain
/// lowercased. The local part keeps its case: RFC 5321 lets servers treat it
/// as case-sensitive, so folding it could address a different mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// # Errors
    ///
    /// The first problem found, checked from the most general (empty, too
    /// long, spaces) to the most specific, so the message points at what
    /// the user most likely got wrong.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Vuota);
        }
        // Octets, not chars: the limit is a transport one.
        if s.len() > MAX_LEN {
            return Err(EmailError::TroppoLunga { found: s.len() });
        }
        if s.chars().any(char::is_whitespace) {
            return Err(EmailError::Spazi);
        }
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailError::Chiocciola);
        };
        if local.is_empty() {
            return Err(EmailError::ParteLocaleVuota);
        }
        // A dot and no empty labels rules out "a@b", "a@.it", "a@ente." and
        // "a@ente..it", the typos that otherwise reach the mail server.
        if !domain.contains('.') || domain.split('.').any(str::is_empty) {
            return Err(EmailError::Dominio);
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks the "Conferma email" field against the already-parsed address.
/// The confirmation is normalised the same way, so a different case in the
/// domain or stray spaces do not count as a mismatch.
///
/// # Errors
///
/// [`EmailError::ConfermaDiversa`] when they differ, including when the
/// confirmation is not a valid address at all: to the user that is the same
/// mistake, and the address field already carries its own message.
pub fn confirm(email: &Email, confirmation: &str) -> Result<(), EmailError> {
    match Email::parse(confirmation) {
        Ok(c) if &c == email => Ok(()),
        _ => Err(EmailError::ConfermaDiversa),
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> Self {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        use EmailError::*;
        let long_local = "a".repeat(250);
        let long = format!("{long_local}@b.it"); // 255 octets
        let max = format!("{}@b.it", "a".repeat(249)); // 254 octets
        let cases: Vec<(&str, Result<&str, EmailError>)> = vec![
            ("mario.rossi@comune.it", Ok("mario.rossi@comune.it")),
            ("  mario.rossi@comune.it \n", Ok("mario.rossi@comune.it")),
            ("Mario.Rossi@Comune.IT", Ok("Mario.Rossi@comune.it")),
            ("a+tag@pec.comune.roma.it", Ok("a+tag@pec.comune.roma.it")),
            (&max, Ok(&max)),
            ("", Err(Vuota)),
            ("   ", Err(Vuota)),
            (&long, Err(TroppoLunga { found: 255 })),
            ("mario rossi@comune.it", Err(Spazi)),
            ("mario@comune .it", Err(Spazi)),
            ("mario.comune.it", Err(Chiocciola)),
            ("mario@@comune.it", Err(Chiocciola)),
            ("a@b@comune.it", Err(Chiocciola)),
            ("@comune.it", Err(ParteLocaleVuota)),
            ("mario@", Err(Dominio)),
            ("mario@comune", Err(Dominio)),
            ("mario@.it", Err(Dominio)),
            ("mario@comune.", Err(Dominio)),
            ("mario@comune..it", Err(Dominio)),
        ];
        for (input, expected) in cases {
            let got = Email::parse(input);
            assert_eq!(got.as_ref().map(Email::as_str), expected.as_ref().copied(), "{input:?}");
        }
    }

    #[test]
    fn confirm_table() {
        let email = Email::parse("Mario@comune.it").unwrap();
        let cases = [
            ("Mario@comune.it", true),
            (" Mario@COMUNE.it ", true), // domain case and spaces are not a mismatch
            ("mario@comune.it", false),  // local part case is
            ("Mario@comune.com", false),
            ("", false),
            ("non-un-indirizzo", false),
        ];
        for (c, ok) in cases {
            assert_eq!(confirm(&email, c).is_ok(), ok, "{c:?}");
        }
        assert_eq!(confirm(&email, "x@y.it").unwrap_err().to_string(), "gli indirizzi email non coincidono");
    }

    #[test]
    fn serde_validates() {
        let ok: Email = serde_json::from_str("\"a@B.it\"").unwrap();
        assert_eq!(ok.as_str(), "a@b.it");
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"a@b.it\"");
        assert!(serde_json::from_str::<Email>("\"a@b\"").is_err());
    }
}
