//! Purpose state machine: every situation × every operation, then the rules.
mod common;
use common::*;
use varco_domain::purpose::{self, *};
use varco_domain::*;

const ROOMY: Quota =
    Quota { consumer_active_calls: 0, total_active_calls: 0, per_consumer_limit: 1000, total_limit: 10000 };

fn draft() -> Purpose {
    purpose::create(
        TenantId::new(),
        EServiceId::new(),
        "Notifiche digitali".into(),
        "Invio di notifiche a valore legale".into(),
        100,
        Some(varco_domain::risk_analysis::rules_for(TenantKind::Pa, None).unwrap().example_form()),
        false,
        None,
        now(),
    )
    .unwrap()
}

fn active() -> Purpose {
    let mut p = draft();
    assert_eq!(activate(&mut p, true, Ok(()), &ROOMY, now()).unwrap(), PurposeVersionState::Active);
    p
}

fn version(state: PurposeVersionState, activated: bool) -> PurposeVersion {
    PurposeVersion {
        id: PurposeVersionId::new(),
        daily_calls: 50,
        state,
        created_at: now(),
        updated_at: None,
        first_activation_at: activated.then(now),
        suspended_at: None,
        rejection_reason: None,
    }
}

/// The situations a purpose can be in, by the states of its versions.
fn situations() -> Vec<(&'static str, Purpose)> {
    use PurposeVersionState::*;
    let only = |v: PurposeVersion| {
        let mut p = draft();
        p.versions = vec![v];
        p
    };
    let mut suspended = active();
    suspend(&mut suspended, Party::Consumer, now()).unwrap();
    let mut active_waiting = active();
    active_waiting.versions.push(version(WaitingForApproval, false));
    vec![
        ("Draft", draft()),
        ("Active", active()),
        ("Suspended (consumer)", suspended),
        ("WaitingForApproval", only(version(WaitingForApproval, false))),
        ("Active + WaitingForApproval", active_waiting),
        ("Archived", only(version(Archived, true))),
        ("Rejected", only(version(Rejected, false))),
    ]
}

type Op = fn(&mut Purpose) -> Result<(), DomainError>;

#[test]
fn every_situation_times_every_operation() {
    let ops: Vec<(&str, Op, &[&str])> = vec![
        (
            "update_draft",
            |p| update_draft(p, "Titolo nuovo".into(), "Descrizione nuova".into(), 7, None, false, None, later(1)),
            &["Draft"],
        ),
        ("activate", |p| activate(p, true, Ok(()), &ROOMY, later(1)).map(|_| ()), &["Draft"]),
        ("approve", |p| approve(p, later(1)).map(|_| ()), &["WaitingForApproval", "Active + WaitingForApproval"]),
        (
            "reject",
            |p| reject(p, "Troppe chiamate".into(), later(1)),
            &["WaitingForApproval", "Active + WaitingForApproval"],
        ),
        ("new_version", |p| new_version(p, 20, &ROOMY, later(1)).map(|_| ()), &["Active", "Suspended (consumer)"]),
        ("suspend consumer", |p| suspend(p, Party::Consumer, later(1)), &["Active", "Active + WaitingForApproval"]),
        (
            "suspend producer",
            |p| suspend(p, Party::Producer, later(1)),
            &["Active", "Suspended (consumer)", "Active + WaitingForApproval"],
        ),
        (
            "unsuspend consumer",
            |p| unsuspend(p, Party::Consumer, &ROOMY, later(1)).map(|_| ()),
            &["Suspended (consumer)"],
        ),
        ("unsuspend producer", |p| unsuspend(p, Party::Producer, &ROOMY, later(1)).map(|_| ()), &[]),
        ("archive", |p| archive(p, later(1)), &["Active", "Suspended (consumer)", "Active + WaitingForApproval"]),
        ("can_delete", |p| can_delete(p), &["Draft", "WaitingForApproval", "Rejected"]),
    ];
    for (name, op, allowed) in &ops {
        for (situation, p) in situations() {
            let mut p = p;
            let before = p.clone();
            let r = op(&mut p);
            assert_eq!(r.is_ok(), allowed.contains(&situation), "{name} in {situation}: {r:?}");
            if let Err(e) = r {
                assert!(matches!(e, DomainError::InvalidState { .. }), "{name} in {situation}: {e:?}");
                assert_eq!(p, before, "{name} in {situation} refused but changed the purpose");
            }
        }
    }
}

#[test]
fn quota_edges() {
    let q =
        Quota { consumer_active_calls: 900, total_active_calls: 9000, per_consumer_limit: 1000, total_limit: 10000 };
    assert!(q.allows(100), "reaching the limit exactly is allowed");
    assert!(!q.allows(101));
    let q = Quota { consumer_active_calls: 0, total_active_calls: 9950, per_consumer_limit: 1000, total_limit: 10000 };
    assert!(q.allows(50));
    assert!(!q.allows(51), "total limit applies too");
    assert!(!Quota { total_active_calls: u64::MAX, ..q }.allows(1));
}

