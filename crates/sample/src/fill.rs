//! The generic filler: a plausible value for any property, from its shape and its name.
//!
//! Per-resource code then overwrites what must agree with other records; this fills the rest
//! so that every property any serving schema names is present and valid.

use std::collections::BTreeMap;

use fieldgate_store::format_time;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use crate::data;
use crate::fake::{self, Address, Person, pick, round2};
use crate::shape::{Field, Shape};
use crate::state::Stamp;

/// Records made so far, by kind (`employee`, `businessUnit`...): id and display name.
pub type Refs = BTreeMap<&'static str, Vec<(i64, String)>>;

pub struct Ctx<'a> {
    pub rng: &'a mut ChaCha8Rng,
    pub refs: &'a Refs,
    pub stamp: Stamp,
}

/// What the fields of one object share, so that its street, city and zip agree.
#[derive(Default)]
struct Local {
    address: Option<Address>,
    person: Option<Person>,
}

/// The values of an object's fields, in their order.
pub fn values(fields: &[Field], cx: &mut Ctx) -> Vec<Value> {
    let mut local = Local::default();
    fields.iter().map(|f| field(f, cx, &mut local)).collect()
}

pub fn object(fields: &[Field], cx: &mut Ctx) -> Map<String, Value> {
    let mut local = Local::default();
    fields
        .iter()
        .map(|f| (f.name.clone(), field(f, cx, &mut local)))
        .collect()
}

fn field(f: &Field, cx: &mut Ctx, local: &mut Local) -> Value {
    let (name, lower) = (f.name.as_str(), f.lower.as_str());
    match &f.shape {
        Shape::Object(fields) => {
            let target = ref_kind(name).and_then(|k| draw(cx, k));
            if let Some((id, label)) = target {
                let mut map = object(fields, cx);
                set_if_named(&mut map, "id", id.into());
                set_if_named(&mut map, "name", label.into());
                Value::Object(map)
            } else if f.nullable && !is_address(lower) {
                Value::Null
            } else {
                Value::Object(object(fields, cx))
            }
        }
        Shape::Array(item) => match (item.as_ref(), ref_kind(name)) {
            (Shape::Integer, Some(kind)) => {
                let n = cx.rng.gen_range(0..=2);
                let mut ids: Vec<i64> =
                    (0..n).filter_map(|_| draw(cx, kind).map(|r| r.0)).collect();
                ids.sort_unstable();
                ids.dedup();
                json!(ids)
            }
            _ => json!([]),
        },
        Shape::String { format, choices } => {
            if let Some(choices) = choices {
                return pick(cx.rng, choices).as_str().into();
            }
            string(name, lower, format.as_deref(), f.nullable, cx, local)
        }
        Shape::Integer => integer(name, lower, f.nullable, cx),
        Shape::Number => number(lower, f.nullable, cx, local),
        Shape::Boolean => Value::Bool(boolean(lower, cx)),
        Shape::Any => Value::Null,
    }
}

fn set_if_named(map: &mut Map<String, Value>, key: &str, value: Value) {
    if let Some(slot) = map.get_mut(key) {
        *slot = value;
    }
}

/// A random record of a kind, if any was made.
fn draw(cx: &mut Ctx, kind: &str) -> Option<(i64, String)> {
    let pool = cx.refs.get(kind).filter(|p| !p.is_empty())?;
    Some(pick(cx.rng, pool).clone())
}

/// Which kind of record a property refers to, judged by its name.
fn ref_kind(name: &str) -> Option<&'static str> {
    let stem = name
        .strip_suffix("Ids")
        .or_else(|| name.strip_suffix("Id"))
        .or_else(|| name.strip_suffix('s'))
        .unwrap_or(name);
    Some(match stem {
        "businessUnit" => "businessUnit",
        "technician" => "technician",
        "employee" | "createdBy" | "modifiedBy" | "assignedBy" | "soldBy" | "manager"
        | "assignedTo" | "employeeInfo" | "appliedBy" => "employee",
        "customer" => "customer",
        "location" => "location",
        "job" => "job",
        "jobType" => "jobType",
        "campaign" => "campaign",
        "zone" | "mainZone" => "zone",
        "tagType" => "tagType",
        _ => return None,
    })
}

fn is_address(lower: &str) -> bool {
    lower.contains("address") || lower == "home"
}

fn address<'l>(cx: &mut Ctx, local: &'l mut Local) -> &'l Address {
    local.address.get_or_insert_with(|| Address::random(cx.rng))
}

fn person<'l>(cx: &mut Ctx, local: &'l mut Local) -> &'l Person {
    local.person.get_or_insert_with(|| Person::random(cx.rng))
}

