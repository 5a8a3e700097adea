//! The domain's state machines driven through the platform services (the use cases
//! the web front and the CLI call), on SQLite and on PostgreSQL: the same tests must
//! pass on both, since the store runs the same SQL on both.
//!
//! Also: every change appends its event (with its actor), a refused operation writes
//! nothing, a stale write is refused (optimistic concurrency) and rolls back the whole
//! transaction, and the three environments share nothing.
use varco::testkit::{spawn_app, TestApp};
use varco_domain::eservice::DescriptorInput;
use varco_domain::event::{Actor, AggregateKind};
use varco_domain::*;
use varco_platform::Caller;
use varco_platform::{AppError, EnvService, Platform};

const ENV: Env = Env::Collaudo;

/// The demo world's tenants in Collaudo, each with one back-office user.
struct World {
    app: TestApp,
    pagopa: TenantId,
    prova: TenantId,
    esempio: TenantId,
    pagopa_user: Caller,
    prova_user: Caller,
    esempio_user: Caller,
}

impl World {
    async fn new(backend: varco::testkit::Backend) -> World {
        let app = spawn_app(backend).await;
        let svc = app.running.platform.env(ENV);
        let id = |t: Tenant| t.id;
        let pagopa = id(svc.tenant_by_name(&Caller::Operator, "PagoPA S.p.A.").await.unwrap());
        let prova = id(svc.tenant_by_name(&Caller::Operator, "Comune di Prova").await.unwrap());
        let esempio = id(svc.tenant_by_name(&Caller::Operator, "Comune di Esempio").await.unwrap());
        let user = |t| Caller::Person {
            env: ENV,
            tenant: t,
            user: UserId::new(),
            roles: varco_platform::ProductRoles { admin: true, ..Default::default() },
        };
        World {
            pagopa_user: user(pagopa),
            prova_user: user(prova),
            esempio_user: user(esempio),
            app,
            pagopa,
            prova,
            esempio,
        }
    }

    fn platform(&self) -> &Platform {
        &self.app.running.platform
    }

    fn svc(&self) -> EnvService<'_> {
        self.platform().env(ENV)
    }

    async fn seq(&self) -> i64 {
        self.app.running.store.last_event_seq().await.unwrap()
    }

    /// (event type, actor) of an aggregate, oldest first.
    async fn events(&self, kind: AggregateKind, id: impl ToString) -> Vec<(String, Actor)> {
        self.app
            .running
            .store
            .events_of(ENV, kind, &id.to_string())
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.event_type, e.actor))
            .collect()
    }

    /// A new e-service of PagoPA with one Published version.
    async fn publish_eservice(
        &self,
        name: &str,
        policy: ApprovalPolicy,
        per_consumer: u32,
        total: u32,
        certified: Vec<Vec<AttributeId>>,
    ) -> (EServiceId, DescriptorId) {
        let svc = self.svc();
        let es = svc
            .create_eservice(
                &self.pagopa_user,
                self.pagopa,
                name,
                "E-service di prova per i test della piattaforma",
                Technology::Rest,
                EServiceMode::Deliver,
            )
            .await
            .expect("create_eservice");
        let d = svc
            .add_descriptor(
                &self.pagopa_user,
                es.id,
                DescriptorInput {
                    description: Some("Prima versione".into()),
                    audience: vec!["https://api.example.test/prova".into()],
                    voucher_lifespan: 600,
                    daily_calls_per_consumer: per_consumer,
                    daily_calls_total: total,
                    agreement_approval_policy: policy,
                    server_urls: vec!["https://api.example.test/prova/v1".into()],
                    attributes: AttributeGroups { certified, ..Default::default() },
                },
            )
            .await
            .expect("add_descriptor");
        svc.publish_descriptor(&self.pagopa_user, es.id, d).await.expect("publish_descriptor");
        let es = svc.eservice(&Caller::Operator, es.id).await.unwrap();
        assert_eq!(es.descriptor(d).unwrap().state, DescriptorState::Published);
        (es.id, d)
    }

    /// A Draft agreement of `consumer` (acting as `actor`) submitted at once.
    async fn request(&self, actor: &Caller, consumer: TenantId, es: EServiceId) -> Agreement {
        let svc = self.svc();
        let a = svc.create_agreement(actor, consumer, es).await.expect("create_agreement");
        assert_eq!(a.state, AgreementState::Draft);
        svc.submit_agreement(actor, a.id, Some("Richiesta per i test".into())).await.expect("submit_agreement")
    }
}

