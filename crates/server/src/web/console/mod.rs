//! The tenant console: a tenant admin connects apps per environment, issues, rotates, pauses
//! and restores client credentials, chooses what the integration copy holds and asks for it
//! to be refreshed, and reads the tenant's audit log. Every action names the
//! admin's own tenant; a client or connection of another tenant is "not found".

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use fieldgate_store::{AuditFilter, Environment, SecretSlot};
use secrecy::ExposeSecret;

use super::WebState;
use super::audit::{self, AuditView, Period};
use super::form::FormData;
use super::page::{Chrome, PageError, PagePath, form_error, render};
use super::session::Admin;
use crate::control::Control;

mod pages;
mod refresh;

use pages::{IssuedView, connect_page, connect_view, home, home_view};

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
        .route("/integration", post(refresh::change_settings))
        .route(
            "/refresh",
            get(refresh::confirm_page).post(refresh::request),
        )
        .route("/refresh/jobs/{id}", get(refresh::job_json))
        .route("/refresh/jobs/{id}/retry", post(refresh::retry))
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

/// Only a connection of this tenant can be acted on; any other is "not found".
async fn connected(
    control: &Control<'_>,
    tenant_id: i64,
    app_id: i64,
    environment: Environment,
) -> Result<(), PageError> {
    let found = control
        .connections_of_tenant(tenant_id)
        .await?
        .into_iter()
        .any(|c| c.app_id == app_id && c.environment == environment);
    if found {
        Ok(())
    } else {
        Err(PageError::NotFound)
    }
}

async fn issue_client(
    State(state): State<WebState>,
    admin: Admin,
    PagePath((app_id, env)): PagePath<(i64, String)>,
) -> Result<Response, PageError> {
    let environment = environment(&env)?;
    let control = admin.me.control(&state);
    connected(&control, admin.tenant.id, app_id, environment).await?;
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
    connected(&control, admin.tenant.id, app_id, environment).await?;
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
