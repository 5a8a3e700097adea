//! Agreement ("richiesta di fruizione") lifecycle.
//!
//! Draft --submit--> Active | Pending | MissingCertifiedAttributes
//! Pending --approve--> Active, --reject--> Rejected
//! Active <-> Suspended (one flag per party; Active only when no flag is left)
//! Active | Suspended --archive--> Archived, --upgrade--> Archived (+ a new agreement)
use crate::error::DomainError;
use crate::ids::*;
use crate::model::*;

const ENTITY: &str = "richiesta di fruizione";

/// A group is satisfied when the consumer holds ANY of its attributes; all groups
/// must be satisfied. No groups: nothing is asked, so satisfied.
fn groups_satisfied(groups: &[Vec<AttributeId>], holds: impl Fn(AttributeId) -> bool) -> bool {
    groups.iter().all(|g| g.iter().any(|&id| holds(id)))
}

pub fn certified_satisfied(groups: &[Vec<AttributeId>], consumer: &Tenant) -> bool {
    groups_satisfied(groups, |id| consumer.has_active(AttributeKind::Certified, id))
}

pub fn declared_satisfied(groups: &[Vec<AttributeId>], consumer: &Tenant) -> bool {
    groups_satisfied(groups, |id| consumer.has_active(AttributeKind::Declared, id))
}

/// A verified attribute is verified *by someone*: only a verification made by this
/// e-service's producer counts for its agreements.
fn holds_verified(consumer: &Tenant, id: AttributeId, producer_id: TenantId) -> bool {
    consumer.attributes.iter().any(|a| {
        a.kind == AttributeKind::Verified
            && a.attribute_id == id
            && a.is_active()
            && a.verified_by.contains(&producer_id)
    })
}

pub fn verified_satisfied(groups: &[Vec<AttributeId>], consumer: &Tenant, producer_id: TenantId) -> bool {
    groups_satisfied(groups, |id| holds_verified(consumer, id, producer_id))
}

fn stamp(who: Option<UserId>, now: Timestamp) -> Option<Stamp> {
    Some(Stamp { who, when: now })
}

/// An agreement that blocks a new one on the same e-service: anything still alive.
fn check_no_live_agreement(
    consumer_id: TenantId,
    eservice_id: EServiceId,
    existing: &[Agreement],
) -> Result<(), DomainError> {
    let live = existing.iter().any(|a| {
        a.consumer_id == consumer_id
            && a.eservice_id == eservice_id
            && !matches!(a.state, AgreementState::Archived | AgreementState::Rejected)
    });
    if live {
        return Err(DomainError::Conflict("Esiste già una richiesta di fruizione per questo e-service".to_string()));
    }
    Ok(())
}

fn new_draft(
    eservice_id: EServiceId,
    descriptor_id: DescriptorId,
    producer_id: TenantId,
    consumer_id: TenantId,
    now: Timestamp,
) -> Agreement {
    Agreement {
        id: AgreementId::new(),
        eservice_id,
        descriptor_id,
        producer_id,
        consumer_id,
        state: AgreementState::Draft,
        suspended_by_consumer: false,
        suspended_by_producer: false,
        suspended_by_platform: false,
        certified_attributes: Vec::new(),
        declared_attributes: Vec::new(),
        verified_attributes: Vec::new(),
        consumer_notes: None,
        rejection_reason: None,
        stamps: AgreementStamps::default(),
        created_at: now,
        updated_at: None,
    }
}

/// A new Draft on the latest Published version. `existing` are the consumer's
/// agreements (those on other e-services or of other consumers are ignored).
pub fn create(
    consumer: &Tenant,
    es: &EService,
    existing: &[Agreement],
    now: Timestamp,
) -> Result<Agreement, DomainError> {
    let d = es
        .latest_published()
        .ok_or_else(|| DomainError::Invalid("L'e-service non ha una versione pubblicata".to_string()))?;
    check_no_live_agreement(consumer.id, es.id, existing)?;
    Ok(new_draft(es.id, d.id, es.producer_id, consumer.id, now))
}

