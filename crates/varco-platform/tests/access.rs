//! Who sees what and who may do what, asked of the services themselves (no HTTP):
//! the rules every front inherits. One world in Collaudo: a producer with SEND's
//! e-service, a consumer with an active agreement, an active and a draft purpose,
//! a client with a key, and a third Ente with nothing; each caller then reads and
//! writes, and each refusal leaves the event log as it was.
//!
//! Plus the one seam between SelfCare and Interoperabilità, `tenant_for`, on both
//! databases (its uniqueness is the schema's).

use std::collections::BTreeSet;
use uuid::Uuid;
use varco_domain::eservice::DescriptorInput;
use varco_domain::*;
use varco_platform::*;
use varco_selfcare::model::{Institution, InstitutionType, Origin};
use varco_store::Store;
use varco_testkit::{Backend, TestDb};

const ENV: Env = Env::Collaudo;

fn institution(name: &str, ipa: &str, kind: InstitutionType) -> Institution {
    Institution {
        id: Uuid::new_v4(),
        name: name.into(),
        tax_code: "00000000001".into(),
        origin: Origin::Ipa,
        origin_id: ipa.into(),
        institution_type: kind,
        digital_address: "protocollo@pec.example.it".into(),
        onboardings: vec![],
    }
}

async fn platform(db: &TestDb) -> (Platform, Store) {
    let store = Store::connect(&db.url).await.expect("store");
    let configs = Env::ALL.iter().map(|&e| EnvConfig::derive(e, "http://127.0.0.1:9")).collect();
    (Platform::new(store.clone(), configs), store)
}

fn roles(admin: bool, api: bool, security: bool) -> ProductRoles {
    ProductRoles { admin, api, security }
}

struct World {
    p: Platform,
    store: Store,
    producer: TenantId,
    consumer: TenantId,
    other: TenantId,
    eservice: EServiceId,
    draft_eservice: EServiceId,
    agreement: AgreementId,
    purpose: PurposeId,
    draft_purpose: PurposeId,
    client: ClientId,
    kid: Kid,
    /// A member of the client (Operatore di sicurezza of the consumer).
    member: UserId,
    _db: TestDb,
}

impl World {
    fn svc(&self) -> EnvService<'_> {
        self.p.env(ENV)
    }

    fn person(&self, tenant: TenantId, r: ProductRoles) -> Caller {
        Caller::Person { env: ENV, tenant, user: UserId::new(), roles: r }
    }

    fn member(&self, r: ProductRoles) -> Caller {
        Caller::Person { env: ENV, tenant: self.consumer, user: self.member, roles: r }
    }

    fn api(&self, tenant: TenantId, role: ApiRole) -> Caller {
        Caller::Api { env: ENV, tenant, client: ClientId::new(), role }
    }

    async fn seq(&self) -> i64 {
        self.store.last_event_seq().await.unwrap()
    }

    /// What the caller's lists show: agreement, purpose and client ids.
    async fn lists(&self, c: &Caller) -> (BTreeSet<AgreementId>, BTreeSet<PurposeId>, BTreeSet<ClientId>) {
        let svc = self.svc();
        let a = svc.agreements(c, &AgreementFilter::default(), Page::ALL).await.unwrap();
        let p = svc.purposes(c, &PurposeFilter::default(), Page::ALL).await.unwrap();
        let cl = svc.clients(c, &ClientFilter::default(), Page::ALL).await.unwrap();
        let full = cl
            .items
            .iter()
            .filter_map(|v| match v {
                ClientView::Full(c) => Some(c.id),
                ClientView::Partial { .. } => None,
            })
            .collect();
        (a.items.iter().map(|a| a.id).collect(), p.items.iter().map(|p| p.id).collect(), full)
    }
}

fn descriptor() -> DescriptorInput {
    DescriptorInput {
        description: Some("Versione 1".into()),
        audience: vec!["https://api.example.it".into()],
        voucher_lifespan: 600,
        daily_calls_per_consumer: 1000,
        daily_calls_total: 10000,
        agreement_approval_policy: ApprovalPolicy::Automatic,
        server_urls: vec!["https://api.example.it/v1".into()],
        attributes: AttributeGroups::default(),
    }
}

