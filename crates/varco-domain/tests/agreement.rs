//! Agreement state machine: every state × every operation, then the rules.
mod common;
use common::*;
use varco_domain::agreement::{self, *};
use varco_domain::*;

const ALL: [AgreementState; 7] = [
    AgreementState::Draft,
    AgreementState::Pending,
    AgreementState::Active,
    AgreementState::Suspended,
    AgreementState::Archived,
    AgreementState::MissingCertifiedAttributes,
    AgreementState::Rejected,
];

/// A consumer meeting every requirement of an AUTOMATIC e-service.
struct World {
    consumer: Tenant,
    es: EService,
    cert: AttributeId,
    decl: AttributeId,
    ver: AttributeId,
}

fn world(policy: ApprovalPolicy) -> World {
    let producer = TenantId::new();
    let (cert, decl, ver) = (AttributeId::new(), AttributeId::new(), AttributeId::new());
    let groups = AttributeGroups { certified: vec![vec![cert]], declared: vec![vec![decl]], verified: vec![vec![ver]] };
    let es = eservice_published(producer, groups, policy);
    let consumer = tenant(vec![
        attr(AttributeKind::Certified, cert),
        attr(AttributeKind::Declared, decl),
        verified(ver, producer),
    ]);
    World { consumer, es, cert, decl, ver }
}

fn draft(w: &World) -> Agreement {
    agreement::create(&w.consumer, &w.es, &[], now()).unwrap()
}

/// An agreement forced into `state`; Suspended means suspended by the producer.
fn in_state(w: &World, state: AgreementState) -> Agreement {
    let mut a = draft(w);
    a.state = state;
    a.suspended_by_producer = state == AgreementState::Suspended;
    a
}

type Op = fn(&mut Agreement, &World) -> Result<(), DomainError>;

#[test]
fn every_state_times_every_operation() {
    use AgreementState::*;
    let ops: Vec<(&str, Op, Vec<AgreementState>)> = vec![
        ("submit", |a, w| submit(a, &w.es, &w.consumer, None, None, later(1)), vec![Draft, MissingCertifiedAttributes]),
        ("approve", |a, _| approve(a, None, later(1)), vec![Pending]),
        ("reject", |a, _| reject(a, "Dati insufficienti".into(), None, later(1)), vec![Pending]),
        ("suspend consumer", |a, _| suspend(a, Party::Consumer, None, later(1)), vec![Active, Suspended]),
        // The fixture's Suspended is by the producer: a second producer suspension is refused.
        ("suspend producer", |a, _| suspend(a, Party::Producer, None, later(1)), vec![Active]),
        ("unsuspend consumer", |a, _| unsuspend(a, Party::Consumer, None, later(1)), vec![]),
        ("unsuspend producer", |a, _| unsuspend(a, Party::Producer, None, later(1)), vec![Suspended]),
        ("archive", |a, _| archive(a, None, later(1)), vec![Active, Suspended]),
        (
            "upgrade",
            |a, w| {
                let mut es = w.es.clone();
                publish_next(&mut es, AttributeGroups { certified: vec![vec![w.cert]], ..Default::default() });
                upgrade(a, &es, &w.consumer, None, later(2)).map(|_| ())
            },
            vec![Active, Suspended],
        ),
        ("clone_rejected", |a, _| clone_rejected(a, std::slice::from_ref(a), later(1)).map(|_| ()), vec![Rejected]),
        ("can_delete", |a, _| can_delete(a), vec![Draft, MissingCertifiedAttributes, Pending]),
    ];
    let w = world(ApprovalPolicy::Automatic);
    for (name, op, allowed) in &ops {
        for state in ALL {
            let mut a = in_state(&w, state);
            let before = a.clone();
            let r = op(&mut a, &w);
            assert_eq!(r.is_ok(), allowed.contains(&state), "{name} from {state:?}: {r:?}");
            if let Err(e) = r {
                assert_eq!(a, before, "{name} from {state:?} refused but changed the agreement");
                if !allowed.contains(&state) {
                    assert!(matches!(e, DomainError::InvalidState { .. }), "{name} from {state:?}: {e:?}");
                }
            }
        }
    }
}

#[test]
fn groups_are_or_within_and_across() {
    let (a, b, c) = (AttributeId::new(), AttributeId::new(), AttributeId::new());
    let groups = vec![vec![a, b], vec![c]];
    let has = |ids: &[AttributeId]| tenant(ids.iter().map(|&i| attr(AttributeKind::Certified, i)).collect());
    assert!(certified_satisfied(&groups, &has(&[a, c])));
    assert!(certified_satisfied(&groups, &has(&[b, c])));
    assert!(!certified_satisfied(&groups, &has(&[a, b])));
    assert!(!certified_satisfied(&groups, &has(&[c])));
    assert!(certified_satisfied(&[], &has(&[])));
    // A declared attribute does not count as certified.
    assert!(!certified_satisfied(&[vec![a]], &tenant(vec![attr(AttributeKind::Declared, a)])));
    assert!(declared_satisfied(&[vec![a]], &tenant(vec![attr(AttributeKind::Declared, a)])));
    // Revoked attributes do not count.
    let mut revoked = attr(AttributeKind::Certified, a);
    revoked.revoked_at = Some(now());
    assert!(!certified_satisfied(&[vec![a]], &tenant(vec![revoked])));
}

