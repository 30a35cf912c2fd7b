//! The SQL of a list query: which rows (column filters, then filters on document properties) and
//! in which order.
//!
//! Properties compare as SQLite's `json_extract` makes them compare, so both backends select and
//! order the same records: numbers (booleans as 0 and 1) by value, text byte-wise (`COLLATE
//! "C"`, SQLite's BINARY), every number before every text, and absent or null properties
//! matching nothing. `doc` is parsed with `::jsonb`; PostgreSQL writes objects and arrays back as
//! text in its own spacing and key order, the one place its text differs from SQLite's.

use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};

use crate::util::checked_path;
use crate::*;

/// The columns of a record, in `Record`'s order.
pub(super) const COLUMNS: &str = "id, parent_id, created_us, modified_us, active, doc";

/// Pushes ` FROM ... WHERE ...` selecting the records of `q`. When the query looks into the
/// documents, each is parsed once into `body`: the `OFFSET 0` keeps PostgreSQL from inlining
/// the subquery, which would parse the document again for every property it reads.
pub(super) fn push_source<'a>(
    qb: &mut QueryBuilder<'a, Postgres>,
    dataset: &'a str,
    resource: &'a str,
    q: &'a ListQuery,
) -> Result<()> {
    let needs_body = !q.fields.is_empty() || matches!(q.sort, Some((SortKey::Field(_), _)));
    if needs_body {
        qb.push(" FROM (SELECT *, doc::jsonb AS body FROM records");
    } else {
        qb.push(" FROM records");
    }
    qb.push(" WHERE dataset = (SELECT fg_records_key(")
        .push_bind(dataset)
        .push("))");
    qb.push(" AND resource = ").push_bind(resource);
    push_column_filters(qb, q);
    if needs_body {
        qb.push(" OFFSET 0) AS r WHERE TRUE");
    }
    for f in &q.fields {
        push_field_filter(qb, checked_path(&f.path)?, &f.op);
    }
    Ok(())
}

fn push_column_filters<'a>(qb: &mut QueryBuilder<'a, Postgres>, q: &'a ListQuery) {
    if let Some(parent) = q.parent_id {
        qb.push(" AND parent_id = ").push_bind(parent);
    }
    if let Some(ids) = &q.ids {
        qb.push(" AND id = ANY(")
            .push_bind(ids.as_slice())
            .push(")");
    }
    match q.active {
        ActiveFilter::True => qb.push(" AND active"),
        ActiveFilter::False => qb.push(" AND NOT active"),
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
}

/// Pushes `body #> $path`, the property as JSONB (SQL NULL when absent).
fn push_prop<'a>(qb: &mut QueryBuilder<'a, Postgres>, path: &'a [String]) {
    qb.push("(body #> ").push_bind(path).push(")");
}

/// Pushes the property as SQLite's `json_extract` sees a number: numbers, and booleans as 0
/// and 1, become numeric; anything else NULL, so no cast can fail.
fn push_num<'a>(qb: &mut QueryBuilder<'a, Postgres>, path: &'a [String]) {
    qb.push("(CASE jsonb_typeof");
    push_prop(qb, path);
    qb.push(" WHEN 'number' THEN ");
    push_prop(qb, path);
    qb.push("::numeric WHEN 'boolean' THEN ");
    push_prop(qb, path);
    qb.push("::boolean::int END)");
}

/// Pushes the property as SQLite's `json_extract` sees text: strings, and objects and arrays
/// as JSON text, in the C collation; anything else NULL.
fn push_text<'a>(qb: &mut QueryBuilder<'a, Postgres>, path: &'a [String]) {
    qb.push("(CASE WHEN jsonb_typeof");
    push_prop(qb, path);
    qb.push(" IN ('string', 'object', 'array') THEN body #>> ")
        .push_bind(path)
        .push(" END) COLLATE \"C\"");
}

/// A filter value as SQLite binds it: booleans as 0 and 1, strings as text, and null, objects
/// and arrays as their JSON text.
enum Bound {
    Num(String),
    Text(String),
}

