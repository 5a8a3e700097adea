//! "Admin API" of a client API Interoperabilità and "Aggiungi client" of a
//! finalità, in the back office of Collaudo as Maria Bianchi (Amministratore of
//! Comune di Prova). A client made on the pages with Maria as member: "Seleziona
//! admin" Maria, and its voucher carries role m2m-admin with her adminId;
//! "Rimuovi" (after a confirmation), and it is m2m again. On the finalità's
//! "Client associati", a client e-service not yet attached is offered, attached,
//! then listed.
use crate::common::{assertion_parts, decode_jwt, request_voucher, sign};
use reqwest::StatusCode;
use serde_json::Value;
use varco::testkit::{spawn_app, TestApp};
use varco_domain::{ClientId, ClientKind, Env, UserId};
use varco_platform::Caller;

const API_LIST: &str = "/interop/collaudo/gestione-client/api-interop";

use crate::bo_client::{maria_id, world};

async fn admin_of(app: &TestApp, id: ClientId) -> Option<UserId> {
    app.running.platform.env(Env::Collaudo).own_client(&Caller::Operator, id).await.unwrap().admin_id
}

/// The claims of the voucher the token endpoint gives the client.
async fn voucher_claims(app: &TestApp, id: ClientId, kid: &str, key: &varco_jose::RsaPrivateKey) -> Value {
    let (h, c) = assertion_parts(app, Env::Collaudo, kid, id, None);
    let r = request_voucher(app, Env::Collaudo, &sign(&h, &c, key)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.json()["access_token"].as_str().unwrap().to_string();
    decode_jwt(&token).1
}

varco::both_backends!(admin_api_selected_then_removed_changes_the_voucher_role, |backend| async move {
    let app = spawn_app(backend).await;
    let (b, csrf, _) = world(&app).await;

    // A client API Interoperabilità made on the pages, Maria a member.
    let form = b.get(&format!("{API_LIST}/crea")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let maria = maria_id(&form);
    let fields = [
        ("csrf", csrf.as_str()),
        ("nome", "Client gestionale"),
        ("descrizione", "Il gestionale del Comune"),
        ("membri", maria.as_str()),
    ];
    let done = b.post(&format!("{API_LIST}/crea"), &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let path = done.location.unwrap().split('?').next().unwrap().to_string();
    let id: ClientId = path.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(admin_of(&app, id).await, None);

    // A key, through the platform, and a voucher: m2m, no adminId.
    let key = varco_jose::RsaPrivateKey::generate_2048();
    let svc = app.running.platform.env(Env::Collaudo);
    let k =
        svc.add_client_key(&Caller::Operator, id, "Chiave del gestionale", &key.public_key().to_pem()).await.unwrap();
    let kid = k.kid.to_string();
    let claims = voucher_claims(&app, id, &kid, &key).await;
    assert_eq!(claims["role"], "m2m", "{claims}");
    assert!(claims.get("adminId").is_none(), "{claims}");

    // The tab "Admin API": no admin yet, Maria offered.
    let tab = b.get(&format!("{path}?tab=admin")).await;
    assert_eq!(tab.status, StatusCode::OK, "{}", tab.body);
    tab.assert_contains(">Admin API</a>");
    tab.assert_contains("Il client non ha un admin.");
    tab.assert_contains("Seleziona admin");
    tab.assert_contains(&format!("<option value=\"{maria}\">Maria Bianchi</option>"));
    // "Seleziona admin" Maria.
    let set = b.post(&format!("{path}/admin/seleziona"), &[("csrf", &csrf), ("admin", &maria)]).await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    let after = b.get(set.location.as_deref().unwrap()).await;
    after.assert_contains("Admin API impostato");
    after.assert_contains("Admin: Maria Bianchi");
    assert_eq!(admin_of(&app, id).await.map(|u| u.to_string()), Some(maria.clone()));
    let claims = voucher_claims(&app, id, &kid, &key).await;
    assert_eq!(claims["role"], "m2m-admin", "{claims}");
    assert_eq!(claims["adminId"], Value::String(maria.clone()), "{claims}");

    // Someone who is no member may not become the admin: nothing changes.
    let stranger = UserId::new().to_string();
    let refused = b.post(&format!("{path}/admin/seleziona"), &[("csrf", &csrf), ("admin", &stranger)]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert_eq!(admin_of(&app, id).await.map(|u| u.to_string()), Some(maria.clone()));

    // "Rimuovi": first a confirmation, nothing changed; then removed.
    let ask = b.post(&format!("{path}/admin/rimuovi"), &[("csrf", &csrf)]).await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
    ask.assert_contains("Vuoi rimuovere l&#39;admin dal client");
    assert!(admin_of(&app, id).await.is_some());
    let gone = b.post(&format!("{path}/admin/rimuovi"), &[("csrf", &csrf), ("conferma", "si")]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER, "{}", gone.body);
    b.get(gone.location.as_deref().unwrap()).await.assert_contains("Admin API rimosso");
    assert_eq!(admin_of(&app, id).await, None);
    let claims = voucher_claims(&app, id, &kid, &key).await;
    assert_eq!(claims["role"], "m2m", "{claims}");
    assert!(claims.get("adminId").is_none(), "{claims}");
});

varco::both_backends!(finalita_aggiungi_client_attaches_a_client_eservice, |backend| async move {
    let app = spawn_app(backend).await;
    let (b, csrf, purpose) = world(&app).await;
    let svc = app.running.platform.env(Env::Collaudo);
    let tenant = svc.tenant_by_name(&Caller::Operator, "Comune di Prova").await.unwrap();
    let c = svc
        .create_client(&Caller::Operator, tenant.id, ClientKind::Consumer, "Client anagrafe", None, vec![], None)
        .await
        .unwrap();
    let api = svc
        .create_client(&Caller::Operator, tenant.id, ClientKind::Api, "Client gestionale", None, vec![], None)
        .await
        .unwrap();
    let page = format!("/interop/collaudo/fruizione/finalita/{purpose}");

    let tab = b.get(&format!("{page}?tab=client")).await;
    assert_eq!(tab.status, StatusCode::OK, "{}", tab.body);
    tab.assert_contains("Aggiungi client");
    tab.assert_contains(&format!("<option value=\"{}\">Client anagrafe</option>", c.id));
    // A client API Interoperabilità is not for a finalità.
    assert!(!tab.body.contains(&format!("<option value=\"{}\"", api.id)), "{}", tab.body);

    let done = b.post(&format!("{page}/client/aggiungi"), &[("csrf", &csrf), ("client", &c.id.to_string())]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let after = b.get(done.location.as_deref().unwrap()).await;
    after.assert_contains("Client associato alla finalità.");
    after.assert_contains(&format!(
        "<th scope=\"row\">Client anagrafe</th><td>Client e-service</td><td class=\"varco-code\">{}</td>",
        c.id
    ));
    assert!(!after.body.contains(&format!("<option value=\"{}\"", c.id)), "still offered:\n{}", after.body);
    let attached = svc.own_client(&Caller::Operator, c.id).await.unwrap();
    assert_eq!(attached.purposes.iter().map(|p| p.to_string()).collect::<Vec<_>>(), vec![purpose]);
});