#[test]
fn verified_counts_only_when_verified_by_this_producer() {
    let (x, producer, other) = (AttributeId::new(), TenantId::new(), TenantId::new());
    assert!(verified_satisfied(&[vec![x]], &tenant(vec![verified(x, producer)]), producer));
    assert!(!verified_satisfied(&[vec![x]], &tenant(vec![verified(x, other)]), producer));
    assert!(!verified_satisfied(&[vec![x]], &tenant(vec![attr(AttributeKind::Verified, x)]), producer));
    assert!(verified_satisfied(&[], &tenant(vec![]), producer));
}

#[test]
fn create_uses_latest_published_and_refuses_duplicates() {
    let w = world(ApprovalPolicy::Automatic);
    let mut es = w.es.clone();
    let v2 = publish_next(&mut es, AttributeGroups::default());
    let a = agreement::create(&w.consumer, &es, &[], now()).unwrap();
    assert_eq!(a.descriptor_id, v2);
    assert_eq!(a.state, AgreementState::Draft);
    assert_eq!(a.producer_id, es.producer_id);

    for (state, ok) in ALL.iter().map(|&s| (s, matches!(s, AgreementState::Archived | AgreementState::Rejected))) {
        let mut old = a.clone();
        old.state = state;
        let r = agreement::create(&w.consumer, &es, &[old], now());
        assert_eq!(r.is_ok(), ok, "existing {state:?}");
        if !ok {
            assert!(matches!(r, Err(DomainError::Conflict(_))));
        }
    }
    // Another consumer's agreement does not block.
    let mut other = a.clone();
    other.consumer_id = TenantId::new();
    assert!(agreement::create(&w.consumer, &es, &[other], now()).is_ok());

    let unpublished = eservice_draft(TenantId::new());
    assert!(matches!(agreement::create(&w.consumer, &unpublished, &[], now()), Err(DomainError::Invalid(_))));
}

#[test]
fn submit_outcomes() {
    // All satisfied, AUTOMATIC: Active, with snapshot and stamps.
    let w = world(ApprovalPolicy::Automatic);
    let who = Some(UserId::new());
    let mut a = draft(&w);
    submit(&mut a, &w.es, &w.consumer, Some(" grazie ".into()), who, later(1)).unwrap();
    assert_eq!(a.state, AgreementState::Active);
    assert_eq!(a.certified_attributes, vec![w.cert]);
    assert_eq!(a.declared_attributes, vec![w.decl]);
    assert_eq!(a.verified_attributes, vec![w.ver]);
    assert_eq!(a.consumer_notes.as_deref(), Some("grazie"));
    assert_eq!(a.stamps.submission, Some(Stamp { who, when: later(1) }));
    assert_eq!(a.stamps.activation, Some(Stamp { who, when: later(1) }));

    // MANUAL: Pending.
    let w = world(ApprovalPolicy::Manual);
    let mut a = draft(&w);
    submit(&mut a, &w.es, &w.consumer, None, None, later(1)).unwrap();
    assert_eq!(a.state, AgreementState::Pending);
    assert!(a.stamps.activation.is_none());

    // AUTOMATIC but the verified attribute is missing: Pending (the producer verifies).
    let w = world(ApprovalPolicy::Automatic);
    let mut c = w.consumer.clone();
    c.attributes.retain(|x| x.kind != AttributeKind::Verified);
    let mut a = draft(&w);
    submit(&mut a, &w.es, &c, None, None, later(1)).unwrap();
    assert_eq!(a.state, AgreementState::Pending);

    // Declared missing: refused, nothing changed.
    let mut c = w.consumer.clone();
    c.attributes.retain(|x| x.kind != AttributeKind::Declared);
    let mut a = draft(&w);
    let before = a.clone();
    assert!(matches!(submit(&mut a, &w.es, &c, None, None, later(1)), Err(DomainError::Invalid(_))));
    assert_eq!(a, before);

    // Certified missing: MissingCertifiedAttributes; once certified, re-submission works.
    let mut c = w.consumer.clone();
    c.attributes.retain(|x| x.kind != AttributeKind::Certified);
    let mut a = draft(&w);
    submit(&mut a, &w.es, &c, None, None, later(1)).unwrap();
    assert_eq!(a.state, AgreementState::MissingCertifiedAttributes);
    submit(&mut a, &w.es, &w.consumer, None, None, later(2)).unwrap();
    assert_eq!(a.state, AgreementState::Active);

    // Consumer == producer: Active without any attribute.
    let mut me = tenant(vec![]);
    me.id = w.es.producer_id;
    let mut a = agreement::create(&me, &w.es, &[], now()).unwrap();
    submit(&mut a, &w.es, &me, None, None, later(1)).unwrap();
    assert_eq!(a.state, AgreementState::Active);
}

