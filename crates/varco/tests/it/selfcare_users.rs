//! SelfCare's "Utenti" pages over HTTP, against a real Varco with the demo world:
//! the list and its filters, "Aggiungi un nuovo utente" with each refusal shown
//! next to its field, the user's page with Sospendi / Riabilita / Rimuovi, and who
//! may do what (operators, CSRF, no session). What the pages say is checked
//! against what the service stored and the mails it queued.
use crate::common;

use reqwest::StatusCode;
use uuid::Uuid;
use varco::both_backends;
use varco::testkit::{spawn_app, TestApp};
use varco_selfcare::codice_fiscale::CodiceFiscale;
use varco_selfcare::email::Email;
use varco_selfcare::model::{Institution, InstitutionType, Origin, PartyRole, ProductId, RoleStatus, User};
use varco_selfcare::rules::FORBIDDEN_MESSAGE;
use varco_selfcare::service::{
    OutboxMail, RoleRecord, SelfCare, DELETED_SUBJECT, NEW_ROLE_SUBJECT, REACTIVATED_SUBJECT, SUSPENDED_SUBJECT,
};

const MARIA: &str = "BNCMRA85M41F205D";
const MARIO: &str = "RSSMRA80A01H501U";
const LAURA: &str = "BNCLRA99T71L219W";
/// Not a demo person: nobody with this code exists until the form creates him.
const GIUSEPPE: &str = "VRDGPP13R10B157Q";
const MARIO_EMAIL: &str = "mario.rossi@comune.prova.example";

// ------------------------------------------------------------------ a browser

/// What came back: status, `Location`, body.
struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Page {
    #[track_caller]
    fn assert_status(&self, status: StatusCode) {
        assert_eq!(self.status, status, "body:\n{}", self.body);
    }

    #[track_caller]
    fn assert_contains(&self, text: &str) {
        assert!(
            unescape(&self.body).contains(text),
            "expected {text:?} in page (status {}):\n{}",
            self.status,
            self.body
        );
    }

    #[track_caller]
    fn assert_lacks(&self, text: &str) {
        assert!(!unescape(&self.body).contains(text), "did not expect {text:?} in page:\n{}", self.body);
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let needle = "name=\"csrf\" value=\"";
        let start = self.body.find(needle).unwrap_or_else(|| panic!("no csrf field in:\n{}", self.body)) + needle.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_string()
    }

    /// The text of the error shown under field `field`, if any.
    fn field_error(&self, field: &str) -> Option<String> {
        let needle = format!("<div class=\"field-error\" id=\"{field}-error\">");
        let start = self.body.find(&needle)? + needle.len();
        let end = self.body[start..].find("</div>")? + start;
        Some(unescape(self.body[start..end].trim()))
    }

    /// How many field errors the page shows.
    fn field_errors(&self) -> usize {
        self.body.matches("class=\"field-error\"").count()
    }

    /// The opening tag of the element with `id`.
    fn tag_with_id(&self, id: &str) -> String {
        let needle = format!("id=\"{id}\"");
        let at = self.body.find(&needle).unwrap_or_else(|| panic!("no element with id {id}:\n{}", self.body));
        let start = self.body[..at].rfind('<').unwrap();
        let end = self.body[at..].find('>').unwrap() + at;
        self.body[start..=end].to_string()
    }

    /// The `action` of every form whose action ends with `suffix`.
    fn actions_ending(&self, suffix: &str) -> Vec<String> {
        self.body
            .match_indices("action=\"")
            .map(|(i, m)| {
                let start = i + m.len();
                self.body[start..start + self.body[start..].find('"').unwrap()].to_string()
            })
            .filter(|a| a.ends_with(suffix))
            .collect()
    }

    /// The rows of the table with `data-testid`, as the text of their cells.
    fn table_rows(&self, testid: &str) -> Vec<Vec<String>> {
        let needle = format!("data-testid=\"{testid}\"");
        let Some(at) = self.body.find(&needle) else { return vec![] };
        let table = &self.body[at..at + self.body[at..].find("</table>").unwrap()];
        let tbody = &table[table.find("<tbody>").unwrap()..];
        tbody
            .split("<tr>")
            .skip(1)
            .map(|row| {
                let row = &row[..row.find("</tr>").unwrap()];
                split_cells(row)
            })
            .collect()
    }
}

/// The text of each `<td>`/`<th>` of a row, tags removed, spaces collapsed.
fn split_cells(row: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut rest = row;
    while let Some(open) = [rest.find("<td"), rest.find("<th")].into_iter().flatten().min() {
        let content = open + rest[open..].find('>').unwrap() + 1;
        let close = content + rest[content..].find("</t").unwrap();
        cells.push(text_of(&rest[content..close]));
        rest = &rest[close + 4..];
    }
    cells
}

fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn unescape(s: &str) -> String {
    s.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The shared page client (`common::web`: a cookie jar, no automatic redirects),
/// answering with this file's richer `Page`.
struct Browser(common::web::Browser);

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser(common::web::Browser::new(&app.running.base_url))
    }

    fn page(p: common::web::Page) -> Page {
        Page { status: p.status, location: p.location, body: p.body }
    }

    async fn get(&mut self, path: &str) -> Page {
        Self::page(self.0.get(path).await)
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::page(self.0.post(path, form).await)
    }

    /// Logs in through the demo identity provider.
    async fn login(app: &TestApp, fiscal_code: &str) -> Browser {
        let mut b = Browser::new(app);
        let page = b.get("/selfcare/login").await;
        page.assert_status(StatusCode::OK);
        let done = b.0.post("/selfcare/login/demo", &[("csrf", &page.csrf()), ("fiscal_code", fiscal_code)]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "body:\n{}", done.body);
        assert_eq!(done.location.as_deref(), Some("/selfcare/"));
        assert!(
            done.set_cookies.iter().any(|c| c.starts_with("varco_sc=")),
            "no session cookie after login: {:?}",
            done.set_cookies
        );
        b
    }

    /// The CSRF token of the session, as the pages carry it.
    async fn csrf(&mut self) -> String {
        let page = self.get("/selfcare/enti").await;
        page.assert_status(StatusCode::OK);
        page.csrf()
    }
}

// ------------------------------------------------------------------ the world

struct World {
    app: TestApp,
    sc: SelfCare,
    comune: Institution,
}

impl World {
    async fn start(backend: varco::testkit::Backend) -> World {
        let app = spawn_app(backend).await;
        let sc = SelfCare::new(app.running.store.clone());
        let comune = sc.institutions().await.unwrap().into_iter().find(|i| i.name == "Comune di Prova").unwrap();
        World { app, sc, comune }
    }

    fn users(&self) -> String {
        format!("/selfcare/enti/{}/utenti", self.comune.id)
    }

    fn new_form(&self) -> String {
        format!("{}/nuovo", self.users())
    }

    async fn user_id(&self, fiscal_code: &str) -> Option<Uuid> {
        self.sc.user_by_fiscal_code(&CodiceFiscale::parse(fiscal_code).unwrap()).await.unwrap().map(|u| u.id)
    }

    async fn roles(&self, fiscal_code: &str) -> Vec<RoleRecord> {
        match self.user_id(fiscal_code).await {
            Some(id) => self.sc.roles_of(id, self.comune.id).await.unwrap(),
            None => vec![],
        }
    }

    async fn outbox(&self) -> Vec<OutboxMail> {
        self.sc.outbox().await.unwrap()
    }

    /// Everything a refused request must leave alone: every member with their
    /// roles, every person known, every queued mail.
    async fn snapshot(&self) -> (Vec<(User, Vec<RoleRecord>)>, Vec<Option<Uuid>>, Vec<OutboxMail>) {
        let mut people = Vec::new();
        for cf in [MARIA, MARIO, LAURA, GIUSEPPE] {
            people.push(self.user_id(cf).await);
        }
        (self.sc.members(self.comune.id).await.unwrap(), people, self.outbox().await)
    }
}

/// The "Aggiungi utente" form, filled for Mario Rossi as Amministratore on Collaudo.
fn mario_form(csrf: &str) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_string()),
        ("nome", "Mario".into()),
        ("cognome", "Rossi".into()),
        ("codice_fiscale", MARIO.into()),
        ("email", MARIO_EMAIL.into()),
        ("conferma_email", MARIO_EMAIL.into()),
        ("prodotto", "prod-interop-coll".into()),
        ("ruolo", "admin".into()),
    ]
}

