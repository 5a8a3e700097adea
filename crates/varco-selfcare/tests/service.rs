//! The SelfCare service against real databases: every test runs on SQLite and
//! on PostgreSQL, because the SQL is shared and only the migrations differ.

use std::collections::BTreeMap;

use uuid::Uuid;
use varco_selfcare::codice_fiscale::CodiceFiscale;
use varco_selfcare::email::Email;
use varco_selfcare::model::{
    Institution, InstitutionType, Origin, PartyRole, ProductId, ProductRole, RoleStatus, User,
};
use varco_selfcare::rules::{ErrorKind, NewUserForm, TransitionError};
use varco_selfcare::service::{
    AddUserError, SelfCare, ServiceError, DELETED_SUBJECT, NEW_ROLE_SUBJECT, REACTIVATED_SUBJECT, SUSPENDED_SUBJECT,
};
use varco_testkit::{Backend, TestDb};

struct World {
    sc: SelfCare,
    institution: Institution,
    manager: User,
    db: TestDb,
}

const MANAGER_CF: &str = "BNCMRA85M41F205D"; // Maria Bianchi
const TECH_CF: &str = "RSSMRA80A01H501U"; // Mario Rossi
const OPERATOR_CF: &str = "BNCLRA99T71L219W"; // Laura Bianchi

/// An institution onboarded on prod-interop with Maria Bianchi as its seeded
/// Legale rappresentante.
async fn world(backend: Backend) -> World {
    let db = TestDb::new(backend).await;
    let store = varco_store::Store::connect(&db.url).await.expect("store");
    let sc = SelfCare::new(store);
    let institution = Institution {
        id: Uuid::new_v4(),
        name: "Comune di Prova".into(),
        tax_code: "00000000001".into(),
        origin: Origin::Ipa,
        origin_id: "c_x001".into(),
        institution_type: InstitutionType::Pa,
        digital_address: "protocollo@pec.comune.prova.it".into(),
        onboardings: vec![],
    };
    sc.create_institution(&institution).await.unwrap();
    let institution = sc.onboard(institution.id, ProductId::Interop).await.unwrap();
    let manager = User {
        id: Uuid::new_v4(),
        name: "Maria".into(),
        family_name: "Bianchi".into(),
        fiscal_code: CodiceFiscale::parse(MANAGER_CF).unwrap(),
        emails: BTreeMap::from([(institution.id, Email::parse("maria.bianchi@comune.it").unwrap())]),
    };
    let (manager, seeded) = sc.seed_manager(institution.id, &manager).await.unwrap();
    assert_eq!(seeded.len(), 3, "one MANAGER role per active product");
    World { sc, institution, manager, db }
}

fn tech_form() -> NewUserForm {
    NewUserForm {
        nome: "Mario".into(),
        cognome: "Rossi".into(),
        codice_fiscale: TECH_CF.into(),
        email: "mario.rossi@fornitore.it".into(),
        conferma_email: "mario.rossi@fornitore.it".into(),
        product: "prod-interop-coll".into(),
        roles: vec!["admin".into()],
    }
}

/// Rows in (sc_users, user_roles, mail_outbox): "nothing stored" means these
/// do not move.
async fn counts(db: &TestDb) -> [i64; 3] {
    let mut out = [0; 3];
    for (i, t) in ["sc_users", "user_roles", "mail_outbox"].iter().enumerate() {
        out[i] = db.count(&format!("SELECT COUNT(*) FROM {t}")).await;
    }
    out
}

macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                ($body)(Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                ($body)(Backend::Postgres).await
            }
        }
    };
}

both_backends!(onboarding_brings_test_products, |b| async move {
    let w = world(b).await;
    let stored = w.sc.institution(w.institution.id).await.unwrap().unwrap();
    for p in ProductId::ALL {
        assert!(stored.is_active_on(p), "{p}");
    }
    assert_eq!(stored, w.institution);
    // Onboarding again keeps one onboarding per product.
    let again = w.sc.onboard(w.institution.id, ProductId::Interop).await.unwrap();
    assert_eq!(again.onboardings.len(), 3);
    // The tax code is unique.
    let mut dup = w.institution.clone();
    dup.id = Uuid::new_v4();
    assert!(matches!(w.sc.create_institution(&dup).await, Err(ServiceError::Duplicate(_))));
    assert!(w.sc.institution(Uuid::new_v4()).await.unwrap().is_none());
});

