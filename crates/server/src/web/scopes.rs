//! The scope picker: the catalog's scopes grouped by module, one row per resource with its read
//! and write scope side by side.

use std::collections::{BTreeMap, HashSet};

use fieldgate_catalog::Catalog;

/// One module's box in the picker.
pub struct ScopeModule {
    pub name: String,
    pub rows: Vec<ScopeRow>,
}

/// One resource: `tn.crm.customers:r` and `tn.crm.customers:w` share the row `customers`.
pub struct ScopeRow {
    pub resource: String,
    pub read: Option<String>,
    pub write: Option<String>,
    pub read_checked: bool,
    pub write_checked: bool,
}

/// The picker for every catalog scope (`offered` = `None`) or only those offered, with
/// `checked` ticked. Modules keep the catalog's order; resources are sorted.
pub fn grid(
    catalog: &Catalog,
    offered: Option<&[String]>,
    checked: &HashSet<String>,
) -> Vec<ScopeModule> {
    let offered: Option<HashSet<&str>> = offered.map(|o| o.iter().map(String::as_str).collect());
    let mut modules = Vec::new();
    for module in &catalog.modules {
        let mut rows: BTreeMap<String, ScopeRow> = BTreeMap::new();
        for scope in &module.scopes {
            if offered
                .as_ref()
                .is_some_and(|o| !o.contains(scope.as_str()))
            {
                continue;
            }
            let (resource, access) = split(scope);
            let row = rows
                .entry(resource.to_string())
                .or_insert_with(|| ScopeRow {
                    resource: resource.to_string(),
                    read: None,
                    write: None,
                    read_checked: false,
                    write_checked: false,
                });
            let ticked = checked.contains(scope);
            if access == "w" {
                row.write = Some(scope.clone());
                row.write_checked = ticked;
            } else {
                row.read = Some(scope.clone());
                row.read_checked = ticked;
            }
        }
        if !rows.is_empty() {
            modules.push(ScopeModule {
                name: module.name.clone(),
                rows: rows.into_values().collect(),
            });
        }
    }
    modules
}

/// `tn.crm.customers:r` → (`customers`, `r`).
fn split(scope: &str) -> (&str, &str) {
    let (name, access) = scope.rsplit_once(':').unwrap_or((scope, "r"));
    let resource = name.rsplit('.').next().unwrap_or(name);
    (resource, access)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_read_and_write_by_resource() {
        let catalog = Catalog::get();
        let all = grid(catalog, None, &HashSet::new());
        let total: usize = all
            .iter()
            .flat_map(|m| &m.rows)
            .map(|r| r.read.is_some() as usize + r.write.is_some() as usize)
            .sum();
        assert_eq!(total, catalog.all_scopes().len());

        let offered = vec![
            "tn.crm.customers:r".to_string(),
            "tn.crm.customers:w".into(),
        ];
        let checked: HashSet<String> = ["tn.crm.customers:w".to_string()].into();
        let some = grid(catalog, Some(&offered), &checked);
        assert_eq!(some.len(), 1);
        assert_eq!(some[0].name, "crm");
        let row = &some[0].rows[0];
        assert_eq!(row.resource, "customers");
        assert_eq!(row.read.as_deref(), Some("tn.crm.customers:r"));
        assert!(!row.read_checked && row.write_checked);
    }
}
