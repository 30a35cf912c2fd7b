//! The developer portal: a developer's apps, their scopes and keys, who connected them, and
//! their audit log. Every page checks the app belongs to the signed-in developer; someone
//! else's app is "not found".

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use fieldgate_store::{App, AuditFilter};
use secrecy::ExposeSecret;

use super::audit::{self, AuditView, Period};
use super::form::FormData;
use super::page::{Chrome, PageError, PagePath, form_error, render, when};
use super::scopes::{ScopeModule, grid};
use super::session::Developer;
use super::{WebState, notice};
use crate::control::{Actor, Control};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/", get(apps))
        .route("/apps", post(create_app))
        .route("/apps/new", get(new_app))
        .route("/apps/{id}", get(app_page))
        .route("/apps/{id}/keys", post(regenerate_key))
        .route("/apps/{id}/audit", get(app_audit))
}

/// The longest grace period the form offers, in hours (the control plane's bound: 90 days).
const MAX_GRACE_HOURS: u64 = 90 * 24;

struct AppRow {
    id: i64,
    name: String,
    scopes: usize,
    connections: usize,
    created: String,
}

#[derive(Template)]
#[template(path = "portal_apps.html")]
struct AppsPage {
    chrome: Chrome,
    notice: Option<String>,
    error: Option<String>,
    apps: Vec<AppRow>,
}

async fn apps(State(state): State<WebState>, dev: Developer) -> Result<Response, PageError> {
    let control = dev.me.control(&state);
    let mut rows = Vec::new();
    for app in control.apps_of_developer(dev.developer_id).await? {
        rows.push(AppRow {
            connections: control.connections_of_app(app.id).await?.len(),
            id: app.id,
            scopes: app.scopes.len(),
            name: app.name,
            created: when(app.created_us),
        });
    }
    let page = AppsPage {
        chrome: dev.me.chrome(&state, "portal", "Your apps"),
        notice: None,
        error: None,
        apps: rows,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "portal_new_app.html")]
struct NewAppPage {
    chrome: Chrome,
    notice: Option<String>,
    error: Option<String>,
    name: String,
    modules: Vec<ScopeModule>,
}

async fn new_app(State(state): State<WebState>, dev: Developer) -> Result<Response, PageError> {
    let page = NewAppPage {
        chrome: dev.me.chrome(&state, "portal", "Create an app"),
        notice: None,
        error: None,
        name: String::new(),
        modules: grid(state.app.catalog, None, &HashSet::new()),
    };
    Ok(render(StatusCode::OK, &page))
}

/// Creates the app and its first key, and shows the key once.
async fn create_app(
    State(state): State<WebState>,
    dev: Developer,
    form: FormData,
) -> Result<Response, PageError> {
    let name = form.text("name");
    let scopes = form.all("scope");
    let control = dev.me.control(&state);
    let created = match control.create_app(dev.developer_id, name, &scopes).await {
        Ok(app) => app,
        Err(e) => {
            let ticked: HashSet<String> = scopes.into_iter().collect();
            let page = NewAppPage {
                chrome: dev.me.chrome(&state, "portal", "Create an app"),
                notice: None,
                error: Some(form_error(e)?),
                name: name.to_string(),
                modules: grid(state.app.catalog, None, &ticked),
            };
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
    };
    let key = control.issue_app_key(created.id).await?;
    let notice = format!("{} is created, with its first app key.", created.name);
    app_view(
        &state,
        &dev,
        &control,
        created,
        Some(key.expose_secret()),
        Some(notice),
    )
    .await
}

struct AppView {
    id: i64,
    name: String,
    created: String,
    scope_list: Vec<String>,
}

struct KeyRow {
    hint: String,
    created: String,
    expires: String,
}

struct ConnectionRow {
    tenant: String,
    environment: String,
    scopes: usize,
    since: String,
}

#[derive(Template)]
#[template(path = "portal_app.html")]
struct AppPage<'a> {
    chrome: Chrome,
    notice: Option<String>,
    error: Option<String>,
    app: AppView,
    new_key: Option<&'a str>,
    connect_link: String,
    keys: Vec<KeyRow>,
    max_grace_hours: u64,
    connections: Vec<ConnectionRow>,
}

