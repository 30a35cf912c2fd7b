//! Runs refresh jobs: claims a queued job (exactly one process gets it), builds the new
//! generation beside the served one, masks it if asked, and publishes it in one switch. A
//! heartbeat every half second tells other processes the job is alive; a job whose heartbeat
//! stops is failed and can be requested again, and the copy it was building is removed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fieldgate_catalog::Catalog;
use fieldgate_store::{
    Dataset, Environment, JobStatus, Progress, RefreshJob, RefreshSource, Staged, Store,
};
use serde_json::json;
use tokio::sync::{Notify, watch};

use super::mask::Masker;
use super::{Refresh, RefreshConfig, now_us};
use crate::control::Actor;
use crate::crypto::Keys;

/// A running job's runner writes its progress (and so its heartbeat) this often.
const HEARTBEAT: Duration = Duration::from_millis(500);
/// A running job whose heartbeat is older than this is taken for dead.
const STALE: Duration = Duration::from_secs(10);
/// An unpublished generation untouched this long, with no job running for its tenant, was
/// left by a process that died (a running seed or job keeps writing it).
const SWEEP_IDLE: Duration = Duration::from_secs(20);
/// How often an idle runner looks for queued jobs and dead ones.
const POLL: Duration = Duration::from_secs(1);

/// Runs the refresh jobs of one process.
pub struct Runner {
    store: Arc<dyn Store>,
    catalog: &'static Catalog,
    config: RefreshConfig,
    /// Root of the per-tenant masking keys, derived from the master key.
    mask_root: [u8; 32],
    /// `host:pid`, as jobs record who runs them.
    id: String,
    wake: Notify,
}

/// Where a job stands, shared with its heartbeat.
#[derive(Default)]
struct Standing {
    phase: Mutex<&'static str>,
    done: AtomicU64,
    total: AtomicU64,
}

impl Standing {
    fn phase(&self, phase: &'static str, total: u64) {
        *self.phase.lock().expect("phase") = phase;
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    fn progress(self: &Arc<Self>) -> Progress {
        let me = self.clone();
        Arc::new(move |done, total| {
            me.done.store(done, Ordering::Relaxed);
            me.total.store(total, Ordering::Relaxed);
        })
    }
}

fn host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

impl Runner {
    pub fn new(store: Arc<dyn Store>, keys: &Keys, config: RefreshConfig) -> Self {
        Self {
            store,
            catalog: Catalog::get(),
            config,
            mask_root: keys.digest("integration-mask", ""),
            id: format!("{}:{}", host(), std::process::id()),
            wake: Notify::new(),
        }
    }

    pub fn config(&self) -> &RefreshConfig {
        &self.config
    }

