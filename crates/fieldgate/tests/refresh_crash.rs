//! Crash safety of refreshes with a real process: a server killed with SIGKILL in the middle
//! of a refresh leaves the old integration copy serving after a restart, the job failed and
//! retryable, and no half-made copy on disk; the retry then succeeds.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fieldgate_store::sqlite::SqliteStore;
use fieldgate_store::{Dataset, Environment, JobStatus, RefreshJob, Store};

const TENANT: i64 = 4_100_000_001;
const INTEG: Dataset = Dataset {
    environment: Environment::Integration,
    tenant: TENANT,
};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fieldgate(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fieldgate"));
    command
        .arg("--data-dir")
        .arg(dir)
        .env("FIELDGATE_LOG", "warn")
        .env("FIELDGATE_REFRESH__MIN_INTERVAL_SECS", "0");
    command
}

/// Runs a command that must succeed; returns what it said on stderr.
fn run(command: &mut Command) -> String {
    let output = command.output().unwrap();
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{command:?}: {}{said}",
        String::from_utf8_lossy(&output.stdout),
    );
    said
}

fn serve(dir: &Path) -> Server {
    let mut command = fieldgate(dir);
    for key in [
        "INTEGRATION__AUTH",
        "INTEGRATION__API",
        "PRODUCTION__AUTH",
        "PRODUCTION__API",
    ] {
        command.env(format!("FIELDGATE_{key}_LISTEN"), "127.0.0.1:0");
    }
    command
        .env("FIELDGATE_OPS_LISTEN", "127.0.0.1:0")
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Server(command.spawn().unwrap())
}

async fn latest(store: &SqliteStore) -> RefreshJob {
    store
        .refresh_jobs(Some(TENANT), None, 1)
        .await
        .unwrap()
        .remove(0)
}

async fn total(store: &SqliteStore) -> i64 {
    store
        .count_records(INTEG)
        .await
        .unwrap()
        .iter()
        .map(|c| c.1)
        .sum()
}

/// The integration files in the data directory.
fn integration_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("datasets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("integration-") && n.ends_with(".db"))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_a_refresh_keeps_the_old_copy() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let tenant = TENANT.to_string();
    run(fieldgate(dir).args([
        "seed",
        "--env",
        "production",
        "--tenant",
        &tenant,
        "--scale",
        "4000",
    ]));
    // With no server, the command runs the job itself, and says that stopping it would fail it.
    let said = run(fieldgate(dir).args(["refresh", "request", "--tenant", &tenant]));
    assert!(said.contains("runs in this one"), "{said}");

    let store = SqliteStore::open(&dir.join("fieldgate.db")).await.unwrap();
    let served = store.dataset_generation(INTEG).await.unwrap();
    let rows = total(&store).await;
    assert!(rows > 50_000, "{rows} records");
    assert_eq!(
        integration_files(dir),
        vec![format!("integration-{TENANT}-g{served}.db")]
    );

    // A masked refresh, run by the server, killed while it copies or masks.
    let mut server = serve(dir);
    run(fieldgate(dir).args([
        "refresh", "request", "--tenant", &tenant, "--mask", "--detach",
    ]));
    let started = Instant::now();
    let job = loop {
        let job = latest(&store).await;
        if job.status == JobStatus::Running && ["copying", "masking"].contains(&job.phase.as_str())
        {
            break job;
        }
        assert!(
            job.status != JobStatus::Done,
            "the refresh finished before it could be killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server never ran the job"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    server.0.kill().unwrap(); // SIGKILL
    server.0.wait().unwrap();
    drop(server);
    eprintln!(
        "killed during {} at {}/{}",
        job.phase, job.rows_done, job.rows_total
    );

    // After a restart: the job failed and retryable, the old copy served, the half-made one gone.
    let server = serve(dir);
    let started = Instant::now();
    let failed = loop {
        let job = latest(&store).await;
        if job.status == JobStatus::Failed {
            break job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the killed job stayed {:?}",
            job.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failed.id, job.id);
    let why = failed.error.unwrap();
    assert!(
        why.contains("requested again") && why.contains("not changed"),
        "{why}"
    );
    assert_eq!(store.dataset_generation(INTEG).await.unwrap(), served);
    assert_eq!(total(&store).await, rows);
    let started = Instant::now();
    // Removed once it has sat untouched for a while (a seed in progress looks the same).
    while integration_files(dir).len() > 1 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        integration_files(dir),
        vec![format!("integration-{TENANT}-g{served}.db")]
    );

    // The retry succeeds and publishes a new generation. The server takes it, so the command
    // only follows it (stopping the command would not stop the refresh).
    let said = run(fieldgate(dir).args(["refresh", "request", "--tenant", &tenant, "--mask"]));
    assert!(said.contains("stops only this view"), "{said}");
    let done = latest(&store).await;
    assert_eq!(done.status, JobStatus::Done, "{:?}", done.error);
    let runner = done.runner.unwrap();
    assert!(runner.ends_with(&format!(":{}", server.0.id())), "{runner}");
    drop(server);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(store.dataset_generation(INTEG).await.unwrap() > served);
    assert_eq!(total(&store).await, rows);
}
