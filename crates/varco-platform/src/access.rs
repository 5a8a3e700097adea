//! Who is asking, and what each caller may see and change. Every read and every
//! write of an environment takes a [`Caller`]; the rules below are the only place
//! where roles are looked at, so the machine API, the back-office pages and the CLI
//! cannot disagree.
//!
//! The rules are PDND's (`backoffice-ui.md`, "Who sees what"; `domain.md`, "Who may
//! do what in the back office"):
//!
//! | what | admin | api | security | API client m2m | m2m-admin |
//! |---|---|---|---|---|---|
//! | catalogue, tenants, attributes | read | read | read | read | read |
//! | Fruizione (own agreements and purposes) | read, write | — | read | read | read, write |
//! | Erogazione (own e-services and versions) | read, write | read, write | read | read | read, write |
//! | Ricevute (agreements, purposes on own e-services) | read, decide | read | — | read | read, decide |
//! | client (create, delete, members, purposes) | all own | — | members' only, read | read | read, write |
//! | keys | add as member, delete | — | add as member, delete, own clients | read | add, delete |
//! | own attributes and data, the attribute registry | write | — | — | — | write |
//!
//! The operator (command line) and Varco itself may do everything.
use crate::{AppError, AppResult};
use varco_domain::event::Actor;
use varco_domain::{Client, ClientId, Env, TenantId, UserId};

/// The role of an API client's voucher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiRole {
    /// May read.
    M2m,
    /// May also write (the client has an admin user).
    M2mAdmin,
}

/// The product roles a person holds on this environment's product
/// ("Amministratore", "Operatore API", "Operatore di sicurezza").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProductRoles {
    pub admin: bool,
    pub api: bool,
    pub security: bool,
}

impl ProductRoles {
    /// From SelfCare's product-role names (`admin`, `api`, `security`); others are ignored.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> ProductRoles {
        let mut r = ProductRoles::default();
        for n in names {
            match n {
                "admin" => r.admin = true,
                "api" => r.api = true,
                "security" => r.security = true,
                _ => {}
            }
        }
        r
    }
}

/// Whoever calls a use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A program, with a voucher of an API client of `tenant` in `env`.
    Api { env: Env, tenant: TenantId, client: ClientId, role: ApiRole },
    /// A person in the back office of `env`, for `tenant`, with SelfCare's roles there.
    Person { env: Env, tenant: TenantId, user: UserId, roles: ProductRoles },
    /// The operator, from the command line.
    Operator,
    /// Varco itself (demo world, start-up).
    System,
}

/// The kinds of change, grouped as PDND's role table groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The consumer side: richieste di fruizione and finalità of one's own organisation.
    Fruizione,
    /// The producer side: e-services and their versions.
    Erogazione,
    /// Decisions on what others asked: approve, reject, suspend received requests and purposes.
    Ricevute,
    /// Clients: create, delete, members, purposes.
    Client,
    /// A client's public keys (members only, checked with the client at hand).
    Chiavi,
    /// One's own declared attributes, the Ente's own data (its contact e-mail) and
    /// the attribute registry.
    Attributi,
}

impl Change {
    fn label(self) -> &'static str {
        match self {
            Change::Fruizione => "gestire richieste di fruizione e finalità",
            Change::Erogazione => "gestire e-service",
            Change::Ricevute => "gestire richieste e finalità ricevute",
            Change::Client => "gestire i client",
            Change::Chiavi => "gestire le chiavi pubbliche",
            Change::Attributi => "gestire gli attributi",
        }
    }
}

/// Which of an organisation's clients a caller may see in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientScope {
    /// Every client of the organisation.
    All,
    /// Only those the person is a member of.
    Member(UserId),
    /// None.
    Nothing,
}

impl Caller {
    /// The record of who made a change, for the event log.
    pub fn actor(&self) -> Actor {
        match self {
            Caller::Api { tenant, client, .. } => Actor::Client { client_id: *client, tenant_id: *tenant },
            Caller::Person { tenant, user, .. } => Actor::User { user_id: *user, tenant_id: *tenant },
            Caller::Operator => Actor::Operator,
            Caller::System => Actor::System,
        }
    }

