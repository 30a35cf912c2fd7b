//! The data plane in PostgreSQL: records as JSON documents, their queries and id sequences.

use std::collections::HashSet;

use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use super::PgStore;
use super::query::{self, COLUMNS};
use crate::*;

/// Rows per `INSERT`. The rows travel as six array parameters, so PostgreSQL's limit of 65535
/// parameters does not apply; this only bounds the size of one message.
const BATCH: usize = 2000;

fn record_from(row: &PgRow) -> Record {
    Record {
        id: row.get("id"),
        parent_id: row.get("parent_id"),
        created_us: row.get("created_us"),
        modified_us: row.get("modified_us"),
        active: row.get("active"),
        doc: row.get("doc"),
    }
}

/// Upserts `(resource, record)` pairs in batches inside one transaction, into the served
/// generation of `dataset` or, with `physical`, under that records key (a staged generation).
pub(super) async fn put_rows(
    s: &PgStore,
    dataset: Dataset,
    rows: &[(&str, &Record)],
    physical: Option<&str>,
) -> Result<()> {
    // One statement may not touch a row twice (SQLite's INSERT OR REPLACE may), so only the
    // last write of a (resource, id) is kept, which is also what SQLite ends up storing.
    let mut seen = HashSet::new();
    let mut rows: Vec<_> = rows
        .iter()
        .rev()
        .filter(|(resource, r)| seen.insert((*resource, r.id)))
        .collect();
    rows.reverse();

    let (key, target) = match physical {
        Some(key) => (key.to_string(), "$1"),
        None => (dataset.key(), "(SELECT fg_records_key($1))"),
    };
    let mut tx = s.pool.begin().await?;
    for chunk in rows.chunks(BATCH) {
        sqlx::query(&format!(
            "INSERT INTO records \
             (dataset, resource, id, parent_id, created_us, modified_us, active, doc) \
             SELECT {target}, * FROM UNNEST($2::text[], $3::int8[], $4::int8[], $5::int8[], \
             $6::int8[], $7::bool[], $8::text[]) \
             ON CONFLICT (dataset, resource, id) DO UPDATE SET parent_id = excluded.parent_id, \
             created_us = excluded.created_us, modified_us = excluded.modified_us, \
             active = excluded.active, doc = excluded.doc"
        ))
        .bind(&key)
        .bind(chunk.iter().map(|(res, _)| *res).collect::<Vec<_>>())
        .bind(chunk.iter().map(|(_, r)| r.id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|(_, r)| r.parent_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|(_, r)| r.created_us).collect::<Vec<_>>())
        .bind(chunk.iter().map(|(_, r)| r.modified_us).collect::<Vec<_>>())
        .bind(chunk.iter().map(|(_, r)| r.active).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|(_, r)| r.doc.as_str())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn put_records(
    s: &PgStore,
    dataset: Dataset,
    resource: &str,
    records: &[Record],
) -> Result<()> {
    let rows: Vec<_> = records.iter().map(|r| (resource, r)).collect();
    put_rows(s, dataset, &rows, None).await
}

pub(super) async fn put_record_set(
    s: &PgStore,
    dataset: Dataset,
    records: &[(String, Record)],
) -> Result<()> {
    let rows: Vec<_> = records.iter().map(|(res, r)| (res.as_str(), r)).collect();
    put_rows(s, dataset, &rows, None).await
}

pub(super) async fn copy_dataset(s: &PgStore, from: Dataset, to: Dataset) -> Result<u64> {
    let (from, to) = (from.key(), to.key());
    let mut tx = s.pool.begin().await?;
    sqlx::query("DELETE FROM records WHERE dataset = (SELECT fg_records_key($1))")
        .bind(&to)
        .execute(&mut *tx)
        .await?;
    let copied = sqlx::query(
        "INSERT INTO records \
         (dataset, resource, id, parent_id, created_us, modified_us, active, doc) \
         SELECT (SELECT fg_records_key($1)), resource, id, parent_id, created_us, \
         modified_us, active, doc FROM records WHERE dataset = (SELECT fg_records_key($2))",
    )
    .bind(&to)
    .bind(&from)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO id_sequences (dataset, next_id) \
         SELECT $1, next_id FROM id_sequences WHERE dataset = $2 \
         ON CONFLICT (dataset) DO UPDATE \
         SET next_id = GREATEST(id_sequences.next_id, excluded.next_id)",
    )
    .bind(&to)
    .bind(&from)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(copied)
}

pub(super) async fn get_record(
    s: &PgStore,
    dataset: Dataset,
    resource: &str,
    parent_id: Option<i64>,
    id: i64,
) -> Result<Option<Record>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM records WHERE dataset = (SELECT fg_records_key($1)) AND resource = $2 AND id = $3 \
         AND ($4::int8 IS NULL OR parent_id = $4)"
    ))
    .bind(dataset.key())
    .bind(resource)
    .bind(id)
    .bind(parent_id)
    .fetch_optional(&s.pool)
    .await?;
    Ok(row.as_ref().map(record_from))
}

