//! The tenant console: a tenant admin connects apps per environment, issues, rotates, pauses
//! and restores client credentials, and reads the tenant's audit log. Every action names the
//! admin's own tenant; a client or connection of another tenant is "not found".

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use fieldgate_store::{AuditFilter, Environment, SecretSlot, TenantKind};
use secrecy::ExposeSecret;

use super::audit::{self, AuditView, Period};
use super::form::FormData;
use super::page::{Chrome, PageError, PagePath, form_error, render, when};
use super::scopes::{ScopeModule, grid};
use super::session::Admin;
use super::{WebState, notice};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/", get(home))
        .route("/connect", get(connect_page))
        .route("/connections", post(connect))
        .route("/connections/{app}/{env}/clients", post(issue_client))
        .route("/connections/{app}/{env}/disconnect", post(disconnect))
        .route("/clients/{id}/enable", post(enable))
        .route("/clients/{id}/disable", post(disable))
        .route("/clients/{id}/secrets", post(add_secret))
        .route("/clients/{id}/secrets/{slot}/retire", post(retire_secret))
        .route("/audit", get(tenant_audit))
}

struct TenantView {
    id: i64,
    name: String,
    kind: &'static str,
}

/// Credentials just made, shown once.
struct IssuedView {
    heading: &'static str,
    app: String,
    environment: String,
    client_id: String,
    secret: String,
}

struct SlotView {
    slot: u8,
    since: String,
}

struct ClientView {
    client_id: String,
    enabled: bool,
    slots: Vec<SlotView>,
    can_add_secret: bool,
    can_retire: bool,
}

struct ConnectionView {
    app_id: i64,
    app_name: String,
    environment: String,
    since: String,
    scope_list: Vec<String>,
    clients: Vec<ClientView>,
}

#[derive(Template)]
#[template(path = "console_home.html")]
struct HomePage {
    chrome: Chrome,
    notice: Option<String>,
    error: Option<String>,
    tenant: TenantView,
    issued: Option<IssuedView>,
    connections: Vec<ConnectionView>,
}

async fn home(
    State(state): State<WebState>,
    admin: Admin,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let notice = query.get("done").and_then(|d| notice(d));
    home_view(&state, &admin, None, notice).await
}

