//! Every generated document is valid for every operation that serves its resource.

mod common;

use fieldgate_catalog::Catalog;
use fieldgate_sample::serving_schemas;
use fieldgate_store::format_time;
use serde_json::Value;

use common::{NOW_US, docs, project, sample};

#[test]
fn every_doc_validates_against_every_serving_schema() {
    let catalog = Catalog::get();
    let mut failures = Vec::new();
    let mut checked = 0;
    let datasets = [sample(7, 40), sample(8, 40)];
    for (resource, records) in datasets.iter().flat_map(|d| &d.resources) {
        let schemas = serving_schemas(catalog, resource);
        assert!(!schemas.is_empty(), "{resource} is served by no operation");
        for record in records {
            let doc: Value = serde_json::from_str(&record.doc).unwrap();
            for (module, schema) in &schemas {
                let served = project(catalog, module, schema, &doc);
                let strict = catalog.validate(module, schema, &served, true);
                let lenient = catalog.validate(module, schema, &doc, false);
                for v in strict.iter().chain(&lenient) {
                    failures.push(format!(
                        "{resource} {}: {} {}",
                        record.id, v.path, v.message
                    ));
                }
                checked += 1;
            }
        }
    }
    failures.sort();
    failures.dedup();
    assert!(
        failures.is_empty(),
        "{} violations:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
    assert!(checked > 3_000, "only {checked} checks ran");
}

#[test]
fn tiny_datasets_are_complete_too() {
    for scale in [0, 1, 3] {
        let data = sample(1, scale);
        let customers = data.resources.get("crm/customers").map_or(0, Vec::len);
        assert_eq!(customers, scale);
        assert_eq!(data.resources["settings/business-units"].len(), 5);
        let total: usize = data.resources.values().map(Vec::len).sum();
        assert_eq!(total as i64, data.next_id - common::FIRST_ID);
    }
}

#[test]
fn docs_carry_the_record_fields_and_sane_times() {
    let data = sample(11, 30);
    for (resource, records) in &data.resources {
        for r in records {
            let doc: Value = serde_json::from_str(&r.doc).unwrap();
            assert!(r.created_us <= r.modified_us, "{resource} {}", r.id);
            assert!(r.modified_us <= NOW_US, "{resource} {}", r.id);
            assert!(
                r.created_us >= NOW_US - 800 * 86_400_000_000,
                "{resource} {}",
                r.id
            );
            // The CRM's contacts are addressed by GUID; every other record by its id.
            match doc.get("id") {
                Some(Value::String(guid)) => {
                    assert_eq!(guid, &fieldgate_sample::guid_for(r.id));
                }
                id => assert_eq!(id, Some(&Value::from(r.id)), "{resource}"),
            }
            if let Some(created) = doc.get("createdOn") {
                assert_eq!(
                    created,
                    &Value::from(format_time(r.created_us)),
                    "{resource}"
                );
            }
            if let Some(modified) = doc.get("modifiedOn") {
                assert_eq!(
                    modified,
                    &Value::from(format_time(r.modified_us)),
                    "{resource}"
                );
            }
            if let Some(active) = doc.get("active") {
                assert_eq!(active, &Value::Bool(r.active), "{resource}");
            }
        }
    }
}

#[test]
fn money_is_text_in_accounting_and_numbers_elsewhere() {
    let data = sample(3, 30);
    let all = docs(&data);
    for invoice in all["accounting/invoices"].values() {
        for key in ["total", "subTotal", "salesTax", "balance"] {
            let text = invoice[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key} is text"));
            let (whole, cents) = text.split_once('.').expect("two decimals");
            assert!(whole.parse::<i64>().is_ok() && cents.len() == 2, "{text}");
        }
    }
    for customer in all["crm/customers"].values() {
        assert!(customer["balance"].is_number());
    }
    for service in all["pricebook/services"].values() {
        assert!(service["price"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn the_check_rejects_a_broken_doc() {
    // Guards the test above: a projection or validator that accepted anything would pass it.
    let catalog = Catalog::get();
    let data = sample(7, 5);
    let record = &data.resources["jpm/jobs"][0];
    let mut doc: Value = serde_json::from_str(&record.doc).unwrap();
    doc["customerId"] = Value::from("not an id");
    doc["invented"] = Value::from(1);
    doc.as_object_mut().unwrap().remove("jobNumber");
    for (module, schema) in serving_schemas(catalog, "jpm/jobs") {
        let served = project(catalog, module, schema, &doc);
        let paths: Vec<String> = catalog
            .validate(module, schema, &served, true)
            .into_iter()
            .map(|v| v.path)
            .collect();
        assert_eq!(paths, ["customerId", "jobNumber"]);
        let raw = catalog.validate(module, schema, &doc, true);
        assert!(raw.iter().any(|v| v.path == "invented"));
    }
}