both_backends!(admin_adds_technician, |b| async move {
    let w = world(b).await;
    let before = counts(&w.db).await;
    let (user, roles) = w.sc.add_user(w.manager.id, w.institution.id, tech_form()).await.unwrap();
    assert_eq!(counts(&w.db).await, [before[0] + 1, before[1] + 1, before[2] + 1]);

    assert_eq!(roles.len(), 1);
    assert_eq!(
        (roles[0].product, roles[0].party_role, roles[0].product_role, roles[0].status),
        (ProductId::InteropColl, PartyRole::Delegate, ProductRole::Admin, RoleStatus::Active)
    );
    let stored = w.sc.user_by_fiscal_code(&CodiceFiscale::parse(TECH_CF).unwrap()).await.unwrap().unwrap();
    assert_eq!(stored, user);
    assert_eq!(stored.emails[&w.institution.id].as_str(), "mario.rossi@fornitore.it");
    let held = w.sc.roles_of(user.id, w.institution.id).await.unwrap();
    assert_eq!(held.iter().map(|r| r.role.clone()).collect::<Vec<_>>(), roles);
    assert_eq!(w.sc.institutions_of_user(user.id).await.unwrap(), vec![w.institution.clone()]);

    let outbox = w.sc.outbox().await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!((outbox[0].to.as_str(), outbox[0].subject.as_str()), ("mario.rossi@fornitore.it", NEW_ROLE_SUBJECT));
    assert!(outbox[0].body.contains("Interoperabilità Collaudo"), "{}", outbox[0].body);
    assert_eq!(outbox[0].sent_ms, None);

    // The same person added on another product is reused, not duplicated.
    let form = NewUserForm { product: "prod-interop".into(), roles: vec!["api".into()], ..tech_form() };
    let (again, _) = w.sc.add_user(w.manager.id, w.institution.id, form).await.unwrap();
    assert_eq!(again.id, user.id);
    assert_eq!(counts(&w.db).await, [before[0] + 1, before[1] + 2, before[2] + 2]);
});

both_backends!(operator_is_refused, |b| async move {
    let w = world(b).await;
    let form = NewUserForm {
        nome: "Laura".into(),
        cognome: "Bianchi".into(),
        codice_fiscale: OPERATOR_CF.into(),
        email: "laura.bianchi@comune.it".into(),
        conferma_email: "laura.bianchi@comune.it".into(),
        product: "prod-interop-coll".into(),
        roles: vec!["api".into(), "security".into()],
    };
    let (operator, _) = w.sc.add_user(w.manager.id, w.institution.id, form).await.unwrap();

    let before = counts(&w.db).await;
    let e = w.sc.add_user(operator.id, w.institution.id, tech_form()).await.unwrap_err();
    match e {
        AddUserError::Rejected(f) => assert_eq!(f.kind, ErrorKind::Forbidden),
        other => panic!("{other:?}"),
    }
    // A stranger with no role at all is refused the same way.
    let e = w.sc.add_user(Uuid::new_v4(), w.institution.id, tech_form()).await.unwrap_err();
    assert!(matches!(e, AddUserError::Rejected(f) if f.kind == ErrorKind::Forbidden));
    assert_eq!(counts(&w.db).await, before);
    assert!(w.sc.user_by_fiscal_code(&CodiceFiscale::parse(TECH_CF).unwrap()).await.unwrap().is_none());
});

