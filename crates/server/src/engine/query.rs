//! Query strings as clients send them, parsed into typed list and export queries.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use fieldgate_catalog::{Catalog, DEFAULT_PAGE_SIZE, Operation};
use fieldgate_store::{ActiveFilter, FieldFilter, FilterOp, ListQuery, SortKey};
use serde_json::Value;

use crate::error::ApiError;

/// The parameters every list shares; the rest are the operation's own filters.
const COMMON: &[&str] = &[
    "page",
    "pageSize",
    "includeTotal",
    "sort",
    "ids",
    "createdBefore",
    "createdOnOrAfter",
    "modifiedBefore",
    "modifiedOnOrAfter",
    "active",
];

/// Most ids one `ids` parameter may name.
pub const MAX_IDS: usize = 50;

/// The decoded query string. Names match case-insensitively; empty values count as absent.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self(pairs)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    fn present(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.as_str(), v.trim()))
    }
}

/// `true`/`True`/`TRUE` and friends.
pub fn parse_bool(name: &str, value: &str) -> Result<bool, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::field(
            name,
            format!("`{value}` is not a boolean (true or false)."),
        )),
    }
}

/// A date or date-time, with or without offset and fractions; no offset means UTC.
pub fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    // An unencoded `+00:00` offset arrives as ` 00:00` once the query string is decoded.
    let mended;
    let value = match value.rsplit_once(' ') {
        Some((time, offset)) if time.contains('T') && is_offset(offset) => {
            mended = format!("{time}+{offset}");
            mended.as_str()
        }
        _ => value,
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    let normalized = value.replace(' ', "T");
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(&normalized, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(normalized.trim_end_matches('Z'), format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc())
}

fn is_offset(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 5 && b[2] == b':' && [0, 1, 3, 4].iter().all(|&i| b[i].is_ascii_digit()))
        || (b.len() == 4 && b.iter().all(u8::is_ascii_digit))
}

/// Microseconds since the epoch, rounded up. Records hold whole microseconds, so for a bound
/// with finer digits "on or after" and "before" both mean: from the next whole microsecond.
pub fn ceil_micros(t: DateTime<Utc>) -> i64 {
    let micros = t.timestamp_micros();
    if t.timestamp_subsec_nanos().is_multiple_of(1000) {
        micros
    } else {
        micros + 1
    }
}

fn time_param(params: &Params, name: &str) -> Result<Option<i64>, ApiError> {
    params
        .get(name)
        .map(|v| {
            parse_time(v).map(ceil_micros).ok_or_else(|| {
                ApiError::field(
                    name,
                    format!("`{v}` is not a date-time such as 2024-01-31T08:00:00Z."),
                )
            })
        })
        .transpose()
}

fn number_param(
    params: &Params,
    name: &str,
    min: u64,
    max: u64,
    default: u64,
) -> Result<u64, ApiError> {
    let Some(v) = params.get(name) else {
        return Ok(default);
    };
    v.parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            ApiError::field(
                name,
                format!("`{v}` must be a whole number from {min} to {max}."),
            )
        })
}

/// `1,2,3` into ids.
pub fn parse_ids(name: &str, value: &str) -> Result<Vec<i64>, ApiError> {
    let ids: Result<Vec<i64>, _> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse::<i64>)
        .collect();
    ids.map_err(|_| {
        ApiError::field(
            name,
            format!("`{value}` is not a comma-separated list of ids."),
        )
    })
}

