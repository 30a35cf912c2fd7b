//! Signing in, signing up (developers) and signing out.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::WebState;
use super::csrf;
use super::page::{Chrome, render};
use super::session;

/// The shortest password sign-up accepts.
pub const MIN_PASSWORD: usize = 10;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    error: Option<String>,
    notice: Option<String>,
    email: String,
}

#[derive(Template)]
#[template(path = "sign_up.html")]
struct SignUpPage {
    chrome: Chrome,
    error: Option<String>,
    name: String,
    email: String,
    min_password: usize,
}

/// The layout for a signed-out form, with a CSRF token bound to the visitor cookie (set here
/// if the browser has none yet).
fn signed_out(
    state: &WebState,
    headers: &HeaderMap,
    title: &str,
) -> (Chrome, Option<header::HeaderValue>) {
    let (visitor, set) = session::visitor(headers, state.secure);
    let chrome = Chrome {
        csrf: csrf::for_visitor(&state.app.keys, &visitor),
        ..Chrome::public(title)
    };
    (chrome, set)
}

fn with_cookie(mut response: Response, set: Option<header::HeaderValue>) -> Response {
    if let Some(set) = set {
        response.headers_mut().append(header::SET_COOKIE, set);
    }
    response
}

pub async fn sign_in_page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let (chrome, set) = signed_out(&state, &headers, "Sign in");
    let page = SignInPage {
        chrome,
        error: None,
        notice: None,
        email: String::new(),
    };
    with_cookie(render(StatusCode::OK, &page), set)
}

pub async fn sign_up_page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let (chrome, set) = signed_out(&state, &headers, "Create a developer account");
    let page = SignUpPage {
        chrome,
        error: None,
        name: String::new(),
        email: String::new(),
        min_password: MIN_PASSWORD,
    };
    with_cookie(render(StatusCode::OK, &page), set)
}