/// `form` with every `field` replaced by `value` (or removed, with `None`).
fn with(form: &[(&'static str, String)], field: &'static str, value: Option<&str>) -> Vec<(&'static str, String)> {
    let mut out: Vec<_> = form.iter().filter(|(k, _)| *k != field).cloned().collect();
    if let Some(v) = value {
        out.push((field, v.to_string()));
    }
    out
}

fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Maria adds Mario with `roles` on `product`; returns the user's page path.
async fn add_mario(w: &World, maria: &mut Browser, product: &str, roles: &[&str]) -> String {
    let csrf = maria.csrf().await;
    let mut form = with(&mario_form(&csrf), "ruolo", None);
    form = with(&form, "prodotto", Some(product));
    for r in roles {
        form.push(("ruolo", r.to_string()));
    }
    let done = maria.post(&w.new_form(), &pairs(&form)).await;
    done.assert_status(StatusCode::SEE_OTHER);
    let location = done.location.unwrap();
    let path = location.strip_suffix("?creato=1").unwrap_or_else(|| panic!("unexpected redirect {location}"));
    path.to_string()
}

// ------------------------------------------------------------------ tests

both_backends!(admin_adds_a_user_who_then_appears_in_the_list, |backend| async move {
    let w = World::start(backend).await;
    let mut maria = Browser::login(&w.app, MARIA).await;

    // The form: every field, the products of the Ente, the roles, the button.
    let form = maria.get(&w.new_form()).await;
    form.assert_status(StatusCode::OK);
    for text in [
        "Aggiungi un nuovo utente",
        "Nome",
        "Cognome",
        "Codice Fiscale",
        "Email istituzionale",
        "Conferma email",
        "Prodotto",
        "Ruolo",
        "Interoperabilità Collaudo",
        "Interoperabilità Attestazione",
        "Amministratore",
        "Operatore API",
        "Operatore di sicurezza",
        ">Crea Utente</button>",
    ] {
        form.assert_contains(text);
    }
    assert!(form.body.contains("<option value=\"prod-interop\">Interoperabilità</option>"), "{}", form.body);
    let outbox_before = w.outbox().await.len();
    assert!(w.roles(MARIO).await.is_empty(), "Mario starts with no roles");

    let csrf = form.csrf();
    let done = maria.post(&w.new_form(), &pairs(&mario_form(&csrf))).await;
    done.assert_status(StatusCode::SEE_OTHER);
    let mario_id = w.user_id(MARIO).await.unwrap();
    let detail = format!("{}/{mario_id}", w.users());
    assert_eq!(done.location.as_deref(), Some(format!("{detail}?creato=1").as_str()));

    // Stored: one admin role on Collaudo, and one mail to his address.
    let roles = w.roles(MARIO).await;
    assert_eq!(roles.len(), 1);
    assert_eq!((roles[0].role.product, roles[0].role.status), (ProductId::InteropColl, RoleStatus::Active));
    let outbox = w.outbox().await;
    assert_eq!(outbox.len(), outbox_before + 1);
    let mail = outbox.last().unwrap();
    assert_eq!((mail.to.as_str(), mail.subject.as_str()), (MARIO_EMAIL, NEW_ROLE_SUBJECT));
    assert!(mail.body.contains("Amministratore") && mail.body.contains("Interoperabilità Collaudo"), "{}", mail.body);

    // His page, with the success message.
    let page = maria.get(&format!("{detail}?creato=1")).await;
    page.assert_status(StatusCode::OK);
    page.assert_contains(&format!("Utente aggiunto: gli abbiamo inviato un'email a {MARIO_EMAIL}"));
    page.assert_contains("Mario Rossi");
    page.assert_contains(MARIO);
    page.assert_contains(MARIO_EMAIL);
    let rows = page.table_rows("ruoli-utente");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][..3], ["Interoperabilità Collaudo", "Amministratore", "Attivo"], "{rows:?}");
    // Without the parameter, no message.
    maria.get(&detail).await.assert_lacks("Utente aggiunto");

    // The list: everyone, then filtered.
    let list = maria.get(&w.users()).await;
    list.assert_status(StatusCode::OK);
    list.assert_contains("Aggiungi utente");
    list.assert_contains(&format!("href=\"{}/nuovo\"", w.users()));
    let names = |p: &Page| -> Vec<String> {
        p.table_rows("tabella-utenti").iter().filter(|r| r.len() == 5).map(|r| r[0].clone()).collect()
    };
    assert_eq!(names(&list), [format!("Maria Bianchi {MARIA}"), format!("Mario Rossi {MARIO}")]);
    let rows = list.table_rows("tabella-utenti");
    // Maria: three products, one row each; Mario: one.
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(
        rows[3],
        [
            format!("Mario Rossi {MARIO}"),
            MARIO_EMAIL.to_string(),
            "Interoperabilità Collaudo".into(),
            "Amministratore".into(),
            "Attivo".into()
        ]
    );

    let filtered = maria.get(&format!("{}?prodotto=prod-interop-coll&ruolo=admin", w.users())).await;
    filtered.assert_status(StatusCode::OK);
    assert_eq!(names(&filtered), [format!("Maria Bianchi {MARIA}"), format!("Mario Rossi {MARIO}")]);
    assert_eq!(filtered.table_rows("tabella-utenti").len(), 2);
    assert!(filtered.body.contains("<option value=\"prod-interop-coll\" selected>"), "the filter is kept");
    assert!(filtered.body.contains("<option value=\"admin\" selected>"), "the filter is kept");

    let api = maria.get(&format!("{}?prodotto=prod-interop-coll&ruolo=api", w.users())).await;
    api.assert_status(StatusCode::OK);
    assert!(names(&api).is_empty());
    api.assert_lacks("Mario Rossi");
    api.assert_contains("Nessun utente corrisponde ai filtri scelti.");

    let prod = maria.get(&format!("{}?prodotto=prod-interop", w.users())).await;
    assert_eq!(names(&prod), [format!("Maria Bianchi {MARIA}")]);
    // "Tutti" is the empty value.
    assert_eq!(names(&maria.get(&format!("{}?prodotto=&ruolo=", w.users())).await).len(), 2);

    // Unknown filter values are refused with a message, not ignored.
    let bad = maria.get(&format!("{}?prodotto=prod-pn", w.users())).await;
    bad.assert_status(StatusCode::BAD_REQUEST);
    bad.assert_contains("Il filtro «Prodotto» non ha un valore valido: «prod-pn».");
    let bad = maria.get(&format!("{}?ruolo=root", w.users())).await;
    bad.assert_status(StatusCode::BAD_REQUEST);
    bad.assert_contains("Il filtro «Ruolo» non ha un valore valido: «root».");

    // Someone who is not a member of this Ente has no page here; nor does a wrong id.
    let laura = w.user_id(LAURA).await.unwrap();
    maria.get(&format!("{}/{laura}", w.users())).await.assert_status(StatusCode::NOT_FOUND);
    maria.get(&format!("{}/non-un-id", w.users())).await.assert_status(StatusCode::NOT_FOUND);
    maria.get(&format!("/selfcare/enti/{}/utenti", Uuid::new_v4())).await.assert_status(StatusCode::NOT_FOUND);
    // Maria has no role at PagoPA: its users do not exist for her.
    let pagopa = w.sc.institutions().await.unwrap().into_iter().find(|i| i.name == "PagoPA S.p.A.").unwrap();
    maria.get(&format!("/selfcare/enti/{}/utenti", pagopa.id)).await.assert_status(StatusCode::NOT_FOUND);

    // A person SelfCare has never seen is created by the form, with both operator roles.
    let csrf = maria.csrf().await;
    let giuseppe = [
        ("csrf", csrf.as_str()),
        ("nome", "Giuseppe"),
        ("cognome", "Verdi"),
        ("codice_fiscale", "vrdgpp13r10b157q"),
        ("email", "g.verdi@comune.prova.example"),
        ("conferma_email", "g.verdi@comune.prova.example"),
        ("prodotto", "prod-interop-atst"),
        ("ruolo", "api"),
        ("ruolo", "security"),
    ];
    let done = maria.post(&w.new_form(), &giuseppe).await;
    done.assert_status(StatusCode::SEE_OTHER);
    let id = w.user_id(GIUSEPPE).await.expect("Giuseppe Verdi created");
    assert_eq!(done.location.unwrap(), format!("{}/{id}?creato=1", w.users()));
    let page = maria.get(&format!("{}/{id}", w.users())).await;
    let rows = page.table_rows("ruoli-utente");
    let rows: Vec<_> = rows.iter().map(|r| r[..3].join(" | ")).collect();
    assert_eq!(
        rows,
        [
            "Interoperabilità Attestazione | Operatore API | Attivo",
            "Interoperabilità Attestazione | Operatore di sicurezza | Attivo"
        ]
    );
    let sec = maria.get(&format!("{}?ruolo=security", w.users())).await;
    assert_eq!(names(&sec), [format!("Giuseppe Verdi {GIUSEPPE}")]);
});

