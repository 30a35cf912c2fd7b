//! CSRF tokens: every form carries one derived from the browser's own cookie with a key only
//! the server holds, and every state-changing request must send it back.
//!
//! Signed-in forms use the control plane's token of the session cookie; the sign-in and
//! sign-up forms, before any session exists, one derived from a random visitor cookie. Another site can make a browser send these cookies
//! (SameSite=Lax already stops most such posts) but cannot read them or the pages, so it cannot
//! know the token.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use super::form::FormData;
use super::page::PageError;
use super::session::{SESSION_COOKIE, VISITOR_COOKIE, cookie};
use super::{FORM_BODY_LIMIT, WebState};
use crate::control::Actor;
use crate::crypto::Keys;

/// The form field that carries the token.
pub const FIELD: &str = "csrf";

/// Paths whose forms are posted before anyone is signed in.
const SIGNED_OUT_FORMS: [&str; 2] = ["/sign-in", "/sign-up"];

/// The token for the sign-in and sign-up forms, bound to the visitor cookie.
pub fn for_visitor(keys: &Keys, visitor: &str) -> String {
    URL_SAFE_NO_PAD.encode(keys.digest("web-csrf-visitor", visitor))
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Refuses every request that changes something unless its form carries the right token; the
/// parsed form is handed on to the handler.
pub async fn guard(State(state): State<WebState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return PageError::Csrf.into_response();
    }
    let bytes = match axum::body::to_bytes(body, FORM_BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return PageError::BadRequest("The form is too large.".into()).into_response();
        }
    };
    let form = FormData::parse(&bytes);
    let sent = form.get(FIELD).unwrap_or_default();

    let keys = &state.app.keys;
    let by_session = cookie(&parts.headers, SESSION_COOKIE)
        .is_some_and(|token| state.control(Actor::operator()).csrf_matches(&token, sent));
    let by_visitor = SIGNED_OUT_FORMS.contains(&parts.uri.path())
        && cookie(&parts.headers, VISITOR_COOKIE)
            .is_some_and(|visitor| same(sent, &for_visitor(keys, &visitor)));
    if sent.is_empty() || !(by_session || by_visitor) {
        tracing::info!(path = %parts.uri.path(), "form refused: missing or wrong CSRF token");
        return PageError::Csrf.into_response();
    }

    parts.extensions.insert(form);
    next.run(Request::from_parts(parts, Body::empty())).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn visitor_tokens_depend_on_the_cookie_and_the_key() {
        let keys = Keys::from_master(&SecretString::from("k".repeat(32))).unwrap();
        let other = Keys::from_master(&SecretString::from("j".repeat(32))).unwrap();
        let a = for_visitor(&keys, "visitor-a");
        assert_eq!(a, for_visitor(&keys, "visitor-a"));
        assert_ne!(a, for_visitor(&keys, "visitor-b"));
        assert_ne!(a, for_visitor(&other, "visitor-a"));
        assert!(same(&a, &for_visitor(&keys, "visitor-a")));
        assert!(!same(&a, ""));
    }
}
