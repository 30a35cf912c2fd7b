//! Dataset generations (staged copies published in one switch) and refresh jobs.

use std::sync::Arc;

use fieldgate_store::{
    ExportFrom, ExportQuery, IntegrationSettings, JobRefusal, JobStatus, NewRefreshJob, RefreshJob,
    RefreshSource, Store, StoreError,
};
use serde_json::json;

use super::{INTEG, PROD, TENANT, app_and_tenant, listed, query, record};

const CUSTOMERS: &str = "crm/customers";

fn nothing() -> fieldgate_store::Progress {
    Arc::new(|_, _| {})
}

fn export(from: ExportFrom) -> ExportQuery {
    ExportQuery { from, limit: 100 }
}

pub async fn a_staged_copy_is_invisible_until_published(store: &dyn Store) {
    let prod: Vec<_> = (1..=5)
        .map(|i| record(i, 10, 10 + i, json!({"id": i, "name": "production"})))
        .collect();
    store.put_records(PROD, CUSTOMERS, &prod).await.unwrap();
    let old = [record(90, 1, 1, json!({"id": 90, "name": "integration"}))];
    store.put_records(INTEG, CUSTOMERS, &old).await.unwrap();
    let made_in_integration = store.allocate_ids(INTEG, 1000).await.unwrap();
    let before = store.dataset_generation(INTEG).await.unwrap();
    let (_, page) = store
        .export_page(INTEG, CUSTOMERS, &export(ExportFrom::Start), None)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);

    let (staged, rows) = store
        .stage_dataset(INTEG, Some(PROD), nothing())
        .await
        .unwrap();
    assert_eq!(rows, 5);
    assert_eq!(staged.target, INTEG);
    assert_eq!(listed(store, INTEG, CUSTOMERS, query()).await, vec![90]);

    let changed = store
        .transform_staged(
            &staged,
            Arc::new(|resource, doc| {
                (resource == CUSTOMERS).then(|| doc.replace("production", "masked"))
            }),
            nothing(),
        )
        .await
        .unwrap();
    assert_eq!(changed, 5);
    // Production is untouched by the rewrite of its copy.
    let one = store.get_record(PROD, CUSTOMERS, None, 1).await.unwrap();
    assert!(one.unwrap().doc.contains("production"));
    assert_eq!(listed(store, INTEG, CUSTOMERS, query()).await, vec![90]);

    let replaced = store.publish_staged(&staged, 0).await.unwrap();
    assert_eq!(replaced, before);
    let after = store.dataset_generation(INTEG).await.unwrap();
    assert_eq!(after, staged.generation);
    assert!(after > before);
    assert_eq!(
        listed(store, INTEG, CUSTOMERS, query()).await,
        vec![1, 2, 3, 4, 5]
    );
    let got = store.get_record(INTEG, CUSTOMERS, None, 3).await.unwrap();
    assert_eq!(
        got.unwrap().doc,
        json!({"id": 3, "name": "masked"}).to_string()
    );

    // A walk begun on the old copy is told so rather than continued in the new one.
    let stale = store
        .export_page(INTEG, CUSTOMERS, &export(ExportFrom::Start), Some(before))
        .await;
    assert!(
        matches!(stale, Err(StoreError::Replaced { expected, current, .. })
            if expected == before && current == after),
        "{stale:?}"
    );
    let (generation, page) = store
        .export_page(INTEG, CUSTOMERS, &export(ExportFrom::Start), Some(after))
        .await
        .unwrap();
    assert_eq!((generation, page.len()), (after, 5));

    // New ids never collide with copied ones, nor with ids integration handed out before.
    let next = store.allocate_ids(INTEG, 1).await.unwrap();
    assert!(next >= made_in_integration + 1000, "{next}");
}

pub async fn a_discarded_stage_leaves_the_served_copy(store: &dyn Store) {
    app_and_tenant(store, &[]).await;
    store
        .put_records(INTEG, CUSTOMERS, &[record(7, 1, 1, json!({"id": 7}))])
        .await
        .unwrap();
    let served = store.dataset_generation(INTEG).await.unwrap();
    let (staged, _) = store.stage_dataset(INTEG, None, nothing()).await.unwrap();
    store
        .staged_put(&staged, CUSTOMERS, &[record(8, 1, 1, json!({"id": 8}))])
        .await
        .unwrap();
    store.discard_staged(&staged).await.unwrap();
    assert_eq!(store.dataset_generation(INTEG).await.unwrap(), served);
    assert_eq!(listed(store, INTEG, CUSTOMERS, query()).await, vec![7]);

    // A stage left behind by a runner that died is swept; the served copy stays.
    let (left, _) = store.stage_dataset(INTEG, None, nothing()).await.unwrap();
    store
        .staged_put(&left, CUSTOMERS, &[record(9, 1, 1, json!({"id": 9}))])
        .await
        .unwrap();
    assert_eq!(store.sweep_generations(&[TENANT], 0).await.unwrap(), 0);
    // Written a moment ago, as a seed in another process would be.
    assert_eq!(store.sweep_generations(&[], 60_000_000).await.unwrap(), 0);
    assert!(store.sweep_generations(&[], -1).await.unwrap() >= 1);
    assert_eq!(listed(store, INTEG, CUSTOMERS, query()).await, vec![7]);

    // An empty stage filled with records and published replaces the dataset.
    let (fresh, _) = store.stage_dataset(INTEG, None, nothing()).await.unwrap();
    store
        .staged_put(&fresh, CUSTOMERS, &[record(11, 1, 1, json!({"id": 11}))])
        .await
        .unwrap();
    store.publish_staged(&fresh, 5_000_000_000).await.unwrap();
    assert_eq!(listed(store, INTEG, CUSTOMERS, query()).await, vec![11]);
    assert!(store.allocate_ids(INTEG, 1).await.unwrap() >= 5_000_000_000);
}

