//! Writes: creates and partial updates, validated against the catalog's request schemas.
//!
//! A new record is built in the shape of the resource's response schemas: each property takes
//! the request's value where the request names it, else the value a new record of the real
//! service has (its id, the current time, `active: true`, zero, empty or `null`).

use axum::Json;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use fieldgate_catalog::{Catalog, OpKind};
use fieldgate_store::{Dataset, Record, format_time};
use serde_json::{Map, Value, json};

use super::Matched;
use super::project::project;
use super::related;
use crate::error::ApiError;
use crate::state::AppState;

/// Properties that reference another resource, checked to exist before a write is accepted.
const REFERENCES: &[(&str, &str)] = &[
    ("customerId", "crm/customers"),
    ("locationId", "crm/locations"),
    ("jobId", "jpm/jobs"),
    ("businessUnitId", "settings/business-units"),
    ("jobTypeId", "jpm/job-types"),
    ("campaignId", "marketing/campaigns"),
];

struct Ctx<'a> {
    catalog: &'a Catalog,
    module: &'a str,
    now: String,
}

impl<'a> Ctx<'a> {
    fn in_module(&self, module: &'a str) -> Ctx<'a> {
        Ctx {
            catalog: self.catalog,
            module,
            now: self.now.clone(),
        }
    }
}

/// Parses and validates a JSON body against the operation's request schema, keeping only the
/// properties that schema names: read-only fields (`balance`, `createdById`) stay the server's.
fn body(state: &AppState, m: &Matched<'_>, bytes: &Bytes) -> Result<Map<String, Value>, ApiError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request("The request body is not valid JSON.")
            .with_error("body", e.to_string())
    })?;
    let Value::Object(mut map) = value else {
        return Err(
            ApiError::bad_request("The request body must be a JSON object.")
                .with_error("body", "Expected a JSON object."),
        );
    };
    if let Some(schema) = &m.op.request_schema {
        let schema = json!({ "$ref": schema });
        let violations =
            state
                .catalog
                .validate(&m.op.module, &schema, &Value::Object(map.clone()), false);
        if !violations.is_empty() {
            let mut error = ApiError::bad_request("One or more validation errors occurred.");
            for v in violations {
                error = error.with_error(&v.path, format!("The {} field {}.", v.path, v.message));
            }
            return Err(error);
        }
        let view = state.catalog.view(&m.op.module, &schema);
        map.retain(|name, _| view.property(name).is_some());
    }
    Ok(map)
}

async fn check_references(
    state: &AppState,
    dataset: Dataset,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    let mut error: Option<ApiError> = None;
    for (field, resource) in REFERENCES {
        let Some(id) = body.get(*field).and_then(Value::as_i64) else {
            continue;
        };
        if state
            .store
            .get_record(dataset, resource, None, id)
            .await?
            .is_none()
        {
            let e = error.take().unwrap_or_else(|| {
                ApiError::bad_request("One or more validation errors occurred.")
            });
            error = Some(e.with_error(field, format!("No {resource} record has id {id}.")));
        }
    }
    error.map_or(Ok(()), Err)
}

/// The schemas the resource is served through, list item first.
fn serving_schemas(catalog: &Catalog, resource: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for kind in [OpKind::List, OpKind::Get, OpKind::Export] {
        for op in catalog
            .operations
            .iter()
            .filter(|o| o.resource == resource && o.kind == kind)
        {
            let schema = if kind == OpKind::Get {
                &op.response_schema
            } else {
                &op.item_schema
            };
            if let Some(s) = schema {
                out.push((op.module.clone(), json!({ "$ref": s })));
            }
        }
    }
    out
}

