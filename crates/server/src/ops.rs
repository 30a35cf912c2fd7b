//! What operators and load balancers ask a node: is it up, can it serve, and its metrics.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;

use crate::state::AppState;

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics_handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok().map(|_| handle)
        })
        .as_ref()
}

/// `/healthz` and `/readyz`, added to every host so a load balancer can check any port.
pub fn health_routes<S: Clone + Send + Sync + 'static>(state: Arc<AppState>) -> Router<S> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

/// The operator listener: health, readiness and Prometheus metrics.
pub fn router(state: Arc<AppState>) -> Router {
    health_routes(state).route("/metrics", get(metrics))
}

/// The process is up and answering.
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// The store answers (its migrations ran when it opened), so requests can be served.
async fn readyz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let store = match state.store.tenant(0).await {
        Ok(_) => "ok",
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: the store does not answer");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "unavailable", "store": "unreachable"})),
            );
        }
    };
    let limits = if state.limiter.is_degraded() {
        "local (shared counters unreachable)"
    } else {
        "ok"
    };
    (
        StatusCode::OK,
        axum::Json(json!({"status": "ready", "store": store, "rateLimits": limits})),
    )
}

async fn metrics() -> impl IntoResponse {
    match metrics_handle() {
        Some(handle) => (StatusCode::OK, handle.render()),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "another metrics recorder is installed".to_string(),
        ),
    }
}