async fn world(backend: Backend) -> World {
    let db = TestDb::new(backend).await;
    let (p, store) = platform(&db).await;
    let svc = p.env(ENV);
    let sys = Caller::System;
    let producer = svc.tenant_for(&sys, &institution("Erogatore", "c_erog", InstitutionType::Gsp)).await.unwrap().id;
    let consumer = svc.tenant_for(&sys, &institution("Fruitore", "c_frui", InstitutionType::Pa)).await.unwrap().id;
    let other = svc.tenant_for(&sys, &institution("Altro", "c_altro", InstitutionType::Pa)).await.unwrap().id;

    let prod_admin =
        Caller::Person { env: ENV, tenant: producer, user: UserId::new(), roles: roles(true, false, false) };
    let es = svc
        .create_eservice(
            &prod_admin,
            producer,
            "Servizio di prova",
            "Un e-service per i test",
            Technology::Rest,
            EServiceMode::Deliver,
        )
        .await
        .unwrap();
    let d = svc.add_descriptor(&prod_admin, es.id, descriptor()).await.unwrap();
    svc.publish_descriptor(&prod_admin, es.id, d).await.unwrap();
    let draft = svc
        .create_eservice(
            &prod_admin,
            producer,
            "Servizio in bozza",
            "Non ancora pubblicato",
            Technology::Rest,
            EServiceMode::Deliver,
        )
        .await
        .unwrap();
    svc.add_descriptor(&prod_admin, draft.id, descriptor()).await.unwrap();

    let member = UserId::new();
    let cons_admin = Caller::Person { env: ENV, tenant: consumer, user: member, roles: roles(true, false, false) };
    let a = svc.create_agreement(&cons_admin, consumer, es.id).await.unwrap();
    let a = svc.submit_agreement(&cons_admin, a.id, None).await.unwrap();
    assert_eq!(a.state, AgreementState::Active);
    let form = || Some(varco_domain::risk_analysis::rules_for(TenantKind::Pa, None).unwrap().example_form());
    let purpose = svc
        .create_purpose(&cons_admin, consumer, es.id, "Finalità attiva", "Una finalità per i test", 10, form(), None)
        .await
        .unwrap();
    svc.activate_purpose(&cons_admin, purpose.id).await.unwrap();
    let draft_purpose = svc
        .create_purpose(&cons_admin, consumer, es.id, "Finalità in bozza", "Ancora da pubblicare", 10, form(), None)
        .await
        .unwrap();
    let client = svc
        .create_client(&cons_admin, consumer, ClientKind::Consumer, "Client di prova", None, vec![member], None)
        .await
        .unwrap();
    let key = varco_jose::RsaPrivateKey::generate_2048().public_key().to_pem();
    let k = svc.add_client_key(&cons_admin, client.id, "Chiave di prova", &key).await.unwrap();
    svc.add_client_purpose(&cons_admin, client.id, purpose.id).await.unwrap();
    World {
        p,
        store,
        producer,
        consumer,
        other,
        eservice: es.id,
        draft_eservice: draft.id,
        agreement: a.id,
        purpose: purpose.id,
        draft_purpose: draft_purpose.id,
        client: client.id,
        kid: k.kid,
        member,
        _db: db,
    }
}

fn set<T: Ord + Clone>(items: &[T]) -> BTreeSet<T> {
    items.iter().cloned().collect()
}

fn forbidden<T: std::fmt::Debug>(r: AppResult<T>) {
    assert!(matches!(r, Err(AppError::Forbidden(_))), "expected 403, got {r:?}");
}

fn not_found<T: std::fmt::Debug>(r: AppResult<T>) {
    assert!(matches!(r, Err(AppError::NotFound(_))), "expected 404, got {r:?}");
}

