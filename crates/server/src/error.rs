//! The API's error body, `ApiErrorResponse`, and the trace ids that tie it to the log.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// `{type,title,status,traceId,errors,data}` as the real service sends for every failure.
/// Boxed, so results that carry it stay small on the happy path.
#[derive(Debug, Clone, Serialize)]
pub struct ApiError(Box<ApiErrorBody>);

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub trace_id: String,
    pub errors: BTreeMap<String, Vec<String>>,
    pub data: Map<String, Value>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
    /// Methods for the `Allow` header of a 405.
    #[serde(skip)]
    pub allow: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, title: impl Into<String>) -> Self {
        Self(Box::new(ApiErrorBody {
            kind: type_uri(status),
            title: title.into(),
            status: status.as_u16(),
            trace_id: String::new(),
            errors: BTreeMap::new(),
            data: Map::new(),
            retry_after: None,
            allow: None,
        }))
    }

    pub fn bad_request(title: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, title)
    }

    /// A 400 naming one bad field, the way validation failures read.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        Self::bad_request("One or more validation errors occurred.").with_error(name, message)
    }

    pub fn unauthorized(title: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, title)
    }

    pub fn forbidden(title: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, title)
    }

    pub fn not_found(title: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, title)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An unexpected error occurred.",
        )
    }

    pub fn with_error(mut self, name: &str, message: impl Into<String>) -> Self {
        self.errors
            .entry(name.to_string())
            .or_default()
            .push(message.into());
        self
    }

    pub fn with_trace(mut self, trace_id: &str) -> Self {
        self.trace_id = trace_id.to_string();
        self
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl std::ops::Deref for ApiError {
    type Target = ApiErrorBody;

    fn deref(&self) -> &ApiErrorBody {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorBody {
        &mut self.0
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let retry_after = self.retry_after;
        let allow = self.allow.clone();
        // Kept on the response so the request middleware can stamp the trace id and log it.
        let keep = self.clone();
        let mut response = (status, axum::Json(self)).into_response();
        response.extensions_mut().insert(keep);
        if let Some(v) = allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            response.headers_mut().insert(header::ALLOW, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: a refused bearer token names the scheme to use.
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The `type` URIs ASP.NET problem details use, which the real service's bodies carry.
fn type_uri(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "https://tools.ietf.org/html/rfc7231#section-6.5.1",
        401 => "https://tools.ietf.org/html/rfc7235#section-3.1",
        403 => "https://tools.ietf.org/html/rfc7231#section-6.5.3",
        404 => "https://tools.ietf.org/html/rfc7231#section-6.5.4",
        405 => "https://tools.ietf.org/html/rfc7231#section-6.5.5",
        409 => "https://tools.ietf.org/html/rfc7231#section-6.5.8",
        413 => "https://tools.ietf.org/html/rfc7231#section-6.5.11",
        415 => "https://tools.ietf.org/html/rfc7231#section-6.5.13",
        429 => "https://tools.ietf.org/html/rfc6585#section-4",
        501 => "https://tools.ietf.org/html/rfc7231#section-6.6.2",
        503 => "https://tools.ietf.org/html/rfc7231#section-6.6.4",
        _ => "https://tools.ietf.org/html/rfc7231#section-6.6.1",
    }
}

/// A W3C-style trace id: 32 lowercase hex digits, fresh per request.
pub fn new_trace_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl From<fieldgate_store::StoreError> for ApiError {
    fn from(e: fieldgate_store::StoreError) -> Self {
        use fieldgate_store::StoreError;
        match e {
            StoreError::Conflict(what) => {
                ApiError::new(StatusCode::CONFLICT, format!("{what} already exists."))
            }
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} was not found.")),
            StoreError::Invalid(why) => ApiError::bad_request(why),
            StoreError::Replaced { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "This tenant's data was replaced (an integration refresh, or a reseed) after \
                 this continuation token was issued, so the export cannot continue where it \
                 was. Restart the walk without `from` (or from a date).",
            )
            .with_error(
                "from",
                "The continuation token belongs to a copy of the data that was replaced.",
            ),
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal()
            }
        }
    }
}
