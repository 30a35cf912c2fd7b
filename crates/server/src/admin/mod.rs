//! The operator admin API: JSON over HTTP on its own listener (`admin_listen`), for scripts
//! and the `fieldgate` CLI. Every request needs `Authorization: Bearer <operator_token>`;
//! every failure answers the API's problem body (`{type,title,status,traceId,errors,data}`),
//! with the fields at fault under `errors` for a 400.
//!
//! Routes live under `/admin/v1`: tenants and their admins, developers, apps and app keys,
//! connections, clients and their secrets, the audit log, and (from a serving process) the
//! integration refresh routes of [`crate::refresh::api`], which act as the operator.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, Request};
pub use axum::http::Method;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use fieldgate_store::Store;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower::ServiceExt;
use tracing::Instrument;

use crate::control::{Actor, Control};
use crate::crypto::Keys;
use crate::error::{ApiError, new_trace_id};

mod clients;
mod people;
mod view;

/// What the admin handlers share.
#[derive(Clone)]
pub struct AdminState {
    pub store: Arc<dyn Store>,
    pub keys: Keys,
    /// `None` only for in-process calls ([`call`]), which need no token.
    pub operator_token: Option<SecretString>,
    /// The serving process's state, for the refresh routes (their jobs run in its runner);
    /// `None` for in-process calls, where `fieldgate refresh` works on the store itself.
    pub app: Option<Arc<crate::state::AppState>>,
}

impl AdminState {
    /// The control plane acting as the operator from `caller`.
    pub fn control(&self, caller: &Caller) -> Control<'_> {
        Control {
            store: self.store.as_ref(),
            keys: &self.keys,
            actor: Actor::operator_at(caller.0.clone()),
        }
    }
}

/// Where a request came from, for the audit log: the peer address, or `cli` in process.
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// The admin API with the operator-token check.
pub fn router(state: AdminState) -> Router {
    let token = state.operator_token.clone();
    routes(state)
        .layer(middleware::from_fn(move |req, next| {
            require_token(token.clone(), req, next)
        }))
        .layer(middleware::from_fn(problems))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::internal().into_response()
        }))
}

fn routes(state: AdminState) -> Router {
    let refresh = state.app.clone().map(crate::refresh::api::router);
    let router = Router::new()
        .merge(people::routes())
        .merge(clients::routes())
        .fallback(|| async { ApiError::not_found("No such admin API route.") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "This admin API route does not take that method.",
            )
        })
        .with_state(state);
    match refresh {
        Some(refresh) => router.nest("/admin/v1", refresh),
        None => router,
    }
}

/// Runs one admin API request in process, as the operator at `cli`: how the CLI works on the
/// store directly when no server is running. Answers the status and the JSON body.
pub async fn call(
    store: Arc<dyn Store>,
    keys: Keys,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let state = AdminState {
        store,
        keys,
        operator_token: None,
        app: None,
    };
    let app = routes(state).layer(middleware::from_fn(problems));
    let mut request = Request::builder().method(method).uri(path);
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let mut request = request.body(body).expect("a valid request");
    request.extensions_mut().insert(Caller("cli".into()));
    let response = app.oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

/// Refuses requests without the operator token (401). Digests of both sides are compared, in
/// constant time, so neither the token nor its length leaks through timing.
async fn require_token(token: Option<SecretString>, mut req: Request, next: Next) -> Response {
    let address = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
    let presented = bearer(req.headers());
    let valid = match (&token, presented) {
        (Some(expected), Some(presented)) => {
            let a = Sha256::digest(expected.expose_secret().as_bytes());
            let b = Sha256::digest(presented.as_bytes());
            bool::from(a.ct_eq(&b))
        }
        _ => false,
    };
    if !valid {
        let why = if presented.is_none() {
            "The admin API needs `Authorization: Bearer <operator token>`."
        } else {
            "The operator token is wrong."
        };
        tracing::info!(%address, "admin API request refused: operator token missing or wrong");
        return ApiError::unauthorized(why).into_response();
    }
    // The refresh routes read the actor from the extensions, as the console's do.
    req.extensions_mut()
        .insert(Actor::operator_at(address.clone()));
    req.extensions_mut().insert(Caller(address));
    next.run(req).await
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// Gives each request a trace id and a span, and every failure the problem body carrying it.
async fn problems(req: Request, next: Next) -> Response {
    let trace_id = new_trace_id();
    let span = tracing::info_span!(
        "admin",
        trace_id = %trace_id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let response = next.run(req).instrument(span.clone()).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let error = match response.extensions().get::<ApiError>() {
        Some(e) => e.clone(),
        None => ApiError::new(
            status,
            status.canonical_reason().unwrap_or("Request failed."),
        ),
    }
    .with_trace(&trace_id);
    span.in_scope(|| {
        tracing::info!(status = status.as_u16(), title = %error.title, "admin request refused");
    });
    let mut out = error.into_response();
    if let Some(v) = response.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, v.clone());
    }
    out
}

/// A JSON body; a missing or malformed one is a 400 in the problem format.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // axum checks the content type and the JSON; the shape is checked here, so that a
        // refusal names what was wrong, not serde's name for the Rust type.
        match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(value)) => from_object(value).map(Json),
            Err(rejection) => Err(body_error(rejection)),
        }
    }
}

fn body_error(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let text = rejection.body_text();
    if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return ApiError::new(status, "Send the request body as application/json.");
    }
    not_taken(text)
}

fn not_taken(why: impl Into<String>) -> ApiError {
    ApiError::bad_request("The request body is not what this route takes.").with_error("body", why)
}

/// A body's JSON as a route's fields: an object, whose fields serde checks.
fn from_object<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(not_taken(
            "The body must be a JSON object of the route's fields, such as {}.",
        ));
    }
    serde_json::from_value(value).map_err(|e| not_taken(e.to_string()))
}

/// A JSON body that may be left out, for routes whose every field has a default.
pub(crate) fn optional_body<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let value = serde_json::from_slice(body)
        .map_err(|e| not_taken(format!("The body is not JSON: {e}.")))?;
    from_object(value)
}

/// A path or query id that is not a number gets a 400 naming it, not a framework error.
pub(crate) fn parse_id(field: &str, text: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|e: std::num::ParseIntError| {
        use std::num::IntErrorKind::{NegOverflow, PosOverflow};
        let why = match e.kind() {
            PosOverflow | NegOverflow => format!("`{text}` is out of range for an id"),
            _ => format!("`{text}` is not a number"),
        };
        ApiError::field(field, why)
    })
}

/// A time bound: RFC 3339 (`2026-01-31T08:00:00Z`) or a date (`2026-01-31`, midnight UTC).
pub(crate) fn parse_time(field: &str, text: &str) -> Result<i64, ApiError> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_micros());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp_micros());
    }
    Err(ApiError::field(
        field,
        format!("`{text}` is not a time such as 2026-01-31T08:00:00Z or a date such as 2026-01-31"),
    ))
}

pub(crate) fn created(value: Value) -> Response {
    (StatusCode::CREATED, axum::Json(value)).into_response()
}
