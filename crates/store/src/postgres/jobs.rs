//! Refresh jobs and integration settings in PostgreSQL. A partial unique index keeps one active
//! job per tenant across nodes, and `FOR UPDATE SKIP LOCKED` hands each job to one node.

use super::PgStore;
use crate::util::now_us;
use crate::*;

const ACTIVE: &str = "status IN ('queued', 'running')";

pub(super) async fn create(
    s: &PgStore,
    job: &NewRefreshJob,
    min_interval_us: i64,
) -> Result<Result<RefreshJob, JobRefusal>> {
    let now = now_us();
    let mut tx = s.pool.begin().await?;
    let busy: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT id FROM refresh_jobs WHERE tenant_id = $1 AND {ACTIVE}"
    ))
    .bind(job.tenant_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(id) = busy {
        return Ok(Err(JobRefusal::Busy(id)));
    }
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(finished_us) FROM refresh_jobs WHERE tenant_id = $1 AND status = 'done'",
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
         requested_us, phase) VALUES ($1, $2, $3, $4, 'queued', $5, $6, 'queued') RETURNING *",
    )
    .bind(job.tenant_id)
    .bind(job.source.as_str())
    .bind(job.masked)
    .bind(job.forced)
    .bind(&job.requested_by)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    let row = match row {
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            // Another node queued one for the tenant between the check and the insert.
            return Ok(Err(JobRefusal::Busy(0)));
        }
        other => other?,
    };
    let created = job_from(&row)?;
    tx.commit().await?;
    Ok(Ok(created))
}

pub(super) async fn claim(s: &PgStore, runner: &str) -> Result<Option<RefreshJob>> {
    let now = now_us();
    let row = sqlx::query(
        "UPDATE refresh_jobs SET status = 'running', runner = $1, started_us = $2, \
         heartbeat_us = $3, phase = 'starting', phase_started_us = $4 \
         WHERE id = (SELECT id FROM refresh_jobs WHERE status = 'queued' ORDER BY id \
         LIMIT 1 FOR UPDATE SKIP LOCKED) AND status = 'queued' RETURNING *",
    )
    .bind(runner)
    .bind(now)
    .bind(now)
    .bind(now)
    .fetch_optional(&s.pool)
    .await?;
    row.as_ref().map(job_from).transpose()
}

pub(super) async fn progress(
    s: &PgStore,
    id: i64,
    phase: &str,
    done: i64,
    total: i64,
) -> Result<()> {
    let now = now_us();
    sqlx::query(
        "UPDATE refresh_jobs SET phase_started_us = CASE WHEN phase = $1 THEN phase_started_us \
         ELSE $2 END, phase = $3, rows_done = $4, rows_total = $5, heartbeat_us = $6 \
         WHERE id = $7 AND status = 'running'",
    )
    .bind(phase)
    .bind(now)
    .bind(phase)
    .bind(done)
    .bind(total)
    .bind(now)
    .bind(id)
    .execute(&s.pool)
    .await?;
    Ok(())
}

pub(super) async fn finish(s: &PgStore, id: i64, outcome: Result<i64, String>) -> Result<()> {
    let (status, generation, error) = match outcome {
        Ok(generation) => ("done", Some(generation), None),
        Err(why) => ("failed", None, Some(why)),
    };
    sqlx::query(
        "UPDATE refresh_jobs SET status = $1, phase = $2, finished_us = $3, generation = $4, \
         error = $5 WHERE id = $6 AND status = 'running'",
    )
    .bind(status)
    .bind(status)
    .bind(now_us())
    .bind(generation)
    .bind(error)
    .bind(id)
    .execute(&s.pool)
    .await?;
    Ok(())
}

pub(super) async fn fail_stale(s: &PgStore, stale_before_us: i64) -> Result<Vec<RefreshJob>> {
    let rows = sqlx::query(&format!(
        "UPDATE refresh_jobs SET status = 'failed', finished_us = $1, \
         error = {STOPPED} || phase || '.', phase = 'failed' \
         WHERE status = 'running' AND COALESCE(heartbeat_us, started_us) < $2 RETURNING *"
    ))
    .bind(now_us())
    .bind(stale_before_us)
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(job_from).collect()
}

/// The reason a job whose runner vanished is failed with, before the phase it was in.
const STOPPED: &str = "'The refresh stopped before it finished (its process ended \
     or lost the store); the integration copy was not changed and the refresh can be \
     requested again. It was '";

pub(super) async fn get(s: &PgStore, id: i64) -> Result<Option<RefreshJob>> {
    let row = sqlx::query("SELECT * FROM refresh_jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&s.pool)
        .await?;
    row.as_ref().map(job_from).transpose()
}

pub(super) async fn list(
    s: &PgStore,
    tenant_id: Option<i64>,
    status: Option<JobStatus>,
    limit: u32,
) -> Result<Vec<RefreshJob>> {
    let rows = sqlx::query(
        "SELECT * FROM refresh_jobs WHERE ($1::int8 IS NULL OR tenant_id = $1) \
         AND ($2::text IS NULL OR status = $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(tenant_id)
    .bind(status.map(JobStatus::as_str))
    .bind(limit as i64)
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(job_from).collect()
}

pub(super) async fn settings(s: &PgStore, tenant_id: i64) -> Result<Option<IntegrationSettings>> {
    let row = sqlx::query("SELECT * FROM integration_settings WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(&s.pool)
        .await?;
    row.as_ref().map(settings_from).transpose()
}

pub(super) async fn put_settings(s: &PgStore, v: &IntegrationSettings) -> Result<()> {
    sqlx::query(
        "INSERT INTO integration_settings (tenant_id, source, masked, min_interval_secs, \
         updated_us) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id) DO UPDATE SET \
         source = excluded.source, masked = excluded.masked, \
         min_interval_secs = excluded.min_interval_secs, updated_us = excluded.updated_us",
    )
    .bind(v.tenant_id)
    .bind(v.source.as_str())
    .bind(v.masked)
    .bind(v.min_interval_secs)
    .bind(v.updated_us)
    .execute(&s.pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::NotFound(format!("tenant {}", v.tenant_id))
        }
        _ => StoreError::Backend(e),
    })?;
    Ok(())
}