/// The console's start page: each connection with its clients.
async fn home_view(
    state: &WebState,
    admin: &Admin,
    issued: Option<IssuedView>,
    notice: Option<String>,
) -> Result<Response, PageError> {
    let control = admin.me.control(state);
    let tenant_id = admin.tenant.id;
    let clients = control.clients_of_tenant(tenant_id).await?;
    let mut connections = Vec::new();
    for c in control.connections_of_tenant(tenant_id).await? {
        let app_name = control.app(c.app_id).await.map(|a| a.name)?;
        let clients = clients
            .iter()
            .filter(|k| k.app_id == c.app_id && k.environment == c.environment)
            .map(|k| {
                let slots: Vec<SlotView> = k
                    .secrets
                    .iter()
                    .filter_map(|s| {
                        s.set_us.map(|at| SlotView {
                            slot: s.slot,
                            since: format!("set {}", when(at)),
                        })
                    })
                    .collect();
                ClientView {
                    client_id: k.client_id.clone(),
                    enabled: k.enabled,
                    can_add_secret: slots.len() < 2,
                    can_retire: slots.len() > 1,
                    slots,
                }
            })
            .collect();
        connections.push(ConnectionView {
            app_id: c.app_id,
            app_name,
            environment: c.environment.to_string(),
            since: when(c.created_us),
            scope_list: c.scopes,
            clients,
        });
    }
    let page = HomePage {
        chrome: admin.chrome(state, "Connections"),
        notice,
        error: None,
        tenant: TenantView {
            id: admin.tenant.id,
            name: admin.tenant.name.clone(),
            kind: match admin.tenant.kind {
                TenantKind::Customer => "customer: production and its integration copy",
                TenantKind::Developer => "developer sandbox: integration only",
            },
        },
        issued,
        connections,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The environments a tenant may connect apps in.
fn environments(kind: TenantKind) -> &'static [Environment] {
    match kind {
        TenantKind::Customer => &Environment::ALL,
        TenantKind::Developer => &[Environment::Integration],
    }
}

struct AppOffer {
    id: i64,
    name: String,
    developer: String,
    scopes: usize,
}

#[derive(Template)]
#[template(path = "console_connect.html")]
struct ConnectPage {
    chrome: Chrome,
    notice: Option<String>,
    error: Option<String>,
    app_id: String,
    app: Option<AppOffer>,
    environments: Vec<&'static str>,
    modules: Vec<ScopeModule>,
}

/// Looks an app up by id and offers its scopes, all ticked, to accept.
async fn connect_page(
    State(state): State<WebState>,
    admin: Admin,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let asked = query.get("app").map(|a| a.trim()).unwrap_or_default();
    connect_view(&state, &admin, asked, None, StatusCode::OK).await
}

async fn connect_view(
    state: &WebState,
    admin: &Admin,
    asked: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let control = admin.me.control(state);
    let mut page = ConnectPage {
        chrome: admin.chrome(state, "Connect an app"),
        notice: None,
        error,
        app_id: asked.to_string(),
        app: None,
        environments: environments(admin.tenant.kind)
            .iter()
            .map(|e| e.as_str())
            .collect(),
        modules: Vec::new(),
    };
    if !asked.is_empty() {
        let found = match asked.parse::<i64>() {
            Ok(id) => control.app(id).await.ok(),
            Err(_) => None,
        };
        match found {
            Some(app) => {
                let developer = control.developer(app.developer_id).await?;
                let all: HashSet<String> = app.scopes.iter().cloned().collect();
                page.modules = grid(state.app.catalog, Some(&app.scopes), &all);
                page.app = Some(AppOffer {
                    id: app.id,
                    name: app.name,
                    developer: developer.name,
                    scopes: app.scopes.len(),
                });
            }
            None if page.error.is_none() => {
                page.error = Some(format!("There is no app with id {asked}."));
                return Ok(render(StatusCode::NOT_FOUND, &page));
            }
            None => {}
        }
    }
    Ok(render(status, &page))
}

async fn connect(
    State(state): State<WebState>,
    admin: Admin,
    form: FormData,
) -> Result<Response, PageError> {
    let asked = form.text("app");
    let app_id: i64 = asked
        .parse()
        .map_err(|_| PageError::BadRequest(format!("`{asked}` is not an app id.")))?;
    let environment: Environment = form
        .text("environment")
        .parse()
        .map_err(PageError::BadRequest)?;
    let granted = form.all("scope");
    if granted.is_empty() {
        let error = Some("Tick at least one scope to grant.".to_string());
        return connect_view(&state, &admin, asked, error, StatusCode::BAD_REQUEST).await;
    }
    let control = admin.me.control(&state);
    if let Err(e) = control
        .connect_app(app_id, admin.tenant.id, environment, &granted)
        .await
    {
        let error = Some(form_error(e)?);
        return connect_view(&state, &admin, asked, error, StatusCode::BAD_REQUEST).await;
    }
    Ok(Redirect::to("/console?done=connected").into_response())
}

fn environment(text: &str) -> Result<Environment, PageError> {
    text.parse().map_err(|_| PageError::NotFound)
}

async fn issue_client(
    State(state): State<WebState>,
    admin: Admin,
    PagePath((app_id, env)): PagePath<(i64, String)>,
) -> Result<Response, PageError> {
    let environment = environment(&env)?;
    let control = admin.me.control(&state);
    // Only an app connected to this tenant in that environment gets credentials.
    let connected = control
        .connections_of_tenant(admin.tenant.id)
        .await?
        .into_iter()
        .any(|c| c.app_id == app_id && c.environment == environment);
    if !connected {
        return Err(PageError::NotFound);
    }
    let issued = control
        .issue_client(app_id, admin.tenant.id, environment)
        .await?;
    let app = control.app(app_id).await?;
    let view = IssuedView {
        heading: "New client credentials",
        app: app.name,
        environment: environment.to_string(),
        client_id: issued.client_id,
        secret: issued.client_secret.expose_secret().to_string(),
    };
    let notice = Some("Client credentials are issued.".to_string());
    home_view(&state, &admin, Some(view), notice).await
}

async fn disconnect(
    State(state): State<WebState>,
    admin: Admin,
    PagePath((app_id, env)): PagePath<(i64, String)>,
) -> Result<Response, PageError> {
    let environment = environment(&env)?;
    let control = admin.me.control(&state);
    let connected = control
        .connections_of_tenant(admin.tenant.id)
        .await?
        .into_iter()
        .any(|c| c.app_id == app_id && c.environment == environment);
    if !connected {
        return Err(PageError::NotFound);
    }
    control
        .disconnect(app_id, admin.tenant.id, environment)
        .await?;
    Ok(Redirect::to("/console?done=disconnected").into_response())
}

async fn set_enabled(
    state: &WebState,
    admin: &Admin,
    client_id: &str,
    enabled: bool,
) -> Result<Response, PageError> {
    let control = admin.me.control(state);
    control.client_of_tenant(admin.tenant.id, client_id).await?;
    control.set_client_enabled(client_id, enabled).await?;
    let done = if enabled { "enabled" } else { "disabled" };
    Ok(Redirect::to(&format!("/console?done={done}")).into_response())
}

async fn enable(
    State(state): State<WebState>,
    admin: Admin,
    PagePath(id): PagePath<String>,
) -> Result<Response, PageError> {
    set_enabled(&state, &admin, &id, true).await
}

async fn disable(
    State(state): State<WebState>,
    admin: Admin,
    PagePath(id): PagePath<String>,
) -> Result<Response, PageError> {
    set_enabled(&state, &admin, &id, false).await
}

/// Fills the empty secret slot, for rotation: both secrets work until one is retired.
async fn add_secret(
    State(state): State<WebState>,
    admin: Admin,
    PagePath(id): PagePath<String>,
) -> Result<Response, PageError> {
    let control = admin.me.control(&state);
    let client = control.client_of_tenant(admin.tenant.id, &id).await?;
    let added = control.add_secret(&id).await?;
    let app = control.app(client.app_id).await?;
    let view = IssuedView {
        heading: "Another client secret",
        app: app.name,
        environment: client.environment.to_string(),
        client_id: client.client_id,
        secret: added.client_secret.expose_secret().to_string(),
    };
    let notice = Some(format!(
        "Secret {} is added; both secrets work until you retire one.",
        added.slot.number()
    ));
    home_view(&state, &admin, Some(view), notice).await
}

async fn retire_secret(
    State(state): State<WebState>,
    admin: Admin,
    PagePath((id, slot)): PagePath<(String, u8)>,
) -> Result<Response, PageError> {
    let slot = SecretSlot::from_number(slot).ok_or(PageError::NotFound)?;
    let control = admin.me.control(&state);
    control.client_of_tenant(admin.tenant.id, &id).await?;
    control.retire_secret(&id, slot).await?;
    Ok(Redirect::to("/console?done=retired").into_response())
}

#[derive(Template)]
#[template(path = "console_audit.html")]
struct AuditPage {
    chrome: Chrome,
    audit: AuditView,
}

async fn tenant_audit(
    State(state): State<WebState>,
    admin: Admin,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let period = Period::parse(&query).map_err(PageError::BadRequest)?;
    let events = admin
        .me
        .control(&state)
        .audit_events(AuditFilter {
            tenant_id: Some(admin.tenant.id),
            since_us: period.since_us,
            until_us: period.until_us,
            limit: audit::LIMIT,
            ..AuditFilter::default()
        })
        .await?;
    let page = AuditPage {
        chrome: admin.chrome(&state, "Audit log"),
        audit: AuditView::new("/console/audit".into(), &period, events),
    };
    Ok(render(StatusCode::OK, &page))
}
