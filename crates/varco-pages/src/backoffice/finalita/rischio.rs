//! The risk analysis ("Analisi del rischio") as a form: drawn from the same rule
//! data the platform validates with (`varco_domain::risk_analysis`), a question
//! only while its dependencies hold, the answers posted as `ra.<questionId>` (one
//! field per value, so each answer is a list of strings), and only the answers of
//! the questions shown kept. Without JavaScript "Aggiorna" posts the form back and
//! gets the questions that now apply; `varco.js` does the same on each change.
use std::collections::BTreeMap;
use varco_domain::risk_analysis::{
    current_rules, rules_for, AnswerKind, Question, RiskAnalysisError, RiskAnalysisRules, Widget,
};
use varco_domain::{Purpose, TenantKind, Timestamp};

/// The prefix of the answers' field names.
pub const FIELD_PREFIX: &str = "ra.";

pub type Answers = BTreeMap<String, Vec<String>>;

/// The questionnaire a draft is filled in with: the version of its saved answers
/// while that version may still be used, else the current one for the Ente's kind
/// (the answers to questions the two share carry over).
pub fn rules_of(p: &Purpose, kind: TenantKind, now: Timestamp) -> Option<&'static RiskAnalysisRules> {
    p.risk_analysis
        .as_ref()
        .and_then(|f| rules_for(kind, Some(&f.version)))
        .filter(|r| !r.is_expired_at(now))
        .or_else(|| current_rules(kind, now))
}

/// The answers in a posted form (`ra.<id>` fields, repeated for several values).
pub fn posted(pairs: &[(String, String)]) -> Answers {
    let mut raw = Answers::new();
    for (k, v) in pairs {
        if let Some(id) = k.strip_prefix(FIELD_PREFIX) {
            raw.entry(id.to_string()).or_default().push(v.clone());
        }
    }
    raw
}

/// The answers of the questions that apply, walking them in order (a question only
/// depends on earlier ones): an answer to a question whose dependencies do not hold
/// any more is dropped, a blank one is no answer. With `defaults`, an unanswered
/// single-choice question gets its preselected value (what the form shows checked,
/// so what it posts next).
pub fn applicable(rules: &RiskAnalysisRules, raw: &Answers, defaults: bool) -> Answers {
    let mut kept = Answers::new();
    for q in rules.questions() {
        if !q.is_visible(&kept) {
            continue;
        }
        let given: Vec<String> =
            raw.get(&q.id).map(|vs| vs.iter().filter(|v| !v.trim().is_empty()).cloned().collect()).unwrap_or_default();
        if !given.is_empty() {
            kept.insert(q.id.clone(), given);
        } else if defaults && q.answer == AnswerKind::Single && q.widget != Widget::Switch {
            let d: Vec<String> = q.default.iter().filter(|d| q.allows(d)).cloned().collect();
            if !d.is_empty() {
                kept.insert(q.id.clone(), d);
            }
        }
    }
    kept
}

/// One choice of a question, as the form shows it.
pub struct OptionView {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// One question, as the form shows it.
pub struct QuestionView {
    pub id: String,
    pub label: String,
    pub required: bool,
    pub multi: bool,
    /// `radio`, `checkbox`, `select`, `switch`, `text`.
    pub widget: &'static str,
    pub options: Vec<OptionView>,
    pub text: String,
    pub max_length: Option<usize>,
    pub error: Option<String>,
    /// Other questions depend on it: a change may show or hide some.
    pub trigger: bool,
}

impl QuestionView {
    pub fn field(&self) -> String {
        format!("{FIELD_PREFIX}{}", self.id)
    }

    pub fn describedby(&self) -> String {
        let hint = self.max_length.map(|_| format!("q-{}-hint", self.id));
        let error = self.error.as_ref().map(|_| format!("q-{}-error", self.id));
        hint.into_iter().chain(error).collect::<Vec<_>>().join(" ")
    }
}

fn widget_name(q: &Question) -> &'static str {
    match q.widget {
        Widget::Radio => "radio",
        Widget::Checkbox => "checkbox",
        Widget::Select => "select",
        Widget::Switch => "switch",
        Widget::Text => "text",
    }
}

