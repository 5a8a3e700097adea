//! Risk analysis ("analisi del rischio") of a purpose: the questionnaire rules and
//! their validation.
//!
//! The rules are data, not code: one JSON file per tenant kind and form version
//! under `crates/varco-domain/risk-analysis/`, embedded at build time. The question
//! ids, answer kinds, option values, `required` flags, dependencies and
//! `maxLength` follow PDND Interoperabilità, so that forms filled in on PDND are
//! accepted here unchanged; labels are our own.
//!
//! Semantics (as in PDND):
//! * a question is *visible* when every one of its dependencies is met; a
//!   dependency `(question, value)` is met when the answers to `question`
//!   contain `value` (for multi-answer questions: any of them);
//! * an answer to a question that is not visible is an error;
//! * a required question that is visible must be answered;
//! * an answer with no values counts as no answer at all;
//! * GSP and SCP tenants fill in the PRIVATE questionnaire (PDND keeps the same
//!   PRIVATE versions for the PRIVATE, GSP and SCP kinds);
//! * a version may carry an expiration: after it, [`validate_at`] refuses forms
//!   of that version (PDND's PA 3.0 expired at 2026-02-15T23:59:59Z).
//!
//! Versions: PA 3.0 (expired), 3.1 and 3.2; PRIVATE 2.0 and 2.1. PA 3.2 is PA
//! 3.1 without `dataProtectionMeasures`; PRIVATE 2.1 is PRIVATE 2.0 with
//! `dataProtectionMeasuresParticular` (measures for art. 9 data).
//!
//! Stricter than PDND (which silently keeps the first value or leaves the check
//! to the front end): several values for a single-answer question, blank free
//! text and free text longer than `maxLength` are errors.
use crate::model::{RiskAnalysisForm, TenantKind, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The questionnaire family a tenant fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RulesKind {
    Pa,
    Private,
}

impl std::fmt::Display for RulesKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RulesKind::Pa => "PA",
            RulesKind::Private => "PRIVATE",
        })
    }
}

impl RulesKind {
    /// PA tenants fill in the PA form; everybody else (GSP, SCP, PRIVATE) the
    /// PRIVATE one.
    pub fn of(kind: TenantKind) -> Self {
        match kind {
            TenantKind::Pa => RulesKind::Pa,
            TenantKind::Gsp | TenantKind::Scp | TenantKind::Private => RulesKind::Private,
        }
    }
}

/// How a question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AnswerKind {
    /// Exactly one value among the options.
    Single,
    /// One or more values among the options.
    Multi,
    /// One non-blank text, at most `max_length` characters when set.
    FreeText,
}

/// Presentation hint for a web form; it does not affect validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Widget {
    Radio,
    Checkbox,
    Select,
    Switch,
    Text,
}

/// "Shown (and required) only when `question` has been answered with `value`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    pub question: String,
    pub value: String,
}

impl Dependency {
    pub fn is_met(&self, answers: &BTreeMap<String, Vec<String>>) -> bool {
        answers.get(&self.question).is_some_and(|values| values.iter().any(|v| v == &self.value))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerOption {
    pub value: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub answer: AnswerKind,
    pub widget: Widget,
    pub label: String,
    pub required: bool,
    #[serde(default)]
    pub depends_on: Vec<Dependency>,
    /// Allowed values; empty for free text.
    #[serde(default)]
    pub options: Vec<AnswerOption>,
    /// Values a form should preselect (a UI hint, never assumed as an answer).
    #[serde(default)]
    pub default: Vec<String>,
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Option value → conditions under which a form should hide that option
    /// (a UI hint, as in PDND; not enforced by [`validate`]).
    #[serde(default)]
    pub hide_option_when: BTreeMap<String, Vec<Dependency>>,
}

impl Question {
    /// Whether the question is shown (and, if required, must be answered).
    pub fn is_visible(&self, answers: &BTreeMap<String, Vec<String>>) -> bool {
        self.depends_on.iter().all(|d| d.is_met(answers))
    }

    pub fn allows(&self, value: &str) -> bool {
        self.options.iter().any(|o| o.value == value)
    }

    /// The option values a form should offer given the answers so far.
    pub fn visible_options<'a>(
        &'a self,
        answers: &'a BTreeMap<String, Vec<String>>,
    ) -> impl Iterator<Item = &'a AnswerOption> + 'a {
        self.options.iter().filter(move |o| {
            !self.hide_option_when.get(&o.value).is_some_and(|conds| conds.iter().any(|c| c.is_met(answers)))
        })
    }
}

/// One version of one questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RiskAnalysisRules {
    pub kind: RulesKind,
    pub version: String,
    /// After this instant the version no longer accepts forms (see
    /// [`validate_at`]).
    #[serde(default)]
    pub expiration: Option<Timestamp>,
    /// In display order; a question only depends on questions before it.
    pub questions: Vec<Question>,
}

