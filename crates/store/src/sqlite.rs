//! The embedded store: one SQLite file in WAL mode, one writer connection and a pool of readers.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::*;

/// A store in one SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and runs the embedded migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A write is acknowledged only once it survives a crash of the machine.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-32000");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { writer, readers })
    }

    pub async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn json_list(values: &[String]) -> String {
    serde_json::to_string(values).expect("strings serialize")
}

fn parse_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn conflict_or(e: sqlx::Error, what: impl Into<String>) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.into()),
        _ => StoreError::Backend(e),
    }
}

fn environment(text: &str) -> Result<Environment> {
    text.parse().map_err(StoreError::Invalid)
}

fn record_from(row: &SqliteRow) -> Record {
    Record {
        id: row.get("id"),
        parent_id: row.get("parent_id"),
        created_us: row.get("created_us"),
        modified_us: row.get("modified_us"),
        active: row.get("active"),
        doc: row.get("doc"),
    }
}

fn client_from(row: &SqliteRow) -> Result<Client> {
    Ok(Client {
        client_id: row.get("client_id"),
        app_id: row.get("app_id"),
        tenant_id: row.get("tenant_id"),
        environment: environment(row.get("environment"))?,
        secret1: row.get("secret1"),
        secret2: row.get("secret2"),
        enabled: row.get("enabled"),
        created_us: row.get("created_us"),
    })
}

/// `$.a.b` for a property path; names come from the catalog but are checked all the same.
fn json_path(path: &[String]) -> Result<String> {
    let mut out = String::from("$");
    for part in path {
        if part.is_empty() || !part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Invalid(format!("bad property name `{part}`")));
        }
        out.push('.');
        out.push_str(part);
    }
    Ok(out)
}

fn push_value(qb: &mut QueryBuilder<'_, Sqlite>, value: &Value) {
    match value {
        Value::Bool(b) => qb.push_bind(*b as i64),
        Value::Number(n) if n.is_i64() => qb.push_bind(n.as_i64()),
        Value::Number(n) => qb.push_bind(n.as_f64()),
        Value::String(s) => qb.push_bind(s.clone()),
        other => qb.push_bind(other.to_string()),
    };
}