both_backends!(invalid_forms_store_nothing, |b| async move {
    let w = world(b).await;
    w.sc.add_user(w.manager.id, w.institution.id, tech_form()).await.unwrap();
    // Varco has no "suspend onboarding" operation yet; edit the document so
    // there is a product the manager administers but the Ente is not active on.
    let mut inst = w.sc.institution(w.institution.id).await.unwrap().unwrap();
    let atst = inst.onboardings.iter_mut().find(|o| o.product == ProductId::InteropAtst).unwrap();
    atst.status = varco_selfcare::model::OnboardingStatus::Suspended;
    let doc = serde_json::to_string(&inst).unwrap().replace('\'', "''");
    w.db.execute(&format!("UPDATE institutions SET doc = '{doc}' WHERE id = '{}'", inst.id)).await;

    type Edit = fn(&mut NewUserForm);
    let cases: [(&str, Edit, &str); 6] = [
        ("invalid cf", |f| f.codice_fiscale = "RSSMRA80A01H501X".into(), "codice_fiscale"),
        ("name mismatch", |f| f.nome = "Luca".into(), "nome"),
        ("surname mismatch", |f| f.cognome = "Verdi".into(), "cognome"),
        ("email confirmation", |f| f.conferma_email = "mario.rosi@fornitore.it".into(), "conferma_email"),
        ("duplicate role", |f| f.product = "prod-interop-coll".into(), "ruolo"),
        ("product not joined", |f| f.product = "prod-interop-atst".into(), "prodotto"),
    ];
    let before = counts(&w.db).await;
    for (name, edit, field) in cases {
        // Production, where Mario Rossi has no role yet, so only the edited
        // field can be wrong.
        let mut form = NewUserForm { product: "prod-interop".into(), ..tech_form() };
        edit(&mut form);
        match w.sc.add_user(w.manager.id, w.institution.id, form).await {
            Err(AddUserError::Rejected(f)) => {
                assert_eq!(f.kind, ErrorKind::Invalid, "{name}");
                assert_eq!(f.fields.keys().copied().collect::<Vec<_>>(), [field], "{name}: {f}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(counts(&w.db).await, before, "{name}");
    }
    // A new person whose form fails after the user would have been created
    // leaves no user behind either.
    let form = NewUserForm {
        nome: "Laura".into(),
        cognome: "Bianchi".into(),
        codice_fiscale: OPERATOR_CF.into(),
        email: "laura@comune.it".into(),
        conferma_email: "laura@comune.it".into(),
        product: "prod-interop-atst".into(),
        roles: vec!["api".into()],
    };
    assert!(w.sc.add_user(w.manager.id, w.institution.id, form).await.is_err());
    assert_eq!(counts(&w.db).await, before);
});

both_backends!(role_transitions_queue_mails, |b| async move {
    let w = world(b).await;
    let (tech, _) = w.sc.add_user(w.manager.id, w.institution.id, tech_form()).await.unwrap();
    let role_id = w.sc.roles_of(tech.id, w.institution.id).await.unwrap()[0].id;

    // Someone without an admin role at the institution may not touch its roles.
    let before = counts(&w.db).await;
    assert!(matches!(w.sc.suspend_role(Uuid::new_v4(), role_id).await, Err(ServiceError::Forbidden)));
    assert_eq!(counts(&w.db).await, before);

    // Nor may an Amministratore touch their own roles (the last admin could
    // otherwise lock the Ente out).
    let own = w.sc.roles_of(w.manager.id, w.institution.id).await.unwrap()[0].id;
    assert!(matches!(w.sc.suspend_role(w.manager.id, own).await, Err(ServiceError::OwnRole)));
    assert!(matches!(w.sc.delete_role(w.manager.id, own).await, Err(ServiceError::OwnRole)));
    assert_eq!(counts(&w.db).await, before);

    let r = w.sc.suspend_role(w.manager.id, role_id).await.unwrap();
    assert_eq!(r.role.status, RoleStatus::Suspended);
    assert!(matches!(
        w.sc.suspend_role(w.manager.id, role_id).await,
        Err(ServiceError::Transition(TransitionError::GiaSospeso))
    ));
    // Suspended roles still tie the user to the institution.
    assert_eq!(w.sc.institutions_of_user(tech.id).await.unwrap().len(), 1);
    let r = w.sc.reactivate_role(w.manager.id, role_id).await.unwrap();
    assert_eq!(r.role.status, RoleStatus::Active);
    let r = w.sc.delete_role(w.manager.id, role_id).await.unwrap();
    assert_eq!(r.role.status, RoleStatus::Deleted);
    assert_eq!(w.sc.role(role_id).await.unwrap().unwrap().role.status, RoleStatus::Deleted);
    assert!(w.sc.institutions_of_user(tech.id).await.unwrap().is_empty());
    assert!(matches!(
        w.sc.delete_role(w.manager.id, role_id).await,
        Err(ServiceError::Transition(TransitionError::Eliminato))
    ));
    assert!(matches!(w.sc.delete_role(w.manager.id, Uuid::new_v4()).await, Err(ServiceError::NotFound(_))));

    let subjects: Vec<_> = w.sc.outbox().await.unwrap().into_iter().map(|m| (m.to, m.subject)).collect();
    let to = "mario.rossi@fornitore.it".to_string();
    assert_eq!(
        subjects,
        [NEW_ROLE_SUBJECT, SUSPENDED_SUBJECT, REACTIVATED_SUBJECT, DELETED_SUBJECT]
            .map(|s| (to.clone(), s.to_string()))
    );

    // A deleted role may be given again.
    w.sc.add_user(w.manager.id, w.institution.id, tech_form()).await.unwrap();
});
