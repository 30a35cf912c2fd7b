//! fieldgate's storage interface and its two implementations: embedded SQLite and PostgreSQL.
//!
//! The control plane (developers, apps, keys, tenants, connections, clients, signing keys, audit
//! events) and the data plane (records of every dataset as JSON documents) sit behind one
//! [`Store`] trait, so PostgreSQL (shared by several nodes) can take SQLite's place without the
//! server noticing. One conformance suite (`tests/conformance.rs`) holds both to the same
//! behaviour.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

mod model;
pub mod postgres;
mod refresh;
pub mod sqlite;
mod util;

pub use model::*;
pub use refresh::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("invalid query: {0}")]
    Invalid(String),
    #[error("storage failure: {0}")]
    Backend(#[from] sqlx::Error),
    #[error("migration failure: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The dataset was replaced (refreshed) since the generation the caller asked for.
    #[error("{dataset} was replaced: generation {current} is served, not {expected}")]
    Replaced {
        dataset: String,
        expected: i64,
        current: i64,
    },
    #[error("file operation failed: {0}")]
    Io(#[from] std::io::Error),
    /// A failure of the bulk paths, which reach SQLite files directly on their own threads.
    #[error("storage failure: {0}")]
    Bulk(#[from] rusqlite::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The two API environments. Credentials, tokens and datasets never cross between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Integration,
    Production,
}

impl Environment {
    pub const ALL: [Environment; 2] = [Environment::Integration, Environment::Production];

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Integration => "integration",
            Environment::Production => "production",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "integration" => Ok(Environment::Integration),
            "production" => Ok(Environment::Production),
            other => Err(format!(
                "unknown environment `{other}` (integration or production)"
            )),
        }
    }
}

/// The records of one tenant in one environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dataset {
    pub environment: Environment,
    pub tenant: i64,
}

impl Dataset {
    pub fn new(environment: Environment, tenant: i64) -> Self {
        Self {
            environment,
            tenant,
        }
    }

    pub fn key(&self) -> String {
        format!("{}/{}", self.environment, self.tenant)
    }
}

