//! The auth host of one environment: `POST /connect/token` (client credentials, RFC 6749 §4.4)
//! and the discovery documents.

use std::collections::HashSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Extension, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::control::{APP_KEY_PURPOSE, SECRET_PURPOSE};
use crate::crypto::digests_match;
use crate::keys::Claims;
use crate::state::{AppState, EnvState};

#[derive(Clone)]
pub struct AuthState {
    pub app: Arc<AppState>,
    pub env: Arc<EnvState>,
}

pub fn router(state: AuthState) -> Router {
    let health = crate::ops::health_routes(state.app.clone());
    Router::new()
        .merge(health)
        .route("/connect/token", any(token))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/jwks", get(jwks))
        .fallback(|| async {
            OAuthError::new(
                StatusCode::NOT_FOUND,
                "invalid_request",
                "no such endpoint on the auth host",
            )
        })
        .method_not_allowed_fallback(|| async {
            OAuthError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "use GET here",
            )
        })
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(TOKEN_BODY_LIMIT))
}

/// A token request is a few hundred bytes; anything near this is not one.
const TOKEN_BODY_LIMIT: usize = 16 * 1024;

/// An RFC 6749 §5.2 error.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    basic_challenge: bool,
    retry_after: Option<u64>,
    /// Methods for the `Allow` header of a 405.
    allow: Option<&'static str>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
            allow: None,
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// `invalid_client`: 401 with a Basic challenge when the client used HTTP Basic.
    fn invalid_client(basic: bool, description: impl Into<String>) -> Self {
        let status = if basic {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        Self {
            status,
            error: "invalid_client",
            description: description.into(),
            basic_challenge: basic,
            retry_after: None,
            allow: None,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.error, "error_description": self.description});
        let mut response = (self.status, axum::Json(body)).into_response();
        no_store(response.headers_mut());
        if self.basic_challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"fieldgate\""),
            );
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            // Only the token endpoint takes POST; the discovery documents take GET.
            let allow = if self.description.contains("POST") {
                "POST"
            } else {
                "GET"
            };
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// How the client authenticated.
struct Credentials {
    client_id: String,
    client_secret: String,
    basic: bool,
}

/// The form body as name → value; a parameter sent twice is an error (RFC 6749 §3.2).
fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in form_urlencoded::parse(body) {
        if params.iter().any(|(n, _)| *n == name) {
            return Err(OAuthError::invalid_request(format!(
                "parameter `{name}` is repeated"
            )));
        }
        params.push((name.into_owned(), value.into_owned()));
    }
    Ok(params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// HTTP Basic per RFC 6749 §2.3.1: base64, split at the first `:`, then form-decode each half.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(OAuthError::invalid_request(
            "the Authorization header must use the Basic scheme",
        ));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_request(
            "the Authorization header must use the Basic scheme",
        ));
    }
    let invalid = || {
        OAuthError::invalid_client(
            true,
            "the Basic credentials are not valid base64 of id:secret",
        )
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    let form_decode = |s: &str| -> String {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((form_decode(id), form_decode(secret))))
}

async fn token(
    State(state): State<AuthState>,
    method: Method,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string())
        .filter(|_| state.app.config.limits.trust_forwarded_for);
    let address = forwarded
        .unwrap_or_else(|| peer.map_or_else(|| "unknown".to_string(), |p| p.0.0.ip().to_string()));
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let error =
                OAuthError::new(rejection.status(), "invalid_request", rejection.body_text());
            return error.into_response();
        }
    };
    match issue(&state, &method, &headers, &body, &address).await {
        Ok(response) => response,
        Err(e) => {
            tracing::info!(env = %state.env.environment, error = e.error, reason = %e.description, "token refused");
            e.into_response()
        }
    }
}

async fn issue(
    state: &AuthState,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    address: &str,
) -> Result<Response, OAuthError> {
    if method != Method::POST {
        let mut error = OAuthError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "the token endpoint accepts POST with a form body only",
        );
        error.allow = Some("POST");
        return Err(error);
    }
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let params = parse_form(body)?;

    let credentials = match (basic_credentials(headers)?, param(&params, "client_secret")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method: HTTP Basic or client_id/client_secret in the body, not both",
            ));
        }
        (Some((client_id, client_secret)), None) => {
            if param(&params, "client_id").is_some_and(|body_id| body_id != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from HTTP Basic",
                ));
            }
            Credentials {
                client_id,
                client_secret,
                basic: true,
            }
        }
        (None, Some(secret)) => Credentials {
            client_id: param(&params, "client_id")
                .ok_or_else(|| OAuthError::invalid_request("client_id is missing"))?
                .to_string(),
            client_secret: secret.to_string(),
            basic: false,
        },
        (None, None) => {
            return Err(OAuthError::invalid_client(
                false,
                "client authentication is missing: send client_id and client_secret",
            ));
        }
    };

    match param(&params, "grant_type") {
        None => return Err(OAuthError::invalid_request("grant_type is missing")),
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type `{other}` is not supported; use client_credentials"),
            ));
        }
    }

    // Failed attempts per client id and per address are throttled; valid ones never count.
    let limiter = &state.app.limiter;
    if limiter.token_blocked(&credentials.client_id, address) {
        let mut error = OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            "too many failed attempts for this client or address; try again in 60 seconds",
        );
        error.retry_after = Some(60);
        return Err(error);
    }
    let app_key = headers
        .get("st-app-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let claims = match authenticate(state, &credentials, param(&params, "scope"), app_key).await {
        Ok(claims) => claims,
        Err(e) => {
            if e.error == "invalid_client" {
                limiter.token_failure(&credentials.client_id, address).await;
            }
            return Err(e);
        }
    };
    let token = state.env.ring().sign(&claims);
    let mut response = axum::Json(json!({
        "access_token": token,
        "expires_in": claims.exp - claims.iat,
        "token_type": "Bearer",
        "scope": claims.scope.join(" "),
    }))
    .into_response();
    no_store(response.headers_mut());
    Ok(response)
}

