//! The data plane in SQLite: records as JSON documents, their queries and id sequences.

use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::SqliteStore;
use crate::util::checked_path;
use crate::*;

/// The columns a `Record` is read from; the dataset and resource are known to the caller.
const RECORD_SELECT: &str =
    "SELECT id, parent_id, created_us, modified_us, active, doc FROM records WHERE dataset = ";

/// A row of [`RECORD_SELECT`], read by position: pages of thousands of rows pass here.
fn record_from(row: &SqliteRow) -> Record {
    Record {
        id: row.get(0),
        parent_id: row.get(1),
        created_us: row.get(2),
        modified_us: row.get(3),
        active: row.get(4),
        doc: row.get(5),
    }
}

/// `$.a.b` for a property path.
fn json_path(path: &[String]) -> Result<String> {
    let mut out = String::from("$");
    for part in checked_path(path)? {
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

pub(super) async fn put_records(
    s: &SqliteStore,
    dataset: Dataset,
    resource: &str,
    records: &[Record],
) -> Result<()> {
    let key = dataset.key();
    let mut tx = s.writer.begin().await?;
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

pub(super) async fn put_record_set(
    s: &SqliteStore,
    dataset: Dataset,
    records: &[(String, Record)],
) -> Result<()> {
    let key = dataset.key();
    let mut tx = s.writer.begin().await?;
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

pub(super) async fn copy_dataset(s: &SqliteStore, from: Dataset, to: Dataset) -> Result<u64> {
    let (from, to) = (from.key(), to.key());
    let mut tx = s.writer.begin().await?;
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

pub(super) async fn get_record(
    s: &SqliteStore,
    dataset: Dataset,
    resource: &str,
    parent_id: Option<i64>,
    id: i64,
) -> Result<Option<Record>> {
    let row = sqlx::query(
        "SELECT id, parent_id, created_us, modified_us, active, doc FROM records \
         WHERE dataset = ? AND resource = ? AND id = ? \
         AND (? IS NULL OR parent_id = ?)",
    )
    .bind(dataset.key())
    .bind(resource)
    .bind(id)
    .bind(parent_id)
    .bind(parent_id)
    .fetch_optional(&s.readers)
    .await?;
    Ok(row.as_ref().map(record_from))
}

pub(super) async fn list_records(
    s: &SqliteStore,
    dataset: Dataset,
    resource: &str,
    q: &ListQuery,
) -> Result<ListPage> {
    let key = dataset.key();
    let mut qb = QueryBuilder::<Sqlite>::new(RECORD_SELECT);
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
    let rows = qb.build().fetch_all(&s.readers).await?;
    let has_more = rows.len() > q.limit as usize;
    let records = rows
        .iter()
        .take(q.limit as usize)
        .map(record_from)
        .collect();

    let total = if q.include_total {
        let mut qb = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM records WHERE dataset = ");
        qb.push_bind(&key)
            .push(" AND resource = ")
            .push_bind(resource);
        push_list_filters(&mut qb, q)?;
        Some(qb.build().fetch_one(&s.readers).await?.get::<i64, _>(0))
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
    s: &SqliteStore,
    dataset: Dataset,
    resource: &str,
    q: &ExportQuery,
) -> Result<Vec<Record>> {
    let mut qb = QueryBuilder::<Sqlite>::new(RECORD_SELECT);
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
    let rows = qb.build().fetch_all(&s.readers).await?;
    Ok(rows.iter().map(record_from).collect())
}

pub(super) async fn allocate_ids(s: &SqliteStore, dataset: Dataset, count: i64) -> Result<i64> {
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
    .fetch_one(&s.writer)
    .await?;
    Ok(first)
}

pub(super) async fn count_records(s: &SqliteStore, dataset: Dataset) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT resource, COUNT(*) AS n FROM records WHERE dataset = ? \
         GROUP BY resource ORDER BY resource",
    )
    .bind(dataset.key())
    .fetch_all(&s.readers)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("resource"), r.get("n")))
        .collect())
}