fn check_same_parties(a: &Agreement, es: &EService, consumer: &Tenant) -> Result<(), DomainError> {
    if a.eservice_id != es.id || a.consumer_id != consumer.id {
        return Err(DomainError::Invalid(
            "La richiesta di fruizione non riguarda questo e-service o questo fruitore".to_string(),
        ));
    }
    Ok(())
}

/// The attributes of `consumer` that `d` asks for, as kept in the agreement: the
/// proof of what allowed the activation.
fn take_snapshot(a: &mut Agreement, d: &Descriptor, consumer: &Tenant, producer_id: TenantId) {
    let asked = |groups: &[Vec<AttributeId>], holds: &dyn Fn(AttributeId) -> bool| {
        let mut ids: Vec<AttributeId> = groups.iter().flatten().copied().filter(|&id| holds(id)).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    a.certified_attributes = asked(&d.attributes.certified, &|id| consumer.has_active(AttributeKind::Certified, id));
    a.declared_attributes = asked(&d.attributes.declared, &|id| consumer.has_active(AttributeKind::Declared, id));
    a.verified_attributes = asked(&d.attributes.verified, &|id| holds_verified(consumer, id, producer_id));
}

/// Submits a Draft (or re-evaluates a MissingCertifiedAttributes one). The result is
/// in `a.state`: Active, Pending or MissingCertifiedAttributes.
///
/// The descriptor must still be the latest Published one: activating an agreement on
/// a version that has been deprecated meanwhile would start new use of an old version.
/// With declared attributes missing nothing is changed and an error is returned: the
/// consumer can declare them itself, so the request is not worth sending yet.
pub fn submit(
    a: &mut Agreement,
    es: &EService,
    consumer: &Tenant,
    consumer_notes: Option<String>,
    who: Option<UserId>,
    now: Timestamp,
) -> Result<(), DomainError> {
    if !matches!(a.state, AgreementState::Draft | AgreementState::MissingCertifiedAttributes) {
        return Err(DomainError::invalid_state(ENTITY, a.state, "Inoltro"));
    }
    check_same_parties(a, es, consumer)?;
    if let Some(n) = &consumer_notes {
        if n.chars().count() > 1000 {
            return Err(DomainError::Invalid(
                "Le note del fruitore possono avere al massimo 1000 caratteri".to_string(),
            ));
        }
    }
    let d = match es.latest_published() {
        Some(d) if d.id == a.descriptor_id => d,
        _ => {
            return Err(DomainError::Invalid(
                "La versione dell'e-service di questa richiesta non è più quella pubblicata: \
                 eliminare la richiesta e crearne una nuova"
                    .to_string(),
            ))
        }
    };
    let producer_id = es.producer_id;
    let next = if consumer.id == producer_id {
        // A producer using its own e-service needs nobody's approval.
        AgreementState::Active
    } else if !certified_satisfied(&d.attributes.certified, consumer) {
        AgreementState::MissingCertifiedAttributes
    } else if !declared_satisfied(&d.attributes.declared, consumer) {
        return Err(DomainError::Invalid(
            "Mancano attributi dichiarati richiesti dall'e-service: dichiararli prima di inoltrare \
             la richiesta"
                .to_string(),
        ));
    } else if d.agreement_approval_policy == ApprovalPolicy::Automatic
        && verified_satisfied(&d.attributes.verified, consumer, producer_id)
    {
        AgreementState::Active
    } else {
        AgreementState::Pending
    };
    take_snapshot(a, d, consumer, producer_id);
    a.consumer_notes = consumer_notes.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    a.state = next;
    a.stamps.submission = stamp(who, now);
    if next == AgreementState::Active {
        a.stamps.activation = stamp(who, now);
    }
    a.updated_at = Some(now);
    Ok(())
}

/// "Salva bozza": the consumer's message to the producer on a Draft (PDND's
/// `updateAgreement`); the same bound as at submission.
pub fn update_draft(a: &mut Agreement, consumer_notes: Option<String>, now: Timestamp) -> Result<(), DomainError> {
    if a.state != AgreementState::Draft {
        return Err(DomainError::invalid_state(ENTITY, a.state, "Modifica"));
    }
    if consumer_notes.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(DomainError::Invalid("Le note del fruitore possono avere al massimo 1000 caratteri".to_string()));
    }
    a.consumer_notes = consumer_notes.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    a.updated_at = Some(now);
    Ok(())
}

