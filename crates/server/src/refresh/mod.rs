//! Refreshes of integration copies: a tenant's integration dataset becomes an exact copy of its
//! production dataset at one moment (optionally with personal data masked), or the standard
//! sample data, switched in atomically while requests go on being served.
//!
//! A request creates a job (queued → running → done or failed); a runner in every serving
//! process (and in the CLI) claims queued jobs one at a time, so exactly one process runs each.
//! [`Refresh`] is what the admin API, the console and the CLI call; [`JobView`] is the JSON
//! progress view they show.

use std::time::Duration;

use fieldgate_store::{
    AuditEvent, Environment, IntegrationSettings, JobRefusal, JobStatus, NewRefreshJob, RefreshJob,
    RefreshSource, Store, StoreError, TenantKind,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::control::Actor;

pub mod api;
pub mod mask;
pub mod runner;
pub mod seed;

pub use runner::Runner;

/// The longest minimum interval a tenant's settings may hold: a year. Longer is no longer a
/// pace of refreshes, and a wait in the tens of thousands of years helps no one.
pub const MAX_INTERVAL_SECS: i64 = 365 * 24 * 3600;

/// How refreshes behave, from the `[refresh]` section of the config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RefreshConfig {
    /// Least time between two refreshes of one tenant, unless its settings say otherwise; an
    /// operator may override it per request.
    pub min_interval_secs: i64,
    /// Customers in the sample data an integration copy is reset to.
    pub sample_scale: usize,
    /// Whether this process runs queued refresh jobs.
    pub run_jobs: bool,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        Self {
            min_interval_secs: 3600,
            sample_scale: 300,
            run_jobs: true,
        }
    }
}

/// Why a refresh request or settings change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("tenant {0} does not exist")]
    NoTenant(i64),
    #[error("refresh job {0} does not exist")]
    NoJob(i64),
    #[error(
        "tenant {0} is a developer sandbox with no production data; reset it to sample data \
         instead"
    )]
    NoProduction(i64),
    #[error("a refresh of tenant {tenant} is already queued or running (job {job})")]
    Busy { tenant: i64, job: i64 },
    #[error(
        "tenant {tenant} was refreshed less than {interval_secs} seconds ago; an operator can \
         force a refresh sooner. Try again in {wait_secs} seconds."
    )]
    TooSoon {
        tenant: i64,
        interval_secs: i64,
        wait_secs: i64,
    },
    #[error("only an operator can override the minimum interval between refreshes")]
    ForceNeedsOperator,
    #[error("job {job} is {status}; only a failed job can be retried")]
    NotRetryable { job: i64, status: &'static str },
    #[error(
        "job {job} was followed by job {later} of the same tenant; request a new refresh instead \
         of retrying an old one"
    )]
    Superseded { job: i64, later: i64 },
    /// A request field the service refuses: its name and why.
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a refresh request asks for; unset fields come from the tenant's settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    pub source: Option<RefreshSource>,
    pub masked: Option<bool>,
    /// Skip the minimum interval (operators only).
    #[serde(default)]
    pub force: bool,
}

/// A change to a tenant's integration settings; unset fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsChange {
    pub source: Option<RefreshSource>,
    pub masked: Option<bool>,
    /// Seconds; `null` goes back to the configured default.
    #[serde(default, with = "double_option")]
    pub min_interval_secs: Option<Option<i64>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
        Option::<i64>::deserialize(d).map(Some)
    }
}

/// A job as the console, the admin API and the CLI show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    pub id: i64,
    pub tenant_id: i64,
    pub source: RefreshSource,
    pub masked: bool,
    pub status: JobStatus,
    pub phase: String,
    pub rows_copied: i64,
    pub rows_total: i64,
    /// 0 to 100.
    pub percent: f64,
    /// Seconds left in the current phase, from its pace so far; `null` until it can be told.
    pub estimated_seconds_left: Option<f64>,
    pub requested_by: String,
    pub requested_on: String,
    pub started_on: Option<String>,
    pub finished_on: Option<String>,
    pub error: Option<String>,
    /// A failed job that is still its tenant's newest can be requested again; the served copy
    /// was left as it was.
    pub retryable: bool,
    pub generation: Option<i64>,
}

