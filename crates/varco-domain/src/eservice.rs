//! E-service and descriptor (version) lifecycle, producer side.
//!
//! Descriptor states: Draft -> Published; publishing version N retires the previous
//! current version (Deprecated when it still has agreements, Archived otherwise);
//! Published/Deprecated <-> Suspended; Deprecated (or an older Suspended) -> Archived
//! when its last agreement goes away.
use crate::error::DomainError;
use crate::ids::*;
use crate::model::*;

const ENTITY: &str = "versione dell'e-service";

/// What the producer fills in for a new version. Validated by [`add_descriptor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorInput {
    pub description: Option<String>,
    pub audience: Vec<String>,
    /// Seconds, 60..=86400.
    pub voucher_lifespan: u32,
    pub daily_calls_per_consumer: u32,
    pub daily_calls_total: u32,
    pub agreement_approval_policy: ApprovalPolicy,
    pub server_urls: Vec<String>,
    pub attributes: AttributeGroups,
}

/// Checks that a text field, trimmed, has between `min` and `max` characters
/// (inclusive, counted as characters and not bytes: accented letters are common).
/// Returns the trimmed text so that stray spaces are not stored.
pub(crate) fn text_field(field: &str, value: &str, min: usize, max: usize) -> Result<String, DomainError> {
    let v = value.trim();
    let n = v.chars().count();
    if n < min || n > max {
        return Err(DomainError::Invalid(format!(
            "Il campo «{field}» deve avere da {min} a {max} caratteri (ne ha {n})"
        )));
    }
    Ok(v.to_string())
}

pub fn new_eservice(
    producer_id: TenantId,
    name: String,
    description: String,
    technology: Technology,
    mode: EServiceMode,
    now: Timestamp,
) -> Result<EService, DomainError> {
    // Same bounds as PDND's catalog API (name 5..60, description 10..250).
    let name = text_field("nome", &name, 5, 60)?;
    let description = text_field("descrizione", &description, 10, 250)?;
    Ok(EService {
        id: EServiceId::new(),
        producer_id,
        name,
        description,
        technology,
        mode,
        descriptors: Vec::new(),
        created_at: now,
    })
}

fn validate_descriptor_input(input: &DescriptorInput) -> Result<(), DomainError> {
    if !(60..=86400).contains(&input.voucher_lifespan) {
        return Err(DomainError::Invalid(format!(
            "La durata del voucher deve essere tra 60 e 86400 secondi (indicati {})",
            input.voucher_lifespan
        )));
    }
    if input.audience.is_empty() || input.audience.iter().any(|a| a.trim().is_empty()) {
        return Err(DomainError::Invalid("Indicare almeno un'audience, nessuna vuota".to_string()));
    }
    if input.audience.len() > MAX_AUDIENCES {
        return Err(DomainError::Invalid(format!("Al massimo {MAX_AUDIENCES} audience per versione")));
    }
    for a in &input.audience {
        check_audience(a.trim())?;
    }
    if input.server_urls.len() > MAX_SERVER_URLS || input.server_urls.iter().any(|u| u.chars().count() > 2048) {
        return Err(DomainError::Invalid(format!(
            "Al massimo {MAX_SERVER_URLS} indirizzi del server, di al massimo 2048 caratteri"
        )));
    }
    if input.daily_calls_per_consumer < 1 {
        return Err(DomainError::Invalid("Le chiamate giornaliere per fruitore devono essere almeno 1".to_string()));
    }
    if input.daily_calls_per_consumer > input.daily_calls_total {
        return Err(DomainError::Invalid(
            "Le chiamate giornaliere per fruitore non possono superare quelle totali".to_string(),
        ));
    }
    if let Some(d) = &input.description {
        if d.chars().count() > 250 {
            return Err(DomainError::Invalid(
                "La descrizione della versione può avere al massimo 250 caratteri".to_string(),
            ));
        }
    }
    // A group is satisfied by holding ANY of its attributes, so an empty group could
    // never be satisfied and would make the e-service impossible to subscribe.
    let g = &input.attributes;
    if g.certified.iter().chain(&g.declared).chain(&g.verified).any(|grp| grp.is_empty()) {
        return Err(DomainError::Invalid("Un gruppo di attributi non può essere vuoto".to_string()));
    }
    if [&g.certified, &g.declared, &g.verified].iter().any(|groups| groups.len() > MAX_ATTRIBUTE_GROUPS)
        || g.certified.iter().chain(&g.declared).chain(&g.verified).any(|grp| grp.len() > MAX_GROUP_ATTRIBUTES)
    {
        return Err(DomainError::Invalid(format!(
            "Al massimo {MAX_ATTRIBUTE_GROUPS} gruppi di attributi per tipo, di al massimo {MAX_GROUP_ATTRIBUTES} attributi"
        )));
    }
    Ok(())
}

