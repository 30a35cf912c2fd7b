//! Reads: paginated lists, bare arrays, get-by-id and export feeds.
//!
//! Responses are written as text straight from the stored documents (see `project`), with the
//! envelope around them in the order the real service uses.

use std::fmt::Write;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use fieldgate_catalog::{OpKind, Operation};
use fieldgate_store::{Dataset, ExportFrom, ExportQuery, Record};

use super::Matched;
use super::cursor::{encode_token, export_from};
use super::query::{Params, list_query, parse_bool};
use crate::error::ApiError;
use crate::state::AppState;

/// Largest bare-array answer; such lists are small reference data in the real service.
const ARRAY_LIMIT: u32 = 5000;

fn json_response(body: String) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// Appends the records, projected onto `schema`, as a JSON array.
fn write_records(
    state: &AppState,
    op: &Operation,
    schema: Option<&str>,
    records: &[Record],
    out: &mut String,
) -> Result<(), ApiError> {
    let plan = schema.map(|s| state.plans.get(state.catalog, &op.module, s));
    out.push('[');
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let written = match &plan {
            Some(plan) => plan.write(&record.doc, out),
            None => {
                out.push_str(&record.doc);
                Ok(())
            }
        };
        written.map_err(|e| {
            tracing::error!(id = record.id, error = %e, "stored record is not JSON");
            ApiError::internal()
        })?;
    }
    out.push(']');
    Ok(())
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

    let mut body =
        String::with_capacity(256 + found.records.iter().map(|r| r.doc.len()).sum::<usize>());
    if op.kind == OpKind::Array {
        write_records(
            state,
            op,
            op.item_schema.as_deref(),
            &found.records,
            &mut body,
        )?;
        return Ok(json_response(body));
    }
    let total = found.total.map_or("null".to_string(), |t| t.to_string());
    let _ = write!(
        body,
        "{{\"page\":{page},\"pageSize\":{page_size},\"hasMore\":{},\"totalCount\":{total},\"data\":",
        found.has_more
    );
    write_records(
        state,
        op,
        op.item_schema.as_deref(),
        &found.records,
        &mut body,
    )?;
    body.push('}');
    Ok(json_response(body))
}

pub async fn get(
    state: &AppState,
    dataset: Dataset,
    m: &Matched<'_>,
) -> Result<Response, ApiError> {
    let op = m.op;
    let record = m.find_record(state, dataset).await?;
    let mut body = String::with_capacity(record.doc.len());
    match &op.response_schema {
        Some(schema) => state
            .plans
            .get(state.catalog, &op.module, schema)
            .write(&record.doc, &mut body)
            .map_err(|_| ApiError::internal())?,
        None => body.push_str(&record.doc),
    }
    Ok(json_response(body))
}

pub async fn export(
    state: &AppState,
    dataset: Dataset,
    m: &Matched<'_>,
    params: &Params,
) -> Result<Response, ApiError> {
    let op = m.op;
    let (from, generation) = export_from(&state.keys, dataset, &op.resource, params)?;
    if let Some(v) = params.get("includeRecentChanges") {
        parse_bool("includeRecentChanges", v)?;
    }
    let limit = state.config.export_page_size.max(1);
    // Read from one generation; a token of a replaced one answers 409 instead of a position
    // in a copy it was never part of.
    let (generation, mut records) = state
        .store
        .export_page(
            dataset,
            &op.resource,
            &ExportQuery {
                from,
                limit: limit + 1,
            },
            generation,
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
    let mut body = String::with_capacity(128 + records.iter().map(|r| r.doc.len()).sum::<usize>());
    let _ = write!(
        body,
        "{{\"hasMore\":{has_more},\"continueFrom\":\"{}\",\"data\":",
        encode_token(&state.keys, dataset, &op.resource, generation, next)
    );
    write_records(state, op, op.item_schema.as_deref(), &records, &mut body)?;
    body.push('}');
    Ok(json_response(body))
}
