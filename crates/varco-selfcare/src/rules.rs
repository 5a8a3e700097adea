//! The "Crea Utente" rules and the role status transitions, as pure
//! functions so that the web form, the API and the CLI all refuse the same
//! things with the same words.
//!
//! Validation collects every field error at once (the form shows each next
//! to its field) rather than stopping at the first one.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::codice_fiscale::{name_code, surname_code, CfError, CodiceFiscale};
use crate::email::{self, Email};
use crate::model::{Institution, PartyRole, ProductId, ProductRole, RoleStatus, UserProductRole};

/// The form as submitted, unparsed. Field names match the keys used in
/// [`FieldErrors`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUserForm {
    pub nome: String,
    pub cognome: String,
    pub codice_fiscale: String,
    pub email: String,
    pub conferma_email: String,
    /// A product id such as `prod-interop-coll`.
    pub product: String,
    /// Product role ids: `admin`, `api`, `security`.
    pub roles: Vec<String>,
}

/// A form that passed every rule: what is needed to create or update the
/// user and their roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidNewUser {
    pub nome: String,
    pub cognome: String,
    pub fiscal_code: CodiceFiscale,
    pub email: Email,
    pub product: ProductId,
    pub party_role: PartyRole,
    /// Sorted, without duplicates.
    pub product_roles: Vec<ProductRole>,
}

impl ValidNewUser {
    /// The role records to store, one per product role, all ACTIVE.
    pub fn roles_for(&self, user: Uuid, institution: Uuid, now: DateTime<Utc>) -> Vec<UserProductRole> {
        self.product_roles
            .iter()
            .map(|&product_role| UserProductRole {
                user,
                institution,
                product: self.product,
                party_role: self.party_role,
                product_role,
                status: RoleStatus::Active,
                created_at: now,
            })
            .collect()
    }
}

/// Whether a refusal is about the input (show it on the form, 422) or about
/// who is asking (403): the caller must be able to tell them apart without
/// parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Invalid,
    Forbidden,
}

pub const FORBIDDEN_MESSAGE: &str = "Solo un Amministratore può gestire gli utenti";

/// Field name → Italian message. The form-level message, if any, is under
/// the empty key `""`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors {
    pub kind: ErrorKind,
    pub fields: BTreeMap<&'static str, String>,
}