/// The reads are paged and filtered by the database: both of them.
macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(varco_testkit::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(varco_testkit::Backend::Postgres).await
            }
        }
    };
}

on_both!(each_caller_sees_what_its_organisation_and_role_allow);
on_both!(each_kind_of_change_is_refused_to_the_wrong_caller_and_changes_nothing);

async fn each_caller_sees_what_its_organisation_and_role_allow(backend: Backend) {
    let w = world(backend).await;
    let svc = w.svc();
    let (a, p, c) = (set(&[w.agreement]), set(&[w.purpose, w.draft_purpose]), set(&[w.client]));

    // The consumer's Amministratore, and a program of the consumer: everything of its own.
    for caller in [w.person(w.consumer, roles(true, false, false)), w.api(w.consumer, ApiRole::M2m)] {
        assert_eq!(w.lists(&caller).await, (a.clone(), p.clone(), c.clone()), "{caller:?}");
        assert!(svc.purpose(&caller, w.draft_purpose).await.is_ok());
        assert_eq!(svc.client_keys(&caller, w.client).await.unwrap().len(), 1);
    }
    // Operatore di sicurezza: Fruizione in view, only the clients it is a member of.
    let member = w.member(roles(false, false, true));
    assert_eq!(w.lists(&member).await, (a.clone(), p.clone(), c.clone()));
    let stranger = w.person(w.consumer, roles(false, false, true));
    assert_eq!(w.lists(&stranger).await, (a.clone(), p.clone(), BTreeSet::new()));
    forbidden(svc.client_keys(&stranger, w.client).await);
    forbidden(svc.client_purposes(&stranger, w.client).await);
    // Operatore API of the consumer: neither Fruizione nor the clients.
    let api = w.person(w.consumer, roles(false, true, false));
    assert_eq!(w.lists(&api).await, (BTreeSet::new(), BTreeSet::new(), BTreeSet::new()));
    forbidden(svc.agreement(&api, w.agreement).await);
    not_found(svc.purpose(&api, w.purpose).await);

    // The producer sees what it received, never the consumer's drafts nor its clients.
    let received = (a.clone(), set(&[w.purpose]), BTreeSet::new());
    for caller in [
        w.person(w.producer, roles(true, false, false)),
        w.person(w.producer, roles(false, true, false)),
        w.api(w.producer, ApiRole::M2m),
    ] {
        assert_eq!(w.lists(&caller).await, received, "{caller:?}");
        not_found(svc.purpose(&caller, w.draft_purpose).await);
        assert!(svc.agreement(&caller, w.agreement).await.is_ok());
        let ps = svc.agreement_purposes(&caller, w.agreement, Page::ALL).await.unwrap();
        assert_eq!(ps.items.iter().map(|p| p.id).collect::<Vec<_>>(), vec![w.purpose]);
        assert!(matches!(svc.client(&caller, w.client).await.unwrap(), ClientView::Partial { .. }));
    }
    // ... but not its Operatore di sicurezza (Richieste ricevute are hidden to it).
    let prod_security = w.person(w.producer, roles(false, false, true));
    assert_eq!(w.lists(&prod_security).await, (BTreeSet::new(), BTreeSet::new(), BTreeSet::new()));
    forbidden(svc.agreement(&prod_security, w.agreement).await);

    // Another Ente: nothing but the catalogue and that the client exists.
    for caller in [w.person(w.other, roles(true, true, true)), w.api(w.other, ApiRole::M2mAdmin)] {
        assert_eq!(w.lists(&caller).await.0, BTreeSet::new());
        assert_eq!(w.lists(&caller).await.1, BTreeSet::new());
        forbidden(svc.agreement(&caller, w.agreement).await);
        not_found(svc.purpose(&caller, w.purpose).await);
        not_found(svc.purpose_agreement(&caller, w.purpose).await);
        assert_eq!(
            svc.client(&caller, w.client).await.unwrap(),
            ClientView::Partial { id: w.client, consumer_id: w.consumer }
        );
        forbidden(svc.client_keys(&caller, w.client).await);
        // The published e-service, without drafts; the draft e-service does not exist for it.
        let es = svc.eservice(&caller, w.eservice).await.unwrap();
        assert!(es.descriptors.iter().all(|d| d.state == DescriptorState::Published));
        not_found(svc.eservice(&caller, w.draft_eservice).await);
        let catalogue = svc.eservices(&caller, &EServiceFilter::default(), Page::ALL).await.unwrap();
        assert_eq!(catalogue.items.iter().map(|e| e.id).collect::<Vec<_>>(), vec![w.eservice]);
        // Any key is readable by kid: producers check vouchers' evidence with it.
        assert_eq!(svc.client_key_jwk(&caller, w.kid.as_str()).await.unwrap().0, w.client);
    }
    // The producer sees its draft e-service.
    let prod = w.person(w.producer, roles(false, true, false));
    assert!(svc.eservice(&prod, w.draft_eservice).await.is_ok());

    // A caller of another environment sees nothing here, whatever its organisation.
    let elsewhere =
        Caller::Person { env: Env::Produzione, tenant: w.consumer, user: w.member, roles: roles(true, true, true) };
    forbidden(svc.agreements(&elsewhere, &AgreementFilter::default(), Page::ALL).await);
    forbidden(svc.purposes(&elsewhere, &PurposeFilter::default(), Page::ALL).await);
    forbidden(svc.clients(&elsewhere, &ClientFilter::default(), Page::ALL).await);
    forbidden(svc.eservices(&elsewhere, &EServiceFilter::default(), Page::ALL).await);
    forbidden(svc.tenant(&elsewhere, w.consumer).await);
    forbidden(svc.agreement(&elsewhere, w.agreement).await);

    // Pages: the window and the whole count; filters the database applies.
    let admin = w.person(w.consumer, roles(true, false, false));
    let page = svc.purposes(&admin, &PurposeFilter::default(), Page { offset: 1, limit: 1 }).await.unwrap();
    assert_eq!((page.items.len(), page.total), (1, 2));
    let f = AgreementFilter { states: vec![AgreementState::Suspended], ..Default::default() };
    assert_eq!(svc.agreements(&admin, &f, Page::ALL).await.unwrap().total, 0);
    let f = AgreementFilter { states: vec![AgreementState::Active], eservices: vec![w.eservice], ..Default::default() };
    let page = svc.agreements(&admin, &f, Page { offset: 0, limit: 1 }).await.unwrap();
    assert_eq!(page.items.iter().map(|a| a.id).collect::<Vec<_>>(), vec![w.agreement]);
    assert_eq!(svc.agreements(&admin, &f, Page { offset: 1, limit: 1 }).await.unwrap().items.len(), 0);
    let by_name = |n: &str| ClientFilter { name: Some(n.into()), ..Default::default() };
    assert_eq!(svc.clients(&admin, &by_name("DI PROVA"), Page::ALL).await.unwrap().total, 1);
    assert_eq!(svc.clients(&admin, &by_name("%"), Page::ALL).await.unwrap().total, 0, "% is no wildcard");
    // Names are the owner's: another Ente's name filter finds nothing of theirs.
    let other = w.api(w.other, ApiRole::M2m);
    assert_eq!(svc.clients(&other, &by_name("prova"), Page::ALL).await.unwrap().total, 0);
    assert_eq!(svc.clients(&other, &ClientFilter::default(), Page::ALL).await.unwrap().total, 1);
    let ipa = TenantFilter { ipa_code: Some("c_frui".into()), ..Default::default() };
    let found = svc.tenants(&other, &ipa, Page::ALL).await.unwrap();
    assert_eq!(found.items.iter().map(|t| t.id).collect::<Vec<_>>(), vec![w.consumer]);
    let tax = TenantFilter { tax_code: Some("c_frui".into()), ..Default::default() };
    assert_eq!(svc.tenants(&other, &tax, Page::ALL).await.unwrap().total, 0, "an IPA code is no tax code");
}

