//! Cookies: the session cookie of a signed-in user and the visitor cookie that binds the
//! sign-in form's CSRF token. Both are `HttpOnly` (scripts cannot read them) and
//! `SameSite=Lax` (other sites' forms do not carry them), and `Secure` when the web URL is
//! https. On a plain-http loopback URL they cannot be `Secure` (browsers would not send them
//! back), and need not be: loopback traffic never leaves the machine.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};
use fieldgate_store::Tenant;

use super::WebState;
use super::page::{Chrome, PageError};
use crate::control::{Actor, Control, Role, User};

/// Holds the session token; the store keeps only a keyed digest of it.
pub const SESSION_COOKIE: &str = "fg_session";
/// A random value that exists only to bind the signed-out forms' CSRF token.
pub const VISITOR_COOKIE: &str = "fg_visitor";

/// The value of a cookie the browser sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_string())
}

/// A `Set-Cookie` value. Without `max_age` the cookie ends with the browser session.
pub fn set_cookie(name: &str, value: &str, max_age: Option<Duration>, secure: bool) -> HeaderValue {
    let mut built = Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure);
    if let Some(age) = max_age {
        built = built.max_age(cookie::time::Duration::seconds(age.as_secs() as i64));
    }
    HeaderValue::from_str(&built.build().to_string()).expect("cookie values are header-safe")
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(name: &str, secure: bool) -> HeaderValue {
    set_cookie(name, "", Some(Duration::ZERO), secure)
}

/// The visitor cookie the browser holds, or a new one with the header that sets it.
pub fn visitor(headers: &HeaderMap, secure: bool) -> (String, Option<HeaderValue>) {
    match cookie(headers, VISITOR_COOKIE) {
        Some(existing) => (existing, None),
        None => {
            let fresh = crate::crypto::random_string(32);
            let header = set_cookie(VISITOR_COOKIE, &fresh, None, secure);
            (fresh, Some(header))
        }
    }
}

/// Someone signed in, as read from the session cookie on every request.
pub struct SignedIn {
    pub user: User,
    /// The session token from the cookie; never logged, never shown.
    token: String,
    /// The request's source address, for the audit log.
    pub address: String,
}

impl SignedIn {
    /// The control plane acting as this person, so the audit log names them.
    pub fn control<'a>(&self, state: &'a WebState) -> Control<'a> {
        state.control(Actor::user(&self.user, Some(self.address.clone())))
    }

    /// The layout for this person's pages, with the session's CSRF token.
    pub fn chrome(&self, state: &WebState, section: &'static str, title: &str) -> Chrome {
        Chrome {
            title: title.to_string(),
            section,
            user: Some(format!("{} ({})", self.user.name, self.user.email)),
            tenant: None,
            csrf: state.control(Actor::operator()).csrf_token(&self.token),
        }
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// Where this person's pages start.
    pub fn home(&self) -> &'static str {
        match self.user.role {
            Role::Developer { .. } => "/portal",
            Role::TenantAdmin { .. } => "/console",
        }
    }
}

/// The address a request came from: the peer, or the first `X-Forwarded-For` hop when the
/// configuration trusts a balancer in front.
pub fn source_address(state: &WebState, parts: &Parts) -> String {
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && state.app.config.limits.trust_forwarded_for);
    forwarded.unwrap_or_else(|| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".into(), |c| c.0.ip().to_string())
    })
}

/// The person whose session cookie came with the request, if it is a live session.
pub async fn current(state: &WebState, parts: &Parts) -> Result<Option<SignedIn>, PageError> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let user = state.control(Actor::operator()).session(&token).await?;
    Ok(user.map(|user| SignedIn {
        user,
        token,
        address: source_address(state, parts),
    }))
}

impl FromRequestParts<WebState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, PageError> {
        current(state, parts).await?.ok_or(PageError::SignIn)
    }
}

/// A signed-in developer: the portal's pages take this.
pub struct Developer {
    pub me: SignedIn,
    pub developer_id: i64,
}

impl FromRequestParts<WebState> for Developer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, PageError> {
        let me = SignedIn::from_request_parts(parts, state).await?;
        match me.user.role {
            Role::Developer { developer_id } => Ok(Self { me, developer_id }),
            Role::TenantAdmin { .. } => Err(PageError::WrongRole("developers")),
        }
    }
}

/// A signed-in admin of one tenant: the console's pages take this, and act on that tenant
/// only.
pub struct Admin {
    pub me: SignedIn,
    pub tenant: Tenant,
}

impl Admin {
    pub fn chrome(&self, state: &WebState, title: &str) -> Chrome {
        Chrome {
            tenant: Some(format!("{} ({})", self.tenant.name, self.tenant.id)),
            ..self.me.chrome(state, "console", title)
        }
    }
}

impl FromRequestParts<WebState> for Admin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, PageError> {
        let me = SignedIn::from_request_parts(parts, state).await?;
        match me.user.role {
            Role::TenantAdmin { tenant_id } => {
                let tenant = me.control(state).tenant(tenant_id).await?;
                Ok(Self { me, tenant })
            }
            Role::Developer { .. } => Err(PageError::WrongRole("tenant admins")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_and_set_with_their_attributes() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; fg_session=tok123; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("tok123"));
        assert_eq!(cookie(&headers, VISITOR_COOKIE), None);

        let set = set_cookie(SESSION_COOKIE, "v", Some(Duration::from_secs(60)), true);
        let set = set.to_str().unwrap();
        for part in [
            "fg_session=v",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(set.contains(part), "{set} lacks {part}");
        }
        let plain = set_cookie(SESSION_COOKIE, "v", None, false);
        assert!(!plain.to_str().unwrap().contains("Secure"));
        assert!(
            clear_cookie(SESSION_COOKIE, false)
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
    }
}
