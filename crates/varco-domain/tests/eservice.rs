//! Descriptor state machine: every state × every operation, then the rules.
mod common;
use common::*;
use varco_domain::eservice::*;
use varco_domain::*;

const ALL: [DescriptorState; 5] = [
    DescriptorState::Draft,
    DescriptorState::Published,
    DescriptorState::Deprecated,
    DescriptorState::Suspended,
    DescriptorState::Archived,
];

fn one_descriptor(state: DescriptorState) -> (EService, DescriptorId) {
    let mut es = eservice_draft(TenantId::new());
    let id = add_descriptor(&mut es, input(AttributeGroups::default(), ApprovalPolicy::Automatic), now()).unwrap();
    es.descriptors[0].state = state;
    (es, id)
}

fn state_of(es: &EService, id: DescriptorId) -> DescriptorState {
    es.descriptor(id).unwrap().state
}

type Op = fn(&mut EService, DescriptorId) -> Result<(), DomainError>;

#[test]
fn every_state_times_every_operation() {
    use DescriptorState::*;
    // With a single version: a Suspended one is the current version, so it cannot be archived.
    let ops: Vec<(&str, Op, Vec<DescriptorState>, Option<DescriptorState>)> = vec![
        ("publish", |es, id| publish_descriptor(es, id, &|_| false, later(1)), vec![Draft], Some(Published)),
        ("suspend", |es, id| suspend_descriptor(es, id, later(1)), vec![Published, Deprecated], Some(Suspended)),
        ("unsuspend", |es, id| unsuspend_descriptor(es, id, later(1)).map(|_| ()), vec![Suspended], Some(Published)),
        ("archive", |es, id| archive_descriptor(es, id, later(1)), vec![Deprecated], Some(Archived)),
        ("delete draft", |es, id| delete_draft_descriptor(es, id), vec![Draft], None),
    ];
    for (name, op, allowed, after) in &ops {
        for state in ALL {
            let (mut es, id) = one_descriptor(state);
            let before = es.clone();
            let r = op(&mut es, id);
            assert_eq!(r.is_ok(), allowed.contains(&state), "{name} from {state:?}: {r:?}");
            match r {
                Ok(()) => assert_eq!(es.descriptor(id).map(|d| d.state), *after, "{name} from {state:?}"),
                Err(e) => {
                    assert!(matches!(e, DomainError::InvalidState { .. }), "{name} from {state:?}: {e:?}");
                    assert_eq!(es, before, "{name} from {state:?} refused but changed the e-service");
                }
            }
        }
    }
    // Unknown id: NotFound.
    let (mut es, _) = one_descriptor(Draft);
    assert!(matches!(
        publish_descriptor(&mut es, DescriptorId::new(), &|_| false, now()),
        Err(DomainError::NotFound(_))
    ));
}

#[test]
fn new_eservice_validates_lengths_in_characters() {
    let mk = |name: &str, desc: &str| {
        new_eservice(TenantId::new(), name.into(), desc.into(), Technology::Soap, EServiceMode::Receive, now())
    };
    let desc = "Descrizione valida";
    assert!(mk("abcd", desc).is_err());
    assert!(mk("abcde", desc).is_ok());
    assert!(mk(&"à".repeat(60), desc).is_ok());
    assert!(mk(&"a".repeat(61), desc).is_err());
    assert!(mk("   abcd   ", desc).is_err(), "spaces do not count");
    assert!(mk("Nome valido", "123456789").is_err());
    assert!(mk("Nome valido", "1234567890").is_ok());
    assert!(mk("Nome valido", &"x".repeat(250)).is_ok());
    assert!(mk("Nome valido", &"x".repeat(251)).is_err());
    let es = mk("  Nome valido ", desc).unwrap();
    assert_eq!(es.name, "Nome valido");
    assert!(es.descriptors.is_empty());
}

#[test]
fn add_descriptor_validates_input() {
    let ok = input(AttributeGroups::default(), ApprovalPolicy::Manual);
    let cases: Vec<(DescriptorInput, bool)> = vec![
        (DescriptorInput { voucher_lifespan: 59, ..ok.clone() }, false),
        (DescriptorInput { voucher_lifespan: 60, ..ok.clone() }, true),
        (DescriptorInput { voucher_lifespan: 86400, ..ok.clone() }, true),
        (DescriptorInput { voucher_lifespan: 86401, ..ok.clone() }, false),
        (DescriptorInput { audience: vec![], ..ok.clone() }, false),
        (DescriptorInput { audience: vec!["a".into(), " ".into()], ..ok.clone() }, false),
        (DescriptorInput { daily_calls_per_consumer: 0, daily_calls_total: 10, ..ok.clone() }, false),
        (DescriptorInput { daily_calls_per_consumer: 11, daily_calls_total: 10, ..ok.clone() }, false),
        (DescriptorInput { daily_calls_per_consumer: 10, daily_calls_total: 10, ..ok.clone() }, true),
        (
            DescriptorInput {
                attributes: AttributeGroups { declared: vec![vec![]], ..Default::default() },
                ..ok.clone()
            },
            false,
        ),
    ];
    for (i, (inp, valid)) in cases.into_iter().enumerate() {
        let mut es = eservice_draft(TenantId::new());
        let r = add_descriptor(&mut es, inp, now());
        assert_eq!(r.is_ok(), valid, "case {i}: {r:?}");
        if !valid {
            assert!(matches!(r, Err(DomainError::Invalid(_))));
            assert!(es.descriptors.is_empty());
        }
    }
}

