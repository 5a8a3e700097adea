//! OpenAPI 3.0 / 3.1: the JSON parse (depth first) and the document's rules.

use serde_json::Value;

use crate::{clip, Described, InterfaceError, MAX_NESTING_DEPTH};

/// Parses JSON after checking its nesting depth on the raw text, so a deep
/// file gets our bound's message before serde_json recurses into it.
pub(crate) fn parse_json(text: &str) -> Result<Value, InterfaceError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING_DEPTH {
                    return Err(InterfaceError::TooDeep);
                }
            }
            // An unbalanced closer is serde_json's to report.
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    serde_json::from_str(text).map_err(|e| InterfaceError::JsonSyntax {
        // serde_json's messages name a position, not the content.
        detail: clip(&e.to_string()),
    })
}

/// Applies OpenAPI's rules for the fields a page needs: `openapi` 3.0.x or
/// 3.1.x, `info.title` and `info.version` strings, and `paths` an object
/// (required in 3.0; in 3.1 one of `paths`, `components`, `webhooks`).
pub(crate) fn describe(doc: &Value) -> Result<Described, InterfaceError> {
    let Some(doc) = doc.as_object() else {
        return Err(InterfaceError::NotAnObject);
    };
    let openapi = match doc.get("openapi") {
        Some(Value::String(version)) => version,
        Some(other) => return Err(InterfaceError::UnsupportedOpenApiVersion { found: clip(&other.to_string()) }),
        None if doc.contains_key("swagger") => return Err(InterfaceError::Swagger2),
        None => return Err(InterfaceError::MissingOpenApiField),
    };
    let minor = minor_of(openapi).ok_or_else(|| InterfaceError::UnsupportedOpenApiVersion { found: clip(openapi) })?;

    let info = match doc.get("info") {
        Some(Value::Object(info)) => info,
        Some(_) => return Err(wrong_type("info", Expected::Object)),
        None => return Err(InterfaceError::MissingField { field: "info" }),
    };
    let string_field = |key: &str, field: &'static str| match info.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(wrong_type(field, Expected::String)),
        None => Err(InterfaceError::MissingField { field }),
    };
    let title = string_field("title", "info.title")?;
    let version = string_field("version", "info.version")?;

    let paths = match doc.get("paths") {
        Some(Value::Object(paths)) => Some(paths.len()),
        Some(_) => return Err(wrong_type("paths", Expected::Object)),
        None => None,
    };
    for key in ["components", "webhooks"] {
        if doc.get(key).is_some_and(|v| !v.is_object()) {
            return Err(wrong_type(key, Expected::Object));
        }
    }
    let paths = match (minor, paths) {
        (_, Some(count)) => count,
        (0, None) => return Err(InterfaceError::MissingPaths),
        (_, None) if doc.contains_key("components") || doc.contains_key("webhooks") => 0,
        (_, None) => return Err(InterfaceError::Missing31Content),
    };
    Ok(Described::OpenApi { openapi: openapi.clone(), title, version, paths })
}

/// 0 for "3.0.x", 1 for "3.1.x" (a pre-release suffix such as "-rc1" allowed
/// as the spec's versioning does); `None` for anything else.
fn minor_of(version: &str) -> Option<u8> {
    let rest = version.strip_prefix("3.")?;
    let (minor, patch) = rest.split_once('.')?;
    let patch = patch.split_once('-').map_or(patch, |(p, _)| p);
    if patch.is_empty() || !patch.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match minor {
        "0" => Some(0),
        "1" => Some(1),
        _ => None,
    }
}

enum Expected {
    Object,
    String,
}

fn wrong_type(field: &'static str, expected: Expected) -> InterfaceError {
    let (expected_it, expected_en) = match expected {
        Expected::Object => ("un oggetto", "an object"),
        Expected::String => ("una stringa (in YAML, tra virgolette se sembra un numero)", "a string"),
    };
    InterfaceError::WrongType { field, expected_it, expected_en }
}
