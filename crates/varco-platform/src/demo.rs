//! The demo world created on first start: the Collaudo environment with PagoPA S.p.A.
//! publishing "SEND - UAT (Piattaforma Notifiche)" (automatic approval, nothing
//! asked) and "Notifiche di prova – approvazione manuale" (the producer approves
//! each request, low thresholds, a verified attribute the producer verifies), and
//! a few Enti as consumers. Produzione and Attestazione get the same Enti as
//! tenants, with their own ids.
use crate::{AppError, AppResult, Caller, Page, Platform, TenantFilter};
use varco_domain::eservice::DescriptorInput;
use varco_domain::*;
use varco_selfcare::model::Institution;

pub const PAGOPA: &str = "PagoPA S.p.A.";
pub const COMUNE_DI_PROVA: &str = "Comune di Prova";
pub const COMUNE_DI_ESEMPIO: &str = "Comune di Esempio";
pub const SEND_UAT: &str = "SEND - UAT (Piattaforma Notifiche)";
pub const SEND_UAT_AUDIENCE: &str = "https://api.uat.notifichedigitali.it";
/// The demo's e-service with manual approval, for the producer's pages.
pub const NOTIFICHE_PROVA: &str = "Notifiche di prova – approvazione manuale";
pub const NOTIFICHE_PROVA_AUDIENCE: &str = "https://api.notificheprova.example";
pub const NOTIFICHE_PROVA_SERVER: &str = "https://api.notificheprova.example/v1";
/// Its thresholds: daily calls per consumer and in all.
pub const NOTIFICHE_PROVA_PER_CONSUMER: u32 = 100;
pub const NOTIFICHE_PROVA_TOTAL: u32 = 1000;
/// The verified attribute it asks for (PagoPA S.p.A. verifies it).
pub const NOTIFICHE_PROVA_ATTRIBUTE: &str = "Ente abilitato alle notifiche di prova";

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
        publish(
            &svc,
            pagopa,
            SEND_UAT,
            "Piattaforma Notifiche Digitali (SEND) in ambiente di collaudo: invio e consultazione \
             delle notifiche a valore legale.",
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

        let verified = svc
            .create_attribute(
                &actor,
                AttributeKind::Verified,
                NOTIFICHE_PROVA_ATTRIBUTE,
                "L'ente è stato abilitato dall'erogatore a inviare notifiche di prova.",
                None,
                None,
            )
            .await?;
        publish(
            &svc,
            pagopa,
            NOTIFICHE_PROVA,
            "Invio di notifiche di prova, per enti abilitati dall'erogatore: ogni richiesta di fruizione \
             è approvata a mano.",
            DescriptorInput {
                description: Some("Versione 1 di Notifiche di prova".into()),
                audience: vec![NOTIFICHE_PROVA_AUDIENCE.into()],
                voucher_lifespan: 600,
                daily_calls_per_consumer: NOTIFICHE_PROVA_PER_CONSUMER,
                daily_calls_total: NOTIFICHE_PROVA_TOTAL,
                agreement_approval_policy: ApprovalPolicy::Manual,
                server_urls: vec![NOTIFICHE_PROVA_SERVER.into()],
                attributes: AttributeGroups { verified: vec![vec![verified.id]], ..AttributeGroups::default() },
            },
        )
        .await?;
    }
    Ok(created)
}

/// A demo e-service of `producer` with its first version, published: created in one
/// transaction, then published as any producer's.
async fn publish(
    svc: &crate::EnvService<'_>,
    producer: TenantId,
    name: &str,
    description: &str,
    first: DescriptorInput,
) -> AppResult<()> {
    let es = svc
        .create_eservice_with_version(
            &Caller::System,
            producer,
            name,
            description,
            Technology::Rest,
            EServiceMode::Deliver,
            first,
        )
        .await?;
    svc.publish_descriptor(&Caller::System, es.id, es.descriptors[0].id).await
}
