//! Export walks: ordered by (modifiedOn, id), resumed after a position or from a time.

use fieldgate_store::{ExportFrom, ExportQuery, Record, Store};
use serde_json::json;

use super::{PROD, ids, record};

const INVOICES: &str = "accounting/invoices";

async fn export(store: &dyn Store, from: ExportFrom, limit: u32) -> Vec<Record> {
    store
        .export_records(PROD, INVOICES, &ExportQuery { from, limit })
        .await
        .unwrap()
}

pub async fn export_from_start_after_and_since(store: &dyn Store) {
    // (id, modified_us): ties at 200 and 300, ids out of modification order, one inactive.
    let rows = [(5, 300), (1, 200), (9, 100), (3, 200), (7, 300), (2, 400)];
    let mut records: Vec<_> = rows
        .iter()
        .map(|&(id, at)| record(id, 1, at, json!({"id": id})))
        .collect();
    records[4].active = false;
    store.put_records(PROD, INVOICES, &records).await.unwrap();
    store
        .put_records(PROD, "accounting/payments", &[record(4, 1, 150, json!({}))])
        .await
        .unwrap();

    let all = export(store, ExportFrom::Start, 100).await;
    assert_eq!(ids(&all), [9, 1, 3, 5, 7, 2]);
    assert!(!all[4].active, "inactive records are exported too");
    assert_eq!(ids(&export(store, ExportFrom::Start, 2).await), [9, 1]);

    let after = |modified_us, id| ExportFrom::After { modified_us, id };
    assert_eq!(ids(&export(store, after(200, 1), 100).await), [3, 5, 7, 2]);
    assert_eq!(ids(&export(store, after(200, 3), 2).await), [5, 7]);
    assert_eq!(ids(&export(store, after(300, 5), 100).await), [7, 2]);
    // A position between stored rows resumes at the next one.
    assert_eq!(ids(&export(store, after(250, 0), 100).await), [5, 7, 2]);
    assert!(export(store, after(400, 2), 100).await.is_empty());

    let since = |modified_us| ExportFrom::Since { modified_us };
    assert_eq!(ids(&export(store, since(200), 100).await), [1, 3, 5, 7, 2]);
    assert_eq!(ids(&export(store, since(201), 100).await), [5, 7, 2]);
    assert!(export(store, since(401), 100).await.is_empty());
}

pub async fn export_walk_returns_every_record_once(store: &dyn Store) {
    // Many ties on modified_us, ids inserted in a scrambled order.
    let records: Vec<_> = (0..500_i64)
        .map(|i| {
            let id = (i * 7_919) % 500 + 1;
            let mut r = record(id, 1, 1_000 + (id * 31) % 23, json!({"id": id}));
            r.active = id % 5 != 0;
            r
        })
        .collect();
    store.put_records(PROD, INVOICES, &records).await.unwrap();

    let mut walked = Vec::new();
    let mut from = ExportFrom::Start;
    loop {
        let page = export(store, from, 37).await;
        let Some(last) = page.last() else { break };
        from = ExportFrom::After {
            modified_us: last.modified_us,
            id: last.id,
        };
        walked.extend(page.iter().map(|r| (r.modified_us, r.id)));
    }

    let mut expected: Vec<_> = records.iter().map(|r| (r.modified_us, r.id)).collect();
    expected.sort();
    assert_eq!(walked.len(), 500);
    assert_eq!(walked, expected);
}
