//! The demo world created on first start: the Collaudo environment with PagoPA S.p.A.
//! publishing "SEND - UAT (Piattaforma Notifiche)", and a few Enti as consumers.
//! Produzione and Attestazione get the same Enti as tenants, with their own ids.
use crate::{AppError, AppResult, Caller, Page, Platform, TenantFilter};
use varco_domain::eservice::DescriptorInput;
use varco_domain::*;
use varco_selfcare::model::Institution;

pub const PAGOPA: &str = "PagoPA S.p.A.";
pub const COMUNE_DI_PROVA: &str = "Comune di Prova";
pub const COMUNE_DI_ESEMPIO: &str = "Comune di Esempio";
pub const SEND_UAT: &str = "SEND - UAT (Piattaforma Notifiche)";
pub const SEND_UAT_AUDIENCE: &str = "https://api.uat.notifichedigitali.it";

/// Creates the demo world unless the database already has tenants. Returns whether
/// it created anything. The tenants come from SelfCare's demo Enti (`institutions`),
/// through the same [`EnvService::tenant_for`](crate::EnvService::tenant_for) as any
/// other Ente.
pub async fn seed_if_empty(p: &Platform, institutions: &[Institution]) -> AppResult<bool> {
    let actor = Caller::System;
    let mut created = false;
    for env in Env::ALL {
        let svc = p.env(env);
        if svc.tenants(&actor, &TenantFilter::default(), Page { offset: 0, limit: 1 }).await?.total > 0 {
            continue;
        }
        created = true;
        let mut pagopa = None;
        for i in institutions {
            let t = svc.tenant_for(&actor, i).await?;
            if t.name == PAGOPA {
                pagopa = Some(t.id);
            }
        }
        if env != Env::Collaudo {
            continue;
        }
        let pagopa = pagopa.ok_or_else(|| AppError::Invalid(format!("the demo Enti lack {PAGOPA}")))?;
        let es = svc
            .create_eservice(
                &actor,
                pagopa,
                SEND_UAT,
                "Piattaforma Notifiche Digitali (SEND) in ambiente di collaudo: invio e consultazione \
                 delle notifiche a valore legale.",
                Technology::Rest,
                EServiceMode::Deliver,
            )
            .await?;
        let d = svc
            .add_descriptor(
                &actor,
                es.id,
                DescriptorInput {
                    description: Some("Versione 1 di SEND - UAT".into()),
                    audience: vec![SEND_UAT_AUDIENCE.into()],
                    voucher_lifespan: 3600,
                    daily_calls_per_consumer: 1_000_000,
                    daily_calls_total: 100_000_000,
                    agreement_approval_policy: ApprovalPolicy::Automatic,
                    server_urls: vec!["https://api.uat.notifichedigitali.it/delivery".into()],
                    attributes: AttributeGroups::default(),
                },
            )
            .await?;
        svc.publish_descriptor(&actor, es.id, d).await?;
    }
    Ok(created)
}