fn job(forced: bool) -> NewRefreshJob {
    NewRefreshJob {
        tenant_id: TENANT,
        source: RefreshSource::Production,
        masked: true,
        forced,
        requested_by: "operator".into(),
    }
}

pub async fn one_refresh_job_per_tenant_and_a_minimum_interval(store: &dyn Store) {
    app_and_tenant(store, &[]).await;
    let hour = 3_600_000_000;
    let first = store.create_refresh_job(&job(false), hour).await.unwrap();
    let first = first.expect("nothing blocks the first job");
    assert_eq!((first.status, first.masked), (JobStatus::Queued, true));
    let again = store.create_refresh_job(&job(true), hour).await.unwrap();
    assert!(matches!(again, Err(JobRefusal::Busy(_))), "{again:?}");

    let claimed = store.claim_refresh_job("node-a:1").await.unwrap().unwrap();
    assert_eq!(claimed.id, first.id);
    assert_eq!(claimed.status, JobStatus::Running);
    assert!(store.claim_refresh_job("node-b:2").await.unwrap().is_none());
    store
        .refresh_job_progress(first.id, "copying", 10, 40)
        .await
        .unwrap();
    let seen = store.refresh_job(first.id).await.unwrap().unwrap();
    assert_eq!(
        (seen.phase.as_str(), seen.rows_done, seen.rows_total),
        ("copying", 10, 40)
    );
    assert_eq!(seen.runner.as_deref(), Some("node-a:1"));
    store.finish_refresh_job(first.id, Ok(4)).await.unwrap();
    let done = store.refresh_job(first.id).await.unwrap().unwrap();
    assert_eq!((done.status, done.generation), (JobStatus::Done, Some(4)));

    let soon = store.create_refresh_job(&job(false), hour).await.unwrap();
    assert!(matches!(soon, Err(JobRefusal::TooSoon { .. })), "{soon:?}");
    let forced = store.create_refresh_job(&job(true), hour).await.unwrap();
    let forced = forced.expect("an operator overrides the interval");
    assert!(store.claim_refresh_job("node-b:2").await.unwrap().is_some());

    // A runner that stops beating is failed; its failure is retryable by a new request.
    let stale = store.fail_stale_refresh_jobs(i64::MAX).await.unwrap();
    assert_eq!(stale.len(), 1);
    let failed = store.refresh_job(forced.id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.error.unwrap().contains("requested again"));
    let ids = |jobs: Vec<RefreshJob>| jobs.iter().map(|j| j.id).collect::<Vec<_>>();
    let listed = store.refresh_jobs(Some(TENANT), None, 10).await.unwrap();
    assert_eq!(ids(listed), vec![forced.id, first.id]);
    let done = store.refresh_jobs(Some(TENANT), Some(JobStatus::Done), 10);
    assert_eq!(ids(done.await.unwrap()), vec![first.id]);
    let failed = store.refresh_jobs(None, Some(JobStatus::Failed), 10);
    assert_eq!(ids(failed.await.unwrap()), vec![forced.id]);
    let newest = store.refresh_jobs(Some(TENANT), None, 1).await.unwrap();
    assert_eq!(ids(newest), vec![forced.id]);
    let other = store
        .refresh_jobs(Some(TENANT + 1), None, 10)
        .await
        .unwrap();
    assert!(other.is_empty(), "{other:?}");
    let queued = store.create_refresh_job(&job(false), 0).await.unwrap();
    let queued = queued.expect("the interval of 0 lets it through").id;
    let running = store.refresh_jobs(None, Some(JobStatus::Running), 10);
    assert!(running.await.unwrap().is_empty());
    let waiting = store.refresh_jobs(None, Some(JobStatus::Queued), 10);
    assert_eq!(ids(waiting.await.unwrap()), vec![queued]);
}

pub async fn integration_settings_round_trip(store: &dyn Store) {
    app_and_tenant(store, &[]).await;
    assert!(store.integration_settings(TENANT).await.unwrap().is_none());
    let settings = IntegrationSettings {
        tenant_id: TENANT,
        source: RefreshSource::Sample,
        masked: true,
        min_interval_secs: Some(60),
        updated_us: 5,
    };
    store.put_integration_settings(&settings).await.unwrap();
    let changed = IntegrationSettings {
        source: RefreshSource::Production,
        min_interval_secs: None,
        ..settings.clone()
    };
    store.put_integration_settings(&changed).await.unwrap();
    assert_eq!(
        store.integration_settings(TENANT).await.unwrap(),
        Some(changed.clone())
    );
    let unknown = IntegrationSettings {
        tenant_id: 1,
        ..changed
    };
    assert!(store.put_integration_settings(&unknown).await.is_err());
}
