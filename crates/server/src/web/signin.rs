//! Signing in, signing up (developers) and signing out.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::ExposeSecret;

use super::WebState;
use super::csrf;
use super::form::FormData;
use super::page::{Chrome, PageError, form_error, render};
use super::session::{self, SESSION_COOKIE, SignedIn};
use crate::control::{Actor, ControlError, SESSION_TTL};

/// The shortest password sign-up accepts (the control plane enforces it; the form says it).
pub const MIN_PASSWORD: usize = 10;

/// Sign-ups accepted per source address per minute.
const SIGN_UPS_PER_MINUTE: u32 = 5;

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

/// `/`: the signed-in person's start page, or the sign-in page.
pub async fn home(State(state): State<WebState>, parts: Parts) -> Result<Response, PageError> {
    let me = session::current(&state, &parts).await?;
    Ok(Redirect::to(me.as_ref().map_or("/sign-in", SignedIn::home)).into_response())
}

pub async fn sign_in_page(
    State(state): State<WebState>,
    parts: Parts,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    if let Some(me) = session::current(&state, &parts).await? {
        return Ok(Redirect::to(me.home()).into_response());
    }
    let notice = (query.get("done").map(String::as_str) == Some("signed-out"))
        .then(|| "You are signed out.".to_string());
    Ok(sign_in_form(
        &state,
        &parts.headers,
        StatusCode::OK,
        None,
        notice,
        "",
    ))
}

fn sign_in_form(
    state: &WebState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
    email: &str,
) -> Response {
    let (chrome, set) = signed_out(state, headers, "Sign in");
    let page = SignInPage {
        chrome,
        error,
        notice,
        email: email.to_string(),
    };
    with_cookie(render(status, &page), set)
}

/// Checks the password (the control plane throttles failures per email and address) and
/// starts a session in a fresh cookie.
pub async fn sign_in(
    State(state): State<WebState>,
    parts: Parts,
    form: FormData,
) -> Result<Response, PageError> {
    let email = form.text("email");
    let password = form.get("password").unwrap_or_default();
    let address = session::source_address(&state, &parts);
    let control = state.control(Actor::operator());
    match control.sign_in(email, password, &address).await {
        Ok((user, new)) => {
            let home = match user.role {
                crate::control::Role::Developer { .. } => "/portal",
                crate::control::Role::TenantAdmin { .. } => "/console",
            };
            Ok(start_session(&state, new.token.expose_secret(), home))
        }
        Err(ControlError::Throttled { retry_after_secs }) => {
            let mut response = sign_in_form(
                &state,
                &parts.headers,
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!(
                    "Too many failed sign-ins. Try again in {retry_after_secs} seconds."
                )),
                None,
                email,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            Ok(response)
        }
        Err(e) => {
            let message = form_error(e)?;
            Ok(sign_in_form(
                &state,
                &parts.headers,
                StatusCode::UNAUTHORIZED,
                Some(message),
                None,
                email,
            ))
        }
    }
}

/// Sets the session cookie and sends the browser to `home`.
fn start_session(state: &WebState, token: &str, home: &str) -> Response {
    let cookie = session::set_cookie(SESSION_COOKIE, token, Some(SESSION_TTL), state.secure);
    let mut response = Redirect::to(home).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

pub async fn sign_up_page(
    State(state): State<WebState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    Ok(sign_up_form(&state, &headers, StatusCode::OK, None, "", ""))
}

fn sign_up_form(
    state: &WebState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
    name: &str,
    email: &str,
) -> Response {
    let (chrome, set) = signed_out(state, headers, "Create a developer account");
    let page = SignUpPage {
        chrome,
        error,
        name: name.to_string(),
        email: email.to_string(),
        min_password: MIN_PASSWORD,
    };
    with_cookie(render(status, &page), set)
}

/// Creates the developer and their sign-in, then signs them in.
pub async fn sign_up(
    State(state): State<WebState>,
    parts: Parts,
    form: FormData,
) -> Result<Response, PageError> {
    let (name, email) = (form.text("name"), form.text("email"));
    let password = form.get("password").unwrap_or_default();
    let address = session::source_address(&state, &parts);
    // Each sign-up costs an Argon2id hash and creates an account: a few per minute per address
    // are plenty for people.
    let key = format!("fg:signup:a:{address}");
    if let Err(wait_ms) = state
        .app
        .store
        .rate_hit(&key, SIGN_UPS_PER_MINUTE, 60_000)
        .await
        .map_err(|e| PageError::from(ControlError::from(e)))?
    {
        return Err(PageError::TooMany((wait_ms.max(1) as u64).div_ceil(1000)));
    }
    let actor = Actor {
        name: "self-sign-up".into(),
        address: Some(address.clone()),
    };
    if let Err(e) = state
        .control(actor)
        .sign_up_developer(name, email, password)
        .await
    {
        let message = form_error(e)?;
        return Ok(sign_up_form(
            &state,
            &parts.headers,
            StatusCode::BAD_REQUEST,
            Some(message),
            name,
            email,
        ));
    }
    let control = state.control(Actor::operator());
    let (_, new) = control.sign_in(email, password, &address).await?;
    Ok(start_session(&state, new.token.expose_secret(), "/portal"))
}

/// Ends the session in the store, so the cookie opens nothing even if it was copied.
pub async fn sign_out(State(state): State<WebState>, me: SignedIn) -> Result<Response, PageError> {
    me.control(&state).sign_out(me.token()).await?;
    let mut response = Redirect::to("/sign-in?done=signed-out").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::clear_cookie(SESSION_COOKIE, state.secure),
    );
    Ok(response)
}
