//! The API host of one environment: every request goes through the gateway, then the resource
//! engine. Every failure, including the framework's own, answers an `ApiErrorResponse`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use fieldgate_catalog::OpKind;
use fieldgate_store::Dataset;
use tracing::Instrument;

use crate::engine::{self, query::Params};
use crate::error::{ApiError, new_trace_id};
use crate::gateway;
use crate::state::{AppState, EnvState};

#[derive(Clone)]
pub struct ApiState {
    pub app: Arc<AppState>,
    pub env: Arc<EnvState>,
    /// Off only in benchmarks that measure what the gateway costs.
    pub gateway: bool,
}

pub fn router(state: ApiState) -> Router {
    let limit = state.app.config.body_limit_bytes;
    let env = state.env.environment;
    let health = crate::ops::health_routes(state.app.clone());
    let documents = crate::openapi::routes(state.app.clone(), state.env.clone());
    Router::new()
        .merge(health)
        .merge(documents)
        .fallback(dispatch)
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(move |req, next| {
            api_errors(env, req, next)
        }))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::internal().into_response()
        }))
}

async fn dispatch(
    State(state): State<ApiState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let app = state.app.as_ref();
    let matched = app.routes.find(app.catalog, &method, uri.path())?;
    let op = matched.op;
    let span = tracing::Span::current();
    span.record("route", op.path.as_str());
    span.record("tenant", matched.tenant);

    if state.gateway {
        let principal = gateway::check(app, &state.env, &headers, op, matched.tenant).await?;
        span.record("app", principal.app_id);
    }
    if !engine::served(op) {
        return Err(matched.not_implemented());
    }

    let dataset = Dataset::new(state.env.environment, matched.tenant);
    let params = Params::parse(uri.query());
    match op.kind {
        OpKind::List | OpKind::Array => engine::list(app, dataset, &matched, &params).await,
        OpKind::Get => engine::get(app, dataset, &matched).await,
        OpKind::Export => engine::export(app, dataset, &matched, &params).await,
        OpKind::Create | OpKind::Update => {
            let json = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
            if !json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Send the request body as application/json.",
                ));
            }
            if op.kind == OpKind::Create {
                engine::create(app, dataset, &matched, &body).await
            } else {
                engine::update(app, dataset, &matched, &body).await
            }
        }
        OpKind::Other => Err(matched.not_implemented()),
    }
}

/// Gives each request a trace id, and turns every failure into an `ApiErrorResponse` carrying
/// it, logged with the same id.
async fn api_errors(env: fieldgate_store::Environment, req: Request, next: Next) -> Response {
    let trace_id = new_trace_id();
    let span = tracing::info_span!(
        "api",
        %env,
        trace_id = %trace_id,
        method = %req.method(),
        route = tracing::field::Empty,
        tenant = tracing::field::Empty,
        app = tracing::field::Empty,
    );
    let response = next.run(req).instrument(span.clone()).await;
    let status = response.status();
    metrics::counter!("fieldgate_api_responses_total", "env" => env.as_str(), "status" => status_class(status)).increment(1);
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }

    let error = match response.extensions().get::<ApiError>() {
        Some(e) => e.clone(),
        // The framework's own refusals (body too large, unreadable body) get the API's format.
        None => ApiError::new(
            status,
            status.canonical_reason().unwrap_or("Request failed."),
        ),
    }
    .with_trace(&trace_id);
    span.in_scope(|| {
        if status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED {
            tracing::error!(status = status.as_u16(), title = %error.title, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), title = %error.title, "request refused");
        }
    });
    let mut out = error.into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = response.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "2xx",
        401 => "401",
        403 => "403",
        404 => "404",
        429 => "429",
        400..=499 => "4xx",
        501 => "501",
        _ => "5xx",
    }
}
