//! "Simula l'ottenimento del voucher": a stepper driven by the query string only
//! (it works without JavaScript and changes nothing). 0 "Selezione parametri"
//! (voucher type, client, finalità, key, and what of them blocks a voucher),
//! 1 "Genera client assertion" (the literal header and claims, a `varco
//! assertion build` command and a PyJWT snippet), 2 "Ottieni token di accesso"
//! (the token request), 3 "Accesso ai dati" (the call with the voucher). Only the
//! clients of the person's Ente that they may see are offered.
use super::super::frame::{Bo, Nav};
use crate::pages::{render, Layout, PageError};
use crate::PagesState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use varco_domain::*;
use varco_platform::{AppError, ClientFilter, ClientView, Page};

pub const PATH: &str = "/interop/{env}/tool-sviluppo/simulatore";

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Deserialize, Default)]
pub struct SimQuery {
    #[serde(default)]
    tipo: String,
    #[serde(default)]
    client: String,
    #[serde(default)]
    finalita: String,
    #[serde(default)]
    chiave: String,
    #[serde(default)]
    passo: String,
}

/// An option of a select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// A component that stops the voucher (suspended, inactive, missing), with a link.
struct Blocker {
    text: String,
    href: String,
    link: String,
}

/// A value of the assertion, shown in a `<code id=…>` with its "Copia" button.
struct Field {
    id: &'static str,
    label: &'static str,
    value: String,
}

/// An id shown at step 0.
struct Fact {
    id: &'static str,
    label: &'static str,
    value: String,
}

struct StepLink {
    number: u8,
    label: &'static str,
    href: String,
    current: bool,
}

/// What the steps 1 to 3 show, once everything is chosen.
struct Ready {
    header: Vec<Field>,
    payload: Vec<Field>,
    cli: String,
    python: String,
    token_url: String,
    body: Vec<(String, String)>,
    token_curl: String,
    dpop_python: Option<String>,
    debug_href: String,
    data_url: String,
    data_curl: String,
    ath_note: bool,
}

#[derive(Template)]
#[template(path = "bo_tool_simulatore.html")]
struct SimPage {
    layout: Layout,
    back: String,
    action: String,
    step: u8,
    steps: Vec<StepLink>,
    dpop: bool,
    clients: Vec<Choice>,
    client_href: Option<String>,
    is_consumer: bool,
    purposes: Vec<Choice>,
    keys: Vec<Choice>,
    no_purposes: bool,
    no_keys: bool,
    facts: Vec<Fact>,
    blockers: Vec<Blocker>,
    ready: Option<Ready>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

fn pick<'a, T>(items: &'a [T], wanted: &str, id: impl Fn(&T) -> String) -> Option<&'a T> {
    items.iter().find(|i| id(i) == wanted).or_else(|| items.first())
}

fn choices<T>(items: &[T], chosen: Option<&T>, id: impl Fn(&T) -> String, label: impl Fn(&T) -> String) -> Vec<Choice> {
    let chosen = chosen.map(&id);
    items.iter().map(|i| Choice { value: id(i), label: label(i), selected: Some(id(i)) == chosen }).collect()
}

