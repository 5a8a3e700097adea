//! The risk-analysis rules against forms written out by hand from PDND's rule files
//! (`packages/commons/src/risk-analysis/rules/` of PDND's back end: PA 3.0, 3.1,
//! 3.2, PRIVATE 2.0, 2.1). Nothing here is derived from our JSON rules: each form
//! and each expected list of missing questions was read off PDND's question ids,
//! options, `required` flags, dependencies and expirations.
use chrono::{TimeZone, Utc};
use varco_domain::clock::Clock;
use varco_domain::risk_analysis::{validate, validate_at, RiskAnalysisError as E, RulesKind};
use varco_domain::{RiskAnalysisForm, TenantKind};

fn form(version: &str, answers: &[(&str, &[&str])]) -> RiskAnalysisForm {
    RiskAnalysisForm {
        version: version.into(),
        answers: answers.iter().map(|(q, v)| (q.to_string(), v.iter().map(|s| s.to_string()).collect())).collect(),
    }
}

fn errors(f: &RiskAnalysisForm, kind: TenantKind) -> Vec<E> {
    validate(f, kind).err().unwrap_or_default()
}

fn missing(questions: &[&str]) -> Vec<E> {
    questions.iter().map(|q| E::MissingRequired { question: q.to_string() }).collect()
}

fn unknown(question: &str) -> E {
    E::UnknownQuestion { question: question.into() }
}

/// 2026-12-01, "today" for these tests.
fn today() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

/// PA 3.2, no personal data: the shortest complete form.
fn pa_3_2_no_personal_data() -> RiskAnalysisForm {
    form(
        "3.2",
        &[
            ("purpose", &["INSTITUTIONAL"]),
            ("institutionalPurpose", &["Notifiche digitali degli atti del Comune"]),
            ("usesPersonalData", &["NO"]),
            ("usesThirdPartyPersonalData", &["YES"]),
            ("usesThirdPartyConfidentialData", &["NO"]),
            ("isRequestOnBehalfOfThirdParties", &["YES"]),
            ("thirdPartiesRequestDataUsage", &["PA_ONLY"]),
        ],
    )
}

/// PA 3.2 with personal data, taking the deep branches.
fn pa_3_2_personal_data() -> RiskAnalysisForm {
    form(
        "3.2",
        &[
            ("purpose", &["OTHER"]),
            ("otherPurpose", &["Verifica della residenza"]),
            ("usesPersonalData", &["YES"]),
            ("personalDataTypes", &["WITH_IDENTIFYING_DATA", "GDPR_ART_10", "OTHER"]),
            ("otherPersonalDataTypes", &["Numero di matricola"]),
            ("legalBasis", &["LEGAL_OBLIGATION", "PUBLIC_INTEREST"]),
            ("legalObligationReference", &["D.P.R. 445/2000"]),
            ("legalBasisPublicInterest", &["PUBLIC_INTEREST_TASK"]),
            ("publicInterestTaskText", &["Tenuta dell'anagrafe"]),
            ("knowsDataQuantity", &["YES"]),
            ("dataQuantity", &["QUANTITY_1001_TO_5000"]),
            ("deliveryMethod", &["PSEUDOANONYMOUS"]),
            ("policyProvided", &["YES"]),
            ("policyProvidedMedium", &["ONLINE"]),
            ("policyProvidedOnlineLink", &["https://comune.example/privacy"]),
            ("confirmPricipleIntegrityAndDiscretion", &["true"]),
            ("doneDpia", &["YES"]),
            ("confirmedDoneDpia", &["NO"]),
            ("dataDownload", &["YES"]),
            ("dataRetentionPeriod", &["10 giorni"]),
            ("purposePursuit", &["MERE_CORRECTNESS"]),
            ("checkedExistenceMereCorrectnessInteropCatalogue", &["true"]),
            ("isRequestOnBehalfOfThirdParties", &["NO"]),
            ("declarationConfirmGDPR", &["true"]),
        ],
    )
}

