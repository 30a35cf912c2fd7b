//! The shared store: a PostgreSQL database that every fieldgate node reads and writes, so nodes
//! hold no state of their own and scaling out is adding nodes.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::*;

mod control;
mod generations;
mod jobs;
mod people;
mod query;
mod records;

/// Connections one node keeps open. Several nodes share one server, whose default limit is 100
/// connections, and the 2-core nodes fieldgate targets gain nothing from more.
const POOL_SIZE: u32 = 10;

/// A store in a PostgreSQL database, shared by every node that connects to it.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:5432/db`) and applies the
    /// embedded migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        // A write is acknowledged only once it is on disk, whatever the server's default says.
        let options = PgConnectOptions::from_str(url)?.options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            // Bounds connecting as well, so an unreachable server fails start-up instead of
            // hanging it.
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        // sqlx's PostgreSQL migrator holds an advisory lock while it runs, so nodes that start
        // together apply each migration once instead of racing each other.
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for PgStore {
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
        control::client_grant(self, client_id).await
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
        let wait: i64 = sqlx::query_scalar("SELECT fg_rate_hit($1, $2, $3)")
            .bind(key)
            .bind(limit as i32)
            .bind(span_ms)
            .fetch_one(&self.pool)
            .await?;
        Ok(if wait == 0 { Ok(()) } else { Err(wait) })
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
        generations::generation(self, dataset).await
    }

    async fn export_page(
        &self,
        dataset: Dataset,
        resource: &str,
        query: &ExportQuery,
        expect: Option<i64>,
    ) -> Result<(i64, Vec<Record>)> {
        generations::export_page(self, dataset, resource, query, expect).await
    }

    async fn stage_dataset(
        &self,
        target: Dataset,
        source: Option<Dataset>,
        progress: Progress,
    ) -> Result<(Staged, u64)> {
        generations::stage(self, target, source, progress).await
    }

    async fn staged_put(&self, staged: &Staged, resource: &str, records: &[Record]) -> Result<()> {
        generations::staged_put(self, staged, resource, records).await
    }

    async fn transform_staged(
        &self,
        staged: &Staged,
        transform: Arc<DocTransform>,
        progress: Progress,
    ) -> Result<u64> {
        generations::transform(self, staged, transform, progress).await
    }

    async fn publish_staged(&self, staged: &Staged, next_id: i64) -> Result<i64> {
        generations::publish(self, staged, next_id).await
    }

    async fn discard_staged(&self, staged: &Staged) -> Result<()> {
        generations::discard(self, staged).await
    }

    async fn sweep_generations(&self, keep: &[i64], idle_us: i64) -> Result<u64> {
        generations::sweep(self, keep, idle_us).await
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