pub fn approve(a: &mut Agreement, who: Option<UserId>, now: Timestamp) -> Result<(), DomainError> {
    if a.state != AgreementState::Pending {
        return Err(DomainError::invalid_state(ENTITY, a.state, "Accoglimento"));
    }
    a.state = AgreementState::Active;
    a.stamps.activation = stamp(who, now);
    a.updated_at = Some(now);
    Ok(())
}

/// Checks a rejection reason: the consumer must be told why (PDND: up to 1000 chars).
pub(crate) fn rejection_reason(reason: &str) -> Result<String, DomainError> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(DomainError::Invalid("Indicare il motivo del rifiuto".to_string()));
    }
    if r.chars().count() > 1000 {
        return Err(DomainError::Invalid("Il motivo del rifiuto può avere al massimo 1000 caratteri".to_string()));
    }
    Ok(r.to_string())
}

pub fn reject(a: &mut Agreement, reason: String, who: Option<UserId>, now: Timestamp) -> Result<(), DomainError> {
    if a.state != AgreementState::Pending {
        return Err(DomainError::invalid_state(ENTITY, a.state, "Rifiuto"));
    }
    let reason = rejection_reason(&reason)?;
    a.state = AgreementState::Rejected;
    a.rejection_reason = Some(reason);
    a.stamps.rejection = stamp(who, now);
    a.updated_at = Some(now);
    Ok(())
}

fn party_flag(a: &mut Agreement, by: Party) -> &mut bool {
    match by {
        Party::Consumer => &mut a.suspended_by_consumer,
        Party::Producer => &mut a.suspended_by_producer,
    }
}

fn party_stamp(a: &mut Agreement, by: Party) -> &mut Option<Stamp> {
    match by {
        Party::Consumer => &mut a.stamps.suspension_by_consumer,
        Party::Producer => &mut a.stamps.suspension_by_producer,
    }
}

/// "Suspended (dal fruitore, dall'erogatore)": the state shown in refusals about
/// flags, so the user sees who holds the suspension.
pub(crate) fn suspended_label(consumer: bool, producer: bool, platform: bool) -> String {
    let mut by = Vec::new();
    if consumer {
        by.push("dal fruitore");
    }
    if producer {
        by.push("dall'erogatore");
    }
    if platform {
        by.push("dalla piattaforma");
    }
    if by.is_empty() {
        "Suspended".to_string()
    } else {
        format!("Suspended ({})", by.join(", "))
    }
}

fn flag_refusal(a: &Agreement, what: &'static str) -> DomainError {
    DomainError::InvalidState {
        entity: ENTITY,
        state: suspended_label(a.suspended_by_consumer, a.suspended_by_producer, a.suspended_by_platform),
        what,
    }
}

pub fn suspend(a: &mut Agreement, by: Party, who: Option<UserId>, now: Timestamp) -> Result<(), DomainError> {
    if !matches!(a.state, AgreementState::Active | AgreementState::Suspended) {
        return Err(DomainError::invalid_state(ENTITY, a.state, "Sospendere"));
    }
    if *party_flag(a, by) {
        return Err(flag_refusal(a, "Sospendere"));
    }
    *party_flag(a, by) = true;
    *party_stamp(a, by) = stamp(who, now);
    a.state = AgreementState::Suspended;
    a.updated_at = Some(now);
    Ok(())
}

/// Lifts `by`'s suspension only; the agreement is Active again when no party
/// (platform included) still holds one.
pub fn unsuspend(a: &mut Agreement, by: Party, who: Option<UserId>, now: Timestamp) -> Result<(), DomainError> {
    // `who` is not recorded: the stamps hold the suspension, which is cleared.
    let _ = who;
    if a.state != AgreementState::Suspended {
        return Err(DomainError::invalid_state(ENTITY, a.state, "Riattivare"));
    }
    if !*party_flag(a, by) {
        return Err(flag_refusal(a, "Riattivare"));
    }
    *party_flag(a, by) = false;
    *party_stamp(a, by) = None;
    if !a.suspended_by_consumer && !a.suspended_by_producer && !a.suspended_by_platform {
        a.state = AgreementState::Active;
    }
    a.updated_at = Some(now);
    Ok(())
}

