//! People, sessions and the credential lifecycle in PostgreSQL: users, sessions, listings by app
//! and tenant, app-key rotation, secret slots and filtered audit reads.

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PgStore;
use super::control::{app_from, app_key_from, audit_from, client_from, connection_from};
use crate::util::{conflict_or, slot_columns, slot_refusal};
use crate::*;

fn developer_from(r: &PgRow) -> Developer {
    Developer {
        id: r.get("id"),
        name: r.get("name"),
        email: r.get("email"),
        created_us: r.get("created_us"),
    }
}

fn user_from(r: &PgRow) -> UserRecord {
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

pub(super) async fn developer(s: &PgStore, id: i64) -> Result<Option<Developer>> {
    let row = sqlx::query("SELECT * FROM developers WHERE id = $1")
        .bind(id)
        .fetch_optional(&s.pool)
        .await?;
    Ok(row.as_ref().map(developer_from))
}

pub(super) async fn developers(s: &PgStore) -> Result<Vec<Developer>> {
    let rows = sqlx::query("SELECT * FROM developers ORDER BY id")
        .fetch_all(&s.pool)
        .await?;
    Ok(rows.iter().map(developer_from).collect())
}

pub(super) async fn create_user(s: &PgStore, u: &UserRecord) -> Result<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO users (email, name, password_hash, developer_id, tenant_id, created_us) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&u.email)
    .bind(&u.name)
    .bind(&u.password_hash)
    .bind(u.developer_id)
    .bind(u.tenant_id)
    .bind(u.created_us)
    .fetch_one(&s.pool)
    .await
    .map_err(|e| conflict_or(e, format!("a person with email {}", u.email)))?;
    Ok(id)
}

