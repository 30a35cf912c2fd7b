//! Shared by the integration tests: a generated dataset parsed into JSON, and the projection the
//! server applies before serving a record through one operation.

#![allow(dead_code)]

use std::collections::BTreeMap;

use fieldgate_catalog::Catalog;
use fieldgate_sample::{SampleData, SampleOptions, generate};
use serde_json::{Map, Value};

/// 2024-06-01T12:00:00Z.
pub const NOW_US: i64 = 1_717_243_200_000_000;
pub const FIRST_ID: i64 = 1_000_000;

pub fn options(seed: u64, scale: usize) -> SampleOptions {
    SampleOptions {
        seed,
        scale,
        now_us: NOW_US,
    }
}

pub fn sample(seed: u64, scale: usize) -> SampleData {
    generate(Catalog::get(), &options(seed, scale), FIRST_ID)
}

/// Each resource's documents, parsed, by record id.
pub fn docs(data: &SampleData) -> BTreeMap<String, BTreeMap<i64, Value>> {
    data.resources
        .iter()
        .map(|(resource, records)| {
            let parsed = records
                .iter()
                .map(|r| (r.id, serde_json::from_str(&r.doc).expect("docs are JSON")))
                .collect();
            (resource.clone(), parsed)
        })
        .collect()
}

/// Keeps the properties the schema names and sets the missing nullable ones to null.
pub fn project(catalog: &Catalog, module: &str, schema: &Value, doc: &Value) -> Value {
    let view = catalog.view(module, schema);
    let source = doc.as_object().expect("docs are objects");
    let mut out = Map::new();
    for (name, prop) in view.properties() {
        match source.get(name) {
            Some(v) => {
                out.insert(name.clone(), v.clone());
            }
            None if catalog.view(module, prop).nullable => {
                out.insert(name.clone(), Value::Null);
            }
            None => {}
        }
    }
    Value::Object(out)
}
