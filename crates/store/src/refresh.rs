//! What integration refreshes keep: dataset generations, staged copies, refresh jobs and each
//! tenant's integration settings.
//!
//! A dataset is served from one *generation* at a time. A refresh builds a new generation next
//! to the served one (a copy of production taken at one moment, or sample data), optionally
//! rewrites its documents (masking), and then makes it the served one in one step, so readers
//! see the whole old copy or the whole new one.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Dataset;

/// A generation of a dataset being built; nothing reads it until it is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Staged {
    pub target: Dataset,
    pub generation: i64,
}

/// Rewrites one stored document of a resource; `None` keeps it as it is.
pub type DocTransform = dyn Fn(&str, &str) -> Option<String> + Send + Sync;

/// Told how far a long store operation got: (done, total), in the operation's own units.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// What an integration dataset is refreshed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefreshSource {
    /// A copy of the tenant's production dataset.
    Production,
    /// The standard sample data.
    Sample,
}

impl RefreshSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshSource::Production => "production",
            RefreshSource::Sample => "sample",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "production" => Some(RefreshSource::Production),
            "sample" => Some(RefreshSource::Sample),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "queued" => Some(JobStatus::Queued),
            "running" => Some(JobStatus::Running),
            "done" => Some(JobStatus::Done),
            "failed" => Some(JobStatus::Failed),
            _ => None,
        }
    }
}

/// A request to refresh one tenant's integration dataset.
#[derive(Debug, Clone)]
pub struct NewRefreshJob {
    pub tenant_id: i64,
    pub source: RefreshSource,
    pub masked: bool,
    /// Requested by an operator past the minimum interval.
    pub forced: bool,
    pub requested_by: String,
}

/// One refresh of one tenant's integration dataset, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshJob {
    pub id: i64,
    pub tenant_id: i64,
    pub source: RefreshSource,
    pub masked: bool,
    pub forced: bool,
    pub status: JobStatus,
    pub requested_by: String,
    pub requested_us: i64,
    pub started_us: Option<i64>,
    pub finished_us: Option<i64>,
    /// Last sign of life of the runner; a running job whose heartbeat stops is failed.
    pub heartbeat_us: Option<i64>,
    /// Which process runs it (`host:pid`).
    pub runner: Option<String>,
    /// `queued`, `copying`, `generating`, `masking`, `switching`, then `done` or `failed`.
    pub phase: String,
    pub phase_started_us: Option<i64>,
    pub rows_done: i64,
    pub rows_total: i64,
    /// The generation it published.
    pub generation: Option<i64>,
    pub error: Option<String>,
}

/// Why a refresh request was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobRefusal {
    /// This job of the tenant is queued or running.
    Busy(i64),
    /// The last refresh finished too recently; another is allowed after `next_us`.
    TooSoon { last_done_us: i64, next_us: i64 },
}

/// What a tenant's integration dataset holds and how it is refreshed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationSettings {
    pub tenant_id: i64,
    pub source: RefreshSource,
    /// Replace personal data with stand-ins during the copy.
    pub masked: bool,
    /// Least time between two refreshes; `None` takes the configured default.
    pub min_interval_secs: Option<i64>,
    pub updated_us: i64,
}

/// A `refresh_jobs` row as both backends store it: the enums as their text.
#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    id: i64,
    tenant_id: i64,
    source: String,
    masked: bool,
    forced: bool,
    status: String,
    requested_by: String,
    requested_us: i64,
    started_us: Option<i64>,
    finished_us: Option<i64>,
    heartbeat_us: Option<i64>,
    runner: Option<String>,
    phase: String,
    phase_started_us: Option<i64>,
    rows_done: i64,
    rows_total: i64,
    generation: Option<i64>,
    error: Option<String>,
}

fn source_of(text: &str) -> crate::Result<RefreshSource> {
    RefreshSource::parse(text)
        .ok_or_else(|| crate::StoreError::Invalid(format!("refresh source {text}")))
}

/// A refresh job from a row of either backend.
pub(crate) fn job_from<'r, R: sqlx::Row>(row: &'r R) -> crate::Result<RefreshJob>
where
    JobRow: sqlx::FromRow<'r, R>,
{
    let r = <JobRow as sqlx::FromRow<'r, R>>::from_row(row)?;
    Ok(RefreshJob {
        id: r.id,
        tenant_id: r.tenant_id,
        source: source_of(&r.source)?,
        masked: r.masked,
        forced: r.forced,
        status: JobStatus::parse(&r.status)
            .ok_or_else(|| crate::StoreError::Invalid(format!("job status {}", r.status)))?,
        requested_by: r.requested_by,
        requested_us: r.requested_us,
        started_us: r.started_us,
        finished_us: r.finished_us,
        heartbeat_us: r.heartbeat_us,
        runner: r.runner,
        phase: r.phase,
        phase_started_us: r.phase_started_us,
        rows_done: r.rows_done,
        rows_total: r.rows_total,
        generation: r.generation,
        error: r.error,
    })
}

/// An `integration_settings` row as both backends store it.
#[derive(sqlx::FromRow)]
pub(crate) struct SettingsRow {
    tenant_id: i64,
    source: String,
    masked: bool,
    min_interval_secs: Option<i64>,
    updated_us: i64,
}

/// A tenant's integration settings from a row of either backend.
pub(crate) fn settings_from<'r, R: sqlx::Row>(row: &'r R) -> crate::Result<IntegrationSettings>
where
    SettingsRow: sqlx::FromRow<'r, R>,
{
    let r = <SettingsRow as sqlx::FromRow<'r, R>>::from_row(row)?;
    Ok(IntegrationSettings {
        tenant_id: r.tenant_id,
        source: source_of(&r.source)?,
        masked: r.masked,
        min_interval_secs: r.min_interval_secs,
        updated_us: r.updated_us,
    })
}
