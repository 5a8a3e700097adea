//! SelfCare's data: institutions, their onboardings on products, users and
//! the roles users hold per institution and product.
//!
//! Pure data plus the one rule that is about data rather than about a user
//! action ([`onboard`]). Wire names (serde) follow SelfCare's public API
//! (`prod-interop`, `MANAGER`, `admin`, ...) so that what Varco stores and
//! sends reads the same as what the real platform does; Italian labels are
//! what the UI shows.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::codice_fiscale::CodiceFiscale;
use crate::email::Email;

/// Registry an institution was imported from; `origin_id` is its key there
/// (e.g. the IPA code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Origin {
    Ipa,
    Anac,
    Ivass,
    /// Registered directly in SelfCare, not from an external registry.
    Selc,
    Infocamere,
    Ade,
}

/// SelfCare's institution types. Interoperabilità maps them to its own
/// tenant kinds, which is why they are kept verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstitutionType {
    /// Pubblica amministrazione.
    Pa,
    /// Gestore di servizi pubblici.
    Gsp,
    /// Società a controllo pubblico.
    Scp,
    /// Partner tecnologico.
    Pt,
    /// Prestatore di servizi di pagamento.
    Psp,
    /// Privato.
    Prv,
}

/// An Ente.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    pub id: Uuid,
    pub name: String,
    /// Codice fiscale dell'ente: 11 digits, not a personal [`CodiceFiscale`],
    /// hence a plain string.
    pub tax_code: String,
    pub origin: Origin,
    pub origin_id: String,
    pub institution_type: InstitutionType,
    /// PEC.
    pub digital_address: String,
    pub onboardings: Vec<Onboarding>,
}

impl Institution {
    /// Status of the onboarding on `product`, if there is one.
    pub fn onboarding_status(&self, product: ProductId) -> Option<OnboardingStatus> {
        self.onboardings.iter().find(|o| o.product == product).map(|o| o.status)
    }

    /// Users can only be given roles on products the institution has
    /// actively joined.
    pub fn is_active_on(&self, product: ProductId) -> bool {
        self.onboarding_status(product) == Some(OnboardingStatus::Active)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Onboarding {
    pub product: ProductId,
    pub status: OnboardingStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OnboardingStatus {
    Pending,
    Active,
    Suspended,
    Deleted,
    Rejected,
}

/// Records `product` as ACTIVE for the institution, and with it the test
/// products that ride along with it (see [`ProductId::test_products`]).
///
/// An existing onboarding is re-activated in place, keeping its
/// `created_at`, so there is never more than one onboarding per product.
/// Varco has no contract-signing step, which is why onboarding lands
/// directly in ACTIVE rather than PENDING.
pub fn onboard(institution: &mut Institution, product: ProductId, now: DateTime<Utc>) {
    for &p in std::iter::once(&product).chain(product.test_products()) {
        match institution.onboardings.iter_mut().find(|o| o.product == p) {
            Some(o) => o.status = OnboardingStatus::Active,
            None => institution.onboardings.push(Onboarding {
                product: p,
                status: OnboardingStatus::Active,
                created_at: now,
            }),
        }
    }
}

/// The products Varco serves. Other SelfCare products exist but are out of
/// scope, so an unknown id is a parse error rather than a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProductId {
    #[serde(rename = "prod-interop")]
    Interop,
    #[serde(rename = "prod-interop-coll")]
    InteropColl,
    #[serde(rename = "prod-interop-atst")]
    InteropAtst,
}

impl ProductId {
    pub const ALL: [ProductId; 3] = [ProductId::Interop, ProductId::InteropColl, ProductId::InteropAtst];

    /// The product whose onboarding and roles open an environment of
    /// Interoperabilità: SelfCare owns this mapping, the platform knows only `Env`.
    pub fn of_env(env: varco_domain::Env) -> ProductId {
        match env {
            varco_domain::Env::Produzione => ProductId::Interop,
            varco_domain::Env::Collaudo => ProductId::InteropColl,
            varco_domain::Env::Attestazione => ProductId::InteropAtst,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProductId::Interop => "prod-interop",
            ProductId::InteropColl => "prod-interop-coll",
            ProductId::InteropAtst => "prod-interop-atst",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ProductId::Interop => "Interoperabilità",
            ProductId::InteropColl => "Interoperabilità Collaudo",
            ProductId::InteropAtst => "Interoperabilità Attestazione",
        }
    }

    /// Products onboarded together with this one. Only production
    /// Interoperabilità has any: its test environments are separate
    /// products (with separate roles) but not separately joinable.
    pub fn test_products(self) -> &'static [ProductId] {
        match self {
            ProductId::Interop => &[ProductId::InteropColl, ProductId::InteropAtst],
            ProductId::InteropColl | ProductId::InteropAtst => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("prodotto sconosciuto: «{0}»")]
pub struct UnknownProduct(pub String);

impl FromStr for ProductId {
    type Err = UnknownProduct;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| UnknownProduct(s.to_owned()))
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person known to SelfCare. Identified across institutions by the fiscal
/// code (what SPID/CIE give us); the e-mail is per institution because the
/// same person usually has a different work address at each Ente.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    /// Nome.
    pub name: String,
    /// Cognome.
    pub family_name: String,
    pub fiscal_code: CodiceFiscale,
    /// Institution id → e-mail at that institution.
    pub emails: BTreeMap<Uuid, Email>,
}

/// The role of a user towards the institution, per product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartyRole {
    Manager,
    Delegate,
    SubDelegate,
    Operator,
}

impl PartyRole {
    pub fn label(self) -> &'static str {
        match self {
            PartyRole::Manager => "Legale rappresentante",
            PartyRole::Delegate | PartyRole::SubDelegate => "Amministratore",
            PartyRole::Operator => "Operatore",
        }
    }

