//! The embedded store: the control plane in one SQLite file in WAL mode (one writer connection
//! and a pool of readers), and each dataset in a file of its own beside it (`datasets`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::*;

mod control;
mod datasets;
mod jobs;
mod people;
mod quick;
mod records;

/// A store in one SQLite database file, with the datasets in `datasets/` beside it.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    /// The token endpoint's lookups, on the calling thread (see `quick`).
    quick: Arc<quick::QuickReads>,
    data: Arc<datasets::DataFiles>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and runs the embedded migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A write is acknowledged only once it survives a crash of the machine.
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-32000");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        let dir = path.parent().unwrap_or(Path::new(".")).join("datasets");
        let data = Arc::new(datasets::DataFiles::new(dir)?);
        let store = Self {
            writer,
            readers,
            quick: Arc::new(quick::QuickReads::new(path.to_owned())),
            data,
        };
        store.move_legacy_records().await?;
        Ok(store)
    }

    /// The path of a dataset generation's file, for tools and tests that look inside it.
    pub fn dataset_file(&self, dataset: Dataset, generation: i64) -> std::path::PathBuf {
        self.data.path(dataset, generation)
    }

    /// Moves records a store from before per-dataset files kept in the main file into
    /// dataset files, once.
    async fn move_legacy_records(&self) -> Result<()> {
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT dataset FROM records GROUP BY dataset \
             UNION SELECT dataset FROM id_sequences",
        )
        .fetch_all(&self.writer)
        .await?;
        for key in keys {
            let Some(dataset) = key
                .split_once('/')
                .and_then(|(e, t)| Some(Dataset::new(e.parse().ok()?, t.parse().ok()?)))
            else {
                continue;
            };
            let db = self
                .data
                .writable(&self.readers, &self.writer, dataset)
                .await?;
            let mut conn = self.writer.acquire().await?;
            sqlx::query("ATTACH DATABASE ? AS moved")
                .bind(db.path.to_string_lossy().into_owned())
                .execute(&mut *conn)
                .await?;
            let moved = async {
                let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
                sqlx::query(
                    "INSERT OR REPLACE INTO moved.records (resource, id, parent_id, created_us, \
                     modified_us, active, doc) SELECT resource, id, parent_id, created_us, \
                     modified_us, active, doc FROM main.records WHERE dataset = ?",
                )
                .bind(&key)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT OR REPLACE INTO moved.id_sequence (one, next_id) \
                     SELECT 1, next_id FROM main.id_sequences WHERE dataset = ?",
                )
                .bind(&key)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM main.records WHERE dataset = ?")
                    .bind(&key)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM main.id_sequences WHERE dataset = ?")
                    .bind(&key)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }
            .await;
            sqlx::query("DETACH DATABASE moved")
                .execute(&mut *conn)
                .await?;
            moved?;
            tracing::info!(dataset = %key, "moved records into the dataset's own file");
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_developer(&self, name: &str, email: &str) -> Result<Developer> {
        control::create_developer(self, name, email).await
    }

    async fn create_app(&self, developer_id: i64, name: &str, scopes: &[String]) -> Result<App> {
        control::create_app(self, developer_id, name, scopes).await
    }

    async fn app(&self, id: i64) -> Result<Option<App>> {
        control::app(self, id).await
    }

    async fn add_app_key(&self, key: &AppKey) -> Result<()> {
        control::add_app_key(self, key).await
    }

    async fn app_key(&self, digest: &[u8]) -> Result<Option<AppKey>> {
        control::app_key(self, digest).await
    }

    async fn create_tenant(&self, tenant: &Tenant) -> Result<()> {
        control::create_tenant(self, tenant).await
    }

    async fn tenant(&self, id: i64) -> Result<Option<Tenant>> {
        control::tenant(self, id).await
    }

    async fn tenants(&self) -> Result<Vec<Tenant>> {
        control::tenants(self).await
    }

    async fn put_connection(&self, connection: &Connection) -> Result<()> {
        control::put_connection(self, connection).await
    }

    async fn connection(
        &self,
        app_id: i64,
        tenant_id: i64,
        environment: Environment,
    ) -> Result<Option<Connection>> {
        control::connection(self, app_id, tenant_id, environment).await
    }

    async fn delete_connection(
        &self,
        app_id: i64,
        tenant_id: i64,
        environment: Environment,
    ) -> Result<()> {
        control::delete_connection(self, app_id, tenant_id, environment).await
    }

    async fn create_client(&self, client: &Client) -> Result<()> {
        control::create_client(self, client).await
    }

    async fn client(&self, client_id: &str) -> Result<Option<Client>> {
        control::client(self, client_id).await
    }

    async fn client_grant(&self, client_id: &str) -> Result<Option<ClientGrant>> {
        control::client_grant(self, client_id)
    }

    async fn set_client_enabled(&self, client_id: &str, enabled: bool) -> Result<()> {
        control::set_client_enabled(self, client_id, enabled).await
    }

    async fn add_signing_key(&self, key: &SigningKey) -> Result<()> {
        control::add_signing_key(self, key).await
    }

    async fn signing_keys(&self, environment: Environment) -> Result<Vec<SigningKey>> {
        control::signing_keys(self, environment).await
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        control::append_audit(self, event).await
    }

    async fn audit_events(&self, since_us: Option<i64>, limit: u32) -> Result<Vec<AuditEvent>> {
        control::audit_events(self, since_us, limit).await
    }

    async fn put_records(
        &self,
        dataset: Dataset,
        resource: &str,
        records: &[Record],
    ) -> Result<()> {
        records::put_records(self, dataset, resource, records).await
    }

    async fn put_record_set(&self, dataset: Dataset, records: &[(String, Record)]) -> Result<()> {
        records::put_record_set(self, dataset, records).await
    }

    async fn copy_dataset(&self, from: Dataset, to: Dataset) -> Result<u64> {
        records::copy_dataset(self, from, to).await
    }

    async fn get_record(
        &self,
        dataset: Dataset,
        resource: &str,
        parent_id: Option<i64>,
        id: i64,
    ) -> Result<Option<Record>> {
        records::get_record(self, dataset, resource, parent_id, id).await
    }

    async fn list_records(
        &self,
        dataset: Dataset,
        resource: &str,
        query: &ListQuery,
    ) -> Result<ListPage> {
        records::list_records(self, dataset, resource, query).await
    }

    async fn export_records(
        &self,
        dataset: Dataset,
        resource: &str,
        query: &ExportQuery,
    ) -> Result<Vec<Record>> {
        records::export_records(self, dataset, resource, query).await
    }

    async fn allocate_ids(&self, dataset: Dataset, count: i64) -> Result<i64> {
        records::allocate_ids(self, dataset, count).await
    }

    async fn count_records(&self, dataset: Dataset) -> Result<Vec<(String, i64)>> {
        records::count_records(self, dataset).await
    }

    async fn rate_hit(&self, key: &str, limit: u32, span_ms: i64) -> Result<Result<(), i64>> {
        // One writer connection serialises callers, so the check and the insert cannot race.
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut tx = self.writer.begin().await?;
        // Keys never hit again would keep their entries: now and then, expire all of them
        // older than the longest span in use (one minute).
        if rand_percent() == 0 {
            sqlx::query("DELETE FROM rate_log WHERE at_ms <= ?")
                .bind(now_ms - 120_000)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM rate_log WHERE key = ? AND at_ms <= ?")
            .bind(key)
            .bind(now_ms - span_ms)
            .execute(&mut *tx)
            .await?;
        let (taken, oldest): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(at_ms) FROM rate_log WHERE key = ?")
                .bind(key)
                .fetch_one(&mut *tx)
                .await?;
        if taken >= limit as i64 {
            tx.commit().await?;
            return Ok(Err((oldest.unwrap_or(now_ms) + span_ms - now_ms).max(1)));
        }
        sqlx::query("INSERT INTO rate_log (key, at_ms) VALUES (?, ?)")
            .bind(key)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    // ---- People, sessions and the credential lifecycle ----

    async fn developer(&self, id: i64) -> Result<Option<Developer>> {
        people::developer(self, id).await
    }

    async fn developers(&self) -> Result<Vec<Developer>> {
        people::developers(self).await
    }

    async fn create_user(&self, user: &UserRecord) -> Result<i64> {
        people::create_user(self, user).await
    }

    async fn create_developer_user(&self, user: &UserRecord) -> Result<(Developer, i64)> {
        people::create_developer_user(self, user).await
    }

    async fn user(&self, id: i64) -> Result<Option<UserRecord>> {
        people::user(self, id).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        people::user_by_email(self, email).await
    }

    async fn users_of_tenant(&self, tenant_id: i64) -> Result<Vec<UserRecord>> {
        people::users_of_tenant(self, tenant_id).await
    }

    async fn create_session(&self, session: &Session) -> Result<()> {
        people::create_session(self, session).await
    }

    async fn session_user(&self, digest: &[u8], now_us: i64) -> Result<Option<UserRecord>> {
        people::session_user(self, digest, now_us).await
    }

    async fn delete_session(&self, digest: &[u8]) -> Result<()> {
        people::delete_session(self, digest).await
    }

    async fn apps(&self, developer_id: Option<i64>) -> Result<Vec<App>> {
        people::apps(self, developer_id).await
    }

    async fn app_keys_of(&self, app_id: i64) -> Result<Vec<AppKey>> {
        people::app_keys_of(self, app_id).await
    }

    async fn rotate_app_key(&self, key: &AppKey, others_expire_us: i64) -> Result<()> {
        people::rotate_app_key(self, key, others_expire_us).await
    }

    async fn connections_of_app(&self, app_id: i64) -> Result<Vec<Connection>> {
        people::connections_of(self, "app_id", app_id).await
    }

    async fn connections_of_tenant(&self, tenant_id: i64) -> Result<Vec<Connection>> {
        people::connections_of(self, "tenant_id", tenant_id).await
    }

    async fn clients_of_tenant(&self, tenant_id: i64) -> Result<Vec<Client>> {
        people::clients_of_tenant(self, tenant_id).await
    }

    async fn set_secret_slot(
        &self,
        client_id: &str,
        slot: SecretSlot,
        digest: Option<&[u8]>,
        at_us: i64,
    ) -> Result<()> {
        people::set_secret_slot(self, client_id, slot, digest, at_us).await
    }

    async fn audit_query(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        people::audit_query(self, filter).await
    }

    async fn rate_peek(&self, key: &str, limit: u32, span_ms: i64) -> Result<Result<(), i64>> {
        people::rate_peek(self, key, limit, span_ms).await
    }

    // ---- Integration refresh ----

    async fn dataset_generation(&self, dataset: Dataset) -> Result<i64> {
        Ok(self
            .data
            .current(&self.readers, dataset)
            .await?
            .map_or(0, |db| db.generation))
    }

    async fn export_page(
        &self,
        dataset: Dataset,
        resource: &str,
        query: &ExportQuery,
        expect: Option<i64>,
    ) -> Result<(i64, Vec<Record>)> {
        records::export_page(self, dataset, resource, query, expect).await
    }

    async fn stage_dataset(
        &self,
        target: Dataset,
        source: Option<Dataset>,
        progress: Progress,
    ) -> Result<(Staged, u64)> {
        self.data
            .stage(&self.readers, &self.writer, target, source, progress)
            .await
    }

    async fn staged_put(&self, staged: &Staged, resource: &str, records: &[Record]) -> Result<()> {
        records::staged_put(self, staged, resource, records).await
    }

    async fn transform_staged(
        &self,
        staged: &Staged,
        transform: Arc<DocTransform>,
        progress: Progress,
    ) -> Result<u64> {
        records::transform_staged(self, staged, transform, progress).await
    }

    async fn publish_staged(&self, staged: &Staged, next_id: i64) -> Result<i64> {
        self.data
            .publish(&self.readers, &self.writer, staged, next_id)
            .await
    }

    async fn discard_staged(&self, staged: &Staged) -> Result<()> {
        self.data.discard(staged).await
    }

    fn leave_replaced_files(&self) {
        self.data
            .remove_replaced
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    async fn sweep_generations(&self, keep: &[i64], idle_us: i64) -> Result<u64> {
        let mut keep = keep.to_vec();
        keep.extend(jobs::running_tenants(self).await?);
        self.data.sweep(&self.writer, &keep, idle_us).await
    }

    async fn create_refresh_job(
        &self,
        job: &NewRefreshJob,
        min_interval_us: i64,
    ) -> Result<Result<RefreshJob, JobRefusal>> {
        jobs::create(self, job, min_interval_us).await
    }

    async fn claim_refresh_job(&self, runner: &str) -> Result<Option<RefreshJob>> {
        jobs::claim(self, runner).await
    }

    async fn refresh_job_progress(
        &self,
        id: i64,
        phase: &str,
        rows_done: i64,
        rows_total: i64,
    ) -> Result<()> {
        jobs::progress(self, id, phase, rows_done, rows_total).await
    }

    async fn finish_refresh_job(&self, id: i64, outcome: Result<i64, String>) -> Result<()> {
        jobs::finish(self, id, outcome).await
    }

    async fn fail_stale_refresh_jobs(&self, stale_before_us: i64) -> Result<Vec<RefreshJob>> {
        jobs::fail_stale(self, stale_before_us).await
    }

    async fn refresh_job(&self, id: i64) -> Result<Option<RefreshJob>> {
        jobs::get(self, id).await
    }

    async fn refresh_jobs(
        &self,
        tenant_id: Option<i64>,
        status: Option<JobStatus>,
        limit: u32,
    ) -> Result<Vec<RefreshJob>> {
        jobs::list(self, tenant_id, status, limit).await
    }

    async fn integration_settings(&self, tenant_id: i64) -> Result<Option<IntegrationSettings>> {
        jobs::settings(self, tenant_id).await
    }

    async fn put_integration_settings(&self, settings: &IntegrationSettings) -> Result<()> {
        jobs::put_settings(self, settings).await
    }
}

/// 0 to 99, cheaply varied from the clock: only a sampling rate depends on it.
fn rand_percent() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        % 100
}