    /// The organisation the caller acts for; `None` for the operator and Varco.
    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Caller::Api { tenant, .. } | Caller::Person { tenant, .. } => Some(*tenant),
            Caller::Operator | Caller::System => None,
        }
    }

    /// The environment the caller was authenticated in; `None` for the operator and Varco.
    pub fn env(&self) -> Option<Env> {
        match self {
            Caller::Api { env, .. } | Caller::Person { env, .. } => Some(*env),
            Caller::Operator | Caller::System => None,
        }
    }

    /// The person, if a person is calling.
    pub fn user(&self) -> Option<UserId> {
        match self {
            Caller::Person { user, .. } => Some(*user),
            _ => None,
        }
    }

    fn is_platform(&self) -> bool {
        matches!(self, Caller::Operator | Caller::System)
    }

    /// May this caller make changes of this kind (for its own organisation)?
    pub fn may(&self, change: Change) -> bool {
        match self {
            Caller::Operator | Caller::System => true,
            Caller::Api { role, .. } => *role == ApiRole::M2mAdmin,
            Caller::Person { roles, .. } => match change {
                Change::Fruizione | Change::Ricevute | Change::Client | Change::Attributi => roles.admin,
                Change::Erogazione => roles.admin || roles.api,
                Change::Chiavi => roles.admin || roles.security,
            },
        }
    }

    /// [`Caller::may`] as a refusal (403).
    pub fn require(&self, change: Change) -> AppResult<()> {
        if self.may(change) {
            return Ok(());
        }
        Err(AppError::Forbidden(match self {
            Caller::Api { .. } => format!("serve il ruolo m2m-admin per {}", change.label()),
            _ => format!("il tuo ruolo non consente di {}", change.label()),
        }))
    }

    /// Sees the consumer side of its organisation (Fruizione lists).
    pub fn sees_fruizione(&self) -> bool {
        match self {
            Caller::Person { roles, .. } => roles.admin || roles.security,
            _ => true,
        }
    }

    /// Sees what others asked of its organisation (Richieste / Finalità ricevute).
    pub fn sees_ricevute(&self) -> bool {
        match self {
            Caller::Person { roles, .. } => roles.admin || roles.api,
            _ => true,
        }
    }

    /// Which clients of its own organisation the caller sees in full.
    pub fn client_scope(&self) -> ClientScope {
        match self {
            Caller::Person { roles, user, .. } => {
                if roles.admin {
                    ClientScope::All
                } else if roles.security {
                    ClientScope::Member(*user)
                } else {
                    ClientScope::Nothing
                }
            }
            _ => ClientScope::All,
        }
    }

    /// Is `tenant` the caller's own organisation (always, for the operator and Varco)?
    pub fn is(&self, tenant: TenantId) -> bool {
        self.is_platform() || self.tenant() == Some(tenant)
    }

    /// May the caller see this client in full (name, purposes, keys)?
    pub fn sees_client(&self, c: &Client) -> bool {
        if self.is_platform() {
            return true;
        }
        if self.tenant() != Some(c.consumer_id) {
            return false;
        }
        match self.client_scope() {
            ClientScope::All => true,
            ClientScope::Member(u) => c.members.contains(&u),
            ClientScope::Nothing => false,
        }
    }
}

/// The caller's own organisation must be `tenant` (the operator may act for anyone).
pub(crate) fn require_tenant(caller: &Caller, tenant: TenantId, what: &str) -> AppResult<()> {
    if caller.is(tenant) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!("operazione non consentita: {what}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(admin: bool, api: bool, security: bool) -> Caller {
        Caller::Person {
            env: Env::Collaudo,
            tenant: TenantId::new(),
            user: UserId::new(),
            roles: ProductRoles { admin, api, security },
        }
    }

    #[test]
    fn the_role_table() {
        use Change::*;
        let all = [Fruizione, Erogazione, Ricevute, Client, Chiavi, Attributi];
        let allowed = |c: &Caller| all.iter().filter(|x| c.may(**x)).copied().collect::<Vec<_>>();
        assert_eq!(allowed(&person(true, false, false)), all.to_vec());
        assert_eq!(allowed(&person(false, true, false)), vec![Erogazione]);
        assert_eq!(allowed(&person(false, false, true)), vec![Chiavi]);
        assert_eq!(allowed(&person(false, true, true)), vec![Erogazione, Chiavi]);
        assert_eq!(allowed(&person(false, false, false)), vec![]);
        let api = |role| Caller::Api { env: Env::Collaudo, tenant: TenantId::new(), client: ClientId::new(), role };
        assert_eq!(allowed(&api(ApiRole::M2m)), vec![]);
        assert_eq!(allowed(&api(ApiRole::M2mAdmin)), all.to_vec());
        assert_eq!(allowed(&Caller::Operator), all.to_vec());
    }

    #[test]
    fn what_each_role_sees() {
        let (admin, api, security) =
            (person(true, false, false), person(false, true, false), person(false, false, true));
        assert!(admin.sees_fruizione() && admin.sees_ricevute());
        assert!(!api.sees_fruizione() && api.sees_ricevute());
        assert!(security.sees_fruizione() && !security.sees_ricevute());
        assert_eq!(admin.client_scope(), ClientScope::All);
        assert_eq!(api.client_scope(), ClientScope::Nothing);
        assert_eq!(security.client_scope(), ClientScope::Member(security.user().unwrap()));
    }

    #[test]
    fn product_roles_from_selfcare_names() {
        let r = ProductRoles::from_names(["api", "security", "whatever"]);
        assert_eq!(r, ProductRoles { admin: false, api: true, security: true });
    }
}