fn push_list_filters(qb: &mut QueryBuilder<'_, Sqlite>, q: &ListQuery) -> Result<()> {
    if let Some(parent) = q.parent_id {
        qb.push(" AND parent_id = ").push_bind(parent);
    }
    if let Some(ids) = &q.ids {
        qb.push(" AND id IN (");
        let mut sep = qb.separated(", ");
        for id in ids {
            sep.push_bind(*id);
        }
        qb.push(")");
    }
    match q.active {
        ActiveFilter::True => qb.push(" AND active = 1"),
        ActiveFilter::False => qb.push(" AND active = 0"),
        ActiveFilter::Any => qb,
    };
    let bounds = [
        ("created_us <", q.created_before_us),
        ("created_us >=", q.created_on_or_after_us),
        ("modified_us <", q.modified_before_us),
        ("modified_us >=", q.modified_on_or_after_us),
    ];
    for (cond, bound) in bounds {
        if let Some(v) = bound {
            qb.push(format!(" AND {cond} ")).push_bind(v);
        }
    }
    for f in &q.fields {
        let path = json_path(&f.path)?;
        qb.push(" AND json_extract(doc, ").push_bind(path).push(")");
        match &f.op {
            FilterOp::Eq(v) => {
                qb.push(" = ");
                push_value(qb, v);
            }
            FilterOp::EqText(s) => {
                qb.push(" = ").push_bind(s.clone()).push(" COLLATE NOCASE");
            }
            FilterOp::In(values) => {
                qb.push(" IN (");
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        qb.push(", ");
                    }
                    push_value(qb, v);
                }
                qb.push(")");
            }
            FilterOp::Gte(v) => {
                qb.push(" >= ");
                push_value(qb, v);
            }
            FilterOp::Lt(v) => {
                qb.push(" < ");
                push_value(qb, v);
            }
        }
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_developer(&self, name: &str, email: &str) -> Result<Developer> {
        let created_us = now_us();
        let id = sqlx::query("INSERT INTO developers (name, email, created_us) VALUES (?, ?, ?)")
            .bind(name)
            .bind(email)
            .bind(created_us)
            .execute(&self.writer)
            .await
            .map_err(|e| conflict_or(e, format!("developer {email}")))?
            .last_insert_rowid();
        Ok(Developer {
            id,
            name: name.into(),
            email: email.into(),
            created_us,
        })
    }

    async fn create_app(&self, developer_id: i64, name: &str, scopes: &[String]) -> Result<App> {
        let created_us = now_us();
        let id = sqlx::query(
            "INSERT INTO apps (developer_id, name, scopes, created_us) VALUES (?, ?, ?, ?)",
        )
        .bind(developer_id)
        .bind(name)
        .bind(json_list(scopes))
        .bind(created_us)
        .execute(&self.writer)
        .await?
        .last_insert_rowid();
        Ok(App {
            id,
            developer_id,
            name: name.into(),
            scopes: scopes.to_vec(),
            created_us,
        })
    }

    async fn app(&self, id: i64) -> Result<Option<App>> {
        let row = sqlx::query("SELECT * FROM apps WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        Ok(row.map(|r| App {
            id: r.get("id"),
            developer_id: r.get("developer_id"),
            name: r.get("name"),
            scopes: parse_list(r.get("scopes")),
            created_us: r.get("created_us"),
        }))
    }

    async fn add_app_key(&self, key: &AppKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO app_keys (digest, app_id, hint, created_us, expires_us) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&key.digest)
        .bind(key.app_id)
        .bind(&key.hint)
        .bind(key.created_us)
        .bind(key.expires_us)
        .execute(&self.writer)
        .await
        .map_err(|e| conflict_or(e, "app key"))?;
        Ok(())
    }

    async fn app_key(&self, digest: &[u8]) -> Result<Option<AppKey>> {
        let row = sqlx::query("SELECT * FROM app_keys WHERE digest = ?")
            .bind(digest)
            .fetch_optional(&self.readers)
            .await?;
        Ok(row.map(|r| AppKey {
            digest: r.get("digest"),
            app_id: r.get("app_id"),
            hint: r.get("hint"),
            created_us: r.get("created_us"),
            expires_us: r.get("expires_us"),
        }))
    }

    async fn create_tenant(&self, tenant: &Tenant) -> Result<()> {
        sqlx::query("INSERT INTO tenants (id, name, kind, created_us) VALUES (?, ?, ?, ?)")
            .bind(tenant.id)
            .bind(&tenant.name)
            .bind(tenant.kind.as_str())
            .bind(tenant.created_us)
            .execute(&self.writer)
            .await
            .map_err(|e| conflict_or(e, format!("tenant {}", tenant.id)))?;
        Ok(())
    }

    async fn tenant(&self, id: i64) -> Result<Option<Tenant>> {
        let row = sqlx::query("SELECT * FROM tenants WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| tenant_from(&r)).transpose()
    }

    async fn tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query("SELECT * FROM tenants ORDER BY id")
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(tenant_from).collect()
    }

    async fn put_connection(&self, c: &Connection) -> Result<()> {
        sqlx::query(
            "INSERT INTO connections (app_id, tenant_id, environment, scopes, created_us) \
             VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (app_id, tenant_id, environment) DO UPDATE SET scopes = excluded.scopes",
        )
        .bind(c.app_id)
        .bind(c.tenant_id)
        .bind(c.environment.as_str())
        .bind(json_list(&c.scopes))
        .bind(c.created_us)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn connection(
        &self,
        app_id: i64,
        tenant_id: i64,
        environment: Environment,
    ) -> Result<Option<Connection>> {
        let row = sqlx::query(
            "SELECT * FROM connections WHERE app_id = ? AND tenant_id = ? AND environment = ?",
        )
        .bind(app_id)
        .bind(tenant_id)
        .bind(environment.as_str())
        .fetch_optional(&self.readers)
        .await?;
        Ok(row.map(|r| Connection {
            app_id,
            tenant_id,
            environment,
            scopes: parse_list(r.get("scopes")),
            created_us: r.get("created_us"),
        }))
    }

    async fn delete_connection(
        &self,
        app_id: i64,
        tenant_id: i64,
        environment: Environment,
    ) -> Result<()> {
        let done = sqlx::query(
            "DELETE FROM connections WHERE app_id = ? AND tenant_id = ? AND environment = ?",
        )
        .bind(app_id)
        .bind(tenant_id)
        .bind(environment.as_str())
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "connection of app {app_id} to tenant {tenant_id} in {environment}"
            )));
        }
        Ok(())
    }

    async fn create_client(&self, c: &Client) -> Result<()> {
        sqlx::query(
            "INSERT INTO clients (client_id, app_id, tenant_id, environment, secret1, secret2, \
             enabled, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&c.client_id)
        .bind(c.app_id)
        .bind(c.tenant_id)
        .bind(c.environment.as_str())
        .bind(&c.secret1)
        .bind(&c.secret2)
        .bind(c.enabled)
        .bind(c.created_us)
        .execute(&self.writer)
        .await
        .map_err(|e| conflict_or(e, format!("client {}", c.client_id)))?;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> Result<Option<Client>> {
        let row = sqlx::query("SELECT * FROM clients WHERE client_id = ?")
            .bind(client_id)
            .fetch_optional(&self.readers)
            .await?;
        row.map(|r| client_from(&r)).transpose()
    }

    async fn client_grant(&self, client_id: &str) -> Result<Option<ClientGrant>> {
        let row = sqlx::query(
            "SELECT c.*, a.scopes AS app_scopes, n.scopes AS granted FROM clients c \
             JOIN apps a ON a.id = c.app_id \
             LEFT JOIN connections n ON n.app_id = c.app_id AND n.tenant_id = c.tenant_id \
             AND n.environment = c.environment \
             WHERE c.client_id = ?",
        )
        .bind(client_id)
        .fetch_optional(&self.readers)
        .await?;
        row.map(|r| {
            let granted: Option<String> = r.get("granted");
            Ok(ClientGrant {
                client: client_from(&r)?,
                app_scopes: parse_list(r.get("app_scopes")),
                granted: granted.as_deref().map(parse_list),
            })
        })
        .transpose()
    }

    async fn set_client_enabled(&self, client_id: &str, enabled: bool) -> Result<()> {
        let done = sqlx::query("UPDATE clients SET enabled = ? WHERE client_id = ?")
            .bind(enabled)
            .bind(client_id)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("client {client_id}")));
        }
        Ok(())
    }

    async fn add_signing_key(&self, k: &SigningKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, environment, private_sealed, public_key, created_us, \
             retire_after_us) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&k.kid)
        .bind(k.environment.as_str())
        .bind(&k.private_sealed)
        .bind(&k.public_key)
        .bind(k.created_us)
        .bind(k.retire_after_us)
        .execute(&self.writer)
        .await
        .map_err(|e| conflict_or(e, format!("signing key {}", k.kid)))?;
        Ok(())
    }

    async fn signing_keys(&self, env: Environment) -> Result<Vec<SigningKey>> {
        let rows = sqlx::query(
            "SELECT * FROM signing_keys WHERE environment = ? ORDER BY created_us DESC, kid",
        )
        .bind(env.as_str())
        // From the writer, so a key a node has just added is seen by its next read.
        .fetch_all(&self.writer)
        .await?;
        Ok(rows
            .iter()
            .map(|r| SigningKey {
                kid: r.get("kid"),
                environment: env,
                private_sealed: r.get("private_sealed"),
                public_key: r.get("public_key"),
                created_us: r.get("created_us"),
                retire_after_us: r.get("retire_after_us"),
            })
            .collect())
    }

    async fn append_audit(&self, e: &AuditEvent) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_events (at_us, actor, action, tenant_id, app_id, environment, \
             address, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(e.at_us)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(e.tenant_id)
        .bind(e.app_id)
        .bind(e.environment.map(Environment::as_str))
        .bind(&e.address)
        .bind(e.detail.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn audit_events(&self, since_us: Option<i64>, limit: u32) -> Result<Vec<AuditEvent>> {
        let rows = sqlx::query("SELECT * FROM audit_events WHERE at_us >= ? ORDER BY id LIMIT ?")
            .bind(since_us.unwrap_or(0))
            .bind(limit as i64)
            .fetch_all(&self.readers)
            .await?;
        rows.iter()
            .map(|r| {
                let env: Option<String> = r.get("environment");
                Ok(AuditEvent {
                    at_us: r.get("at_us"),
                    actor: r.get("actor"),
                    action: r.get("action"),
                    tenant_id: r.get("tenant_id"),
                    app_id: r.get("app_id"),
                    environment: env.as_deref().map(environment).transpose()?,
                    address: r.get("address"),
                    detail: serde_json::from_str(r.get("detail")).unwrap_or(Value::Null),
                })
            })
            .collect()
    }

    async fn put_records(
        &self,
        dataset: Dataset,
        resource: &str,
        records: &[Record],
    ) -> Result<()> {
        let key = dataset.key();
        let mut tx = self.writer.begin().await?;
        // Bounded statements: SQLite allows at most 32766 bound variables in one statement.
        for chunk in records.chunks(1000) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "INSERT OR REPLACE INTO records \
                 (dataset, resource, id, parent_id, created_us, modified_us, active, doc) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(&key)
                    .push_bind(resource)
                    .push_bind(r.id)
                    .push_bind(r.parent_id)
                    .push_bind(r.created_us)
                    .push_bind(r.modified_us)
                    .push_bind(r.active)
                    .push_bind(&r.doc);
            });
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn put_record_set(&self, dataset: Dataset, records: &[(String, Record)]) -> Result<()> {
        let key = dataset.key();
        let mut tx = self.writer.begin().await?;
        for (resource, r) in records {
            sqlx::query(
                "INSERT OR REPLACE INTO records \
                 (dataset, resource, id, parent_id, created_us, modified_us, active, doc) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&key)
            .bind(resource)
            .bind(r.id)
            .bind(r.parent_id)
            .bind(r.created_us)
            .bind(r.modified_us)
            .bind(r.active)
            .bind(&r.doc)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn copy_dataset(&self, from: Dataset, to: Dataset) -> Result<u64> {
        let (from, to) = (from.key(), to.key());
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM records WHERE dataset = ?")
            .bind(&to)
            .execute(&mut *tx)
            .await?;
        let copied = sqlx::query(
            "INSERT INTO records \
             (dataset, resource, id, parent_id, created_us, modified_us, active, doc) \
             SELECT ?, resource, id, parent_id, created_us, modified_us, active, doc \
             FROM records WHERE dataset = ?",
        )
        .bind(&to)
        .bind(&from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "INSERT INTO id_sequences (dataset, next_id) \
             SELECT ?, next_id FROM id_sequences WHERE dataset = ? \
             ON CONFLICT (dataset) DO UPDATE SET next_id = MAX(next_id, excluded.next_id)",
        )
        .bind(&to)
        .bind(&from)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(copied)
    }

    async fn get_record(
        &self,
        dataset: Dataset,
        resource: &str,
        parent_id: Option<i64>,
        id: i64,
    ) -> Result<Option<Record>> {
        let row = sqlx::query(
            "SELECT * FROM records WHERE dataset = ? AND resource = ? AND id = ? \
             AND (? IS NULL OR parent_id = ?)",
        )
        .bind(dataset.key())
        .bind(resource)
        .bind(id)
        .bind(parent_id)
        .bind(parent_id)
        .fetch_optional(&self.readers)
        .await?;
        Ok(row.as_ref().map(record_from))
    }

    async fn list_records(
        &self,
        dataset: Dataset,
        resource: &str,
        q: &ListQuery,
    ) -> Result<ListPage> {
        let key = dataset.key();
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT * FROM records WHERE dataset = ");
        qb.push_bind(&key)
            .push(" AND resource = ")
            .push_bind(resource);
        push_list_filters(&mut qb, q)?;
        let (sort_key, desc) = q.sort.clone().unwrap_or((SortKey::Id, false));
        let dir = if desc { "DESC" } else { "ASC" };
        match &sort_key {
            SortKey::Id => qb.push(format!(" ORDER BY id {dir}")),
            SortKey::CreatedOn => qb.push(format!(" ORDER BY created_us {dir}, id {dir}")),
            SortKey::ModifiedOn => qb.push(format!(" ORDER BY modified_us {dir}, id {dir}")),
            SortKey::Field(path) => qb
                .push(" ORDER BY json_extract(doc, ")
                .push_bind(json_path(path)?)
                .push(format!(") {dir}, id {dir}")),
        };
        // One row past the page tells whether there is more.
        qb.push(" LIMIT ").push_bind(q.limit as i64 + 1);
        qb.push(" OFFSET ").push_bind(q.offset as i64);
        let rows = qb.build().fetch_all(&self.readers).await?;
        let has_more = rows.len() > q.limit as usize;
        let records = rows
            .iter()
            .take(q.limit as usize)
            .map(record_from)
            .collect();

        let total = if q.include_total {
            let mut qb =
                QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM records WHERE dataset = ");
            qb.push_bind(&key)
                .push(" AND resource = ")
                .push_bind(resource);
            push_list_filters(&mut qb, q)?;
            Some(qb.build().fetch_one(&self.readers).await?.get::<i64, _>(0))
        } else {
            None
        };
        Ok(ListPage {
            records,
            has_more,
            total,
        })
    }

    async fn export_records(
        &self,
        dataset: Dataset,
        resource: &str,
        q: &ExportQuery,
    ) -> Result<Vec<Record>> {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT * FROM records WHERE dataset = ");
        qb.push_bind(dataset.key())
            .push(" AND resource = ")
            .push_bind(resource);
        match q.from {
            ExportFrom::Start => {}
            ExportFrom::After { modified_us, id } => {
                qb.push(" AND (modified_us, id) > (").push_bind(modified_us);
                qb.push(", ").push_bind(id).push(")");
            }
            ExportFrom::Since { modified_us } => {
                qb.push(" AND modified_us >= ").push_bind(modified_us);
            }
        }
        qb.push(" ORDER BY modified_us, id LIMIT ")
            .push_bind(q.limit as i64);
        let rows = qb.build().fetch_all(&self.readers).await?;
        Ok(rows.iter().map(record_from).collect())
    }

    async fn allocate_ids(&self, dataset: Dataset, count: i64) -> Result<i64> {
        // Ids start high enough that callers meet int64 values past 2^31 early.
        let first: i64 = sqlx::query_scalar(
            "INSERT INTO id_sequences (dataset, next_id) VALUES (?, 2147483648 + ?) \
             ON CONFLICT (dataset) DO UPDATE SET next_id = next_id + ? \
             RETURNING next_id - ?",
        )
        .bind(dataset.key())
        .bind(count)
        .bind(count)
        .bind(count)
        .fetch_one(&self.writer)
        .await?;
        Ok(first)
    }

    async fn count_records(&self, dataset: Dataset) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT resource, COUNT(*) AS n FROM records WHERE dataset = ? \
             GROUP BY resource ORDER BY resource",
        )
        .bind(dataset.key())
        .fetch_all(&self.readers)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("resource"), r.get("n")))
            .collect())
    }
}

fn tenant_from(r: &SqliteRow) -> Result<Tenant> {
    let kind = match r.get::<&str, _>("kind") {
        "customer" => TenantKind::Customer,
        "developer" => TenantKind::Developer,
        other => return Err(StoreError::Invalid(format!("tenant kind {other}"))),
    };
    Ok(Tenant {
        id: r.get("id"),
        name: r.get("name"),
        kind,
        created_us: r.get("created_us"),
    })
}

impl FromStr for ActiveFilter {
    type Err = String;

    /// `True`, `False` or `Any`, in any case, as clients send them.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "true" => Ok(ActiveFilter::True),
            "false" => Ok(ActiveFilter::False),
            "any" => Ok(ActiveFilter::Any),
            _ => Err(format!("`{s}` is not one of True, False, Any")),
        }
    }
}
