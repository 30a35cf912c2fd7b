//! The admin API's refresh routes, as a router the admin API nests (under `/admin/v1` or the
//! like). The caller's authentication layer puts the [`Actor`] in the request's extensions;
//! an operator may act on every tenant, a tenant admin (`admin:{user}@{tenant}`) on their own.
//!
//! | route | does |
//! |---|---|
//! | `GET /tenants/{tenant}/integration` | settings, and the text to confirm a refresh with |
//! | `PATCH /tenants/{tenant}/integration` | `{source, masked, minIntervalSecs}` |
//! | `POST /tenants/{tenant}/refresh` | `{source?, masked?, force?}` → 202 with the job |
//! | `GET /tenants/{tenant}/refresh` | the tenant's jobs, newest first |
//! | `GET /refresh/jobs` | every tenant's jobs (operators) |
//! | `GET /refresh/jobs/{id}` | one job's progress view |
//! | `POST /refresh/jobs/{id}/retry` | `{force?}`: requests a failed job again |

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{JobView, Refresh, RefreshError, RefreshRequest, SettingsChange};
use super::{is_operator, now_us};
use crate::admin::{optional_body, parse_id};
use crate::control::Actor;
use crate::error::{ApiError, new_trace_id};
use crate::state::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/tenants/{tenant}/integration",
            get(get_settings).patch(patch_settings),
        )
        .route("/tenants/{tenant}/refresh", post(request).get(tenant_jobs))
        .route("/refresh/jobs", get(all_jobs))
        .route("/refresh/jobs/{id}", get(job))
        .route("/refresh/jobs/{id}/retry", post(retry))
        .with_state(state)
}

impl From<RefreshError> for ApiError {
    fn from(e: RefreshError) -> Self {
        let message = e.to_string();
        match e {
            RefreshError::NoTenant(_) | RefreshError::NoJob(_) => ApiError::not_found(message),
            RefreshError::Busy { .. }
            | RefreshError::NotRetryable { .. }
            | RefreshError::Superseded { .. } => ApiError::new(StatusCode::CONFLICT, message),
            RefreshError::TooSoon { wait_secs, .. } => {
                // The message ends "Try again in N seconds.", as every 429 title does.
                let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, message);
                error.retry_after = Some(wait_secs as u64);
                error
            }
            RefreshError::ForceNeedsOperator => ApiError::forbidden(message),
            RefreshError::NoProduction(_) => {
                ApiError::bad_request(message.clone()).with_error("source", message)
            }
            RefreshError::Invalid(field, _) => {
                ApiError::bad_request(message.clone()).with_error(field, message)
            }
            RefreshError::Store(e) => e.into(),
        }
    }
}

/// Errors of this router, with a trace id the log line carries too.
struct Failure(ApiError);

impl<E: Into<ApiError>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut error = self.0;
        if error.trace_id.is_empty() {
            error.trace_id = new_trace_id();
        }
        tracing::info!(status = error.status, title = %error.title, trace_id = %error.trace_id, "refresh request refused");
        error.into_response()
    }
}

type Answer = Result<Response, Failure>;

fn actor(found: Option<Extension<Actor>>) -> Result<Actor, Failure> {
    found.map(|Extension(a)| a).ok_or_else(|| {
        Failure(ApiError::unauthorized(
            "Sign in to manage integration refreshes.",
        ))
    })
}

/// An operator may act on any tenant; a tenant admin only on their own.
fn may_act(actor: &Actor, tenant: i64) -> Result<(), Failure> {
    if is_operator(actor) || actor.name.ends_with(&format!("@{tenant}")) {
        return Ok(());
    }
    Err(Failure(ApiError::forbidden(format!(
        "{} may not manage the integration copy of tenant {tenant}.",
        actor.name
    ))))
}

fn body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, Failure> {
    optional_body(bytes).map_err(Failure)
}

fn service<'a>(state: &'a AppState, actor: Actor) -> Refresh<'a> {
    Refresh {
        store: state.store.as_ref(),
        config: state.refresh.config(),
        actor,
    }
}

async fn get_settings(
    State(state): State<Arc<AppState>>,
    who: Option<Extension<Actor>>,
    Path(tenant): Path<String>,
) -> Answer {
    let tenant = parse_id("tenant", &tenant)?;
    let actor = actor(who)?;
    may_act(&actor, tenant)?;
    let refresh = service(&state, actor);
    let settings = refresh.settings(tenant).await?;
    Ok(Json(refresh.settings_view(&settings).await?).into_response())
}