/// An audience as compared for ownership: without scheme, trailing slash or case,
/// so that `https://api.example.it/` and `api.example.it` are one audience.
pub fn audience_key(a: &str) -> String {
    let a = a.trim().to_lowercase();
    let a = a.strip_prefix("https://").or_else(|| a.strip_prefix("http://")).unwrap_or(&a);
    a.trim_end_matches('/').to_string()
}

/// The audiences an e-service holds: those of its live versions (published,
/// deprecated or suspended). An audience is claimed when a version using it is
/// first published, and released when every version using it is archived.
pub fn held_audiences(es: &EService) -> impl Iterator<Item = &str> {
    es.descriptors
        .iter()
        .filter(|d| {
            matches!(d.state, DescriptorState::Published | DescriptorState::Deprecated | DescriptorState::Suspended)
        })
        .flat_map(|d| d.audience.iter().map(String::as_str))
}

/// Whether version `d` of `es` may be published with its audiences: none may be
/// one of the platform's own (`reserved`: client assertions, API, back office of
/// every environment), nor held by another producer's e-service among `all`.
pub fn check_audiences_free(
    es: &EService,
    d: DescriptorId,
    all: &[EService],
    reserved: &[String],
) -> Result<(), DomainError> {
    let desc = find(es, d)?;
    for a in &desc.audience {
        check_audience(a)?;
        let key = audience_key(a);
        let shown = a.chars().take(80).collect::<String>();
        if reserved.iter().any(|r| audience_key(r) == key) {
            return Err(DomainError::Invalid(format!(
                "L'audience «{shown}» è della piattaforma (client assertion, API o back office): un e-service non può usarla"
            )));
        }
        let taken = all
            .iter()
            .filter(|other| other.producer_id != es.producer_id)
            .any(|other| held_audiences(other).any(|h| audience_key(h) == key));
        if taken {
            return Err(DomainError::Invalid(format!(
                "L'audience «{shown}» è già usata da un e-service di un altro erogatore: sceglierne un'altra"
            )));
        }
    }
    Ok(())
}

/// Bounds of a version (with the store's cap on a whole document, `MAX_DOC_BYTES`).
pub const MAX_AUDIENCES: usize = 1;
pub const MAX_SERVER_URLS: usize = 10;
pub const MAX_ATTRIBUTE_GROUPS: usize = 20;
pub const MAX_GROUP_ATTRIBUTES: usize = 50;

/// An audience is one value of the voucher's `aud`: Varco joins several with a
/// comma, so a comma (or any space) inside one would let it pass for two.
pub fn check_audience(a: &str) -> Result<(), DomainError> {
    if a.is_empty() || a.chars().count() > 250 {
        return Err(DomainError::Invalid("L'audience deve avere da 1 a 250 caratteri".to_string()));
    }
    if a.chars().any(|c| c == ',' || c.is_whitespace() || c.is_control()) {
        return Err(DomainError::Invalid(format!(
            "L'audience «{}» non può contenere virgole o spazi",
            a.chars().take(80).collect::<String>()
        )));
    }
    Ok(())
}