/// Everything a paginated list needs from its query string.
pub fn list_query(
    catalog: &Catalog,
    op: &Operation,
    params: &Params,
) -> Result<(ListQuery, u32, u32), ApiError> {
    let page = number_param(params, "page", 1, i32::MAX as u64, 1)?;
    let limit = op.page_size_limit() as u64;
    let page_size = number_param(
        params,
        "pageSize",
        1,
        limit,
        DEFAULT_PAGE_SIZE.min(limit as u32) as u64,
    )?;
    let include_total = params
        .get("includeTotal")
        .map(|v| parse_bool("includeTotal", v))
        .transpose()?;
    let ids = params.get("ids").map(|v| parse_ids("ids", v)).transpose()?;
    if ids.as_ref().is_some_and(|ids| ids.len() > MAX_IDS) {
        return Err(ApiError::field(
            "ids",
            format!("At most {MAX_IDS} ids may be given."),
        ));
    }
    let active = match params.get("active") {
        None => ActiveFilter::True,
        Some(v) => v
            .parse()
            .map_err(|e: String| ApiError::field("active", e))?,
    };

    let schema = op
        .item_schema
        .as_deref()
        .and_then(|s| catalog.named(&op.module, s));
    let mut query = ListQuery {
        ids,
        active,
        created_before_us: time_param(params, "createdBefore")?,
        created_on_or_after_us: time_param(params, "createdOnOrAfter")?,
        modified_before_us: time_param(params, "modifiedBefore")?,
        modified_on_or_after_us: time_param(params, "modifiedOnOrAfter")?,
        offset: (page - 1) * page_size,
        limit: page_size as u32,
        include_total: include_total.unwrap_or(false),
        ..ListQuery::default()
    };
    // `sort=+Name` arrives as ` Name` once form-decoded; `get` trims it to `Name`.
    if let Some(sort) = params.get("sort") {
        query.sort = Some(sort_key(catalog, op, schema, sort)?);
    }
    for (name, value) in params.present() {
        let own = op
            .param(name)
            .filter(|p| !COMMON.iter().any(|c| c.eq_ignore_ascii_case(&p.name)));
        if let Some(param) = own {
            query
                .fields
                .push(field_filter(catalog, op, schema, &param.name, value)?);
        }
    }
    Ok((query, page as u32, page_size as u32))
}

fn sort_key(
    catalog: &Catalog,
    op: &Operation,
    schema: Option<fieldgate_catalog::schema::View<'_>>,
    sort: &str,
) -> Result<(SortKey, bool), ApiError> {
    let (desc, field) = match sort.as_bytes().first() {
        Some(b'-') => (true, &sort[1..]),
        Some(b'+') => (false, &sort[1..]),
        _ => (false, sort),
    };
    let key = match field.to_ascii_lowercase().as_str() {
        "id" => SortKey::Id,
        "createdon" => SortKey::CreatedOn,
        "modifiedon" => SortKey::ModifiedOn,
        _ => {
            let property = schema.and_then(|s| {
                s.properties().find(|(name, prop)| {
                    name.eq_ignore_ascii_case(field)
                        && matches!(
                            catalog.view(&op.module, prop).ty(),
                            Some("string" | "integer" | "number" | "boolean")
                        )
                })
            });
            let (name, _) = property.ok_or_else(|| {
                ApiError::field(
                    "sort",
                    format!("`{field}` is not a field this list can be sorted by."),
                )
            })?;
            SortKey::Field(vec![name.clone()])
        }
    };
    Ok((key, desc))
}