async fn app_page(
    State(state): State<WebState>,
    dev: Developer,
    PagePath(id): PagePath<i64>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let control = dev.me.control(&state);
    let app = control.app_of_developer(dev.developer_id, id).await?;
    let notice = query.get("done").and_then(|d| notice(d));
    app_view(&state, &dev, &control, app, None, notice).await
}

/// The app's page; `new_key` is shown once, right after it was made.
async fn app_view(
    state: &WebState,
    dev: &Developer,
    control: &Control<'_>,
    app: App,
    new_key: Option<&str>,
    notice: Option<String>,
) -> Result<Response, PageError> {
    let now = chrono::Utc::now().timestamp_micros();
    let keys = control
        .app_keys_of(app.id)
        .await?
        .into_iter()
        .map(|k| KeyRow {
            hint: k.hint,
            created: when(k.created_us),
            expires: match k.expires_us {
                None => "no end".into(),
                Some(t) if t <= now => format!("stopped {}", when(t)),
                Some(t) => when(t),
            },
        })
        .collect();
    let mut connections = Vec::new();
    for c in control.connections_of_app(app.id).await? {
        let tenant = match control.tenant(c.tenant_id).await {
            Ok(t) => format!("{} ({})", t.name, t.id),
            Err(_) => c.tenant_id.to_string(),
        };
        connections.push(ConnectionRow {
            tenant,
            environment: c.environment.to_string(),
            scopes: c.scopes.len(),
            since: when(c.created_us),
        });
    }
    let page = AppPage {
        chrome: dev.me.chrome(state, "portal", &app.name),
        notice,
        error: None,
        connect_link: format!(
            "{}/console/connect?app={}",
            state.app.config.web_url, app.id
        ),
        app: AppView {
            id: app.id,
            created: when(app.created_us),
            scope_list: app.scopes,
            name: app.name,
        },
        new_key,
        keys,
        max_grace_hours: MAX_GRACE_HOURS,
        connections,
    };
    Ok(render(StatusCode::OK, &page))
}

/// A new key that works at once; the older ones keep working for the hours asked.
async fn regenerate_key(
    State(state): State<WebState>,
    dev: Developer,
    PagePath(id): PagePath<i64>,
    form: FormData,
) -> Result<Response, PageError> {
    let control = dev.me.control(&state);
    let app = control.app_of_developer(dev.developer_id, id).await?;
    let hours: u64 = form.text("grace_hours").parse().map_err(|_| {
        PageError::BadRequest("The grace period is a whole number of hours, 0 or more.".into())
    })?;
    if hours > MAX_GRACE_HOURS {
        return Err(PageError::BadRequest(format!(
            "The grace period is at most {MAX_GRACE_HOURS} hours (90 days)."
        )));
    }
    let key = control
        .regenerate_app_key(app.id, Duration::from_secs(hours * 3600))
        .await?;
    let notice = if hours == 0 {
        "A new key is made; the older keys stopped working.".to_string()
    } else {
        format!("A new key is made; the older keys keep working for {hours} hours.")
    };
    app_view(
        &state,
        &dev,
        &control,
        app,
        Some(key.expose_secret()),
        Some(notice),
    )
    .await
}

#[derive(Template)]
#[template(path = "portal_audit.html")]
struct AuditPage {
    chrome: Chrome,
    app_id: i64,
    app_name: String,
    audit: AuditView,
}

/// Everything that happened to the app: its keys, and tenants connecting it. Addresses are
/// shown only for the developer's own actions, not the tenants'.
async fn app_audit(
    State(state): State<WebState>,
    dev: Developer,
    PagePath(id): PagePath<i64>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let control = dev.me.control(&state);
    let app = control.app_of_developer(dev.developer_id, id).await?;
    let period = Period::parse(&query).map_err(PageError::BadRequest)?;
    let events = control
        .audit_events(AuditFilter {
            app_id: Some(app.id),
            since_us: period.since_us,
            until_us: period.until_us,
            limit: audit::LIMIT,
            ..AuditFilter::default()
        })
        .await?;
    let me = Actor::user(&dev.me.user, None).name;
    let mut view = AuditView::new(format!("/portal/apps/{id}/audit"), &period, events);
    for row in &mut view.events {
        if row.actor != me {
            row.address.clear();
        }
    }
    let page = AuditPage {
        chrome: dev.me.chrome(&state, "portal", "Audit log"),
        app_id: app.id,
        app_name: app.name,
        audit: view,
    };
    Ok(render(StatusCode::OK, &page))
}
