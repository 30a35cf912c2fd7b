//! `fieldgate seed` and `fieldgate refresh`: sample data at scale, and refreshes of integration
//! copies, run against the store directly (a serving process on the same store sees the
//! result, and either process may run a queued job).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Subcommand;
use fieldgate_server::Config;
use fieldgate_server::control::{Actor, Control};
use fieldgate_server::refresh::{
    JobView, Refresh, RefreshRequest, Runner, SettingsChange, seed::seed_scaled,
};
use fieldgate_store::{AuditEvent, Dataset, Environment, JobStatus, RefreshSource, TenantKind};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Subcommand)]
pub enum RefreshAction {
    /// Refresh a tenant's integration copy, showing progress until it is done.
    Request {
        #[arg(long)]
        tenant: i64,
        /// `production` (a copy of production) or `sample` (the standard sample data);
        /// default: the tenant's setting.
        #[arg(long)]
        source: Option<String>,
        /// Mask personal data in the copy (default: the tenant's setting).
        #[arg(long, conflicts_with = "no_mask")]
        mask: bool,
        #[arg(long)]
        no_mask: bool,
        /// Refresh even if the minimum interval since the last refresh has not passed.
        #[arg(long)]
        force: bool,
        /// Queue the job and return; a serving process runs it. Without it the command runs
        /// the job itself if no serving process takes it within 3 s.
        #[arg(long)]
        detach: bool,
    },
    /// Request a failed job again, showing progress until it is done.
    Retry {
        id: i64,
        /// Retry even if the minimum interval since the last refresh has not passed.
        #[arg(long)]
        force: bool,
        /// Queue the job and return; a serving process runs it. Without it the command runs
        /// the job itself if no serving process takes it within 3 s.
        #[arg(long)]
        detach: bool,
    },
    /// List refresh jobs, newest first.
    List {
        #[arg(long)]
        tenant: Option<i64>,
        /// The jobs as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show one job as JSON.
    Show { id: i64 },
    /// Show or change what a tenant's integration copy holds.
    Settings {
        #[arg(long)]
        tenant: i64,
        #[arg(long)]
        source: Option<String>,
        /// `true` or `false`.
        #[arg(long)]
        mask: Option<bool>,
        /// Seconds; a negative value goes back to the configured default.
        #[arg(long, allow_negative_numbers = true)]
        min_interval_secs: Option<i64>,
    },
}

fn cli_actor() -> Actor {
    Actor {
        name: "operator".into(),
        address: Some("cli".into()),
    }
}

fn source(text: Option<&str>) -> Result<Option<RefreshSource>> {
    text.map(|s| {
        RefreshSource::parse(s)
            .with_context(|| format!("unknown source `{s}` (production or sample)"))
    })
    .transpose()
}

fn bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

pub async fn seed(config: Config, env: &str, tenant: i64, scale: usize, seed: u64) -> Result<()> {
    let environment: Environment = env.parse().map_err(anyhow::Error::msg)?;
    if config.database_url.is_none() && !config.database_path().exists() {
        eprintln!(
            "note: creating a new store in {}",
            config.data_dir.display()
        );
    }
    let (store, keys) = fieldgate_server::open(&config).await?;
    store.leave_replaced_files();
    let kind = store.tenant(tenant).await?.map(|t| t.kind);
    anyhow::ensure!(
        !(kind == Some(TenantKind::Developer) && environment == Environment::Production),
        "tenant {tenant} is a developer sandbox: it has no production data; seed its \
         integration data instead (--env integration)"
    );
    if kind.is_none() {
        let control = Control {
            store: store.as_ref(),
            keys: &keys,
            actor: cli_actor(),
        };
        control
            .create_tenant(tenant, &format!("Tenant {tenant}"), TenantKind::Customer)
            .await?;
        eprintln!("created customer tenant {tenant}");
    }
    // A refresh under way would publish its copy over the seeded data when it ends.
    if environment == Environment::Integration {
        for status in [JobStatus::Running, JobStatus::Queued] {
            if let Some(job) = store
                .refresh_jobs(Some(tenant), Some(status), 1)
                .await?
                .first()
            {
                anyhow::bail!(
                    "refresh job {} of tenant {tenant} is {}; it would replace the seeded \
                     data when it ends. Wait for it (fieldgate refresh show {}) and seed again.",
                    job.id,
                    status.as_str(),
                    job.id
                );
            }
        }
    }
    let progress = bar(
        scale as u64,
        "{spinner} seeding [{bar:40}] {pos}/{len} customers, {msg} ({eta} left)",
    );
    let started = Instant::now();
    let seeded = seed_scaled(
        store.as_ref(),
        Dataset::new(environment, tenant),
        seed,
        scale,
        |done, _, records| {
            progress.set_position(done);
            progress.set_message(format!("{records} records"));
        },
    )
    .await?;
    progress.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let actor = cli_actor();
    store
        .append_audit(&AuditEvent {
            at_us: chrono::Utc::now().timestamp_micros(),
            actor: actor.name,
            action: "dataset.seeded".into(),
            tenant_id: Some(tenant),
            app_id: None,
            environment: Some(environment),
            address: actor.address,
            detail: serde_json::json!({"scale": scale, "seed": seed, "records": seeded.records,
                                       "generation": seeded.generation}),
        })
        .await?;
    println!(
        "seeded {env}/{tenant}: {} records around {scale} customers in {secs:.1} s \
         ({:.0} records/s), generation {}",
        seeded.records,
        seeded.records as f64 / secs,
        seeded.generation
    );
    Ok(())
}

pub async fn refresh(config: Config, action: RefreshAction) -> Result<()> {
    // A refresh works on a store's tenants; an empty store made here would only mislead.
    anyhow::ensure!(
        config.database_url.is_some() || config.database_path().exists(),
        "no fieldgate store in {}: point --data-dir (or FIELDGATE_DATA_DIR) at a server's data \
         directory, or --database at its PostgreSQL",
        config.data_dir.display()
    );
    let (store, keys) = fieldgate_server::open(&config).await?;
    store.leave_replaced_files();
    let service = Refresh {
        store: store.as_ref(),
        config: &config.refresh,
        actor: cli_actor(),
    };
    match action {
        RefreshAction::Request {
            tenant,
            source: from,
            mask,
            no_mask,
            force,
            detach,
        } => {
            let request = RefreshRequest {
                source: source(from.as_deref())?,
                masked: (mask || no_mask).then_some(mask),
                force,
            };
            let job = service.request(tenant, &request).await?;
            // What this job replaces the copy with, which the request may set apart from the
            // tenant's settings.
            let mut settings = service.settings(tenant).await?;
            (settings.source, settings.masked) = (job.source, job.masked);
            eprintln!(
                "{}",
                fieldgate_server::refresh::confirmation_text(&settings)
            );
            println!("queued refresh job {} for tenant {tenant}", job.id);
            if detach {
                return Ok(());
            }
            follow(&service, store.clone(), &keys, &config, job.id).await
        }
        RefreshAction::Retry { id, force, detach } => {
            let job = service.retry(id, force).await?;
            println!("queued refresh job {} for tenant {}", job.id, job.tenant_id);
            if detach {
                return Ok(());
            }
            follow(&service, store.clone(), &keys, &config, job.id).await
        }
        RefreshAction::List { tenant, json } => {
            let jobs = service.jobs(tenant, 50).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&jobs)?);
                return Ok(());
            }
            if jobs.is_empty() {
                println!("no refresh jobs");
                return Ok(());
            }
            let row = |cells: [&str; 8]| {
                println!(
                    "{:>6}  {:<12} {:<10} {:<6} {:<8} {:>6}  {:<28} {}",
                    cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7]
                )
            };
            row([
                "job",
                "tenant",
                "source",
                "masked",
                "status",
                "done",
                "requested",
                "error",
            ]);
            for v in jobs {
                row([
                    &v.id.to_string(),
                    &v.tenant_id.to_string(),
                    v.source.as_str(),
                    if v.masked { "yes" } else { "no" },
                    v.status.as_str(),
                    &format!("{:.1}%", v.percent),
                    &v.requested_on,
                    v.error.as_deref().unwrap_or(""),
                ]);
            }
            Ok(())
        }
        RefreshAction::Show { id } => {
            println!("{}", serde_json::to_string_pretty(&service.job(id).await?)?);
            Ok(())
        }
        RefreshAction::Settings {
            tenant,
            source: from,
            mask,
            min_interval_secs,
        } => {
            let change = SettingsChange {
                source: source(from.as_deref())?,
                masked: mask,
                min_interval_secs: min_interval_secs.map(|s| (s >= 0).then_some(s)),
            };
            let settings = if change.source.is_some()
                || change.masked.is_some()
                || change.min_interval_secs.is_some()
            {
                service.change_settings(tenant, &change).await?
            } else {
                service.settings(tenant).await?
            };
            let view = service.settings_view(&settings).await?;
            println!("{}", serde_json::to_string_pretty(&view)?);
            Ok(())
        }
    }
}

