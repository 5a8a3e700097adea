//! What every page of a back office shares: the person in front of it ([`Bo`]),
//! checked against SelfCare at each request; the caller they are for the platform,
//! so that the services, not the pages, decide what they may see and do; the frame
//! with the environment's name and the sidebar of what their role may open; the
//! notice after an action; the confirmation of an irreversible one.
use super::{cookie_name, cookie_path, current, BoIdentity};
use crate::pages::{render, Layout, PageError};
use crate::session::{self, SetCookie};
use crate::PagesState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{post, MethodRouter};
use axum::Form;
use serde::de::DeserializeOwned;
use std::future::Future;
use varco_domain::{Env, TenantId, UserId};
use varco_platform::{Caller, ProductRoles};
use varco_selfcare::model::ProductRole;

/// The signed-in person of a back-office request.
pub struct Bo {
    pub env: Env,
    pub who: BoIdentity,
    pub tenant: TenantId,
    pub user: UserId,
    /// Their roles on this environment's product, as SelfCare has them now.
    pub roles: ProductRoles,
    pub caller: Caller,
    pub csrf: String,
    session: session::Session<BoIdentity>,
}

/// Where a page sits in the sidebar (the entry shown as current).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    Catalogo,
    Richieste,
    Finalita,
    ClientEService,
    ClientApi,
    /// Erogazione > I miei e-service.
    EServices,
    /// Erogazione > Richieste ricevute.
    RichiesteRicevute,
    /// Erogazione > Finalità ricevute.
    FinalitaRicevute,
    /// Il mio ente > Anagrafica e attributi.
    Ente,
    Tool,
}

impl Bo {
    /// The person of this request in the back office of `env` (the path segment).
    /// Without a live session: to the login. The session also ends when the
    /// SelfCare session it came from has ended (logout), and takes SelfCare's
    /// current roles: a role suspended, removed or changed there counts at once.
    pub async fn enter(state: &PagesState, headers: &HeaderMap, env: &str) -> Result<Bo, PageError> {
        let env = varco_http::parse_env(env).map_err(|_| PageError::not_found("L'ambiente"))?;
        let Some(s) = current(state, headers, env).await? else {
            // A session of another environment's back office opens nothing here:
            // said as such, not as a missing login (its cookie never comes here by
            // itself, its path is that environment's).
            for other in Env::ALL.into_iter().filter(|e| *e != env) {
                if current(state, headers, other).await?.is_some() {
                    return Err(PageError::forbidden(format!(
                        "La sessione aperta è per l'ambiente {}: per {} entra dall'Area Riservata scegliendo quell'ambiente.",
                        other.label(),
                        env.label()
                    ))
                    .back("/selfcare/", "Torna all'Area Riservata"));
                }
            }
            return Err(PageError::login(env));
        };
        if let Some(sc) = &s.data.selfcare_session {
            if !session::alive(state, sc, "selfcare").await? {
                s.end(state).await?;
                return Err(PageError::login(env).gone(env, state));
            }
        }
        let roles = current_roles(state, env, &s.data).await?;
        if roles.is_empty() {
            s.end(state).await?;
            return Err(PageError::login(env).gone(env, state));
        }
        let tenant: TenantId = s.data.tenant_id.parse().map_err(PageError::internal)?;
        let user: UserId = s.data.user_id.parse().map_err(PageError::internal)?;
        let roles = ProductRoles::from_names(roles.iter().map(String::as_str));
        let mut who = s.data.clone();
        who.roles = role_names(roles);
        Ok(Bo {
            env,
            caller: Caller::Person { env, tenant, user, roles },
            who,
            tenant,
            user,
            roles,
            csrf: s.csrf.clone(),
            session: s,
        })
    }

    /// The person of a form's POST: signed in, the form's token theirs, and a role
    /// that may make this kind of change, checked in that order before anything of
    /// the form is looked at.
    pub async fn act(
        state: &PagesState,
        headers: &HeaderMap,
        env: &str,
        csrf: &str,
        change: varco_platform::Change,
    ) -> Result<Bo, PageError> {
        let bo = Bo::enter(state, headers, env).await?;
        bo.check_csrf(csrf)?;
        bo.require(state, change)?;
        Ok(bo)
    }

