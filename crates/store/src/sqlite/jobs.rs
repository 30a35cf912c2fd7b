//! Refresh jobs and integration settings in SQLite. The one writer connection serialises the
//! checks and changes, and a partial unique index keeps one active job per tenant.

use super::SqliteStore;
use crate::util::now_us;
use crate::*;

const ACTIVE: &str = "status IN ('queued', 'running')";

pub(super) async fn create(
    s: &SqliteStore,
    job: &NewRefreshJob,
    min_interval_us: i64,
) -> Result<Result<RefreshJob, JobRefusal>> {
    let now = now_us();
    // IMMEDIATE: the check and the insert hold the write lock together, also against another
    // process (the CLI) on the same file.
    let mut tx = s.writer.begin_with("BEGIN IMMEDIATE").await?;
    let busy: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT id FROM refresh_jobs WHERE tenant_id = ? AND {ACTIVE}"
    ))
    .bind(job.tenant_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = busy {
        return Ok(Err(JobRefusal::Busy(id)));
    }
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(finished_us) FROM refresh_jobs WHERE tenant_id = ? AND status = 'done'",
    )
    .bind(job.tenant_id)
    .fetch_one(&mut *tx)
    .await?;
    if let Some(last) = last.filter(|l| !job.forced && now < l.saturating_add(min_interval_us)) {
        return Ok(Err(JobRefusal::TooSoon {
            last_done_us: last,
            next_us: last.saturating_add(min_interval_us),
        }));
    }
    let row = sqlx::query(
        "INSERT INTO refresh_jobs (tenant_id, source, masked, forced, status, requested_by, \
         requested_us, phase) VALUES (?, ?, ?, ?, 'queued', ?, ?, 'queued') RETURNING *",
    )
    .bind(job.tenant_id)
    .bind(job.source.as_str())
    .bind(job.masked)
    .bind(job.forced)
    .bind(&job.requested_by)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let created = job_from(&row)?;
    tx.commit().await?;
    Ok(Ok(created))
}

pub(super) async fn claim(s: &SqliteStore, runner: &str) -> Result<Option<RefreshJob>> {
    let now = now_us();
    let row = sqlx::query(
        "UPDATE refresh_jobs SET status = 'running', runner = ?, started_us = ?, \
         heartbeat_us = ?, phase = 'starting', phase_started_us = ? \
         WHERE id = (SELECT id FROM refresh_jobs WHERE status = 'queued' ORDER BY id LIMIT 1) \
         RETURNING *",
    )
    .bind(runner)
    .bind(now)
    .bind(now)
    .bind(now)
    .fetch_optional(&s.writer)
    .await?;
    row.as_ref().map(job_from).transpose()
}

pub(super) async fn progress(
    s: &SqliteStore,
    id: i64,
    phase: &str,
    done: i64,
    total: i64,
) -> Result<()> {
    let now = now_us();
    sqlx::query(
        "UPDATE refresh_jobs SET phase_started_us = CASE WHEN phase = ? THEN phase_started_us \
         ELSE ? END, phase = ?, rows_done = ?, rows_total = ?, heartbeat_us = ? \
         WHERE id = ? AND status = 'running'",
    )
    .bind(phase)
    .bind(now)
    .bind(phase)
    .bind(done)
    .bind(total)
    .bind(now)
    .bind(id)
    .execute(&s.writer)
    .await?;
    Ok(())
}

pub(super) async fn finish(s: &SqliteStore, id: i64, outcome: Result<i64, String>) -> Result<()> {
    let (status, generation, error) = match outcome {
        Ok(generation) => ("done", Some(generation), None),
        Err(why) => ("failed", None, Some(why)),
    };
    sqlx::query(
        "UPDATE refresh_jobs SET status = ?, phase = ?, finished_us = ?, generation = ?, \
         error = ? WHERE id = ? AND status = 'running'",
    )
    .bind(status)
    .bind(status)
    .bind(now_us())
    .bind(generation)
    .bind(error)
    .bind(id)
    .execute(&s.writer)
    .await?;
    Ok(())
}

pub(super) async fn fail_stale(s: &SqliteStore, stale_before_us: i64) -> Result<Vec<RefreshJob>> {
    let rows = sqlx::query(&format!(
        "UPDATE refresh_jobs SET status = 'failed', finished_us = ?, \
         error = {STOPPED} || phase || '.', phase = 'failed' \
         WHERE status = 'running' AND COALESCE(heartbeat_us, started_us) < ? RETURNING *"
    ))
    .bind(now_us())
    .bind(stale_before_us)
    .fetch_all(&s.writer)
    .await?;
    rows.iter().map(job_from).collect()
}

/// The reason a job whose runner vanished is failed with, before the phase it was in.
pub(crate) const STOPPED: &str = "'The refresh stopped before it finished (its process ended \
     or lost the store); the integration copy was not changed and the refresh can be \
     requested again. It was '";

pub(super) async fn get(s: &SqliteStore, id: i64) -> Result<Option<RefreshJob>> {
    let row = sqlx::query("SELECT * FROM refresh_jobs WHERE id = ?")
        .bind(id)
        .fetch_optional(&s.readers)
        .await?;
    row.as_ref().map(job_from).transpose()
}

pub(super) async fn list(
    s: &SqliteStore,
    tenant_id: Option<i64>,
    status: Option<JobStatus>,
    limit: u32,
) -> Result<Vec<RefreshJob>> {
    let status = status.map(JobStatus::as_str);
    let rows = sqlx::query(
        "SELECT * FROM refresh_jobs WHERE (?1 IS NULL OR tenant_id = ?1) \
         AND (?2 IS NULL OR status = ?2) ORDER BY id DESC LIMIT ?3",
    )
    .bind(tenant_id)
    .bind(status)
    .bind(limit as i64)
    .fetch_all(&s.readers)
    .await?;
    rows.iter().map(job_from).collect()
}

/// Tenants with a running job, whose staged generations must stay.
pub(super) async fn running_tenants(s: &SqliteStore) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT tenant_id FROM refresh_jobs WHERE status = 'running'")
            .fetch_all(&s.writer)
            .await?,
    )
}

pub(super) async fn settings(
    s: &SqliteStore,
    tenant_id: i64,
) -> Result<Option<IntegrationSettings>> {
    let row = sqlx::query("SELECT * FROM integration_settings WHERE tenant_id = ?")
        .bind(tenant_id)
        .fetch_optional(&s.readers)
        .await?;
    row.as_ref().map(settings_from).transpose()
}

pub(super) async fn put_settings(s: &SqliteStore, v: &IntegrationSettings) -> Result<()> {
    sqlx::query(
        "INSERT INTO integration_settings (tenant_id, source, masked, min_interval_secs, \
         updated_us) VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET \
         source = excluded.source, masked = excluded.masked, \
         min_interval_secs = excluded.min_interval_secs, updated_us = excluded.updated_us",
    )
    .bind(v.tenant_id)
    .bind(v.source.as_str())
    .bind(v.masked)
    .bind(v.min_interval_secs)
    .bind(v.updated_us)
    .execute(&s.writer)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::NotFound(format!("tenant {}", v.tenant_id))
        }
        _ => StoreError::Backend(e),
    })?;
    Ok(())
}
