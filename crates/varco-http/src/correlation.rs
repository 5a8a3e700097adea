//! The correlation id of every request: one id that the answer's
//! `X-Correlation-Id` header, the problem bodies that carry PDND's
//! `correlationId`, and the request's log lines all show.
//!
//! [`CorrelationLayer`] goes around the whole server. For each request it takes
//! the caller's `X-Correlation-Id` when that is a UUID in its usual written form
//! (8-4-4-4-12 hexadecimal digits; kept as sent), or else makes a UUID v4; puts
//! it in the request's extensions (handlers take it as the [`CorrelationId`]
//! extractor); runs the request inside a `request` tracing span that records it
//! as `correlation_id`; fills it into any problem made with
//! [`Problem::with_request_correlation`](crate::Problem::with_request_correlation);
//! and returns it in the answer's `X-Correlation-Id` header.
use crate::problem::Problem;
use axum::extract::FromRequestParts;
use axum::http::header::CONTENT_LENGTH;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::response::Response;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;

/// `X-Correlation-Id`, of requests and answers.
pub const CORRELATION_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");

/// The correlation id of one request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CorrelationId(Arc<str>);

impl CorrelationId {
    /// A new id: a random UUID (v4).
    pub fn generate() -> CorrelationId {
        CorrelationId(uuid::Uuid::new_v4().to_string().into())
    }

    /// A caller's id, if well-formed: a hyphenated UUID (36 characters), kept as written.
    pub fn parse(s: &str) -> Option<CorrelationId> {
        (s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()).then(|| CorrelationId(s.into()))
    }

    /// The id a request names in its `X-Correlation-Id`, or a new one.
    fn of_request<B>(req: &Request<B>) -> CorrelationId {
        let given = req.headers().get_all(CORRELATION_HEADER);
        let mut given = given.iter();
        match (given.next(), given.next()) {
            (Some(one), None) => one.to_str().ok().and_then(CorrelationId::parse),
            _ => None,
        }
        .unwrap_or_else(CorrelationId::generate)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.0).expect("a UUID is a valid header value")
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The request's id, as [`CorrelationLayer`] put it in the extensions. (A router
/// served without the layer gets a new id here, which no header shows.)
impl<S: Send + Sync> FromRequestParts<S> for CorrelationId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(id) = parts.extensions.get::<CorrelationId>() {
            return Ok(id.clone());
        }
        let id = CorrelationId::generate();
        parts.extensions.insert(id.clone());
        Ok(id)
    }
}

/// A problem whose body is to name the request's correlation id: it rides in
/// the answer's extensions until [`CorrelationLayer`] writes the body again.
#[derive(Clone)]
pub(crate) struct PendingCorrelation(pub(crate) Problem);

/// The layer that gives each request its correlation id (see the module).
#[derive(Debug, Clone, Copy, Default)]
pub struct CorrelationLayer;

impl<S> Layer<S> for CorrelationLayer {
    type Service = Correlation<S>;

    fn layer(&self, inner: S) -> Correlation<S> {
        Correlation { inner }
    }
}

/// The service made by [`CorrelationLayer`].
#[derive(Debug, Clone)]
pub struct Correlation<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for Correlation<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let id = CorrelationId::of_request(&req);
        req.extensions_mut().insert(id.clone());
        // The path only: a query may carry what logs must not show (OIDC codes).
        let span = tracing::info_span!(
            "request",
            correlation_id = %id,
            method = %req.method(),
            path = %req.uri().path(),
        );
        let answer = span.in_scope(|| self.inner.call(req));
        Box::pin(
            async move {
                let mut r = answer.await?;
                finish(&mut r, &id);
                Ok(r)
            }
            .instrument(span),
        )
    }
}

/// Writes the id into a pending problem's body and into the answer's header.
fn finish(r: &mut Response, id: &CorrelationId) {
    if let Some(PendingCorrelation(problem)) = r.extensions_mut().remove::<PendingCorrelation>() {
        let body = problem.with_correlation(id.as_str()).render().into_body();
        *r.body_mut() = body;
        r.headers_mut().remove(CONTENT_LENGTH);
    }
    r.headers_mut().insert(CORRELATION_HEADER, id.header_value());
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    fn app() -> Router {
        Router::new()
            .route("/id", get(|id: CorrelationId| async move { id.to_string() }))
            .route(
                "/problem",
                get(|| async { Problem::new(StatusCode::BAD_REQUEST, "Bad Request", "no").with_request_correlation() }),
            )
            .route("/plain", get(|| async { Problem::new(StatusCode::NOT_FOUND, "Not Found", "no") }))
            .layer(CorrelationLayer)
    }

    async fn get_with(path: &str, given: &[&str]) -> (String, String, Response) {
        let mut req = Request::get(path);
        for g in given {
            req = req.header(CORRELATION_HEADER, *g);
        }
        let r = app().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let header = r.headers()[CORRELATION_HEADER].to_str().unwrap().to_string();
        let (parts, body) = r.into_parts();
        let body = String::from_utf8(to_bytes(body, 1 << 16).await.unwrap().to_vec()).unwrap();
        (header, body, Response::from_parts(parts, Body::empty()))
    }

    #[tokio::test]
    async fn a_well_formed_id_is_kept_anything_else_replaced() {
        let given = "0E3C2D8A-1F6B-4C55-9A0B-7D1E2F3A4B5C";
        let (header, body, _) = get_with("/id", &[given]).await;
        assert_eq!((header.as_str(), body.as_str()), (given, given));
        for bad in ["", "abc", "0e3c2d8a1f6b4c559a0b7d1e2f3a4b5c", "{0e3c2d8a-1f6b-4c55-9a0b-7d1e2f3a4b5c}"] {
            let (header, body, _) = get_with("/id", &[bad]).await;
            assert_eq!(header, body, "{bad:?}");
            assert_ne!(header, bad);
            assert_eq!(uuid::Uuid::parse_str(&header).unwrap().get_version_num(), 4);
        }
        // Two ids: neither is the request's.
        let two = ["0e3c2d8a-1f6b-4c55-9a0b-7d1e2f3a4b5c", "1e3c2d8a-1f6b-4c55-9a0b-7d1e2f3a4b5c"];
        let (header, _, _) = get_with("/id", &two).await;
        assert!(!two.contains(&header.as_str()));
        let (a, _, _) = get_with("/id", &[]).await;
        let (b, _, _) = get_with("/id", &[]).await;
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn problems_of_the_request_name_its_id() {
        let given = "0e3c2d8a-1f6b-4c55-9a0b-7d1e2f3a4b5c";
        let (header, body, r) = get_with("/problem", &[given]).await;
        assert_eq!(header, given);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["correlationId"], given);
        assert_eq!(body["status"], 400);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        // Other problems keep their body; the header is there all the same.
        let (header, body, _) = get_with("/plain", &[given]).await;
        assert_eq!(header, given);
        assert!(!body.contains("correlationId"), "{body}");
    }

    #[test]
    fn without_the_layer_a_problem_names_an_id_of_its_own() {
        let r = Problem::new(StatusCode::BAD_REQUEST, "Bad Request", "no").with_request_correlation().into_response();
        assert!(r.extensions().get::<PendingCorrelation>().is_some());
    }
}