#[test]
fn submit_refused_when_version_no_longer_latest() {
    let w = world(ApprovalPolicy::Automatic);
    let mut a = draft(&w);
    let mut es = w.es.clone();
    publish_next(&mut es, AttributeGroups::default());
    assert!(submit(&mut a, &es, &w.consumer, None, None, later(2)).is_err());
    assert_eq!(a.state, AgreementState::Draft);
}

#[test]
fn reject_needs_a_reason() {
    let w = world(ApprovalPolicy::Manual);
    let mut a = in_state(&w, AgreementState::Pending);
    assert!(reject(&mut a, "   ".into(), None, later(1)).is_err());
    assert!(reject(&mut a, "x".repeat(1001), None, later(1)).is_err());
    assert_eq!(a.state, AgreementState::Pending);
    reject(&mut a, "è".repeat(1000), None, later(1)).unwrap();
    assert_eq!(a.state, AgreementState::Rejected);
    assert_eq!(a.rejection_reason.as_ref().map(|r| r.chars().count()), Some(1000));
    assert!(a.stamps.rejection.is_some());
}

#[test]
fn suspension_flags_are_per_party() {
    let w = world(ApprovalPolicy::Automatic);
    let mut a = in_state(&w, AgreementState::Active);
    suspend(&mut a, Party::Consumer, None, later(1)).unwrap();
    assert!(a.suspended_by_consumer && a.stamps.suspension_by_consumer.is_some());
    // Same party twice: refused.
    assert!(suspend(&mut a, Party::Consumer, None, later(2)).is_err());
    // The producer cannot lift the consumer's suspension.
    let before = a.clone();
    assert!(matches!(unsuspend(&mut a, Party::Producer, None, later(2)), Err(DomainError::InvalidState { .. })));
    assert_eq!(a, before);
    suspend(&mut a, Party::Producer, None, later(2)).unwrap();
    unsuspend(&mut a, Party::Consumer, None, later(3)).unwrap();
    assert_eq!(a.state, AgreementState::Suspended);
    assert!(!a.suspended_by_consumer && a.stamps.suspension_by_consumer.is_none());
    unsuspend(&mut a, Party::Producer, None, later(4)).unwrap();
    assert_eq!(a.state, AgreementState::Active);

    // The platform flag keeps it suspended.
    suspend(&mut a, Party::Consumer, None, later(5)).unwrap();
    a.suspended_by_platform = true;
    unsuspend(&mut a, Party::Consumer, None, later(6)).unwrap();
    assert_eq!(a.state, AgreementState::Suspended);
}

#[test]
fn upgrade_keeps_state_and_flags_and_archives_old() {
    let w = world(ApprovalPolicy::Automatic);
    let mut a = in_state(&w, AgreementState::Active);
    suspend(&mut a, Party::Consumer, None, later(1)).unwrap();
    let mut es = w.es.clone();
    let v2 = publish_next(&mut es, AttributeGroups { certified: vec![vec![w.cert]], ..Default::default() });
    let who = Some(UserId::new());
    let n = upgrade(&mut a, &es, &w.consumer, who, later(3)).unwrap();
    assert_ne!(n.id, a.id);
    assert_eq!(n.descriptor_id, v2);
    assert_eq!(n.state, AgreementState::Suspended);
    assert!(n.suspended_by_consumer && !n.suspended_by_producer);
    assert_eq!(n.stamps.upgrade, Some(Stamp { who, when: later(3) }));
    assert!(n.stamps.archiving.is_none());
    assert_eq!(a.state, AgreementState::Archived);
    assert_eq!(a.stamps.archiving, Some(Stamp { who, when: later(3) }));

    // No newer version: refused.
    let mut b = n.clone();
    assert!(matches!(upgrade(&mut b, &es, &w.consumer, None, later(4)), Err(DomainError::Invalid(_))));
    assert_eq!(b, n);
}

#[test]
fn upgrade_refused_without_new_certified_attributes() {
    let w = world(ApprovalPolicy::Automatic);
    let mut a = in_state(&w, AgreementState::Active);
    let mut es = w.es.clone();
    publish_next(&mut es, AttributeGroups { certified: vec![vec![AttributeId::new()]], ..Default::default() });
    let before = a.clone();
    assert!(matches!(upgrade(&mut a, &es, &w.consumer, None, later(2)), Err(DomainError::Invalid(_))));
    assert_eq!(a, before);
}

#[test]
fn clone_rejected_is_a_new_draft_on_the_same_version() {
    let w = world(ApprovalPolicy::Manual);
    let r = in_state(&w, AgreementState::Rejected);
    let n = clone_rejected(&r, std::slice::from_ref(&r), later(1)).unwrap();
    assert_ne!(n.id, r.id);
    assert_eq!((n.state, n.descriptor_id, n.consumer_id), (AgreementState::Draft, r.descriptor_id, r.consumer_id));
    // A live agreement on the e-service blocks it.
    let live = in_state(&w, AgreementState::Pending);
    assert!(matches!(clone_rejected(&r, &[r.clone(), live], later(1)), Err(DomainError::Conflict(_))));
}
