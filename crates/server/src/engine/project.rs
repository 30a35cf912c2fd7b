//! Shaping a stored document to the schema of the operation serving it.
//!
//! A resource is read through several schemas (list item, get, export item) that name
//! different subsets of its properties. Records are stored as a superset; each response keeps
//! exactly its schema's properties, in the schema's order, with absent ones as `null`.

use fieldgate_catalog::Catalog;
use serde_json::{Map, Value};

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
}
