//! Purpose ("finalità") lifecycle. A purpose has versions, each with its daily calls:
//! at most one Draft (before the first activation), one current (Active or
//! Suspended) and one WaitingForApproval (over quota, waiting for the producer).
//! Suspension flags live on the purpose and apply to its current version.
use crate::error::DomainError;
use crate::eservice::text_field;
use crate::ids::*;
use crate::model::*;

const ENTITY: &str = "finalità";

/// The load an e-service version accepts, and what is already in use. The active
/// calls EXCLUDE the purpose being changed, so that a purpose changing its own daily
/// calls is not counted twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub consumer_active_calls: u64,
    pub total_active_calls: u64,
    pub per_consumer_limit: u64,
    pub total_limit: u64,
}

impl Quota {
    /// Reaching a limit exactly is allowed; going over it is not.
    pub fn allows(&self, new_calls: u64) -> bool {
        self.consumer_active_calls.saturating_add(new_calls) <= self.per_consumer_limit
            && self.total_active_calls.saturating_add(new_calls) <= self.total_limit
    }
}

struct Fields {
    title: String,
    description: String,
    free_of_charge_reason: Option<String>,
}

fn validate(
    title: &str,
    description: &str,
    daily_calls: u32,
    is_free_of_charge: bool,
    free_of_charge_reason: Option<String>,
) -> Result<Fields, DomainError> {
    let title = text_field("titolo", title, 5, 60)?;
    let description = text_field("descrizione", description, 10, 250)?;
    check_daily_calls(daily_calls)?;
    let free_of_charge_reason = if is_free_of_charge {
        let r = free_of_charge_reason.map(|r| r.trim().to_string()).unwrap_or_default();
        if r.is_empty() {
            return Err(DomainError::Invalid("Indicare perché la finalità è senza oneri per l'erogatore".to_string()));
        }
        Some(text_field("motivo della gratuità", &r, 1, 250)?)
    } else {
        // A reason for a non-free purpose would be meaningless; drop it rather than
        // store something contradictory.
        None
    };
    Ok(Fields { title, description, free_of_charge_reason })
}

/// A draft's risk analysis may be incomplete, but only in the shape of its rules
/// (which is also what bounds its size).
fn check_form_shape(form: Option<&RiskAnalysisForm>) -> Result<(), DomainError> {
    match form.map(crate::risk_analysis::check_shape) {
        Some(Err(errors)) => Err(DomainError::Invalid(format!(
            "analisi del rischio non valida: {}",
            errors.iter().take(5).map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
        ))),
        _ => Ok(()),
    }
}

fn check_daily_calls(daily_calls: u32) -> Result<(), DomainError> {
    if daily_calls < 1 {
        return Err(DomainError::Invalid("Le chiamate giornaliere devono essere almeno 1".to_string()));
    }
    Ok(())
}

fn new_version_of(daily_calls: u32, state: PurposeVersionState, now: Timestamp) -> PurposeVersion {
    PurposeVersion {
        id: PurposeVersionId::new(),
        daily_calls,
        state,
        created_at: now,
        updated_at: None,
        first_activation_at: (state == PurposeVersionState::Active).then_some(now),
        suspended_at: (state == PurposeVersionState::Suspended).then_some(now),
        rejection_reason: None,
    }
}

#[allow(clippy::too_many_arguments)]
pub fn create(
    consumer_id: TenantId,
    eservice_id: EServiceId,
    title: String,
    description: String,
    daily_calls: u32,
    risk_analysis: Option<RiskAnalysisForm>,
    is_free_of_charge: bool,
    free_of_charge_reason: Option<String>,
    now: Timestamp,
) -> Result<Purpose, DomainError> {
    let f = validate(&title, &description, daily_calls, is_free_of_charge, free_of_charge_reason)?;
    check_form_shape(risk_analysis.as_ref())?;
    Ok(Purpose {
        id: PurposeId::new(),
        eservice_id,
        consumer_id,
        title: f.title,
        description: f.description,
        risk_analysis,
        is_free_of_charge,
        free_of_charge_reason: f.free_of_charge_reason,
        suspended_by_consumer: false,
        suspended_by_producer: false,
        versions: vec![new_version_of(daily_calls, PurposeVersionState::Draft, now)],
        created_at: now,
        updated_at: None,
    })
}

fn is_draft_only(p: &Purpose) -> bool {
    p.versions.len() == 1 && p.versions[0].state == PurposeVersionState::Draft
}

/// The state shown in refusals: that of the version the operation would act on.
fn shown_state(p: &Purpose) -> PurposeVersionState {
    p.current_version()
        .or_else(|| p.waiting_version())
        .or_else(|| p.draft_version())
        .or_else(|| p.versions.last())
        .map(|v| v.state)
        // A purpose always has a version; Archived is the honest answer if not.
        .unwrap_or(PurposeVersionState::Archived)
}

