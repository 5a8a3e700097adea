//! Fixtures shared by the state machine tests.
// Each test binary uses a different subset.
#![allow(dead_code)]
use chrono::{DateTime, Duration};
use varco_domain::eservice::{self, DescriptorInput};
use varco_domain::*;

pub fn now() -> Timestamp {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

pub fn later(minutes: i64) -> Timestamp {
    now() + Duration::minutes(minutes)
}

pub fn tenant(attrs: Vec<TenantAttribute>) -> Tenant {
    Tenant {
        id: TenantId::new(),
        selfcare_id: None,
        external_id: ExternalId { origin: "IPA".into(), value: "c_h501".into() },
        name: "Comune di Prova".into(),
        kind: TenantKind::Pa,
        attributes: attrs,
        contact_email: None,
        created_at: now(),
    }
}

pub fn attr(kind: AttributeKind, id: AttributeId) -> TenantAttribute {
    TenantAttribute { attribute_id: id, kind, assigned_at: now(), revoked_at: None, verified_by: vec![] }
}

pub fn verified(id: AttributeId, by: TenantId) -> TenantAttribute {
    TenantAttribute { verified_by: vec![by], ..attr(AttributeKind::Verified, id) }
}

pub fn input(groups: AttributeGroups, policy: ApprovalPolicy) -> DescriptorInput {
    DescriptorInput {
        description: Some("Prima versione".into()),
        audience: vec!["api.example.it".into()],
        voucher_lifespan: 600,
        daily_calls_per_consumer: 1000,
        daily_calls_total: 10000,
        agreement_approval_policy: policy,
        server_urls: vec!["https://api.example.it/v1".into()],
        attributes: groups,
    }
}

pub fn eservice_draft(producer: TenantId) -> EService {
    eservice::new_eservice(
        producer,
        "Anagrafe nazionale".into(),
        "Consultazione dei dati anagrafici".into(),
        Technology::Rest,
        EServiceMode::Deliver,
        now(),
    )
    .unwrap()
}

/// An e-service with one Published version asking for `groups`.
pub fn eservice_published(producer: TenantId, groups: AttributeGroups, policy: ApprovalPolicy) -> EService {
    let mut es = eservice_draft(producer);
    let d = eservice::add_descriptor(&mut es, input(groups, policy), now()).unwrap();
    eservice::publish_descriptor(&mut es, d, &|_| false, now()).unwrap();
    es
}

/// Publishes a new version with `groups`; the old one becomes Deprecated.
pub fn publish_next(es: &mut EService, groups: AttributeGroups) -> DescriptorId {
    let d = eservice::add_descriptor(es, input(groups, ApprovalPolicy::Automatic), later(1)).unwrap();
    eservice::publish_descriptor(es, d, &|_| true, later(1)).unwrap();
    d
}
