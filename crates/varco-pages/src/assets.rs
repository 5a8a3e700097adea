//! Static files under `/static/`, embedded in the binary: bootstrap-italia (vendored
//! by `scripts/vendor-bootstrap-italia.sh`, see `assets/README.md`) and our own
//! `varco.css` / `varco.js`. A plain table, no directory walking: a file is served
//! only if it is listed here.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";
const WOFF2: &str = "font/woff2";

/// One embedded file: its path under `/static/`, its Content-Type, its bytes.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// `asset!("x/y.css", CSS)` embeds `crates/varco-pages/assets/x/y.css` as `/static/x/y.css`.
macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset { path: $path, content_type: $content_type, bytes: include_bytes!(concat!("../assets/", $path)) }
    };
}

static ASSETS: &[Asset] = &[
    asset!("varco.css", CSS),
    asset!("varco.js", JS),
    asset!("bootstrap-italia/css/bootstrap-italia.min.css", CSS),
    asset!("bootstrap-italia/js/bootstrap-italia.bundle.min.js", JS),
    asset!("bootstrap-italia/svg/sprites.svg", SVG),
    asset!("bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-300.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-300italic.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-regular.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-italic.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-600.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-600italic.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-700.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-700italic.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Lora/lora-v20-latin-ext_latin-regular.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Lora/lora-v20-latin-ext_latin-italic.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Lora/lora-v20-latin-ext_latin-700.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Lora/lora-v20-latin-ext_latin-700italic.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Roboto_Mono/roboto-mono-v13-latin-ext_latin-regular.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Roboto_Mono/roboto-mono-v13-latin-ext_latin-italic.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Roboto_Mono/roboto-mono-v13-latin-ext_latin-700.woff2", WOFF2),
    asset!("bootstrap-italia/fonts/Roboto_Mono/roboto-mono-v13-latin-ext_latin-700italic.woff2", WOFF2),
];

/// `GET /static/{*path}` (and HEAD), for any router state.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/static/{*path}", get(serve))
}

