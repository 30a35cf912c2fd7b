//! Dataset generations in PostgreSQL. Every generation's records sit in the one records table
//! under their own key (`{environment}/{tenant}~{generation}`); `datasets` names the served one,
//! and every read resolves it within its statement, so a switch is one committed row.

use std::sync::Arc;

use sqlx::{Postgres, QueryBuilder};

use super::PgStore;
use super::records::{export_sql, put_rows, record_of};
use crate::*;

/// The records key of a generation of a dataset.
fn physical(dataset: Dataset, generation: i64) -> String {
    if generation == 0 {
        dataset.key()
    } else {
        format!("{}~{generation}", dataset.key())
    }
}

pub(super) async fn generation(s: &PgStore, dataset: Dataset) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT generation FROM datasets WHERE dataset = $1")
            .bind(dataset.key())
            .fetch_optional(&s.pool)
            .await?
            .unwrap_or(0),
    )
}

/// An export page and the generation it came from, read in one snapshot.
pub(super) async fn export_page(
    s: &PgStore,
    dataset: Dataset,
    resource: &str,
    q: &ExportQuery,
    expect: Option<i64>,
) -> Result<(i64, Vec<Record>)> {
    let mut tx = s.pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await?;
    let current: i64 = sqlx::query_scalar(
        "SELECT COALESCE((SELECT generation FROM datasets WHERE dataset = $1), 0)",
    )
    .bind(dataset.key())
    .fetch_one(&mut *tx)
    .await?;
    if let Some(expected) = expect.filter(|e| *e != current) {
        return Err(StoreError::Replaced {
            dataset: dataset.key(),
            expected,
            current,
        });
    }
    let key = dataset.key();
    let rows = export_sql(&key, resource, q)
        .build()
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((current, rows.iter().map(record_of).collect()))
}

