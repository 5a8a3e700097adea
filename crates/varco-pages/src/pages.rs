//! What every HTML page shares: the layout data, rendering, and the one error
//! type of the pages, turned into an Italian error page in one place.
use crate::session::SetCookie;
use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use varco_http::HttpStatus;
use varco_selfcare::rules::capitalize;
use varco_selfcare::service::ServiceError;

/// Data of the page frame (`templates/base.html`).
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub title: String,
    /// Name in the header's brand ("Area Riservata", "Interoperabilità Collaudo").
    pub brand: String,
    pub brand_href: String,
    /// The logged-in person, shown with "Esci".
    pub user: Option<String>,
    /// Where "Esci" posts, with the session's CSRF token.
    pub logout_action: String,
    pub csrf: String,
    /// Shows the "Ambiente dimostrativo" stripe.
    pub demo: bool,
    /// A back office's sidebar (empty elsewhere).
    pub sidebar: Vec<crate::backoffice::frame::NavGroup>,
    /// A back office's environment, always in sight.
    pub env_label: Option<String>,
}

impl Layout {
    pub fn selfcare(title: &str, demo: bool) -> Layout {
        Layout {
            title: title.into(),
            brand: "Area Riservata".into(),
            brand_href: "/selfcare/".into(),
            logout_action: "/selfcare/logout".into(),
            demo,
            ..Layout::default()
        }
    }

    pub fn with_user(mut self, name: &str, csrf: &str) -> Layout {
        self.user = Some(name.into());
        self.csrf = csrf.into();
        self
    }
}

/// Renders a template into a response.
pub fn render<T: Template>(t: &T) -> Result<Response, PageError> {
    Ok(Html(t.render().map_err(PageError::internal)?).into_response())
}

/// Renders with a status other than 200 (e.g. 422 for a form with errors).
pub fn render_status<T: Template>(status: StatusCode, t: &T) -> Result<Response, PageError> {
    Ok((status, Html(t.render().map_err(PageError::internal)?)).into_response())
}

/// A 303 to `to` (after a POST the browser GETs the next page).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Adds `Set-Cookie` headers to a response.
pub fn with_cookies(mut r: Response, cookies: &[SetCookie]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c.header()) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// Why a page could not be shown. Messages are for the person in front of the
/// browser; internal details go to the log only.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    /// Where the error page offers to go next.
    pub back: Option<(String, String)>,
    /// The frame to show it in (the signed-in person's), else SelfCare's plain one.
    pub layout: Option<Layout>,
    /// Not a page: a 303 to here (e.g. to the login).
    pub redirect: Option<String>,
    pub cookies: Vec<SetCookie>,
}

impl PageError {
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> PageError {
        PageError { status, title, message: message.into(), back: None, layout: None, redirect: None, cookies: vec![] }
    }

    /// A 303 to `to` instead of an error page.
    pub fn redirect(to: &str) -> PageError {
        let mut e = PageError::new(StatusCode::SEE_OTHER, "Accesso richiesto", "");
        e.redirect = Some(to.into());
        e
    }

    pub fn with_layout(mut self, layout: Layout) -> PageError {
        self.layout = Some(layout);
        self
    }

    pub fn back(mut self, href: &str, label: &str) -> PageError {
        self.back = Some((href.into(), label.into()));
        self
    }

    pub fn not_found(what: &str) -> PageError {
        PageError::new(StatusCode::NOT_FOUND, "Pagina non trovata", not_found_message(what))
    }

    pub fn forbidden(message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::FORBIDDEN, "Accesso negato", message)
    }

    pub fn bad_request(message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::BAD_REQUEST, "Richiesta non valida", message)
    }

    pub fn csrf() -> PageError {
        PageError::new(
            StatusCode::FORBIDDEN,
            "Modulo scaduto",
            "Il modulo inviato non è valido o è scaduto. Torna alla pagina precedente, ricaricala e riprova.",
        )
    }

    pub fn internal(e: impl std::fmt::Display) -> PageError {
        let id = uuid::Uuid::new_v4();
        tracing::error!(error_id = %id, "page failed: {e}");
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Si è verificato un errore",
            format!("Si è verificato un errore imprevisto. Riprova più tardi. Codice dell'errore: {id}"),
        )
    }
}

/// SelfCare's errors as pages: the status from the one mapping
/// (`varco_http::HttpStatus`), the title from the status, the message from the error.
impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> PageError {
        let status = e.http_status();
        let message = match &e {
            ServiceError::NotFound(what) => not_found_message(&capitalize(what)),
            ServiceError::Forbidden => e.to_string(),
            // The rules word these mid-sentence ("il ruolo è già sospeso").
            ServiceError::Transition(t) => sentence(&t.to_string()),
            ServiceError::OwnRole
            | ServiceError::ManagerRole
            | ServiceError::Duplicate(_)
            | ServiceError::Conflict(_) => capitalize(&e.to_string()),
            ServiceError::Db(_) | ServiceError::Corrupt { .. } => return PageError::internal(e),
        };
        let title = match status {
            StatusCode::NOT_FOUND => "Pagina non trovata",
            StatusCode::FORBIDDEN => "Accesso negato",
            StatusCode::BAD_REQUEST => "Richiesta non valida",
            StatusCode::CONFLICT => "Operazione non possibile",
            _ => return PageError::internal(e),
        };
        PageError::new(status, title, message)
    }
}

/// The platform's errors as pages: the status from the one mapping
/// (`varco_http::HttpStatus`), the message from the error.
impl From<varco_platform::AppError> for PageError {
    fn from(e: varco_platform::AppError) -> PageError {
        let status = e.http_status();
        let title = match status {
            StatusCode::NOT_FOUND => "Pagina non trovata",
            StatusCode::FORBIDDEN => "Accesso negato",
            StatusCode::BAD_REQUEST => "Richiesta non valida",
            StatusCode::CONFLICT => "Operazione non possibile",
            _ => return PageError::internal(e),
        };
        PageError::new(status, title, sentence(&e.to_string()))
    }
}

fn not_found_message(what: &str) -> String {
    format!("{what} non esiste o non è visibile.")
}

/// A message as a sentence: capital first letter, final full stop.
fn sentence(s: &str) -> String {
    let mut out = capitalize(s);
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    e: &'a PageError,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Some(to) = &self.redirect {
            return with_cookies(see_other(to), &self.cookies);
        }
        let layout = match &self.layout {
            Some(l) => Layout { title: self.title.into(), ..l.clone() },
            None => Layout { title: self.title.into(), ..Layout::selfcare(self.title, false) },
        };
        let page = ErrorPage { layout, e: &self };
        let r = match page.render() {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(_) => (self.status, self.message.clone()).into_response(),
        };
        with_cookies(r, &self.cookies)
    }
}