impl JobView {
    /// The view of `job`; `newest` says whether no later job of its tenant exists.
    pub fn of(job: &RefreshJob, now_us: i64, newest: bool) -> Self {
        let percent = match job.status {
            JobStatus::Done => 100.0,
            _ if job.rows_total > 0 => {
                (job.rows_copied_clamped() as f64 * 100.0 / job.rows_total as f64).min(100.0)
            }
            _ => 0.0,
        };
        let estimated_seconds_left = match (job.status, job.phase_started_us) {
            (JobStatus::Running, Some(started)) if job.rows_done > 0 && job.rows_total > 0 => {
                let elapsed = (now_us - started).max(0) as f64 / 1e6;
                let left = (job.rows_total - job.rows_done).max(0) as f64;
                Some((elapsed * left / job.rows_done as f64 * 10.0).round() / 10.0)
            }
            _ => None,
        };
        let time = |us: Option<i64>| us.map(fieldgate_store::format_time);
        Self {
            id: job.id,
            tenant_id: job.tenant_id,
            source: job.source,
            masked: job.masked,
            status: job.status,
            phase: job.phase.clone(),
            rows_copied: job.rows_copied_clamped(),
            rows_total: job.rows_total,
            percent: (percent * 10.0).round() / 10.0,
            estimated_seconds_left,
            requested_by: job.requested_by.clone(),
            requested_on: fieldgate_store::format_time(job.requested_us),
            started_on: time(job.started_us),
            finished_on: time(job.finished_us),
            error: job.error.clone(),
            retryable: job.status == JobStatus::Failed && newest,
            generation: job.generation,
        }
    }
}

trait Clamped {
    fn rows_copied_clamped(&self) -> i64;
}

impl Clamped for RefreshJob {
    fn rows_copied_clamped(&self) -> i64 {
        self.rows_done.clamp(0, self.rows_total.max(self.rows_done))
    }
}

pub(crate) fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Refresh operations on behalf of one actor; each change writes an audit event.
pub struct Refresh<'a> {
    pub store: &'a dyn Store,
    pub config: &'a RefreshConfig,
    pub actor: Actor,
}

/// Whether an actor may override the minimum interval.
pub fn is_operator(actor: &Actor) -> bool {
    actor.name == "operator" || actor.name.starts_with("operator:")
}

