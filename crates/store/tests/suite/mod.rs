//! The conformance cases and what they share.

pub mod control;
pub mod export;
pub mod harness;
pub mod lifecycle;
pub mod lists;
pub mod records;
pub mod refresh;

use fieldgate_store::{
    App, Dataset, Environment, ListQuery, Record, Store, StoreError, Tenant, TenantKind,
};
use serde_json::Value;

/// Past 2^31, as real tenant ids are.
pub const TENANT: i64 = 3_000_000_001;
pub const PROD: Dataset = Dataset {
    environment: Environment::Production,
    tenant: TENANT,
};
pub const INTEG: Dataset = Dataset {
    environment: Environment::Integration,
    tenant: TENANT,
};

pub fn record(id: i64, created_us: i64, modified_us: i64, doc: Value) -> Record {
    Record {
        id,
        parent_id: None,
        created_us,
        modified_us,
        active: true,
        doc: doc.to_string(),
    }
}

pub fn ids(records: &[Record]) -> Vec<i64> {
    records.iter().map(|r| r.id).collect()
}

/// Asserts two records are equal field by field (`Record` has no `PartialEq`).
pub fn assert_same(got: &Record, want: &Record) {
    let fields = |r: &Record| {
        (
            r.id,
            r.parent_id,
            r.created_us,
            r.modified_us,
            r.active,
            r.doc.clone(),
        )
    };
    assert_eq!(fields(got), fields(want));
}

/// The ids a list query returns, in order.
pub async fn listed(store: &dyn Store, dataset: Dataset, resource: &str, q: ListQuery) -> Vec<i64> {
    let page = store
        .list_records(dataset, resource, &q)
        .await
        .expect("list records");
    ids(&page.records)
}

pub fn query() -> ListQuery {
    ListQuery {
        limit: 100,
        ..ListQuery::default()
    }
}

/// A developer with one app asking for `scopes`, and the tenant `TENANT`.
pub async fn app_and_tenant(store: &dyn Store, scopes: &[&str]) -> App {
    let dev = store
        .create_developer("Dana", "dana@example.com")
        .await
        .expect("developer");
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let app = store
        .create_app(dev.id, "Dispatch board", &scopes)
        .await
        .expect("app");
    store
        .create_tenant(&Tenant {
            id: TENANT,
            name: "Acme Plumbing".into(),
            kind: TenantKind::Customer,
            created_us: 1_000,
        })
        .await
        .expect("tenant");
    app
}

#[track_caller]
pub fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
}

#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
}