#[test]
fn activate_within_or_over_quota() {
    let at_limit =
        Quota { consumer_active_calls: 900, total_active_calls: 900, per_consumer_limit: 1000, total_limit: 10000 };
    let mut p = draft();
    assert_eq!(activate(&mut p, true, Ok(()), &at_limit, later(1)).unwrap(), PurposeVersionState::Active);
    assert_eq!(p.versions[0].first_activation_at, Some(later(1)));
    assert!(voucher_state(&p));

    let over = Quota { consumer_active_calls: 901, ..at_limit };
    let mut p = draft();
    assert_eq!(activate(&mut p, true, Ok(()), &over, later(1)).unwrap(), PurposeVersionState::WaitingForApproval);
    assert!(p.versions[0].first_activation_at.is_none());
    assert!(!voucher_state(&p));
    assert!(can_delete(&p).is_ok());
}

#[test]
fn activate_needs_agreement_and_valid_risk_analysis() {
    let mut p = draft();
    let before = p.clone();
    assert!(matches!(activate(&mut p, false, Ok(()), &ROOMY, later(1)), Err(DomainError::Invalid(_))));
    let r = activate(&mut p, true, Err("Risposta mancante: finalità".into()), &ROOMY, later(1));
    assert_eq!(r, Err(DomainError::Invalid("Risposta mancante: finalità".into())));
    assert_eq!(p, before);
}

#[test]
fn approve_replaces_the_current_version() {
    let mut p = active();
    let old = p.versions[0].id;
    let tight = Quota { per_consumer_limit: 100, ..ROOMY };
    assert_eq!(new_version(&mut p, 101, &tight, later(1)).unwrap(), PurposeVersionState::WaitingForApproval);
    // Over quota: the current version keeps working.
    assert_eq!(p.active_version().unwrap().id, old);
    assert!(voucher_state(&p));
    assert_eq!(approve(&mut p, later(2)).unwrap(), PurposeVersionState::Active);
    assert_eq!(p.active_version().unwrap().daily_calls, 101);
    assert_eq!(p.versions.iter().find(|v| v.id == old).unwrap().state, PurposeVersionState::Archived);
}

#[test]
fn approve_while_suspended_gives_a_suspended_version() {
    let mut p = active();
    new_version(&mut p, 2000, &ROOMY, later(1)).unwrap();
    suspend(&mut p, Party::Producer, later(2)).unwrap();
    assert_eq!(approve(&mut p, later(3)).unwrap(), PurposeVersionState::Suspended);
    assert!(!voucher_state(&p));
    assert_eq!(unsuspend(&mut p, Party::Producer, &ROOMY, later(4)).unwrap(), PurposeVersionState::Active);
    assert_eq!(p.active_version().unwrap().daily_calls, 2000);
}

#[test]
fn reject_needs_a_reason_and_keeps_the_current_version() {
    let mut p = active();
    new_version(&mut p, 5000, &ROOMY, later(1)).unwrap();
    assert!(reject(&mut p, " ".into(), later(2)).is_err());
    reject(&mut p, "Carico eccessivo".into(), later(2)).unwrap();
    assert!(p.waiting_version().is_none());
    assert_eq!(p.versions[1].state, PurposeVersionState::Rejected);
    assert_eq!(p.versions[1].rejection_reason.as_deref(), Some("Carico eccessivo"));
    assert!(voucher_state(&p));
    // Now another new version may be asked.
    assert!(new_version(&mut p, 10, &ROOMY, later(3)).is_ok());
}

#[test]
fn new_version_within_quota_replaces_at_once() {
    let mut p = active();
    assert_eq!(new_version(&mut p, 1000, &ROOMY, later(1)).unwrap(), PurposeVersionState::Active);
    assert_eq!(p.versions[0].state, PurposeVersionState::Archived);
    assert_eq!(p.current_version().unwrap().daily_calls, 1000);
    assert!(matches!(new_version(&mut p, 0, &ROOMY, later(2)), Err(DomainError::Invalid(_))));

    // A suspended purpose stays suspended on the new version.
    let mut p = active();
    suspend(&mut p, Party::Consumer, later(1)).unwrap();
    assert_eq!(new_version(&mut p, 10, &ROOMY, later(2)).unwrap(), PurposeVersionState::Suspended);
    assert_eq!(p.current_version().unwrap().daily_calls, 10);
    assert_eq!(p.versions.iter().filter(|v| v.state == PurposeVersionState::Archived).count(), 1);
    assert_eq!(unsuspend(&mut p, Party::Consumer, &ROOMY, later(3)).unwrap(), PurposeVersionState::Active);
}