impl Refresh<'_> {
    pub(crate) async fn audit(
        store: &dyn Store,
        actor: &Actor,
        action: &str,
        tenant_id: i64,
        detail: Value,
    ) -> Result<(), StoreError> {
        tracing::info!(actor = %actor.name, action, tenant_id, %detail, "refresh");
        store
            .append_audit(&AuditEvent {
                at_us: now_us(),
                actor: actor.name.clone(),
                action: action.into(),
                tenant_id: Some(tenant_id),
                app_id: None,
                environment: Some(Environment::Integration),
                address: actor.address.clone(),
                detail,
            })
            .await
    }

    /// The tenant's integration settings, or the defaults for its kind.
    pub async fn settings(&self, tenant_id: i64) -> Result<IntegrationSettings, RefreshError> {
        let tenant = self
            .store
            .tenant(tenant_id)
            .await?
            .ok_or(RefreshError::NoTenant(tenant_id))?;
        if let Some(settings) = self.store.integration_settings(tenant_id).await? {
            return Ok(settings);
        }
        Ok(IntegrationSettings {
            tenant_id,
            source: match tenant.kind {
                TenantKind::Customer => RefreshSource::Production,
                TenantKind::Developer => RefreshSource::Sample,
            },
            masked: false,
            min_interval_secs: None,
            updated_us: tenant.created_us,
        })
    }

    pub async fn change_settings(
        &self,
        tenant_id: i64,
        change: &SettingsChange,
    ) -> Result<IntegrationSettings, RefreshError> {
        let before = self.settings(tenant_id).await?;
        let mut settings = before.clone();
        if let Some(source) = change.source {
            settings.source = source;
        }
        if let Some(masked) = change.masked {
            settings.masked = masked;
        }
        if let Some(interval) = change.min_interval_secs {
            if interval.is_some_and(|i| !(0..=MAX_INTERVAL_SECS).contains(&i)) {
                return Err(RefreshError::Invalid(
                    "minIntervalSecs",
                    format!(
                        "minIntervalSecs must be from 0 to {MAX_INTERVAL_SECS} seconds (a year)"
                    ),
                ));
            }
            settings.min_interval_secs = interval;
        }
        self.check_source(tenant_id, settings.source).await?;
        self.check_masking(&settings, change).await?;
        // Masking is about copies of production; a tenant moved to sample data keeps no
        // masking setting that would read as if its sample data were masked.
        if settings.source == RefreshSource::Sample {
            settings.masked = false;
        }
        // A change to what already holds is no change: nothing written, nothing audited.
        if settings == before {
            return Ok(before);
        }
        settings.updated_us = now_us();
        self.store.put_integration_settings(&settings).await?;
        Self::audit(
            self.store,
            &self.actor,
            "integration.settings_changed",
            tenant_id,
            json!({"source": settings.source, "masked": settings.masked,
                   "minIntervalSecs": settings.min_interval_secs}),
        )
        .await?;
        Ok(settings)
    }

    /// Refuses masking a tenant's sample data, which holds nothing personal.
    async fn check_masking(
        &self,
        settings: &IntegrationSettings,
        change: &SettingsChange,
    ) -> Result<(), RefreshError> {
        if settings.source == RefreshSource::Sample && change.masked == Some(true) {
            return Err(unmaskable());
        }
        Ok(())
    }

    async fn check_source(
        &self,
        tenant_id: i64,
        source: RefreshSource,
    ) -> Result<(), RefreshError> {
        let tenant = self
            .store
            .tenant(tenant_id)
            .await?
            .ok_or(RefreshError::NoTenant(tenant_id))?;
        if source == RefreshSource::Production && tenant.kind == TenantKind::Developer {
            return Err(RefreshError::NoProduction(tenant_id));
        }
        Ok(())
    }

    /// Queues a refresh of the tenant's integration copy.
    pub async fn request(
        &self,
        tenant_id: i64,
        request: &RefreshRequest,
    ) -> Result<RefreshJob, RefreshError> {
        let settings = self.settings(tenant_id).await?;
        let source = request.source.unwrap_or(settings.source);
        // The tenant's `masked` setting is about copies of production; asking for a masked
        // reset to sample data is a request that cannot be honoured as said.
        if source == RefreshSource::Sample && request.masked == Some(true) {
            let detail = json!({"source": source, "masked": true, "force": request.force});
            return Err(self.refused(tenant_id, detail, unmaskable()).await);
        }
        let masked =
            request.masked.unwrap_or(settings.masked) && source == RefreshSource::Production;
        self.queue(&settings, source, masked, request.force, None)
            .await
    }

    /// Queues a job after the checks every request passes, and audits the outcome, queued or
    /// refused; `retry_of` names the failed job a retry repeats.
    async fn queue(
        &self,
        settings: &IntegrationSettings,
        source: RefreshSource,
        masked: bool,
        force: bool,
        retry_of: Option<i64>,
    ) -> Result<RefreshJob, RefreshError> {
        let tenant_id = settings.tenant_id;
        let mut detail = json!({"source": source, "masked": masked, "force": force});
        if let Some(failed) = retry_of {
            detail["retryOf"] = failed.into();
        }
        if let Err(why) = self.check_source(tenant_id, source).await {
            return Err(self.refused(tenant_id, detail, why).await);
        }
        if force && !is_operator(&self.actor) {
            return Err(self
                .refused(tenant_id, detail, RefreshError::ForceNeedsOperator)
                .await);
        }
        let interval_secs = settings
            .min_interval_secs
            .unwrap_or(self.config.min_interval_secs)
            .max(0);
        let job = NewRefreshJob {
            tenant_id,
            source,
            masked,
            forced: force,
            requested_by: self.actor.name.clone(),
        };
        let outcome = self
            .store
            // An interval of years is "not without an operator", not an overflow.
            .create_refresh_job(&job, interval_secs.saturating_mul(1_000_000))
            .await?;
        match outcome {
            Ok(created) => {
                detail["jobId"] = created.id.into();
                Self::audit(
                    self.store,
                    &self.actor,
                    "refresh.requested",
                    tenant_id,
                    detail,
                )
                .await?;
                Ok(created)
            }
            Err(refusal) => {
                let error = match refusal {
                    JobRefusal::Busy(job) => RefreshError::Busy {
                        tenant: tenant_id,
                        job,
                    },
                    JobRefusal::TooSoon { next_us, .. } => RefreshError::TooSoon {
                        tenant: tenant_id,
                        interval_secs,
                        wait_secs: ((next_us - now_us()) as f64 / 1e6).ceil().max(1.0) as i64,
                    },
                };
                Err(self.refused(tenant_id, detail, error).await)
            }
        }
    }

    /// Audits a refused request and gives back why it was refused.
    async fn refused(&self, tenant_id: i64, mut detail: Value, why: RefreshError) -> RefreshError {
        detail["refused"] = why.to_string().into();
        match Self::audit(
            self.store,
            &self.actor,
            "refresh.refused",
            tenant_id,
            detail,
        )
        .await
        {
            Ok(()) => why,
            Err(e) => e.into(),
        }
    }

    /// Requests a failed job again, with the same source and masking, while it is still its
    /// tenant's newest job. `force` (operators only) skips the minimum interval, which counts
    /// from the last refresh that finished, as for any request.
    pub async fn retry(&self, job_id: i64, force: bool) -> Result<RefreshJob, RefreshError> {
        let job = self
            .store
            .refresh_job(job_id)
            .await?
            .ok_or(RefreshError::NoJob(job_id))?;
        // A refusal names the tenant the retry was for, so it is audited like a request.
        let detail = json!({"source": job.source, "masked": job.masked, "force": force,
                            "retryOf": job_id});
        if job.status != JobStatus::Failed {
            let why = RefreshError::NotRetryable {
                job: job_id,
                status: job.status.as_str(),
            };
            return Err(self.refused(job.tenant_id, detail, why).await);
        }
        let newest = self.newest_job(job.tenant_id).await?;
        if let Some(later) = newest.filter(|&n| n != job_id) {
            let why = RefreshError::Superseded { job: job_id, later };
            return Err(self.refused(job.tenant_id, detail, why).await);
        }
        let settings = self.settings(job.tenant_id).await?;
        self.queue(&settings, job.source, job.masked, force, Some(job_id))
            .await
    }

    /// The id of the tenant's newest job, if it has any.
    async fn newest_job(&self, tenant_id: i64) -> Result<Option<i64>, RefreshError> {
        Ok(self
            .store
            .refresh_jobs(Some(tenant_id), None, 1)
            .await?
            .first()
            .map(|j| j.id))
    }

    pub async fn job(&self, id: i64) -> Result<JobView, RefreshError> {
        let job = self
            .store
            .refresh_job(id)
            .await?
            .ok_or(RefreshError::NoJob(id))?;
        let newest = self.newest_job(job.tenant_id).await? == Some(id);
        Ok(JobView::of(&job, now_us(), newest))
    }

    /// Integration settings as the admin API and the CLI show them: with the interval in
    /// force, the text a refresh is confirmed with, and what the copy holds now (the last
    /// refresh that finished, `null` before the first).
    pub async fn settings_view(
        &self,
        settings: &IntegrationSettings,
    ) -> Result<Value, RefreshError> {
        let holds = self.last_done(settings.tenant_id).await?.map(|job| {
            json!({"jobId": job.id, "source": job.source, "masked": job.masked,
                   "finishedOn": job.finished_on})
        });
        Ok(json!({
            "tenantId": settings.tenant_id,
            "source": settings.source,
            "masked": settings.masked,
            "minIntervalSecs": settings.min_interval_secs,
            "effectiveMinIntervalSecs": settings
                .min_interval_secs
                .unwrap_or(self.config.min_interval_secs),
            "updatedOn": fieldgate_store::format_time(settings.updated_us),
            "confirmation": confirmation_text(settings),
            "holds": holds,
        }))
    }

    /// The tenant's newest job that finished its switch: what its integration copy holds.
    pub async fn last_done(&self, tenant_id: i64) -> Result<Option<JobView>, RefreshError> {
        let done = self
            .store
            .refresh_jobs(Some(tenant_id), Some(JobStatus::Done), 1)
            .await?;
        Ok(done.first().map(|j| JobView::of(j, now_us(), false)))
    }

    pub async fn jobs(
        &self,
        tenant_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<JobView>, RefreshError> {
        // An unknown tenant is not one with no refreshes yet.
        if let Some(id) = tenant_id
            && self.store.tenant(id).await?.is_none()
        {
            return Err(RefreshError::NoTenant(id));
        }
        let now = now_us();
        // Newest first, so the first job seen of a tenant is its newest.
        let mut seen = std::collections::HashSet::new();
        Ok(self
            .store
            .refresh_jobs(tenant_id, None, limit.clamp(1, 500))
            .await?
            .iter()
            .map(|j| JobView::of(j, now, seen.insert(j.tenant_id)))
            .collect())
    }

    /// Waits until a job is done or failed, calling `seen` with each new view.
    pub async fn watch(
        &self,
        id: i64,
        mut seen: impl FnMut(&JobView),
    ) -> Result<JobView, RefreshError> {
        loop {
            let view = self.job(id).await?;
            seen(&view);
            if matches!(view.status, JobStatus::Done | JobStatus::Failed) {
                return Ok(view);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// What the console says before a tenant admin confirms a refresh.
pub fn confirmation_text(settings: &IntegrationSettings) -> String {
    let what = match settings.source {
        RefreshSource::Production if settings.masked => {
            "a copy of your production data as it is now, with personal data replaced by \
             stand-ins"
        }
        RefreshSource::Production => "a copy of your production data as it is now",
        RefreshSource::Sample => "the standard sample data",
    };
    format!(
        "Your integration data will be replaced by {what}. Every change made in integration \
         since the last refresh will be lost. Client credentials, connections and app keys \
         stay as they are. Integration keeps answering requests while the copy is made."
    )
}

/// Why masking is refused for sample data.
fn unmaskable() -> RefreshError {
    RefreshError::Invalid(
        "masked",
        "Sample data holds no personal data to mask; masking applies to copies of production."
            .into(),
    )
}