/// The questions that apply to `answers`, in order, with their answers and errors.
pub fn views(rules: &RiskAnalysisRules, answers: &Answers, errors: &[RiskAnalysisError]) -> Vec<QuestionView> {
    let triggers: Vec<&str> =
        rules.questions().iter().flat_map(|q| q.depends_on.iter().map(|d| d.question.as_str())).collect();
    rules
        .visible_questions(answers)
        .map(|q| {
            let given = answers.get(&q.id).cloned().unwrap_or_default();
            let widget = if q.answer == AnswerKind::FreeText { "text" } else { widget_name(q) };
            QuestionView {
                id: q.id.clone(),
                label: q.label.clone(),
                required: q.required,
                multi: q.answer == AnswerKind::Multi,
                widget,
                options: q
                    .visible_options(answers)
                    .map(|o| OptionView {
                        value: o.value.clone(),
                        label: o.label.clone(),
                        checked: given.contains(&o.value),
                    })
                    .collect(),
                text: if q.answer == AnswerKind::FreeText { given.join("\n") } else { String::new() },
                max_length: q.max_length,
                error: error_for(&q.id, errors),
                trigger: triggers.contains(&q.id.as_str()),
            }
        })
        .collect()
}

/// The message shown next to a question.
fn error_for(id: &str, errors: &[RiskAnalysisError]) -> Option<String> {
    let msgs: Vec<String> = errors.iter().filter(|e| e.question() == Some(id)).map(message).collect();
    (!msgs.is_empty()).then(|| msgs.join(" "))
}

pub fn message(e: &RiskAnalysisError) -> String {
    match e {
        RiskAnalysisError::MissingRequired { .. } => "Risposta obbligatoria: rispondi a questa domanda.".into(),
        RiskAnalysisError::TextTooLong { length, max, .. } => {
            format!("Massimo {max} caratteri: ne hai scritti {length}.")
        }
        RiskAnalysisError::EmptyText { .. } => "Il testo non può essere vuoto.".into(),
        RiskAnalysisError::ValueNotAllowed { value, .. } => format!("Valore non ammesso: «{value}»."),
        RiskAnalysisError::TooManyValues { .. } => "È ammessa una sola risposta.".into(),
        other => format!("{}.", varco_selfcare::rules::capitalize(&other.to_string())),
    }
}

/// One answer on the summary: the question and what was answered (option labels).
pub struct AnswerView {
    pub label: String,
    pub values: Vec<String>,
}

/// The answered questions that apply, for the summary.
pub fn summary(rules: &RiskAnalysisRules, answers: &Answers) -> Vec<AnswerView> {
    rules
        .visible_questions(answers)
        .filter_map(|q| {
            let given = answers.get(&q.id)?;
            let values = given
                .iter()
                .map(|v| q.options.iter().find(|o| &o.value == v).map(|o| o.label.clone()).unwrap_or_else(|| v.clone()))
                .collect();
            Some(AnswerView { label: q.label.clone(), values })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pa() -> &'static RiskAnalysisRules {
        rules_for(TenantKind::Pa, Some("3.2")).unwrap()
    }

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        posted(&pairs.iter().map(|(k, v)| (format!("ra.{k}"), v.to_string())).collect::<Vec<_>>())
    }

    #[test]
    fn only_the_answers_that_apply_are_kept() {
        // The text of the institutional purpose does not apply once "OTHER" is chosen.
        let raw = answers(&[("purpose", "OTHER"), ("institutionalPurpose", "x"), ("otherPurpose", " ")]);
        let kept = applicable(pa(), &raw, false);
        assert_eq!(kept.get("purpose").unwrap(), &["OTHER"]);
        assert!(!kept.contains_key("institutionalPurpose"));
        assert!(!kept.contains_key("otherPurpose"), "a blank text is no answer");
        assert!(!kept.contains_key("usesPersonalData"), "no defaults unless asked");
    }

    #[test]
    fn defaults_are_preselected_and_reveal_their_dependents() {
        let shown = applicable(pa(), &Answers::new(), true);
        assert_eq!(shown.get("purpose").unwrap(), &["INSTITUTIONAL"]);
        let ids: Vec<String> = views(pa(), &shown, &[]).into_iter().map(|q| q.id).collect();
        assert!(ids.contains(&"institutionalPurpose".to_string()));
        assert!(ids.contains(&"usesThirdPartyPersonalData".to_string()));
        assert!(!ids.contains(&"otherPurpose".to_string()));
    }

    #[test]
    fn errors_sit_next_to_their_question() {
        let raw =
            answers(&[("purpose", "OTHER"), ("usesPersonalData", "NO"), ("isRequestOnBehalfOfThirdParties", "NO")]);
        let kept = applicable(pa(), &raw, false);
        let errors = pa().check(&kept);
        let vs = views(pa(), &kept, &errors);
        let other = vs.iter().find(|q| q.id == "otherPurpose").unwrap();
        assert!(other.error.as_deref().unwrap().starts_with("Risposta obbligatoria"));
        assert!(vs.iter().find(|q| q.id == "purpose").unwrap().error.is_none());
    }
}