/// A complete PA form under PDND's latest rules.
fn risk_analysis() -> RiskAnalysisForm {
    varco_domain::risk_analysis::rules_for(varco_domain::TenantKind::Pa, None).unwrap().example_form()
}

#[track_caller]
fn assert_forbidden<T: std::fmt::Debug>(r: Result<T, AppError>) {
    match r {
        Err(AppError::Forbidden(_)) => {}
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid_state<T: std::fmt::Debug>(r: Result<T, AppError>) {
    match r {
        Err(AppError::Domain(DomainError::InvalidState { .. })) => {}
        other => panic!("expected a refusal for the state, got {other:?}"),
    }
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(r: Result<T, AppError>) {
    match r {
        Err(AppError::NotFound(_)) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

fn types(events: &[(String, Actor)]) -> Vec<&str> {
    events.iter().map(|(t, _)| t.as_str()).collect()
}

varco::both_backends!(agreement_automatic_policy_activates_at_once, |backend| async move {
    let w = World::new(backend).await;
    let svc = w.svc();
    let send = svc.eservice_by_name(&Caller::Operator, "SEND - UAT (Piattaforma Notifiche)").await.unwrap();
    let a = w.request(&w.prova_user, w.prova, send.id).await;
    assert_eq!(a.state, AgreementState::Active);
    assert_eq!(a.producer_id, w.pagopa);
    assert_eq!(a.descriptor_id, send.latest_published().unwrap().id);
    assert!(a.stamps.activation.is_some());
    // What was returned is what was stored.
    assert_eq!(svc.agreement(&Caller::Operator, a.id).await.unwrap(), a);

    // A second request on the same e-service is refused while this one lives.
    let seq = w.seq().await;
    let again = svc.create_agreement(&w.prova_user, w.prova, send.id).await;
    assert!(matches!(again, Err(AppError::Domain(DomainError::Conflict(_)))), "{again:?}");
    // Nobody requests for someone else.
    assert_forbidden(svc.create_agreement(&w.esempio_user, w.prova, send.id).await);
    assert_eq!(w.seq().await, seq, "refused operations wrote events");

    let ev = w.events(AggregateKind::Agreement, a.id).await;
    assert_eq!(types(&ev), ["AgreementAdded", "AgreementActivated"]);
    assert!(ev.iter().all(|(_, actor)| *actor == w.prova_user.actor()));
});

varco::both_backends!(agreement_manual_policy_lifecycle, |backend| async move {
    let w = World::new(backend).await;
    let svc = w.svc();
    let (es, _) = w.publish_eservice("Anagrafe di prova", ApprovalPolicy::Manual, 1000, 10_000, vec![]).await;

    // Pending until the producer decides; the consumer cannot approve its own request.
    let a = w.request(&w.prova_user, w.prova, es).await;
    assert_eq!(a.state, AgreementState::Pending);
    let seq = w.seq().await;
    assert_forbidden(svc.approve_agreement(&w.prova_user, a.id).await);
    assert_forbidden(svc.approve_agreement(&w.esempio_user, a.id).await);
    assert_forbidden(svc.reject_agreement(&w.prova_user, a.id, "no".into()).await);
    assert_eq!(w.seq().await, seq);
    assert_eq!(svc.agreement(&Caller::Operator, a.id).await.unwrap().state, AgreementState::Pending);

    let a = svc.approve_agreement(&w.pagopa_user, a.id).await.expect("producer approves");
    assert_eq!(a.state, AgreementState::Active);
    assert_invalid_state(svc.approve_agreement(&w.pagopa_user, a.id).await);
    assert_invalid_state(svc.delete_agreement(&w.prova_user, a.id).await);

    // Suspension: one flag per party; Active again only when both are lifted.
    let a = svc.suspend_agreement(&w.prova_user, a.id).await.unwrap();
    assert_eq!((a.state, a.suspended_by_consumer, a.suspended_by_producer), (AgreementState::Suspended, true, false));
    assert_invalid_state(svc.suspend_agreement(&w.prova_user, a.id).await);
    let a = svc.suspend_agreement(&w.pagopa_user, a.id).await.unwrap();
    assert_eq!((a.state, a.suspended_by_consumer, a.suspended_by_producer), (AgreementState::Suspended, true, true));
    assert_forbidden(svc.suspend_agreement(&w.esempio_user, a.id).await);
    let a = svc.unsuspend_agreement(&w.prova_user, a.id).await.unwrap();
    assert_eq!((a.state, a.suspended_by_consumer, a.suspended_by_producer), (AgreementState::Suspended, false, true));
    let a = svc.unsuspend_agreement(&w.pagopa_user, a.id).await.unwrap();
    assert_eq!((a.state, a.suspended_by_consumer, a.suspended_by_producer), (AgreementState::Active, false, false));

    // Only the consumer archives.
    assert_forbidden(svc.archive_agreement(&w.pagopa_user, a.id).await);
    let a = svc.archive_agreement(&w.prova_user, a.id).await.unwrap();
    assert_eq!(a.state, AgreementState::Archived);
    assert!(a.stamps.archiving.is_some());
    assert_invalid_state(svc.suspend_agreement(&w.prova_user, a.id).await);

    let ev = w.events(AggregateKind::Agreement, a.id).await;
    let expected = [
        ("AgreementAdded", &w.prova_user.actor()),
        ("AgreementSubmitted", &w.prova_user.actor()),
        ("AgreementActivated", &w.pagopa_user.actor()),
        ("AgreementSuspended", &w.prova_user.actor()),
        ("AgreementSuspended", &w.pagopa_user.actor()),
        ("AgreementUnsuspended", &w.prova_user.actor()),
        ("AgreementUnsuspended", &w.pagopa_user.actor()),
        ("AgreementArchived", &w.prova_user.actor()),
    ];
    let got: Vec<(&str, &Actor)> = ev.iter().map(|(t, a)| (t.as_str(), a)).collect();
    assert_eq!(got, expected);
    // The last event carries the aggregate as stored.
    let last = w.app.running.store.events_of(ENV, AggregateKind::Agreement, &a.id.to_string()).await.unwrap();
    assert_eq!(last.last().unwrap().payload["state"], "ARCHIVED");
    assert_eq!(last.last().unwrap().env, ENV);

    // After archiving, a new request is allowed again.
    let b = w.request(&w.prova_user, w.prova, es).await;
    assert_eq!(b.state, AgreementState::Pending);
});

varco::both_backends!(agreement_reject_clone_delete, |backend| async move {
    let w = World::new(backend).await;
    let svc = w.svc();
    let (es, d) = w.publish_eservice("Catasto di prova", ApprovalPolicy::Manual, 1000, 10_000, vec![]).await;

    let a = w.request(&w.esempio_user, w.esempio, es).await;
    assert_eq!(a.state, AgreementState::Pending);
    // A reason is required.
    let seq = w.seq().await;
    let empty = svc.reject_agreement(&w.pagopa_user, a.id, "   ".into()).await;
    assert!(matches!(empty, Err(AppError::Domain(DomainError::Invalid(_)))), "{empty:?}");
    assert_eq!(w.seq().await, seq);
    let a = svc.reject_agreement(&w.pagopa_user, a.id, "Manca la convenzione firmata".into()).await.unwrap();
    assert_eq!(a.state, AgreementState::Rejected);
    assert_eq!(a.rejection_reason.as_deref(), Some("Manca la convenzione firmata"));
    assert_invalid_state(svc.approve_agreement(&w.pagopa_user, a.id).await);
    assert_invalid_state(svc.delete_agreement(&w.esempio_user, a.id).await);

    // Clone of the rejected one: a new Draft on the same version; only the consumer clones.
    assert_forbidden(svc.clone_agreement(&w.pagopa_user, a.id).await);
    let c = svc.clone_agreement(&w.esempio_user, a.id).await.unwrap();
    assert_ne!(c.id, a.id);
    assert_eq!((c.state, c.descriptor_id, c.consumer_id), (AgreementState::Draft, d, w.esempio));
    // A second clone is refused: the Draft is alive.
    assert!(matches!(
        svc.clone_agreement(&w.esempio_user, a.id).await,
        Err(AppError::Domain(DomainError::Conflict(_)))
    ));

    // Delete of the Draft: gone, with its event; the rejected one stays as history.
    assert_forbidden(svc.delete_agreement(&w.pagopa_user, c.id).await);
    svc.delete_agreement(&w.esempio_user, c.id).await.unwrap();
    assert_not_found(svc.agreement(&Caller::Operator, c.id).await);
    assert_eq!(svc.agreement(&Caller::Operator, a.id).await.unwrap().state, AgreementState::Rejected);
    assert_eq!(types(&w.events(AggregateKind::Agreement, c.id).await), ["AgreementAdded", "AgreementDeleted"]);
    assert_eq!(
        w.events(AggregateKind::Agreement, a.id).await,
        [
            ("AgreementAdded".to_string(), w.esempio_user.actor()),
            ("AgreementSubmitted".to_string(), w.esempio_user.actor()),
            ("AgreementRejected".to_string(), w.pagopa_user.actor()),
        ]
    );
    // Deleted twice: NotFound, nothing written.
    let seq = w.seq().await;
    assert_not_found(svc.delete_agreement(&w.esempio_user, c.id).await);
    assert_eq!(w.seq().await, seq);
});

varco::both_backends!(agreement_missing_certified_attributes, |backend| async move {
    let w = World::new(backend).await;
    let svc = w.svc();
    let attr = svc
        .create_attribute(
            &Caller::Operator,
            AttributeKind::Certified,
            "Comuni e loro consorzi",
            "Categoria IPA dei Comuni",
            Some("IPA"),
            Some("L6"),
        )
        .await
        .unwrap();
    let (es, _) =
        w.publish_eservice("Servizio per Comuni", ApprovalPolicy::Automatic, 1000, 10_000, vec![vec![attr.id]]).await;

    let a = w.request(&w.prova_user, w.prova, es).await;
    assert_eq!(a.state, AgreementState::MissingCertifiedAttributes);
    assert!(a.certified_attributes.is_empty());

    // Only a certifier (the operator) assigns certified attributes.
    let seq = w.seq().await;
    assert_forbidden(svc.assign_attribute(&w.prova_user, w.prova, attr.id).await);
    assert_eq!(w.seq().await, seq);
    let t = svc.assign_attribute(&Caller::Operator, w.prova, attr.id).await.unwrap();
    assert!(t.has_active(AttributeKind::Certified, attr.id));

    // Re-submitted: the attribute is there now, automatic policy: Active, with the snapshot.
    let a = svc.submit_agreement(&w.prova_user, a.id, None).await.unwrap();
    assert_eq!(a.state, AgreementState::Active);
    assert_eq!(a.certified_attributes, vec![attr.id]);
    assert_eq!(
        types(&w.events(AggregateKind::Agreement, a.id).await),
        ["AgreementAdded", "AgreementSubmittedMissingAttributes", "AgreementActivated"]
    );
    assert_eq!(types(&w.events(AggregateKind::Tenant, w.prova).await), ["TenantOnboarded", "TenantAttributeAssigned"]);

    // Comune di Esempio still lacks it.
    let b = w.request(&w.esempio_user, w.esempio, es).await;
    assert_eq!(b.state, AgreementState::MissingCertifiedAttributes);
    // MissingCertifiedAttributes may be deleted.
    svc.delete_agreement(&w.esempio_user, b.id).await.unwrap();
});

varco::both_backends!(purpose_quota_approval_versions_archive, |backend| async move {
    let w = World::new(backend).await;
    let svc = w.svc();
    let (es, _) = w.publish_eservice("Servizio a quota", ApprovalPolicy::Automatic, 100, 1000, vec![]).await;
    let a = w.request(&w.prova_user, w.prova, es).await;
    assert_eq!(a.state, AgreementState::Active);

    let p = svc
        .create_purpose(
            &w.prova_user,
            w.prova,
            es,
            "Verifica residenze",
            "Verifica delle residenze per i procedimenti del Comune",
            150,
            Some(risk_analysis()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(p.versions.len(), 1);
    assert_eq!(p.versions[0].state, PurposeVersionState::Draft);

    // 150 > 100 per consumer: waits for the producer.
    let p = svc.activate_purpose(&w.prova_user, p.id).await.unwrap();
    assert_eq!(p.versions[0].state, PurposeVersionState::WaitingForApproval);
    let seq = w.seq().await;
    assert_forbidden(svc.approve_purpose(&w.prova_user, p.id).await);
    assert_forbidden(svc.approve_purpose(&w.esempio_user, p.id).await);
    assert_eq!(w.seq().await, seq);
    let p = svc.approve_purpose(&w.pagopa_user, p.id).await.unwrap();
    assert_eq!(p.versions.len(), 1);
    assert_eq!(p.versions[0].state, PurposeVersionState::Active);
    assert!(p.versions[0].first_activation_at.is_some());

    // A new version within quota replaces the current one at once.
    let p = svc.new_purpose_version(&w.prova_user, p.id, 80).await.unwrap();
    let states: Vec<_> = p.versions.iter().map(|v| (v.daily_calls, v.state)).collect();
    assert_eq!(states, [(150, PurposeVersionState::Archived), (80, PurposeVersionState::Active)]);

    // Over quota: waits, while the current one keeps working; the producer may reject.
    let p = svc.new_purpose_version(&w.prova_user, p.id, 500).await.unwrap();
    assert_eq!(p.active_version().map(|v| v.daily_calls), Some(80));
    assert_eq!(p.waiting_version().map(|v| v.daily_calls), Some(500));
    assert_invalid_state(svc.new_purpose_version(&w.prova_user, p.id, 90).await);
    let p = svc.reject_purpose(&w.pagopa_user, p.id, "Carico eccessivo".into()).await.unwrap();
    assert_eq!(p.versions.last().unwrap().state, PurposeVersionState::Rejected);
    assert_eq!(p.versions.last().unwrap().rejection_reason.as_deref(), Some("Carico eccessivo"));
    assert_eq!(p.active_version().map(|v| v.daily_calls), Some(80));

    // Archive (consumer only): nothing current any more; an archived purpose cannot be deleted.
    assert_forbidden(svc.archive_purpose(&w.pagopa_user, p.id).await);
    let p = svc.archive_purpose(&w.prova_user, p.id).await.unwrap();
    assert!(p.current_version().is_none());
    assert!(p
        .versions
        .iter()
        .all(|v| matches!(v.state, PurposeVersionState::Archived | PurposeVersionState::Rejected)));
    assert_invalid_state(svc.archive_purpose(&w.prova_user, p.id).await);
    assert_invalid_state(svc.delete_purpose(&w.prova_user, p.id).await);
    assert_eq!(svc.purpose(&Caller::Operator, p.id).await.unwrap(), p);

    let ev = w.events(AggregateKind::Purpose, p.id).await;
    let got: Vec<(&str, &Actor)> = ev.iter().map(|(t, a)| (t.as_str(), a)).collect();
    assert_eq!(
        got,
        [
            ("PurposeAdded", &w.prova_user.actor()),
            ("PurposeWaitingForApproval", &w.prova_user.actor()),
            ("PurposeVersionApproved", &w.pagopa_user.actor()),
            ("PurposeNewVersion", &w.prova_user.actor()),
            ("PurposeNewVersion", &w.prova_user.actor()),
            ("PurposeVersionRejected", &w.pagopa_user.actor()),
            ("PurposeArchived", &w.prova_user.actor()),
        ]
    );

    // Within quota from the start: Active at once.
    let q = svc
        .create_purpose(
            &w.prova_user,
            w.prova,
            es,
            "Certificati anagrafici",
            "Rilascio di certificati anagrafici ai cittadini",
            100,
            Some(risk_analysis()),
            None,
        )
        .await
        .unwrap();
    let q = svc.activate_purpose(&w.prova_user, q.id).await.unwrap();
    assert_eq!(q.versions[0].state, PurposeVersionState::Active);
    // The quota is now used up by q: another purpose of the same consumer waits.
    let r = svc
        .create_purpose(
            &w.prova_user,
            w.prova,
            es,
            "Altra finalità",
            "Un'altra finalità dello stesso Comune",
            1,
            Some(risk_analysis()),
            None,
        )
        .await
        .unwrap();
    let r = svc.activate_purpose(&w.prova_user, r.id).await.unwrap();
    assert_eq!(r.versions[0].state, PurposeVersionState::WaitingForApproval);
    // Never active: it may be deleted.
    svc.delete_purpose(&w.prova_user, r.id).await.unwrap();
    assert_not_found(svc.purpose(&Caller::Operator, r.id).await);

    // No risk analysis: refused, nothing written.
    let s = svc
        .create_purpose(
            &w.prova_user,
            w.prova,
            es,
            "Senza analisi",
            "Finalità senza analisi del rischio",
            1,
            None,
            None,
        )
        .await
        .unwrap();
    let seq = w.seq().await;
    let refused = svc.activate_purpose(&w.prova_user, s.id).await;
    assert!(matches!(refused, Err(AppError::Domain(DomainError::Invalid(_)))), "{refused:?}");
    assert_eq!(w.seq().await, seq);
});

varco::both_backends!(failing_operations_write_nothing, |backend| async move {
    let w = World::new(backend).await;
    let svc = w.svc();
    let store = &w.app.running.store;
    let send = svc.eservice_by_name(&Caller::Operator, "SEND - UAT (Piattaforma Notifiche)").await.unwrap();
    let a = w.request(&w.prova_user, w.prova, send.id).await;
    let before_doc = store.get::<Agreement>(ENV, &a.id.to_string()).await.unwrap().unwrap();
    let seq = w.seq().await;

    // Refusals of every kind leave the event log and the documents untouched.
    assert_forbidden(svc.approve_agreement(&w.prova_user, a.id).await);
    assert_invalid_state(svc.submit_agreement(&w.prova_user, a.id, None).await);
    assert_not_found(svc.approve_agreement(&w.pagopa_user, AgreementId::new()).await);
    assert!(matches!(
        svc.create_client(&w.prova_user, w.prova, ClientKind::Consumer, "abc", None, vec![], None).await,
        Err(AppError::Invalid(_))
    ));
    let key = varco_jose::RsaPrivateKey::generate_2048().public_key().to_pem();
    let client = svc
        .create_client(&Caller::Operator, w.prova, ClientKind::Api, "Client per il kid", None, vec![], None)
        .await
        .unwrap();
    svc.add_client_key(&Caller::Operator, client.id, "Prima chiave", &key).await.unwrap();
    let seq_after_key = w.seq().await;
    assert!(seq_after_key > seq);
    // Same key again: the kid is taken, the whole transaction is rolled back.
    let dup = svc.add_client_key(&Caller::Operator, client.id, "Seconda chiave", &key).await;
    assert!(matches!(dup, Err(AppError::Conflict(_))), "{dup:?}");
    assert_eq!(w.seq().await, seq_after_key);
    assert_eq!(svc.own_client(&Caller::Operator, client.id).await.unwrap().keys.len(), 1);
    assert!(matches!(
        svc.add_client_key(&Caller::Operator, client.id, "Chiave rotta", "not a key").await,
        Err(AppError::InvalidKey(_))
    ));
    assert_eq!(w.seq().await, seq_after_key);
    let after_doc = store.get::<Agreement>(ENV, &a.id.to_string()).await.unwrap().unwrap();
    assert_eq!((after_doc.value, after_doc.version), (before_doc.value, before_doc.version));

    // Optimistic concurrency: a write based on a stale read is refused, and everything
    // else the same transaction wrote is rolled back with it.
    let stale = store.get::<Agreement>(ENV, &a.id.to_string()).await.unwrap().unwrap();
    let fresh = svc.suspend_agreement(&w.prova_user, a.id).await.unwrap();
    assert_eq!(fresh.state, AgreementState::Suspended);
    let seq = w.seq().await;
    let attr = Attribute {
        id: AttributeId::new(),
        kind: AttributeKind::Declared,
        name: "Attributo mai scritto".into(),
        description: "Scritto in una transazione che fallisce".into(),
        origin: None,
        code: None,
        created_at: chrono::Utc::now(),
    };
    {
        let mut tx = store.begin(ENV, Actor::Operator).await.unwrap();
        tx.insert(&attr, "AttributeCreated").await.unwrap();
        let mut overwrite = stale.value.clone();
        overwrite.state = AgreementState::Archived;
        let r = tx.update(&overwrite, stale.version, "AgreementArchived").await;
        assert!(matches!(r, Err(varco_store::StoreError::Conflict(_))), "{r:?}");
        // Dropped without commit.
    }
    assert_eq!(w.seq().await, seq);
    assert_not_found(svc.attribute(&Caller::Operator, attr.id).await);
    assert_eq!(svc.agreement(&Caller::Operator, a.id).await.unwrap(), fresh);
    assert_eq!(
        types(&w.events(AggregateKind::Agreement, a.id).await),
        ["AgreementAdded", "AgreementActivated", "AgreementSuspended"]
    );
    // The current version still goes through.
    let cur = store.get::<Agreement>(ENV, &a.id.to_string()).await.unwrap().unwrap();
    assert_eq!(cur.version, stale.version + 1);
});

varco::both_backends!(environments_are_independent, |backend| async move {
    let w = World::new(backend).await;
    let p = w.platform();
    let ids: Vec<TenantId> = {
        let mut v = Vec::new();
        for env in Env::ALL {
            v.push(p.env(env).tenant_by_name(&Caller::Operator, "Comune di Prova").await.unwrap().id);
        }
        v
    };
    assert_ne!(ids[0], ids[1]);
    assert_ne!(ids[1], ids[2]);
    assert_ne!(ids[0], ids[2]);

    let coll = p.env(Env::Collaudo);
    let prod = p.env(Env::Produzione);
    let prova_coll = coll.tenant_by_name(&Caller::Operator, "Comune di Prova").await.unwrap();
    let send = coll.eservice_by_name(&Caller::Operator, "SEND - UAT (Piattaforma Notifiche)").await.unwrap();
    let a = w.request(&w.prova_user, w.prova, send.id).await;

    // Collaudo's ids mean nothing in Produzione (nor Attestazione).
    for env in [Env::Produzione, Env::Attestazione] {
        let svc = p.env(env);
        assert_not_found(svc.tenant(&Caller::Operator, prova_coll.id).await);
        assert_not_found(svc.eservice(&Caller::Operator, send.id).await);
        assert_not_found(svc.agreement(&Caller::Operator, a.id).await);
        assert_not_found(svc.eservice_by_name(&Caller::Operator, "SEND - UAT (Piattaforma Notifiche)").await);
        assert!(svc
            .agreements(
                &Caller::Operator,
                &varco_platform::AgreementFilter { consumers: vec![prova_coll.id], ..Default::default() },
                varco_platform::Page::ALL
            )
            .await
            .unwrap()
            .items
            .is_empty());
    }
    // Nor can they be acted upon there.
    let seq = w.seq().await;
    let operator = Caller::Operator;
    assert_not_found(prod.suspend_agreement(&operator, a.id).await);
    assert_not_found(prod.create_agreement(&operator, prova_coll.id, send.id).await);
    let prova_prod = prod.tenant_by_name(&Caller::Operator, "Comune di Prova").await.unwrap();
    assert_not_found(prod.create_agreement(&operator, prova_prod.id, send.id).await);
    assert_eq!(w.seq().await, seq);
    // The event of a Collaudo change is Collaudo's only.
    assert!(w
        .app
        .running
        .store
        .events_of(Env::Produzione, AggregateKind::Agreement, &a.id.to_string())
        .await
        .unwrap()
        .is_empty());
    let ev = w.app.running.store.events_of(Env::Collaudo, AggregateKind::Agreement, &a.id.to_string()).await.unwrap();
    assert!(!ev.is_empty() && ev.iter().all(|e| e.env == Env::Collaudo));
    assert_eq!(
        coll.agreements(
            &Caller::Operator,
            &varco_platform::AgreementFilter { consumers: vec![prova_coll.id], ..Default::default() },
            varco_platform::Page::ALL
        )
        .await
        .unwrap()
        .items
        .len(),
        1
    );

    // Kids are unique within an environment only: the same key may be uploaded in
    // each environment (they are separate platforms), but not twice in one.
    let pem = varco_jose::RsaPrivateKey::generate_2048().public_key().to_pem();
    for env in Env::ALL {
        let svc = p.env(env);
        let t = svc.tenant_by_name(&Caller::Operator, "Comune di Prova").await.unwrap();
        let c = svc
            .create_client(&operator, t.id, ClientKind::Api, "Client stessa chiave", None, vec![], None)
            .await
            .unwrap();
        svc.add_client_key(&operator, c.id, "Stessa chiave", &pem).await.unwrap_or_else(|e| panic!("{env}: {e}"));
        let again = svc.add_client_key(&operator, c.id, "Stessa chiave bis", &pem).await;
        assert!(matches!(again, Err(AppError::Conflict(_))), "{env}: {again:?}");
    }

    // Issuers and audiences differ per environment.
    let iss: Vec<_> = Env::ALL.iter().map(|&e| p.config(e).issuer.clone()).collect();
    assert!(iss[0] != iss[1] && iss[1] != iss[2] && iss[0] != iss[2], "{iss:?}");
});

// Verifying an attribute is a producer's decision on a request it received: only the
// producer of an e-service requiring it, with a request of that consumer, verifies it
// or revokes its own verification (before, any tenant could do both for anyone).
varco::both_backends!(only_the_producer_asked_verifies_an_attribute, |backend| async move {
    let w = World::new(backend).await;
    let svc = w.svc();
    let attr = svc
        .create_attribute(
            &Caller::Operator,
            AttributeKind::Verified,
            "Abilitazione ai pagamenti",
            "Ente abilitato ai pagamenti elettronici",
            None,
            None,
        )
        .await
        .unwrap();
    let es = svc
        .create_eservice_with_version(
            &w.pagopa_user,
            w.pagopa,
            "Servizio con verifica",
            "E-service che richiede un attributo verificato",
            Technology::Rest,
            EServiceMode::Deliver,
            DescriptorInput {
                description: None,
                audience: vec!["https://api.example.test/verifica".into()],
                voucher_lifespan: 600,
                daily_calls_per_consumer: 10,
                daily_calls_total: 100,
                agreement_approval_policy: ApprovalPolicy::Manual,
                server_urls: vec![],
                attributes: AttributeGroups { verified: vec![vec![attr.id]], ..Default::default() },
            },
        )
        .await
        .unwrap();
    svc.publish_descriptor(&w.pagopa_user, es.id, es.descriptors[0].id).await.unwrap();
    let verified = |t: &Tenant| t.has_active(AttributeKind::Verified, attr.id);

    // No request of Comune di Prova yet: PagoPA may not verify.
    let seq = w.seq().await;
    assert_forbidden(svc.assign_attribute(&w.pagopa_user, w.prova, attr.id).await);
    let _ = w.request(&w.prova_user, w.prova, es.id).await;
    let seq_after_request = w.seq().await;
    assert!(seq_after_request > seq);
    // Comune di Esempio produces nothing that requires it; Prova cannot verify itself.
    assert_forbidden(svc.assign_attribute(&w.esempio_user, w.prova, attr.id).await);
    assert_forbidden(svc.assign_attribute(&w.prova_user, w.prova, attr.id).await);
    assert_eq!(w.seq().await, seq_after_request, "refusals wrote nothing");
    let t = svc.assign_attribute(&w.pagopa_user, w.prova, attr.id).await.unwrap();
    assert!(verified(&t));
    // Only the producer that verified revokes its verification.
    let seq = w.seq().await;
    assert_forbidden(svc.revoke_attribute(&w.esempio_user, w.prova, attr.id).await);
    assert_forbidden(svc.revoke_attribute(&w.prova_user, w.prova, attr.id).await);
    assert_eq!(w.seq().await, seq);
    let t = svc.revoke_attribute(&w.pagopa_user, w.prova, attr.id).await.unwrap();
    assert!(!verified(&t));
});