pub(super) async fn user(s: &PgStore, id: i64) -> Result<Option<UserRecord>> {
    let row = sqlx::query("SELECT * FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&s.pool)
        .await?;
    Ok(row.as_ref().map(user_from))
}

pub(super) async fn user_by_email(s: &PgStore, email: &str) -> Result<Option<UserRecord>> {
    let row = sqlx::query("SELECT * FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(&s.pool)
        .await?;
    Ok(row.as_ref().map(user_from))
}

pub(super) async fn users_of_tenant(s: &PgStore, tenant_id: i64) -> Result<Vec<UserRecord>> {
    let rows = sqlx::query("SELECT * FROM users WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant_id)
        .fetch_all(&s.pool)
        .await?;
    Ok(rows.iter().map(user_from).collect())
}

pub(super) async fn create_session(s: &PgStore, session: &Session) -> Result<()> {
    let mut tx = s.pool.begin().await?;
    sqlx::query("DELETE FROM sessions WHERE expires_us <= $1")
        .bind(session.created_us)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (digest, user_id, created_us, expires_us) VALUES ($1, $2, $3, $4)",
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
    s: &PgStore,
    digest: &[u8],
    now_us: i64,
) -> Result<Option<UserRecord>> {
    let row = sqlx::query(
        "SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.digest = $1 AND s.expires_us > $2",
    )
    .bind(digest)
    .bind(now_us)
    .fetch_optional(&s.pool)
    .await?;
    Ok(row.as_ref().map(user_from))
}

pub(super) async fn delete_session(s: &PgStore, digest: &[u8]) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE digest = $1")
        .bind(digest)
        .execute(&s.pool)
        .await?;
    Ok(())
}

pub(super) async fn apps(s: &PgStore, developer_id: Option<i64>) -> Result<Vec<App>> {
    let rows = match developer_id {
        Some(id) => {
            sqlx::query("SELECT * FROM apps WHERE developer_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(&s.pool)
                .await?
        }
        None => {
            sqlx::query("SELECT * FROM apps ORDER BY id")
                .fetch_all(&s.pool)
                .await?
        }
    };
    Ok(rows.iter().map(app_from).collect())
}

pub(super) async fn app_keys_of(s: &PgStore, app_id: i64) -> Result<Vec<AppKey>> {
    let rows =
        sqlx::query("SELECT * FROM app_keys WHERE app_id = $1 ORDER BY created_us DESC, hint")
            .bind(app_id)
            .fetch_all(&s.pool)
            .await?;
    Ok(rows.iter().map(app_key_from).collect())
}

pub(super) async fn rotate_app_key(s: &PgStore, key: &AppKey, others_expire_us: i64) -> Result<()> {
    let mut tx = s.pool.begin().await?;
    sqlx::query(
        "UPDATE app_keys SET expires_us = $1 WHERE app_id = $2 \
         AND (expires_us IS NULL OR expires_us > $3)",
    )
    .bind(others_expire_us)
    .bind(key.app_id)
    .bind(others_expire_us)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO app_keys (digest, app_id, hint, created_us, expires_us) \
         VALUES ($1, $2, $3, $4, $5)",
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

pub(super) async fn connections_of(s: &PgStore, column: &str, id: i64) -> Result<Vec<Connection>> {
    let sql = format!(
        "SELECT * FROM connections WHERE {column} = $1 ORDER BY app_id, tenant_id, environment"
    );
    let rows = sqlx::query(&sql).bind(id).fetch_all(&s.pool).await?;
    rows.iter().map(connection_from).collect()
}

pub(super) async fn clients_of_tenant(s: &PgStore, tenant_id: i64) -> Result<Vec<Client>> {
    let rows = sqlx::query(
        "SELECT * FROM clients WHERE tenant_id = $1 ORDER BY app_id, environment, created_us",
    )
    .bind(tenant_id)
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(client_from).collect()
}

pub(super) async fn set_secret_slot(
    s: &PgStore,
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
            "UPDATE clients SET {this} = $1, {this_us} = $2 WHERE client_id = $3 AND {this} IS NULL"
        ),
        None => format!(
            "UPDATE clients SET {this} = $1, {this_us} = $2 WHERE client_id = $3 \
             AND {this} IS NOT NULL AND {other} IS NOT NULL"
        ),
    };
    let done = sqlx::query(&sql)
        .bind(digest)
        .bind(digest.map(|_| at_us))
        .bind(client_id)
        .execute(&s.pool)
        .await?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    let sql = format!("SELECT {this} IS NOT NULL FROM clients WHERE client_id = $1");
    let state: Option<bool> = sqlx::query_scalar(&sql)
        .bind(client_id)
        .fetch_optional(&s.pool)
        .await?;
    Err(slot_refusal(client_id, slot, digest.is_some(), state))
}

pub(super) async fn audit_query(s: &PgStore, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
    let rows = sqlx::query(
        "SELECT * FROM audit_events WHERE ($1::BIGINT IS NULL OR tenant_id = $1) \
         AND ($2::BIGINT IS NULL OR app_id = $2) AND at_us >= $3 AND at_us < $4 \
         ORDER BY at_us DESC, id DESC LIMIT $5",
    )
    .bind(f.tenant_id)
    .bind(f.app_id)
    .bind(f.since_us.unwrap_or(i64::MIN))
    .bind(f.until_us.unwrap_or(i64::MAX))
    .bind(f.limit as i64)
    .fetch_all(&s.pool)
    .await?;
    rows.iter().map(audit_from).collect()
}

pub(super) async fn rate_peek(
    s: &PgStore,
    key: &str,
    limit: u32,
    span_ms: i64,
) -> Result<Result<(), i64>> {
    // On the database's clock, as `fg_rate_hit` counts.
    let (now_ms, taken, oldest): (i64, i64, Option<i64>) = sqlx::query_as(
        "WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT AS ms) \
         SELECT now.ms, COUNT(r.at_ms), MIN(r.at_ms) FROM now \
         LEFT JOIN rate_log r ON r.key = $1 AND r.at_ms > now.ms - $2 GROUP BY now.ms",
    )
    .bind(key)
    .bind(span_ms)
    .fetch_one(&s.pool)
    .await?;
    if taken >= limit as i64 {
        return Ok(Err((oldest.unwrap_or(now_ms) + span_ms - now_ms).max(1)));
    }
    Ok(Ok(()))
}
