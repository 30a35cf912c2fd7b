//! Admin routes for tenants and their admins, developers, apps, app keys and the scope list.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Router, response::IntoResponse};
use fieldgate_store::{TenantKind, format_time};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;

use super::{AdminState, Caller, Json, created, optional_body, parse_id, view};
use crate::control::scope_groups;
use crate::error::ApiError;

type Answer = Result<Response, ApiError>;

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/admin/v1/tenants", get(tenants).post(create_tenant))
        .route("/admin/v1/tenants/{tenant}", get(tenant))
        .route(
            "/admin/v1/tenants/{tenant}/admins",
            get(tenant_admins).post(create_tenant_admin),
        )
        .route(
            "/admin/v1/developers",
            get(developers).post(create_developer),
        )
        .route("/admin/v1/developers/{developer}", get(developer))
        .route("/admin/v1/apps", get(apps).post(create_app))
        .route("/admin/v1/apps/{app}", get(app))
        .route(
            "/admin/v1/apps/{app}/keys",
            get(app_keys).post(regenerate_key),
        )
        .route("/admin/v1/scopes", get(scopes))
}

fn ok(value: serde_json::Value) -> Answer {
    Ok(axum::Json(value).into_response())
}

async fn tenants(State(s): State<AdminState>, Extension(c): Extension<Caller>) -> Answer {
    ok(view::list(&s.control(&c).tenants().await?, view::tenant))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewTenant {
    id: i64,
    name: String,
    #[serde(default)]
    kind: Option<TenantKind>,
}

async fn create_tenant(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Json(body): Json<NewTenant>,
) -> Answer {
    let kind = body.kind.unwrap_or(TenantKind::Customer);
    let tenant = s
        .control(&c)
        .create_tenant(body.id, &body.name, kind)
        .await?;
    Ok(created(view::tenant(&tenant)))
}

async fn tenant(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    let id = parse_id("tenant", &id)?;
    ok(view::tenant(&s.control(&c).tenant(id).await?))
}

async fn tenant_admins(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    let id = parse_id("tenant", &id)?;
    ok(view::list(
        &s.control(&c).tenant_admins(id).await?,
        view::user,
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewPerson {
    name: String,
    email: String,
    #[serde(default)]
    password: Option<String>,
}

async fn create_tenant_admin(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    Json(body): Json<NewPerson>,
) -> Answer {
    let id = parse_id("tenant", &id)?;
    let password = body
        .password
        .ok_or_else(|| ApiError::field("password", "a tenant admin needs a password"))?;
    let user = s
        .control(&c)
        .create_tenant_admin(id, &body.name, &body.email, &password)
        .await?;
    Ok(created(view::user(&user)))
}

async fn developers(State(s): State<AdminState>, Extension(c): Extension<Caller>) -> Answer {
    ok(view::list(
        &s.control(&c).developers().await?,
        view::developer,
    ))
}

/// With a password the developer can sign in to the portal; without, only operators act.
async fn create_developer(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Json(body): Json<NewPerson>,
) -> Answer {
    let control = s.control(&c);
    let value = match body.password {
        Some(password) => {
            let (developer, user) = control
                .sign_up_developer(&body.name, &body.email, &password)
                .await?;
            let mut value = view::developer(&developer);
            value["userId"] = json!(user.id);
            value
        }
        None => view::developer(&control.create_developer(&body.name, &body.email).await?),
    };
    Ok(created(value))
}

async fn developer(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    let id = parse_id("developer", &id)?;
    ok(view::developer(&s.control(&c).developer(id).await?))
}

async fn apps(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
) -> Answer {
    let control = s.control(&c);
    let apps = match query.get("developerId") {
        Some(id) => {
            let id = parse_id("developerId", id)?;
            control.developer(id).await?;
            control.apps_of_developer(id).await?
        }
        None => control.all_apps().await?,
    };
    ok(view::list(&apps, view::app))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewApp {
    developer_id: i64,
    name: String,
    scopes: Vec<String>,
}

async fn create_app(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Json(body): Json<NewApp>,
) -> Answer {
    let app = s
        .control(&c)
        .create_app(body.developer_id, &body.name, &body.scopes)
        .await?;
    Ok(created(view::app(&app)))
}

async fn app(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    let id = parse_id("app", &id)?;
    let control = s.control(&c);
    let mut value = view::app(&control.app(id).await?);
    let connections = control.connections_of_app(id).await?;
    value["connections"] = view::list(&connections, view::connection)["data"].take();
    ok(value)
}

async fn app_keys(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Answer {
    let id = parse_id("app", &id)?;
    ok(view::list(
        &s.control(&c).app_keys_of(id).await?,
        view::app_key,
    ))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Regenerate {
    /// How long older keys keep working; 0 (the default) ends them at once.
    #[serde(default)]
    grace_seconds: u64,
}

/// A new app key, shown once; older keys stop after the grace period.
async fn regenerate_key(
    State(s): State<AdminState>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let id = parse_id("app", &id)?;
    let grace = optional_body::<Regenerate>(&body)?.grace_seconds;
    let key = s
        .control(&c)
        .regenerate_app_key(id, Duration::from_secs(grace))
        .await?;
    let until = chrono::Utc::now().timestamp_micros() + grace as i64 * 1_000_000;
    Ok(created(json!({
        "appId": id,
        "appKey": key.expose_secret(),
        "hint": &key.expose_secret()[..8],
        "oldKeysExpireOn": format_time(until),
    })))
}

async fn scopes() -> Answer {
    ok(json!({"data": scope_groups()}))
}