    /// Every form posts the session's token.
    pub fn check_csrf(&self, given: &str) -> Result<(), PageError> {
        self.session.check_csrf(given).map_err(|e| e.framed(self))
    }

    /// A person whose role may not make this kind of change is refused before
    /// anything of the form is looked at (the services refuse it too).
    pub fn require(&self, state: &PagesState, change: varco_platform::Change) -> Result<(), PageError> {
        self.caller.require(change).map_err(|e| self.err(state, e))
    }

    /// `/interop/{env}/` followed by `rest` (PDND's path).
    pub fn path(&self, rest: &str) -> String {
        format!("/interop/{}/{}", self.env.slug(), rest.trim_start_matches('/'))
    }

    /// The frame of a page: the environment in the brand, the person, the sidebar.
    pub fn layout(&self, state: &PagesState, title: &str, at: Nav) -> Layout {
        let mut l = super::layout(self.env, title, state);
        l.user = Some(format!("{} {}", self.who.name, self.who.family_name));
        l.csrf = self.csrf.clone();
        l.sidebar = sidebar(self, at);
        l.env_label = Some(self.env.label().into());
        l
    }

    /// Whether the sidebar (and the server) lets this person open the Fruizione pages.
    pub fn sees_fruizione(&self) -> bool {
        self.caller.sees_fruizione()
    }

    /// Error pages keep the person's frame.
    pub fn err(&self, state: &PagesState, e: impl Into<PageError>) -> PageError {
        let e: PageError = e.into();
        let layout = self.layout(state, e.title, Nav::Home);
        e.with_layout(layout)
    }
}

/// The person's roles on `env`'s product now, from SelfCare (none if the Ente
/// left the product, or every role is suspended or deleted).
async fn current_roles(state: &PagesState, env: Env, who: &BoIdentity) -> Result<Vec<String>, PageError> {
    let (Ok(user), Ok(institution)) = (who.user_id.parse::<uuid::Uuid>(), who.selfcare_id.parse::<uuid::Uuid>()) else {
        return Ok(vec![]);
    };
    match state.selfcare.membership(user, institution).await {
        Ok((inst, roles)) => Ok(varco_selfcare::identity_token::active_roles(&inst, &roles, env)
            .into_iter()
            .map(|r| r.role)
            .filter(|r| r.parse::<ProductRole>().is_ok())
            .collect()),
        Err(varco_selfcare::service::ServiceError::NotFound(_)) => Ok(vec![]),
        Err(e) => Err(e.into()),
    }
}