impl Ctx<'_> {
    /// `value` in the shape of `schema`, with defaults for whatever it lacks.
    fn conform(&self, schema: &Value, value: Option<&Value>) -> Value {
        let view = self.catalog.view(self.module, schema);
        match (view.ty(), value) {
            (_, Some(Value::Null)) if view.nullable => Value::Null,
            (Some("object"), Some(Value::Object(given))) => {
                let mut out = Map::new();
                for (name, prop) in view.properties() {
                    out.insert(name.clone(), self.conform(prop, given.get(name)));
                }
                Value::Object(out)
            }
            (Some("array"), Some(Value::Array(items))) => match view.items() {
                Some(item) => {
                    Value::Array(items.iter().map(|v| self.conform(item, Some(v))).collect())
                }
                None => Value::Array(items.clone()),
            },
            (Some("integer"), Some(v)) if v.is_i64() => v.clone(),
            (Some("number"), Some(v)) if v.is_number() => v.clone(),
            (Some("boolean"), Some(v)) if v.is_boolean() => v.clone(),
            (Some("string"), Some(Value::String(s))) => Value::String(s.clone()),
            _ if view.nullable => Value::Null,
            (Some("object"), _) => self.conform(schema, Some(&Value::Object(Map::new()))),
            (Some("array"), _) => Value::Array(vec![]),
            (Some("integer" | "number"), _) => Value::from(0),
            (Some("boolean"), _) => Value::Bool(false),
            (Some("string"), _) if view.format() == Some("date-time") => {
                Value::String(self.now.clone())
            }
            (Some("string"), _) => match view.enum_values().and_then(|e| e.first()) {
                Some(first) => first.clone(),
                None => Value::String(String::new()),
            },
            _ => Value::Null,
        }
    }

    /// A full document for the resource from the request's fields plus the given overrides.
    fn build(&self, schemas: &[(String, Value)], given: &Map<String, Value>) -> Map<String, Value> {
        let mut doc = Map::new();
        for (_, schema) in schemas {
            let view = self.catalog.view(self.module, schema);
            for (name, prop) in view.properties() {
                if !doc.contains_key(name) {
                    doc.insert(name.clone(), self.conform(prop, given.get(name)));
                }
            }
        }
        doc
    }
}

fn record_from(
    id: i64,
    parent_id: Option<i64>,
    created_us: i64,
    now_us: i64,
    doc: &Map<String, Value>,
) -> Record {
    Record {
        id,
        parent_id,
        created_us,
        modified_us: now_us,
        active: doc.get("active").and_then(Value::as_bool).unwrap_or(true),
        doc: Value::Object(doc.clone()).to_string(),
    }
}

fn respond(state: &AppState, m: &Matched<'_>, doc: &Map<String, Value>) -> Response {
    let doc = Value::Object(doc.clone());
    match &m.op.response_schema {
        Some(s) => Json(project(
            state.catalog,
            &m.op.module,
            &json!({ "$ref": s }),
            &doc,
        ))
        .into_response(),
        None => Json(doc).into_response(),
    }
}