async fn patch_settings(
    State(state): State<Arc<AppState>>,
    who: Option<Extension<Actor>>,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Answer {
    let tenant = parse_id("tenant", &tenant)?;
    let actor = actor(who)?;
    may_act(&actor, tenant)?;
    let change: SettingsChange = body(&bytes)?;
    if change.min_interval_secs.is_some() && !is_operator(&actor) {
        return Err(Failure(ApiError::forbidden(
            "Only an operator can change the minimum interval between refreshes.",
        )));
    }
    let refresh = service(&state, actor);
    let settings = refresh.change_settings(tenant, &change).await?;
    Ok(Json(refresh.settings_view(&settings).await?).into_response())
}

/// 202 with the job, and its progress view's path as `Location`: the path this router is
/// mounted at (what precedes `marker` in the request's path) and `/refresh/jobs/{id}`.
fn accepted(view: JobView, uri: &OriginalUri, marker: &str) -> Response {
    let path = uri.path();
    let base = path.rfind(marker).map_or("", |at| &path[..at]);
    let location = format!("{base}/refresh/jobs/{}", view.id);
    let mut response = (StatusCode::ACCEPTED, Json(view)).into_response();
    if let Ok(v) = location.parse() {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

async fn request(
    State(state): State<Arc<AppState>>,
    who: Option<Extension<Actor>>,
    uri: OriginalUri,
    Path(tenant): Path<String>,
    bytes: Bytes,
) -> Answer {
    let tenant = parse_id("tenant", &tenant)?;
    let actor = actor(who)?;
    may_act(&actor, tenant)?;
    let request: RefreshRequest = body(&bytes)?;
    let job = service(&state, actor).request(tenant, &request).await?;
    state.refresh.wake();
    Ok(accepted(
        JobView::of(&job, now_us(), true),
        &uri,
        "/tenants/",
    ))
}

#[derive(Debug, Deserialize)]
struct Listing {
    limit: Option<String>,
}

impl Listing {
    /// How many jobs to list: 1 to 500, 50 when not said.
    fn limit(&self) -> Result<u32, Failure> {
        let Some(text) = &self.limit else {
            return Ok(50);
        };
        match text.parse::<u32>() {
            Ok(n @ 1..=500) => Ok(n),
            _ => Err(Failure(ApiError::field(
                "limit",
                format!("`{text}` is not a number from 1 to 500"),
            ))),
        }
    }
}

async fn tenant_jobs(
    State(state): State<Arc<AppState>>,
    who: Option<Extension<Actor>>,
    Path(tenant): Path<String>,
    Query(listing): Query<Listing>,
) -> Answer {
    let tenant = parse_id("tenant", &tenant)?;
    let actor = actor(who)?;
    may_act(&actor, tenant)?;
    let jobs = service(&state, actor)
        .jobs(Some(tenant), listing.limit()?)
        .await?;
    Ok(Json(json!({ "data": jobs })).into_response())
}

async fn all_jobs(
    State(state): State<Arc<AppState>>,
    who: Option<Extension<Actor>>,
    Query(listing): Query<Listing>,
) -> Answer {
    let actor = actor(who)?;
    if !is_operator(&actor) {
        return Err(Failure(ApiError::forbidden(
            "Only operators see every tenant's refreshes.",
        )));
    }
    let jobs = service(&state, actor).jobs(None, listing.limit()?).await?;
    Ok(Json(json!({ "data": jobs })).into_response())
}

async fn job(
    State(state): State<Arc<AppState>>,
    who: Option<Extension<Actor>>,
    Path(id): Path<String>,
) -> Answer {
    let id = parse_id("job", &id)?;
    let actor = actor(who)?;
    let view = service(&state, actor.clone()).job(id).await?;
    may_act(&actor, view.tenant_id)?;
    Ok(Json(view).into_response())
}

/// What a retry may add: `force` (operators) skips the minimum interval.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Retry {
    #[serde(default)]
    force: bool,
}

async fn retry(
    State(state): State<Arc<AppState>>,
    who: Option<Extension<Actor>>,
    uri: OriginalUri,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let id = parse_id("job", &id)?;
    let actor = actor(who)?;
    let retry: Retry = body(&bytes)?;
    let refresh = service(&state, actor.clone());
    let view = refresh.job(id).await?;
    may_act(&actor, view.tenant_id)?;
    let job = refresh.retry(id, retry.force).await?;
    state.refresh.wake();
    Ok(accepted(
        JobView::of(&job, now_us(), true),
        &uri,
        "/refresh/jobs/",
    ))
}
