//! The gateway in front of every API operation: app key, token, environment, tenant, app and
//! scope are all checked before any resource code runs.

use std::collections::HashSet;
use std::sync::Arc;

use axum::http::{HeaderMap, header};
use fieldgate_catalog::Operation;

use crate::control::APP_KEY_PURPOSE;
use crate::error::ApiError;
use crate::keys::{Claims, LEEWAY_SECS, UNKNOWN_KEY};
use crate::limits::Decision;
use crate::state::{AppState, EnvState, KnownClient};

/// Who is calling, once the gateway has let the request through.
#[derive(Debug, Clone)]
pub struct Principal {
    pub app_id: i64,
    pub client_id: String,
    pub tenant: i64,
}

/// The token from `Authorization`: `Bearer <t>` in any case, or the bare token.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => value,
    };
    (!token.is_empty()).then_some(token)
}

/// The token's claims: from the cache of verified tokens, or verified now.
async fn verified_claims(
    state: &AppState,
    env: &EnvState,
    token: &str,
) -> Result<Arc<(String, Claims)>, ApiError> {
    let refused = |why: &str| {
        ApiError::unauthorized(format!(
            "The access token is not accepted: {why} ({} API).",
            env.environment
        ))
    };
    let signature = token.rsplit('.').next().unwrap_or_default();
    if let Some(hit) = env.verified.get(signature).filter(|hit| hit.0 == token) {
        if hit.1.exp + LEEWAY_SECS as i64 <= chrono::Utc::now().timestamp() {
            return Err(refused("the token has expired"));
        }
        return Ok(hit);
    }
    let mut verified = env.ring().verify(token);
    // A key this node has not loaded yet may be another node's newer one.
    if verified.as_ref().is_err_and(|why| *why == UNKNOWN_KEY)
        && env
            .reload_keys(state.store.as_ref(), &state.keys)
            .await
            .unwrap_or(false)
    {
        verified = env.ring().verify(token);
    }
    let claims = verified.map_err(refused)?;
    let verified = Arc::new((token.to_string(), claims));
    env.verified.insert(signature.to_string(), verified.clone());
    Ok(verified)
}

pub async fn check(
    state: &AppState,
    env: &EnvState,
    headers: &HeaderMap,
    op: &Operation,
    tenant: i64,
) -> Result<Principal, ApiError> {
    let app_key = headers
        .get("st-app-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::unauthorized("The ST-App-Key header is missing."))?;
    let token = bearer(headers).ok_or_else(|| {
        ApiError::unauthorized("The Authorization header with an access token is missing.")
    })?;

    // Cached by the key as presented, so the common case computes no digest; the cache lives
    // in this process only and entries expire within a second.
    let key = match state.app_keys.get(app_key) {
        Some(cached) => cached,
        None => {
            let digest = state.keys.digest(APP_KEY_PURPOSE, app_key);
            let hint = crate::crypto::hex(&digest[..8]);
            let found = state.store.app_key(&digest).await?;
            let found = found.map(|k| (k.app_id, k.expires_us, Arc::<str>::from(hint)));
            state.app_keys.insert(app_key.to_string(), found.clone());
            found
        }
    };
    let now_us = chrono::Utc::now().timestamp_micros();
    let app_id = match key {
        Some((app_id, expires, _)) if expires.is_none_or(|t| t > now_us) => app_id,
        Some(_) => return Err(ApiError::unauthorized("The ST-App-Key has expired.")),
        None => {
            return Err(ApiError::unauthorized(
                "The ST-App-Key is not a valid app key.",
            ));
        }
    };

    let verified = verified_claims(state, env, token).await?;
    let claims = &verified.1;
    if claims.tenant != tenant.to_string() {
        return Err(ApiError::forbidden(format!(
            "The access token was issued for tenant {}, not tenant {tenant}.",
            claims.tenant
        )));
    }

    let client = match state.clients.get(&claims.client_id) {
        Some(cached) => cached,
        None => {
            let found = state.store.client_grant(&claims.client_id).await?.map(|g| {
                let granted: Option<HashSet<String>> = g.granted.map(|granted| {
                    granted
                        .into_iter()
                        .filter(|s| g.app_scopes.contains(s))
                        .collect()
                });
                let c = &g.client;
                let set = |digest: &Option<Vec<u8>>, at: Option<i64>| {
                    digest.as_ref().map(|_| at.unwrap_or(c.created_us))
                };
                Arc::new(KnownClient {
                    app_id: c.app_id,
                    enabled: c.enabled,
                    granted,
                    secrets: [set(&c.secret1, c.secret1_us), set(&c.secret2, c.secret2_us)],
                })
            });
            state
                .clients
                .insert(claims.client_id.clone(), found.clone());
            found
        }
    };
    let Some(client) = client else {
        return Err(ApiError::unauthorized(
            "The client of this access token no longer exists.",
        ));
    };
    // What the tenant grants now, not when the token was issued: a disconnect or a narrowed
    // grant reaches tokens already out within the cache's second.
    let Some(granted) = &client.granted else {
        return Err(ApiError::unauthorized(format!(
            "The app was disconnected from tenant {tenant}; its tokens are no longer accepted."
        )));
    };
    if !client.enabled {
        return Err(ApiError::unauthorized(
            "The client of this access token has been disabled.",
        ));
    }
    if !client.holds_secret(claims.sv) {
        return Err(ApiError::unauthorized(
            "The client secret this access token was issued for has been retired.",
        ));
    }
    if client.app_id != app_id {
        return Err(ApiError::unauthorized(
            "The ST-App-Key belongs to a different app than the client of this access token.",
        ));
    }
    if let Some(scope) = &op.scope
        && !(claims.scope.iter().any(|s| s == scope) && granted.contains(scope))
    {
        return Err(ApiError::forbidden(format!(
            "The access token lacks the scope {scope} that {} requires.",
            op.operation_id
        )));
    }
    let hint = key.as_ref().map(|k| k.2.clone()).unwrap_or_default();
    if let Decision::Deny { retry_after_secs } =
        state.limiter.check_request(&hint, app_id, tenant).await
    {
        let mut error = ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            format!("Rate limit is exceeded. Try again in {retry_after_secs} seconds."),
        );
        error.retry_after = Some(retry_after_secs);
        return Err(error);
    }
    Ok(Principal {
        app_id,
        client_id: claims.client_id.clone(),
        tenant,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_accepts_any_case_and_bare_tokens() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            bearer(&h).map(str::to_string)
        };
        assert_eq!(with("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("BEARER  abc ").as_deref(), Some("abc"));
        assert_eq!(with("abc").as_deref(), Some("abc"));
        assert_eq!(with("Basic abc"), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
