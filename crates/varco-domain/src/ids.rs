//! Identifiers. Each is a distinct type so that a `PurposeId` can never be passed
//! where a `ClientId` is expected, and each can only hold a valid value.
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use uuid::Uuid;

macro_rules! uuid_id {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self { Self(Uuid::new_v4()) }
        }
        impl Default for $name {
            fn default() -> Self { Self::new() }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { self.0.fmt(f) }
        }
        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_uuid(s).map(Self).ok_or_else(|| InvalidId { kind: stringify!($name), value: truncate(s) })
            }
        }
    )*};
}

uuid_id!(TenantId, AttributeId, EServiceId, DescriptorId, AgreementId, PurposeId, PurposeVersionId, ClientId, UserId,);

/// Accepts only the canonical hyphenated form, as PDND does (`format: uuid`).
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    if s.len() != 36 {
        return None;
    }
    Uuid::parse_str(s).ok()
}

fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind} (a UUID is expected)")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
}

/// A key id: the RFC 7638 SHA-256 thumbprint of an RSA public key, base64url without
/// padding, so always 43 characters of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Kid(String);

impl Kid {
    pub fn parse(s: &str) -> Result<Self, InvalidKid> {
        if s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            Ok(Kid(s.to_string()))
        } else {
            Err(InvalidKid(truncate(s)))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Kid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Kid::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Kid {
    type Err = InvalidKid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kid::parse(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid kid (43 characters of A-Z a-z 0-9 _ -)")]
pub struct InvalidKid(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_only_canonical_uuids() {
        let id = PurposeId::new();
        assert_eq!(id.to_string().parse::<PurposeId>().unwrap(), id);
        assert!("not-a-uuid".parse::<PurposeId>().is_err());
        assert!("{67e55044-10b1-426f-9247-bb680e5fe0c8}".parse::<PurposeId>().is_err());
        assert!("67e5504410b1426f9247bb680e5fe0c8".parse::<ClientId>().is_err());
        assert!("67e55044-10b1-426f-9247-bb680e5fe0c8".parse::<ClientId>().is_ok());
    }

    #[test]
    fn kid_is_43_base64url_chars() {
        assert!(Kid::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").is_ok());
        assert!(Kid::parse("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X").is_err());
        assert!(Kid::parse("NzbLsXh8uDCcd+6MNwXF4W/7noWXFZAfHkxZsRGC9Xs").is_err());
        assert!(serde_json::from_str::<Kid>("\"short\"").is_err());
    }
}