/// Money-like number names (CRM and pricebook decimals).
fn is_money(lower: &str) -> bool {
    [
        "total", "balance", "price", "cost", "amount", "bonus", "value",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// Money-like string names (accounting writes money as strings such as `"12.50"`).
fn is_money_text(lower: &str) -> bool {
    const NAMES: &[&str] = &[
        "total",
        "subtotal",
        "balance",
        "salestax",
        "discounttotal",
        "price",
        "cost",
        "memberprice",
        "totalcost",
        "amount",
        "appliedamount",
        "unappliedamount",
    ];
    NAMES.contains(&lower)
}

fn string(
    name: &str,
    lower: &str,
    format: Option<&str>,
    nullable: bool,
    cx: &mut Ctx,
    local: &mut Local,
) -> Value {
    let s = cx.stamp;
    let text: String = match (format, lower) {
        (Some("date-time"), _) if nullable => return Value::Null,
        (Some("date-time"), _) => format_time(cx.rng.gen_range(s.created_us..=s.modified_us)),
        (Some("duration"), _) => "08:00:00".into(),
        (Some("guid" | "uuid"), _) => fake::guid_for(cx.rng.gen_range(1..1_000_000)),
        (Some("email"), _) | (_, "email") => {
            let p = person(cx, local).clone();
            p.email(cx.rng)
        }
        (_, l) if l.contains("phone") => {
            let area = address(cx, local).area;
            fake::phone(cx.rng, area)
        }
        (_, "street" | "streetaddress") => address(cx, local).street.clone(),
        (_, "unit") => match &address(cx, local).unit {
            Some(u) => u.clone(),
            None if nullable => return Value::Null,
            None => String::new(),
        },
        (_, "city") => address(cx, local).city.into(),
        (_, "zip") => address(cx, local).zip.into(),
        (_, "state") => data::STATE.into(),
        (_, "country") => data::COUNTRY.into(),
        (_, "firstname") => person(cx, local).first.clone(),
        (_, "lastname") => person(cx, local).last.clone(),
        (_, "name" | "displayname") => person(cx, local).full(),
        _ if ref_kind(name) == Some("employee") => match draw(cx, "employee") {
            Some((_, who)) => who,
            None if nullable => return Value::Null,
            None => String::new(),
        },
        (_, "currency") => "USD".into(),
        (_, "color") => pick(cx.rng, data::COLORS).to_string(),
        (_, "code") => format!("{}", cx.rng.gen_range(1000..9999)),
        (_, l) if l.ends_with("number") && !nullable => {
            format!("{}", cx.rng.gen_range(10_000..99_999))
        }
        (_, l) if is_money_text(l) => fake::money(cx.rng.gen_range(0..50_000)),
        (_, "summary" | "memo" | "notes" | "specialinstructions") if !nullable => {
            pick(cx.rng, data::NOTES).to_string()
        }
        _ if nullable => return Value::Null,
        _ => String::new(),
    };
    text.into()
}

fn integer(name: &str, lower: &str, nullable: bool, cx: &mut Ctx) -> Value {
    if let Some((id, _)) = ref_kind(name).and_then(|kind| draw(cx, kind)) {
        return id.into();
    }
    match lower {
        "id" => cx.rng.gen_range(1..1000).into(),
        "order" | "position" => cx.rng.gen_range(0..10).into(),
        "duration" => (cx.rng.gen_range(2..=8) * 30).into(),
        _ if nullable => Value::Null,
        // A reference to something the sample does not model: ServiceTitan writes 0 for none.
        l if l.ends_with("id") => 0.into(),
        l if l.contains("count") => cx.rng.gen_range(0..4).into(),
        _ => cx.rng.gen_range(0..10).into(),
    }
}

fn number(lower: &str, nullable: bool, cx: &mut Ctx, local: &mut Local) -> Value {
    match lower {
        "latitude" => address(cx, local).lat.into(),
        "longitude" => address(cx, local).lon.into(),
        l if l.contains("rate") => round2(cx.rng.gen_range(0.0..40.0)).into(),
        l if is_money(l) || l.contains("goal") => round2(cx.rng.gen_range(5.0..800.0)).into(),
        _ if nullable => Value::Null,
        _ => round2(cx.rng.gen_range(0.0..10.0)).into(),
    }
}

fn boolean(lower: &str, cx: &mut Ctx) -> bool {
    let p = if lower == "active"
        || ["enabled", "taxable", "chargeable", "displayin"]
            .iter()
            .any(|w| lower.contains(w))
    {
        0.9
    } else if [
        "donot", "nocharge", "paused", "unused", "locked", "archived", "military", "manual",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        0.03
    } else {
        0.1
    };
    cx.rng.gen_bool(p)
}
