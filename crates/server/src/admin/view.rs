//! How the admin API writes the control plane's values: camelCase, times as the API writes
//! them (`2026-01-31T08:00:00.0000000Z`), and never a secret or a digest.

use fieldgate_store::{App, AuditEvent, Connection, Developer, Tenant, format_time};
use serde_json::{Value, json};

use crate::control::{AppKeyInfo, ClientInfo, User};

pub fn tenant(t: &Tenant) -> Value {
    json!({"id": t.id, "name": t.name, "kind": t.kind, "createdOn": format_time(t.created_us)})
}

pub fn developer(d: &Developer) -> Value {
    json!({"id": d.id, "name": d.name, "email": d.email, "createdOn": format_time(d.created_us)})
}

pub fn user(u: &User) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "role": u.role,
        "createdOn": format_time(u.created_us),
    })
}

pub fn app(a: &App) -> Value {
    json!({
        "id": a.id,
        "developerId": a.developer_id,
        "name": a.name,
        "scopes": a.scopes,
        "createdOn": format_time(a.created_us),
    })
}

pub fn app_key(k: &AppKeyInfo) -> Value {
    json!({
        "hint": k.hint,
        "createdOn": format_time(k.created_us),
        "expiresOn": k.expires_us.map(format_time),
        "active": k.active,
    })
}

pub fn connection(c: &Connection) -> Value {
    json!({
        "appId": c.app_id,
        "tenantId": c.tenant_id,
        "environment": c.environment,
        "scopes": c.scopes,
        "createdOn": format_time(c.created_us),
    })
}

pub fn client(c: &ClientInfo) -> Value {
    let secrets: Vec<Value> = c
        .secrets
        .iter()
        .map(|s| json!({"slot": s.slot, "setOn": s.set_us.map(format_time)}))
        .collect();
    json!({
        "clientId": c.client_id,
        "appId": c.app_id,
        "tenantId": c.tenant_id,
        "environment": c.environment,
        "enabled": c.enabled,
        "createdOn": format_time(c.created_us),
        "secrets": secrets,
    })
}

pub fn audit(e: &AuditEvent) -> Value {
    json!({
        "at": format_time(e.at_us),
        "actor": e.actor,
        "action": e.action,
        "tenantId": e.tenant_id,
        "appId": e.app_id,
        "environment": e.environment,
        "address": e.address,
        "detail": e.detail,
    })
}

/// A list as `{"data": [...]}`, so fields can be added beside it later.
pub fn list<T>(items: &[T], f: impl Fn(&T) -> Value) -> Value {
    json!({"data": items.iter().map(f).collect::<Vec<_>>()})
}