/// PRIVATE 2.1 with personal data, with art. 9 and art. 10 data and a legitimate
/// interest: every branch new in 2.1 is reached.
fn private_2_1_personal_data() -> RiskAnalysisForm {
    form(
        "2.1",
        &[
            ("purpose", &["INSTITUTIONAL"]),
            ("institutionalPurpose", &["Erogazione del servizio ai clienti"]),
            ("usesPersonalData", &["YES"]),
            ("personalDataTypes", &["GDPR_ART_9", "GDPR_ART_10"]),
            ("legalBasis", &["CONTRACT", "LEGITIMATE_INTEREST"]),
            ("legitimateInterestReference", &["Prevenzione delle frodi; bilanciamento svolto"]),
            ("knowsDataQuantity", &["NO"]),
            ("deliveryMethod", &["CLEARTEXT"]),
            ("policyProvided", &["NO"]),
            ("reasonPolicyNotProvided", &["Art. 14, par. 5, lett. b"]),
            ("confirmPricipleIntegrityAndDiscretion", &["true"]),
            ("dataProtectionMeasures", &["Cifratura e registri degli accessi"]),
            ("dataProtectionMeasuresParticular", &["Pseudonimizzazione dei dati sanitari"]),
            ("doneDpia", &["NO"]),
            ("dataDownload", &["NO"]),
            ("purposePursuit", &["NEW_PERSONAL_DATA"]),
            ("checkedAllDataNeeded", &["true"]),
            ("declarationConfirmGDPR", &["true"]),
        ],
    )
}

/// PRIVATE 2.1, no personal data.
fn private_2_1_no_personal_data() -> RiskAnalysisForm {
    form(
        "2.1",
        &[
            ("purpose", &["OTHER"]),
            ("otherPurpose", &["Statistiche sui volumi"]),
            ("usesPersonalData", &["NO"]),
            ("usesThirdPartyPersonalData", &["NO"]),
        ],
    )
}

#[test]
fn a_pa_consumer_fills_in_pa_3_2() {
    for f in [pa_3_2_no_personal_data(), pa_3_2_personal_data()] {
        assert_eq!(validate(&f, TenantKind::Pa), Ok(()), "{f:?}");
        assert_eq!(validate_at(&f, TenantKind::Pa, today()), Ok(()));
    }
}

#[test]
fn pa_3_2_required_questions_and_their_conditions() {
    // An empty form: only the unconditional questions are required.
    assert_eq!(
        errors(&form("3.2", &[]), TenantKind::Pa),
        missing(&["purpose", "usesPersonalData", "isRequestOnBehalfOfThirdParties"])
    );
    // Every trigger set, nothing else: each dependent question is required, in PDND's order.
    let triggers = form(
        "3.2",
        &[
            ("purpose", &["OTHER"]),
            ("usesPersonalData", &["YES"]),
            ("personalDataTypes", &["GDPR_ART_9", "GDPR_ART_10", "OTHER"]),
            ("legalBasis", &["LEGAL_OBLIGATION", "PUBLIC_INTEREST"]),
            ("legalBasisPublicInterest", &["RULE_OF_LAW"]),
            ("knowsDataQuantity", &["YES"]),
            ("policyProvided", &["YES"]),
            ("policyProvidedMedium", &["ONLINE"]),
            ("confirmPricipleIntegrityAndDiscretion", &["true"]),
            ("doneDpia", &["YES"]),
            ("dataDownload", &["YES"]),
            ("purposePursuit", &["NEW_PERSONAL_DATA"]),
            ("isRequestOnBehalfOfThirdParties", &["YES"]),
        ],
    );
    assert_eq!(
        errors(&triggers, TenantKind::Pa),
        missing(&[
            "otherPurpose",
            "otherPersonalDataTypes",
            "legalObligationReference",
            "ruleOfLawText",
            "dataQuantity",
            "deliveryMethod",
            "policyProvidedOnlineLink",
            "confirmedDoneDpia",
            "dataRetentionPeriod",
            "checkedAllDataNeeded",
            "thirdPartiesRequestDataUsage",
            "declarationConfirmGDPR",
        ])
    );
    // Without personal data the third-party questions are asked.
    let f = form("3.2", &[("purpose", &["INSTITUTIONAL"]), ("usesPersonalData", &["NO"])]);
    assert_eq!(
        errors(&f, TenantKind::Pa),
        missing(&["institutionalPurpose", "usesThirdPartyPersonalData", "isRequestOnBehalfOfThirdParties"])
    );
}

