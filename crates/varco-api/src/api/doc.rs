//! Varco's own OpenAPI document. Routes of the machine API are registered through
//! `ApiRoutes`, which records each operation as it adds it to the router: the
//! document is made from the same calls that make the routes, so it cannot drift.
use crate::ApiState;
use axum::handler::Handler;
use axum::routing::{delete, get, patch, post};
use axum::Router;
use serde_json::{json, Map, Value};

/// One documented operation.
#[derive(Debug, Clone)]
pub struct Op {
    pub method: &'static str,
    pub path: String,
    pub operation_id: &'static str,
}

/// A router under construction, with the list of its operations.
pub struct ApiRoutes {
    pub router: Router<ApiState>,
    pub ops: Vec<Op>,
}

macro_rules! method {
    ($name:ident, $routing:ident) => {
        pub fn $name<H, T>(mut self, path: &str, handler: H, operation_id: &'static str) -> Self
        where
            H: Handler<T, ApiState>,
            T: 'static,
        {
            self.router = self.router.route(path, $routing(handler));
            self.ops.push(Op { method: stringify!($name), path: path.to_string(), operation_id });
            self
        }
    };
}

impl ApiRoutes {
    pub fn new() -> Self {
        ApiRoutes { router: Router::new(), ops: Vec::new() }
    }
    method!(get, get);
    method!(post, post);
    method!(delete, delete);
    method!(patch, patch);

    pub fn merge(mut self, other: ApiRoutes) -> Self {
        self.router = self.router.merge(other.router);
        self.ops.extend(other.ops);
        self
    }
}

impl Default for ApiRoutes {
    fn default() -> Self {
        Self::new()
    }
}

fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect()
}

fn operation(op: &Op, security: &str, prefix: &str) -> Value {
    let errors = |codes: &[&str]| {
        let mut m = Map::new();
        m.insert("200".into(), json!({ "description": "OK", "content": { "application/json": { "schema": {} } } }));
        for c in codes {
            m.insert(
                (*c).into(),
                json!({ "description": "Problem",
                        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }),
            );
        }
        Value::Object(m)
    };
    json!({
        "operationId": format!("{prefix}{}", op.operation_id),
        "parameters": path_params(&op.path),
        "security": [{ security: [] }],
        "responses": errors(&["400", "401", "403", "404", "409", "429", "500"]),
    })
}

/// The document of one environment: token endpoint, JWKS, API v2 and v3.
pub fn document(base_url: &str, v2: &[Op], v3: &[Op]) -> Value {
    let mut paths = Map::new();
    paths.insert(
        "/token.oauth2".into(),
        json!({ "post": {
            "operationId": "createToken",
            "summary": "Voucher (access token) for a client assertion, as PDND's authorization server",
            "requestBody": { "required": true, "content": { "application/x-www-form-urlencoded": { "schema": {
                "type": "object",
                "required": ["client_assertion", "client_assertion_type", "grant_type"],
                "properties": {
                    "client_id": { "type": "string", "format": "uuid" },
                    "client_assertion": { "type": "string" },
                    "client_assertion_type": { "type": "string", "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"] },
                    "grant_type": { "type": "string", "enum": ["client_credentials"] }
                } } } } },
            "parameters": [{ "name": "DPoP", "in": "header", "required": false, "schema": { "type": "string" } }],
            "responses": {
                "200": { "description": "The voucher", "content": { "application/json": { "schema": {
                    "type": "object", "required": ["access_token", "token_type", "expires_in"],
                    "properties": { "access_token": { "type": "string" }, "token_type": { "type": "string", "enum": ["Bearer", "DPoP"] },
                                    "expires_in": { "type": "integer" } } } } } },
                "400": { "description": "Any failed check (generic body, code 015-0008)",
                         "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } },
                "413": { "description": "Body over 64 KiB" },
                "429": { "description": "Too many requests for the organisation",
                         "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } },
                "500": { "description": "No voucher issued",
                         "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }
            } } }),
    );
    paths.insert(
        "/.well-known/jwks.json".into(),
        json!({ "get": { "operationId": "getJwks", "security": [], "responses": { "200": { "description": "The voucher signing keys" } } } }),
    );
    for (version, ops, security) in [("v2", v2, "bearerAuth"), ("v3", v3, "DPoPAuth")] {
        for op in ops {
            let entry = paths.entry(format!("/api/{version}{}", op.path)).or_insert_with(|| json!({}));
            entry[op.method] = operation(op, security, &format!("{version}_"));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Varco: token endpoint and PDND Interoperability API", "version": env!("CARGO_PKG_VERSION") },
        "servers": [{ "url": base_url }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
                "DPoPAuth": { "type": "http", "scheme": "DPoP" }
            },
            "schemas": { "Problem": {
                "type": "object", "required": ["type", "status", "title"],
                "properties": {
                    "type": { "type": "string" }, "status": { "type": "integer" }, "title": { "type": "string" },
                    "detail": { "type": "string" }, "correlationId": { "type": "string" },
                    "errors": { "type": "array", "items": { "type": "object", "required": ["code", "detail"],
                        "properties": { "code": { "type": "string" }, "detail": { "type": "string" } } } }
                } } }
        }
    })
}