pub async fn create(
    state: &AppState,
    dataset: Dataset,
    m: &Matched<'_>,
    bytes: &Bytes,
) -> Result<Response, ApiError> {
    let mut given = body(state, m, bytes)?;
    check_references(state, dataset, &given).await?;
    let resource = m.op.resource.as_str();
    let mut extras = related::prepare(state, dataset, resource, &mut given).await?;

    let now_us = chrono::Utc::now().timestamp_micros();
    let ctx = Ctx {
        catalog: state.catalog,
        module: &m.op.module,
        now: format_time(now_us),
    };
    let first = state
        .store
        .allocate_ids(dataset, 1 + extras.len() as i64)
        .await?;
    let stamp = |fields: &mut Map<String, Value>, id: i64| {
        fields.insert("id".into(), id.into());
        fields.insert("createdOn".into(), ctx.now.clone().into());
        fields.insert("modifiedOn".into(), ctx.now.clone().into());
        fields.entry("active").or_insert(Value::Bool(true));
    };
    stamp(&mut given, first);
    for (i, extra) in extras.iter_mut().enumerate() {
        stamp(&mut extra.given, first + 1 + i as i64);
    }
    related::link(state, dataset, resource, first, &mut given, &mut extras).await?;

    let mut written = Vec::new();
    let mut extra_docs = Vec::new();
    let id_of = |extra: &related::Extra| extra.given["id"].as_i64().unwrap_or_default();
    for extra in &extras {
        let doc = ctx.in_module(extra.module).build(
            &serving_schemas(state.catalog, extra.resource),
            &extra.given,
        );
        let parent_id = extra.owner.map(|owner| match owner {
            related::Owner::Main => first,
            related::Owner::Extra(at) => id_of(&extras[at]),
        });
        written.push((
            extra.resource.to_string(),
            record_from(id_of(extra), parent_id, now_us, now_us, &doc),
        ));
        extra_docs.push(Value::Object(doc));
    }
    // The answer carries what was made with the record, as the real service's does.
    let owned_by = |owner: related::Owner| -> Vec<Value> {
        (extras.iter().zip(&extra_docs))
            .filter(|(e, _)| e.owner == Some(owner) && e.resource.ends_with("/contacts"))
            .map(|(_, doc)| doc.clone())
            .collect()
    };
    if matches!(resource, "crm/customers" | "crm/locations") {
        let contacts = owned_by(related::Owner::Main);
        given.insert("contacts".into(), Value::Array(contacts));
    }
    if resource == "crm/customers" {
        let mut locations = Vec::new();
        for (at, extra) in extras.iter().enumerate() {
            if extra.resource == "crm/locations" {
                let mut doc = extra_docs[at].clone();
                doc["contacts"] = Value::Array(owned_by(related::Owner::Extra(at)));
                locations.push(doc);
            }
        }
        given.insert("locations".into(), Value::Array(locations));
    }

    let mut schemas = serving_schemas(state.catalog, resource);
    if let Some(s) = &m.op.response_schema {
        schemas.push((m.op.module.clone(), json!({ "$ref": s })));
    }
    let mut doc = ctx.build(&schemas, &given);
    // Resources whose ids are GUIDs (CRM contacts) carry one derived from the record id.
    if doc.get("id").is_some_and(Value::is_string) {
        doc.insert("id".into(), fieldgate_sample::guid_for(first).into());
    }
    written.insert(
        0,
        (
            resource.to_string(),
            record_from(first, m.parent_id()?, now_us, now_us, &doc),
        ),
    );
    state.store.put_record_set(dataset, &written).await?;
    tracing::info!(
        resource,
        id = first,
        related = extras.len(),
        "record created"
    );
    Ok(respond(state, m, &doc))
}

pub async fn update(
    state: &AppState,
    dataset: Dataset,
    m: &Matched<'_>,
    bytes: &Bytes,
) -> Result<Response, ApiError> {
    let given = body(state, m, bytes)?;
    check_references(state, dataset, &given).await?;
    let resource = m.op.resource.as_str();
    let existing = m.find_record(state, dataset).await?;
    let id = existing.id;
    let Value::Object(mut doc) =
        serde_json::from_str::<Value>(&existing.doc).map_err(|_| ApiError::internal())?
    else {
        return Err(ApiError::internal());
    };

    let now_us = chrono::Utc::now().timestamp_micros();
    let ctx = Ctx {
        catalog: state.catalog,
        module: &m.op.module,
        now: format_time(now_us),
    };
    let schemas = serving_schemas(state.catalog, resource);
    for (name, value) in &given {
        if matches!(name.as_str(), "id" | "createdOn" | "modifiedOn") {
            continue;
        }
        let prop = schemas
            .iter()
            .find_map(|(_, s)| ctx.catalog.view(ctx.module, s).property(name).cloned());
        if let Some(prop) = prop {
            doc.insert(name.clone(), ctx.conform(&prop, Some(value)));
        }
    }
    doc.insert("modifiedOn".into(), ctx.now.clone().into());
    let record = record_from(id, existing.parent_id, existing.created_us, now_us, &doc);
    state
        .store
        .put_records(dataset, resource, std::slice::from_ref(&record))
        .await?;
    tracing::info!(resource, id, "record updated");
    Ok(respond(state, m, &doc))
}