/// Replaces everything the consumer wrote, while the purpose is still a draft: after
/// the first activation the producer has seen it, and changes go through new versions.
#[allow(clippy::too_many_arguments)]
pub fn update_draft(
    p: &mut Purpose,
    title: String,
    description: String,
    daily_calls: u32,
    risk_analysis: Option<RiskAnalysisForm>,
    is_free_of_charge: bool,
    free_of_charge_reason: Option<String>,
    now: Timestamp,
) -> Result<(), DomainError> {
    if !is_draft_only(p) {
        return Err(DomainError::invalid_state(ENTITY, shown_state(p), "Modificare"));
    }
    let f = validate(&title, &description, daily_calls, is_free_of_charge, free_of_charge_reason)?;
    check_form_shape(risk_analysis.as_ref())?;
    p.title = f.title;
    p.description = f.description;
    p.risk_analysis = risk_analysis;
    p.is_free_of_charge = is_free_of_charge;
    p.free_of_charge_reason = f.free_of_charge_reason;
    p.versions[0].daily_calls = daily_calls;
    p.versions[0].updated_at = Some(now);
    p.updated_at = Some(now);
    Ok(())
}

fn version_mut(p: &mut Purpose, pred: impl Fn(&PurposeVersion) -> bool) -> &mut PurposeVersion {
    p.versions.iter_mut().find(|v| pred(v)).expect("caller checked that the version exists")
}

/// Activates the Draft version: Active when within quota, else WaitingForApproval
/// (the producer decides). Needs an Active agreement on the e-service and a valid risk
/// analysis; `risk_analysis_check` is the caller's validation of the form against the
/// rules, its error message is shown as is.
pub fn activate(
    p: &mut Purpose,
    agreement_active: bool,
    risk_analysis_check: Result<(), String>,
    quota: &Quota,
    now: Timestamp,
) -> Result<PurposeVersionState, DomainError> {
    if !is_draft_only(p) {
        return Err(DomainError::invalid_state(ENTITY, shown_state(p), "Attivare"));
    }
    if !agreement_active {
        return Err(DomainError::Invalid(
            "Serve una richiesta di fruizione attiva sull'e-service per attivare la finalità".to_string(),
        ));
    }
    risk_analysis_check.map_err(DomainError::Invalid)?;
    let v = &mut p.versions[0];
    if quota.allows(u64::from(v.daily_calls)) {
        v.state = PurposeVersionState::Active;
        v.first_activation_at = Some(now);
    } else {
        v.state = PurposeVersionState::WaitingForApproval;
    }
    v.updated_at = Some(now);
    let state = v.state;
    p.updated_at = Some(now);
    Ok(state)
}

fn is_suspended(p: &Purpose) -> bool {
    p.suspended_by_consumer || p.suspended_by_producer
}

/// Archives the current version (if any) so that the one being promoted replaces it.
fn archive_current(p: &mut Purpose, now: Timestamp) {
    for v in p.versions.iter_mut() {
        if matches!(v.state, PurposeVersionState::Active | PurposeVersionState::Suspended) {
            v.state = PurposeVersionState::Archived;
            v.updated_at = Some(now);
        }
    }
}

/// The producer accepts the load of the WaitingForApproval version: it becomes the
/// current one and the previous current is archived. If the purpose is suspended the
/// new version is Suspended (the suspension is of the purpose, not of a version).
pub fn approve(p: &mut Purpose, now: Timestamp) -> Result<PurposeVersionState, DomainError> {
    if p.waiting_version().is_none() {
        return Err(DomainError::invalid_state(ENTITY, shown_state(p), "Accoglimento"));
    }
    let suspended = is_suspended(p);
    archive_current(p, now);
    let v = version_mut(p, |v| v.state == PurposeVersionState::WaitingForApproval);
    v.state = if suspended { PurposeVersionState::Suspended } else { PurposeVersionState::Active };
    v.first_activation_at = Some(now);
    v.suspended_at = suspended.then_some(now);
    v.updated_at = Some(now);
    let state = v.state;
    p.updated_at = Some(now);
    Ok(state)
}

pub fn reject(p: &mut Purpose, reason: String, now: Timestamp) -> Result<(), DomainError> {
    if p.waiting_version().is_none() {
        return Err(DomainError::invalid_state(ENTITY, shown_state(p), "Rifiuto"));
    }
    let reason = crate::agreement::rejection_reason(&reason)?;
    let v = version_mut(p, |v| v.state == PurposeVersionState::WaitingForApproval);
    v.state = PurposeVersionState::Rejected;
    v.rejection_reason = Some(reason);
    v.updated_at = Some(now);
    p.updated_at = Some(now);
    Ok(())
}

