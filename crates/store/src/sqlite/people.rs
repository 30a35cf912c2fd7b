//! People, sessions and the credential lifecycle in SQLite: users, sessions, listings by app
//! and tenant, app-key rotation, secret slots and filtered audit reads.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use super::control::{app_from, app_key_from, audit_from, client_from, connection_from};
use crate::util::{conflict_or, now_us, slot_columns, slot_refusal};
use crate::*;

fn developer_from(r: &SqliteRow) -> Developer {
    Developer {
        id: r.get("id"),
        name: r.get("name"),
        email: r.get("email"),
        created_us: r.get("created_us"),
    }
}

fn user_from(r: &SqliteRow) -> UserRecord {
    UserRecord {
        id: r.get("id"),
        email: r.get("email"),
        name: r.get("name"),
        password_hash: r.get("password_hash"),
        developer_id: r.get("developer_id"),
        tenant_id: r.get("tenant_id"),
        created_us: r.get("created_us"),
    }
}

pub(super) async fn developer(s: &SqliteStore, id: i64) -> Result<Option<Developer>> {
    let row = sqlx::query("SELECT * FROM developers WHERE id = ?")
        .bind(id)
        .fetch_optional(&s.readers)
        .await?;
    Ok(row.as_ref().map(developer_from))
}

pub(super) async fn developers(s: &SqliteStore) -> Result<Vec<Developer>> {
    let rows = sqlx::query("SELECT * FROM developers ORDER BY id")
        .fetch_all(&s.readers)
        .await?;
    Ok(rows.iter().map(developer_from).collect())
}

pub(super) async fn create_user(s: &SqliteStore, u: &UserRecord) -> Result<i64> {
    let id = sqlx::query(
        "INSERT INTO users (email, name, password_hash, developer_id, tenant_id, created_us) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&u.email)
    .bind(&u.name)
    .bind(&u.password_hash)
    .bind(u.developer_id)
    .bind(u.tenant_id)
    .bind(u.created_us)
    .execute(&s.writer)
    .await
    .map_err(|e| conflict_or(e, format!("a person with email {}", u.email)))?
    .last_insert_rowid();
    Ok(id)
}

pub(super) async fn user(s: &SqliteStore, id: i64) -> Result<Option<UserRecord>> {
    let row = sqlx::query("SELECT * FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(&s.readers)
        .await?;
    Ok(row.as_ref().map(user_from))
}

pub(super) async fn user_by_email(s: &SqliteStore, email: &str) -> Result<Option<UserRecord>> {
    let row = sqlx::query("SELECT * FROM users WHERE email = ?")
        .bind(email)
        .fetch_optional(&s.readers)
        .await?;
    Ok(row.as_ref().map(user_from))
}

pub(super) async fn users_of_tenant(s: &SqliteStore, tenant_id: i64) -> Result<Vec<UserRecord>> {
    let rows = sqlx::query("SELECT * FROM users WHERE tenant_id = ? ORDER BY id")
        .bind(tenant_id)
        .fetch_all(&s.readers)
        .await?;
    Ok(rows.iter().map(user_from).collect())
}

pub(super) async fn create_session(s: &SqliteStore, session: &Session) -> Result<()> {
    let mut tx = s.writer.begin().await?;
    sqlx::query("DELETE FROM sessions WHERE expires_us <= ?")
        .bind(session.created_us)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (digest, user_id, created_us, expires_us) VALUES (?, ?, ?, ?)",
    )
    .bind(&session.digest)
    .bind(session.user_id)
    .bind(session.created_us)
    .bind(session.expires_us)
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_or(e, "session"))?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn session_user(
    s: &SqliteStore,
    digest: &[u8],
    now_us: i64,
) -> Result<Option<UserRecord>> {
    // From the readers: every page of the portal and console asks, and a committed session is
    // visible to the next read in WAL mode.
    let row = sqlx::query(
        "SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.digest = ? AND s.expires_us > ?",
    )
    .bind(digest)
    .bind(now_us)
    .fetch_optional(&s.readers)
    .await?;
    Ok(row.as_ref().map(user_from))
}

pub(super) async fn delete_session(s: &SqliteStore, digest: &[u8]) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE digest = ?")
        .bind(digest)
        .execute(&s.writer)
        .await?;
    Ok(())
}

pub(super) async fn apps(s: &SqliteStore, developer_id: Option<i64>) -> Result<Vec<App>> {
    let rows = match developer_id {
        Some(id) => {
            sqlx::query("SELECT * FROM apps WHERE developer_id = ? ORDER BY id")
                .bind(id)
                .fetch_all(&s.readers)
                .await?
        }
        None => {
            sqlx::query("SELECT * FROM apps ORDER BY id")
                .fetch_all(&s.readers)
                .await?
        }
    };
    Ok(rows.iter().map(app_from).collect())
}