    /// The party roles that may manage the institution's users on a product.
    pub fn is_admin(self) -> bool {
        matches!(self, PartyRole::Manager | PartyRole::Delegate | PartyRole::SubDelegate)
    }
}

/// The Interoperabilità product roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductRole {
    Admin,
    Api,
    Security,
}

impl ProductRole {
    pub const ALL: [ProductRole; 3] = [ProductRole::Admin, ProductRole::Api, ProductRole::Security];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductRole::Admin => "admin",
            ProductRole::Api => "api",
            ProductRole::Security => "security",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ProductRole::Admin => "Amministratore",
            ProductRole::Api => "Operatore API",
            ProductRole::Security => "Operatore di sicurezza",
        }
    }

    /// The party role that goes with this product role when a user is
    /// created through "Crea Utente". MANAGER is never given that way: it
    /// comes from the onboarding contract.
    pub fn party_role(self) -> PartyRole {
        match self {
            ProductRole::Admin => PartyRole::Delegate,
            ProductRole::Api | ProductRole::Security => PartyRole::Operator,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ruolo sconosciuto: «{0}»")]
pub struct UnknownRole(pub String);

impl FromStr for ProductRole {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoleStatus {
    Active,
    Suspended,
    Deleted,
}

/// One product role of one user on one institution's product. A user with
/// both `api` and `security` has two of these, sharing the party role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProductRole {
    pub user: Uuid,
    pub institution: Uuid,
    pub product: ProductId,
    pub party_role: PartyRole,
    pub product_role: ProductRole,
    pub status: RoleStatus,
    pub created_at: DateTime<Utc>,
}

/// The wire name of one of these enums (`MANAGER`, `ACTIVE`, …), as in the
/// stored documents, SQL filter columns and the identity token.
pub fn wire_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => panic!("not a unit enum: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn institution() -> Institution {
        Institution {
            id: Uuid::new_v4(),
            name: "Comune di Prova".into(),
            tax_code: "00000000000".into(),
            origin: Origin::Ipa,
            origin_id: "c_x000".into(),
            institution_type: InstitutionType::Pa,
            digital_address: "protocollo@pec.comune.prova.it".into(),
            onboardings: vec![],
        }
    }

    #[test]
    fn onboarding_interop_brings_test_products() {
        let mut i = institution();
        let now = Utc::now();
        onboard(&mut i, ProductId::Interop, now);
        for p in ProductId::ALL {
            assert!(i.is_active_on(p), "{p}");
        }
        assert_eq!(i.onboardings.len(), 3);
    }

    #[test]
    fn onboarding_a_test_product_is_alone() {
        let mut i = institution();
        onboard(&mut i, ProductId::InteropColl, Utc::now());
        assert!(i.is_active_on(ProductId::InteropColl));
        assert!(!i.is_active_on(ProductId::Interop));
        assert!(!i.is_active_on(ProductId::InteropAtst));
    }

    #[test]
    fn reonboarding_reactivates_in_place() {
        let mut i = institution();
        let first = Utc::now() - chrono::Duration::days(10);
        onboard(&mut i, ProductId::Interop, first);
        i.onboardings[1].status = OnboardingStatus::Suspended;
        onboard(&mut i, ProductId::Interop, Utc::now());
        assert_eq!(i.onboardings.len(), 3);
        assert!(i.onboardings.iter().all(|o| o.status == OnboardingStatus::Active && o.created_at == first));
    }

    #[test]
    fn wire_names_and_labels() {
        for (p, id, label) in [
            (ProductId::Interop, "prod-interop", "Interoperabilità"),
            (ProductId::InteropColl, "prod-interop-coll", "Interoperabilità Collaudo"),
            (ProductId::InteropAtst, "prod-interop-atst", "Interoperabilità Attestazione"),
        ] {
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{id}\""));
            assert_eq!(id.parse::<ProductId>().unwrap(), p);
            assert_eq!(p.label(), label);
        }
        assert_eq!("prod-pn".parse::<ProductId>().unwrap_err().to_string(), "prodotto sconosciuto: «prod-pn»");
        assert_eq!(serde_json::to_string(&PartyRole::SubDelegate).unwrap(), "\"SUB_DELEGATE\"");
        assert_eq!(serde_json::to_string(&ProductRole::Security).unwrap(), "\"security\"");
        assert_eq!(PartyRole::SubDelegate.label(), "Amministratore");
        assert_eq!(PartyRole::Manager.label(), "Legale rappresentante");
        assert_eq!(ProductRole::Api.label(), "Operatore API");
        assert_eq!("admin".parse::<ProductRole>().unwrap(), ProductRole::Admin);
        assert!("Admin".parse::<ProductRole>().is_err());
    }
}
