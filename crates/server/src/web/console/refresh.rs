//! The console's integration data: what the tenant's integration copy holds (a copy of
//! production, masked or not, or the standard sample data), requests to refresh it after a
//! confirmation step, and the tenant's refresh jobs, whose progress the page polls as JSON.
//!
//! The admin acts through [`Refresh`] as `admin:{user}@{tenant}`, so the same rules hold as
//! in the admin API (one job at a time, the minimum interval, no forcing) and every request
//! writes an audit event naming the admin.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use fieldgate_store::{IntegrationSettings, JobStatus, RefreshSource, TenantKind};

use crate::control::Actor;
use crate::error::{ApiError, new_trace_id};
use crate::refresh::{
    JobView, Refresh, RefreshError, RefreshRequest, SettingsChange, confirmation_text,
};
use crate::web::WebState;
use crate::web::form::FormData;
use crate::web::page::{Chrome, PageError, PagePath, render};
use crate::web::session::Admin;

/// How many of the tenant's jobs the console lists.
const JOBS_SHOWN: u32 = 10;

fn service<'a>(state: &'a WebState, actor: Actor) -> Refresh<'a> {
    Refresh {
        store: state.app.store.as_ref(),
        config: state.app.refresh.config(),
        actor,
    }
}

fn actor(state: &WebState, admin: &Admin) -> Actor {
    admin.me.control(state).actor
}

/// One job as a row of the console's table; the script updates the same cells live.
pub(super) struct JobRow {
    pub(super) id: i64,
    pub(super) status: &'static str,
    pub(super) phase: String,
    pub(super) what: String,
    pub(super) rows: String,
    pub(super) percent: f64,
    pub(super) eta: String,
    pub(super) error: String,
    pub(super) retryable: bool,
    pub(super) active: bool,
    pub(super) requested: String,
}

/// Seconds left as the page words them; `copy.js` words them the same way.
fn eta_text(seconds: Option<f64>) -> String {
    match seconds {
        None => String::new(),
        Some(s) if s < 60.0 => format!("about {} s left", s.ceil() as i64),
        Some(s) => format!("about {} min left", (s / 60.0).ceil() as i64),
    }
}

fn what(source: RefreshSource, masked: bool) -> String {
    match (source, masked) {
        (RefreshSource::Production, true) => "a copy of production, masked".into(),
        (RefreshSource::Production, false) => "a copy of production".into(),
        (RefreshSource::Sample, _) => "the standard sample data".into(),
    }
}

impl JobRow {
    fn of(view: &JobView) -> Self {
        Self {
            id: view.id,
            status: view.status.as_str(),
            phase: view.phase.clone(),
            what: what(view.source, view.masked),
            rows: format!("{} / {}", view.rows_copied, view.rows_total),
            percent: view.percent,
            eta: eta_text(view.estimated_seconds_left),
            error: view.error.clone().unwrap_or_default(),
            retryable: view.retryable,
            active: matches!(view.status, JobStatus::Queued | JobStatus::Running),
            requested: format!("{} by {}", view.requested_on, view.requested_by),
        }
    }
}

/// The integration section of the console's start page.
pub(super) struct IntegrationView {
    /// A developer sandbox has no production to copy: only sample data.
    pub(super) production_allowed: bool,
    pub(super) production: bool,
    pub(super) masked: bool,
    /// What the copy holds now: what the last refresh that finished made it.
    pub(super) holds: String,
    /// What the next refresh makes it, as the settings say.
    pub(super) next: String,
    pub(super) interval: String,
    pub(super) jobs: Vec<JobRow>,
}

fn interval_text(secs: i64) -> String {
    match secs {
        0 => "Refreshes may follow one another without a pause.".into(),
        s if s % 3600 == 0 => format!("At most one refresh every {} hour(s).", s / 3600),
        s if s % 60 == 0 => format!("At most one refresh every {} minute(s).", s / 60),
        s => format!("At most one refresh every {s} seconds."),
    }
}