impl FieldErrors {
    fn forbidden() -> Self {
        Self { kind: ErrorKind::Forbidden, fields: BTreeMap::from([("", FORBIDDEN_MESSAGE.to_owned())]) }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, msg) in &self.fields {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            if field.is_empty() {
                f.write_str(msg)?;
            } else {
                write!(f, "{field}: {msg}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

/// Whether the actor may add, suspend, reactivate or remove users of
/// `institution` on `product`: an ACTIVE admin-type party role on that same
/// product. A role on production does not extend to the test products (nor
/// the reverse), because SelfCare treats them as separate products with
/// separate role assignments.
pub fn can_manage_users(actor_roles: &[UserProductRole], institution: &Institution, product: ProductId) -> bool {
    actor_roles.iter().any(|r| {
        r.institution == institution.id
            && r.product == product
            && r.status == RoleStatus::Active
            && r.party_role.is_admin()
    })
}

/// Whether the actor may suspend, reactivate or remove `target`, as far as the
/// Legale rappresentante goes: a MANAGER role comes from the Ente's onboarding,
/// so only another active Legale rappresentante of that product may change it;
/// an Amministratore (DELEGATE, SUB_DELEGATE) manages the other users only.
/// Checked after [`can_manage_users`].
pub fn may_change_role(actor_roles: &[UserProductRole], institution: &Institution, target: &UserProductRole) -> bool {
    target.party_role != PartyRole::Manager
        || actor_roles.iter().any(|r| {
            r.institution == institution.id
                && r.product == target.product
                && r.status == RoleStatus::Active
                && r.party_role == PartyRole::Manager
        })
}

/// SelfCare messages start with a capital letter; the error types are
/// lowercase so they can also be embedded mid-sentence.
pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Applies the "Crea Utente" rules.
///
/// `actor_roles` are the acting user's roles on this institution, `existing`
/// the target user's current roles on it (empty for a new user); roles on
/// other institutions are ignored in both.
///
/// # Errors
///
/// [`ErrorKind::Forbidden`] with only the form-level message when the actor
/// may not manage users on the product: checked first, so that someone
/// without the right learns nothing about the target user's roles.
/// Otherwise [`ErrorKind::Invalid`] with every field error found.
pub fn validate_new_user(
    form: &NewUserForm,
    institution: &Institution,
    actor_roles: &[UserProductRole],
    existing: &[UserProductRole],
) -> Result<ValidNewUser, FieldErrors> {
    let product = form.product.parse::<ProductId>();
    let admin_somewhere = || ProductId::ALL.into_iter().any(|p| can_manage_users(actor_roles, institution, p));
    let allowed = match &product {
        // Nobody can be admin on a product the Ente has not joined: an admin of
        // the Ente is told, next to the field, that the product is not joined.
        Ok(p) if !institution.is_active_on(*p) => admin_somewhere(),
        Ok(p) => can_manage_users(actor_roles, institution, *p),
        // With no usable product we can't tell which right applies; refuse
        // only someone who is admin nowhere here, and let an admin see the
        // field error.
        Err(_) => admin_somewhere(),
    };
    if !allowed {
        return Err(FieldErrors::forbidden());
    }

    let mut errors = BTreeMap::new();

    let nome = form.nome.trim();
    let cognome = form.cognome.trim();
    if nome.is_empty() {
        errors.insert("nome", "Il nome è obbligatorio".to_owned());
    }
    if cognome.is_empty() {
        errors.insert("cognome", "Il cognome è obbligatorio".to_owned());
    }

    let fiscal_code = if form.codice_fiscale.trim().is_empty() {
        errors.insert("codice_fiscale", "Il codice fiscale è obbligatorio".to_owned());
        None
    } else {
        match CodiceFiscale::parse(&form.codice_fiscale) {
            Ok(cf) => Some(cf),
            Err(e) => {
                errors.insert("codice_fiscale", capitalize(&e.to_string()));
                None
            }
        }
    };
    // Each block is checked on its own (rather than via `matches_name`,
    // which stops at the surname) so that both fields get flagged when both
    // are wrong. The mismatch goes on the name field: a typo there is more
    // likely than a wrong code, and the message names the code anyway.
    if let Some(cf) = &fiscal_code {
        let code = cf.as_str();
        if !cognome.is_empty() && surname_code(cognome) != code[0..3] {
            let e = CfError::CognomeNonCorrisponde { expected: surname_code(cognome), found: code[0..3].to_owned() };
            errors.insert("cognome", capitalize(&e.to_string()));
        }
        if !nome.is_empty() && name_code(nome) != code[3..6] {
            let e = CfError::NomeNonCorrisponde { expected: name_code(nome), found: code[3..6].to_owned() };
            errors.insert("nome", capitalize(&e.to_string()));
        }
    }

    let email = match Email::parse(&form.email) {
        Ok(e) => Some(e),
        Err(e) => {
            errors.insert("email", capitalize(&e.to_string()));
            None
        }
    };
    if form.conferma_email.trim().is_empty() {
        errors.insert("conferma_email", "Conferma l'indirizzo email".to_owned());
    } else if let Some(email) = &email {
        // Only compared against a valid address: with an invalid one the
        // user has to retype both anyway, and one message is enough.
        if let Err(e) = email::confirm(email, &form.conferma_email) {
            errors.insert("conferma_email", capitalize(&e.to_string()));
        }
    }

    let product = match product {
        Ok(p) if institution.is_active_on(p) => Some(p),
        Ok(_) => {
            errors.insert("prodotto", "L'ente non ha aderito a questo prodotto".to_owned());
            None
        }
        Err(_) if form.product.trim().is_empty() => {
            errors.insert("prodotto", "Seleziona un prodotto".to_owned());
            None
        }
        Err(e) => {
            errors.insert("prodotto", capitalize(&e.to_string()));
            None
        }
    };

    let roles = match check_roles(&form.roles) {
        Ok(r) => Some(r),
        Err(msg) => {
            errors.insert("ruolo", msg);
            None
        }
    };

    // Conflicts with what the user already holds only make sense once both
    // the product and the requested roles are known.
    if let (Some(product), Some((party_role, requested))) = (product, &roles) {
        if let Err(msg) = check_existing(institution, product, *party_role, requested, existing) {
            errors.insert("ruolo", msg);
        }
    }

    match (errors.is_empty(), fiscal_code, email, product, roles) {
        (true, Some(fiscal_code), Some(email), Some(product), Some((party_role, product_roles))) => Ok(ValidNewUser {
            nome: nome.to_owned(),
            cognome: cognome.to_owned(),
            fiscal_code,
            email,
            product,
            party_role,
            product_roles,
        }),
        _ => Err(FieldErrors { kind: ErrorKind::Invalid, fields: errors }),
    }
}

/// `admin` alone, or one or both of `api` and `security`. Duplicates in the
/// submission are ignored: a form resubmitted with a checkbox twice means
/// the same thing.
fn check_roles(raw: &[String]) -> Result<(PartyRole, Vec<ProductRole>), String> {
    let mut roles = Vec::new();
    for r in raw {
        let role = r.parse::<ProductRole>().map_err(|e| capitalize(&e.to_string()))?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles.sort();
    match roles.as_slice() {
        [] => Err("Seleziona almeno un ruolo".to_owned()),
        [ProductRole::Admin] => Ok((PartyRole::Delegate, roles)),
        // Each product role implies a party role, and a user has only one
        // party role per product, so admin cannot sit with operator roles.
        r if r.contains(&ProductRole::Admin) => {
            Err("Il ruolo Amministratore non può essere combinato con i ruoli da operatore".to_owned())
        }
        _ => Ok((PartyRole::Operator, roles)),
    }
}

fn check_existing(
    institution: &Institution,
    product: ProductId,
    party_role: PartyRole,
    requested: &[ProductRole],
    existing: &[UserProductRole],
) -> Result<(), String> {
    // DELETED roles are history: they neither block nor count.
    let current: Vec<&UserProductRole> = existing
        .iter()
        .filter(|r| r.institution == institution.id && r.product == product && r.status != RoleStatus::Deleted)
        .collect();
    if let Some(held) = requested.iter().find(|&&p| current.iter().any(|r| r.product_role == p)) {
        return Err(format!("L'utente ha già il ruolo «{}» per questo prodotto", held.label()));
    }
    // MANAGER, DELEGATE and SUB_DELEGATE all give `admin`, so an admin
    // request never reaches here against an admin-type holder; what is left
    // is admin vs operator, in either direction.
    if let Some(other) = current.iter().find(|r| r.party_role.is_admin() != party_role.is_admin()) {
        return Err(format!(
            "L'utente ha già il ruolo «{}» per questo prodotto: non può avere anche un ruolo da {}",
            other.product_role.label(),
            if party_role.is_admin() { "Amministratore" } else { "operatore" },
        ));
    }
    Ok(())
}

/// Why a role cannot move to the requested status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("il ruolo è già sospeso")]
    GiaSospeso,
    #[error("il ruolo è già attivo")]
    GiaAttivo,
    /// DELETED is final: reinstating someone means adding the role again,
    /// which goes through the "Crea Utente" checks.
    #[error("il ruolo è stato eliminato")]
    Eliminato,
}

/// ACTIVE → SUSPENDED.
pub fn suspend(role: &mut UserProductRole) -> Result<(), TransitionError> {
    match role.status {
        RoleStatus::Active => {
            role.status = RoleStatus::Suspended;
            Ok(())
        }
        RoleStatus::Suspended => Err(TransitionError::GiaSospeso),
        RoleStatus::Deleted => Err(TransitionError::Eliminato),
    }
}

/// SUSPENDED → ACTIVE.
pub fn reactivate(role: &mut UserProductRole) -> Result<(), TransitionError> {
    match role.status {
        RoleStatus::Suspended => {
            role.status = RoleStatus::Active;
            Ok(())
        }
        RoleStatus::Active => Err(TransitionError::GiaAttivo),
        RoleStatus::Deleted => Err(TransitionError::Eliminato),
    }
}

/// ACTIVE or SUSPENDED → DELETED.
pub fn delete(role: &mut UserProductRole) -> Result<(), TransitionError> {
    match role.status {
        RoleStatus::Active | RoleStatus::Suspended => {
            role.status = RoleStatus::Deleted;
            Ok(())
        }
        RoleStatus::Deleted => Err(TransitionError::Eliminato),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{onboard, InstitutionType, Origin};

    const CF: &str = "RSSMRA80A01H501U"; // Mario Rossi

    /// Joined only Collaudo, so that production is a product "not joined".
    fn institution() -> Institution {
        let mut i = Institution {
            id: Uuid::from_u128(1),
            name: "Comune di Prova".into(),
            tax_code: "00000000000".into(),
            origin: Origin::Ipa,
            origin_id: "c_x000".into(),
            institution_type: InstitutionType::Pa,
            digital_address: "protocollo@pec.comune.prova.it".into(),
            onboardings: vec![],
        };
        onboard(&mut i, ProductId::InteropColl, Utc::now());
        i
    }

    fn role(inst: Uuid, product: ProductId, party: PartyRole, pr: ProductRole, status: RoleStatus) -> UserProductRole {
        UserProductRole {
            user: Uuid::from_u128(99),
            institution: inst,
            product,
            party_role: party,
            product_role: pr,
            status,
            created_at: Utc::now(),
        }
    }

    fn here(product: ProductId, party: PartyRole, pr: ProductRole, status: RoleStatus) -> UserProductRole {
        role(institution().id, product, party, pr, status)
    }

    /// Admin on both Collaudo and production, so product errors are not
    /// masked by the authorisation check.
    fn admin_actor() -> Vec<UserProductRole> {
        use ProductId::*;
        vec![
            here(InteropColl, PartyRole::Delegate, ProductRole::Admin, RoleStatus::Active),
            here(Interop, PartyRole::Manager, ProductRole::Admin, RoleStatus::Active),
        ]
    }

    fn form() -> NewUserForm {
        NewUserForm {
            nome: "Mario".into(),
            cognome: "Rossi".into(),
            codice_fiscale: CF.into(),
            email: "mario.rossi@comune.it".into(),
            conferma_email: "mario.rossi@comune.it".into(),
            product: "prod-interop-coll".into(),
            roles: vec!["admin".into()],
        }
    }

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    /// Each case changes one thing from a valid form and expects either
    /// acceptance or exactly one message on exactly one field.
    #[test]
    fn form_rules_table() {
        use PartyRole::*;
        use ProductId::*;
        use ProductRole::*;
        use RoleStatus::*;
        type Edit = fn(&mut NewUserForm);
        struct Case {
            name: &'static str,
            edit: Edit,
            existing: Vec<UserProductRole>,
            expect: Result<(PartyRole, Vec<ProductRole>), (&'static str, &'static str)>,
        }
        let other_inst = Uuid::from_u128(2);
        let c = |name, edit: Edit, existing, expect| Case { name, edit, existing, expect };
        let cases = vec![
            c("valid admin", |_| {}, vec![], Ok((Delegate, vec![Admin]))),
            c("name case and spaces", |f| (f.nome, f.cognome) = ("  mario ".into(), "ROSSI".into()), vec![], Ok((Delegate, vec![Admin]))),
            c("lowercase cf", |f| f.codice_fiscale = " rssmra80a01h501u ".into(), vec![], Ok((Delegate, vec![Admin]))),
            c("missing nome", |f| f.nome = " ".into(), vec![], Err(("nome", "Il nome è obbligatorio"))),
            c("missing cognome", |f| f.cognome = String::new(), vec![], Err(("cognome", "Il cognome è obbligatorio"))),
            c("missing cf", |f| f.codice_fiscale = String::new(), vec![], Err(("codice_fiscale", "Il codice fiscale è obbligatorio"))),
            c(
                "invalid cf check char",
                |f| f.codice_fiscale = "RSSMRA80A01H501X".into(),
                vec![],
                Err(("codice_fiscale", "Carattere di controllo del codice fiscale errato (atteso «U», trovato «X»)")),
            ),
            c(
                "cf too short",
                |f| f.codice_fiscale = "RSSMRA80A01".into(),
                vec![],
                Err(("codice_fiscale", "Il codice fiscale deve essere lungo 16 caratteri (trovati 11)")),
            ),
            c(
                "nome not matching cf",
                |f| f.nome = "Luca".into(),
                vec![],
                Err(("nome", "Il nome non corrisponde al codice fiscale (attesi «LCU», trovati «MRA»)")),
            ),
            c(
                "cognome not matching cf",
                |f| f.cognome = "Bianchi".into(),
                vec![],
                Err(("cognome", "Il cognome non corrisponde al codice fiscale (attesi «BNC», trovati «RSS»)")),
            ),
            c(
                "invalid email",
                |f| (f.email, f.conferma_email) = ("mario.rossi@comune".into(), "mario.rossi@comune".into()),
                vec![],
                Err(("email", "Il dominio dell'indirizzo email non è valido (esempio: nome@ente.it)")),
            ),
            c("missing email", |f| f.email = String::new(), vec![], Err(("email", "L'indirizzo email è obbligatorio"))),
            c(
                "email confirmation differs",
                |f| f.conferma_email = "mario.rosi@comune.it".into(),
                vec![],
                Err(("conferma_email", "Gli indirizzi email non coincidono")),
            ),
            c("missing confirmation", |f| f.conferma_email = String::new(), vec![], Err(("conferma_email", "Conferma l'indirizzo email"))),
            c(
                "confirmation differs only in domain case",
                |f| f.conferma_email = "mario.rossi@COMUNE.it".into(),
                vec![],
                Ok((Delegate, vec![Admin])),
            ),
            c(
                "product not joined",
                |f| f.product = "prod-interop".into(),
                vec![],
                Err(("prodotto", "L'ente non ha aderito a questo prodotto")),
            ),
            c("unknown product", |f| f.product = "prod-pn".into(), vec![], Err(("prodotto", "Prodotto sconosciuto: «prod-pn»"))),
            c("missing product", |f| f.product = String::new(), vec![], Err(("prodotto", "Seleziona un prodotto"))),
            c("no roles", |f| f.roles = vec![], vec![], Err(("ruolo", "Seleziona almeno un ruolo"))),
            c("unknown role", |f| f.roles = roles(&["root"]), vec![], Err(("ruolo", "Ruolo sconosciuto: «root»"))),
            c(
                "admin mixed with api",
                |f| f.roles = roles(&["api", "admin"]),
                vec![],
                Err(("ruolo", "Il ruolo Amministratore non può essere combinato con i ruoli da operatore")),
            ),
            c("api alone", |f| f.roles = roles(&["api"]), vec![], Ok((Operator, vec![Api]))),
            c("security alone", |f| f.roles = roles(&["security"]), vec![], Ok((Operator, vec![Security]))),
            c("api and security", |f| f.roles = roles(&["security", "api"]), vec![], Ok((Operator, vec![Api, Security]))),
            c("duplicate checkbox", |f| f.roles = roles(&["api", "api"]), vec![], Ok((Operator, vec![Api]))),
            c(
                "admin already held",
                |_| {},
                vec![here(InteropColl, Delegate, Admin, Active)],
                Err(("ruolo", "L'utente ha già il ruolo «Amministratore» per questo prodotto")),
            ),
            c(
                "admin already held as manager",
                |_| {},
                vec![here(InteropColl, Manager, Admin, Active)],
                Err(("ruolo", "L'utente ha già il ruolo «Amministratore» per questo prodotto")),
            ),
            c(
                "suspended role still held",
                |f| f.roles = roles(&["api"]),
                vec![here(InteropColl, Operator, Api, Suspended)],
                Err(("ruolo", "L'utente ha già il ruolo «Operatore API» per questo prodotto")),
            ),
            c("deleted role may be re-added", |_| {}, vec![here(InteropColl, Delegate, Admin, Deleted)], Ok((Delegate, vec![Admin]))),
            c(
                "operator adds second operator role",
                |f| f.roles = roles(&["security"]),
                vec![here(InteropColl, Operator, Api, Active)],
                Ok((Operator, vec![Security])),
            ),
            c(
                "operator cannot also be admin",
                |_| {},
                vec![here(InteropColl, Operator, Api, Active)],
                Err((
                    "ruolo",
                    "L'utente ha già il ruolo «Operatore API» per questo prodotto: non può avere anche un ruolo da Amministratore",
                )),
            ),
            c(
                "admin cannot also be operator",
                |f| f.roles = roles(&["security"]),
                vec![here(InteropColl, Manager, Admin, Active)],
                Err((
                    "ruolo",
                    "L'utente ha già il ruolo «Amministratore» per questo prodotto: non può avere anche un ruolo da operatore",
                )),
            ),
            c("role on another product ignored", |_| {}, vec![here(Interop, Delegate, Admin, Active)], Ok((Delegate, vec![Admin]))),
            c(
                "role on another institution ignored",
                |_| {},
                vec![role(other_inst, InteropColl, Delegate, Admin, Active)],
                Ok((Delegate, vec![Admin])),
            ),
        ];

        let inst = institution();
        for case in cases {
            let mut f = form();
            (case.edit)(&mut f);
            let got = validate_new_user(&f, &inst, &admin_actor(), &case.existing);
            match (got, case.expect) {
                (Ok(v), Ok((party, product_roles))) => {
                    assert_eq!((v.party_role, v.product_roles), (party, product_roles), "{}", case.name);
                    assert_eq!(v.product, InteropColl, "{}", case.name);
                }
                (Err(e), Err((field, msg))) => {
                    assert_eq!(e.kind, ErrorKind::Invalid, "{}", case.name);
                    assert_eq!(e.fields, BTreeMap::from([(field, msg.to_owned())]), "{}", case.name);
                }
                (got, expect) => panic!("{}: got {got:?}, expected {expect:?}", case.name),
            }
        }
    }

    #[test]
    fn valid_form_is_normalised() {
        let mut f = form();
        (f.nome, f.codice_fiscale, f.email) = (" Mario ".into(), "rssmra80a01h501u".into(), "Mario@Comune.IT".into());
        f.conferma_email = f.email.clone();
        let v = validate_new_user(&f, &institution(), &admin_actor(), &[]).unwrap();
        assert_eq!(v.nome, "Mario");
        assert_eq!(v.fiscal_code.as_str(), CF);
        assert_eq!(v.email.as_str(), "Mario@comune.it");

        let (user, now) = (Uuid::from_u128(7), Utc::now());
        f.roles = roles(&["api", "security"]);
        let v = validate_new_user(&f, &institution(), &admin_actor(), &[]).unwrap();
        let stored = v.roles_for(user, institution().id, now);
        assert_eq!(stored.len(), 2);
        assert!(stored.iter().all(|r| r.party_role == PartyRole::Operator
            && r.status == RoleStatus::Active
            && r.product == ProductId::InteropColl
            && r.user == user));
    }

    #[test]
    fn every_field_error_is_reported_at_once() {
        let f = NewUserForm { product: "prod-interop-coll".into(), ..Default::default() };
        let e = validate_new_user(&f, &institution(), &admin_actor(), &[]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        let fields: Vec<_> = e.fields.keys().copied().collect();
        assert_eq!(fields, ["codice_fiscale", "cognome", "conferma_email", "email", "nome", "ruolo"]);
    }

    #[test]
    fn authorisation_table() {
        use PartyRole::*;
        use ProductId::*;
        use ProductRole::*;
        use RoleStatus::*;
        let inst = institution();
        let elsewhere = role(Uuid::from_u128(2), InteropColl, Delegate, Admin, Active);
        let cases: Vec<(&str, Vec<UserProductRole>, bool)> = vec![
            ("delegate", vec![here(InteropColl, Delegate, Admin, Active)], true),
            ("sub-delegate", vec![here(InteropColl, SubDelegate, Admin, Active)], true),
            ("manager", vec![here(InteropColl, Manager, Admin, Active)], true),
            (
                "operator",
                vec![here(InteropColl, Operator, Api, Active), here(InteropColl, Operator, Security, Active)],
                false,
            ),
            ("suspended admin", vec![here(InteropColl, Delegate, Admin, Suspended)], false),
            ("deleted admin", vec![here(InteropColl, Delegate, Admin, Deleted)], false),
            ("admin on production only", vec![here(Interop, Manager, Admin, Active)], false),
            ("admin of another institution", vec![elsewhere], false),
            ("no roles", vec![], false),
        ];
        for (name, actor, allowed) in cases {
            let got = validate_new_user(&form(), &inst, &actor, &[]);
            if allowed {
                assert!(got.is_ok(), "{name}: {got:?}");
            } else {
                let e = got.unwrap_err();
                assert_eq!(e.kind, ErrorKind::Forbidden, "{name}");
                assert_eq!(e.fields, BTreeMap::from([("", FORBIDDEN_MESSAGE.to_owned())]), "{name}");
            }
        }
    }

    #[test]
    fn forbidden_hides_field_errors() {
        let operator = vec![here(ProductId::InteropColl, PartyRole::Operator, ProductRole::Api, RoleStatus::Active)];
        let f = NewUserForm { product: "prod-interop-coll".into(), ..Default::default() };
        let e = validate_new_user(&f, &institution(), &operator, &[]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden);
        assert_eq!(e.fields.len(), 1);
        // Unknown product: refused outright for a non-admin, a field error
        // for an admin.
        let f = NewUserForm { product: "prod-pn".into(), ..form() };
        assert_eq!(validate_new_user(&f, &institution(), &operator, &[]).unwrap_err().kind, ErrorKind::Forbidden);
        let e = validate_new_user(&f, &institution(), &admin_actor(), &[]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert_eq!(e.to_string(), "prodotto: Prodotto sconosciuto: «prod-pn»");
    }

    #[test]
    fn transitions_table() {
        use RoleStatus::*;
        use TransitionError::*;
        type Op = fn(&mut UserProductRole) -> Result<(), TransitionError>;
        let (s, r, d): (Op, Op, Op) = (suspend, reactivate, delete);
        let cases: [(&str, Op, RoleStatus, Result<RoleStatus, TransitionError>); 9] = [
            ("suspend active", s, Active, Ok(Suspended)),
            ("suspend suspended", s, Suspended, Err(GiaSospeso)),
            ("suspend deleted", s, Deleted, Err(Eliminato)),
            ("reactivate suspended", r, Suspended, Ok(Active)),
            ("reactivate active", r, Active, Err(GiaAttivo)),
            ("reactivate deleted", r, Deleted, Err(Eliminato)),
            ("delete active", d, Active, Ok(Deleted)),
            ("delete suspended", d, Suspended, Ok(Deleted)),
            ("delete deleted", d, Deleted, Err(Eliminato)),
        ];
        for (name, op, from, expect) in cases {
            let mut role = here(ProductId::InteropColl, PartyRole::Operator, ProductRole::Api, from);
            let got = op(&mut role);
            match expect {
                Ok(to) => assert_eq!((got, role.status), (Ok(()), to), "{name}"),
                // A refused transition leaves the role untouched.
                Err(e) => assert_eq!((got, role.status), (Err(e), from), "{name}"),
            }
        }
        assert_eq!(Eliminato.to_string(), "il ruolo è stato eliminato");
    }
}