impl RiskAnalysisRules {
    /// A complete, valid form: the first option (or a short text) for every visible
    /// required question. Used by the demo world and the tests.
    pub fn example_form(&self) -> RiskAnalysisForm {
        let mut answers = BTreeMap::new();
        for q in &self.questions {
            if !q.required || !q.is_visible(&answers) {
                continue;
            }
            let values = match q.answer {
                AnswerKind::FreeText => vec![format!("Risposta a {}", q.id)],
                _ => q.options.first().map(|o| vec![o.value.clone()]).unwrap_or_default(),
            };
            answers.insert(q.id.clone(), values);
        }
        RiskAnalysisForm { version: self.version.clone(), answers }
    }

    pub fn questions(&self) -> &[Question] {
        &self.questions
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    /// The questions a form should show, in order, given the answers so far.
    pub fn visible_questions<'a>(
        &'a self,
        answers: &'a BTreeMap<String, Vec<String>>,
    ) -> impl Iterator<Item = &'a Question> + 'a {
        self.questions.iter().filter(move |q| q.is_visible(answers))
    }

    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        self.expiration.is_some_and(|e| e < now)
    }

    /// Checks the answers against this version, ignoring `form.version`.
    pub fn check(&self, answers: &BTreeMap<String, Vec<String>>) -> Vec<RiskAnalysisError> {
        check_answers(self, answers)
    }
}

/// One problem of a form; every variant but the version ones names its question.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RiskAnalysisError {
    #[error("versione {version} dell'analisi del rischio sconosciuta per un ente {kind}")]
    UnknownVersion { kind: RulesKind, version: String },
    #[error(
        "la versione {version} dell'analisi del rischio per un ente {kind} è scaduta il {}",
        .expiration.format("%Y-%m-%dT%H:%M:%SZ")
    )]
    ExpiredVersion { kind: RulesKind, version: String, expiration: Timestamp },
    #[error("domanda sconosciuta: {question}")]
    UnknownQuestion { question: String },
    #[error("{question}: risposta non ammessa, serve {depends_on} = {expected}")]
    DependencyNotMet { question: String, depends_on: String, expected: String },
    #[error("{question}: risposta obbligatoria mancante")]
    MissingRequired { question: String },
    #[error("{question}: valore non ammesso {value:?}")]
    ValueNotAllowed { question: String, value: String },
    #[error("{question}: è ammessa una sola risposta, ricevute {count}")]
    TooManyValues { question: String, count: usize },
    #[error("{question}: testo di {length} caratteri, massimo {max}")]
    TextTooLong { question: String, length: usize, max: usize },
    #[error("{question}: testo vuoto")]
    EmptyText { question: String },
}

impl RiskAnalysisError {
    /// The question the problem is about, if any.
    pub fn question(&self) -> Option<&str> {
        match self {
            RiskAnalysisError::UnknownVersion { .. } | RiskAnalysisError::ExpiredVersion { .. } => None,
            RiskAnalysisError::UnknownQuestion { question }
            | RiskAnalysisError::DependencyNotMet { question, .. }
            | RiskAnalysisError::MissingRequired { question }
            | RiskAnalysisError::ValueNotAllowed { question, .. }
            | RiskAnalysisError::TooManyValues { question, .. }
            | RiskAnalysisError::TextTooLong { question, .. }
            | RiskAnalysisError::EmptyText { question } => Some(question),
        }
    }
}