pub(super) async fn integration_view(
    state: &WebState,
    admin: &Admin,
) -> Result<IntegrationView, PageError> {
    let refresh = service(state, actor(state, admin));
    let tenant = admin.tenant.id;
    let settings = refresh.settings(tenant).await.map_err(page_error)?;
    let jobs = refresh
        .jobs(Some(tenant), JOBS_SHOWN)
        .await
        .map_err(page_error)?;
    let interval = settings
        .min_interval_secs
        .unwrap_or(refresh.config.min_interval_secs);
    let last = refresh.last_done(tenant).await.map_err(page_error)?;
    let holds = match (last, admin.tenant.kind) {
        (Some(job), _) => what(job.source, job.masked),
        (None, TenantKind::Developer) => what(RefreshSource::Sample, false),
        (None, TenantKind::Customer) => {
            "the data it was set up with (no refresh has finished yet)".into()
        }
    };
    Ok(IntegrationView {
        production_allowed: admin.tenant.kind == TenantKind::Customer,
        production: settings.source == RefreshSource::Production,
        masked: settings.masked,
        holds,
        next: what(settings.source, settings.masked),
        interval: interval_text(interval.max(0)),
        jobs: jobs.iter().map(JobRow::of).collect(),
    })
}

/// Refusals the admin can act on become a sentence on the page; the rest their own pages.
fn refusal(e: RefreshError) -> Result<(StatusCode, String), PageError> {
    let status = match &e {
        RefreshError::Busy { .. }
        | RefreshError::NotRetryable { .. }
        | RefreshError::Superseded { .. } => StatusCode::CONFLICT,
        RefreshError::TooSoon { .. } => StatusCode::TOO_MANY_REQUESTS,
        RefreshError::ForceNeedsOperator => StatusCode::FORBIDDEN,
        RefreshError::NoProduction(_) | RefreshError::Invalid(..) => StatusCode::BAD_REQUEST,
        _ => return Err(page_error(e)),
    };
    Ok((status, format!("{}.", e.to_string().trim_end_matches('.'))))
}

fn page_error(e: RefreshError) -> PageError {
    match e {
        RefreshError::NoTenant(_) | RefreshError::NoJob(_) => PageError::NotFound,
        RefreshError::Store(e) => {
            tracing::error!(error = %e, "store failure behind a refresh page");
            PageError::Internal
        }
        other => PageError::BadRequest(other.to_string()),
    }
}

/// `POST /console/integration`: what the integration copy holds from the next refresh on.
pub(super) async fn change_settings(
    State(state): State<WebState>,
    admin: Admin,
    form: FormData,
) -> Result<Response, PageError> {
    let source = RefreshSource::parse(form.text("source")).ok_or_else(|| {
        PageError::BadRequest("Choose production data or the standard sample data.".into())
    })?;
    let change = SettingsChange {
        source: Some(source),
        masked: Some(form.text("masked") == "yes" && source == RefreshSource::Production),
        min_interval_secs: None,
    };
    match service(&state, actor(&state, &admin))
        .change_settings(admin.tenant.id, &change)
        .await
    {
        Ok(_) => {
            Ok(Redirect::to("/console?done=integration-saved#integration-data").into_response())
        }
        Err(e) => {
            let (_, message) = refusal(e)?;
            Err(PageError::BadRequest(message))
        }
    }
}

#[derive(Template)]
#[template(path = "console_refresh.html")]
struct ConfirmPage {
    chrome: Chrome,
    notice: Option<String>,
    error: Option<String>,
    confirmation: String,
    holds: String,
}

async fn confirm_view(
    state: &WebState,
    admin: &Admin,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let settings: IntegrationSettings = service(state, actor(state, admin))
        .settings(admin.tenant.id)
        .await
        .map_err(page_error)?;
    let page = ConfirmPage {
        chrome: admin.chrome(state, "Refresh integration data"),
        notice: None,
        error,
        confirmation: confirmation_text(&settings),
        holds: what(settings.source, settings.masked),
    };
    Ok(render(status, &page))
}