fn bound(v: &Value) -> Bound {
    match v {
        Value::Bool(b) => Bound::Num(if *b { "1" } else { "0" }.into()),
        Value::Number(n) => Bound::Num(n.to_string()),
        Value::String(s) => Bound::Text(s.clone()),
        other => Bound::Text(other.to_string()),
    }
}

/// Pushes one property filter. A number and a text never compare equal, and in SQLite's order
/// every number sorts before every text, which `>=` and `<` keep.
fn push_field_filter<'a>(
    qb: &mut QueryBuilder<'a, Postgres>,
    path: &'a [String],
    op: &'a FilterOp,
) {
    qb.push(" AND ");
    match op {
        FilterOp::Eq(v) => push_compare(qb, path, "=", bound(v)),
        FilterOp::Gte(v) => push_compare(qb, path, ">=", bound(v)),
        FilterOp::Lt(v) => push_compare(qb, path, "<", bound(v)),
        FilterOp::EqText(s) => {
            // `lower` in the C collation folds ASCII letters only, as SQLite's NOCASE does.
            qb.push("lower(");
            push_text(qb, path);
            qb.push(") = lower(")
                .push_bind(s.as_str())
                .push(" COLLATE \"C\")");
        }
        FilterOp::In(values) => {
            let (mut nums, mut texts) = (Vec::new(), Vec::new());
            for v in values {
                match bound(v) {
                    Bound::Num(n) => nums.push(n),
                    Bound::Text(t) => texts.push(t),
                }
            }
            qb.push("(");
            push_num(qb, path);
            qb.push(" = ANY(").push_bind(nums).push("::numeric[]) OR ");
            push_text(qb, path);
            qb.push(" = ANY(").push_bind(texts).push("))");
        }
    }
}

fn push_compare<'a>(qb: &mut QueryBuilder<'a, Postgres>, path: &'a [String], cmp: &str, v: Bound) {
    qb.push("(");
    match v {
        Bound::Num(n) => {
            push_num(qb, path);
            qb.push(format!(" {cmp} ")).push_bind(n).push("::numeric");
            if cmp == ">=" {
                qb.push(" OR ");
                push_text(qb, path);
                qb.push(" IS NOT NULL");
            }
        }
        Bound::Text(t) => {
            push_text(qb, path);
            qb.push(format!(" {cmp} ")).push_bind(t);
            if cmp == "<" {
                qb.push(" OR ");
                push_num(qb, path);
                qb.push(" IS NOT NULL");
            }
        }
    }
    qb.push(")");
}

/// Pushes ` ORDER BY ...`; ties are broken by id in the same direction.
pub(super) fn push_order<'a>(qb: &mut QueryBuilder<'a, Postgres>, q: &'a ListQuery) -> Result<()> {
    let (key, desc) = match &q.sort {
        Some((key, desc)) => (key, *desc),
        None => (&SortKey::Id, false),
    };
    let dir = if desc { "DESC" } else { "ASC" };
    match key {
        SortKey::Id => qb.push(format!(" ORDER BY id {dir}")),
        SortKey::CreatedOn => qb.push(format!(" ORDER BY created_us {dir}, id {dir}")),
        SortKey::ModifiedOn => qb.push(format!(" ORDER BY modified_us {dir}, id {dir}")),
        SortKey::Field(path) => {
            // SQLite's order of `json_extract` values: absent and null first, then numbers,
            // then text.
            let path = checked_path(path)?;
            qb.push(" ORDER BY CASE jsonb_typeof");
            push_prop(qb, path);
            qb.push(" WHEN 'number' THEN 1 WHEN 'boolean' THEN 1 WHEN 'string' THEN 2 ");
            qb.push(format!(
                "WHEN 'object' THEN 2 WHEN 'array' THEN 2 ELSE 0 END {dir}, "
            ));
            push_num(qb, path);
            qb.push(format!(" {dir}, "));
            push_text(qb, path);
            qb.push(format!(" {dir}, id {dir}"))
        }
    };
    Ok(())
}
