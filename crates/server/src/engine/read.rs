//! Reads: paginated lists, bare arrays, get-by-id and export feeds.

use axum::Json;
use axum::response::{IntoResponse, Response};
use fieldgate_catalog::{Catalog, OpKind, Operation};
use fieldgate_store::{Dataset, ExportFrom, ExportQuery, Record};
use serde_json::{Map, Value, json};

use super::Matched;
use super::project::project;
use super::query::{Params, encode_token, export_from, list_query};
use crate::error::ApiError;
use crate::state::AppState;

/// Largest bare-array answer; such lists are small reference data in the real service.
const ARRAY_LIMIT: u32 = 5000;

fn parse_doc(record: &Record) -> Result<Value, ApiError> {
    serde_json::from_str(&record.doc).map_err(|e| {
        tracing::error!(id = record.id, error = %e, "stored record is not JSON");
        ApiError::internal()
    })
}

fn shape(
    catalog: &Catalog,
    op: &Operation,
    schema: Option<&str>,
    records: &[Record],
) -> Result<Vec<Value>, ApiError> {
    let schema = schema.map(|s| json!({ "$ref": s }));
    records
        .iter()
        .map(|r| {
            let doc = parse_doc(r)?;
            Ok(match &schema {
                Some(schema) => project(catalog, &op.module, schema, &doc),
                None => doc,
            })
        })
        .collect()
}

pub async fn list(
    state: &AppState,
    dataset: Dataset,
    m: &Matched<'_>,
    params: &Params,
) -> Result<Response, ApiError> {
    let op = m.op;
    let (mut query, page, page_size) = list_query(state.catalog, op, params)?;
    query.parent_id = m.parent_id()?;
    if op.kind == OpKind::Array {
        query.offset = 0;
        query.limit = ARRAY_LIMIT;
        query.include_total = false;
    }
    let found = state
        .store
        .list_records(dataset, &op.resource, &query)
        .await?;
    let data = shape(state.catalog, op, op.item_schema.as_deref(), &found.records)?;
    if op.kind == OpKind::Array {
        return Ok(Json(Value::Array(data)).into_response());
    }
    let mut body = Map::new();
    body.insert("page".into(), page.into());
    body.insert("pageSize".into(), page_size.into());
    body.insert("hasMore".into(), found.has_more.into());
    body.insert(
        "totalCount".into(),
        found.total.map_or(Value::Null, Value::from),
    );
    body.insert("data".into(), Value::Array(data));
    Ok(Json(Value::Object(body)).into_response())
}

pub async fn get(
    state: &AppState,
    dataset: Dataset,
    m: &Matched<'_>,
) -> Result<Response, ApiError> {
    let op = m.op;
    let record = m.find_record(state, dataset).await?;
    let mut data = shape(
        state.catalog,
        op,
        op.response_schema.as_deref(),
        std::slice::from_ref(&record),
    )?;
    Ok(Json(data.remove(0)).into_response())
}

pub async fn export(
    state: &AppState,
    dataset: Dataset,
    m: &Matched<'_>,
    params: &Params,
) -> Result<Response, ApiError> {
    let op = m.op;
    let from = export_from(params)?;
    if let Some(v) = params.get("includeRecentChanges") {
        super::query::parse_bool("includeRecentChanges", v)?;
    }
    let limit = state.config.export_page_size.max(1);
    let mut records = state
        .store
        .export_records(
            dataset,
            &op.resource,
            &ExportQuery {
                from,
                limit: limit + 1,
            },
        )
        .await?;
    let has_more = records.len() > limit as usize;
    records.truncate(limit as usize);

    // A page with records moves the token past its last record; an empty page hands back the
    // position it was asked for, so a client polling for changes can keep asking.
    let next = match records.last() {
        Some(last) => ExportFrom::After {
            modified_us: last.modified_us,
            id: last.id,
        },
        None => from,
    };
    let data = shape(state.catalog, op, op.item_schema.as_deref(), &records)?;
    let mut body = Map::new();
    body.insert("hasMore".into(), has_more.into());
    body.insert("continueFrom".into(), encode_token(next).into());
    body.insert("data".into(), Value::Array(data));
    Ok(Json(Value::Object(body)).into_response())
}
