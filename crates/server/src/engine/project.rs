//! Shaping a stored document to the schema of the operation serving it.
//!
//! A resource is read through several schemas (list item, get, export item) that name
//! different subsets of its properties. Records are stored as a superset; each response keeps
//! exactly its schema's properties, in the schema's order, with absent ones as `null`.
//!
//! Schemas are compiled once into a [`Plan`], and documents are projected from their stored
//! JSON text to response text without building a tree of values: lists and exports move
//! thousands of records a second through here.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use fieldgate_catalog::Catalog;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use smallvec::SmallVec;

/// What to keep of a JSON value.
#[derive(Debug, PartialEq)]
pub enum Plan {
    /// The value as it is.
    Pass,
    /// An object with exactly these properties, in this order.
    Object(Vec<(String, Plan)>),
    /// An array whose items each follow the plan.
    Array(Box<Plan>),
}

/// Schemas nest deeper than this only through recursion; past it, values pass as they are.
const MAX_DEPTH: usize = 8;

impl Plan {
    pub fn compile(catalog: &Catalog, module: &str, schema: &Value) -> Plan {
        Self::compile_at(catalog, module, schema, 0)
    }

    fn compile_at(catalog: &Catalog, module: &str, schema: &Value, depth: usize) -> Plan {
        if depth > MAX_DEPTH {
            return Plan::Pass;
        }
        let view = catalog.view(module, schema);
        match view.ty() {
            Some("object") if view.schema.get("properties").is_some() => Plan::Object(
                view.properties()
                    .map(|(name, prop)| {
                        (
                            name.clone(),
                            Self::compile_at(catalog, module, prop, depth + 1),
                        )
                    })
                    .collect(),
            ),
            Some("array") => match view
                .items()
                .map(|i| Self::compile_at(catalog, module, i, depth + 1))
            {
                Some(Plan::Pass) | None => Plan::Pass,
                Some(item) => Plan::Array(Box::new(item)),
            },
            _ => Plan::Pass,
        }
    }

    /// Appends the projection of `raw` (one JSON value) to `out`.
    pub fn write(&self, raw: &str, out: &mut String) -> Result<(), serde_json::Error> {
        let starts = raw.trim_start().as_bytes().first().copied();
        match (self, starts) {
            (Plan::Object(props), Some(b'{')) => {
                let fields = serde_json::from_str::<Fields<'_>>(raw)?.0;
                out.push('{');
                let mut cursor = 0;
                for (i, (name, plan)) in props.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(name);
                    out.push_str("\":");
                    // Stored documents mostly keep the schema's order, so look from the last hit.
                    let found = (cursor..fields.len())
                        .chain(0..cursor)
                        .find(|&j| fields[j].0 == name.as_str());
                    match found {
                        Some(j) => {
                            cursor = j + 1;
                            plan.write(fields[j].1.get(), out)?;
                        }
                        None => out.push_str("null"),
                    }
                }
                out.push('}');
            }
            (Plan::Array(item), Some(b'[')) => {
                let items: Vec<&RawValue> = serde_json::from_str(raw)?;
                out.push('[');
                for (i, value) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(value.get(), out)?;
                }
                out.push(']');
            }
            _ => out.push_str(raw.trim()),
        }
        Ok(())
    }
}

/// The top-level members of a JSON object, borrowed from its text.
/// Inline up to 48 members: records rarely have more, and this runs once per record.
struct Fields<'a>(SmallVec<[(&'a str, &'a RawValue); 48]>);

impl<'de> serde::Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut fields = SmallVec::new();
                while let Some(entry) = map.next_entry::<&'de str, &'de RawValue>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// Compiled plans by (module, schema name), shared by every request.
#[derive(Default)]
pub struct Plans {
    compiled: RwLock<HashMap<(String, String), Arc<Plan>>>,
}

impl Plans {
    pub fn get(&self, catalog: &Catalog, module: &str, schema: &str) -> Arc<Plan> {
        let key = (module.to_string(), schema.to_string());
        if let Some(plan) = self.compiled.read().expect("plans lock").get(&key) {
            return plan.clone();
        }
        let plan = Arc::new(Plan::compile(
            catalog,
            module,
            &serde_json::json!({ "$ref": schema }),
        ));
        self.compiled
            .write()
            .expect("plans lock")
            .insert(key, plan.clone());
        plan
    }
}

/// Projects a parsed document; for the few places that already hold a `Value`.
pub fn project(catalog: &Catalog, module: &str, schema: &Value, doc: &Value) -> Value {
    let view = catalog.view(module, schema);
    match doc {
        Value::Object(fields) if view.schema.get("properties").is_some() => {
            let mut out = Map::new();
            for (name, prop) in view.properties() {
                let value = match fields.get(name) {
                    Some(v) => project(catalog, module, prop, v),
                    None => Value::Null,
                };
                out.insert(name.clone(), value);
            }
            Value::Object(out)
        }
        Value::Array(items) => match view.items() {
            Some(item) => Value::Array(
                items
                    .iter()
                    .map(|v| project(catalog, module, item, v))
                    .collect(),
            ),
            None => doc.clone(),
        },
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_schema_properties_in_order_and_nulls_absent_ones() {
        let catalog = Catalog::get();
        let schema = json!({"$ref": "Crm.V2.ExportCustomerResponse"});
        let doc = json!({"id": 7, "name": "Ada", "internalOnly": 1, "address": {"street": "1 Main", "x": 2}});
        let out = project(catalog, "crm", &schema, &doc);
        let names: Vec<&String> = out.as_object().unwrap().keys().collect();
        let view = catalog
            .named("crm", "Crm.V2.ExportCustomerResponse")
            .unwrap();
        let expected: Vec<&String> = view.properties().map(|(n, _)| n).collect();
        assert_eq!(names, expected);
        assert_eq!(out["id"], 7);
        assert!(out.get("internalOnly").is_none());
        assert_eq!(out["address"]["street"], "1 Main");
        assert!(out["address"].get("x").is_none());
    }

    #[test]
    fn text_projection_matches_value_projection() {
        let catalog = Catalog::get();
        let plans = Plans::default();
        for (schema, doc) in [
            (
                "Crm.V2.Customers.CustomerResponse",
                json!({"zzz": [1], "name": "Ada \"Countess\"", "id": 7, "address": {"street": "1 Main", "x": 2},
                       "customFields": [{"typeId": 1, "name": "n", "value": "v", "extra": true}], "tagTypeIds": null}),
            ),
            (
                "Crm.V2.ExportCustomerResponse",
                json!({"id": 1, "active": false, "address": null}),
            ),
        ] {
            let plan = plans.get(catalog, "crm", schema);
            let mut text = String::new();
            plan.write(&doc.to_string(), &mut text).unwrap();
            let expected = project(catalog, "crm", &json!({ "$ref": schema }), &doc);
            assert_eq!(text, expected.to_string(), "{schema}");
        }
    }
}
