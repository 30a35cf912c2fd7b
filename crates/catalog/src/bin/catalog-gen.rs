//! Turns the official ServiceTitan v2 OpenAPI documents into fieldgate's committed catalog.
//!
//! Usage: `cargo run -p fieldgate-catalog --bin catalog-gen -- <openapi-dir> <catalog.json>`
//! and `catalog-gen --personal <catalog.json> <personal.json>` for the default list of
//! personal properties (edit the list below, or the generated file, to change it).
//!
//! Run it again when the documents change, and commit the result; the build itself never reads
//! the documents.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use fieldgate_catalog::{Catalog, Module, OpKind, Operation, Param};
use serde_json::{Map, Value};

const REF_PREFIX: &str = "#/components/schemas/";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, catalog, output] = args.as_slice()
        && flag == "--personal"
    {
        return write_personal(catalog, output);
    }
    let [_, input, output] = args.as_slice() else {
        bail!("usage: catalog-gen <openapi-dir> <catalog.json>");
    };

    let mut files: Vec<_> = std::fs::read_dir(input)
        .with_context(|| format!("reading {input}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();

    let mut catalog = Catalog {
        modules: vec![],
        operations: vec![],
        schemas: BTreeMap::new(),
        personal: BTreeMap::new(),
    };
    for file in &files {
        read_document(file, &mut catalog).with_context(|| format!("reading {}", file.display()))?;
    }
    catalog.modules.sort_by(|a, b| a.name.cmp(&b.name));

    let json = serde_json::to_string(&catalog)?;
    std::fs::write(output, json + "\n").with_context(|| format!("writing {output}"))?;
    eprintln!(
        "catalog-gen: {} modules, {} operations -> {output}",
        catalog.modules.len(),
        catalog.operations.len()
    );
    Ok(())
}

fn read_document(file: &Path, catalog: &mut Catalog) -> Result<()> {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(file)?)?;

    // The production server URL names the module's base path: https://api.servicetitan.io/crm/v2.
    let server = doc["servers"][0]["url"].as_str().context("no server url")?;
    let base_path = server
        .trim_start_matches("https://")
        .split_once('/')
        .map(|x| x.1);
    let base_path = format!("/{}", base_path.context("server url has no path")?);
    let name = base_path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let aliases = match name.as_str() {
        "taskmanagement" => vec!["task-management".to_string()],
        _ => vec![],
    };

    let scopes =
        doc["components"]["securitySchemes"]["oauth"]["flows"]["clientCredentials"]["scopes"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
    let title = doc["info"]["title"].as_str().unwrap_or(&name).to_string();

    let schemas: BTreeMap<String, Value> = doc["components"]["schemas"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), shorten_refs(v)))
                .collect()
        })
        .unwrap_or_default();

    let paths = doc["paths"].as_object().context("no paths")?;
    for (path, item) in paths {
        for (method, op) in item.as_object().context("path item is not an object")? {
            let full_path = format!("{base_path}{path}");
            let operation = read_operation(&name, method, &full_path, path, op, &schemas)
                .with_context(|| format!("{method} {path}"))?;
            catalog.operations.push(operation);
        }
    }

    catalog.schemas.insert(name.clone(), schemas);
    catalog.modules.push(Module {
        name,
        title,
        base_path,
        aliases,
        scopes,
    });
    Ok(())
}

fn read_operation(
    module: &str,
    method: &str,
    full_path: &str,
    path: &str,
    op: &Value,
    schemas: &BTreeMap<String, Value>,
) -> Result<Operation> {
    let method = method.to_ascii_uppercase();
    let params = op["parameters"].as_array().cloned().unwrap_or_default();
    let query: Vec<Param> = params
        .iter()
        .filter(|p| p["in"] == "query")
        .map(|p| {
            let schema = &p["schema"];
            Param {
                name: p["name"].as_str().unwrap_or_default().to_string(),
                ty: primary_type(schema).unwrap_or("string").to_string(),
                format: schema["format"].as_str().map(str::to_string),
                required: p["required"].as_bool().unwrap_or(false),
                items: schema["items"]["type"].as_str().map(str::to_string),
                enum_values: schema["enum"].as_array().cloned(),
            }
        })
        .collect();
    let max_page_size = params
        .iter()
        .find(|p| p["in"] == "query" && p["name"] == "pageSize")
        .and_then(|p| p["schema"]["maximum"].as_f64())
        .map(|m| m as u32);

    let scope = op["security"][0]["oauth"][0].as_str().map(str::to_string);
    let request_schema = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .map(|r| r.trim_start_matches(REF_PREFIX).to_string());
    let response = op["responses"]["200"]["content"]["application/json"]["schema"].clone();
    let response_schema = response["$ref"]
        .as_str()
        .map(|r| r.trim_start_matches(REF_PREFIX));

    // The segments after /tenant/{tenant}: statics name the resource, parameters nest it.
    let after_tenant: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .skip_while(|s| *s != "{tenant}")
        .skip(1)
        .collect();
    let statics: Vec<&str> = after_tenant
        .iter()
        .copied()
        .filter(|s| !s.starts_with('{') && *s != "export")
        .collect();
    let mut path_params: Vec<String> = after_tenant
        .iter()
        .filter(|s| s.starts_with('{'))
        .map(|s| s.trim_matches(|c| c == '{' || c == '}').to_string())
        .collect();
    let is_export =
        after_tenant.first() == Some(&"export") || after_tenant.last() == Some(&"export");
    let ends_with_param = after_tenant.last().is_some_and(|s| s.starts_with('{'));

    let item_of = |container: &str| -> Option<String> {
        let schema = schemas.get(container)?;
        schema["properties"]["data"]["items"]["$ref"]
            .as_str()
            .map(|r| r.to_string())
    };
    let paginated = response_schema.filter(|r| {
        schemas.get(*r).is_some_and(|s| {
            let props = &s["properties"];
            props.get("data").is_some()
                && props.get("hasMore").is_some()
                && props.get("page").is_some()
        })
    });
    // An export is known by its envelope, whatever the schema is called.
    let exported = response_schema.filter(|r| {
        schemas.get(*r).is_some_and(|s| {
            let props = &s["properties"];
            props.get("data").is_some() && props.get("continueFrom").is_some()
        })
    });

    let (kind, item_schema) = match method.as_str() {
        "GET" if is_export && exported.is_some() => (OpKind::Export, exported.and_then(item_of)),
        "GET" if paginated.is_some() && !ends_with_param => {
            (OpKind::List, paginated.and_then(item_of))
        }
        "GET" if response["type"] == "array" && !ends_with_param => {
            let item = response["items"]["$ref"]
                .as_str()
                .map(|r| r.trim_start_matches(REF_PREFIX));
            (OpKind::Array, item.map(str::to_string))
        }
        "GET" if ends_with_param && response_schema.is_some_and(|r| is_record(schemas, r)) => {
            (OpKind::Get, None)
        }
        "POST" if !ends_with_param && request_schema.is_some() => (OpKind::Create, None),
        "PATCH" if ends_with_param && request_schema.is_some() => (OpKind::Update, None),
        _ => (OpKind::Other, None),
    };
    let id_param = match kind {
        OpKind::Get | OpKind::Update => path_params.pop(),
        _ => None,
    };

    Ok(Operation {
        module: module.to_string(),
        operation_id: op["operationId"].as_str().unwrap_or_default().to_string(),
        method,
        path: full_path.to_string(),
        kind,
        resource: format!("{module}/{}", statics.join("/")),
        parent_params: path_params,
        id_param,
        scope,
        query,
        request_schema,
        response_schema: response_schema.map(str::to_string),
        item_schema,
        max_page_size,
    })
}