/// Checks the client and what it may do, and builds the token's claims.
async fn authenticate(
    state: &AuthState,
    c: &Credentials,
    scope: Option<&str>,
    app_key: Option<&str>,
) -> Result<Claims, OAuthError> {
    let store = state.app.store.as_ref();
    let internal = |e: fieldgate_store::StoreError| {
        tracing::error!(error = %e, "store failure at the token endpoint");
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "try again later",
        )
    };

    // The digest is computed whether or not the client exists, so unknown ids and wrong
    // secrets take the same time and get the same answer.
    let presented = state.app.keys.digest(SECRET_PURPOSE, &c.client_secret);
    let grant = store.client_grant(&c.client_id).await.map_err(internal)?;
    // Which slot matched, as the time its secret was set: the token names it, so retiring
    // that secret refuses the token too.
    let matched = grant.as_ref().and_then(|g| {
        let first = digests_match(&presented, g.client.secret1.as_deref());
        let second = digests_match(&presented, g.client.secret2.as_deref());
        let c = &g.client;
        match (first, second) {
            (true, _) => Some(c.secret1_us.unwrap_or(c.created_us)),
            (false, true) => Some(c.secret2_us.unwrap_or(c.created_us)),
            (false, false) => None,
        }
    });
    let Some((grant, secret_set_us)) = grant.zip(matched) else {
        return Err(OAuthError::invalid_client(
            c.basic,
            "the client id or secret is wrong",
        ));
    };
    let client = grant.client;

    let env = state.env.environment;
    if client.environment != env {
        return Err(OAuthError::invalid_client(
            c.basic,
            format!(
                "this client belongs to the {} environment; request tokens from its auth host",
                client.environment
            ),
        ));
    }
    let Some(connection_scopes) = grant.granted else {
        return Err(OAuthError::invalid_client(
            c.basic,
            format!(
                "the app was disconnected from tenant {}; a tenant admin must connect it again",
                client.tenant_id
            ),
        ));
    };
    if !client.enabled {
        return Err(OAuthError::invalid_client(
            c.basic,
            "this client is disabled; a tenant admin can enable it in the tenant console",
        ));
    }
    if !grant.app_key_live {
        return Err(OAuthError::invalid_client(
            c.basic,
            "the app has no app key that is still valid; its developer must regenerate it",
        ));
    }
    // The token request needs no app key, but one that is sent must be live and the app's.
    if let Some(app_key) = app_key
        && let Some(why) = app_key_refusal(state, app_key, client.app_id)
            .await
            .map_err(internal)?
    {
        return Err(OAuthError::invalid_client(c.basic, why));
    }
    let asked: HashSet<&str> = grant.app_scopes.iter().map(String::as_str).collect();
    let granted: Vec<String> = connection_scopes
        .into_iter()
        .filter(|s| asked.contains(s.as_str()))
        .collect();

    let scopes = match scope.map(str::trim).filter(|s| !s.is_empty()) {
        None => granted,
        Some(requested) => {
            let requested: Vec<String> = requested.split_whitespace().map(str::to_string).collect();
            let allowed: HashSet<&str> = granted.iter().map(String::as_str).collect();
            if let Some(missing) = requested.iter().find(|s| !allowed.contains(s.as_str())) {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    format!(
                        "scope {missing} was not granted to this app by tenant {}",
                        client.tenant_id
                    ),
                ));
            }
            requested
        }
    };

    let now = chrono::Utc::now().timestamp();
    Ok(Claims {
        iss: state.env.ring().issuer().to_string(),
        client_id: client.client_id,
        tenant: client.tenant_id.to_string(),
        scope: scopes,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        nbf: now,
        iat: now,
        exp: now + state.app.config.token_ttl_secs as i64,
        sv: Some(secret_set_us),
    })
}

/// Why an app key sent with a token request is refused, if it is.
async fn app_key_refusal(
    state: &AuthState,
    app_key: &str,
    app_id: i64,
) -> Result<Option<&'static str>, fieldgate_store::StoreError> {
    let digest = state.app.keys.digest(APP_KEY_PURPOSE, app_key);
    let key = state.app.store.app_key(&digest).await?;
    let now_us = chrono::Utc::now().timestamp_micros();
    Ok(match key {
        None => Some("the ST-App-Key is not a valid app key"),
        Some(k) if k.app_id != app_id => {
            Some("the ST-App-Key belongs to a different app than this client")
        }
        Some(k) if k.expires_us.is_some_and(|t| t <= now_us) => {
            Some("the ST-App-Key has expired; use the app's current key")
        }
        Some(_) => None,
    })
}

async fn discovery(State(state): State<AuthState>) -> impl IntoResponse {
    let ring = state.env.ring();
    let issuer = ring.issuer();
    axum::Json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/connect/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": state.app.catalog.all_scopes(),
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA"],
    }))
}

async fn jwks(State(state): State<AuthState>) -> impl IntoResponse {
    axum::Json(state.env.ring().jwks().clone())
}
