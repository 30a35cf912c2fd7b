//! The resource engine: every catalog operation, routed by method and path, served from the
//! store or answered 501 when fieldgate does not implement it.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use fieldgate_catalog::{Catalog, OpKind, Operation};

use fieldgate_store::{ActiveFilter, Dataset, FieldFilter, FilterOp, ListQuery, Record};

use crate::error::ApiError;
use crate::state::AppState;

mod cursor;
pub mod project;
pub mod query;
mod read;
mod related;
mod write;

pub use project::project;
pub use read::{export, get, list};
pub use write::{create, update};

/// Resources whose creates and updates fieldgate implements; other writes answer 501.
pub const WRITABLE: &[&str] = &[
    "crm/customers",
    "crm/locations",
    "crm/contacts",
    "jpm/jobs",
    "jpm/appointments",
];

/// Every catalog path, registered under positional parameter names so paths that name the
/// same segment differently (`{id}`, `{customerId}`) share one route.
pub struct Routes {
    router: matchit::Router<BTreeMap<String, usize>>,
}

/// An operation matched to a request: its catalog entry and path parameters in order.
pub struct Matched<'a> {
    pub op: &'a Operation,
    pub tenant: i64,
    pub params: Vec<(String, String)>,
}

impl Routes {
    pub fn new(catalog: &Catalog) -> Self {
        let mut by_path: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for (index, op) in catalog.operations.iter().enumerate() {
            let module = catalog
                .module(&op.module)
                .expect("operations name known modules");
            let mut prefixes = vec![module.base_path.clone()];
            for alias in &module.aliases {
                prefixes.push(module.base_path.replacen(&module.name, alias, 1));
            }
            let rest = &op.path[module.base_path.len()..];
            for prefix in prefixes {
                let route = positional(&format!("{prefix}{rest}"));
                by_path
                    .entry(route)
                    .or_default()
                    .insert(op.method.clone(), index);
            }
        }
        let mut router = matchit::Router::new();
        for (path, methods) in by_path {
            router
                .insert(path.clone(), methods)
                .unwrap_or_else(|e| panic!("route {path}: {e}"));
        }
        Self { router }
    }

    /// Finds the operation for a request, or the API error a client should see.
    pub fn find<'a>(
        &self,
        catalog: &'a Catalog,
        method: &Method,
        path: &str,
    ) -> Result<Matched<'a>, ApiError> {
        // Routing ignores case, as the real service's does, and sees through percent-encoding.
        let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
        let decoded = decoded.to_ascii_lowercase();
        let path = decoded
            .strip_suffix('/')
            .filter(|p| !p.is_empty())
            .unwrap_or(&decoded);
        let found = self
            .router
            .at(path)
            .map_err(|_| ApiError::not_found(format!("No API operation matches {path}.")))?;
        let Some(&index) = found.value.get(method.as_str()) else {
            let allowed: Vec<&str> = found.value.keys().map(String::as_str).collect();
            let mut error = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{method} is not allowed on {path}; use {}.",
                    allowed.join(", ")
                ),
            );
            error.allow = Some(allowed.join(", "));
            return Err(error);
        };
        let op = &catalog.operations[index];
        let names = param_names(&op.path);
        let values: Vec<String> = (0..names.len())
            .map(|i| {
                found
                    .params
                    .get(format!("p{i}"))
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        let params: Vec<(String, String)> = names.into_iter().zip(values).collect();
        let tenant_text = params
            .iter()
            .find(|(n, _)| n == "tenant")
            .map(|(_, v)| v.as_str());
        let tenant = tenant_text
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or_else(|| {
                ApiError::field("tenant", "The tenant in the path must be an int64 id.")
            })?;
        Ok(Matched { op, tenant, params })
    }
}

/// Whether fieldgate serves an operation, rather than answering 501.
pub fn served(op: &Operation) -> bool {
    match op.kind {
        // Nested several levels deep, one parent id alone does not identify the records.
        OpKind::List | OpKind::Array | OpKind::Get | OpKind::Export => op.parent_params.len() <= 1,
        OpKind::Create | OpKind::Update => WRITABLE.contains(&op.resource.as_str()),
        OpKind::Other => false,
    }
}

impl Matched<'_> {
    /// A path parameter parsed as an int64 id.
    pub fn id_param(&self, name: &str) -> Result<i64, ApiError> {
        let value = self
            .params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        value.and_then(|v| v.parse::<i64>().ok()).ok_or_else(|| {
            ApiError::field(
                name,
                format!("`{}` is not an int64 id.", value.unwrap_or("")),
            )
        })
    }

    /// The innermost parent id, for nested resources such as `customers/{id}/contacts`.
    pub fn parent_id(&self) -> Result<Option<i64>, ApiError> {
        self.op
            .parent_params
            .last()
            .map(|p| self.id_param(p))
            .transpose()
    }

    fn raw_param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The record a get or update names. Most ids are int64; a few resources (CRM contacts)
    /// use GUIDs, which are found through the document's own `id`.
    pub async fn find_record(
        &self,
        state: &AppState,
        dataset: Dataset,
    ) -> Result<Record, ApiError> {
        let name = self.op.id_param.as_deref().unwrap_or("id");
        let raw = self.raw_param(name);
        let resource = self.op.resource.as_str();
        let parent = self.parent_id()?;
        let found = match raw.parse::<i64>() {
            Ok(id) => {
                state
                    .store
                    .get_record(dataset, resource, parent, id)
                    .await?
            }
            Err(_) if is_guid(raw) => {
                let query = ListQuery {
                    parent_id: parent,
                    active: ActiveFilter::Any,
                    fields: vec![FieldFilter {
                        path: vec!["id".into()],
                        op: FilterOp::EqText(raw.to_string()),
                    }],
                    limit: 1,
                    ..ListQuery::default()
                };
                let page = state.store.list_records(dataset, resource, &query).await?;
                page.records.into_iter().next()
            }
            Err(_) => {
                return Err(ApiError::field(name, format!("`{raw}` is not an id.")));
            }
        };
        found.ok_or_else(|| ApiError::not_found(format!("No record with id {raw} in {resource}.")))
    }

    pub fn not_implemented(&self) -> ApiError {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!(
                "fieldgate does not implement {} ({} {}).",
                self.op.operation_id, self.op.method, self.op.path
            ),
        )
    }
}

fn is_guid(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

fn param_names(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| s.starts_with('{'))
        .map(|s| s.trim_matches(|c| c == '{' || c == '}').to_string())
        .collect()
}

fn positional(path: &str) -> String {
    let mut i = 0;
    path.split('/')
        .map(|s| {
            if s.starts_with('{') {
                i += 1;
                format!("{{p{}}}", i - 1)
            } else {
                s.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Total and served operations per module, for `fieldgate catalog`.
pub fn coverage(catalog: &Catalog) -> Vec<(String, usize, usize)> {
    catalog
        .modules
        .iter()
        .map(|m| {
            let ops = catalog.operations.iter().filter(|o| o.module == m.name);
            let (total, served) = ops.fold((0, 0), |(t, s), op| (t + 1, s + served(op) as usize));
            (m.name.clone(), total, served)
        })
        .collect()
}
