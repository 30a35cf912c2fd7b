//! Helpers both backends share, so they agree on encodings and error mapping.

use crate::{Environment, StoreError, TenantKind};

pub(crate) fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Scope lists are stored as JSON arrays of strings.
pub(crate) fn json_list(values: &[String]) -> String {
    serde_json::to_string(values).expect("strings serialize")
}

pub(crate) fn parse_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A unique violation becomes `Conflict(what)`; anything else stays a backend failure.
pub(crate) fn conflict_or(e: sqlx::Error, what: impl Into<String>) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.into()),
        _ => StoreError::Backend(e),
    }
}

pub(crate) fn environment(text: &str) -> Result<Environment, StoreError> {
    text.parse().map_err(StoreError::Invalid)
}

pub(crate) fn tenant_kind(text: &str) -> Result<TenantKind, StoreError> {
    match text {
        "customer" => Ok(TenantKind::Customer),
        "developer" => Ok(TenantKind::Developer),
        other => Err(StoreError::Invalid(format!("tenant kind {other}"))),
    }
}

/// Checks a property path. Names come from the catalog, but they end up in SQL text (SQLite's
/// JSON path), so anything beyond `[A-Za-z0-9_]` is refused all the same.
pub(crate) fn checked_path(path: &[String]) -> Result<&[String], StoreError> {
    for part in path {
        if part.is_empty() || !part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Invalid(format!("bad property name `{part}`")));
        }
    }
    Ok(path)
}