#[test]
fn one_draft_at_a_time_and_versions_increase() {
    let mut es = eservice_draft(TenantId::new());
    let inp = input(AttributeGroups::default(), ApprovalPolicy::Automatic);
    let d1 = add_descriptor(&mut es, inp.clone(), now()).unwrap();
    assert!(matches!(add_descriptor(&mut es, inp.clone(), now()), Err(DomainError::Conflict(_))));
    assert_eq!(es.descriptor(d1).unwrap().version, 1);
    publish_descriptor(&mut es, d1, &|_| false, now()).unwrap();
    let d2 = add_descriptor(&mut es, inp.clone(), now()).unwrap();
    assert_eq!(es.descriptor(d2).unwrap().version, 2);
    delete_draft_descriptor(&mut es, d2).unwrap();
    assert!(es.descriptor(d2).is_none());
    let d3 = add_descriptor(&mut es, inp, now()).unwrap();
    assert_eq!(es.descriptor(d3).unwrap().version, 2);
}

fn with_published_v1() -> (EService, DescriptorId, DescriptorId) {
    let mut es = eservice_published(TenantId::new(), AttributeGroups::default(), ApprovalPolicy::Automatic);
    let v1 = es.descriptors[0].id;
    let v2 = add_descriptor(&mut es, input(AttributeGroups::default(), ApprovalPolicy::Automatic), later(1)).unwrap();
    (es, v1, v2)
}

#[test]
fn publish_deprecates_when_used_and_archives_when_not() {
    let (mut es, v1, v2) = with_published_v1();
    publish_descriptor(&mut es, v2, &|id| id == v1, later(2)).unwrap();
    assert_eq!(state_of(&es, v1), DescriptorState::Deprecated);
    assert_eq!(es.descriptor(v1).unwrap().deprecated_at, Some(later(2)));
    assert_eq!(state_of(&es, v2), DescriptorState::Published);
    assert_eq!(es.latest_published().unwrap().id, v2);

    let (mut es, v1, v2) = with_published_v1();
    publish_descriptor(&mut es, v2, &|_| false, later(2)).unwrap();
    assert_eq!(state_of(&es, v1), DescriptorState::Archived);
    assert_eq!(es.descriptor(v1).unwrap().archived_at, Some(later(2)));
}

#[test]
fn publish_over_a_suspended_current_version() {
    // Unused: archived.
    let (mut es, v1, v2) = with_published_v1();
    suspend_descriptor(&mut es, v1, later(1)).unwrap();
    publish_descriptor(&mut es, v2, &|_| false, later(2)).unwrap();
    assert_eq!(state_of(&es, v1), DescriptorState::Archived);

    // Used: the suspension holds; lifting it gives Deprecated since v2 is newer.
    let (mut es, v1, v2) = with_published_v1();
    suspend_descriptor(&mut es, v1, later(1)).unwrap();
    publish_descriptor(&mut es, v2, &|_| true, later(2)).unwrap();
    assert_eq!(state_of(&es, v1), DescriptorState::Suspended);
    assert_eq!(unsuspend_descriptor(&mut es, v1, later(3)).unwrap(), DescriptorState::Deprecated);
}

#[test]
fn an_older_deprecated_version_is_left_alone_by_publish() {
    let (mut es, v1, v2) = with_published_v1();
    publish_descriptor(&mut es, v2, &|_| true, later(2)).unwrap();
    let v3 = add_descriptor(&mut es, input(AttributeGroups::default(), ApprovalPolicy::Automatic), later(3)).unwrap();
    publish_descriptor(&mut es, v3, &|id| id == v2, later(4)).unwrap();
    assert_eq!(state_of(&es, v1), DescriptorState::Deprecated);
    assert_eq!(es.descriptor(v1).unwrap().deprecated_at, Some(later(2)));
    assert_eq!(state_of(&es, v2), DescriptorState::Deprecated);
    assert_eq!(state_of(&es, v3), DescriptorState::Published);
}