pub(super) async fn stage(
    s: &PgStore,
    target: Dataset,
    source: Option<Dataset>,
    progress: Progress,
) -> Result<(Staged, u64)> {
    let generation: i64 = sqlx::query_scalar(
        "INSERT INTO datasets (dataset, generation, next_generation) VALUES ($1, 0, 1) \
         ON CONFLICT (dataset) DO UPDATE SET next_generation = datasets.next_generation + 1 \
         RETURNING next_generation",
    )
    .bind(target.key())
    .fetch_one(&s.pool)
    .await?;
    let staged = Staged { target, generation };
    let key = physical(target, generation);
    sqlx::query(
        "INSERT INTO dataset_stages (dataset, generation, tenant_id, touched_us) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(target.key())
    .bind(generation)
    .bind(target.tenant)
    .bind(crate::util::now_us())
    .execute(&s.pool)
    .await?;
    sqlx::query("DELETE FROM records WHERE dataset = $1")
        .bind(&key)
        .execute(&s.pool)
        .await?;
    let Some(source) = source else {
        return Ok((staged, 0));
    };
    // One statement reads one snapshot of the source: the copy is the dataset at one moment.
    let rows = sqlx::query(
        "INSERT INTO records \
         (dataset, resource, id, parent_id, created_us, modified_us, active, doc) \
         SELECT $1, resource, id, parent_id, created_us, modified_us, active, doc \
         FROM records WHERE dataset = (SELECT fg_records_key($2))",
    )
    .bind(&key)
    .bind(source.key())
    .execute(&s.pool)
    .await?
    .rows_affected();
    progress(rows, rows);
    Ok((staged, rows))
}

pub(super) async fn staged_put(
    s: &PgStore,
    staged: &Staged,
    resource: &str,
    records: &[Record],
) -> Result<()> {
    let rows: Vec<_> = records.iter().map(|r| (resource, r)).collect();
    let key = physical(staged.target, staged.generation);
    put_rows(s, staged.target, &rows, Some(&key)).await?;
    touch(s, staged).await
}

/// Marks a stage as being worked on, so a sweep leaves it alone.
async fn touch(s: &PgStore, staged: &Staged) -> Result<()> {
    sqlx::query("UPDATE dataset_stages SET touched_us = $3 WHERE dataset = $1 AND generation = $2")
        .bind(staged.target.key())
        .bind(staged.generation)
        .bind(crate::util::now_us())
        .execute(&s.pool)
        .await?;
    Ok(())
}

pub(super) async fn transform(
    s: &PgStore,
    staged: &Staged,
    transform: Arc<DocTransform>,
    progress: Progress,
) -> Result<u64> {
    let key = physical(staged.target, staged.generation);
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM records WHERE dataset = $1")
        .bind(&key)
        .fetch_one(&s.pool)
        .await?;
    let (mut after, mut done, mut changed) = ((String::new(), i64::MIN), 0u64, 0u64);
    loop {
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT resource, id, doc FROM records WHERE dataset = $1 \
             AND (resource COLLATE \"C\", id) > ($2 COLLATE \"C\", $3) \
             ORDER BY resource COLLATE \"C\", id LIMIT 2000",
        )
        .bind(&key)
        .bind(&after.0)
        .bind(after.1)
        .fetch_all(&s.pool)
        .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = (last.0.clone(), last.1);
        done += rows.len() as u64;
        let f = transform.clone();
        let updates: Vec<(String, i64, String)> = tokio::task::spawn_blocking(move || {
            rows.into_iter()
                .filter_map(|(res, id, doc)| f(&res, &doc).map(|d| (res, id, d)))
                .collect()
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
        if !updates.is_empty() {
            changed += updates.len() as u64;
            let mut qb =
                QueryBuilder::<Postgres>::new("UPDATE records SET doc = u.doc FROM UNNEST(");
            qb.push_bind(updates.iter().map(|u| u.0.clone()).collect::<Vec<_>>())
                .push("::text[], ")
                .push_bind(updates.iter().map(|u| u.1).collect::<Vec<_>>())
                .push("::int8[], ")
                .push_bind(updates.iter().map(|u| u.2.clone()).collect::<Vec<_>>())
                .push("::text[]) AS u(resource, id, doc) WHERE records.dataset = ")
                .push_bind(&key)
                .push(" AND records.resource = u.resource AND records.id = u.id");
            qb.build().execute(&s.pool).await?;
        }
        touch(s, staged).await?;
        progress(done, total as u64);
    }
    Ok(changed)
}

pub(super) async fn publish(s: &PgStore, staged: &Staged, next_id: i64) -> Result<i64> {
    let target = staged.target;
    let mut tx = s.pool.begin().await?;
    let replaced: i64 =
        sqlx::query_scalar("SELECT generation FROM datasets WHERE dataset = $1 FOR UPDATE")
            .bind(target.key())
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query("UPDATE datasets SET generation = $2 WHERE dataset = $1")
        .bind(target.key())
        .bind(staged.generation)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO id_sequences (dataset, next_id) VALUES ($1, $2) \
         ON CONFLICT (dataset) DO UPDATE \
         SET next_id = GREATEST(id_sequences.next_id, excluded.next_id)",
    )
    .bind(target.key())
    .bind(next_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM dataset_stages WHERE dataset = $1 AND generation = $2")
        .bind(target.key())
        .bind(staged.generation)
        .execute(&mut *tx)
        .await?;
    // Statements already reading the old generation keep their snapshot, so it can go now.
    sqlx::query("DELETE FROM records WHERE dataset = $1")
        .bind(physical(target, replaced))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(replaced)
}

pub(super) async fn discard(s: &PgStore, staged: &Staged) -> Result<()> {
    let mut tx = s.pool.begin().await?;
    sqlx::query("DELETE FROM records WHERE dataset = $1")
        .bind(physical(staged.target, staged.generation))
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM dataset_stages WHERE dataset = $1 AND generation = $2")
        .bind(staged.target.key())
        .bind(staged.generation)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn sweep(s: &PgStore, keep: &[i64], idle_us: i64) -> Result<u64> {
    let stages: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT dataset, generation, tenant_id FROM dataset_stages WHERE touched_us < $1 \
         AND tenant_id NOT IN (SELECT tenant_id FROM refresh_jobs WHERE status = 'running')",
    )
    .bind(crate::util::now_us() - idle_us)
    .fetch_all(&s.pool)
    .await?;
    let mut removed = 0;
    for (dataset, generation, tenant) in stages {
        if keep.contains(&tenant) {
            continue;
        }
        let Some(target) = dataset
            .split_once('/')
            .and_then(|(e, _)| Some(Dataset::new(e.parse().ok()?, tenant)))
        else {
            continue;
        };
        discard(s, &Staged { target, generation }).await?;
        removed += 1;
    }
    Ok(removed)
}