const SOURCES: &[&str] = &[
    include_str!("../risk-analysis/pa-3.0.json"),
    include_str!("../risk-analysis/pa-3.1.json"),
    include_str!("../risk-analysis/pa-3.2.json"),
    include_str!("../risk-analysis/private-2.0.json"),
    include_str!("../risk-analysis/private-2.1.json"),
];

fn version_key(version: &str) -> Vec<u64> {
    version.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// Every embedded questionnaire, sorted by kind and then by version.
pub fn all_rules() -> &'static [RiskAnalysisRules] {
    static RULES: OnceLock<Vec<RiskAnalysisRules>> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut rules: Vec<RiskAnalysisRules> =
            SOURCES.iter().map(|s| serde_json::from_str(s).expect("embedded risk analysis rules are valid")).collect();
        rules.sort_by(|a, b| {
            (a.kind == RulesKind::Private, version_key(&a.version))
                .cmp(&(b.kind == RulesKind::Private, version_key(&b.version)))
        });
        rules
    })
}

/// The questionnaire a tenant of `kind` fills in, in `version` or, when `None`,
/// in the latest version.
pub fn rules_for(kind: TenantKind, version: Option<&str>) -> Option<&'static RiskAnalysisRules> {
    let kind = RulesKind::of(kind);
    let mut candidates = all_rules().iter().filter(|r| r.kind == kind);
    match version {
        Some(v) => candidates.find(|r| r.version == v),
        None => candidates.next_back(),
    }
}

/// The latest version a tenant of `kind` may use at `now` (skipping expired ones).
pub fn current_rules(kind: TenantKind, now: Timestamp) -> Option<&'static RiskAnalysisRules> {
    let kind = RulesKind::of(kind);
    all_rules().iter().rfind(|r| r.kind == kind && !r.is_expired_at(now))
}

