//! `fieldgate`: runs the integration and production environments of a ServiceTitan-compatible
//! API, and the demo that fills them with sample data.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use fieldgate_server::{AppState, Config, app, demo, engine};
use tracing_subscriber::EnvFilter;

mod cli;
mod ops;

// Sample data, refreshes and served pages allocate millions of short-lived strings and maps,
// many freed on another thread than made them; glibc's allocator spent a third of a seed's
// time on that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc hands pages back to the OS 10 ms after they fall empty. A seed makes records on
/// two threads and frees them on a third, in waves, so each wave faulted its pages back in and
/// the kernel zeroed them again (a sixth to a fifth of a seed's CPU). A second's delay
/// keeps them. Only the bulk commands ask for it: a serving process keeps the default, since
/// under load the pages kept raise its resident memory.
fn keep_freed_pages() {
    // `mi_option_purge_delay` in mimalloc.h; the sys crate names no constant for it.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: sets one integer option of the allocator; mimalloc allows this at any time.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 1000) }
}

/// Gives back to the OS what this thread freed, now rather than when it next allocates: the
/// demo makes its sample data on the thread that then only waits for the server, and ~45 MiB
/// of freed pages stayed resident all the while it served.
fn release_freed_pages() {
    // SAFETY: asks the allocator to purge this thread's free pages; no memory in use moves.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

#[derive(Parser)]
#[command(name = "fieldgate", version, about)]
struct Cli {
    /// A TOML config file; `FIELDGATE_*` variables override it.
    #[arg(long, global = true, env = "FIELDGATE_CONFIG")]
    config: Option<PathBuf>,
    /// Where the store and the master key live (overrides the config's `data_dir`).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// A PostgreSQL URL to share one store between several nodes (overrides `database_url`).
    #[arg(long, global = true)]
    database: Option<String>,
    /// Benchmarks only: also serve the production API without the gateway on this loopback
    /// address, to measure what the gateway costs.
    #[arg(long, global = true, hide = true)]
    bench_ungated: Option<std::net::SocketAddr>,
    #[command(flatten)]
    admin: cli::AdminArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve both environments from an existing data directory.
    Serve,
    /// Create the demo developer, app, tenants, sample data and credentials, then serve.
    Demo {
        /// Start over: delete the store and master key already in the data directory.
        #[arg(long)]
        reset: bool,
        /// Also write the URLs and credentials as JSON to this file.
        #[arg(long)]
        credentials_out: Option<PathBuf>,
        /// Customers per tenant in the sample data.
        #[arg(long, default_value_t = 300)]
        scale: usize,
        /// Create and print, then exit instead of serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Print how many operations each module has and how many fieldgate serves.
    Catalog,
    #[command(flatten)]
    Admin(cli::AdminCommand),
    /// Fill a dataset with generated sample data around N customers (replacing what it held).
    Seed {
        /// `production` or `integration`.
        #[arg(long)]
        env: String,
        /// The tenant; a customer tenant is created if it does not exist.
        #[arg(long)]
        tenant: i64,
        /// Customers; locations, contacts, jobs, appointments, invoices and payments follow.
        #[arg(long, default_value_t = 1000)]
        scale: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Refresh integration copies and show or change their settings.
    Refresh {
        #[command(subcommand)]
        action: ops::RefreshAction,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Seed { .. } | Command::Refresh { .. }) {
        keep_freed_pages();
    }
    let mut config = Config::load(cli.config.as_deref()).context("loading the configuration")?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    if let Some(url) = cli.database {
        config.database_url = Some(url);
    }
    // Operator commands print their results; only warnings belong beside them.
    let quiet = matches!(
        cli.command,
        Command::Admin(_) | Command::Seed { .. } | Command::Refresh { .. }
    );
    init_logging(&config, if quiet { "warn" } else { "info" });
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Admin(command) => {
            refusal_exits(runtime.block_on(cli::run(config, cli.admin, command)))
        }
        Command::Serve => runtime.block_on(serve(config, None, cli.bench_ungated)),
        Command::Demo {
            reset,
            credentials_out,
            scale,
            no_serve,
        } => {
            let request = DemoRequest {
                credentials_out,
                scale,
                no_serve,
            };
            runtime.block_on(run_demo(config, reset, request, cli.bench_ungated))
        }
        Command::Catalog => {
            print_catalog();
            Ok(())
        }
        Command::Seed {
            env,
            tenant,
            scale,
            seed,
        } => refusal_exits(runtime.block_on(ops::seed(config, &env, tenant, scale, seed))),
        Command::Refresh { action } => {
            refusal_exits(runtime.block_on(ops::refresh(config, action)))
        }
    }
}

/// A refusal is the operator's to act on: its message and exit status 1, no trace.
fn refusal_exits(outcome: Result<()>) -> Result<()> {
    if let Err(e) = outcome {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
    Ok(())
}

fn init_logging(config: &Config, default: &str) {
    let filter =
        EnvFilter::try_from_env("FIELDGATE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    // Colours only for a person at a terminal, not in files and log collectors.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// What `fieldgate demo` asks for on top of serving.
struct DemoRequest {
    credentials_out: Option<PathBuf>,
    scale: usize,
    no_serve: bool,
}

async fn serve(
    mut config: Config,
    demo_request: Option<DemoRequest>,
    ungated: Option<std::net::SocketAddr>,
) -> Result<()> {
    // Bound first: a port in use stops the demo before it creates anything, and the URLs it
    // prints carry the real ports even when 0 was asked for.
    let listeners = app::bind(&mut config).await?;
    let (store, keys) = fieldgate_server::open(&config).await?;

    let mut banner = None;
    if let Some(request) = demo_request {
        let started = std::time::Instant::now();
        let options = demo::DemoOptions {
            scale: request.scale,
        };
        let doc = demo::create(store.as_ref(), &keys, &config, options)
            .await
            .map_err(|e| {
                if e.to_string().contains("already exists") {
                    anyhow::anyhow!(
                        "{e}: this store already holds the demo, whose secrets were shown once; \
                     serve it with `fieldgate serve`"
                    )
                } else {
                    e
                }
            })?;
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "demo data created"
        );
        release_freed_pages();
        if let Some(path) = &request.credentials_out {
            write_private(path, &(serde_json::to_string_pretty(&doc)? + "\n"))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        if request.no_serve {
            println!("{}", demo::describe(&doc, false));
            return Ok(());
        }
        banner = Some(demo::describe(&doc, true));
    }

    let state = AppState::new(config, store, keys).await?;
    let running = app::serve(state.clone(), listeners, true);
    if let Some(addr) = ungated {
        app::serve_ungated(
            state.clone(),
            fieldgate_store::Environment::Production,
            addr,
        )
        .await?;
    }
    for env in fieldgate_store::Environment::ALL {
        let c = state.config.env(env);
        tracing::info!(%env, auth = %c.auth_url, api = %c.api_url, "listening");
    }
    if state.config.web_listen.is_some() {
        tracing::info!(web = %state.config.web_url, "developer portal and tenant console listening");
    }
    if let Some(banner) = banner {
        println!("{banner}");
    }
    let stop = running.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down; finishing requests in flight");
        let _ = stop.send(true);
    });
    running.wait().await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn run_demo(
    mut config: Config,
    reset: bool,
    request: DemoRequest,
    ungated: Option<std::net::SocketAddr>,
) -> Result<()> {
    // The demo's admin API works out of the box: without a configured operator token it makes
    // one, printed once with the other secrets.
    if config.operator_token.is_none() && config.admin_listen.is_some() {
        let token = fieldgate_server::crypto::random_string(40);
        config.operator_token = Some(format!("fo1.{token}").into());
    }
    // A shared PostgreSQL database is never reset from here; the demo refuses to create its
    // tenants twice there.
    let db = config.database_path();
    if config.database_url.is_none() && db.exists() {
        anyhow::ensure!(
            reset,
            "{} already holds a fieldgate store, and its secrets were shown only once. \
             Run `fieldgate demo --reset` to start over, or `fieldgate serve` to keep it.",
            config.data_dir.display()
        );
        for name in [
            "fieldgate.db",
            "fieldgate.db-wal",
            "fieldgate.db-shm",
            "master.key",
        ] {
            let path = config.data_dir.join(name);
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
            }
        }
        // Each dataset's own files.
        let datasets = config.data_dir.join("datasets");
        if datasets.exists() {
            std::fs::remove_dir_all(&datasets)
                .with_context(|| format!("removing {}", datasets.display()))?;
        }
    }

    serve(config, Some(request), ungated).await
}

/// Writes a file only its owner can read: it holds secrets.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())?;
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok(())
}

fn print_catalog() {
    let catalog = fieldgate_catalog::Catalog::get();
    println!(
        "{:<22} {:>10} {:>7} {:>14}",
        "module", "operations", "served", "501 (missing)"
    );
    let (mut total, mut served) = (0, 0);
    for (module, ops, ok) in engine::coverage(catalog) {
        println!("{module:<22} {ops:>10} {ok:>7} {:>14}", ops - ok);
        total += ops;
        served += ok;
    }
    println!(
        "{:<22} {total:>10} {served:>7} {:>14}",
        "total",
        total - served
    );
}