/// `GET /console/refresh`: says what a refresh replaces and asks to confirm.
pub(super) async fn confirm_page(
    State(state): State<WebState>,
    admin: Admin,
) -> Result<Response, PageError> {
    confirm_view(&state, &admin, None, StatusCode::OK).await
}

/// `POST /console/refresh`: queues a refresh once the admin has ticked the confirmation.
pub(super) async fn request(
    State(state): State<WebState>,
    admin: Admin,
    form: FormData,
) -> Result<Response, PageError> {
    if form.text("confirm") != "yes" {
        let error = "Tick the box to confirm that the changes made in integration will be \
                     replaced; nothing was requested.";
        return confirm_view(&state, &admin, Some(error.into()), StatusCode::BAD_REQUEST).await;
    }
    let request = RefreshRequest {
        force: form.text("force") == "yes",
        ..RefreshRequest::default()
    };
    let outcome = service(&state, actor(&state, &admin))
        .request(admin.tenant.id, &request)
        .await;
    match outcome {
        Ok(_) => {
            state.app.refresh.wake();
            Ok(Redirect::to("/console?done=refresh-requested#integration-data").into_response())
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            confirm_view(&state, &admin, Some(message), status).await
        }
    }
}

/// The job, if it is this admin's tenant's; any other is "not found".
async fn own_job(state: &WebState, admin: &Admin, id: i64) -> Result<JobView, PageError> {
    let view = service(state, actor(state, admin))
        .job(id)
        .await
        .map_err(page_error)?;
    if view.tenant_id != admin.tenant.id {
        return Err(PageError::NotFound);
    }
    Ok(view)
}

/// `POST /console/refresh/jobs/{id}/retry`: requests a failed job again.
pub(super) async fn retry(
    State(state): State<WebState>,
    admin: Admin,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    own_job(&state, &admin, id).await?;
    match service(&state, actor(&state, &admin))
        .retry(id, false)
        .await
    {
        Ok(_) => {
            state.app.refresh.wake();
            Ok(Redirect::to("/console?done=refresh-requested#integration-data").into_response())
        }
        Err(e) => {
            let (status, message) = refusal(e)?;
            confirm_view(&state, &admin, Some(message), status).await
        }
    }
}

/// `GET /console/refresh/jobs/{id}`: the job's progress view as JSON, for the page's script.
/// Every failure is a problem body too: without a session a 401, another tenant's job a 404.
pub(super) async fn job_json(
    State(state): State<WebState>,
    admin: Result<Admin, PageError>,
    // Taken as a result so that an id that is not one gets a problem body too, not a page.
    id: Result<PagePath<i64>, PageError>,
) -> Response {
    let found = match (admin, id) {
        (Ok(admin), Ok(PagePath(id))) => own_job(&state, &admin, id).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let problem = match found {
        Ok(view) => return Json(view).into_response(),
        Err(PageError::SignIn) => ApiError::unauthorized("Sign in to see refresh progress."),
        Err(PageError::WrongRole(_)) => {
            ApiError::forbidden("Only the tenant's admins see its refresh jobs.")
        }
        Err(PageError::NotFound) => ApiError::not_found("No such refresh job."),
        Err(PageError::BadRequest(why)) => ApiError::bad_request(why),
        Err(_) => ApiError::internal(),
    };
    problem.with_trace(&new_trace_id()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_left_are_worded_in_seconds_then_minutes() {
        assert_eq!(eta_text(None), "");
        assert_eq!(eta_text(Some(4.2)), "about 5 s left");
        assert_eq!(eta_text(Some(59.0)), "about 59 s left");
        assert_eq!(eta_text(Some(61.0)), "about 2 min left");
    }

    #[test]
    fn intervals_are_worded_in_their_largest_whole_unit() {
        assert_eq!(interval_text(3600), "At most one refresh every 1 hour(s).");
        assert_eq!(
            interval_text(600),
            "At most one refresh every 10 minute(s)."
        );
        assert_eq!(interval_text(90), "At most one refresh every 90 seconds.");
        assert_eq!(
            interval_text(0),
            "Refreshes may follow one another without a pause."
        );
    }
}