#[test]
fn suspension_flags_are_per_party() {
    let mut p = active();
    suspend(&mut p, Party::Consumer, later(1)).unwrap();
    assert!(!voucher_state(&p));
    assert!(suspend(&mut p, Party::Consumer, later(1)).is_err());
    let before = p.clone();
    assert!(unsuspend(&mut p, Party::Producer, &ROOMY, later(2)).is_err(), "wrong party");
    assert_eq!(p, before);
    suspend(&mut p, Party::Producer, later(2)).unwrap();
    assert_eq!(unsuspend(&mut p, Party::Consumer, &ROOMY, later(3)).unwrap(), PurposeVersionState::Suspended);
    assert!(!voucher_state(&p));
    assert_eq!(unsuspend(&mut p, Party::Producer, &ROOMY, later(4)).unwrap(), PurposeVersionState::Active);
    assert!(voucher_state(&p));
    assert!(p.current_version().unwrap().suspended_at.is_none());
}

#[test]
fn consumer_reactivation_must_fit_the_quota() {
    let full = Quota { consumer_active_calls: 1000, ..ROOMY };
    let mut p = active();
    suspend(&mut p, Party::Consumer, later(1)).unwrap();
    let before = p.clone();
    assert!(matches!(unsuspend(&mut p, Party::Consumer, &full, later(2)), Err(DomainError::Invalid(_))));
    assert_eq!(p, before);
    // The producer accepts the load when it lifts its own suspension.
    let mut p = active();
    suspend(&mut p, Party::Producer, later(1)).unwrap();
    assert_eq!(unsuspend(&mut p, Party::Producer, &full, later(2)).unwrap(), PurposeVersionState::Active);
    // Not the last flag: no load comes back, no quota check.
    let mut p = active();
    suspend(&mut p, Party::Consumer, later(1)).unwrap();
    suspend(&mut p, Party::Producer, later(1)).unwrap();
    assert_eq!(unsuspend(&mut p, Party::Consumer, &full, later(2)).unwrap(), PurposeVersionState::Suspended);
}

#[test]
fn archive_drops_the_waiting_version() {
    let mut p = active();
    new_version(&mut p, 5000, &ROOMY, later(1)).unwrap();
    archive(&mut p, later(2)).unwrap();
    assert_eq!(p.versions.len(), 1);
    assert_eq!(p.versions[0].state, PurposeVersionState::Archived);
    assert!(!voucher_state(&p));
    assert!(can_delete(&p).is_err());
}

#[test]
fn create_and_update_validate() {
    let mk = |title: &str, desc: &str, calls: u32, free: bool, reason: Option<&str>| {
        purpose::create(
            TenantId::new(),
            EServiceId::new(),
            title.into(),
            desc.into(),
            calls,
            None,
            free,
            reason.map(String::from),
            now(),
        )
    };
    let (t, d) = ("Titolo", "Descrizione lunga");
    assert!(mk("Tito", d, 1, false, None).is_err());
    assert!(mk(&"t".repeat(60), d, 1, false, None).is_ok());
    assert!(mk(&"t".repeat(61), d, 1, false, None).is_err());
    assert!(mk(t, "123456789", 1, false, None).is_err());
    assert!(mk(t, &"d".repeat(250), 1, false, None).is_ok());
    assert!(mk(t, &"d".repeat(251), 1, false, None).is_err());
    assert!(mk(t, d, 0, false, None).is_err());
    assert!(mk(t, d, 1, true, None).is_err());
    assert!(mk(t, d, 1, true, Some("  ")).is_err());
    let p = mk(t, d, 1, true, Some("Ente pubblico")).unwrap();
    assert_eq!(p.free_of_charge_reason.as_deref(), Some("Ente pubblico"));
    assert_eq!(mk(t, d, 1, false, Some("ignored")).unwrap().free_of_charge_reason, None);
    assert_eq!(p.versions.len(), 1);
    assert_eq!(p.versions[0].state, PurposeVersionState::Draft);

    let mut p = draft();
    update_draft(&mut p, "Titolo nuovo".into(), "Descrizione nuova".into(), 7, None, false, None, later(1)).unwrap();
    assert_eq!((p.title.as_str(), p.versions[0].daily_calls, p.risk_analysis.is_none()), ("Titolo nuovo", 7, true));
    let before = p.clone();
    assert!(update_draft(&mut p, "x".into(), "Descrizione nuova".into(), 7, None, false, None, later(1)).is_err());
    assert_eq!(p, before);
}

#[test]
fn delete_only_without_active_history() {
    let mut p = active();
    new_version(&mut p, 5000, &ROOMY, later(1)).unwrap();
    assert!(can_delete(&p).is_err());
    // A version that was active once, even if now rejected-only, keeps the purpose.
    let mut q = draft();
    q.versions[0].state = PurposeVersionState::Rejected;
    q.versions[0].first_activation_at = Some(now());
    assert!(can_delete(&q).is_err());
}