/// Adds a new Draft version. Only one Draft at a time, as in PDND: the draft is "the
/// next version" and its number must not be taken twice.
pub fn add_descriptor(es: &mut EService, input: DescriptorInput, now: Timestamp) -> Result<DescriptorId, DomainError> {
    validate_descriptor_input(&input)?;
    if es.descriptors.iter().any(|d| d.state == DescriptorState::Draft) {
        return Err(DomainError::Conflict("Esiste già una versione in bozza di questo e-service".to_string()));
    }
    let version = es.descriptors.iter().map(|d| d.version).max().unwrap_or(0) + 1;
    let id = DescriptorId::new();
    es.descriptors.push(Descriptor {
        id,
        version,
        state: DescriptorState::Draft,
        description: input.description.map(|d| d.trim().to_string()).filter(|d| !d.is_empty()),
        audience: input.audience.iter().map(|a| a.trim().to_string()).collect(),
        voucher_lifespan: input.voucher_lifespan,
        daily_calls_per_consumer: input.daily_calls_per_consumer,
        daily_calls_total: input.daily_calls_total,
        agreement_approval_policy: input.agreement_approval_policy,
        server_urls: input.server_urls,
        attributes: input.attributes,
        interface: None,
        created_at: now,
        published_at: None,
        suspended_at: None,
        deprecated_at: None,
        archived_at: None,
    });
    Ok(id)
}

/// Saves the draft version of the back office's steps: the one Draft, created or
/// changed. Unlike [`add_descriptor`] (the API's, which takes a whole version at
/// once) a draft may still lack its audience: the steps ask for it last, and
/// [`publish_descriptor`] refuses a version without one. Everything given is checked
/// as for any version. The interface file stays.
pub fn save_draft_descriptor(
    es: &mut EService,
    input: DescriptorInput,
    now: Timestamp,
) -> Result<DescriptorId, DomainError> {
    let audience_later = input.audience.is_empty();
    let mut checked = input.clone();
    if audience_later {
        // Checked with a stand-in that passes, so that everything else is checked.
        checked.audience = vec!["audience.da.indicare".into()];
    }
    validate_descriptor_input(&checked)?;
    match es.descriptors.iter_mut().find(|d| d.state == DescriptorState::Draft) {
        Some(d) => {
            d.description = input.description.map(|x| x.trim().to_string()).filter(|x| !x.is_empty());
            d.audience = input.audience.iter().map(|a| a.trim().to_string()).collect();
            d.voucher_lifespan = input.voucher_lifespan;
            d.daily_calls_per_consumer = input.daily_calls_per_consumer;
            d.daily_calls_total = input.daily_calls_total;
            d.agreement_approval_policy = input.agreement_approval_policy;
            d.server_urls = input.server_urls;
            d.attributes = input.attributes;
            Ok(d.id)
        }
        None => {
            let id = add_descriptor(es, checked, now)?;
            let d = find_mut(es, id)?;
            d.audience = input.audience.iter().map(|a| a.trim().to_string()).collect();
            Ok(id)
        }
    }
}

/// The draft version's interface file (only a draft's: a published version is
/// what its consumers agreed to).
pub fn set_draft_interface(es: &mut EService, id: DescriptorId, meta: InterfaceMeta) -> Result<(), DomainError> {
    let d = find_mut(es, id)?;
    if d.state != DescriptorState::Draft {
        return Err(DomainError::invalid_state(ENTITY, d.state, "Caricare l'interfaccia di"));
    }
    d.interface = Some(meta);
    Ok(())
}

fn find_mut(es: &mut EService, id: DescriptorId) -> Result<&mut Descriptor, DomainError> {
    es.descriptors.iter_mut().find(|d| d.id == id).ok_or_else(|| DomainError::NotFound(format!("Descrittore {id}")))
}

fn find(es: &EService, id: DescriptorId) -> Result<&Descriptor, DomainError> {
    es.descriptor(id).ok_or_else(|| DomainError::NotFound(format!("Descrittore {id}")))
}

/// True if a version newer than `version` is "live" (Published, Deprecated or
/// Suspended). Suspended counts: a suspended newer version is still the newer one,
/// and ignoring it would let two versions end up Published after unsuspensions.
fn has_newer_live(es: &EService, version: u32) -> bool {
    es.descriptors.iter().any(|d| {
        d.version > version
            && matches!(d.state, DescriptorState::Published | DescriptorState::Deprecated | DescriptorState::Suspended)
    })
}

