//! The catalog of the ServiceTitan v2 API: every module, operation, parameter, schema and scope.
//!
//! `catalog.json` is generated from the official OpenAPI documents by the `catalog-gen` tool in
//! this crate and committed, so building fieldgate never reads the documents themselves. The
//! resource engine, the published OpenAPI document, request validation and the sample-data
//! generator all read this one catalog.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod schema;

/// The catalog as generated, embedded in the binary.
const CATALOG_JSON: &str = include_str!("../catalog.json");
/// Which properties of which schemas hold personal data (`catalog-gen --personal`), masked
/// when an integration copy is refreshed with masking.
const PERSONAL_JSON: &str = include_str!("../personal.json");

/// Personal properties by module, then by schema name.
pub type PersonalFields = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// Default and maximum `pageSize` where an operation's document sets no maximum.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 5000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    pub modules: Vec<Module>,
    pub operations: Vec<Operation>,
    /// Component schemas per module, with `$ref`s shortened to the bare schema name.
    pub schemas: BTreeMap<String, BTreeMap<String, Value>>,
    /// Properties holding personal data, per module and schema (from `personal.json`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub personal: PersonalFields,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Module {
    /// The first path segment the real service uses (`crm`, `equipmentsystems`, `sales`).
    pub name: String,
    pub title: String,
    /// Base path of every operation, such as `/crm/v2` (telecom's is `/telecom`).
    pub base_path: String,
    /// Other first path segments that reach the same module (`task-management`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// OAuth scopes the module defines.
    pub scopes: Vec<String>,
}

/// How the resource engine serves an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OpKind {
    /// A paginated list: `{page,pageSize,hasMore,totalCount,data}`.
    List,
    /// A list returned as a bare JSON array.
    Array,
    /// One record by id.
    Get,
    /// An export feed: `{hasMore,continueFrom,data}`.
    Export,
    /// A create (POST to a collection).
    Create,
    /// A partial update (PATCH of one record).
    Update,
    /// Anything else: actions, uploads, reports, singletons.
    Other,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub module: String,
    pub operation_id: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// Full path template, such as `/crm/v2/tenant/{tenant}/customers/{id}`.
    pub path: String,
    pub kind: OpKind,
    /// The records this operation reads or writes, `module/segments` (`crm/customers/contacts`).
    pub resource: String,
    /// Path parameters between the tenant and the record id, outermost first.
    #[serde(default)]
    pub parent_params: Vec<String>,
    /// The path parameter naming the record, for get and update.
    #[serde(default)]
    pub id_param: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub query: Vec<Param>,
    #[serde(default)]
    pub request_schema: Option<String>,
    #[serde(default)]
    pub response_schema: Option<String>,
    /// For lists and exports, the schema of one element of `data`.
    #[serde(default)]
    pub item_schema: Option<String>,
    #[serde(default)]
    pub max_page_size: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Param {
    pub name: String,
    /// JSON type (`string`, `integer`, `number`, `boolean`, `array`).
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// Element type for array parameters.
    #[serde(default)]
    pub items: Option<String>,
    #[serde(default, rename = "enum")]
    pub enum_values: Option<Vec<Value>>,
}

impl Catalog {
    /// The embedded catalog, parsed once.
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            let mut catalog: Catalog =
                serde_json::from_str(CATALOG_JSON).expect("the embedded catalog.json is valid");
            catalog.personal =
                serde_json::from_str(PERSONAL_JSON).expect("the embedded personal.json is valid");
            catalog
        })
    }

    /// The personal properties a schema declares.
    pub fn personal_fields(&self, module: &str, schema: &str) -> &[String] {
        self.personal
            .get(module)
            .and_then(|m| m.get(schema))
            .map_or(&[], Vec::as_slice)
    }

    pub fn module(&self, name: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.name == name)
    }

    /// A component schema of a module, by its bare name.
    pub fn schema(&self, module: &str, name: &str) -> Option<&Value> {
        self.schemas.get(module)?.get(name)
    }

    /// Every scope of every module, sorted.
    pub fn all_scopes(&self) -> Vec<String> {
        let mut scopes: Vec<String> = self
            .modules
            .iter()
            .flat_map(|m| m.scopes.iter().cloned())
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }

    pub fn operation(&self, operation_id: &str, module: &str) -> Option<&Operation> {
        self.operations
            .iter()
            .find(|o| o.operation_id == operation_id && o.module == module)
    }
}

impl Operation {
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.query
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The largest `pageSize` this operation accepts.
    pub fn page_size_limit(&self) -> u32 {
        self.max_page_size.unwrap_or(MAX_PAGE_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_covers_all_modules() {
        let catalog = Catalog::get();
        assert_eq!(catalog.modules.len(), 24);
        assert_eq!(catalog.operations.len(), 559);
        let crm = catalog.module("crm").unwrap();
        assert_eq!(crm.base_path, "/crm/v2");
        assert!(crm.scopes.iter().any(|s| s == "tn.crm.customers:r"));
    }

    #[test]
    fn resources_are_derived_from_paths() {
        let catalog = Catalog::get();
        let find = |m: &str, path: &str| {
            catalog
                .operations
                .iter()
                .find(|o| o.method == "GET" && o.path == format!("{m}{path}"))
                .unwrap_or_else(|| panic!("{path}"))
        };
        let list = find("/crm/v2", "/tenant/{tenant}/customers");
        assert_eq!(
            (list.kind, list.resource.as_str()),
            (OpKind::List, "crm/customers")
        );
        let export = find("/crm/v2", "/tenant/{tenant}/export/customers/contacts");
        assert_eq!(export.kind, OpKind::Export);
        assert_eq!(export.resource, "crm/customers/contacts");
        let nested = find("/crm/v2", "/tenant/{tenant}/customers/{id}/contacts");
        assert_eq!(nested.resource, "crm/customers/contacts");
        assert_eq!(nested.parent_params, vec!["id".to_string()]);
        let sales = find("/sales/v2", "/tenant/{tenant}/estimates/export");
        assert_eq!(
            (sales.kind, sales.resource.as_str()),
            (OpKind::Export, "sales/estimates")
        );
        let get = find("/jpm/v2", "/tenant/{tenant}/jobs/{id}");
        assert_eq!(
            (get.kind, get.id_param.as_deref()),
            (OpKind::Get, Some("id"))
        );
        let limited = find("/settings/v2", "/tenant/{tenant}/employees");
        assert_eq!(limited.page_size_limit(), MAX_PAGE_SIZE);
    }
}
