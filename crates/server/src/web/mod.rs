//! The developer portal (`/portal/...`) and the tenant console (`/console/...`): server-rendered
//! HTML on the web listener, with cookie sessions and a CSRF token on every form.
//!
//! Nothing here is loaded from elsewhere: the style sheet and the copy-button script are part of
//! the binary, and the content security policy allows only this origin.

mod assets;
mod audit;
mod console;
mod csrf;
mod form;
mod page;
mod portal;
mod scopes;
mod session;
mod signin;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tracing::Instrument;

use crate::control::{Actor, Control};
use crate::state::AppState;

pub use page::PageError;

/// What every web handler shares.
#[derive(Clone)]
pub struct WebState {
    pub app: Arc<AppState>,
    /// Cookies are `Secure` when browsers reach the pages over https.
    pub secure: bool,
}

impl WebState {
    /// The control plane acting for `actor`.
    pub fn control(&self, actor: Actor) -> Control<'_> {
        Control {
            store: self.app.store.as_ref(),
            keys: &self.app.keys,
            actor,
        }
    }
}

/// Form posts are small; a sign-up or an app with every scope ticked stays far below this.
const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The web listener's router.
pub fn router(app: Arc<AppState>) -> Router {
    let secure = app.config.web_is_https();
    if !secure && !crate::app::is_loopback_url(&app.config.web_url) {
        tracing::warn!(
            web_url = %app.config.web_url,
            "the web console is served over plain http on a non-loopback address; session \
             cookies cannot be Secure there: put it behind TLS and set web_url to https"
        );
    }
    let state = WebState {
        app: app.clone(),
        secure,
    };
    Router::new()
        .merge(crate::ops::health_routes(app))
        .route("/", get(signin::home))
        .route("/sign-in", get(signin::sign_in_page).post(signin::sign_in))
        .route("/sign-up", get(signin::sign_up_page).post(signin::sign_up))
        .route("/sign-out", post(signin::sign_out))
        .nest("/portal", portal::routes())
        .nest("/console", console::routes())
        .route("/static/style.css", get(assets::style))
        .route("/static/copy.js", get(assets::script))
        .fallback(|| async { PageError::NotFound })
        .method_not_allowed_fallback(|| async { PageError::MethodNotAllowed })
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(state, csrf::guard))
        .layer(middleware::from_fn(pages))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            PageError::Internal.into_response()
        }))
}

/// The message a page shows after a redirect from the action named `done`.
fn notice(done: &str) -> Option<String> {
    let text = match done {
        "connected" => "The app is connected.",
        "disconnected" => "The app is disconnected; its clients there get no more tokens.",
        "enabled" => "The client is enabled again.",
        "disabled" => "The client is disabled: it gets no tokens, and its tokens are refused.",
        "retired" => "The secret is retired and no longer works.",
        "integration-saved" => "Saved: the next refresh of the integration data uses this choice.",
        "refresh-requested" => "The refresh is requested; its progress shows below.",
        _ => return None,
    };
    Some(text.to_string())
}

/// A span per request, and the headers every page carries: nothing from other origins, no
/// framing, no caching (pages show secrets once), no guessing of content types.
async fn pages(req: Request, next: Next) -> Response {
    let trace_id = crate::error::new_trace_id();
    let span = tracing::info_span!(
        "web",
        trace_id = %trace_id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let method = req.method().clone();
    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status();
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), "page failed");
        } else if status.is_client_error() || method != Method::GET {
            tracing::info!(status = status.as_u16(), "page answered");
        } else {
            tracing::debug!(status = status.as_u16(), "page answered");
        }
    });
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        headers.insert(
            "x-trace-id",
            HeaderValue::from_str(&trace_id).expect("hex is a header value"),
        );
    }
    response
}