pub(super) async fn app_keys_of(s: &SqliteStore, app_id: i64) -> Result<Vec<AppKey>> {
    let rows =
        sqlx::query("SELECT * FROM app_keys WHERE app_id = ? ORDER BY created_us DESC, hint")
            .bind(app_id)
            .fetch_all(&s.writer)
            .await?;
    Ok(rows.iter().map(app_key_from).collect())
}

pub(super) async fn rotate_app_key(
    s: &SqliteStore,
    key: &AppKey,
    others_expire_us: i64,
) -> Result<()> {
    let mut tx = s.writer.begin().await?;
    sqlx::query(
        "UPDATE app_keys SET expires_us = ? WHERE app_id = ? \
         AND (expires_us IS NULL OR expires_us > ?)",
    )
    .bind(others_expire_us)
    .bind(key.app_id)
    .bind(others_expire_us)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO app_keys (digest, app_id, hint, created_us, expires_us) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&key.digest)
    .bind(key.app_id)
    .bind(&key.hint)
    .bind(key.created_us)
    .bind(key.expires_us)
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_or(e, "app key"))?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn connections_of(
    s: &SqliteStore,
    column: &str,
    id: i64,
) -> Result<Vec<Connection>> {
    let sql = format!(
        "SELECT * FROM connections WHERE {column} = ? ORDER BY app_id, tenant_id, environment"
    );
    let rows = sqlx::query(&sql).bind(id).fetch_all(&s.readers).await?;
    rows.iter().map(connection_from).collect()
}

pub(super) async fn clients_of_tenant(s: &SqliteStore, tenant_id: i64) -> Result<Vec<Client>> {
    let rows = sqlx::query(
        "SELECT * FROM clients WHERE tenant_id = ? ORDER BY app_id, environment, created_us",
    )
    .bind(tenant_id)
    .fetch_all(&s.readers)
    .await?;
    rows.iter().map(client_from).collect()
}

pub(super) async fn set_secret_slot(
    s: &SqliteStore,
    client_id: &str,
    slot: SecretSlot,
    digest: Option<&[u8]>,
    at_us: i64,
) -> Result<()> {
    let (this, this_us, other) = slot_columns(slot);
    // The condition makes the check and the change one statement, so two admins racing
    // cannot both fill a slot or both empty the last two.
    let sql = match digest {
        Some(_) => format!(
            "UPDATE clients SET {this} = ?, {this_us} = ? WHERE client_id = ? AND {this} IS NULL"
        ),
        None => format!(
            "UPDATE clients SET {this} = ?, {this_us} = ? WHERE client_id = ? \
             AND {this} IS NOT NULL AND {other} IS NOT NULL"
        ),
    };
    let done = sqlx::query(&sql)
        .bind(digest)
        .bind(digest.map(|_| at_us))
        .bind(client_id)
        .execute(&s.writer)
        .await?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    let sql = format!("SELECT {this} IS NOT NULL FROM clients WHERE client_id = ?");
    let state: Option<bool> = sqlx::query_scalar(&sql)
        .bind(client_id)
        .fetch_optional(&s.writer)
        .await?;
    Err(slot_refusal(client_id, slot, digest.is_some(), state))
}

pub(super) async fn audit_query(s: &SqliteStore, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
    let rows = sqlx::query(
        "SELECT * FROM audit_events WHERE (? IS NULL OR tenant_id = ?) \
         AND (? IS NULL OR app_id = ?) AND at_us >= ? AND at_us < ? \
         ORDER BY at_us DESC, id DESC LIMIT ?",
    )
    .bind(f.tenant_id)
    .bind(f.tenant_id)
    .bind(f.app_id)
    .bind(f.app_id)
    .bind(f.since_us.unwrap_or(i64::MIN))
    .bind(f.until_us.unwrap_or(i64::MAX))
    .bind(f.limit as i64)
    .fetch_all(&s.readers)
    .await?;
    rows.iter().map(audit_from).collect()
}

pub(super) async fn rate_peek(
    s: &SqliteStore,
    key: &str,
    limit: u32,
    span_ms: i64,
) -> Result<Result<(), i64>> {
    let now_ms = now_us() / 1000;
    let (taken, oldest): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MIN(at_ms) FROM rate_log WHERE key = ? AND at_ms > ?")
            .bind(key)
            .bind(now_ms - span_ms)
            .fetch_one(&s.writer)
            .await?;
    if taken >= limit as i64 {
        return Ok(Err((oldest.unwrap_or(now_ms) + span_ms - now_ms).max(1)));
    }
    Ok(Ok(()))
}