fn role_names(r: ProductRoles) -> Vec<String> {
    [(r.admin, "admin"), (r.api, "api"), (r.security, "security")]
        .into_iter()
        .filter(|(has, _)| *has)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// One entry of the sidebar.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// A group of the sidebar ("Fruizione"), or a lone entry when `title` is empty.
#[derive(Debug, Clone)]
pub struct NavGroup {
    pub title: &'static str,
    pub items: Vec<NavItem>,
}

/// PDND's sidebar, without what the person's role may not open.
fn sidebar(bo: &Bo, at: Nav) -> Vec<NavGroup> {
    let item = |label, rest: &str, nav| NavItem { label, href: bo.path(rest), current: at == nav };
    let mut groups =
        vec![NavGroup { title: "", items: vec![item("Catalogo e-service", "catalogo-e-service", Nav::Catalogo)] }];
    if bo.sees_fruizione() {
        groups.push(NavGroup {
            title: "Fruizione",
            items: vec![
                item("Richieste inoltrate", "fruizione/richieste", Nav::Richieste),
                item("Finalità inoltrate", "fruizione/finalita", Nav::Finalita),
            ],
        });
    }
    // Every role sees its e-services (an Operatore di sicurezza only reads them);
    // what others asked of them only Amministratore and Operatore API.
    let mut erogazione = vec![item("I miei e-service", "erogazione/e-service", Nav::EServices)];
    if bo.caller.sees_ricevute() {
        erogazione.push(item("Richieste ricevute", "erogazione/richieste", Nav::RichiesteRicevute));
        erogazione.push(item("Finalità ricevute", "erogazione/finalita", Nav::FinalitaRicevute));
    }
    groups.push(NavGroup { title: "Erogazione", items: erogazione });
    // PDND: an Operatore API does not see the clients.
    if bo.caller.client_scope() != varco_platform::ClientScope::Nothing {
        groups.push(NavGroup {
            title: "Gestione dei client",
            items: vec![
                item("API e-service", "gestione-client/api-e-service", Nav::ClientEService),
                item("API Interoperabilità", "gestione-client/api-interop", Nav::ClientApi),
            ],
        });
    }
    groups.push(NavGroup {
        title: "Il mio ente",
        items: vec![item("Anagrafica e attributi", "il-mio-ente/anagrafica", Nav::Ente)],
    });
    groups.push(NavGroup { title: "", items: vec![item("Tool per lo sviluppo", "tool-sviluppo", Nav::Tool)] });
    groups
}

/// The text of a notice named in the query (`?esito=code`) after an action, from
/// the page's own table: only fixed texts, never what the URL says.
pub fn notice(esito: Option<&str>, table: &[(&str, &'static str)]) -> Option<&'static str> {
    let code = esito?;
    table.iter().find(|(c, _)| *c == code).map(|(_, t)| *t)
}

/// The POST route of one of a page's actions. A page's actions share one handler,
/// told which action it serves (`what`), so that the session's token, the role and
/// the redirect with the notice are checked and made in one place per page.
pub(crate) fn action_route<P, F, A, H, Fut>(handler: H, what: A) -> MethodRouter<PagesState>
where
    P: DeserializeOwned + Send + 'static,
    F: DeserializeOwned + Send + 'static,
    A: Copy + Send + Sync + 'static,
    H: Fn(State<PagesState>, Path<P>, HeaderMap, Form<F>, A) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, PageError>> + Send + 'static,
{
    post(move |s: State<PagesState>, p: Path<P>, h: HeaderMap, f: Form<F>| handler(s, p, h, f, what))
}

#[derive(Template)]
#[template(path = "bo_confirm.html")]
struct ConfirmPage<'a> {
    layout: Layout,
    heading: &'a str,
    message: &'a str,
    action: &'a str,
    confirm_label: &'a str,
    back: &'a str,
    /// Fields to post again with the confirmation (name, value).
    fields: &'a [(&'a str, &'a str)],
}

/// Asks before an irreversible action: the same form is posted again with
/// `conferma=si`, or the person goes back.
#[allow(clippy::too_many_arguments)]
pub fn confirm(
    bo: &Bo,
    state: &PagesState,
    at: Nav,
    heading: &str,
    message: &str,
    action: &str,
    confirm_label: &str,
    back: &str,
    fields: &[(&str, &str)],
) -> Result<Response, PageError> {
    render(&ConfirmPage {
        layout: bo.layout(state, heading, at),
        heading,
        message,
        action,
        confirm_label,
        back,
        fields,
    })
}

impl PageError {
    /// No session: to the login page of SelfCare.
    pub fn login(_env: Env) -> PageError {
        PageError::redirect("/selfcare/login")
    }

    /// With the session ended, its cookie goes too.
    fn gone(mut self, env: Env, state: &PagesState) -> PageError {
        self.cookies.push(SetCookie::removal(&cookie_name(env), &cookie_path(env), state.web.secure_cookies));
        self
    }

    fn framed(self, bo: &Bo) -> PageError {
        let title = self.title;
        let mut l = Layout { title: title.into(), ..Layout::default() };
        l.user = Some(format!("{} {}", bo.who.name, bo.who.family_name));
        l.csrf = bo.csrf.clone();
        l.brand = format!("Interoperabilità {}", bo.env.label());
        l.brand_href = cookie_path(bo.env);
        l.logout_action = format!("/interop/{}/logout", bo.env.slug());
        self.with_layout(l)
    }
}