/// Publishes the Draft `id`. The previous current version (the Published one, or the
/// newest live version if it is Suspended) is retired: Archived if it has no
/// agreements (nobody can use it any more), otherwise Deprecated, except that a
/// Suspended one stays Suspended: publishing must not silently lift a suspension the
/// producer chose; unsuspending it later makes it Deprecated since a newer one exists.
pub fn publish_descriptor(
    es: &mut EService,
    id: DescriptorId,
    has_agreements: &dyn Fn(DescriptorId) -> bool,
    now: Timestamp,
) -> Result<(), DomainError> {
    let d = find(es, id)?;
    if d.state != DescriptorState::Draft {
        return Err(DomainError::invalid_state(ENTITY, d.state, "Pubblicare"));
    }
    if d.audience.is_empty() {
        return Err(DomainError::Invalid("Indicare l'audience della versione prima di pubblicarla".to_string()));
    }
    // The current version is the newest live one. Only it can be Published or a
    // suspended ex-Published; older live versions are already Deprecated (or
    // Suspended-while-Deprecated) and keep their state.
    let previous = es
        .descriptors
        .iter()
        .filter(|d| {
            matches!(d.state, DescriptorState::Published | DescriptorState::Deprecated | DescriptorState::Suspended)
        })
        .max_by_key(|d| d.version)
        .filter(|d| d.state != DescriptorState::Deprecated)
        .map(|d| d.id);
    // Any other Published one would break the "one Published" invariant; retire it too.
    let mut to_retire: Vec<DescriptorId> =
        es.descriptors.iter().filter(|d| d.state == DescriptorState::Published).map(|d| d.id).collect();
    if let Some(p) = previous {
        if !to_retire.contains(&p) {
            to_retire.push(p);
        }
    }
    for pid in to_retire {
        let used = has_agreements(pid);
        let p = find_mut(es, pid)?;
        match (p.state, used) {
            (_, false) => {
                p.state = DescriptorState::Archived;
                p.archived_at = Some(now);
            }
            (DescriptorState::Published, true) => {
                p.state = DescriptorState::Deprecated;
                p.deprecated_at = Some(now);
            }
            // Suspended with agreements: stays Suspended (see above).
            _ => {}
        }
    }
    let d = find_mut(es, id)?;
    d.state = DescriptorState::Published;
    d.published_at = Some(now);
    Ok(())
}

pub fn suspend_descriptor(es: &mut EService, id: DescriptorId, now: Timestamp) -> Result<(), DomainError> {
    let d = find_mut(es, id)?;
    if !matches!(d.state, DescriptorState::Published | DescriptorState::Deprecated) {
        return Err(DomainError::invalid_state(ENTITY, d.state, "Sospendere"));
    }
    d.state = DescriptorState::Suspended;
    d.suspended_at = Some(now);
    Ok(())
}

/// Suspended -> Published if it is still the newest live version, else Deprecated.
/// Returns the new state.
pub fn unsuspend_descriptor(
    es: &mut EService,
    id: DescriptorId,
    now: Timestamp,
) -> Result<DescriptorState, DomainError> {
    let d = find(es, id)?;
    if d.state != DescriptorState::Suspended {
        return Err(DomainError::invalid_state(ENTITY, d.state, "Riattivare"));
    }
    let newer = has_newer_live(es, d.version);
    let d = find_mut(es, id)?;
    d.suspended_at = None;
    if newer {
        d.state = DescriptorState::Deprecated;
        if d.deprecated_at.is_none() {
            d.deprecated_at = Some(now);
        }
    } else {
        d.state = DescriptorState::Published;
    }
    Ok(d.state)
}

/// Called when the last agreement on the version is archived. Only a version that is
/// no longer the current one may go: Deprecated, or Suspended with a newer live one.
pub fn archive_descriptor(es: &mut EService, id: DescriptorId, now: Timestamp) -> Result<(), DomainError> {
    let d = find(es, id)?;
    let allowed = match d.state {
        DescriptorState::Deprecated => true,
        DescriptorState::Suspended => has_newer_live(es, d.version),
        _ => false,
    };
    if !allowed {
        return Err(DomainError::invalid_state(ENTITY, d.state, "Archiviare"));
    }
    let d = find_mut(es, id)?;
    d.state = DescriptorState::Archived;
    d.archived_at = Some(now);
    Ok(())
}

pub fn delete_draft_descriptor(es: &mut EService, id: DescriptorId) -> Result<(), DomainError> {
    let d = find(es, id)?;
    if d.state != DescriptorState::Draft {
        return Err(DomainError::invalid_state(ENTITY, d.state, "Eliminare"));
    }
    es.descriptors.retain(|d| d.id != id);
    Ok(())
}
