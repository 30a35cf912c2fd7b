//! The OpenAPI documents each API host publishes, one per module, rebuilt from the catalog
//! with this environment's URLs, and marked with what fieldgate serves.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fieldgate_catalog::{Catalog, Module};
use serde_json::{Map, Value, json};

use crate::engine;
use crate::error::ApiError;
use crate::state::{AppState, EnvState};

#[derive(Clone)]
struct DocState {
    app: Arc<AppState>,
    env: Arc<EnvState>,
}

pub fn routes<S: Clone + Send + Sync + 'static>(
    app: Arc<AppState>,
    env: Arc<EnvState>,
) -> Router<S> {
    Router::new()
        .route("/openapi", get(index))
        .route("/openapi/{file}", get(document))
        .with_state(DocState { app, env })
}

/// The modules and where their documents are.
async fn index(State(state): State<DocState>) -> impl IntoResponse {
    let modules: Vec<Value> = state
        .app
        .catalog
        .modules
        .iter()
        .map(|m| json!({"name": m.name, "title": m.title, "document": format!("/openapi/{}.json", m.name)}))
        .collect();
    axum::Json(json!({ "modules": modules }))
}

async fn document(State(state): State<DocState>, Path(file): Path<String>) -> Response {
    let catalog = state.app.catalog;
    let name = file.strip_suffix(".json").unwrap_or(&file);
    match catalog.module(name) {
        Some(module) => axum::Json(build(catalog, module, &state.env)).into_response(),
        None => ApiError::not_found(format!("No module `{name}`; GET /openapi lists them."))
            .with_trace(&crate::error::new_trace_id())
            .into_response(),
    }
}

/// References go back to their OpenAPI form, `#/components/schemas/X`.
fn full_refs(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => (
                        k.clone(),
                        Value::String(format!("#/components/schemas/{r}")),
                    ),
                    _ => (k.clone(), full_refs(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(full_refs).collect()),
        other => other.clone(),
    }
}

fn build(catalog: &Catalog, module: &Module, env: &EnvState) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for op in catalog
        .operations
        .iter()
        .filter(|o| o.module == module.name)
    {
        let path = op.path.strip_prefix(&module.base_path).unwrap_or(&op.path);
        let mut parameters: Vec<Value> = path
            .split('/')
            .filter(|s| s.starts_with('{'))
            .map(|s| {
                let name = s.trim_matches(|c| c == '{' || c == '}');
                json!({"in": "path", "name": name, "required": true, "schema": {"type": "string"}})
            })
            .collect();
        parameters.extend(op.query.iter().map(|p| {
            let mut schema = json!({"type": p.ty});
            if let Some(format) = &p.format {
                schema["format"] = json!(format);
            }
            json!({"in": "query", "name": p.name, "required": p.required, "schema": schema})
        }));
        let mut operation = json!({
            "operationId": op.operation_id,
            "parameters": parameters,
            "responses": {"200": {"description": "OK"}},
            "x-fieldgate-served": engine::served(op),
        });
        if let Some(schema) = &op.response_schema {
            operation["responses"]["200"]["content"] = json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}});
        }
        if let Some(schema) = &op.request_schema {
            operation["requestBody"] = json!({"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
        }
        if let Some(scope) = &op.scope {
            operation["security"] = json!([{"apiKeyHeader": [], "oauth": [scope]}]);
        }
        let item = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        item[op.method.to_ascii_lowercase()] = operation;
    }
    let scopes: Map<String, Value> = module
        .scopes
        .iter()
        .map(|s| (s.clone(), json!(s)))
        .collect();
    let schemas: Map<String, Value> = catalog
        .schemas
        .get(&module.name)
        .map(|s| s.iter().map(|(k, v)| (k.clone(), full_refs(v))).collect())
        .unwrap_or_default();
    json!({
        "openapi": "3.1.0",
        "info": {"title": module.title, "version": "2.0"},
        "servers": [{"url": format!("{}{}", env.api_url, module.base_path)}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "ST-App-Key"},
                "oauth": {"type": "oauth2", "flows": {"clientCredentials": {
                    "tokenUrl": format!("{}/connect/token", env.auth_url),
                    "scopes": scopes,
                }}},
            },
        },
    })
}