    /// Asks the runner to look for queued jobs now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The masking key of a tenant: the same for every refresh, unknown without the master key.
    pub fn mask_key(&self, tenant: i64) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.mask_root)
            .expect("any key length works");
        mac.update(&tenant.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Fails jobs whose runner is gone (a process of this host that no longer exists, or a
    /// heartbeat that stopped) and removes the generations they were building.
    pub async fn recover(&self) -> anyhow::Result<()> {
        let (host, _) = self.id.rsplit_once(':').unwrap_or((&self.id, ""));
        let running = self
            .store
            .refresh_jobs(None, Some(JobStatus::Running), u32::MAX)
            .await?;
        for job in &running {
            let dead = job
                .runner
                .as_deref()
                .and_then(|r| r.rsplit_once(':'))
                .is_some_and(|(h, pid)| {
                    h == host
                        && pid != std::process::id().to_string()
                        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
                });
            if dead {
                let why = format!(
                    "The refresh stopped before it finished (its process ended during {}); the \
                     integration copy was not changed and the refresh can be requested again.",
                    job.phase
                );
                self.store
                    .finish_refresh_job(job.id, Err(why.clone()))
                    .await?;
                self.audit_failed(job, &why).await?;
            }
        }
        let stale_before = now_us() - STALE.as_micros() as i64;
        for job in self.store.fail_stale_refresh_jobs(stale_before).await? {
            let why = job.error.clone().unwrap_or_default();
            self.audit_failed(&job, &why).await?;
        }
        let removed = self
            .store
            .sweep_generations(&[], SWEEP_IDLE.as_micros() as i64)
            .await?;
        if removed > 0 {
            tracing::info!(
                removed,
                "removed dataset files no generation serves (replaced, or left by a refresh that did not finish)"
            );
        }
        Ok(())
    }

    async fn audit_failed(&self, job: &RefreshJob, why: &str) -> anyhow::Result<()> {
        Refresh::audit(
            self.store.as_ref(),
            &Actor {
                name: "system".into(),
                address: None,
            },
            "refresh.failed",
            job.tenant_id,
            json!({"jobId": job.id, "error": why, "retryable": true}),
        )
        .await?;
        Ok(())
    }

    /// Runs queued jobs until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut last_recover = None::<Instant>;
        loop {
            if last_recover.is_none_or(|t| t.elapsed() >= STALE / 2) {
                if let Err(e) = self.recover().await {
                    tracing::warn!(error = %e, "checking refresh jobs failed");
                }
                last_recover = Some(Instant::now());
            }
            loop {
                match self.run_one().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming a refresh job failed");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = self.wake.notified() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// Claims and runs one queued job, if there is one; returns it as it ended.
    pub async fn run_one(&self) -> anyhow::Result<Option<RefreshJob>> {
        let Some(job) = self.store.claim_refresh_job(&self.id).await? else {
            return Ok(None);
        };
        self.execute(&job).await?;
        Ok(self.store.refresh_job(job.id).await?)
    }

    async fn execute(&self, job: &RefreshJob) -> anyhow::Result<()> {
        let system = Actor {
            name: "system".into(),
            address: None,
        };
        let store = self.store.as_ref();
        Refresh::audit(
            store,
            &system,
            "refresh.started",
            job.tenant_id,
            json!({"jobId": job.id, "runner": self.id}),
        )
        .await?;
        let started = Instant::now();
        let standing = Arc::new(Standing::default());
        standing.phase("starting", 0);
        let beat = {
            let (store, standing, id) = (self.store.clone(), standing.clone(), job.id);
            tokio::spawn(async move {
                loop {
                    let phase = *standing.phase.lock().expect("phase");
                    let done = standing.done.load(Ordering::Relaxed) as i64;
                    let total = standing.total.load(Ordering::Relaxed) as i64;
                    if let Err(e) = store.refresh_job_progress(id, phase, done, total).await {
                        tracing::warn!(job = id, error = %e, "recording refresh progress failed");
                    }
                    tokio::time::sleep(HEARTBEAT).await;
                }
            })
        };
        let mut staged = None;
        let outcome = self.work(job, &standing, &mut staged).await;
        beat.abort();
        let _ = beat.await;
        let seconds = started.elapsed().as_secs_f64();
        match outcome {
            Ok((generation, rows)) => {
                // The last count, which the heartbeat may not have written yet.
                store
                    .refresh_job_progress(job.id, "switching", rows as i64, rows as i64)
                    .await?;
                store.finish_refresh_job(job.id, Ok(generation)).await?;
                tracing::info!(
                    job = job.id,
                    tenant = job.tenant_id,
                    rows,
                    seconds,
                    "refresh done"
                );
                Refresh::audit(
                    store,
                    &system,
                    "refresh.done",
                    job.tenant_id,
                    json!({"jobId": job.id, "generation": generation, "rows": rows,
                           "masked": job.masked, "source": job.source, "seconds": seconds}),
                )
                .await?;
            }
            Err(e) => {
                if let Some(staged) = staged
                    && let Err(d) = store.discard_staged(&staged).await
                {
                    tracing::warn!(error = %d, "removing an unfinished copy failed");
                }
                let why = format!(
                    "The refresh failed during {}: {e:#}. The integration copy was not changed; \
                     the refresh can be requested again.",
                    *standing.phase.lock().expect("phase")
                );
                store.finish_refresh_job(job.id, Err(why.clone())).await?;
                tracing::warn!(job = job.id, tenant = job.tenant_id, error = %why, "refresh failed");
                self.audit_failed(job, &why).await?;
            }
        }
        Ok(())
    }

    /// Builds and publishes the new generation; returns it and its record count.
    async fn work(
        &self,
        job: &RefreshJob,
        standing: &Arc<Standing>,
        staged_out: &mut Option<Staged>,
    ) -> anyhow::Result<(i64, u64)> {
        let store = self.store.as_ref();
        let integration = Dataset::new(Environment::Integration, job.tenant_id);
        let production = Dataset::new(Environment::Production, job.tenant_id);
        match job.source {
            RefreshSource::Production => {
                standing.phase("copying", 0);
                let (staged, rows) = store
                    .stage_dataset(integration, Some(production), standing.progress())
                    .await?;
                *staged_out = Some(staged);
                if job.masked {
                    standing.phase("masking", rows);
                    let masker = Masker::new(self.catalog, &self.mask_key(job.tenant_id));
                    let changed = store
                        .transform_staged(
                            &staged,
                            Arc::new(move |resource, doc| masker.mask_doc(resource, doc)),
                            standing.progress(),
                        )
                        .await?;
                    tracing::info!(job = job.id, changed, "masked personal data");
                }
                standing.phase("switching", rows);
                standing.done.store(rows, Ordering::Relaxed);
                store.publish_staged(&staged, 0).await?;
                Ok((staged.generation, rows))
            }
            RefreshSource::Sample => {
                standing.phase("generating", 0);
                let (staged, _) = store
                    .stage_dataset(integration, None, standing.progress())
                    .await?;
                *staged_out = Some(staged);
                let scale = self.config.sample_scale;
                let estimate = (scale as i64 + 100) * 40;
                let first = store.allocate_ids(integration, estimate).await?;
                let options = fieldgate_sample::SampleOptions {
                    seed: crate::demo::STANDARD_SEED,
                    scale,
                    now_us: now_us(),
                };
                let catalog = self.catalog;
                let data = tokio::task::spawn_blocking(move || {
                    fieldgate_sample::generate(catalog, &options, first)
                })
                .await?;
                anyhow::ensure!(
                    data.next_id <= first + estimate,
                    "sample data outgrew its reserved ids"
                );
                let total: u64 = data.resources.values().map(|r| r.len() as u64).sum();
                standing.total.store(total, Ordering::Relaxed);
                let mut done = 0;
                for (resource, records) in &data.resources {
                    store.staged_put(&staged, resource, records).await?;
                    done += records.len() as u64;
                    standing.done.store(done, Ordering::Relaxed);
                }
                standing.phase("switching", total);
                standing.done.store(total, Ordering::Relaxed);
                store.publish_staged(&staged, data.next_id).await?;
                Ok((staged.generation, total))
            }
        }
    }
}