/// Whether a schema describes one record: an object with an `id`.
fn is_record(schemas: &BTreeMap<String, Value>, name: &str) -> bool {
    schemas
        .get(name)
        .is_some_and(|s| s["properties"].get("id").is_some())
}

fn primary_type(schema: &Value) -> Option<&str> {
    match &schema["type"] {
        Value::String(t) => Some(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

/// Rewrites `#/components/schemas/X` references to `X`, keeping everything else.
fn shorten_refs(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let v = match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        Value::String(r.trim_start_matches(REF_PREFIX).into())
                    }
                    _ => shorten_refs(v),
                };
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(shorten_refs).collect()),
        other => other.clone(),
    }
}

/// Property names that hold personal data wherever they appear: people's and companies' names,
/// emails, phone numbers, street lines, and free text (notes, summaries, memos).
const PERSONAL_PROPERTIES: &[&str] = &[
    "name",
    "firstName",
    "lastName",
    "middleName",
    "fullName",
    "customerName",
    "contactName",
    "leadCustomerName",
    "email",
    "emailAddress",
    "leadEmail",
    "phone",
    "phoneNumber",
    "mobileNumber",
    "mobilePhone",
    "leadPhone",
    "street",
    "streetAddress",
    "address1",
    "address2",
    "leadStreet",
    "unit",
    "leadUnit",
    "summary",
    "notes",
    "note",
    "memo",
    "comment",
    "comments",
    "instructions",
    "specialInstructions",
];

/// In contact schemas, `value` is the phone number or email itself.
const CONTACT_VALUE: &str = "value";

/// Modules whose records describe the business's own catalog and setup, not people.
const IMPERSONAL_MODULES: &[&str] = &[
    "pricebook",
    "inventory",
    "equipmentsystems",
    "reporting",
    "marketingads",
    "jbce",
    "forms",
];

fn write_personal(catalog: &str, output: &str) -> Result<()> {
    let catalog: Catalog = serde_json::from_str(&std::fs::read_to_string(catalog)?)?;
    let mut personal: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (module, schemas) in &catalog.schemas {
        if IMPERSONAL_MODULES.contains(&module.as_str()) {
            continue;
        }
        for (name, schema) in schemas {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                continue;
            };
            let fields: Vec<String> = properties
                .iter()
                .filter(|(p, schema)| {
                    let text = match schema.get("type") {
                        Some(Value::String(t)) => t == "string",
                        Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                        _ => false,
                    };
                    PERSONAL_PROPERTIES.contains(&p.as_str())
                        || (p.as_str() == CONTACT_VALUE && name.contains("Contact"))
                        // `technicianName`, `soldByName`: someone's name, denormalised.
                        || (p.ends_with("Name") && text)
                        // `createdBy`, `appliedBy` as text hold a person's name.
                        || (p.ends_with("By") && text)
                })
                .map(|(p, _)| p.clone())
                .collect();
            if !fields.is_empty() {
                personal
                    .entry(module.clone())
                    .or_default()
                    .insert(name.clone(), fields);
            }
        }
    }
    let json = serde_json::to_string_pretty(&personal)?;
    std::fs::write(output, json + "\n").with_context(|| format!("writing {output}"))?;
    let count: usize = personal.values().map(BTreeMap::len).sum();
    eprintln!("catalog-gen: personal properties in {count} schemas -> {output}");
    Ok(())
}