async fn each_kind_of_change_is_refused_to_the_wrong_caller_and_changes_nothing(backend: Backend) {
    let w = world(backend).await;
    let svc = w.svc();
    let before = w.seq().await;
    let cons = |r| w.person(w.consumer, r);
    let prod = |r| w.person(w.producer, r);
    let (admin, api, security) = (roles(true, false, false), roles(false, true, false), roles(false, false, true));

    // Fruizione: the consumer's Amministratore only (and a program with m2m-admin).
    forbidden(svc.create_agreement(&cons(api), w.consumer, w.eservice).await);
    forbidden(svc.create_agreement(&cons(security), w.consumer, w.eservice).await);
    forbidden(svc.create_agreement(&w.api(w.consumer, ApiRole::M2m), w.consumer, w.eservice).await);
    forbidden(svc.create_agreement(&w.person(w.other, admin), w.consumer, w.eservice).await);
    forbidden(svc.archive_agreement(&cons(security), w.agreement).await);
    forbidden(svc.archive_agreement(&w.person(w.other, admin), w.agreement).await);
    forbidden(svc.suspend_agreement(&cons(api), w.agreement).await);
    forbidden(svc.archive_purpose(&cons(security), w.purpose).await);
    forbidden(svc.delete_purpose(&cons(api), w.draft_purpose).await);
    forbidden(svc.new_purpose_version(&w.person(w.other, admin), w.purpose, 20).await);

    // Ricevute: the producer's Amministratore decides; its Operatore API only looks.
    forbidden(svc.suspend_agreement(&prod(api), w.agreement).await);
    forbidden(svc.suspend_agreement(&prod(security), w.agreement).await);
    forbidden(svc.suspend_purpose(&prod(api), w.purpose).await);
    forbidden(svc.suspend_agreement(&w.person(w.other, admin), w.agreement).await);

    // Erogazione: Amministratore or Operatore API of the producer.
    forbidden(
        svc.create_eservice(
            &prod(security),
            w.producer,
            "Altro servizio",
            "Descrizione",
            Technology::Rest,
            EServiceMode::Deliver,
        )
        .await,
    );
    forbidden(
        svc.create_eservice(
            &w.person(w.other, admin),
            w.producer,
            "Altro servizio",
            "Descrizione",
            Technology::Rest,
            EServiceMode::Deliver,
        )
        .await,
    );
    forbidden(svc.add_descriptor(&cons(admin), w.draft_eservice, descriptor()).await);
    forbidden(
        svc.suspend_descriptor(
            &w.api(w.producer, ApiRole::M2m),
            w.eservice,
            svc.eservice(&Caller::System, w.eservice).await.unwrap().descriptors[0].id,
        )
        .await,
    );

    // Clients: the consumer's Amministratore.
    forbidden(
        svc.create_client(&cons(security), w.consumer, ClientKind::Consumer, "Un altro client", None, vec![], None)
            .await,
    );
    forbidden(
        svc.create_client(&cons(api), w.consumer, ClientKind::Consumer, "Un altro client", None, vec![], None).await,
    );
    forbidden(
        svc.create_client(
            &w.person(w.other, admin),
            w.consumer,
            ClientKind::Consumer,
            "Un altro client",
            None,
            vec![],
            None,
        )
        .await,
    );
    forbidden(svc.remove_client_purpose(&cons(security), w.client, w.purpose).await);

    // Keys: members only upload; the Operatore API never; a non-member security operator deletes nothing.
    let pem = varco_jose::RsaPrivateKey::generate_2048().public_key().to_pem();
    forbidden(svc.add_client_key(&cons(admin), w.client, "Chiave nuova", &pem).await);
    forbidden(svc.add_client_key(&cons(api), w.client, "Chiave nuova", &pem).await);
    forbidden(svc.add_client_key(&w.member(api), w.client, "Chiave nuova", &pem).await);
    forbidden(svc.add_client_key(&w.person(w.other, admin), w.client, "Chiave nuova", &pem).await);
    forbidden(svc.delete_client_key(&cons(security), w.client, &w.kid).await);
    forbidden(svc.delete_client_key(&w.member(api), w.client, &w.kid).await);

    // Attributes: the Ente's own declarations, by its Amministratore; tenants only by SelfCare.
    let attr = svc
        .create_attribute(&Caller::Operator, AttributeKind::Declared, "Attributo dichiarato", "Per i test", None, None)
        .await
        .unwrap();
    let before = before.max(w.seq().await);
    forbidden(svc.declare_attribute(&cons(api), w.consumer, attr.id).await);
    forbidden(svc.declare_attribute(&w.person(w.other, admin), w.consumer, attr.id).await);
    forbidden(
        svc.create_attribute(&cons(admin), AttributeKind::Certified, "Certificato", "Per i test", None, None).await,
    );
    forbidden(svc.tenant_for(&cons(admin), &institution("Nuovo", "c_nuovo", InstitutionType::Pa)).await);

    // Another environment's caller changes nothing here.
    let elsewhere = Caller::Person { env: Env::Produzione, tenant: w.consumer, user: w.member, roles: admin };
    forbidden(svc.archive_agreement(&elsewhere, w.agreement).await);

    assert_eq!(w.seq().await, before, "a refused change wrote an event");

    // The right callers may (so the refusals above are about the caller, not the data).
    let pem_ok = svc.add_client_key(&w.member(security), w.client, "Chiave del membro", &pem).await.unwrap();
    svc.delete_client_key(&w.member(security), w.client, &pem_ok.kid).await.unwrap();
    svc.suspend_agreement(&prod(admin), w.agreement).await.unwrap();
    svc.create_eservice(
        &prod(api),
        w.producer,
        "Servizio dell'operatore",
        "Descrizione",
        Technology::Rest,
        EServiceMode::Deliver,
    )
    .await
    .unwrap();
    svc.declare_attribute(&cons(admin), w.consumer, attr.id).await.unwrap();
}

