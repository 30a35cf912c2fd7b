//! List queries: each filter, each sort, paging and totals.

use fieldgate_store::{
    ActiveFilter, FieldFilter, FilterOp, ListQuery, Record, SortKey, Store, StoreError,
};
use serde_json::{Value, json};

use super::{INTEG, PROD, listed, query, record};

const JOBS: &str = "jpm/jobs";

/// Five jobs whose properties vary in type, case, nesting and presence.
fn jobs() -> Vec<Record> {
    let docs = [
        json!({"id": 1, "name": "apple", "total": 10, "price": 2.5, "vip": true,
               "address": {"zip": "10001", "floor": 3},
               "completedOn": "2024-01-05T00:00:00.0000000Z"}),
        json!({"id": 2, "name": "Banana", "total": 2, "price": 0.1, "vip": false,
               "address": {"zip": "20002", "floor": 12},
               "completedOn": "2024-02-05T00:00:00.0000000Z"}),
        json!({"id": 3, "name": "cherry", "total": 30, "price": 7, "vip": true,
               "address": {"zip": "10001", "floor": -1}, "completedOn": null}),
        json!({"id": 4, "name": "APPLE", "total": "5", "vip": false,
               "address": {"zip": "30003"}, "completedOn": "2024-03-05T00:00:00.0000000Z"}),
        json!({"id": 5, "name": "Äpfel", "total": 10.0, "price": 2.5}),
    ];
    docs.into_iter()
        .enumerate()
        .map(|(i, doc)| {
            let id = i as i64 + 1;
            record(id, 100 * id, 1_000 - 100 * id, doc)
        })
        .collect()
}

async fn with_jobs(store: &dyn Store) {
    store.put_records(PROD, JOBS, &jobs()).await.unwrap();
}

fn path(p: &str) -> Vec<String> {
    p.split('.').map(str::to_string).collect()
}

async fn filtered(store: &dyn Store, p: &str, op: FilterOp) -> Vec<i64> {
    let q = ListQuery {
        fields: vec![FieldFilter { path: path(p), op }],
        ..query()
    };
    listed(store, PROD, JOBS, q).await
}

async fn sorted(store: &dyn Store, key: SortKey, desc: bool) -> Vec<i64> {
    let q = ListQuery {
        sort: Some((key, desc)),
        ..query()
    };
    listed(store, PROD, JOBS, q).await
}

pub async fn ids_and_active(store: &dyn Store) {
    let mut records = jobs();
    records[1].active = false;
    records[3].active = false;
    store.put_records(PROD, JOBS, &records).await.unwrap();
    store.put_records(INTEG, JOBS, &records[..1]).await.unwrap();

    let active = |active| ListQuery { active, ..query() };
    assert_eq!(listed(store, PROD, JOBS, query()).await, [1, 3, 5]);
    assert_eq!(
        listed(store, PROD, JOBS, active(ActiveFilter::True)).await,
        [1, 3, 5]
    );
    assert_eq!(
        listed(store, PROD, JOBS, active(ActiveFilter::False)).await,
        [2, 4]
    );
    assert_eq!(
        listed(store, PROD, JOBS, active(ActiveFilter::Any)).await,
        [1, 2, 3, 4, 5]
    );

    let ids = ListQuery {
        ids: Some(vec![5, 2, 3, 99]),
        active: ActiveFilter::Any,
        ..query()
    };
    assert_eq!(listed(store, PROD, JOBS, ids).await, [2, 3, 5]);
    assert_eq!(listed(store, INTEG, JOBS, query()).await, [1]);
    assert!(
        listed(store, PROD, "crm/customers", query())
            .await
            .is_empty()
    );
}

pub async fn time_bounds_and_parent(store: &dyn Store) {
    let mut records = jobs();
    records[0].parent_id = Some(70);
    records[2].parent_id = Some(70);
    records[3].parent_id = Some(71);
    store.put_records(PROD, JOBS, &records).await.unwrap();

    let with = |set: fn(&mut ListQuery)| {
        let mut q = query();
        set(&mut q);
        q
    };
    let list = |q| listed(store, PROD, JOBS, q);
    // created_us is 100 * id, modified_us is 1000 - 100 * id.
    assert_eq!(
        list(with(|q| q.created_before_us = Some(300))).await,
        [1, 2]
    );
    assert_eq!(
        list(with(|q| q.created_on_or_after_us = Some(300))).await,
        [3, 4, 5]
    );
    assert_eq!(
        list(with(|q| q.modified_before_us = Some(700))).await,
        [4, 5]
    );
    assert_eq!(
        list(with(|q| q.modified_on_or_after_us = Some(700))).await,
        [1, 2, 3]
    );
    let both = with(|q| {
        q.created_on_or_after_us = Some(200);
        q.modified_on_or_after_us = Some(700);
    });
    assert_eq!(list(both).await, [2, 3]);
    assert_eq!(list(with(|q| q.parent_id = Some(70))).await, [1, 3]);
    let none = with(|q| {
        q.parent_id = Some(71);
        q.created_before_us = Some(400);
    });
    assert_eq!(list(none).await, Vec::<i64>::new());
}