/// A new version with new daily calls. Within quota it replaces the current one at
/// once (Suspended if the purpose is suspended); over quota it waits for the producer
/// while the current one keeps working.
pub fn new_version(
    p: &mut Purpose,
    daily_calls: u32,
    quota: &Quota,
    now: Timestamp,
) -> Result<PurposeVersionState, DomainError> {
    if p.current_version().is_none() || p.waiting_version().is_some() {
        return Err(DomainError::invalid_state(ENTITY, shown_state(p), "Creare una nuova versione"));
    }
    check_daily_calls(daily_calls)?;
    let state = if quota.allows(u64::from(daily_calls)) {
        let state = if is_suspended(p) { PurposeVersionState::Suspended } else { PurposeVersionState::Active };
        archive_current(p, now);
        state
    } else {
        PurposeVersionState::WaitingForApproval
    };
    let mut v = new_version_of(daily_calls, state, now);
    if state == PurposeVersionState::Suspended {
        // It was activated (within quota), only the purpose's suspension holds it.
        v.first_activation_at = Some(now);
    }
    p.versions.push(v);
    p.updated_at = Some(now);
    Ok(state)
}

fn flag(p: &mut Purpose, by: Party) -> &mut bool {
    match by {
        Party::Consumer => &mut p.suspended_by_consumer,
        Party::Producer => &mut p.suspended_by_producer,
    }
}

fn flag_refusal(p: &Purpose, what: &'static str) -> DomainError {
    DomainError::InvalidState {
        entity: ENTITY,
        state: crate::agreement::suspended_label(p.suspended_by_consumer, p.suspended_by_producer, false),
        what,
    }
}

pub fn suspend(p: &mut Purpose, by: Party, now: Timestamp) -> Result<(), DomainError> {
    if p.current_version().is_none() {
        return Err(DomainError::invalid_state(ENTITY, shown_state(p), "Sospendere"));
    }
    if *flag(p, by) {
        return Err(flag_refusal(p, "Sospendere"));
    }
    *flag(p, by) = true;
    let v = version_mut(p, |v| matches!(v.state, PurposeVersionState::Active | PurposeVersionState::Suspended));
    if v.state == PurposeVersionState::Active {
        v.state = PurposeVersionState::Suspended;
        v.suspended_at = Some(now);
        v.updated_at = Some(now);
    }
    p.updated_at = Some(now);
    Ok(())
}

/// Lifts `by`'s suspension; the current version is Active again when no flag is left.
/// When the consumer lifts the last flag, the load comes back, so it must fit the
/// quota (others may have taken it meanwhile): if not, refused, and the consumer can
/// first make a smaller new version (allowed while suspended). The producer may always
/// lift its own suspension: it is the one accepting the load.
pub fn unsuspend(
    p: &mut Purpose,
    by: Party,
    quota: &Quota,
    now: Timestamp,
) -> Result<PurposeVersionState, DomainError> {
    let Some((state, daily_calls)) = p.current_version().map(|v| (v.state, v.daily_calls)) else {
        return Err(DomainError::invalid_state(ENTITY, shown_state(p), "Riattivare"));
    };
    if state != PurposeVersionState::Suspended {
        return Err(DomainError::invalid_state(ENTITY, state, "Riattivare"));
    }
    if !*flag(p, by) {
        return Err(flag_refusal(p, "Riattivare"));
    }
    let last_flag = match by {
        Party::Consumer => !p.suspended_by_producer,
        Party::Producer => !p.suspended_by_consumer,
    };
    let calls = u64::from(daily_calls);
    if last_flag && by == Party::Consumer && !quota.allows(calls) {
        return Err(DomainError::Invalid(
            "Riattivando la finalità si supererebbe la soglia di chiamate giornaliere \
             dell'e-service: creare prima una nuova versione con meno chiamate"
                .to_string(),
        ));
    }
    *flag(p, by) = false;
    let v = version_mut(p, |v| v.state == PurposeVersionState::Suspended);
    if last_flag {
        v.state = PurposeVersionState::Active;
        v.suspended_at = None;
        v.updated_at = Some(now);
    }
    let state = v.state;
    p.updated_at = Some(now);
    Ok(state)
}

/// The consumer stops using the purpose: the current version is archived and a
/// version waiting for approval is dropped (nobody needs that load any more).
pub fn archive(p: &mut Purpose, now: Timestamp) -> Result<(), DomainError> {
    if p.current_version().is_none() {
        return Err(DomainError::invalid_state(ENTITY, shown_state(p), "Archiviare"));
    }
    archive_current(p, now);
    p.versions.retain(|v| v.state != PurposeVersionState::WaitingForApproval);
    p.updated_at = Some(now);
    Ok(())
}

/// A purpose may be deleted only if it never allowed a call: once a version has been
/// active the purpose is part of the history of vouchers issued.
pub fn can_delete(p: &Purpose) -> Result<(), DomainError> {
    let never_active = p.versions.iter().all(|v| {
        v.first_activation_at.is_none()
            && matches!(
                v.state,
                PurposeVersionState::Draft | PurposeVersionState::WaitingForApproval | PurposeVersionState::Rejected
            )
    });
    if !never_active {
        return Err(DomainError::invalid_state(ENTITY, shown_state(p), "Eliminare"));
    }
    Ok(())
}

/// Whether the token server may issue vouchers for this purpose (the agreement and
/// descriptor states are checked separately).
pub fn voucher_state(p: &Purpose) -> bool {
    p.active_version().is_some() && !is_suspended(p)
}
