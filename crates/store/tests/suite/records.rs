//! Writing and reading records, counting them, copying datasets and handing out ids.

use std::collections::BTreeSet;

use fieldgate_store::{ActiveFilter, Dataset, Environment, Record, Store};
use serde_json::json;

use super::{INTEG, PROD, assert_same, query, record};

const CUSTOMERS: &str = "crm/customers";
const LOCATIONS: &str = "crm/locations";

pub async fn put_replace_and_get(store: &dyn Store) {
    let mut located = record(2, 20, 21, json!({"id": 2, "name": "Two"}));
    located.parent_id = Some(7);
    let one = record(1, 10, 11, json!({"id": 1, "name": "One"}));
    store
        .put_records(PROD, LOCATIONS, &[one.clone(), located.clone()])
        .await
        .unwrap();

    let got = store.get_record(PROD, LOCATIONS, None, 1).await.unwrap();
    assert_same(&got.expect("record 1"), &one);
    let got = store.get_record(PROD, LOCATIONS, Some(7), 2).await.unwrap();
    assert_same(&got.expect("record 2 under parent 7"), &located);
    let got = store.get_record(PROD, LOCATIONS, None, 2).await.unwrap();
    assert_same(&got.expect("record 2 without a parent given"), &located);
    assert!(
        store
            .get_record(PROD, LOCATIONS, Some(8), 2)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_record(PROD, LOCATIONS, Some(7), 1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_record(PROD, CUSTOMERS, None, 1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_record(INTEG, LOCATIONS, None, 1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_record(PROD, LOCATIONS, None, 3)
            .await
            .unwrap()
            .is_none()
    );

    // Putting an existing id replaces every column; the document text is kept byte for byte.
    let replaced = Record {
        parent_id: Some(9),
        created_us: 12,
        modified_us: 99,
        active: false,
        doc: r#"{"name":"Uno",  "id":1}"#.into(),
        ..one.clone()
    };
    store
        .put_records(PROD, LOCATIONS, std::slice::from_ref(&replaced))
        .await
        .unwrap();
    let got = store.get_record(PROD, LOCATIONS, None, 1).await.unwrap();
    assert_same(&got.expect("replaced record"), &replaced);

    // Within one call the last write of an id wins.
    let first = record(5, 1, 1, json!({"v": "first"}));
    let last = record(5, 1, 2, json!({"v": "last"}));
    store
        .put_records(PROD, LOCATIONS, &[first, last.clone()])
        .await
        .unwrap();
    let got = store.get_record(PROD, LOCATIONS, None, 5).await.unwrap();
    assert_same(&got.expect("record 5"), &last);
}

pub async fn put_many_records_in_one_call(store: &dyn Store) {
    // More rows than one statement of either backend takes.
    let records: Vec<_> = (1..=4_500)
        .map(|id| record(id, id, id, json!({"id": id})))
        .collect();
    store.put_records(PROD, CUSTOMERS, &records).await.unwrap();
    let counts = store.count_records(PROD).await.unwrap();
    assert_eq!(counts, [(CUSTOMERS.to_string(), 4_500)]);
    let got = store
        .get_record(PROD, CUSTOMERS, None, 4_321)
        .await
        .unwrap();
    assert_same(&got.expect("record 4321"), &records[4_320]);
}

pub async fn record_sets_and_counts(store: &dyn Store) {
    let customer = record(10, 1, 1, json!({"id": 10}));
    let mut location = record(11, 1, 1, json!({"id": 11, "customerId": 10}));
    location.parent_id = Some(10);
    store
        .put_record_set(
            PROD,
            &[
                (CUSTOMERS.to_string(), customer.clone()),
                (LOCATIONS.to_string(), location.clone()),
                (LOCATIONS.to_string(), record(12, 1, 1, json!({"id": 12}))),
            ],
        )
        .await
        .unwrap();
    store
        .put_records(INTEG, CUSTOMERS, &[record(1, 1, 1, json!({}))])
        .await
        .unwrap();

    let got = store.get_record(PROD, CUSTOMERS, None, 10).await.unwrap();
    assert_same(&got.expect("customer"), &customer);
    let got = store
        .get_record(PROD, LOCATIONS, Some(10), 11)
        .await
        .unwrap();
    assert_same(&got.expect("location"), &location);

    let counts = store.count_records(PROD).await.unwrap();
    assert_eq!(
        counts,
        [(CUSTOMERS.to_string(), 1), (LOCATIONS.to_string(), 2)]
    );
    let counts = store.count_records(INTEG).await.unwrap();
    assert_eq!(counts, [(CUSTOMERS.to_string(), 1)]);
    let empty = Dataset::new(Environment::Production, 5);
    assert!(store.count_records(empty).await.unwrap().is_empty());
}

async fn everything(store: &dyn Store, dataset: Dataset, resource: &str) -> Vec<Record> {
    let q = fieldgate_store::ListQuery {
        active: ActiveFilter::Any,
        limit: 1_000,
        ..query()
    };
    store
        .list_records(dataset, resource, &q)
        .await
        .unwrap()
        .records
}

pub async fn copy_dataset_replaces_the_target(store: &dyn Store) {
    let mut inactive = record(3, 30, 31, json!({"id": 3, "name": "Gone"}));
    inactive.active = false;
    inactive.parent_id = Some(1);
    let source = vec![record(1, 10, 11, json!({"id": 1, "name": "Ann"})), inactive];
    store.put_records(PROD, CUSTOMERS, &source).await.unwrap();
    store
        .put_records(PROD, LOCATIONS, &[record(8, 1, 2, json!({"id": 8}))])
        .await
        .unwrap();
    let next_in_source = store.allocate_ids(PROD, 5).await.unwrap();

    // The target's earlier contents, including a resource the source lacks, disappear.
    store
        .put_records(INTEG, CUSTOMERS, &[record(1, 1, 1, json!({"stale": true}))])
        .await
        .unwrap();
    store
        .put_records(INTEG, "jpm/jobs", &[record(50, 1, 1, json!({}))])
        .await
        .unwrap();

    let copied = store.copy_dataset(PROD, INTEG).await.unwrap();
    assert_eq!(copied, 3);
    let got = everything(store, INTEG, CUSTOMERS).await;
    assert_eq!(got.len(), source.len());
    for (got, want) in got.iter().zip(&source) {
        assert_same(got, want);
    }
    assert_same(
        &everything(store, INTEG, LOCATIONS).await[0],
        &record(8, 1, 2, json!({"id": 8})),
    );
    assert!(everything(store, INTEG, "jpm/jobs").await.is_empty());
    assert_eq!(
        store.count_records(INTEG).await.unwrap(),
        store.count_records(PROD).await.unwrap()
    );
    assert_eq!(everything(store, PROD, CUSTOMERS).await.len(), 2);

    // New ids in the copy never collide with ids the source handed out.
    let next_in_copy = store.allocate_ids(INTEG, 1).await.unwrap();
    assert_eq!(next_in_copy, next_in_source + 5);
}

pub async fn copy_dataset_keeps_a_target_sequence_that_is_ahead(store: &dyn Store) {
    store.allocate_ids(PROD, 1).await.unwrap();
    let ahead = store.allocate_ids(INTEG, 1_000).await.unwrap();
    store.copy_dataset(PROD, INTEG).await.unwrap();
    assert_eq!(store.allocate_ids(INTEG, 1).await.unwrap(), ahead + 1_000);

    // Copying from a dataset that never allocated leaves the target's sequence alone.
    let fresh = Dataset::new(Environment::Production, 77);
    assert_eq!(store.copy_dataset(fresh, INTEG).await.unwrap(), 0);
    assert_eq!(store.allocate_ids(INTEG, 1).await.unwrap(), ahead + 1_001);
}

pub async fn allocate_ids_consecutively(store: &dyn Store) {
    let first = store.allocate_ids(PROD, 10).await.unwrap();
    assert_eq!(first, 1 << 31);
    assert_eq!(store.allocate_ids(PROD, 1).await.unwrap(), first + 10);
    assert_eq!(store.allocate_ids(PROD, 3).await.unwrap(), first + 11);
    // Each dataset counts on its own.
    assert_eq!(store.allocate_ids(INTEG, 2).await.unwrap(), 1 << 31);
    assert_eq!(store.allocate_ids(PROD, 1).await.unwrap(), first + 14);
}

pub async fn allocate_ids_concurrently(store: &dyn Store) {
    let caller = |n: i64| async move {
        let mut firsts = Vec::new();
        for _ in 0..5 {
            firsts.push(store.allocate_ids(PROD, n).await.unwrap());
        }
        (n, firsts)
    };
    let runs = futures_util::future::join_all((1..=8).map(caller)).await;

    let mut handed_out = BTreeSet::new();
    for (n, firsts) in runs {
        for first in firsts {
            for id in first..first + n {
                assert!(handed_out.insert(id), "id {id} handed out twice");
            }
        }
    }
    // 5 calls each of 1..=8 ids: every id from the start, none skipped.
    let expected: BTreeSet<i64> = ((1 << 31)..(1 << 31) + 5 * 36).collect();
    assert_eq!(handed_out, expected);
}