pub async fn field_filters(store: &dyn Store) {
    with_jobs(store).await;
    let eq = |v: Value| FilterOp::Eq(v);
    // Numbers compare by value, and never equal the string "5".
    assert_eq!(filtered(store, "total", eq(json!(10))).await, [1, 5]);
    assert_eq!(
        filtered(store, "total", eq(json!(5))).await,
        Vec::<i64>::new()
    );
    assert_eq!(filtered(store, "price", eq(json!(0.1))).await, [2]);
    assert_eq!(filtered(store, "vip", eq(json!(true))).await, [1, 3]);
    assert_eq!(filtered(store, "vip", eq(json!(false))).await, [2, 4]);
    assert_eq!(filtered(store, "name", eq(json!("apple"))).await, [1]);
    assert_eq!(
        filtered(store, "address.zip", eq(json!("10001"))).await,
        [1, 3]
    );
    assert_eq!(filtered(store, "address.floor", eq(json!(12))).await, [2]);

    // Case-insensitive for ASCII letters only, and only against strings.
    let text = |s: &str| FilterOp::EqText(s.into());
    assert_eq!(filtered(store, "name", text("APPLE")).await, [1, 4]);
    assert_eq!(
        filtered(store, "name", text("äpfel")).await,
        Vec::<i64>::new()
    );
    assert_eq!(filtered(store, "name", text("Äpfel")).await, [5]);
    assert_eq!(filtered(store, "total", text("5")).await, [4]);
    assert_eq!(filtered(store, "address.zip", text("20002")).await, [2]);

    let within = FilterOp::In(vec![json!(2), json!(30), json!("5")]);
    assert_eq!(filtered(store, "total", within).await, [2, 3, 4]);
    let within = FilterOp::In(vec![json!("30003"), json!("20002")]);
    assert_eq!(filtered(store, "address.zip", within).await, [2, 4]);

    assert_eq!(
        filtered(store, "total", FilterOp::Gte(json!(10))).await,
        [1, 3, 4, 5]
    );
    assert_eq!(filtered(store, "total", FilterOp::Lt(json!(10))).await, [2]);
    assert_eq!(
        filtered(store, "price", FilterOp::Gte(json!(2.5))).await,
        [1, 3, 5]
    );
    assert_eq!(
        filtered(store, "address.floor", FilterOp::Lt(json!(3))).await,
        [3]
    );
    let feb = json!("2024-02-05T00:00:00.0000000Z");
    assert_eq!(
        filtered(store, "completedOn", FilterOp::Gte(feb.clone())).await,
        [2, 4]
    );
    assert_eq!(filtered(store, "completedOn", FilterOp::Lt(feb)).await, [1]);
    // Strings order byte-wise: "B" < "a".
    assert_eq!(
        filtered(store, "name", FilterOp::Lt(json!("a"))).await,
        [2, 4]
    );
    assert_eq!(
        filtered(store, "name", FilterOp::Gte(json!("b"))).await,
        [3, 5]
    );

    // Mixed types compare as in SQLite: booleans are 0 and 1, every number sorts before every
    // text ("5" >= 10 holds), absent and null properties match nothing.
    assert_eq!(filtered(store, "vip", eq(json!(1))).await, [1, 3]);
    assert_eq!(
        filtered(store, "total", FilterOp::Lt(json!("a"))).await,
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        filtered(store, "total", FilterOp::Gte(json!("0"))).await,
        [4]
    );
    assert_eq!(
        filtered(store, "missing", FilterOp::Lt(json!(1))).await,
        Vec::<i64>::new()
    );

    // Several filters all apply.
    let q = ListQuery {
        fields: vec![
            FieldFilter {
                path: path("vip"),
                op: eq(json!(true)),
            },
            FieldFilter {
                path: path("address.zip"),
                op: eq(json!("10001")),
            },
            FieldFilter {
                path: path("total"),
                op: FilterOp::Lt(json!(20)),
            },
        ],
        ..query()
    };
    assert_eq!(listed(store, PROD, JOBS, q).await, [1]);
}