/// Everything fieldgate keeps. Implementations must be safe to share between requests.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn create_developer(&self, name: &str, email: &str) -> Result<Developer>;
    async fn create_app(&self, developer_id: i64, name: &str, scopes: &[String]) -> Result<App>;
    async fn app(&self, id: i64) -> Result<Option<App>>;
    async fn add_app_key(&self, key: &AppKey) -> Result<()>;
    async fn app_key(&self, digest: &[u8]) -> Result<Option<AppKey>>;

    async fn create_tenant(&self, tenant: &Tenant) -> Result<()>;
    async fn tenant(&self, id: i64) -> Result<Option<Tenant>>;
    async fn tenants(&self) -> Result<Vec<Tenant>>;

    async fn put_connection(&self, connection: &Connection) -> Result<()>;
    async fn connection(
        &self,
        app_id: i64,
        tenant_id: i64,
        environment: Environment,
    ) -> Result<Option<Connection>>;

    /// Removes a connection; the app's clients for it stop getting tokens.
    async fn delete_connection(
        &self,
        app_id: i64,
        tenant_id: i64,
        environment: Environment,
    ) -> Result<()>;

    async fn create_client(&self, client: &Client) -> Result<()>;
    async fn client(&self, client_id: &str) -> Result<Option<Client>>;
    async fn client_grant(&self, client_id: &str) -> Result<Option<ClientGrant>>;
    async fn set_client_enabled(&self, client_id: &str, enabled: bool) -> Result<()>;

    async fn add_signing_key(&self, key: &SigningKey) -> Result<()>;
    async fn signing_keys(&self, environment: Environment) -> Result<Vec<SigningKey>>;

    async fn append_audit(&self, event: &AuditEvent) -> Result<()>;
    async fn audit_events(&self, since_us: Option<i64>, limit: u32) -> Result<Vec<AuditEvent>>;

    /// Inserts records in one transaction; an existing (resource, id) is replaced.
    async fn put_records(&self, dataset: Dataset, resource: &str, records: &[Record])
    -> Result<()>;
    /// Writes records of several resources in one transaction, such as a customer and the
    /// locations created with it.
    async fn put_record_set(&self, dataset: Dataset, records: &[(String, Record)]) -> Result<()>;
    /// Replaces `to` with a copy of every record of `from`, in one transaction.
    async fn copy_dataset(&self, from: Dataset, to: Dataset) -> Result<u64>;
    async fn get_record(
        &self,
        dataset: Dataset,
        resource: &str,
        parent_id: Option<i64>,
        id: i64,
    ) -> Result<Option<Record>>;
    async fn list_records(
        &self,
        dataset: Dataset,
        resource: &str,
        query: &ListQuery,
    ) -> Result<ListPage>;
    async fn export_records(
        &self,
        dataset: Dataset,
        resource: &str,
        query: &ExportQuery,
    ) -> Result<Vec<Record>>;
    /// Hands out `count` consecutive new record ids for a dataset and returns the first.
    async fn allocate_ids(&self, dataset: Dataset, count: i64) -> Result<i64>;
    async fn count_records(&self, dataset: Dataset) -> Result<Vec<(String, i64)>>;

    /// Admits one request for `key` if fewer than `limit` were admitted in the last `span_ms`;
    /// else `Err(ms)` until a slot frees up. Shared by every node of the store.
    async fn rate_hit(&self, key: &str, limit: u32, span_ms: i64) -> Result<Result<(), i64>>;

    // ---- People, sessions and the credential lifecycle ----

    async fn developer(&self, id: i64) -> Result<Option<Developer>>;
    async fn developers(&self) -> Result<Vec<Developer>>;
    /// Stores a person (its `id` is ignored) and returns the new id; a taken email conflicts.
    async fn create_user(&self, user: &UserRecord) -> Result<i64>;
    /// Creates a developer and its sign-in (`user`, whose `developer_id` is ignored) in one
    /// transaction, so a sign-up never leaves one without the other.
    async fn create_developer_user(&self, user: &UserRecord) -> Result<(Developer, i64)>;
    async fn user(&self, id: i64) -> Result<Option<UserRecord>>;
    /// `email` as stored, lowercased.
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>>;
    async fn users_of_tenant(&self, tenant_id: i64) -> Result<Vec<UserRecord>>;
    /// Stores a session, removing sessions that expired before it began.
    async fn create_session(&self, session: &Session) -> Result<()>;
    /// The person of a session that has not expired at `now_us`.
    async fn session_user(&self, digest: &[u8], now_us: i64) -> Result<Option<UserRecord>>;
    async fn delete_session(&self, digest: &[u8]) -> Result<()>;

    /// The apps of one developer, or of everyone; by id.
    async fn apps(&self, developer_id: Option<i64>) -> Result<Vec<App>>;
    /// The app's keys, newest first.
    async fn app_keys_of(&self, app_id: i64) -> Result<Vec<AppKey>>;
    /// Adds `key` and, in the same transaction, makes every other key of its app that would
    /// outlive `others_expire_us` expire then.
    async fn rotate_app_key(&self, key: &AppKey, others_expire_us: i64) -> Result<()>;
    async fn connections_of_app(&self, app_id: i64) -> Result<Vec<Connection>>;
    async fn connections_of_tenant(&self, tenant_id: i64) -> Result<Vec<Connection>>;
    async fn clients_of_tenant(&self, tenant_id: i64) -> Result<Vec<Client>>;
    /// Fills an empty secret slot (`Some`; a slot in use conflicts) or empties one (`None`;
    /// refused as invalid when it holds the client's only secret).
    async fn set_secret_slot(
        &self,
        client_id: &str,
        slot: SecretSlot,
        digest: Option<&[u8]>,
        at_us: i64,
    ) -> Result<()>;
    async fn audit_query(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>>;
    /// Like [`Store::rate_hit`] but admits nothing: whether a hit would be admitted now.
    async fn rate_peek(&self, key: &str, limit: u32, span_ms: i64) -> Result<Result<(), i64>>;
    // ---- Integration refresh: dataset generations, staged copies, jobs, settings ----

    /// The generation of a dataset now served (0 while it has none).
    async fn dataset_generation(&self, dataset: Dataset) -> Result<i64>;
    /// An export page read from one generation, with that generation. With `expect`, a dataset
    /// since replaced answers `StoreError::Replaced` instead of records of another copy.
    async fn export_page(
        &self,
        dataset: Dataset,
        resource: &str,
        query: &ExportQuery,
        expect: Option<i64>,
    ) -> Result<(i64, Vec<Record>)>;
    /// Starts a new, unpublished generation of `target`: a copy of `source` as it is at one
    /// moment (writes to `source` wait meanwhile), or empty. Returns it with its record count.
    async fn stage_dataset(
        &self,
        target: Dataset,
        source: Option<Dataset>,
        progress: Progress,
    ) -> Result<(Staged, u64)>;
    /// Writes records into a staged generation.
    async fn staged_put(&self, staged: &Staged, resource: &str, records: &[Record]) -> Result<()>;
    /// Rewrites the documents of a staged generation with `transform`, leaving no trace of the
    /// old text in the store; returns how many changed.
    async fn transform_staged(
        &self,
        staged: &Staged,
        transform: Arc<DocTransform>,
        progress: Progress,
    ) -> Result<u64>;
    /// Makes a staged generation the served one in one step, its id sequence at least
    /// `next_id` and never behind the replaced one's. Returns the replaced generation.
    async fn publish_staged(&self, staged: &Staged, next_id: i64) -> Result<i64>;
    /// Drops a staged generation that will not be published.
    async fn discard_staged(&self, staged: &Staged) -> Result<()>;
    /// Removes generations left behind by runs that died: unpublished, untouched for
    /// `idle_us`, and not of `keep` tenants or tenants with a running job. Returns how many.
    async fn sweep_generations(&self, keep: &[i64], idle_us: i64) -> Result<u64>;
    /// Tells a store in a short-lived process (the CLI) to leave the files of generations it
    /// replaces to the serving process, which removes them once it has closed them: the last
    /// close of a removed file frees its blocks, seconds at tens of GB, and that close would
    /// otherwise fall on whichever thread of the server closed it.
    fn leave_replaced_files(&self) {}

    /// Queues a refresh job unless one of the tenant's is queued or running, or (unless
    /// forced) its last finished within `min_interval_us`.
    async fn create_refresh_job(
        &self,
        job: &NewRefreshJob,
        min_interval_us: i64,
    ) -> Result<Result<RefreshJob, JobRefusal>>;
    /// Takes the oldest queued job for `runner`; exactly one caller gets each job.
    async fn claim_refresh_job(&self, runner: &str) -> Result<Option<RefreshJob>>;
    /// Records a running job's phase and progress, and that its runner is alive.
    async fn refresh_job_progress(
        &self,
        id: i64,
        phase: &str,
        rows_done: i64,
        rows_total: i64,
    ) -> Result<()>;
    /// Ends a job: done with the generation it published, or failed with the reason.
    async fn finish_refresh_job(&self, id: i64, outcome: Result<i64, String>) -> Result<()>;
    /// Fails running jobs whose heartbeat is older than `stale_before_us`; returns them.
    async fn fail_stale_refresh_jobs(&self, stale_before_us: i64) -> Result<Vec<RefreshJob>>;
    async fn refresh_job(&self, id: i64) -> Result<Option<RefreshJob>>;
    /// Jobs newest first, of one tenant or all, in one status or any.
    async fn refresh_jobs(
        &self,
        tenant_id: Option<i64>,
        status: Option<JobStatus>,
        limit: u32,
    ) -> Result<Vec<RefreshJob>>;
    async fn integration_settings(&self, tenant_id: i64) -> Result<Option<IntegrationSettings>>;
    async fn put_integration_settings(&self, settings: &IntegrationSettings) -> Result<()>;
}

/// Formats microseconds since the epoch the way the API writes times: UTC, seven fractional
/// digits and a `Z`, as in `2024-01-31T08:00:00.1234560Z`.
pub fn format_time(us: i64) -> String {
    use chrono::{Datelike, Timelike};
    // Written digit by digit: sample data and every served page format millions of these, and
    // chrono's `format` parses its pattern each time.
    let t = chrono::DateTime::from_timestamp_micros(us).unwrap_or_default();
    let mut out = [0u8; 28];
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, t.year().clamp(0, 9999) as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    put(20, 7, t.timestamp_subsec_micros() * 10);
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (27, b'Z'),
    ] {
        out[at] = sep;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_have_seven_fraction_digits_and_z() {
        assert_eq!(
            super::format_time(1_706_688_000_123_456),
            "2024-01-31T08:00:00.1234560Z"
        );
        assert_eq!(super::format_time(0), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(
            super::format_time(1_798_761_599_999_999),
            "2026-12-31T23:59:59.9999990Z"
        );
    }
}