#[test]
fn pa_3_2_refuses_what_its_rules_do_not_have() {
    // 3.2 dropped dataProtectionMeasures, which 3.1 asks for art. 10 data.
    let mut f = pa_3_2_personal_data();
    f.answers.insert("dataProtectionMeasures".into(), vec!["Cifratura".into()]);
    assert_eq!(errors(&f, TenantKind::Pa), vec![unknown("dataProtectionMeasures")]);
    let mut in_3_1 = pa_3_2_personal_data();
    in_3_1.version = "3.1".into();
    assert_eq!(errors(&in_3_1, TenantKind::Pa), missing(&["dataProtectionMeasures"]));
    f.version = "3.1".into();
    assert_eq!(validate(&f, TenantKind::Pa), Ok(()));

    // A legitimate interest is a PRIVATE legal basis only.
    let mut f = pa_3_2_personal_data();
    f.answers.insert("legalBasis".into(), vec!["LEGITIMATE_INTEREST".into()]);
    assert_eq!(
        errors(&f, TenantKind::Pa),
        vec![
            E::ValueNotAllowed { question: "legalBasis".into(), value: "LEGITIMATE_INTEREST".into() },
            E::DependencyNotMet {
                question: "legalObligationReference".into(),
                depends_on: "legalBasis".into(),
                expected: "LEGAL_OBLIGATION".into()
            },
            E::DependencyNotMet {
                question: "legalBasisPublicInterest".into(),
                depends_on: "legalBasis".into(),
                expected: "PUBLIC_INTEREST".into()
            },
        ]
    );

    // An answer outside the options, and a dependent answer without its trigger.
    let mut f = pa_3_2_no_personal_data();
    f.answers.insert("thirdPartiesRequestDataUsage".into(), vec!["PRIVATE_ONLY".into()]);
    f.answers.insert("doneDpia".into(), vec!["NO".into()]);
    assert_eq!(
        errors(&f, TenantKind::Pa),
        vec![
            E::DependencyNotMet {
                question: "doneDpia".into(),
                depends_on: "usesPersonalData".into(),
                expected: "YES".into()
            },
            E::ValueNotAllowed { question: "thirdPartiesRequestDataUsage".into(), value: "PRIVATE_ONLY".into() },
        ]
    );
}

#[test]
fn a_private_consumer_fills_in_private_2_1() {
    for f in [private_2_1_personal_data(), private_2_1_no_personal_data()] {
        assert_eq!(validate(&f, TenantKind::Private), Ok(()), "{f:?}");
        assert_eq!(validate_at(&f, TenantKind::Private, today()), Ok(()));
    }
    // 2.1 asks for the measures protecting art. 9 data; 2.0 does not know the question.
    let mut f = private_2_1_personal_data();
    f.answers.remove("dataProtectionMeasuresParticular");
    assert_eq!(errors(&f, TenantKind::Private), missing(&["dataProtectionMeasuresParticular"]));
    f.version = "2.0".into();
    assert_eq!(validate(&f, TenantKind::Private), Ok(()));
    let mut f = private_2_1_personal_data();
    f.version = "2.0".into();
    assert_eq!(errors(&f, TenantKind::Private), vec![unknown("dataProtectionMeasuresParticular")]);
    // The third-party request questions are PA only.
    let mut f = private_2_1_no_personal_data();
    f.answers.insert("isRequestOnBehalfOfThirdParties".into(), vec!["NO".into()]);
    assert_eq!(errors(&f, TenantKind::Private), vec![unknown("isRequestOnBehalfOfThirdParties")]);
}

#[test]
fn private_2_1_required_questions_and_their_conditions() {
    assert_eq!(errors(&form("2.1", &[]), TenantKind::Private), missing(&["purpose", "usesPersonalData"]));
    let triggers = form(
        "2.1",
        &[
            ("purpose", &["INSTITUTIONAL"]),
            ("usesPersonalData", &["YES"]),
            ("personalDataTypes", &["GDPR_ART_9", "GDPR_ART_10"]),
            ("legalBasis", &["LEGITIMATE_INTEREST", "PUBLIC_INTEREST"]),
            ("legalBasisPublicInterest", &["ADMINISTRATIVE_ACT"]),
            ("knowsDataQuantity", &["NO"]),
            ("policyProvided", &["NO"]),
            ("confirmPricipleIntegrityAndDiscretion", &["true"]),
            ("doneDpia", &["NO"]),
            ("dataDownload", &["NO"]),
            ("purposePursuit", &["MERE_CORRECTNESS"]),
        ],
    );
    assert_eq!(
        errors(&triggers, TenantKind::Private),
        missing(&[
            "institutionalPurpose",
            "legitimateInterestReference",
            "administrativeActText",
            "deliveryMethod",
            "reasonPolicyNotProvided",
            "dataProtectionMeasures",
            "dataProtectionMeasuresParticular",
            "checkedExistenceMereCorrectnessInteropCatalogue",
            "declarationConfirmGDPR",
        ])
    );
    let f = form(
        "2.1",
        &[("purpose", &["OTHER"]), ("usesPersonalData", &["NO"]), ("usesThirdPartyPersonalData", &["YES"])],
    );
    assert_eq!(errors(&f, TenantKind::Private), missing(&["otherPurpose", "usesThirdPartyConfidentialData"]));
}

