//! Login: the page, the demo identity provider, logout, and the one function
//! every identity provider ends in ([`start_session`]).
use super::{ScIdentity, ScUser};
use crate::pages::{render, see_other, with_cookies, Layout, PageError};
use crate::session::{self, SetCookie, LOGIN_CSRF_COOKIE, SELFCARE_COOKIE, SELFCARE_TTL};
use crate::PagesState;
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use varco_selfcare::codice_fiscale::CodiceFiscale;
use varco_selfcare::demo::{DemoPerson, PEOPLE};
use varco_selfcare::model::User;

#[derive(Template)]
#[template(path = "sc_login.html")]
struct LoginPage {
    layout: Layout,
    oidc: bool,
    demo_people: Vec<DemoPerson>,
    csrf: String,
}

/// "Come vuoi accedere?": SPID/CIE through the configured OpenID Connect
/// provider, and, outside production mode, the demo identity provider.
pub async fn page(State(state): State<PagesState>, headers: HeaderMap) -> Result<Response, PageError> {
    if session::load::<ScIdentity>(&state, &headers, "selfcare", SELFCARE_COOKIE).await?.is_some() {
        return Ok(see_other("/selfcare/"));
    }
    // Double-submit token for the demo form: there is no session to hold it yet,
    // and without it another site could log a visitor in as a demo person.
    let csrf = session::cookie(&headers, LOGIN_CSRF_COOKIE)
        .filter(|c| c.len() == 43)
        .map(str::to_string)
        .unwrap_or_else(session::random_token);
    let page = LoginPage {
        layout: Layout::selfcare("Accedi", !state.web.production),
        oidc: state.web.oidc.is_some(),
        demo_people: if state.web.production { vec![] } else { PEOPLE.to_vec() },
        csrf: csrf.clone(),
    };
    let cookie = SetCookie {
        name: LOGIN_CSRF_COOKIE.into(),
        value: csrf,
        path: "/selfcare/login".into(),
        max_age: Some(3600),
        secure: state.web.secure_cookies,
    };
    Ok(with_cookies(render(&page)?, &[cookie]))
}

#[derive(Deserialize)]
pub struct DemoLogin {
    fiscal_code: String,
    #[serde(default)]
    csrf: String,
}

/// The demo identity provider: only the demo people, never in production mode.
pub async fn demo(
    State(state): State<PagesState>,
    headers: HeaderMap,
    Form(form): Form<DemoLogin>,
) -> Result<Response, PageError> {
    if state.web.production {
        return Err(PageError::not_found("Il provider di identità dimostrativo"));
    }
    let expected = session::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if !session::same_secret(expected, &form.csrf) {
        return Err(PageError::csrf().back("/selfcare/login", "Torna all'accesso"));
    }
    let person = PEOPLE
        .iter()
        .find(|p| p.fiscal_code == form.fiscal_code)
        .ok_or_else(|| PageError::bad_request("Questa persona non è tra gli utenti dimostrativi."))?;
    let identity = LoginPerson {
        fiscal_code: person.fiscal_code.into(),
        name: person.name.into(),
        family_name: person.family_name.into(),
    };
    start_session(&state, identity, "demo", super::login_state::DEFAULT_BACK).await
}

/// What an identity provider tells us about the person.
#[derive(Debug, Clone)]
pub struct LoginPerson {
    pub fiscal_code: String,
    pub name: String,
    pub family_name: String,
}

/// Opens the SelfCare session of a person an identity provider vouched for,
/// and sends the browser to `back` (a SelfCare page; the choice of Ente by
/// default). A person SelfCare has never seen
/// is recorded (without roles): an Amministratore may give them roles later.
pub async fn start_session(
    state: &PagesState,
    person: LoginPerson,
    via: &str,
    back: &str,
) -> Result<Response, PageError> {
    // SPID gives the fiscal number as "TINIT-<codice fiscale>".
    let raw = person.fiscal_code.trim();
    let raw = raw.strip_prefix("TINIT-").unwrap_or(raw);
    let fiscal_code = CodiceFiscale::parse(raw).map_err(|e| {
        PageError::bad_request(format!("Il codice fiscale ricevuto dal provider di identità non è valido: {e}"))
            .back("/selfcare/login", "Torna all'accesso")
    })?;
    let user = match state.selfcare.user_by_fiscal_code(&fiscal_code).await? {
        Some(u) => u,
        None => {
            let new = User {
                id: uuid::Uuid::new_v4(),
                name: person.name.trim().into(),
                family_name: person.family_name.trim().into(),
                fiscal_code,
                emails: Default::default(),
            };
            state.selfcare.ensure_user(&new).await?
        }
    };
    let identity = ScIdentity {
        user_id: user.id,
        name: user.name.clone(),
        family_name: user.family_name.clone(),
        fiscal_code: user.fiscal_code.as_str().into(),
        via: via.into(),
    };
    let (cookie, _) = session::open(state, "selfcare", SELFCARE_COOKIE, "/selfcare", &identity, SELFCARE_TTL).await?;
    tracing::info!(user = %user.id, via, "SelfCare login");
    let done = SetCookie::removal(LOGIN_CSRF_COOKIE, "/selfcare/login", state.web.secure_cookies);
    let back = if super::login_state::is_selfcare_page(back) { back } else { super::login_state::DEFAULT_BACK };
    Ok(with_cookies(see_other(back), &[cookie, done]))
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(state): State<PagesState>,
    user: ScUser,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    user.0.check_csrf(&form.csrf)?;
    user.0.end(&state).await?;
    let gone = SetCookie::removal(SELFCARE_COOKIE, "/selfcare", state.web.secure_cookies);
    Ok(with_cookies(see_other("/selfcare/login"), &[gone]))
}