pub fn archive(a: &mut Agreement, who: Option<UserId>, now: Timestamp) -> Result<(), DomainError> {
    if !matches!(a.state, AgreementState::Active | AgreementState::Suspended) {
        return Err(DomainError::invalid_state(ENTITY, a.state, "Archiviare"));
    }
    a.state = AgreementState::Archived;
    a.stamps.archiving = stamp(who, now);
    a.updated_at = Some(now);
    Ok(())
}

/// Moves an Active/Suspended agreement to the newest Published version: returns the
/// new agreement (same state and suspension flags, fresh attribute snapshot) and
/// archives `a`. Refused when the consumer no longer has the certified attributes the
/// new version asks for (it must then create a new request).
pub fn upgrade(
    a: &mut Agreement,
    es: &EService,
    consumer: &Tenant,
    who: Option<UserId>,
    now: Timestamp,
) -> Result<Agreement, DomainError> {
    if !matches!(a.state, AgreementState::Active | AgreementState::Suspended) {
        return Err(DomainError::invalid_state(ENTITY, a.state, "Aggiornamento"));
    }
    check_same_parties(a, es, consumer)?;
    let current = es
        .descriptor(a.descriptor_id)
        .ok_or_else(|| DomainError::NotFound(format!("Descrittore {}", a.descriptor_id)))?;
    let newer = match es.latest_published() {
        Some(d) if d.version > current.version => d,
        _ => {
            return Err(DomainError::Invalid(
                "Non esiste una versione pubblicata più recente dell'e-service".to_string(),
            ))
        }
    };
    if a.consumer_id != a.producer_id && !certified_satisfied(&newer.attributes.certified, consumer) {
        return Err(DomainError::Invalid(
            "Mancano attributi certificati richiesti dalla nuova versione dell'e-service".to_string(),
        ));
    }
    let mut next = a.clone();
    next.id = AgreementId::new();
    next.descriptor_id = newer.id;
    take_snapshot(&mut next, newer, consumer, es.producer_id);
    next.stamps.upgrade = stamp(who, now);
    next.stamps.archiving = None;
    next.created_at = now;
    next.updated_at = None;

    a.state = AgreementState::Archived;
    a.stamps.archiving = stamp(who, now);
    a.updated_at = Some(now);
    Ok(next)
}

/// A new Draft from a Rejected agreement, so the consumer can try again on the same
/// version. `existing` as for [`create`].
pub fn clone_rejected(a: &Agreement, existing: &[Agreement], now: Timestamp) -> Result<Agreement, DomainError> {
    if a.state != AgreementState::Rejected {
        return Err(DomainError::invalid_state(ENTITY, a.state, "Duplicare"));
    }
    check_no_live_agreement(a.consumer_id, a.eservice_id, existing)?;
    Ok(new_draft(a.eservice_id, a.descriptor_id, a.producer_id, a.consumer_id, now))
}

/// Only agreements that never became effective may be deleted; the others are history.
pub fn can_delete(a: &Agreement) -> Result<(), DomainError> {
    match a.state {
        AgreementState::Draft | AgreementState::MissingCertifiedAttributes | AgreementState::Pending => Ok(()),
        s => Err(DomainError::invalid_state(ENTITY, s, "Eliminare")),
    }
}

/// Whether `producer` may verify (or revoke its verification of) the verified
/// attribute `attribute` of `consumer`: only as the producer of an e-service whose
/// versions require it, on which `consumer` has a request (not a draft, not
/// archived). A verification is a producer's decision on a request it received.
pub fn may_verify_attribute(
    producer: TenantId,
    consumer: TenantId,
    attribute: AttributeId,
    eservices: &[EService],
    agreements: &[Agreement],
) -> bool {
    eservices.iter().filter(|es| es.producer_id == producer).any(|es| {
        let requires = es.descriptors.iter().any(|d| d.attributes.verified.iter().flatten().any(|a| *a == attribute));
        requires
            && agreements.iter().any(|a| {
                a.eservice_id == es.id
                    && a.consumer_id == consumer
                    && !matches!(a.state, AgreementState::Draft | AgreementState::Archived)
            })
    })
}
