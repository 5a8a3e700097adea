//! A browser-like HTTP client for page tests: a cookie jar, no automatic
//! redirects (each hop is asserted), and the helpers to log in as a demo person.
use reqwest::redirect::Policy;
use reqwest::StatusCode;

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    /// The value of the first hidden field `name` in the page.
    pub fn field(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&needle)? + needle.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_string())
    }

    pub fn csrf(&self) -> String {
        self.field("csrf").unwrap_or_else(|| panic!("no csrf field in page:\n{}", self.body))
    }

    #[track_caller]
    pub fn assert_contains(&self, text: &str) {
        assert!(self.body.contains(text), "expected {text:?} in page (status {}):\n{}", self.status, self.body);
    }
}

pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
}

impl Browser {
    pub fn new(base: &str) -> Browser {
        let http = reqwest::Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
        Browser { base: base.trim_end_matches('/').to_string(), http }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    async fn page(resp: reqwest::Response) -> Page {
        let status = resp.status();
        let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        let set_cookies =
            resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        let body = resp.text().await.unwrap();
        Page { status, location, set_cookies, body }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::page(self.http.post(self.url(path)).form(form).send().await.unwrap()).await
    }

    /// Logs in through the demo identity provider as the person with `fiscal_code`.
    pub async fn demo_login(&self, fiscal_code: &str) {
        self.demo_login_cookies(fiscal_code).await;
    }

    /// As [`Browser::demo_login`], returning the cookies the login set.
    pub async fn demo_login_cookies(&self, fiscal_code: &str) -> Vec<String> {
        let login = self.get("/selfcare/login").await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        let done = self.post("/selfcare/login/demo", &[("csrf", &login.csrf()), ("fiscal_code", fiscal_code)]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location.as_deref(), Some("/selfcare/"));
        done.set_cookies
    }

    /// GET `path` from a browser of its own holding only the cookie `name` as it
    /// was in `set_cookies` (a copy kept by someone, whatever this browser's jar
    /// did with it since).
    pub async fn get_with_copied_cookie(&self, path: &str, set_cookies: &[String], name: &str) -> Page {
        let pair = set_cookies
            .iter()
            .filter_map(|c| c.split(';').next())
            .find(|kv| kv.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no cookie {name} in {set_cookies:?}"))
            .to_string();
        let bare = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        Self::page(bare.get(self.url(path)).header("cookie", pair).send().await.unwrap()).await
    }

    /// The id of the Ente named `name` on the "Seleziona il tuo ente" page.
    pub async fn institution_id(&self, name: &str) -> String {
        let page = self.get("/selfcare/enti").await;
        let marker = format!("aria-label=\"Accedi a {name}\"");
        let at = page.body.find(&marker).unwrap_or_else(|| panic!("{name} not listed:\n{}", page.body));
        let before = &page.body[..at];
        let start = before.rfind("/selfcare/enti/").unwrap() + "/selfcare/enti/".len();
        before[start..start + 36].to_string()
    }
}

impl Browser {
    /// GET an Interoperabilità card (`/selfcare/enti/{id}/interoperabilita`, maybe
    /// with `?ambiente=`) and, when SelfCare answers with the form that posts itself
    /// (one environment, or the one asked for), press its "Continua" as a browser
    /// without JavaScript does. Returns the hand-over to the back office, or
    /// whatever else SelfCare answered (the choice of environment, a refusal).
    pub async fn interop_card(&self, path: &str) -> Page {
        let page = self.get(path).await;
        let self_posting = page.status == StatusCode::OK && page.body.contains("data-autosubmit");
        let Some(env) = page.field("ambiente").filter(|_| self_posting) else { return page };
        let action = path.split('?').next().unwrap();
        self.post(action, &[("csrf", &page.csrf()), ("ambiente", &env)]).await
    }

    /// From SelfCare into the back office of `env` for the Ente `institution`, as a
    /// person does: the Interoperabilità card, the environment when asked, the
    /// hand-over. Returns the back office's answer (a 303 to its home).
    pub async fn enter_backoffice(&self, institution: &str, env: &str) -> Page {
        let id = self.institution_id(institution).await;
        let card_path = format!("/selfcare/enti/{id}/interoperabilita");
        let mut card = self.interop_card(&card_path).await;
        if card.body.contains("In quale ambiente vuoi entrare?") {
            card = self.post(&card_path, &[("csrf", &card.csrf()), ("ambiente", env)]).await;
        }
        let token = card.field("token").unwrap_or_else(|| panic!("no hand-over to {env}:\n{}", card.body));
        let binding = card.field("handoff").unwrap_or_default();
        let landed =
            self.post(&format!("/interop/{env}/selfcare/login"), &[("token", &token), ("handoff", &binding)]).await;
        assert_eq!(landed.status, StatusCode::SEE_OTHER, "{}", landed.body);
        assert_eq!(landed.location.as_deref(), Some(format!("/interop/{env}/").as_str()));
        landed
    }
}

/// Maria Bianchi (Amministratore of Comune di Prova) gives the technician Mario Rossi
/// `roles` on "Interoperabilità Collaudo" with SelfCare's "Aggiungi utente"; returns
/// the Ente's SelfCare id.
pub async fn give_technician(app: &varco::testkit::TestApp, roles: &[&str]) -> uuid::Uuid {
    use varco_selfcare::demo::ADMIN_COMUNE;
    give_technician_at(app, ADMIN_COMUNE.fiscal_code, "Comune di Prova", roles).await
}

/// As [`give_technician`], for the Ente `institution` by its manager (e.g. Laura
/// Bianchi for "PagoPA S.p.A.").
pub async fn give_technician_at(
    app: &varco::testkit::TestApp,
    manager: &str,
    institution: &str,
    roles: &[&str],
) -> uuid::Uuid {
    use varco_selfcare::codice_fiscale::CodiceFiscale;
    use varco_selfcare::demo::TECHNICIAN;
    let sc = varco_selfcare::service::SelfCare::new(app.running.store.clone());
    let by = sc.user_by_fiscal_code(&CodiceFiscale::parse(manager).unwrap()).await.unwrap().unwrap();
    let ente = sc.institutions().await.unwrap().into_iter().find(|i| i.name == institution).unwrap();
    let form = varco_selfcare::rules::NewUserForm {
        nome: "Mario".into(),
        cognome: "Rossi".into(),
        codice_fiscale: TECHNICIAN.fiscal_code.into(),
        email: "mario.rossi@partner.example".into(),
        conferma_email: "mario.rossi@partner.example".into(),
        product: "prod-interop-coll".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    };
    sc.add_user(by.id, ente.id, form).await.expect("the manager adds the role");
    ente.id
}
