use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// One of the three fully separate Interoperabilità instances. Nothing is shared
/// between them: not rows, not ids, not keys, not issuers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    Produzione,
    Collaudo,
    Attestazione,
}

impl Env {
    pub const ALL: [Env; 3] = [Env::Produzione, Env::Collaudo, Env::Attestazione];

    /// The path segment under `/interop/` and the value stored in every row.
    pub fn slug(self) -> &'static str {
        match self {
            Env::Produzione => "produzione",
            Env::Collaudo => "collaudo",
            Env::Attestazione => "attestazione",
        }
    }

    /// The label users know ("In quale ambiente vuoi entrare?").
    pub fn label(self) -> &'static str {
        match self {
            Env::Produzione => "Produzione",
            Env::Collaudo => "Collaudo",
            Env::Attestazione => "Attestazione",
        }
    }
}

impl fmt::Display for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown environment {0:?}: expected produzione, collaudo or attestazione")]
pub struct UnknownEnv(pub String);

impl FromStr for Env {
    type Err = UnknownEnv;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "produzione" | "prod" | "production" => Ok(Env::Produzione),
            "collaudo" | "uat" => Ok(Env::Collaudo),
            "attestazione" | "att" | "atst" => Ok(Env::Attestazione),
            _ => Err(UnknownEnv(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn slugs_round_trip_and_are_distinct() {
        for e in Env::ALL {
            assert_eq!(e.slug().parse::<Env>().unwrap(), e);
        }
        assert!("staging".parse::<Env>().is_err());
    }
}
