//! The control plane in SQLite: developers, apps, keys, tenants, connections, clients, signing
//! keys and the audit log.

use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use crate::util::{conflict_or, environment, json_list, now_us, parse_list, tenant_kind};
use crate::*;

pub(super) fn client_from(row: &SqliteRow) -> Result<Client> {
    Ok(Client {
        client_id: row.get("client_id"),
        app_id: row.get("app_id"),
        tenant_id: row.get("tenant_id"),
        environment: environment(row.get("environment"))?,
        secret1: row.get("secret1"),
        secret2: row.get("secret2"),
        enabled: row.get("enabled"),
        created_us: row.get("created_us"),
        secret1_us: row.get("secret1_us"),
        secret2_us: row.get("secret2_us"),
    })
}

pub(super) fn tenant_from(r: &SqliteRow) -> Result<Tenant> {
    Ok(Tenant {
        id: r.get("id"),
        name: r.get("name"),
        kind: tenant_kind(r.get("kind"))?,
        created_us: r.get("created_us"),
    })
}

pub(super) async fn create_developer(
    s: &SqliteStore,
    name: &str,
    email: &str,
) -> Result<Developer> {
    let created_us = now_us();
    let id = sqlx::query("INSERT INTO developers (name, email, created_us) VALUES (?, ?, ?)")
        .bind(name)
        .bind(email)
        .bind(created_us)
        .execute(&s.writer)
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

pub(super) async fn create_app(
    s: &SqliteStore,
    developer_id: i64,
    name: &str,
    scopes: &[String],
) -> Result<App> {
    let created_us = now_us();
    let id = sqlx::query(
        "INSERT INTO apps (developer_id, name, scopes, created_us) VALUES (?, ?, ?, ?)",
    )
    .bind(developer_id)
    .bind(name)
    .bind(json_list(scopes))
    .bind(created_us)
    .execute(&s.writer)
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

pub(super) fn app_from(r: &SqliteRow) -> App {
    App {
        id: r.get("id"),
        developer_id: r.get("developer_id"),
        name: r.get("name"),
        scopes: parse_list(r.get("scopes")),
        created_us: r.get("created_us"),
    }
}

pub(super) async fn app(s: &SqliteStore, id: i64) -> Result<Option<App>> {
    let row = sqlx::query("SELECT * FROM apps WHERE id = ?")
        .bind(id)
        .fetch_optional(&s.readers)
        .await?;
    Ok(row.as_ref().map(app_from))
}

pub(super) async fn add_app_key(s: &SqliteStore, key: &AppKey) -> Result<()> {
    sqlx::query(
        "INSERT INTO app_keys (digest, app_id, hint, created_us, expires_us) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&key.digest)
    .bind(key.app_id)
    .bind(&key.hint)
    .bind(key.created_us)
    .bind(key.expires_us)
    .execute(&s.writer)
    .await
    .map_err(|e| conflict_or(e, "app key"))?;
    Ok(())
}

pub(super) async fn app_key(s: &SqliteStore, digest: &[u8]) -> Result<Option<AppKey>> {
    let row = sqlx::query("SELECT * FROM app_keys WHERE digest = ?")
        .bind(digest)
        .fetch_optional(&s.readers)
        .await?;
    Ok(row.as_ref().map(app_key_from))
}

pub(super) fn app_key_from(r: &SqliteRow) -> AppKey {
    AppKey {
        digest: r.get("digest"),
        app_id: r.get("app_id"),
        hint: r.get("hint"),
        created_us: r.get("created_us"),
        expires_us: r.get("expires_us"),
    }
}

pub(super) async fn create_tenant(s: &SqliteStore, tenant: &Tenant) -> Result<()> {
    sqlx::query("INSERT INTO tenants (id, name, kind, created_us) VALUES (?, ?, ?, ?)")
        .bind(tenant.id)
        .bind(&tenant.name)
        .bind(tenant.kind.as_str())
        .bind(tenant.created_us)
        .execute(&s.writer)
        .await
        .map_err(|e| conflict_or(e, format!("tenant {}", tenant.id)))?;
    Ok(())
}

pub(super) async fn tenant(s: &SqliteStore, id: i64) -> Result<Option<Tenant>> {
    let row = sqlx::query("SELECT * FROM tenants WHERE id = ?")
        .bind(id)
        .fetch_optional(&s.readers)
        .await?;
    row.map(|r| tenant_from(&r)).transpose()
}

pub(super) async fn tenants(s: &SqliteStore) -> Result<Vec<Tenant>> {
    let rows = sqlx::query("SELECT * FROM tenants ORDER BY id")
        .fetch_all(&s.readers)
        .await?;
    rows.iter().map(tenant_from).collect()
}

pub(super) async fn put_connection(s: &SqliteStore, c: &Connection) -> Result<()> {
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
    .execute(&s.writer)
    .await?;
    Ok(())
}

pub(super) async fn connection(
    s: &SqliteStore,
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
    .fetch_optional(&s.readers)
    .await?;
    row.as_ref().map(connection_from).transpose()
}

pub(super) fn connection_from(r: &SqliteRow) -> Result<Connection> {
    Ok(Connection {
        app_id: r.get("app_id"),
        tenant_id: r.get("tenant_id"),
        environment: environment(r.get("environment"))?,
        scopes: parse_list(r.get("scopes")),
        created_us: r.get("created_us"),
    })
}

pub(super) async fn delete_connection(
    s: &SqliteStore,
    app_id: i64,
    tenant_id: i64,
    environment: Environment,
) -> Result<()> {
    let mut tx = s.writer.begin().await?;
    let done = sqlx::query(
        "DELETE FROM connections WHERE app_id = ? AND tenant_id = ? AND environment = ?",
    )
    .bind(app_id)
    .bind(tenant_id)
    .bind(environment.as_str())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "connection of app {app_id} to tenant {tenant_id} in {environment}"
        )));
    }
    // Connecting again must not bring old credentials back on its own.
    sqlx::query(
        "UPDATE clients SET enabled = 0 WHERE app_id = ? AND tenant_id = ? AND environment = ?",
    )
    .bind(app_id)
    .bind(tenant_id)
    .bind(environment.as_str())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn create_client(s: &SqliteStore, c: &Client) -> Result<()> {
    sqlx::query(
        "INSERT INTO clients (client_id, app_id, tenant_id, environment, secret1, secret2, \
         enabled, created_us, secret1_us, secret2_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&c.client_id)
    .bind(c.app_id)
    .bind(c.tenant_id)
    .bind(c.environment.as_str())
    .bind(&c.secret1)
    .bind(&c.secret2)
    .bind(c.enabled)
    .bind(c.created_us)
    .bind(c.secret1_us)
    .bind(c.secret2_us)
    .execute(&s.writer)
    .await
    .map_err(|e| conflict_or(e, format!("client {}", c.client_id)))?;
    Ok(())
}

pub(super) async fn client(s: &SqliteStore, client_id: &str) -> Result<Option<Client>> {
    let row = sqlx::query("SELECT * FROM clients WHERE client_id = ?")
        .bind(client_id)
        .fetch_optional(&s.readers)
        .await?;
    row.map(|r| client_from(&r)).transpose()
}

/// A client with what its app asks for, what the tenant granted and whether the app has a
/// live key: what the token endpoint checks on every request, read on the calling thread.
pub(super) fn client_grant(s: &SqliteStore, client_id: &str) -> Result<Option<ClientGrant>> {
    use rusqlite::OptionalExtension;
    s.quick.read(|conn| {
        let mut query = conn.prepare_cached(
            "SELECT c.*, a.scopes AS app_scopes, n.scopes AS granted, \
             EXISTS (SELECT 1 FROM app_keys k WHERE k.app_id = c.app_id \
             AND (k.expires_us IS NULL OR k.expires_us > ?1)) AS app_key_live FROM clients c \
             JOIN apps a ON a.id = c.app_id \
             LEFT JOIN connections n ON n.app_id = c.app_id AND n.tenant_id = c.tenant_id \
             AND n.environment = c.environment \
             WHERE c.client_id = ?2",
        )?;
        query
            .query_row(rusqlite::params![now_us(), client_id], |r| {
                let env: String = r.get("environment")?;
                let granted: Option<String> = r.get("granted")?;
                Ok(ClientGrant {
                    client: Client {
                        client_id: r.get("client_id")?,
                        app_id: r.get("app_id")?,
                        tenant_id: r.get("tenant_id")?,
                        environment: env.parse().map_err(|e: String| {
                            rusqlite::Error::FromSqlConversionFailure(
                                r.as_ref().column_index("environment").unwrap_or_default(),
                                rusqlite::types::Type::Text,
                                e.into(),
                            )
                        })?,
                        secret1: r.get("secret1")?,
                        secret2: r.get("secret2")?,
                        enabled: r.get("enabled")?,
                        created_us: r.get("created_us")?,
                        secret1_us: r.get("secret1_us")?,
                        secret2_us: r.get("secret2_us")?,
                    },
                    app_scopes: parse_list(&r.get::<_, String>("app_scopes")?),
                    granted: granted.as_deref().map(parse_list),
                    app_key_live: r.get("app_key_live")?,
                })
            })
            .optional()
    })
}

pub(super) async fn set_client_enabled(
    s: &SqliteStore,
    client_id: &str,
    enabled: bool,
) -> Result<()> {
    let done = sqlx::query("UPDATE clients SET enabled = ? WHERE client_id = ?")
        .bind(enabled)
        .bind(client_id)
        .execute(&s.writer)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("client {client_id}")));
    }
    Ok(())
}