pub(super) async fn list_records(
    s: &PgStore,
    dataset: Dataset,
    resource: &str,
    q: &ListQuery,
) -> Result<ListPage> {
    let key = dataset.key();
    let mut qb = QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS}"));
    query::push_source(&mut qb, &key, resource, q)?;
    query::push_order(&mut qb, q)?;
    // One row past the page tells whether there is more.
    qb.push(" LIMIT ").push_bind(q.limit as i64 + 1);
    qb.push(" OFFSET ")
        .push_bind(i64::try_from(q.offset).unwrap_or(i64::MAX));
    let rows = qb.build().fetch_all(&s.pool).await?;
    let has_more = rows.len() > q.limit as usize;
    let records = rows
        .iter()
        .take(q.limit as usize)
        .map(record_from)
        .collect();

    let total = if q.include_total {
        let mut qb = QueryBuilder::<Postgres>::new("SELECT COUNT(*)");
        query::push_source(&mut qb, &key, resource, q)?;
        Some(qb.build().fetch_one(&s.pool).await?.get::<i64, _>(0))
    } else {
        None
    };
    Ok(ListPage {
        records,
        has_more,
        total,
    })
}

pub(super) async fn export_records(
    s: &PgStore,
    dataset: Dataset,
    resource: &str,
    q: &ExportQuery,
) -> Result<Vec<Record>> {
    let key = dataset.key();
    let rows = export_sql(&key, resource, q)
        .build()
        .fetch_all(&s.pool)
        .await?;
    Ok(rows.iter().map(record_from).collect())
}

/// The query of an export page of the served generation of the dataset `key`.
pub(super) fn export_sql<'a>(
    key: &'a str,
    resource: &'a str,
    q: &ExportQuery,
) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM records"));
    qb.push(" WHERE dataset = (SELECT fg_records_key(")
        .push_bind(key)
        .push("))");
    qb.push(" AND resource = ").push_bind(resource);
    match q.from {
        ExportFrom::Start => {}
        ExportFrom::After { modified_us, id } => {
            // A row comparison, which the (dataset, resource, modified_us, id) index answers
            // as one range scan.
            qb.push(" AND (modified_us, id) > (").push_bind(modified_us);
            qb.push(", ").push_bind(id).push(")");
        }
        ExportFrom::Since { modified_us } => {
            qb.push(" AND modified_us >= ").push_bind(modified_us);
        }
    }
    qb.push(" ORDER BY modified_us, id LIMIT ")
        .push_bind(q.limit as i64);
    qb
}

pub(super) fn record_of(row: &PgRow) -> Record {
    record_from(row)
}

pub(super) async fn allocate_ids(s: &PgStore, dataset: Dataset, count: i64) -> Result<i64> {
    // One statement that inserts or increments under the row's lock, so nodes allocating at
    // the same moment get disjoint ranges. Ids start past 2^31, as in SQLite, so callers meet
    // int64 values early.
    let first: i64 = sqlx::query_scalar(
        "INSERT INTO id_sequences (dataset, next_id) VALUES ($1, 2147483648 + $2) \
         ON CONFLICT (dataset) DO UPDATE SET next_id = id_sequences.next_id + $2 \
         RETURNING next_id - $2",
    )
    .bind(dataset.key())
    .bind(count)
    .fetch_one(&s.pool)
    .await?;
    Ok(first)
}

pub(super) async fn count_records(s: &PgStore, dataset: Dataset) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT resource, COUNT(*) AS n FROM records WHERE dataset = (SELECT fg_records_key($1)) \
         GROUP BY resource ORDER BY resource COLLATE \"C\"",
    )
    .bind(dataset.key())
    .fetch_all(&s.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("resource"), r.get("n")))
        .collect())
}