/// How long the command leaves a queued job to a serving process (which looks for queued jobs
/// every second) before it runs the job itself: stopping the command then stops only its view.
const HANDOFF: Duration = Duration::from_secs(3);

/// Shows a job's progress until it ends, running it in this process if no serving process
/// takes it within `HANDOFF`.
async fn follow(
    service: &Refresh<'_>,
    store: Arc<dyn fieldgate_store::Store>,
    keys: &fieldgate_server::crypto::Keys,
    config: &Config,
    id: i64,
) -> Result<()> {
    let waited = Instant::now();
    let job = loop {
        let job = store
            .refresh_job(id)
            .await?
            .with_context(|| format!("refresh job {id} vanished"))?;
        if job.status != JobStatus::Queued || waited.elapsed() >= HANDOFF {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = if job.status == JobStatus::Queued {
        eprintln!(
            "No serving process took job {id}, so it runs in this one: stopping this command \
             fails the refresh (the copy stays as it is; `fieldgate refresh retry {id}` asks again)."
        );
        let runner = Arc::new(Runner::new(store, keys, config.refresh.clone()));
        Some(tokio::spawn(runner.run(stopped)))
    } else {
        if let Some(runner) = &job.runner {
            eprintln!("Job {id} runs in {runner}; stopping this command stops only this view.");
        }
        None
    };
    let progress = bar(1, "{spinner} {msg:>24} [{bar:40}] {pos}/{len} rows");
    let view = service.watch(id, |v| show(&progress, v)).await?;
    progress.finish_and_clear();
    let _ = stop.send(true);
    if let Some(running) = running {
        let _ = running.await;
    }
    print_outcome(&view)
}

fn show(progress: &ProgressBar, view: &JobView) {
    progress.set_length(view.rows_total.max(1) as u64);
    progress.set_position(view.rows_copied.max(0) as u64);
    let eta = view
        .estimated_seconds_left
        .map_or(String::new(), |s| format!(", {s:.0} s left"));
    progress.set_message(format!("{}{eta}", view.phase));
}

fn print_outcome(view: &JobView) -> Result<()> {
    match view.status {
        JobStatus::Done => {
            println!(
                "refresh job {} done: {} rows, generation {}",
                view.id,
                view.rows_total,
                view.generation.unwrap_or_default()
            );
            Ok(())
        }
        _ => anyhow::bail!(
            "refresh job {} failed: {}",
            view.id,
            view.error.as_deref().unwrap_or("no reason recorded")
        ),
    }
}
