//! Helpers both backends share, so they agree on encodings and error mapping.

use crate::{Environment, SecretSlot, StoreError, TenantKind};

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

/// The columns of a secret slot: its digest, when it was set, and the other slot's digest.
pub(crate) fn slot_columns(slot: SecretSlot) -> (&'static str, &'static str, &'static str) {
    match slot {
        SecretSlot::First => ("secret1", "secret1_us", "secret2"),
        SecretSlot::Second => ("secret2", "secret2_us", "secret1"),
    }
}

/// Why a secret slot could not be filled or emptied, from whether the client exists and
/// whether the slot holds a secret.
pub(crate) fn slot_refusal(
    client_id: &str,
    slot: SecretSlot,
    fill: bool,
    state: Option<bool>,
) -> StoreError {
    let n = slot.number();
    match (state, fill) {
        (None, _) => StoreError::NotFound(format!("client {client_id}")),
        (Some(_), true) => {
            StoreError::Conflict(format!("a secret in slot {n} of client {client_id}"))
        }
        (Some(false), false) => {
            StoreError::NotFound(format!("a secret in slot {n} of client {client_id}"))
        }
        (Some(true), false) => StoreError::Invalid(format!(
            "slot {n} holds the only secret of client {client_id}; add a second one before \
             retiring it"
        )),
    }
}