#[test]
fn unsuspend_goes_back_to_published_only_if_still_newest() {
    let (mut es, v1, v2) = with_published_v1();
    publish_descriptor(&mut es, v2, &|_| true, later(2)).unwrap();
    suspend_descriptor(&mut es, v1, later(3)).unwrap();
    suspend_descriptor(&mut es, v2, later(3)).unwrap();
    assert!(es.latest_published().is_none());
    // v2 is suspended but still the newer one: v1 must not become Published.
    assert_eq!(unsuspend_descriptor(&mut es, v1, later(4)).unwrap(), DescriptorState::Deprecated);
    assert_eq!(unsuspend_descriptor(&mut es, v2, later(4)).unwrap(), DescriptorState::Published);
    assert!(es.descriptor(v2).unwrap().suspended_at.is_none());
}

#[test]
fn archive_of_suspended_only_when_older() {
    let (mut es, v1, v2) = with_published_v1();
    publish_descriptor(&mut es, v2, &|_| true, later(2)).unwrap();
    suspend_descriptor(&mut es, v2, later(3)).unwrap();
    assert!(archive_descriptor(&mut es, v2, later(4)).is_err(), "v2 is the current version");
    suspend_descriptor(&mut es, v1, later(3)).unwrap();
    archive_descriptor(&mut es, v1, later(4)).unwrap();
    assert_eq!(state_of(&es, v1), DescriptorState::Archived);
    assert!(archive_descriptor(&mut es, v2, later(4)).is_err());
}

/// An audience is held while a version using it is live, by its producer only, and
/// released when every version using it is archived.
#[test]
fn an_audience_is_held_while_a_version_using_it_is_live() {
    use DescriptorState::*;
    let (mut theirs, _) = one_descriptor(Published);
    let aud = theirs.descriptors[0].audience[0].clone();
    let (mine, draft) = one_descriptor(Draft);
    assert_eq!(mine.descriptors[0].audience[0], aud, "the fixture gives both the same audience");
    for (state, free) in [(Draft, true), (Published, false), (Deprecated, false), (Suspended, false), (Archived, true)]
    {
        theirs.descriptors[0].state = state;
        let r = check_audiences_free(&mine, draft, std::slice::from_ref(&theirs), &[]);
        assert_eq!(r.is_ok(), free, "another producer's version {state:?}: {r:?}");
    }
    // The same producer's own e-services do not stand in its way.
    theirs.producer_id = mine.producer_id;
    theirs.descriptors[0].state = Published;
    assert!(check_audiences_free(&mine, draft, &[theirs], &[]).is_ok());
    // Nor does anything make a platform audience publishable, in any spelling.
    let reserved = [format!("https://{}/", aud.trim_start_matches("https://").trim_start_matches("http://"))];
    let r = check_audiences_free(&mine, draft, &[], &reserved);
    assert!(matches!(r, Err(DomainError::Invalid(ref m)) if m.contains("della piattaforma")), "{r:?}");
}

#[test]
fn a_draft_saved_in_steps_may_wait_for_its_audience_but_is_not_published_without() {
    let mut es = eservice_draft(TenantId::new());
    let mut step = input(AttributeGroups::default(), ApprovalPolicy::Manual);
    step.audience = vec![];
    let id = save_draft_descriptor(&mut es, step.clone(), now()).unwrap();
    assert!(es.descriptor(id).unwrap().audience.is_empty());
    let refused = publish_descriptor(&mut es, id, &|_| false, later(1));
    assert!(matches!(refused, Err(DomainError::Invalid(_))), "{refused:?}");
    assert_eq!(state_of(&es, id), DescriptorState::Draft);

    // Everything else is checked as for any version, and nothing is changed when refused.
    let before = es.clone();
    let mut wrong = step.clone();
    wrong.daily_calls_per_consumer = wrong.daily_calls_total + 1;
    assert!(save_draft_descriptor(&mut es, wrong, later(2)).is_err());
    assert_eq!(es, before);

    // The next step saves the same draft: no second version.
    step.audience = vec!["https://api.anagrafe.example".into()];
    assert_eq!(save_draft_descriptor(&mut es, step, later(3)).unwrap(), id);
    assert_eq!(es.descriptors.len(), 1);
    publish_descriptor(&mut es, id, &|_| false, later(4)).unwrap();
    assert_eq!(state_of(&es, id), DescriptorState::Published);

    // After publication, a saved draft is the next version; the interface file is a draft's only.
    let meta = InterfaceMeta {
        name: "x.json".into(),
        content_type: "application/json".into(),
        sha256: "00".into(),
        size: 2,
        summary: "OpenAPI".into(),
        uploaded_at: now(),
    };
    assert!(matches!(set_draft_interface(&mut es, id, meta.clone()), Err(DomainError::InvalidState { .. })));
    let next =
        save_draft_descriptor(&mut es, input(AttributeGroups::default(), ApprovalPolicy::Automatic), later(5)).unwrap();
    assert_ne!(next, id);
    assert_eq!(es.descriptor(next).unwrap().version, 2);
    set_draft_interface(&mut es, next, meta).unwrap();
    assert!(es.descriptor(next).unwrap().interface.is_some());
}