both_backends!(each_refusal_is_shown_next_to_its_field_and_stores_nothing, |backend| async move {
    let w = World::start(backend).await;
    let mut maria = Browser::login(&w.app, MARIA).await;
    let csrf = maria.csrf().await;
    let ok = mario_form(&csrf);
    let giuseppe: Vec<(&'static str, String)> = with(
        &with(&with(&with(&ok, "nome", Some("Giuseppe")), "cognome", Some("Verdi")), "codice_fiscale", Some(GIUSEPPE)),
        "email",
        Some("g.verdi@comune.prova.example"),
    );

    struct Case {
        name: &'static str,
        form: Vec<(&'static str, String)>,
        field: &'static str,
        message: &'static str,
    }
    let cases = vec![
        Case {
            name: "check character",
            form: with(&ok, "codice_fiscale", Some("RSSMRA80A01H501X")),
            field: "codice_fiscale",
            message: "Carattere di controllo del codice fiscale errato (atteso «U», trovato «X»)",
        },
        Case {
            name: "name not matching the code",
            form: with(&ok, "nome", Some("Luca")),
            field: "nome",
            message: "Il nome non corrisponde al codice fiscale (attesi «LCU», trovati «MRA»)",
        },
        Case {
            name: "surname not matching the code",
            form: with(&ok, "cognome", Some("Bianchi")),
            field: "cognome",
            message: "Il cognome non corrisponde al codice fiscale (attesi «BNC», trovati «RSS»)",
        },
        Case {
            name: "confirmation differs (new person)",
            form: with(&giuseppe, "conferma_email", Some("g.verde@comune.prova.example")),
            field: "conferma_email",
            message: "Gli indirizzi email non coincidono",
        },
        Case { name: "missing name", form: with(&ok, "nome", None), field: "nome", message: "Il nome è obbligatorio" },
        Case {
            name: "missing code",
            form: with(&ok, "codice_fiscale", Some("  ")),
            field: "codice_fiscale",
            message: "Il codice fiscale è obbligatorio",
        },
        Case {
            name: "missing confirmation",
            form: with(&ok, "conferma_email", Some("")),
            field: "conferma_email",
            message: "Conferma l'indirizzo email",
        },
        Case { name: "no role", form: with(&ok, "ruolo", None), field: "ruolo", message: "Seleziona almeno un ruolo" },
        Case {
            name: "no product",
            form: with(&ok, "prodotto", Some("")),
            field: "prodotto",
            message: "Seleziona un prodotto",
        },
        Case {
            name: "unknown product",
            form: with(&ok, "prodotto", Some("prod-pn")),
            field: "prodotto",
            message: "Prodotto sconosciuto: «prod-pn»",
        },
        Case {
            name: "admin with an operator role",
            form: [with(&ok, "ruolo", Some("api")), vec![("ruolo", "admin".to_string())]].concat(),
            field: "ruolo",
            message: "Il ruolo Amministratore non può essere combinato con i ruoli da operatore",
        },
    ];

    async fn check(w: &World, maria: &mut Browser, case: &Case) {
        let before = w.snapshot().await;
        let page = maria.post(&w.new_form(), &pairs(&case.form)).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{}: {}", case.name, page.body);
        assert_eq!(page.field_error(case.field).as_deref(), Some(case.message), "{}:\n{}", case.name, page.body);
        assert_eq!(page.field_errors(), 1, "{}: only one field is wrong:\n{}", case.name, page.body);
        // The field is marked and points at its message; the summary links to it.
        let field_tag = page.tag_with_id(case.field);
        assert!(
            field_tag.contains("aria-describedby=\"") && field_tag.contains(&format!("{}-error", case.field)),
            "{}: {field_tag}",
            case.name
        );
        if case.field != "ruolo" {
            assert!(
                field_tag.contains("is-invalid") && field_tag.contains("aria-invalid=\"true\""),
                "{}: {field_tag}",
                case.name
            );
        }
        page.assert_contains("Controlla i dati inseriti");
        page.assert_contains(&format!("href=\"#{}\"", case.field));
        // What was typed is still there (the CSRF token too, for the next try).
        for (k, v) in &case.form {
            match *k {
                "ruolo" => {
                    assert!(page.body.contains(&format!("value=\"{v}\" checked")), "{}: role {v} kept", case.name)
                }
                "prodotto" if v.starts_with("prod-interop") => {
                    assert!(
                        page.body.contains(&format!("<option value=\"{v}\" selected>")),
                        "{}: product kept",
                        case.name
                    )
                }
                "prodotto" => {}
                "csrf" => assert_eq!(&page.csrf(), v),
                _ => assert!(
                    page.body.contains(&format!("value=\"{}\"", v)),
                    "{}: {k}={v} kept:\n{}",
                    case.name,
                    page.body
                ),
            }
        }
        assert_eq!(w.snapshot().await, before, "{}: nothing stored", case.name);
    }

    for case in &cases {
        check(&w, &mut maria, case).await;
    }
    assert!(w.roles(MARIO).await.is_empty());
    assert_eq!(w.user_id(GIUSEPPE).await, None, "a refused new person is not created");

    // A role he already has: the first add goes through, the second is refused.
    add_mario(&w, &mut maria, "prod-interop-coll", &["admin"]).await;
    let duplicate = Case {
        name: "role already held",
        form: ok.clone(),
        field: "ruolo",
        message: "L'utente ha già il ruolo «Amministratore» per questo prodotto",
    };
    check(&w, &mut maria, &duplicate).await;
    let operator_too = Case {
        name: "operator role for an admin",
        form: with(&ok, "ruolo", Some("security")),
        field: "ruolo",
        message:
            "L'utente ha già il ruolo «Amministratore» per questo prodotto: non può avere anche un ruolo da operatore",
    };
    check(&w, &mut maria, &operator_too).await;

    // Several mistakes at once: each under its own field.
    let before = w.snapshot().await;
    let many = [("csrf", csrf.as_str()), ("prodotto", "prod-interop-coll")];
    let page = maria.post(&w.new_form(), &many).await;
    page.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    for (field, message) in [
        ("nome", "Il nome è obbligatorio"),
        ("cognome", "Il cognome è obbligatorio"),
        ("codice_fiscale", "Il codice fiscale è obbligatorio"),
        ("email", "L'indirizzo email è obbligatorio"),
        ("conferma_email", "Conferma l'indirizzo email"),
        ("ruolo", "Seleziona almeno un ruolo"),
    ] {
        assert_eq!(page.field_error(field).as_deref(), Some(message), "{field}");
    }
    assert_eq!(page.field_errors(), 6);
    assert_eq!(w.snapshot().await, before);

    // A product the Ente has not joined. An Ente on Collaudo only, with Maria as
    // its Legale rappresentante: asking for production there is a mistake in the
    // form, told next to the product field, and nothing is stored.
    let ente = Institution {
        id: Uuid::new_v4(),
        name: "Comune di Collaudo".into(),
        tax_code: "00000000009".into(),
        origin: Origin::Ipa,
        origin_id: "c_coll".into(),
        institution_type: InstitutionType::Pa,
        digital_address: "protocollo@pec.comune.collaudo.example".into(),
        onboardings: vec![],
    };
    w.sc.create_institution(&ente).await.unwrap();
    let ente = w.sc.onboard(ente.id, ProductId::InteropColl).await.unwrap();
    assert!(!ente.is_active_on(ProductId::Interop));
    let mut maria_user = w.sc.user(w.user_id(MARIA).await.unwrap()).await.unwrap().unwrap();
    maria_user.emails.insert(ente.id, Email::parse("maria.bianchi@comune.collaudo.example").unwrap());
    w.sc.seed_manager(ente.id, &maria_user).await.unwrap();
    let form_path = format!("/selfcare/enti/{}/utenti/nuovo", ente.id);
    let form = maria.get(&form_path).await;
    form.assert_status(StatusCode::OK);
    // Only the joined product is offered, and it is preselected.
    assert!(
        form.body.contains("<option value=\"prod-interop-coll\" selected>Interoperabilità Collaudo</option>"),
        "{}",
        form.body
    );
    assert!(!form.body.contains("value=\"prod-interop\""), "{}", form.body);
    assert!(!form.body.contains("value=\"prod-interop-atst\""), "{}", form.body);
    let members_before = w.sc.members(ente.id).await.unwrap();
    let outbox_before = w.outbox().await;
    let page = maria.post(&form_path, &pairs(&with(&ok, "prodotto", Some("prod-interop")))).await;
    page.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(page.field_error("prodotto").as_deref(), Some("L'ente non ha aderito a questo prodotto"));
    assert_eq!(page.field_errors(), 1);
    assert_eq!(w.sc.members(ente.id).await.unwrap(), members_before);
    assert_eq!(w.outbox().await, outbox_before);
    // The same person on the joined product goes through there.
    let done = maria.post(&form_path, &pairs(&ok)).await;
    done.assert_status(StatusCode::SEE_OTHER);
    assert_eq!(w.sc.members(ente.id).await.unwrap().len(), 2);
});

both_backends!(an_operator_may_not_manage_users, |backend| async move {
    let w = World::start(backend).await;
    let mut maria = Browser::login(&w.app, MARIA).await;
    let mario_page = add_mario(&w, &mut maria, "prod-interop-coll", &["api", "security"]).await;
    let roles = w.roles(MARIO).await;
    assert_eq!(roles.len(), 2);
    let maria_roles = w.roles(MARIA).await;
    let maria_page = format!("{}/{}", w.users(), w.user_id(MARIA).await.unwrap());

    let mut mario = Browser::login(&w.app, MARIO).await;
    // He is a member: the Ente's overview opens for him.
    mario.get(&format!("/selfcare/enti/{}", w.comune.id)).await.assert_status(StatusCode::OK);
    let csrf = mario.csrf().await;
    let before = w.snapshot().await;

    for path in [
        w.users(),
        format!("{}?prodotto=prod-interop-coll", w.users()),
        w.new_form(),
        mario_page.clone(),
        maria_page.clone(),
    ] {
        let page = mario.get(&path).await;
        page.assert_status(StatusCode::FORBIDDEN);
        page.assert_contains(FORBIDDEN_MESSAGE);
        page.assert_lacks("Crea Utente");
    }
    // The form posted anyway, with his own valid token: refused, nothing stored.
    let giuseppe = [
        ("csrf", csrf.as_str()),
        ("nome", "Giuseppe"),
        ("cognome", "Verdi"),
        ("codice_fiscale", GIUSEPPE),
        ("email", "g.verdi@comune.prova.example"),
        ("conferma_email", "g.verdi@comune.prova.example"),
        ("prodotto", "prod-interop-coll"),
        ("ruolo", "api"),
    ];
    let page = mario.post(&w.new_form(), &giuseppe).await;
    page.assert_status(StatusCode::FORBIDDEN);
    page.assert_contains(FORBIDDEN_MESSAGE);
    // Nor may he give himself more, or touch anyone's roles.
    let page = mario.post(&w.new_form(), &pairs(&with(&mario_form(&csrf), "ruolo", Some("admin")))).await;
    page.assert_status(StatusCode::FORBIDDEN);
    for action in ["sospendi", "rimuovi"] {
        let path = format!("{maria_page}/ruoli/{}/{action}", maria_roles[1].id);
        mario.post(&path, &[("csrf", &csrf)]).await.assert_status(StatusCode::FORBIDDEN);
    }
    assert_eq!(w.snapshot().await, before, "nothing stored");
    assert_eq!(w.user_id(GIUSEPPE).await, None);
});

both_backends!(csrf_and_session_are_required, |backend| async move {
    let w = World::start(backend).await;
    let mut maria = Browser::login(&w.app, MARIA).await;
    let mario_page = add_mario(&w, &mut maria, "prod-interop-coll", &["admin"]).await;
    let role = w.roles(MARIO).await[0].id;
    let suspend = format!("{mario_page}/ruoli/{role}/sospendi");
    let before = w.snapshot().await;
    let csrf = maria.csrf().await;

    // "Crea Utente" without a token, with a wrong one, with another session's.
    let form = with(&mario_form(&csrf), "ruolo", Some("api"));
    let form = with(&form, "prodotto", Some("prod-interop-atst"));
    let mut other = Browser::login(&w.app, MARIA).await;
    let others = other.csrf().await;
    assert_ne!(others, csrf);
    for token in [None, Some("sbagliato"), Some(""), Some(others.as_str())] {
        let form = with(&form, "csrf", token);
        let page = maria.post(&w.new_form(), &pairs(&form)).await;
        page.assert_status(StatusCode::FORBIDDEN);
        page.assert_contains("Modulo scaduto");
        let page = maria.post(&suspend, &token.map(|t| vec![("csrf", t)]).unwrap_or_default()).await;
        page.assert_status(StatusCode::FORBIDDEN);
        page.assert_contains("Modulo scaduto");
    }
    assert_eq!(w.snapshot().await, before, "nothing stored");

    // Without a session: to the login page, for pages and for posts.
    let mut stranger = Browser::new(&w.app);
    for path in [w.users(), w.new_form(), mario_page.clone()] {
        let page = stranger.get(&path).await;
        page.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(page.location.as_deref(), Some("/selfcare/login"));
    }
    for path in [w.new_form(), suspend.clone()] {
        let page = stranger.post(&path, &pairs(&form)).await;
        page.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(page.location.as_deref(), Some("/selfcare/login"));
    }
    assert_eq!(w.snapshot().await, before, "nothing stored");

    // The right token works.
    maria.post(&suspend, &[("csrf", &csrf)]).await.assert_status(StatusCode::SEE_OTHER);
});

both_backends!(suspend_reactivate_and_remove_through_the_buttons, |backend| async move {
    let w = World::start(backend).await;
    let mut maria = Browser::login(&w.app, MARIA).await;
    let mario_page = add_mario(&w, &mut maria, "prod-interop-coll", &["admin"]).await;
    let role = w.roles(MARIO).await[0].id;
    let base = format!("{mario_page}/ruoli/{role}");

    let status = |p: &Page| p.table_rows("ruoli-utente")[0][2].clone();
    let page = maria.get(&mario_page).await;
    assert_eq!(status(&page), "Attivo");
    assert_eq!(page.actions_ending("/sospendi"), [format!("{base}/sospendi")]);
    assert_eq!(page.actions_ending("/rimuovi"), [format!("{base}/rimuovi")]);
    assert!(page.actions_ending("/riabilita").is_empty());
    let csrf = page.csrf();

    let steps = [
        ("sospendi", "sospeso", "Sospeso", SUSPENDED_SUBJECT, "Ruolo sospeso.", RoleStatus::Suspended),
        ("riabilita", "riabilitato", "Attivo", REACTIVATED_SUBJECT, "Ruolo riabilitato.", RoleStatus::Active),
        ("sospendi", "sospeso", "Sospeso", SUSPENDED_SUBJECT, "Ruolo sospeso.", RoleStatus::Suspended),
        ("rimuovi", "rimosso", "Rimosso", DELETED_SUBJECT, "Ruolo rimosso.", RoleStatus::Deleted),
    ];
    for (action, outcome, shown, subject, notice, stored) in steps {
        let outbox_before = w.outbox().await.len();
        let done = maria.post(&format!("{base}/{action}"), &[("csrf", &csrf)]).await;
        done.assert_status(StatusCode::SEE_OTHER);
        assert_eq!(done.location.unwrap(), format!("{mario_page}?esito={outcome}"));
        let page = maria.get(&format!("{mario_page}?esito={outcome}")).await;
        page.assert_status(StatusCode::OK);
        assert_eq!(status(&page), shown, "after {action}");
        page.assert_contains(&format!("{notice} Abbiamo avvisato l'utente via email."));
        assert_eq!(w.roles(MARIO).await[0].role.status, stored);
        let outbox = w.outbox().await;
        assert_eq!(outbox.len(), outbox_before + 1, "one mail per change");
        let mail = outbox.last().unwrap();
        assert_eq!((mail.to.as_str(), mail.subject.as_str()), (MARIO_EMAIL, subject));
        // The buttons follow the status.
        let has = |a: &str| !page.actions_ending(&format!("/{a}")).is_empty();
        assert_eq!(
            (has("sospendi"), has("riabilita"), has("rimuovi")),
            (stored == RoleStatus::Active, stored == RoleStatus::Suspended, stored != RoleStatus::Deleted),
            "after {action}"
        );
    }

    // Removed: gone from the list, still on his page as history; nothing more to do on it.
    let list = maria.get(&w.users()).await;
    list.assert_lacks("Mario Rossi");
    let before = w.snapshot().await;
    for action in ["sospendi", "riabilita", "rimuovi"] {
        let page = maria.post(&format!("{base}/{action}"), &[("csrf", &csrf)]).await;
        page.assert_status(StatusCode::CONFLICT);
        page.assert_contains("Il ruolo è stato eliminato");
    }
    assert_eq!(w.snapshot().await, before);

    // Wrong paths: an unknown action, a role that is not this user's, an unknown role.
    let maria_id = w.user_id(MARIA).await.unwrap();
    let maria_role = w.roles(MARIA).await[0].id;
    let again = add_mario(&w, &mut maria, "prod-interop-atst", &["api"]).await;
    assert_eq!(again, mario_page, "the same person");
    let before = w.snapshot().await;
    for path in [
        format!("{base}/elimina"),
        format!("{mario_page}/ruoli/{maria_role}/sospendi"),
        format!("{mario_page}/ruoli/{}/sospendi", Uuid::new_v4()),
        format!("{mario_page}/ruoli/non-un-id/sospendi"),
    ] {
        maria.post(&path, &[("csrf", &csrf)]).await.assert_status(StatusCode::NOT_FOUND);
    }
    // Her own roles: no buttons, and refused if posted.
    let own = maria.get(&format!("{}/{maria_id}", w.users())).await;
    own.assert_status(StatusCode::OK);
    assert!(own.actions_ending("/sospendi").is_empty() && own.actions_ending("/rimuovi").is_empty(), "{}", own.body);
    own.assert_contains("Questi sono i tuoi ruoli");
    let rows = own.table_rows("ruoli-utente");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r[1] == "Amministratore Legale rappresentante" && r[2] == "Attivo"), "{rows:?}");
    let page = maria.post(&format!("{}/{maria_id}/ruoli/{maria_role}/sospendi", w.users()), &[("csrf", &csrf)]).await;
    page.assert_status(StatusCode::FORBIDDEN);
    page.assert_contains("Non puoi sospendere, riabilitare o rimuovere i tuoi ruoli");
    assert_eq!(w.snapshot().await, before);

    // An Amministratore of one product only may act on that product only: Mario,
    // now admin (a delegate) on Collaudo, sees Maria's roles, and the service
    // refuses him those of the other products.
    let csrf_m = maria.csrf().await;
    let form = with(&with(&mario_form(&csrf_m), "prodotto", Some("prod-interop-coll")), "ruolo", Some("admin"));
    maria.post(&w.new_form(), &pairs(&form)).await.assert_status(StatusCode::SEE_OTHER);
    let mut mario = Browser::login(&w.app, MARIO).await;
    let maria_page = format!("{}/{maria_id}", w.users());
    let page = mario.get(&maria_page).await;
    page.assert_status(StatusCode::OK);
    let collaudo = w.roles(MARIA).await.into_iter().find(|r| r.role.product == ProductId::InteropColl).unwrap();
    let production = w.roles(MARIA).await.into_iter().find(|r| r.role.product == ProductId::Interop).unwrap();
    let csrf_r = mario.csrf().await;
    let before = w.snapshot().await;
    let page = mario.post(&format!("{maria_page}/ruoli/{}/sospendi", production.id), &[("csrf", &csrf_r)]).await;
    page.assert_status(StatusCode::FORBIDDEN);
    page.assert_contains(FORBIDDEN_MESSAGE);
    assert_eq!(w.snapshot().await, before);
    // Nor may he touch her Collaudo role, although he is an Amministratore there:
    // she is the Legale rappresentante, whom only a Legale rappresentante changes.
    // No button offers it, and each action posted anyway is refused, changing nothing.
    assert_eq!(collaudo.role.party_role, PartyRole::Manager);
    let shown = mario.get(&maria_page).await;
    for a in ["/sospendi", "/rimuovi", "/riabilita"] {
        assert!(
            shown.actions_ending(a).is_empty(),
            "a delegate is offered {a} on the manager's roles:\n{}",
            shown.body
        );
    }
    for action in ["sospendi", "rimuovi", "riabilita"] {
        let page = mario.post(&format!("{maria_page}/ruoli/{}/{action}", collaudo.id), &[("csrf", &csrf_r)]).await;
        page.assert_status(StatusCode::FORBIDDEN);
        page.assert_contains(
            "Solo un Legale rappresentante può sospendere, riabilitare o rimuovere i ruoli del Legale rappresentante",
        );
        assert_eq!(w.snapshot().await, before, "{action} changed something");
    }
    assert_eq!(w.roles(MARIA).await.iter().find(|r| r.id == collaudo.id).unwrap().role.status, RoleStatus::Active);
    // The same through the service (the CLI's way in).
    let mario_id = w.user_id(MARIO).await.unwrap();
    for refused in [
        w.sc.suspend_role(mario_id, collaudo.id).await,
        w.sc.delete_role(mario_id, collaudo.id).await,
        w.sc.reactivate_role(mario_id, collaudo.id).await,
    ] {
        assert!(matches!(refused, Err(varco_selfcare::service::ServiceError::ManagerRole)), "{refused:?}");
    }
    assert_eq!(w.snapshot().await, before);
    // Mario's list shows everyone, and the form offers Collaudo only.
    let form = mario.get(&w.new_form()).await;
    form.assert_status(StatusCode::OK);
    assert!(form.body.contains("<option value=\"prod-interop-coll\" selected>"), "{}", form.body);
    assert!(!form.body.contains("value=\"prod-interop\""));
});