pub(super) async fn add_signing_key(s: &SqliteStore, k: &SigningKey) -> Result<()> {
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
    .execute(&s.writer)
    .await
    .map_err(|e| conflict_or(e, format!("signing key {}", k.kid)))?;
    Ok(())
}

pub(super) async fn signing_keys(s: &SqliteStore, env: Environment) -> Result<Vec<SigningKey>> {
    let rows = sqlx::query(
        "SELECT * FROM signing_keys WHERE environment = ? ORDER BY created_us DESC, kid",
    )
    .bind(env.as_str())
    // From the writer, so a key a node has just added is seen by its next read.
    .fetch_all(&s.writer)
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

pub(super) async fn append_audit(s: &SqliteStore, e: &AuditEvent) -> Result<()> {
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
    .execute(&s.writer)
    .await?;
    Ok(())
}

pub(super) async fn audit_events(
    s: &SqliteStore,
    since_us: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditEvent>> {
    let rows = sqlx::query("SELECT * FROM audit_events WHERE at_us >= ? ORDER BY id LIMIT ?")
        .bind(since_us.unwrap_or(0))
        .bind(limit as i64)
        .fetch_all(&s.readers)
        .await?;
    rows.iter().map(audit_from).collect()
}

pub(super) fn audit_from(r: &SqliteRow) -> Result<AuditEvent> {
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
}