async fn serve(Path(path): Path<String>) -> Response {
    response_for(&path)
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

fn response_for(path: &str) -> Response {
    let nosniff = (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    match find(path) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(a.content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
                nosniff,
            ],
            a.bytes,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8")), nosniff],
            "Not Found",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resolves `reference` (as written in the file at `from`, both relative to
    /// `/static/`) to a path under `/static/`; `None` if it climbs above it.
    fn resolve(from: &str, reference: &str) -> Option<String> {
        let (mut parts, rel): (Vec<&str>, &str) = match reference.strip_prefix("/static/") {
            Some(abs) => (Vec::new(), abs),
            None => {
                let mut dir: Vec<&str> = from.split('/').collect();
                dir.pop(); // the file's own name
                (dir, reference)
            }
        };
        for seg in rel.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    parts.pop()?;
                }
                s => parts.push(s),
            }
        }
        Some(parts.join("/"))
    }

    /// Every `url(...)` of a CSS text that is not a `data:` URI, without `?query` or
    /// `#fragment`. Quoted URLs end at their closing quote (data: URIs hold parentheses).
    fn css_urls(css: &str) -> Vec<String> {
        let mut urls = Vec::new();
        let mut rest = css;
        while let Some(i) = rest.find("url(") {
            rest = rest[i + 4..].trim_start();
            let (raw, after) = match rest.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let end = rest[1..].find(q).expect("unclosed quote in url(") + 1;
                    (&rest[1..end], &rest[end + 1..])
                }
                _ => {
                    let end = rest.find(')').expect("unclosed url(");
                    (rest[..end].trim_end(), &rest[end..])
                }
            };
            if !raw.starts_with("data:") {
                urls.push(raw.split(['?', '#']).next().unwrap().to_string());
            }
            rest = after;
        }
        urls
    }

    #[test]
    fn assets_css_urls_resolve_to_embedded_files() {
        let mut checked = 0;
        for css in ASSETS.iter().filter(|a| a.content_type == CSS) {
            let text = std::str::from_utf8(css.bytes).expect("CSS is UTF-8");
            for url in css_urls(text) {
                assert!(
                    !url.contains("://") && !url.starts_with("//"),
                    "{} refers to an external resource: {url}",
                    css.path
                );
                let target =
                    resolve(css.path, &url).unwrap_or_else(|| panic!("{}: {url} climbs above /static/", css.path));
                assert!(find(&target).is_some(), "{}: url({url}) -> /static/{target} is not embedded", css.path);
                checked += 1;
            }
        }
        // The @font-face rules of varco.css at least.
        assert!(checked >= 16, "only {checked} url()s found");
    }

    #[test]
    fn assets_every_font_is_declared_by_a_stylesheet() {
        let declared: Vec<String> = ASSETS
            .iter()
            .filter(|a| a.content_type == CSS)
            .flat_map(|css| {
                let text = std::str::from_utf8(css.bytes).unwrap();
                css_urls(text).into_iter().filter_map(|u| resolve(css.path, &u))
            })
            .collect();
        for font in ASSETS.iter().filter(|a| a.content_type == WOFF2) {
            assert!(declared.iter().any(|d| d == font.path), "{} is embedded but no CSS uses it", font.path);
        }
    }

    /// bootstrap-italia's own `bootstrap.loadFonts(prefix)` asks for
    /// `${prefix}/<Family>/<file>.woff2`: with prefix `/static/bootstrap-italia/fonts`
    /// every woff2 it names is embedded too.
    #[test]
    fn assets_bootstrap_italia_load_fonts_woff2_are_embedded() {
        let js =
            std::str::from_utf8(find("bootstrap-italia/js/bootstrap-italia.bundle.min.js").unwrap().bytes).unwrap();
        let mut n = 0;
        let mut rest = js;
        while let Some(i) = rest.find("${i}/") {
            rest = &rest[i + 5..];
            let end = rest.find('\'').unwrap();
            let file = &rest[..end];
            if file.ends_with(".woff2") {
                let path = format!("bootstrap-italia/fonts/{file}");
                assert!(find(&path).is_some(), "loadFonts refers to {path}, not embedded");
                n += 1;
            }
        }
        assert_eq!(n, 16, "loadFonts' woff2 references");
    }

    #[test]
    fn assets_files_are_not_empty_and_paths_unique() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(!a.bytes.is_empty(), "{} is empty", a.path);
            assert!(ASSETS[..i].iter().all(|b| b.path != a.path), "{} listed twice", a.path);
        }
        assert!(find("bootstrap-italia/svg/sprites.svg").unwrap().bytes.starts_with(b"<svg"));
        assert!(find("bootstrap-italia/fonts/Lora/lora-v20-latin-ext_latin-700.woff2")
            .unwrap()
            .bytes
            .starts_with(b"wOF2"));
    }

    fn header(r: &Response, name: header::HeaderName) -> &str {
        r.headers().get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }

    #[test]
    fn assets_served_with_type_cache_and_nosniff() {
        for (path, ct) in [
            ("bootstrap-italia/css/bootstrap-italia.min.css", "text/css; charset=utf-8"),
            ("varco.css", "text/css; charset=utf-8"),
            ("varco.js", "text/javascript; charset=utf-8"),
            ("bootstrap-italia/js/bootstrap-italia.bundle.min.js", "text/javascript; charset=utf-8"),
            ("bootstrap-italia/svg/sprites.svg", "image/svg+xml"),
            ("bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-regular.woff2", "font/woff2"),
        ] {
            let r = response_for(path);
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&r, header::CONTENT_TYPE), ct, "{path}");
            assert_eq!(header(&r, header::CACHE_CONTROL), "public, max-age=86400", "{path}");
            assert_eq!(header(&r, header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{path}");
        }
    }

    #[test]
    fn assets_unknown_paths_are_404() {
        for path in [
            "",
            "nope.css",
            "bootstrap-italia/LICENSE",
            "bootstrap-italia/VERSION",
            "../Cargo.toml",
            "bootstrap-italia/css/../../varco.css",
            "bootstrap-italia/css/bootstrap-italia.min.css.map",
        ] {
            let r = response_for(path);
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path:?}");
            assert_eq!(header(&r, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        }
    }

    #[test]
    fn assets_resolve_relative_references() {
        assert_eq!(
            resolve("bootstrap-italia/css/x.css", "../fonts/a.woff2").unwrap(),
            "bootstrap-italia/fonts/a.woff2"
        );
        assert_eq!(resolve("varco.css", "bootstrap-italia/fonts/a.woff2").unwrap(), "bootstrap-italia/fonts/a.woff2");
        assert_eq!(resolve("varco.css", "/static/varco.js").unwrap(), "varco.js");
        assert!(resolve("varco.css", "../x").is_none());
    }
}
