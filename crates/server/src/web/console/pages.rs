//! The console's two pages with state: the tenant's connections with their clients and its
//! integration data, and the page that offers an app's scopes to connect it.

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use fieldgate_store::{Environment, TenantKind};

use super::refresh::{IntegrationView, integration_view};
use crate::web::page::{Chrome, PageError, render, when};
use crate::web::scopes::{ScopeModule, grid};
use crate::web::session::Admin;
use crate::web::{WebState, notice};

struct TenantView {
    id: i64,
    name: String,
    kind: &'static str,
}

/// Credentials just made, shown once.
pub(super) struct IssuedView {
    pub(super) heading: &'static str,
    pub(super) app: String,
    pub(super) environment: String,
    pub(super) client_id: String,
    pub(super) secret: String,
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
    integration: IntegrationView,
}

pub(super) async fn home(
    State(state): State<WebState>,
    admin: Admin,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let notice = query.get("done").and_then(|d| notice(d));
    home_view(&state, &admin, None, notice).await
}

/// The console's start page: each connection with its clients.
pub(super) async fn home_view(
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
        integration: integration_view(state, admin).await?,
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
pub(super) async fn connect_page(
    State(state): State<WebState>,
    admin: Admin,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let asked = query.get("app").map(|a| a.trim()).unwrap_or_default();
    connect_view(&state, &admin, asked, None, StatusCode::OK).await
}

pub(super) async fn connect_view(
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
