//! Rendering pages, and the pages shown when a request cannot be served.

use askama::Template;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::control::ControlError;

/// What the layout shows around every page: the title, which part of the site this is, who is
/// signed in, and the CSRF token for the sign-out form.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    pub title: String,
    /// `portal`, `console` or empty (sign-in pages and errors).
    pub section: &'static str,
    /// "Name (email)" of whoever is signed in.
    pub user: Option<String>,
    /// The tenant a console user administers, as "Name (id)".
    pub tenant: Option<String>,
    pub csrf: String,
}

impl Chrome {
    pub fn public(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            ..Self::default()
        }
    }
}

/// Renders a template into a response with the given status.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            PageError::Internal.into_response()
        }
    }
}

/// A page that could not be shown, as the person asking sees it.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session ended): go to the sign-in page.
    SignIn,
    /// Signed in, but this page is not for this kind of user.
    WrongRole(&'static str),
    /// The form's CSRF token is missing or does not belong to this session.
    Csrf,
    /// Missing, or belonging to someone else: the two look the same, so ids reveal nothing.
    NotFound,
    MethodNotAllowed,
    BadRequest(String),
    /// Too many attempts; retry after this many seconds.
    TooMany(u64),
    Internal,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    chrome: Chrome,
    status: u16,
    heading: &'a str,
    message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self {
            PageError::SignIn => return Redirect::to("/sign-in").into_response(),
            PageError::WrongRole(needed) => (
                StatusCode::FORBIDDEN,
                "Not for this account",
                format!("This page is for {needed}. Sign in with such an account to use it."),
            ),
            PageError::Csrf => (
                StatusCode::FORBIDDEN,
                "The form has expired",
                "The form was not sent with a valid security token (it may be from an older \
                 session, or from another site). Go back, reload the page and try again."
                    .to_string(),
            ),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such page, or it is not yours to see.".to_string(),
            ),
            PageError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "Not allowed",
                "This address does not answer that kind of request.".to_string(),
            ),
            PageError::BadRequest(why) => (StatusCode::BAD_REQUEST, "Cannot do that", why.clone()),
            PageError::TooMany(secs) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                format!("Try again in {secs} seconds."),
            ),
            PageError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "fieldgate could not complete this request; it has been logged. Try again in \
                 a moment."
                    .to_string(),
            ),
        };
        let page = ErrorPage {
            chrome: Chrome::public(heading),
            status: status.as_u16(),
            heading,
            message: &message,
        };
        let mut response = render(status, &page);
        if let PageError::TooMany(secs) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<ControlError> for PageError {
    fn from(e: ControlError) -> Self {
        match form_error(e) {
            Ok(message) => PageError::BadRequest(message),
            Err(page) => page,
        }
    }
}

/// A refusal the person can act on, as a sentence to show beside the form; anything else
/// (not found, throttled, a failure inside) becomes its page.
pub fn form_error(e: ControlError) -> Result<String, PageError> {
    match e {
        ControlError::Invalid { message, .. } | ControlError::Conflict(message) => {
            Ok(sentence(&message))
        }
        ControlError::BadCredentials => Ok("The email or password is wrong.".into()),
        ControlError::NotFound(_) => Err(PageError::NotFound),
        ControlError::Throttled { retry_after_secs } => Err(PageError::TooMany(retry_after_secs)),
        ControlError::Store(e) => {
            tracing::error!(error = %e, "store failure behind a page");
            Err(PageError::Internal)
        }
        ControlError::Internal(why) => {
            tracing::error!(error = %why, "control-plane failure behind a page");
            Err(PageError::Internal)
        }
    }
}

/// `a name is required` → `A name is required.`
fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Path parameters of a page. One that does not parse (`/portal/apps/abc`) names a page that
/// does not exist, so it gets the 404 page rather than the framework's plain-text 400.
pub struct PagePath<T>(pub T);

impl<S, T> FromRequestParts<S> for PagePath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PagePath(value)),
            Err(_) => Err(PageError::NotFound),
        }
    }
}

/// Formats microseconds since the epoch for people: `2026-01-31 08:00 UTC`.
pub fn when(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}
