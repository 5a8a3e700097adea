//! The operator's way to bring an Ente in outside the demo world: SelfCare's
//! record, its onboarding on Interoperabilità (which brings Collaudo and
//! Attestazione), its Legale rappresentante as first Amministratore (in SelfCare
//! that role comes from the signed onboarding contract, which Varco does not
//! have), and the Interoperabilità tenant of each environment, created from the
//! onboarding as PDND does.
use anyhow::{bail, Context};
use uuid::Uuid;
use varco_domain::Env;
use varco_platform::{Caller, Platform};
use varco_selfcare::codice_fiscale::CodiceFiscale;
use varco_selfcare::email::Email;
use varco_selfcare::model::{Institution, InstitutionType, Origin, ProductId, User};
use varco_selfcare::service::SelfCare;

/// What the operator says about the Ente and its Legale rappresentante (also the
/// flags of `varco ente add`).
#[derive(Debug, Clone, clap::Args)]
pub struct NewEnte {
    /// e.g. "Comune di Test".
    #[arg(long)]
    pub name: String,
    /// The Ente's codice fiscale (11 digits).
    #[arg(long)]
    pub tax_code: String,
    /// Its IPA code.
    #[arg(long)]
    pub ipa_code: String,
    /// PA, GSP, SCP, PT, PSP or PRV.
    #[arg(long = "type", default_value = "PA")]
    pub kind: String,
    /// The Ente's PEC.
    #[arg(long)]
    pub pec: String,
    /// Codice fiscale of the Legale rappresentante (who logs in with SPID/CIE).
    #[arg(long)]
    pub manager_fiscal_code: String,
    #[arg(long)]
    pub manager_name: String,
    #[arg(long)]
    pub manager_family_name: String,
    /// Their e-mail at this Ente.
    #[arg(long)]
    pub manager_email: String,
}

struct Valid {
    institution: Institution,
    manager: User,
}

/// Every field checked before anything is written: a refused Ente leaves nothing.
fn validate(e: &NewEnte) -> anyhow::Result<Valid> {
    let name = e.name.trim();
    if name.is_empty() || name.len() > 200 {
        bail!("--name: the Ente's name is required (at most 200 characters)");
    }
    let tax_code = e.tax_code.trim();
    if tax_code.len() != 11 || !tax_code.bytes().all(|b| b.is_ascii_digit()) {
        bail!("--tax-code {tax_code:?}: an Ente's codice fiscale is 11 digits");
    }
    let ipa = e.ipa_code.trim();
    if ipa.is_empty() || ipa.len() > 64 || ipa.contains(char::is_whitespace) {
        bail!("--ipa-code {ipa:?}: the IPA code is required, without spaces");
    }
    let institution_type = match e.kind.trim().to_uppercase().as_str() {
        "PA" => InstitutionType::Pa,
        "GSP" => InstitutionType::Gsp,
        "SCP" => InstitutionType::Scp,
        "PT" => InstitutionType::Pt,
        "PSP" => InstitutionType::Psp,
        "PRV" => InstitutionType::Prv,
        other => bail!("--type {other:?}: one of PA, GSP, SCP, PT, PSP, PRV"),
    };
    let pec = Email::parse(&e.pec).map_err(|err| anyhow::anyhow!("--pec: {err}"))?;
    let cf =
        CodiceFiscale::parse(&e.manager_fiscal_code).map_err(|err| anyhow::anyhow!("--manager-fiscal-code: {err}"))?;
    cf.matches_name(e.manager_name.trim(), e.manager_family_name.trim())
        .map_err(|err| anyhow::anyhow!("--manager-name/--manager-family-name: {err}"))?;
    let email = Email::parse(&e.manager_email).map_err(|err| anyhow::anyhow!("--manager-email: {err}"))?;
    let institution = Institution {
        id: Uuid::new_v4(),
        name: name.into(),
        tax_code: tax_code.into(),
        origin: Origin::Ipa,
        origin_id: ipa.into(),
        institution_type,
        digital_address: pec.as_str().into(),
        onboardings: vec![],
    };
    let mut manager = User {
        id: Uuid::new_v4(),
        name: e.manager_name.trim().into(),
        family_name: e.manager_family_name.trim().into(),
        fiscal_code: cf,
        emails: Default::default(),
    };
    manager.emails.insert(institution.id, email);
    Ok(Valid { institution, manager })
}

/// Checks an Ente's fields as `onboard_ente` does first, without writing anything.
pub fn check(e: &NewEnte) -> anyhow::Result<()> {
    validate(e).map(|_| ())
}

/// Brings the Ente in; returns it as stored.
pub async fn onboard_ente(platform: &Platform, selfcare: &SelfCare, e: &NewEnte) -> anyhow::Result<Institution> {
    let v = validate(e)?;
    if selfcare.institutions().await?.iter().any(|i| i.tax_code == v.institution.tax_code) {
        bail!("an Ente with codice fiscale {} exists already", v.institution.tax_code);
    }
    selfcare.create_institution(&v.institution).await.context("cannot store the Ente")?;
    let institution = selfcare.onboard(v.institution.id, ProductId::Interop).await?;
    selfcare.seed_manager(institution.id, &v.manager).await?;
    for env in Env::ALL {
        platform.env(env).tenant_for(&Caller::Operator, &institution).await?;
    }
    Ok(institution)
}