pub async fn sorts(store: &dyn Store) {
    let mut records = jobs();
    // Ties on createdOn and modifiedOn, broken by id in the sort's direction.
    records[3].created_us = records[1].created_us;
    records[4].modified_us = records[3].modified_us;
    store.put_records(PROD, JOBS, &records).await.unwrap();

    assert_eq!(sorted(store, SortKey::Id, false).await, [1, 2, 3, 4, 5]);
    assert_eq!(sorted(store, SortKey::Id, true).await, [5, 4, 3, 2, 1]);
    assert_eq!(
        sorted(store, SortKey::CreatedOn, false).await,
        [1, 2, 4, 3, 5]
    );
    assert_eq!(
        sorted(store, SortKey::CreatedOn, true).await,
        [5, 3, 4, 2, 1]
    );
    assert_eq!(
        sorted(store, SortKey::ModifiedOn, false).await,
        [4, 5, 3, 2, 1]
    );
    assert_eq!(
        sorted(store, SortKey::ModifiedOn, true).await,
        [1, 2, 3, 5, 4]
    );

    let field = |p: &str| SortKey::Field(path(p));
    // Strings byte-wise: uppercase before lowercase, non-ASCII last.
    assert_eq!(sorted(store, field("name"), false).await, [4, 2, 1, 3, 5]);
    assert_eq!(sorted(store, field("name"), true).await, [5, 3, 1, 2, 4]);
    // Absent values first; numbers by value (2 < 10), equal ones by id; text after numbers.
    assert_eq!(sorted(store, field("price"), false).await, [4, 2, 1, 5, 3]);
    assert_eq!(sorted(store, field("total"), false).await, [2, 1, 5, 3, 4]);
    assert_eq!(sorted(store, field("total"), true).await, [4, 3, 5, 1, 2]);
    assert_eq!(sorted(store, field("vip"), false).await, [5, 2, 4, 1, 3]);
    assert_eq!(
        sorted(store, field("address.floor"), false).await,
        [4, 5, 3, 1, 2]
    );
    assert_eq!(
        sorted(store, field("address.floor"), true).await,
        [2, 1, 3, 5, 4]
    );
    // JSON null sorts with absent values.
    assert_eq!(
        sorted(store, field("completedOn"), false).await,
        [3, 5, 1, 2, 4]
    );

    // Sorting and filtering together.
    let q = ListQuery {
        fields: vec![FieldFilter {
            path: path("vip"),
            op: FilterOp::Eq(json!(true)),
        }],
        sort: Some((field("total"), true)),
        ..query()
    };
    assert_eq!(listed(store, PROD, JOBS, q).await, [3, 1]);
}

pub async fn paging_and_totals(store: &dyn Store) {
    let records: Vec<_> = (1..=12)
        .map(|id| {
            let mut r = record(id, id, id, json!({"id": id, "even": id % 2 == 0}));
            r.active = id != 12;
            r
        })
        .collect();
    store.put_records(PROD, JOBS, &records).await.unwrap();

    let page = |offset, limit, include_total| ListQuery {
        offset,
        limit,
        include_total,
        ..ListQuery::default()
    };
    let got = store
        .list_records(PROD, JOBS, &page(0, 5, false))
        .await
        .unwrap();
    assert_eq!(super::ids(&got.records), [1, 2, 3, 4, 5]);
    assert!(got.has_more);
    assert_eq!(got.total, None);

    let got = store
        .list_records(PROD, JOBS, &page(5, 5, true))
        .await
        .unwrap();
    assert_eq!(super::ids(&got.records), [6, 7, 8, 9, 10]);
    assert!(got.has_more);
    assert_eq!(got.total, Some(11));

    // The last page: exactly full, so nothing more.
    let got = store
        .list_records(PROD, JOBS, &page(10, 1, true))
        .await
        .unwrap();
    assert_eq!(super::ids(&got.records), [11]);
    assert!(!got.has_more);
    let got = store
        .list_records(PROD, JOBS, &page(20, 5, true))
        .await
        .unwrap();
    assert!(got.records.is_empty() && !got.has_more);
    assert_eq!(got.total, Some(11));

    // The total counts what the filters let through, not the page.
    let q = ListQuery {
        fields: vec![FieldFilter {
            path: path("even"),
            op: FilterOp::Eq(json!(true)),
        }],
        active: ActiveFilter::Any,
        sort: Some((SortKey::Id, true)),
        ..page(1, 2, true)
    };
    let got = store.list_records(PROD, JOBS, &q).await.unwrap();
    assert_eq!(super::ids(&got.records), [10, 8]);
    assert!(got.has_more);
    assert_eq!(got.total, Some(6));
}

pub async fn bad_property_names_are_invalid(store: &dyn Store) {
    with_jobs(store).await;
    for bad in [
        vec!["na-me".to_string()],
        vec!["address".into(), "".into()],
        path("a')"),
    ] {
        let q = ListQuery {
            fields: vec![FieldFilter {
                path: bad.clone(),
                op: FilterOp::Eq(json!(1)),
            }],
            ..query()
        };
        let got = store.list_records(PROD, JOBS, &q).await;
        assert!(
            matches!(got, Err(StoreError::Invalid(_))),
            "{bad:?}: {got:?}"
        );

        let q = ListQuery {
            sort: Some((SortKey::Field(bad.clone()), false)),
            ..query()
        };
        let got = store.list_records(PROD, JOBS, &q).await;
        assert!(
            matches!(got, Err(StoreError::Invalid(_))),
            "{bad:?}: {got:?}"
        );
    }
}
