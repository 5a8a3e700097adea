//! The demo world's SelfCare side: three Enti onboarded on Interoperabilità (and
//! so on Collaudo and Attestazione), and the people the demo identity provider
//! offers. Codici fiscali are valid in form (check character, name blocks) but
//! made up.
use crate::codice_fiscale::CodiceFiscale;
use crate::email::Email;
use crate::model::{Institution, InstitutionType, Origin, ProductId, User};
use crate::service::{Result, SelfCare};
use uuid::Uuid;

/// A person the demo identity provider lets in.
#[derive(Debug, Clone, Copy)]
pub struct DemoPerson {
    pub name: &'static str,
    pub family_name: &'static str,
    pub fiscal_code: &'static str,
    /// What the login page says about them.
    pub description: &'static str,
}

pub const ADMIN_COMUNE: DemoPerson = DemoPerson {
    name: "Maria",
    family_name: "Bianchi",
    fiscal_code: "BNCMRA85M41F205D",
    description: "Legale rappresentante del Comune di Prova: Amministratore su Interoperabilità",
};
pub const TECHNICIAN: DemoPerson = DemoPerson {
    name: "Mario",
    family_name: "Rossi",
    fiscal_code: "RSSMRA80A01H501U",
    description: "Tecnico incaricato: ancora nessun ruolo",
};
pub const PAGOPA_STAFF: DemoPerson = DemoPerson {
    name: "Laura",
    family_name: "Bianchi",
    fiscal_code: "BNCLRA99T71L219W",
    description: "Personale di PagoPA S.p.A., erogatore di SEND - UAT",
};
pub const PEOPLE: [DemoPerson; 3] = [ADMIN_COMUNE, TECHNICIAN, PAGOPA_STAFF];

/// A demo Ente, and who is its legale rappresentante (with their e-mail there).
struct DemoEnte {
    name: &'static str,
    tax_code: &'static str,
    ipa: &'static str,
    kind: InstitutionType,
    pec: &'static str,
    manager: Option<(DemoPerson, &'static str)>,
}

const ENTI: [DemoEnte; 3] = [
    DemoEnte {
        name: "PagoPA S.p.A.",
        tax_code: "15376371009",
        ipa: "5N2TR557",
        kind: InstitutionType::Gsp,
        pec: "selfcare@pec.pagopa.it",
        manager: Some((PAGOPA_STAFF, "laura.bianchi@pagopa.example")),
    },
    DemoEnte {
        name: "Comune di Prova",
        tax_code: "00000000001",
        ipa: "c_prova",
        kind: InstitutionType::Pa,
        pec: "protocollo@pec.comune.prova.example",
        manager: Some((ADMIN_COMUNE, "maria.bianchi@comune.prova.example")),
    },
    DemoEnte {
        name: "Comune di Esempio",
        tax_code: "00000000002",
        ipa: "c_esempio",
        kind: InstitutionType::Pa,
        pec: "protocollo@pec.comune.esempio.example",
        manager: None,
    },
];

/// Creates the demo Enti and people unless SelfCare has Enti already. Returns the
/// institutions by name (existing or new), for the Interoperabilità tenants.
pub async fn seed_if_empty(sc: &SelfCare) -> Result<Vec<Institution>> {
    if !sc.institutions().await?.is_empty() {
        return sc.institutions().await;
    }
    for DemoEnte { name, tax_code, ipa, kind, pec, manager } in ENTI {
        let institution = Institution {
            id: Uuid::new_v4(),
            name: name.into(),
            tax_code: tax_code.into(),
            origin: Origin::Ipa,
            origin_id: ipa.into(),
            institution_type: kind,
            digital_address: pec.into(),
            onboardings: vec![],
        };
        sc.create_institution(&institution).await?;
        sc.onboard(institution.id, ProductId::Interop).await?;
        if let Some((person, email)) = manager {
            let mut user = person.user();
            user.emails.insert(institution.id, Email::parse(email).expect("demo e-mails are valid"));
            sc.seed_manager(institution.id, &user).await?;
        }
    }
    sc.ensure_user(&TECHNICIAN.user()).await?;
    sc.institutions().await
}

impl DemoPerson {
    pub fn user(&self) -> User {
        User {
            id: Uuid::new_v4(),
            name: self.name.into(),
            family_name: self.family_name.into(),
            fiscal_code: CodiceFiscale::parse(self.fiscal_code).expect("demo codici fiscali are valid"),
            emails: Default::default(),
        }
    }
}