async fn tenant_for_finds_by_selfcare_id_only(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (p, _) = platform(&db).await;
    let svc = p.env(ENV);
    let comune = institution("Comune di Prova", "c_prova", InstitutionType::Pa);
    // First entry: created from the onboarding.
    let first = svc.tenant_for(&Caller::System, &comune).await.unwrap();
    assert_eq!(first.selfcare_id.as_deref(), Some(comune.id.to_string().as_str()));
    assert_eq!((first.name.as_str(), first.kind), ("Comune di Prova", TenantKind::Pa));
    assert_eq!((first.external_id.origin.as_str(), first.external_id.value.as_str()), ("IPA", "c_prova"));
    // Known id: the same tenant, even if SelfCare renamed the Ente.
    let renamed = Institution { name: "Comune di Prova (nuovo nome)".into(), ..comune.clone() };
    assert_eq!(svc.tenant_for(&Caller::Operator, &renamed).await.unwrap().id, first.id);
    // Two Enti with the same IPA code are two tenants.
    let twin = institution("Comune omonimo", "c_prova", InstitutionType::Gsp);
    let second = svc.tenant_for(&Caller::System, &twin).await.unwrap();
    assert_ne!(second.id, first.id);
    assert_eq!(second.kind, TenantKind::Gsp);
    // Each environment has its own tenant for the same Ente.
    let prod = p.env(Env::Produzione).tenant_for(&Caller::System, &comune).await.unwrap();
    assert_ne!(prod.id, first.id);
    let all = svc.tenants(&Caller::System, &TenantFilter::default(), Page::ALL).await.unwrap();
    assert_eq!(all.total, 2);
}

#[tokio::test]
async fn tenant_for_sqlite() {
    tenant_for_finds_by_selfcare_id_only(Backend::Sqlite).await
}

#[tokio::test]
async fn tenant_for_postgres() {
    tenant_for_finds_by_selfcare_id_only(Backend::Postgres).await
}