/// Maps one of the operation's own filters onto the records' properties.
fn field_filter(
    catalog: &Catalog,
    op: &Operation,
    schema: Option<fieldgate_catalog::schema::View<'_>>,
    name: &str,
    value: &str,
) -> Result<FieldFilter, ApiError> {
    let unsupported = || {
        ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            format!(
                "fieldgate does not implement the `{name}` filter of {}.",
                op.operation_id
            ),
        )
    };
    let schema = schema.ok_or_else(unsupported)?;
    let find = |wanted: &str| {
        schema
            .properties()
            .find(|(n, _)| n.eq_ignore_ascii_case(wanted))
            .map(|(n, p)| (n.clone(), catalog.view(&op.module, p)))
    };

    // A property of the same name: equality.
    if let Some((prop, view)) = find(name)
        && let Some(ty) = view.ty().filter(|t| *t != "object" && *t != "array")
    {
        {
            let op =
                match ty {
                    "integer" => FilterOp::Eq(Value::from(value.parse::<i64>().map_err(|_| {
                        ApiError::field(name, format!("`{value}` is not a whole number."))
                    })?)),
                    "number" => FilterOp::Eq(Value::from(value.parse::<f64>().map_err(|_| {
                        ApiError::field(name, format!("`{value}` is not a number."))
                    })?)),
                    "boolean" => FilterOp::Eq(Value::Bool(parse_bool(name, value)?)),
                    _ if view.format() == Some("date-time") => {
                        FilterOp::Eq(Value::String(time_text(name, value)?))
                    }
                    _ => FilterOp::EqText(value.to_string()),
                };
            return Ok(FieldFilter {
                path: vec![prop],
                op,
            });
        }
    }
    // `customerId` against a `customer: {id, ...}` object.
    if let Some(stem) = name.strip_suffix("Id")
        && let Some((prop, view)) = find(stem)
        && view.property("id").is_some()
    {
        let id = value
            .parse::<i64>()
            .map_err(|_| ApiError::field(name, format!("`{value}` is not an id.")))?;
        return Ok(FieldFilter {
            path: vec![prop, "id".into()],
            op: FilterOp::Eq(Value::from(id)),
        });
    }
    // `technicianIds=1,2` against `technicianId`.
    if let Some(stem) = name
        .strip_suffix("Ids")
        .or_else(|| name.strip_suffix("ids"))
        && let Some((prop, _)) = find(&format!("{stem}Id"))
    {
        let ids = parse_ids(name, value)?
            .into_iter()
            .map(Value::from)
            .collect();
        return Ok(FieldFilter {
            path: vec![prop],
            op: FilterOp::In(ids),
        });
    }
    // `completedOnOrAfter` / `completedBefore` against `completedOn`.
    for (suffix, lower) in [("OnOrAfter", true), ("Before", false)] {
        if let Some(stem) = name.strip_suffix(suffix) {
            let candidates = [format!("{stem}On"), stem.to_string()];
            if let Some((prop, _)) = candidates.iter().find_map(|c| find(c)) {
                let bound = Value::String(time_text(name, value)?);
                let op = if lower {
                    FilterOp::Gte(bound)
                } else {
                    FilterOp::Lt(bound)
                };
                return Ok(FieldFilter {
                    path: vec![prop],
                    op,
                });
            }
        }
    }
    Err(unsupported())
}

/// A time as records hold it, so string comparison orders it correctly.
fn time_text(name: &str, value: &str) -> Result<String, ApiError> {
    parse_time(value)
        .map(|t| fieldgate_store::format_time(ceil_micros(t)))
        .ok_or_else(|| {
            ApiError::field(
                name,
                format!("`{value}` is not a date-time such as 2024-01-31T08:00:00Z."),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_shape_clients_send() {
        let expect =
            |s: &str, us: i64| assert_eq!(parse_time(s).unwrap().timestamp_micros(), us, "{s}");
        let base = 1_704_067_200_000_000; // 2024-01-01T00:00:00Z
        expect("2024-01-01T00:00:00Z", base);
        expect("2024-01-01T00:00:00.001000+00:00", base + 1000);
        expect("2024-01-01T00:00:00.0010000Z", base + 1000);
        expect("2024-01-01T02:00:00+02:00", base);
        expect("2024-01-01T00:00:00", base);
        expect("2024-01-01T00:00:00.5", base + 500_000);
        expect("2024-01-01", base);
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn booleans_ignore_case() {
        assert!(parse_bool("x", "True").unwrap());
        assert!(!parse_bool("x", "FALSE").unwrap());
        assert!(parse_bool("x", "yes").is_err());
    }

    #[test]
    fn an_unencoded_plus_and_sub_microsecond_digits() {
        let t = parse_time("2024-01-01T00:00:00.001000 00:00").unwrap();
        assert_eq!(t.timestamp_micros(), 1_704_067_200_001_000);
        let finer = parse_time("2024-01-01T00:00:00.0010001Z").unwrap();
        assert_eq!(ceil_micros(finer), 1_704_067_200_001_001);
        assert_eq!(ceil_micros(t), 1_704_067_200_001_000);
    }
}