/// A query string of the stepper.
fn href(base: &str, tipo: &str, client: &str, finalita: &str, chiave: &str, passo: u8) -> String {
    let q: Vec<(&str, String)> = vec![
        ("tipo", tipo.to_string()),
        ("client", client.to_string()),
        ("finalita", finalita.to_string()),
        ("chiave", chiave.to_string()),
        ("passo", passo.to_string()),
    ];
    let q: Vec<String> =
        q.into_iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", urlencoding(&v))).collect();
    format!("{base}?{}", q.join("&"))
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// "Simula l'ottenimento del voucher".
pub async fn simulatore(
    State(state): State<PagesState>,
    Path(env): Path<String>,
    headers: HeaderMap,
    Query(q): Query<SimQuery>,
) -> Result<Response, PageError> {
    let bo = Bo::enter(&state, &headers, &env).await?;
    let svc = state.platform.env(bo.env);
    let config = state.platform.config(bo.env).clone();
    let dpop = q.tipo == "dpop";
    let tipo = if dpop { "dpop" } else { "bearer" };
    let base = bo.path("tool-sviluppo/simulatore");

    let f = ClientFilter { consumer: Some(bo.tenant), name: None };
    let mine: Vec<Client> = match svc.clients(&bo.caller, &f, Page::ALL).await {
        Ok(all) => all
            .items
            .into_iter()
            .filter_map(|v| match v {
                ClientView::Full(c) => Some(c),
                ClientView::Partial { .. } => None,
            })
            .collect(),
        Err(AppError::Forbidden(_)) => vec![],
        Err(e) => return Err(bo.err(&state, e)),
    };
    let client = pick(&mine, q.client.trim(), |c| c.id.to_string());
    let clients = choices(
        &mine,
        client,
        |c| c.id.to_string(),
        |c| {
            let kind = match c.kind {
                ClientKind::Consumer => "client e-service",
                ClientKind::Api => "client API Interoperabilità",
            };
            format!("{} ({kind})", c.name)
        },
    );

    let mut facts = vec![];
    let mut blockers = vec![];
    let mut purposes = vec![];
    let mut keys = vec![];
    let (mut no_purposes, mut no_keys) = (false, false);
    let mut purpose_id: Option<String> = None;
    let mut key_kid: Option<String> = None;
    let mut server_url: Option<String> = None;
    let is_consumer = client.is_some_and(|c| c.kind == ClientKind::Consumer);
    let client_href = client.map(|c| {
        let slug = if c.kind == ClientKind::Consumer { "api-e-service" } else { "api-interop" };
        bo.path(&format!("gestione-client/{slug}/{}", c.id))
    });

    if let Some(c) = client {
        if is_consumer {
            let ps = svc.client_purposes(&bo.caller, c.id).await.map_err(|e| bo.err(&state, e))?;
            let p = pick(&ps, q.finalita.trim(), |p| p.id.to_string());
            purposes = choices(&ps, p, |p| p.id.to_string(), |p| p.title.clone());
            no_purposes = ps.is_empty();
            if let Some(p) = p {
                purpose_id = Some(p.id.to_string());
                let purpose_href = bo.path(&format!("fruizione/finalita/{}", p.id));
                let es = svc.eservice(&bo.caller, p.eservice_id).await.ok();
                let es_name = es.as_ref().map_or(p.eservice_id.to_string(), |e| e.name.clone());
                facts.push(Fact { id: "sim-eservice-id", label: "eserviceId", value: p.eservice_id.to_string() });
                match svc.purpose_agreement(&bo.caller, p.id).await {
                    Ok(a) => {
                        facts.push(Fact {
                            id: "sim-descriptor-id",
                            label: "descriptorId",
                            value: a.descriptor_id.to_string(),
                        });
                        facts.push(Fact { id: "sim-agreement-id", label: "agreementId", value: a.id.to_string() });
                        let agreement_href = bo.path(&format!("fruizione/richieste/{}", a.id));
                        if a.state != AgreementState::Active {
                            blockers.push(Blocker {
                                text: format!("La richiesta di fruizione dell'e-service {es_name} è sospesa."),
                                href: agreement_href,
                                link: "Vai alla richiesta di fruizione".into(),
                            });
                        }
                        let d = es.as_ref().and_then(|e| e.descriptors.iter().find(|d| d.id == a.descriptor_id));
                        if let Some(d) = d {
                            server_url = d.server_urls.first().cloned();
                            if !d.state.is_active() {
                                let state_label = match d.state {
                                    DescriptorState::Suspended => "è sospesa",
                                    DescriptorState::Archived => "è archiviata",
                                    _ => "non è attiva",
                                };
                                blockers.push(Blocker {
                                    text: format!("La versione {} dell'e-service {es_name} {state_label}.", d.version),
                                    href: bo.path(&format!("catalogo-e-service/{}/{}", p.eservice_id, d.id)),
                                    link: "Vai all'e-service".into(),
                                });
                            }
                        }
                    }
                    Err(AppError::NotFound(_)) => blockers.push(Blocker {
                        text: format!("Non c'è una richiesta di fruizione attiva per l'e-service {es_name}."),
                        href: bo.path("fruizione/richieste"),
                        link: "Vai alle richieste di fruizione".into(),
                    }),
                    Err(e) => return Err(bo.err(&state, e)),
                }
                facts.push(Fact { id: "sim-purpose-id", label: "purposeId", value: p.id.to_string() });
                let v = p.current_version().map(|v| v.state);
                if v != Some(PurposeVersionState::Active) || p.suspended_by_consumer || p.suspended_by_producer {
                    let what = if v == Some(PurposeVersionState::Suspended)
                        || p.suspended_by_consumer
                        || p.suspended_by_producer
                    {
                        "è sospesa"
                    } else {
                        "non ha una versione attiva"
                    };
                    blockers.push(Blocker {
                        text: format!("La finalità {} {what}.", p.title),
                        href: purpose_href,
                        link: "Vai alla finalità".into(),
                    });
                }
            }
        }
        let k = pick(&c.keys, q.chiave.trim(), |k| k.kid.to_string());
        keys = choices(&c.keys, k, |k| k.kid.to_string(), |k| k.name.clone());
        no_keys = c.keys.is_empty();
        key_kid = k.map(|k| k.kid.to_string());
        facts.push(Fact { id: "sim-client-id", label: "clientId", value: c.id.to_string() });
        facts.push(Fact { id: "sim-consumer-id", label: "consumerId", value: c.consumer_id.to_string() });
    }

    let client_id = client.map(|c| c.id.to_string()).unwrap_or_default();
    let pid = purpose_id.clone().unwrap_or_default();
    let kid_q = key_kid.clone().unwrap_or_default();
    let complete = client.is_some() && key_kid.is_some() && (!is_consumer || purpose_id.is_some());
    let step = if complete { q.passo.trim().parse::<u8>().unwrap_or(0).min(3) } else { 0 };
    let link = |n: u8| href(&base, tipo, &client_id, &pid, &kid_q, n);

    let ready = match (client, key_kid.as_deref()) {
        (Some(c), Some(kid)) if complete => {
            let aud = config.client_assertion_audience.clone();
            let cid = c.id.to_string();
            let header = vec![
                Field { id: "sim-kid", label: "KID", value: kid.to_string() },
                Field { id: "sim-alg", label: "ALG", value: "RS256".into() },
                Field { id: "sim-typ", label: "TYP", value: "JWT".into() },
            ];
            let mut payload = vec![
                Field { id: "sim-iss", label: "ISS", value: cid.clone() },
                Field { id: "sim-sub", label: "SUB", value: cid.clone() },
                Field { id: "sim-aud", label: "AUD", value: aud.clone() },
            ];
            if let Some(p) = &purpose_id {
                payload.push(Field { id: "sim-purpose", label: "PurposeId", value: p.clone() });
            }
            let purpose_flag = purpose_id.as_ref().map(|p| format!(" \\\n  --purpose-id {p}")).unwrap_or_default();
            let cli = format!(
                "varco assertion build --env {} \\\n  --key percorso/della/chiave.priv \\\n  --kid {kid} \\\n  --client-id {cid} \\\n  --audience {aud}{purpose_flag} \\\n  --lifetime 600",
                bo.env.slug()
            );
            let purpose_line =
                purpose_id.as_ref().map(|p| format!("    \"purposeId\": \"{p}\",\n")).unwrap_or_default();
            let python = format!(
                "import time, uuid\nimport jwt  # PyJWT: pip install \"pyjwt[crypto]\"\n\nwith open(\"percorso/della/chiave.priv\", \"rb\") as f:\n    private_key = f.read()\n\nissued_at = int(time.time())\nclaims = {{\n    \"iss\": \"{cid}\",\n    \"sub\": \"{cid}\",\n    \"aud\": \"{aud}\",\n{purpose_line}    \"jti\": str(uuid.uuid4()),\n    \"iat\": issued_at,\n    \"exp\": issued_at + 600,\n}}\nclient_assertion = jwt.encode(\n    claims, private_key, algorithm=\"RS256\", headers={{\"kid\": \"{kid}\", \"typ\": \"JWT\"}}\n)\nprint(client_assertion)"
            );
            let token_url = config.token_url.clone();
            let body = vec![
                ("client_id".to_string(), cid.clone()),
                ("client_assertion".to_string(), "<la client assertion del passo 1>".to_string()),
                ("client_assertion_type".to_string(), ASSERTION_TYPE.to_string()),
                ("grant_type".to_string(), "client_credentials".to_string()),
            ];
            let dpop_header = if dpop { "  -H 'DPoP: <DPOP_PROOF>' \\\n" } else { "" };
            let token_curl = format!(
                "curl -X POST '{token_url}' \\\n  -H 'Content-Type: application/x-www-form-urlencoded' \\\n{dpop_header}  --data-urlencode 'client_id={cid}' \\\n  --data-urlencode 'client_assertion=<CLIENT_ASSERTION>' \\\n  --data-urlencode 'client_assertion_type={ASSERTION_TYPE}' \\\n  --data-urlencode 'grant_type=client_credentials'"
            );
            let dpop_python = dpop.then(|| {
                format!(
                    "import time, uuid\nimport jwt  # PyJWT: pip install \"pyjwt[crypto]\"\nfrom cryptography.hazmat.primitives.asymmetric import rsa\n\n# Una coppia di chiavi per il DPoP (non quella del client)\ndpop_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)\ndpop_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(dpop_key.public_key(), as_dict=True)\n\nproof = jwt.encode(\n    {{\"htm\": \"POST\", \"htu\": \"{token_url}\", \"jti\": str(uuid.uuid4()), \"iat\": int(time.time())}},\n    dpop_key,\n    algorithm=\"RS256\",\n    headers={{\"typ\": \"dpop+jwt\", \"jwk\": dpop_jwk}},\n)\nprint(proof)"
                )
            });
            let data_url = if is_consumer {
                server_url.clone().unwrap_or_else(|| "<URL dell'e-service>".to_string())
            } else if dpop {
                config.api_v3_url.clone()
            } else {
                config.api_v2_url.clone()
            };
            let data_curl = if dpop {
                format!(
                    "curl '{data_url}' \\\n  -H 'Authorization: DPoP <VOUCHER>' \\\n  -H 'DPoP: <DPOP_PROOF con ath>'"
                )
            } else {
                format!("curl '{data_url}' \\\n  -H 'Authorization: Bearer <VOUCHER>'")
            };
            Some(Ready {
                header,
                payload,
                cli,
                python,
                token_url,
                body,
                token_curl,
                dpop_python,
                debug_href: bo.path("tool-sviluppo/debug-voucher"),
                data_url,
                data_curl,
                ath_note: dpop,
            })
        }
        _ => None,
    };

    const LABELS: [&str; 4] =
        ["Selezione parametri", "Genera client assertion", "Ottieni token di accesso", "Accesso ai dati"];
    let steps = (0..4u8)
        .map(|n| StepLink { number: n, label: LABELS[n as usize], href: link(n), current: n == step })
        .collect();
    render(&SimPage {
        layout: bo.layout(&state, "Simula l'ottenimento del voucher", Nav::Tool),
        back: bo.path("tool-sviluppo"),
        action: base.clone(),
        prev_href: (step > 0).then(|| link(step - 1)),
        next_href: (complete && step < 3).then(|| link(step + 1)),
        step,
        steps,
        dpop,
        clients,
        client_href,
        is_consumer,
        purposes,
        keys,
        no_purposes,
        no_keys,
        facts,
        blockers,
        ready,
    })
}