#[test]
fn gsp_and_scp_consumers_fill_in_the_private_form() {
    // PDND gives GSP and SCP the PRIVATE versions (its rules provider lists the
    // same PRIVATE rule sets under PRIVATE, GSP and SCP).
    for kind in [TenantKind::Gsp, TenantKind::Scp] {
        for f in [private_2_1_personal_data(), private_2_1_no_personal_data()] {
            assert_eq!(validate_at(&f, kind, today()), Ok(()), "{kind:?}");
        }
        let mut f = private_2_1_personal_data();
        f.answers.remove("legitimateInterestReference");
        assert_eq!(errors(&f, kind), missing(&["legitimateInterestReference"]));
        assert_eq!(
            errors(&pa_3_2_personal_data(), kind),
            vec![E::UnknownVersion { kind: RulesKind::Private, version: "3.2".into() }],
            "{kind:?} may not send a PA form"
        );
    }
}

#[test]
fn a_form_of_the_other_kind_is_refused() {
    let e = validate_at(&private_2_1_personal_data(), TenantKind::Pa, today()).unwrap_err();
    assert_eq!(e, vec![E::UnknownVersion { kind: RulesKind::Pa, version: "2.1".into() }]);
    assert_eq!(e[0].to_string(), "versione 2.1 dell'analisi del rischio sconosciuta per un ente PA");
    assert_eq!(
        validate_at(&pa_3_2_no_personal_data(), TenantKind::Private, today()),
        Err(vec![E::UnknownVersion { kind: RulesKind::Private, version: "3.2".into() }])
    );
    // PRIVATE 2.0 is not a PA version either.
    let mut f = private_2_1_no_personal_data();
    f.version = "2.0".into();
    assert_eq!(errors(&f, TenantKind::Pa), vec![E::UnknownVersion { kind: RulesKind::Pa, version: "2.0".into() }]);
}

#[test]
fn pa_3_0_is_accepted_until_its_expiration_and_refused_after() {
    // PA 3.0 as PDND has it: personalDataTypes, legalBasis and the rest are asked of
    // everybody, there is no usesPersonalData branch.
    let f = form(
        "3.0",
        &[
            ("purpose", &["INSTITUTIONAL"]),
            ("institutionalPurpose", &["Notifiche digitali"]),
            ("personalDataTypes", &["WITH_IDENTIFYING_DATA"]),
            ("legalBasis", &["PUBLIC_INTEREST"]),
            ("legalBasisPublicInterest", &["RULE_OF_LAW"]),
            ("ruleOfLawText", &["L. 120/2020, art. 26"]),
            ("knowsDataQuantity", &["NO"]),
            ("deliveryMethod", &["CLEARTEXT"]),
            ("policyProvided", &["YES"]),
            ("confirmPricipleIntegrityAndDiscretion", &["true"]),
            ("doneDpia", &["NO"]),
            ("dataDownload", &["NO"]),
            ("purposePursuit", &["MERE_CORRECTNESS"]),
            ("checkedExistenceMereCorrectnessInteropCatalogue", &["true"]),
            ("usesThirdPartyData", &["NO"]),
            ("declarationConfirmGDPR", &["true"]),
        ],
    );
    // PDND: expiration 2026-02-15T23:59:59 read by its (UTC) runtime; refused once
    // the expiration is before now.
    let expiration = Utc.with_ymd_and_hms(2026, 2, 15, 23, 59, 59).unwrap();
    let clock = Clock::manual(Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap());
    assert_eq!(validate_at(&f, TenantKind::Pa, clock.now()), Ok(()));
    clock.set(expiration);
    assert_eq!(validate_at(&f, TenantKind::Pa, clock.now()), Ok(()), "still valid at the expiration itself");
    clock.advance(chrono::Duration::seconds(1));
    let refused = validate_at(&f, TenantKind::Pa, clock.now()).unwrap_err();
    assert_eq!(refused, vec![E::ExpiredVersion { kind: RulesKind::Pa, version: "3.0".into(), expiration }]);
    assert_eq!(
        refused[0].to_string(),
        "la versione 3.0 dell'analisi del rischio per un ente PA è scaduta il 2026-02-15T23:59:59Z"
    );
    clock.set(today());
    assert!(validate_at(&f, TenantKind::Pa, clock.now()).is_err());
    // Expiry aside, the answers are right: validate alone (no clock) accepts them.
    assert_eq!(validate(&f, TenantKind::Pa), Ok(()));
    // 3.1 and 3.2 carry no expiration.
    let mut f = pa_3_2_personal_data();
    f.answers.insert("dataProtectionMeasures".into(), vec!["Cifratura".into()]);
    f.version = "3.1".into();
    assert_eq!(validate_at(&f, TenantKind::Pa, today()), Ok(()));
}
