//! Cookies: the session cookie of a signed-in user and the visitor cookie that binds the
//! sign-in form's CSRF token. Both are `HttpOnly` (scripts cannot read them) and
//! `SameSite=Lax` (other sites' forms do not carry them), and `Secure` when the web URL is
//! https. On a plain-http loopback URL they cannot be `Secure` (browsers would not send them
//! back), and need not be: loopback traffic never leaves the machine.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::{Cookie, SameSite};

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
