//! Admin routes for connections, client credentials and their secrets, and the audit log.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use fieldgate_store::{AuditFilter, Environment, SecretSlot};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use super::{AdminState, Caller, Json, created, parse_id, parse_time, view};
use crate::error::ApiError;

type Answer = Result<Response, ApiError>;

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route(
            "/admin/v1/tenants/{tenant}/connections",
            get(connections).post(connect),
        )
        .route(
            "/admin/v1/tenants/{tenant}/connections/{app}/{environment}",
            delete(disconnect),
        )
        .route(
            "/admin/v1/tenants/{tenant}/clients",
            get(clients).post(issue_client),
        )
        .route("/admin/v1/clients/{client}", get(client))
        .route("/admin/v1/clients/{client}/secrets", post(add_secret))
        .route(
            "/admin/v1/clients/{client}/secrets/{slot}",
            delete(retire_secret),
        )
        .route("/admin/v1/clients/{client}/disable", post(disable))
        .route("/admin/v1/clients/{client}/enable", post(enable))
        .route("/admin/v1/audit", get(audit))
}

fn ok(value: serde_json::Value) -> Answer {
    Ok(axum::Json(value).into_response())
}

fn environment(field: &str, text: &str) -> Result<Environment, ApiError> {
    text.parse().map_err(|e: String| ApiError::field(field, e))
}

async fn connections(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(tenant): Path<String>,
) -> Answer {
    let tenant = parse_id("tenant", &tenant)?;
    let list = s.control(&c).connections_of_tenant(tenant).await?;
    ok(view::list(&list, view::connection))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Connect {
    app_id: i64,
    environment: String,
    /// The scopes the tenant grants; all the app asks for when left out.
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

async fn connect(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(tenant): Path<String>,
    Json(body): Json<Connect>,
) -> Answer {
    let tenant = parse_id("tenant", &tenant)?;
    let env = environment("environment", &body.environment)?;
    let control = s.control(&c);
    let app = control.app(body.app_id).await?;
    let scopes = body.scopes.unwrap_or_else(|| app.scopes.clone());
    let connection = control.connect(&app, tenant, env, &scopes).await?;
    Ok(created(view::connection(&connection)))
}

async fn disconnect(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path((tenant, app, env)): Path<(String, String, String)>,
) -> Answer {
    let tenant = parse_id("tenant", &tenant)?;
    let app = parse_id("app", &app)?;
    let env = environment("environment", &env)?;
    s.control(&c).disconnect(app, tenant, env).await?;
    ok(json!({"appId": app, "tenantId": tenant, "environment": env, "connected": false}))
}

async fn clients(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(tenant): Path<String>,
) -> Answer {
    let tenant = parse_id("tenant", &tenant)?;
    let list = s.control(&c).clients_of_tenant(tenant).await?;
    ok(view::list(&list, view::client))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewClient {
    app_id: i64,
    environment: String,
}

/// A client id and its first secret, shown once.
async fn issue_client(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(tenant): Path<String>,
    Json(body): Json<NewClient>,
) -> Answer {
    let tenant = parse_id("tenant", &tenant)?;
    let env = environment("environment", &body.environment)?;
    let control = s.control(&c);
    control.tenant(tenant).await?;
    let issued = control.issue_client(body.app_id, tenant, env).await?;
    Ok(created(json!({
        "clientId": issued.client_id,
        "clientSecret": issued.client_secret.expose_secret(),
        "appId": body.app_id,
        "tenantId": tenant,
        "environment": env,
    })))
}

async fn client(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    ok(view::client(&s.control(&c).client(&id).await?))
}

/// A second secret for rotation, shown once.
async fn add_secret(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    let issued = s.control(&c).add_secret(&id).await?;
    Ok(created(json!({
        "clientId": id,
        "slot": issued.slot.number(),
        "clientSecret": issued.client_secret.expose_secret(),
    })))
}

async fn retire_secret(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path((id, slot)): Path<(String, String)>,
) -> Answer {
    let slot = slot
        .parse()
        .ok()
        .and_then(SecretSlot::from_number)
        .ok_or_else(|| ApiError::field("slot", format!("`{slot}` is not a slot: 1 or 2")))?;
    let control = s.control(&c);
    control.retire_secret(&id, slot).await?;
    ok(view::client(&control.client(&id).await?))
}

async fn disable(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    let control = s.control(&c);
    control.set_client_enabled(&id, false).await?;
    ok(view::client(&control.client(&id).await?))
}

async fn enable(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    let control = s.control(&c);
    control.set_client_enabled(&id, true).await?;
    ok(view::client(&control.client(&id).await?))
}

/// `?tenantId=&appId=&since=&until=&limit=`, newest first.
async fn audit(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let known = ["tenantId", "appId", "since", "until", "limit"];
    if let Some(unknown) = q.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::field(
            unknown,
            format!("unknown filter; use {}", known.join(", ")),
        ));
    }
    let id = |name: &str| q.get(name).map(|v| parse_id(name, v)).transpose();
    let time = |name: &str| q.get(name).map(|v| parse_time(name, v)).transpose();
    let limit = match q.get("limit") {
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::field("limit", format!("`{v}` is not a number")))?,
        None => 0,
    };
    let filter = AuditFilter {
        tenant_id: id("tenantId")?,
        app_id: id("appId")?,
        since_us: time("since")?,
        until_us: time("until")?,
        limit,
    };
    let events = s.control(&c).audit_events(filter).await?;
    ok(view::list(&events, view::audit))
}