/// Validates a form against the rules of its version for a tenant of `kind`,
/// returning every problem found. Expiration is not checked: see [`validate_at`].
pub fn validate(form: &RiskAnalysisForm, kind: TenantKind) -> Result<(), Vec<RiskAnalysisError>> {
    let Some(rules) = rules_for(kind, Some(&form.version)) else {
        return Err(vec![RiskAnalysisError::UnknownVersion {
            kind: RulesKind::of(kind),
            version: form.version.clone(),
        }]);
    };
    let errors = check_answers(rules, &form.answers);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The longest free-text answer when its question sets no `maxLength`.
pub const DEFAULT_TEXT_MAX: usize = 2000;

/// The form's shape only, as PDND checks a draft: a known version (of either kind),
/// only that version's questions, at most one value where one is expected (at most
/// the options where several are), values among the options, texts within their
/// length. What is required and what depends on what is left to activation. This
/// is what bounds a draft's size.
pub fn check_shape(form: &RiskAnalysisForm) -> Result<(), Vec<RiskAnalysisError>> {
    let Some(rules) = all_rules().iter().find(|r| r.version == form.version) else {
        return Err(vec![RiskAnalysisError::UnknownVersion {
            kind: RulesKind::Pa,
            version: form.version.chars().take(20).collect(),
        }]);
    };
    let mut errors = Vec::new();
    for (id, values) in &form.answers {
        let Some(q) = rules.question(id) else {
            errors.push(RiskAnalysisError::UnknownQuestion { question: id.chars().take(80).collect() });
            continue;
        };
        let most = match q.answer {
            AnswerKind::Multi => q.options.len().max(1),
            _ => 1,
        };
        if values.len() > most {
            errors.push(RiskAnalysisError::TooManyValues { question: q.id.clone(), count: values.len() });
            continue;
        }
        for v in values {
            match q.answer {
                AnswerKind::Single | AnswerKind::Multi if !q.allows(v) => {
                    errors.push(RiskAnalysisError::ValueNotAllowed {
                        question: q.id.clone(),
                        value: v.chars().take(80).collect(),
                    })
                }
                AnswerKind::FreeText => {
                    let (length, max) = (v.chars().count(), q.max_length.unwrap_or(DEFAULT_TEXT_MAX));
                    if length > max {
                        errors.push(RiskAnalysisError::TextTooLong { question: q.id.clone(), length, max });
                    }
                }
                _ => {}
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Like [`validate`], and also refuses a version expired at `now` (as PDND does
/// when a purpose is created, its risk analysis changed or it is activated): the
/// one the platform calls.
pub fn validate_at(form: &RiskAnalysisForm, kind: TenantKind, now: Timestamp) -> Result<(), Vec<RiskAnalysisError>> {
    if let Some(rules) = rules_for(kind, Some(&form.version)) {
        if let Some(expiration) = rules.expiration.filter(|_| rules.is_expired_at(now)) {
            return Err(vec![RiskAnalysisError::ExpiredVersion {
                kind: rules.kind,
                version: rules.version.clone(),
                expiration,
            }]);
        }
    }
    validate(form, kind)
}

fn check_answers(rules: &RiskAnalysisRules, raw: &BTreeMap<String, Vec<String>>) -> Vec<RiskAnalysisError> {
    // An answer without values is no answer (as in PDND).
    let answers: BTreeMap<String, Vec<String>> =
        raw.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut errors = Vec::new();

    for id in answers.keys() {
        if rules.question(id).is_none() {
            errors.push(RiskAnalysisError::UnknownQuestion { question: id.clone() });
        }
    }

    for q in &rules.questions {
        let Some(values) = answers.get(&q.id) else {
            if q.required && q.is_visible(&answers) {
                errors.push(RiskAnalysisError::MissingRequired { question: q.id.clone() });
            }
            continue;
        };
        for d in &q.depends_on {
            if !d.is_met(&answers) {
                errors.push(RiskAnalysisError::DependencyNotMet {
                    question: q.id.clone(),
                    depends_on: d.question.clone(),
                    expected: d.value.clone(),
                });
            }
        }
        if q.answer != AnswerKind::Multi && values.len() > 1 {
            errors.push(RiskAnalysisError::TooManyValues { question: q.id.clone(), count: values.len() });
        }
        match q.answer {
            AnswerKind::Single | AnswerKind::Multi => {
                for v in values {
                    if !q.allows(v) {
                        errors.push(RiskAnalysisError::ValueNotAllowed { question: q.id.clone(), value: v.clone() });
                    }
                }
            }
            AnswerKind::FreeText => {
                for v in values {
                    let length = v.chars().count();
                    if v.trim().is_empty() {
                        errors.push(RiskAnalysisError::EmptyText { question: q.id.clone() });
                    } else if let Some(max) = q.max_length.filter(|&m| length > m) {
                        errors.push(RiskAnalysisError::TextTooLong { question: q.id.clone(), length, max });
                    }
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    /// Builds a complete form by walking the questions in order and answering
    /// every visible required one; `pick` chooses among the options.
    fn complete(rules: &RiskAnalysisRules, pick: impl Fn(&Question) -> Vec<String>) -> RiskAnalysisForm {
        let mut answers = BTreeMap::new();
        for q in &rules.questions {
            if !q.required || !q.is_visible(&answers) {
                continue;
            }
            let values = match q.answer {
                AnswerKind::FreeText => vec![format!("Risposta a {}", q.id)],
                _ => pick(q),
            };
            answers.insert(q.id.clone(), values);
        }
        RiskAnalysisForm { version: rules.version.clone(), answers }
    }

    fn first(q: &Question) -> Vec<String> {
        vec![q.options[0].value.clone()]
    }

    /// Last option for single answers, every option for multi answers: reaches
    /// the deepest branches.
    fn widest(q: &Question) -> Vec<String> {
        match q.answer {
            AnswerKind::Multi => q.options.iter().map(|o| o.value.clone()).collect(),
            _ => vec![q.options.last().unwrap().value.clone()],
        }
    }

    fn yes_everywhere(q: &Question) -> Vec<String> {
        if q.allows("YES") {
            vec!["YES".into()]
        } else {
            widest(q)
        }
    }

    fn errors_of(form: &RiskAnalysisForm, kind: TenantKind) -> Vec<RiskAnalysisError> {
        validate(form, kind).err().unwrap_or_default()
    }

    fn pa_latest() -> &'static RiskAnalysisRules {
        rules_for(TenantKind::Pa, None).unwrap()
    }

    fn valid_pa() -> RiskAnalysisForm {
        complete(pa_latest(), first)
    }

    #[test]
    fn embedded_rules_are_consistent() {
        let all = all_rules();
        assert_eq!(all.len(), SOURCES.len());
        for rules in all {
            let mut seen: Vec<&Question> = Vec::new();
            for q in &rules.questions {
                assert!(seen.iter().all(|s| s.id != q.id), "{} {}: duplicate {}", rules.version, q.id, q.id);
                for d in q.depends_on.iter().chain(q.hide_option_when.values().flatten()) {
                    let dep = seen
                        .iter()
                        .find(|s| s.id == d.question)
                        .unwrap_or_else(|| panic!("{}: {} not before it", q.id, d.question));
                    assert!(dep.allows(&d.value), "{}: {} has no {}", q.id, dep.id, d.value);
                }
                match q.answer {
                    AnswerKind::FreeText => assert!(q.options.is_empty()),
                    _ => assert!(!q.options.is_empty(), "{} has no options", q.id),
                }
                for v in q.default.iter().chain(q.hide_option_when.keys()) {
                    // switches default to "false", which is not an answer
                    assert!(q.allows(v) || v == "false", "{}: bad value {v}", q.id);
                }
                assert!(!q.label.is_empty());
                seen.push(q);
            }
        }
    }

    #[test]
    fn versions_and_kinds() {
        assert_eq!(pa_latest().version, "3.2");
        assert_eq!(rules_for(TenantKind::Private, None).unwrap().version, "2.1");
        for k in [TenantKind::Gsp, TenantKind::Scp] {
            assert_eq!(rules_for(k, None), rules_for(TenantKind::Private, None), "{k:?} uses the PRIVATE form");
        }
        assert_eq!(rules_for(TenantKind::Pa, Some("3.0")).unwrap().version, "3.0");
        assert!(rules_for(TenantKind::Pa, Some("2.0")).is_none());
        assert!(rules_for(TenantKind::Private, Some("3.1")).is_none());
        assert!(rules_for(TenantKind::Pa, Some("2.1")).is_none());
    }

    #[test]
    fn complete_forms_are_valid() {
        for kind in [TenantKind::Pa, TenantKind::Private, TenantKind::Gsp] {
            for rules in all_rules().iter().filter(|r| r.kind == RulesKind::of(kind)) {
                for pick in [first, widest, yes_everywhere] {
                    let form = complete(rules, pick);
                    assert_eq!(validate(&form, kind), Ok(()), "{kind:?} {}", rules.version);
                }
            }
        }
        // the YES-everywhere PRIVATE form reaches the deepest branches
        let private = complete(rules_for(TenantKind::Private, None).unwrap(), yes_everywhere);
        assert!(private.answers.contains_key("legitimateInterestReference"));
        assert!(private.answers.contains_key("dataProtectionMeasures"));
    }

    #[test]
    fn unknown_version() {
        let mut form = valid_pa();
        form.version = "9.9".into();
        assert_eq!(
            errors_of(&form, TenantKind::Pa),
            vec![RiskAnalysisError::UnknownVersion { kind: RulesKind::Pa, version: "9.9".into() }]
        );
        // a PA version is not a PRIVATE version
        let errors = errors_of(&valid_pa(), TenantKind::Private);
        assert!(matches!(errors[..], [RiskAnalysisError::UnknownVersion { .. }]));
    }

    #[test]
    fn expired_version() {
        let form = complete(rules_for(TenantKind::Pa, Some("3.0")).unwrap(), first);
        let before = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        let expiration = Utc.with_ymd_and_hms(2026, 2, 15, 23, 59, 59).unwrap();
        assert_eq!(validate_at(&form, TenantKind::Pa, before), Ok(()));
        let errors = validate_at(&form, TenantKind::Pa, after).unwrap_err();
        assert_eq!(
            errors,
            vec![RiskAnalysisError::ExpiredVersion { kind: RulesKind::Pa, version: "3.0".into(), expiration }]
        );
        assert_eq!(
            errors[0].to_string(),
            "la versione 3.0 dell'analisi del rischio per un ente PA è scaduta il 2026-02-15T23:59:59Z"
        );
        assert_eq!(validate(&form, TenantKind::Pa), Ok(()));
        assert_eq!(current_rules(TenantKind::Pa, after).unwrap().version, "3.2");
        assert_eq!(current_rules(TenantKind::Pa, before).unwrap().version, "3.2");
    }

    #[test]
    fn unknown_question() {
        let mut form = valid_pa();
        form.answers.insert("colorePreferito".into(), vec!["blu".into()]);
        let errors = errors_of(&form, TenantKind::Pa);
        assert_eq!(errors, vec![RiskAnalysisError::UnknownQuestion { question: "colorePreferito".into() }]);
        assert_eq!(errors[0].question(), Some("colorePreferito"));
    }

    #[test]
    fn missing_required() {
        let mut form = valid_pa();
        form.answers.remove("institutionalPurpose");
        form.answers.insert("declarationConfirmGDPR".into(), vec![]); // empty = absent
        assert_eq!(
            errors_of(&form, TenantKind::Pa),
            vec![
                RiskAnalysisError::MissingRequired { question: "institutionalPurpose".into() },
                RiskAnalysisError::MissingRequired { question: "declarationConfirmGDPR".into() },
            ]
        );
        // an empty form misses every unconditional required question
        let empty = RiskAnalysisForm { version: "3.1".into(), answers: BTreeMap::new() };
        let missing: Vec<_> =
            errors_of(&empty, TenantKind::Pa).iter().map(|e| e.question().unwrap().to_owned()).collect();
        assert_eq!(missing, ["purpose", "usesPersonalData", "isRequestOnBehalfOfThirdParties"]);
    }

    #[test]
    fn value_not_allowed() {
        let mut form = valid_pa();
        form.answers.insert("deliveryMethod".into(), vec!["PICCIONE".into()]);
        form.answers.insert("personalDataTypes".into(), vec!["WITH_IDENTIFYING_DATA".into(), "SEGRETI".into()]);
        assert_eq!(
            errors_of(&form, TenantKind::Pa),
            vec![
                RiskAnalysisError::ValueNotAllowed { question: "personalDataTypes".into(), value: "SEGRETI".into() },
                RiskAnalysisError::ValueNotAllowed { question: "deliveryMethod".into(), value: "PICCIONE".into() },
            ]
        );
    }

    #[test]
    fn several_values_for_single_answer() {
        let mut form = valid_pa();
        form.answers.insert("doneDpia".into(), vec!["YES".into(), "NO".into()]);
        form.answers.insert("institutionalPurpose".into(), vec!["uno".into(), "due".into()]);
        let errors = errors_of(&form, TenantKind::Pa);
        assert!(errors.contains(&RiskAnalysisError::TooManyValues { question: "doneDpia".into(), count: 2 }));
        assert!(
            errors.contains(&RiskAnalysisError::TooManyValues { question: "institutionalPurpose".into(), count: 2 })
        );
        // multi-answer questions take several values
        let mut form = valid_pa();
        form.answers.insert("legalBasis".into(), vec!["CONSENT".into(), "CONTRACT".into()]);
        assert_eq!(validate(&form, TenantKind::Pa), Ok(()));
    }

    #[test]
    fn free_text_too_long_or_empty() {
        let rules = pa_latest();
        let max = rules.question("institutionalPurpose").unwrap().max_length.unwrap();
        assert_eq!(max, 2000);
        let mut form = valid_pa();
        // characters, not bytes
        form.answers.insert("institutionalPurpose".into(), vec!["è".repeat(max)]);
        assert_eq!(validate(&form, TenantKind::Pa), Ok(()));
        form.answers.insert("institutionalPurpose".into(), vec!["è".repeat(max + 1)]);
        assert_eq!(
            errors_of(&form, TenantKind::Pa),
            vec![RiskAnalysisError::TextTooLong { question: "institutionalPurpose".into(), length: max + 1, max }]
        );
        form.answers.insert("institutionalPurpose".into(), vec!["  ".into()]);
        assert_eq!(
            errors_of(&form, TenantKind::Pa),
            vec![RiskAnalysisError::EmptyText { question: "institutionalPurpose".into() }]
        );
    }

    #[test]
    fn dependency_rule() {
        let rules = rules_for(TenantKind::Private, None).unwrap();
        // usesPersonalData = NO: the personal-data branch is hidden
        let base = complete(rules, |q| if q.id == "usesPersonalData" { vec!["NO".into()] } else { first(q) });
        assert_eq!(validate(&base, TenantKind::Private), Ok(()));
        assert!(!base.answers.contains_key("doneDpia"));

        // dependent answered without its trigger
        let mut form = base.clone();
        form.answers.insert("doneDpia".into(), vec!["NO".into()]);
        assert_eq!(
            errors_of(&form, TenantKind::Private),
            vec![RiskAnalysisError::DependencyNotMet {
                question: "doneDpia".into(),
                depends_on: "usesPersonalData".into(),
                expected: "YES".into()
            }]
        );

        // trigger absent altogether
        let mut form = valid_pa();
        form.answers.remove("purpose");
        form.answers.remove("institutionalPurpose");
        form.answers.insert("otherPurpose".into(), vec!["altro".into()]);
        assert_eq!(
            errors_of(&form, TenantKind::Pa),
            vec![
                RiskAnalysisError::MissingRequired { question: "purpose".into() },
                RiskAnalysisError::DependencyNotMet {
                    question: "otherPurpose".into(),
                    depends_on: "purpose".into(),
                    expected: "OTHER".into()
                },
            ]
        );

        // with its trigger: ok, and then required
        let mut form = valid_pa();
        form.answers.remove("institutionalPurpose");
        form.answers.insert("purpose".into(), vec!["OTHER".into()]);
        assert_eq!(
            errors_of(&form, TenantKind::Pa),
            vec![RiskAnalysisError::MissingRequired { question: "otherPurpose".into() }]
        );
        form.answers.insert("otherPurpose".into(), vec!["altro".into()]);
        assert_eq!(validate(&form, TenantKind::Pa), Ok(()));

        // a multi-answer trigger is met when any of its values matches
        let mut form = valid_pa();
        form.answers.insert("personalDataTypes".into(), vec!["GDPR_ART_8".into(), "OTHER".into()]);
        assert_eq!(
            errors_of(&form, TenantKind::Pa),
            vec![RiskAnalysisError::MissingRequired { question: "otherPersonalDataTypes".into() }]
        );
        form.answers.insert("otherPersonalDataTypes".into(), vec!["targhe".into()]);
        assert_eq!(validate(&form, TenantKind::Pa), Ok(()));
    }

    #[test]
    fn form_driving_helpers() {
        let rules = pa_latest();
        let mut answers = BTreeMap::new();
        let shown: Vec<_> = rules.visible_questions(&answers).map(|q| &q.id).collect();
        assert_eq!(shown, ["purpose", "usesPersonalData", "isRequestOnBehalfOfThirdParties"]);
        let q = rules.question("legalBasisPublicInterest").unwrap();
        assert_eq!(q.visible_options(&answers).count(), 3);
        answers.insert("personalDataTypes".into(), vec!["GDPR_ART_9".into()]);
        let offered: Vec<_> = q.visible_options(&answers).map(|o| &o.value).collect();
        assert_eq!(offered, ["RULE_OF_LAW", "ADMINISTRATIVE_ACT"]);
    }
}
