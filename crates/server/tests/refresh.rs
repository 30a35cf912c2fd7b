//! Refreshes of integration copies end to end: the admin router, the runner, the switch seen by
//! a reader looping over HTTP, old export tokens, new ids, and masking checked against the
//! bytes of the integration store.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::Request;
use common::{CUSTOMER, TestApp, assert_api_error, spawn_with};
use fieldgate_server::control::Actor;
use fieldgate_server::refresh::mask::Masker;
use fieldgate_server::refresh::seed::seed_scaled;
use fieldgate_store::{Dataset, Environment, ExportFrom, ExportQuery, JobStatus, Store};
use reqwest::Method;
use serde_json::{Value, json};
use tower::ServiceExt;

const PROD: Dataset = Dataset {
    environment: Environment::Production,
    tenant: CUSTOMER,
};
const INTEG: Dataset = Dataset {
    environment: Environment::Integration,
    tenant: CUSTOMER,
};

/// A server whose runner is off, so the test decides when a job runs.
async fn app() -> TestApp {
    spawn_with(|c| {
        c.refresh.run_jobs = false;
        c.export_page_size = 20;
        c.limits.per_second = 1_000_000;
    })
    .await
}

/// Calls the refresh router in-process as `actor`.
async fn admin(app: &TestApp, actor: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let router =
        fieldgate_server::refresh::api::router(app.state.clone()).layer(axum::Extension(Actor {
            name: actor.into(),
            address: Some("127.0.0.1".into()),
        }));
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn run_queued(app: &TestApp) -> fieldgate_store::RefreshJob {
    let job = app.state.refresh.run_one().await.unwrap();
    job.expect("a queued job ran")
}

#[tokio::test]
async fn refresh_through_the_admin_router_replaces_integration_changes() {
    let app = app().await;
    let token = app.token(CUSTOMER, "integration").await;
    let base = format!("/crm/v2/tenant/{CUSTOMER}");

    // A walk begun before the refresh, and a customer made only in integration.
    let page = app
        .get_json(
            "integration",
            &token,
            &format!("/jpm/v2/tenant/{CUSTOMER}/export/jobs"),
        )
        .await;
    assert_eq!(page["hasMore"], true);
    let old_token = page["continueFrom"].as_str().unwrap().to_string();
    let made = app
        .send(
            reqwest::Method::POST,
            "integration",
            &token,
            &format!("{base}/customers"),
            &json!({"name": "Only In Integration", "type": "Residential",
                    "address": {"street": "1 Test Way", "city": "Dallas", "state": "TX",
                                "zip": "75001", "country": "USA"},
                    "locations": [{"name": "Home", "address": {"street": "1 Test Way",
                        "city": "Dallas", "state": "TX", "zip": "75001", "country": "USA"}}]}),
        )
        .await;
    assert_eq!(made.status(), 200, "{:?}", made.text().await);
    let made: Value = app
        .get_json(
            "integration",
            &token,
            &format!("{base}/customers?sort=-Id&pageSize=1"),
        )
        .await;
    let made_id = made["data"][0]["id"].as_i64().unwrap();

    // The console's settings view says what a refresh replaces.
    let (status, settings) = admin(
        &app,
        "operator",
        "GET",
        &format!("/tenants/{CUSTOMER}/integration"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["source"], "production");
    assert!(
        settings["confirmation"]
            .as_str()
            .unwrap()
            .contains("will be lost")
    );

    let (status, job) = admin(
        &app,
        "admin:7@3141592653",
        "POST",
        &format!("/tenants/{CUSTOMER}/refresh"),
        json!({}),
    )
    .await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(
        (job["status"].as_str(), job["masked"].as_bool()),
        (Some("queued"), Some(false))
    );
    let id = job["id"].as_i64().unwrap();
    // One job per tenant: a second request while it is queued is refused.
    let (status, busy) = admin(
        &app,
        "operator",
        "POST",
        &format!("/tenants/{CUSTOMER}/refresh"),
        json!({"force": true}),
    )
    .await;
    assert_eq!(status, 409, "{busy}");
    assert_api_error(&busy, 409);
    // Another tenant's admin may not even look.
    let (status, _) = admin(
        &app,
        "admin:8@99",
        "GET",
        &format!("/refresh/jobs/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 403);

    let ran = run_queued(&app).await;
    assert_eq!(ran.id, id);
    let (status, view) = admin(
        &app,
        "operator",
        "GET",
        &format!("/refresh/jobs/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "done", "{view}");
    assert_eq!(view["percent"], 100.0);
    let copied: i64 = app
        .state
        .store
        .count_records(PROD)
        .await
        .unwrap()
        .iter()
        .map(|c| c.1)
        .sum();
    assert_eq!(view["rowsTotal"].as_i64(), Some(copied));

    // Integration is production again: the customer made there is gone, the rest identical.
    let gone = app
        .get(
            "integration",
            &token,
            &format!("{base}/customers/{made_id}"),
        )
        .await;
    assert_eq!(gone.status(), 404);
    for resource in ["crm/customers", "jpm/jobs", "accounting/invoices"] {
        let store = app.state.store.as_ref();
        assert_eq!(
            all(store, PROD, resource).await,
            all(store, INTEG, resource).await,
            "{resource}"
        );
    }

    // The old continuation token answers 409 and says to restart.
    let stale = app
        .get(
            "integration",
            &token,
            &format!("/jpm/v2/tenant/{CUSTOMER}/export/jobs?from={old_token}"),
        )
        .await;
    assert_eq!(stale.status(), 409);
    let body: Value = stale.json().await.unwrap();
    assert_api_error(&body, 409);
    assert!(
        body["title"].as_str().unwrap().contains("Restart"),
        "{body}"
    );

    // New ids never collide with copied ones.
    let copied_ids: HashSet<i64> = app
        .state
        .store
        .export_records(
            INTEG,
            "crm/customers",
            &ExportQuery {
                from: ExportFrom::Start,
                limit: 100_000,
            },
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let next = app.state.store.allocate_ids(INTEG, 1).await.unwrap();
    assert!(!copied_ids.contains(&next) && copied_ids.iter().all(|i| *i < next));
    assert!(next > made_id);

    // Too soon for another; a tenant admin cannot force it, an operator can.
    let (status, soon) = admin(
        &app,
        "admin:7@3141592653",
        "POST",
        &format!("/tenants/{CUSTOMER}/refresh"),
        json!({}),
    )
    .await;
    assert_eq!(status, 429, "{soon}");
    assert!(soon["title"].as_str().unwrap().contains("seconds."));
    let (status, _) = admin(
        &app,
        "admin:7@3141592653",
        "POST",
        &format!("/tenants/{CUSTOMER}/refresh"),
        json!({"force": true}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, forced) = admin(
        &app,
        "operator",
        "POST",
        &format!("/tenants/{CUSTOMER}/refresh"),
        json!({"force": true, "source": "sample"}),
    )
    .await;
    assert_eq!(status, 202, "{forced}");
    let reset = run_queued(&app).await;
    assert_eq!(reset.status, JobStatus::Done, "{:?}", reset.error);
    let sample: i64 = app
        .state
        .store
        .count_records(INTEG)
        .await
        .unwrap()
        .iter()
        .map(|c| c.1)
        .sum();
    assert!(sample > 0 && sample != copied);

    // Every request and outcome is in the audit log.
    let actions: Vec<String> = app
        .state
        .store
        .audit_events(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "refresh.requested",
        "refresh.refused",
        "refresh.started",
        "refresh.done",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    app.stop().await;
}

async fn all(store: &dyn Store, d: Dataset, resource: &str) -> Vec<(i64, bool, String)> {
    let q = ExportQuery {
        from: ExportFrom::Start,
        limit: 1_000_000,
    };
    let rows = store.export_records(d, resource, &q).await.unwrap();
    rows.into_iter().map(|r| (r.id, r.active, r.doc)).collect()
}

/// Customer ids, and how many locations carry their customer's name.
async fn names(store: &dyn Store, d: Dataset) -> (Vec<i64>, usize) {
    let name_of = |doc: &str| serde_json::from_str::<Value>(doc).unwrap()["name"].clone();
    let customers = all(store, d, "crm/customers").await;
    let by_id: std::collections::HashMap<i64, Value> =
        customers.iter().map(|c| (c.0, name_of(&c.2))).collect();
    let same = all(store, d, "crm/locations")
        .await
        .iter()
        .filter(|l| {
            let doc: Value = serde_json::from_str(&l.2).unwrap();
            by_id.get(&doc["customerId"].as_i64().unwrap()) == Some(&doc["name"])
        })
        .count();
    (customers.iter().map(|c| c.0).collect(), same)
}

/// A signature of what a list shows: the total and the ids and names of the page.
async fn signature(app: &TestApp, token: &str) -> (i64, u64) {
    let page = app
        .get_json(
            "integration",
            token,
            &format!(
                "/crm/v2/tenant/{CUSTOMER}/customers?pageSize=5000&includeTotal=true&active=Any"
            ),
        )
        .await;
    let mut hash = 0u64;
    for c in page["data"].as_array().unwrap() {
        let text = format!("{}{}", c["id"], c["name"]);
        hash = hash
            .wrapping_mul(31)
            .wrapping_add(text.bytes().map(u64::from).sum::<u64>());
    }
    (page["totalCount"].as_i64().unwrap(), hash)
}

#[tokio::test]
async fn a_reader_looping_during_a_refresh_never_sees_a_mix() {
    let app = app().await;
    // Integration holds other data than production, so the two copies can be told apart.
    seed_scaled(app.state.store.as_ref(), INTEG, 99, 150, |_, _, _| {})
        .await
        .unwrap();
    let token = app.token(CUSTOMER, "integration").await;
    let old = signature(&app, &token).await;

    let app = Arc::new(app);
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (app, token, stop) = (app.clone(), token.clone(), stop.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                seen.push(signature(&app, &token).await);
            }
            seen
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, _) = admin(
        &app,
        "operator",
        "POST",
        &format!("/tenants/{CUSTOMER}/refresh"),
        json!({}),
    )
    .await;
    assert_eq!(status, 202);
    let job = run_queued(&app).await;
    assert_eq!(job.status, JobStatus::Done);
    let new = signature(&app, &token).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let seen = reader.await.unwrap();

    assert_ne!(old, new);
    let mixed: Vec<_> = seen.iter().filter(|s| **s != old && **s != new).collect();
    assert!(
        mixed.is_empty(),
        "{} of {} reads saw a mix: {mixed:?}",
        mixed.len(),
        seen.len()
    );
    assert!(
        seen.contains(&old) && seen.contains(&new),
        "the reader saw both copies"
    );
    assert_eq!(seen.last(), Some(&new));
}

/// Every string under a personal property of `doc`, and every other string.
fn strings<S: std::hash::BuildHasher>(
    value: &Value,
    fields: &HashSet<String, S>,
    personal: bool,
    out: &mut (Vec<String>, HashSet<String>),
) {
    match value {
        Value::String(s) if personal => out.0.push(s.clone()),
        Value::String(s) => {
            out.1.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| strings(v, fields, personal, out)),
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| strings(v, fields, fields.contains(k), out)),
        _ => {}
    }
}

#[tokio::test]
async fn masking_leaves_no_original_personal_value_in_the_integration_store() {
    let app = app().await;
    let store = app.state.store.as_ref();
    // Personal values a client wrote through the API, nested where creates take them: they
    // are kept in the shape of the create's answer, not only of the read schemas.
    let token = app.token(CUSTOMER, "production").await;
    let address = json!({"street": "77 Quillfeather Row", "city": "Dallas", "state": "TX",
                         "zip": "75001", "country": "USA"});
    let written = [
        "Zebulon Quillfeather",
        "77 Quillfeather Row",
        "217-555-0199",
        "call Zebulon after five",
        "Yggdrasil Warehouse",
        "ygg@fjordmail.test",
        "Yggdrasil gatekeeper",
        "608-555-0142",
        "Xanthippe at the gate",
    ];
    let customer = json!({"name": written[0], "type": "Residential", "address": address,
        "contacts": [{"type": "MobilePhone", "value": written[2], "memo": written[3]}],
        "locations": [{"name": written[4], "address": address,
            "contacts": [{"type": "Email", "value": written[5], "memo": written[6]}]}]});
    let path = format!("/crm/v2/tenant/{CUSTOMER}/customers");
    let made = app
        .send(Method::POST, "production", &token, &path, &customer)
        .await;
    assert_eq!(made.status(), 200);
    let made: Value = made.json().await.unwrap();
    let location = json!({"customerId": made["id"], "name": written[4], "address": address,
        "contacts": [{"type": "Phone", "value": written[7], "memo": written[8]}]});
    let path = format!("/crm/v2/tenant/{CUSTOMER}/locations");
    let made = app
        .send(Method::POST, "production", &token, &path, &location)
        .await;
    assert_eq!(made.status(), 200);
    let (status, _) = admin(
        &app,
        "operator",
        "PATCH",
        &format!("/tenants/{CUSTOMER}/integration"),
        json!({"masked": true}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, job) = admin(
        &app,
        "operator",
        "POST",
        &format!("/tenants/{CUSTOMER}/refresh"),
        json!({}),
    )
    .await;
    assert_eq!((status, job["masked"].as_bool()), (202, Some(true)));
    let done = run_queued(&app).await;
    assert_eq!(done.status, JobStatus::Done, "{:?}", done.error);

    // The personal values of production's people and their jobs (customers, locations,
    // contacts, leads, bookings, employees, technicians, job summaries), less those that are
    // also ordinary values (a memo "Primary" that is also a type name) and short ones.
    let people = |r: &str| {
        r.starts_with("crm/")
            || ["settings/employees", "settings/technicians", "jpm/jobs"].contains(&r)
    };
    let masker = Masker::new(app.state.catalog, b"only the field lists are used");
    let mut found = (Vec::new(), HashSet::new());
    let q = ExportQuery {
        from: ExportFrom::Start,
        limit: 1_000_000,
    };
    for (resource, _) in store.count_records(PROD).await.unwrap() {
        let mut fields = masker.fields(&resource).cloned().unwrap_or_default();
        if !people(&resource) {
            fields.clear();
        }
        for r in store.export_records(PROD, &resource, &q).await.unwrap() {
            strings(
                &serde_json::from_str(&r.doc).unwrap(),
                &fields,
                false,
                &mut found,
            );
        }
    }
    let (personal, ordinary) = found;
    let originals: HashSet<&String> = personal
        .iter()
        .filter(|v| {
            v.chars().filter(|c| c.is_alphanumeric()).count() >= 5 && !ordinary.contains(*v)
        })
        .collect();
    assert!(originals.len() > 200, "{} originals", originals.len());
    assert!(
        originals.iter().any(|v| v.contains('@')),
        "emails are among them"
    );

    // Nothing of them in any byte of the integration dataset's files.
    let generation = store.dataset_generation(INTEG).await.unwrap();
    let dir = app.state.config.data_dir.join("datasets");
    // The replaced copy is removed a moment after the switch, once other processes can have
    // seen it.
    let served = format!("integration-{CUSTOMER}-g{generation}.db");
    for _ in 0..100 {
        let left = std::fs::read_dir(&dir).unwrap().any(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.starts_with(&format!("integration-{CUSTOMER}-")) && !name.starts_with(&served)
        });
        if !left {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(&format!("integration-{CUSTOMER}-")) {
            assert!(
                name.starts_with(&format!("integration-{CUSTOMER}-g{generation}.db")),
                "{name} left behind"
            );
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(bytes.len() > 100_000);
    let mut patterns: Vec<&str> = originals.iter().map(|s| s.as_str()).collect();
    patterns.extend(written);
    let finder = aho_corasick::AhoCorasick::new(&patterns).unwrap();
    let leaks: Vec<&str> = finder
        .find_iter(&bytes)
        .take(10)
        .map(|m| patterns[m.pattern()])
        .collect();
    if !leaks.is_empty() {
        for (resource, _) in store.count_records(INTEG).await.unwrap() {
            for r in store.export_records(INTEG, &resource, &q).await.unwrap() {
                if let Some(at) = r.doc.find(leaks[0]) {
                    let from = at.saturating_sub(120);
                    eprintln!(
                        "{resource}: ...{}...",
                        &r.doc[from..(at + 40).min(r.doc.len())]
                    );
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "original values in the integration store: {leaks:?}"
    );

    // Same ids; a customer's first location still carries its (masked) name.
    let (prod_ids, prod_same) = names(store, PROD).await;
    let (integ_ids, integ_same) = names(store, INTEG).await;
    assert_eq!(prod_ids, integ_ids);
    assert!(prod_same > 0);
    assert_eq!(prod_same, integ_same, "joins on masked names still hold");
    app.stop().await;
}

/// Queues a refresh as the operator and returns the job's id.
async fn queued(app: &TestApp, body: Value) -> i64 {
    let path = format!("/tenants/{CUSTOMER}/refresh");
    let (status, job) = admin(app, "operator", "POST", &path, body).await;
    assert_eq!(status, 202, "{job}");
    job["id"].as_i64().unwrap()
}

async fn view(app: &TestApp, id: i64) -> Value {
    let (status, view) = admin(
        app,
        "operator",
        "GET",
        &format!("/refresh/jobs/{id}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    view
}

#[tokio::test]
async fn a_failed_job_is_retried_while_it_is_the_newest_and_an_operator_may_force_it() {
    let app = app().await;
    let store = app.state.store.as_ref();
    // A refresh that finishes starts the minimum interval (the configured hour).
    let done = queued(&app, json!({})).await;
    run_queued(&app).await;
    // A forced, masked one fails part way.
    let failed = queued(&app, json!({"force": true, "masked": true})).await;
    let claimed = store.claim_refresh_job("test").await.unwrap().unwrap();
    assert_eq!(claimed.id, failed);
    store
        .finish_refresh_job(failed, Err("the disk filled".into()))
        .await
        .unwrap();
    assert_eq!(view(&app, failed).await["retryable"], true);

    let retry = format!("/refresh/jobs/{failed}/retry");
    // The interval counts from the refresh that finished: a plain retry waits for it, a
    // tenant admin may not force it, an operator may.
    let (status, body) = admin(&app, "operator", "POST", &retry, json!({})).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body["title"].as_str().unwrap().ends_with(" seconds."),
        "{body}"
    );
    let tenant_admin = format!("admin:7@{CUSTOMER}");
    let (status, body) = admin(&app, &tenant_admin, "POST", &retry, json!({"force": true})).await;
    assert_eq!(status, 403, "{body}");
    let (status, retried) = admin(&app, "operator", "POST", &retry, json!({"force": true})).await;
    assert_eq!(status, 202, "{retried}");
    assert_eq!(retried["masked"], true);
    let again = retried["id"].as_i64().unwrap();

    // The retry supersedes the failed job: it is no longer offered, nor taken, again.
    assert_eq!(view(&app, failed).await["retryable"], false);
    let (status, body) = admin(&app, "operator", "POST", &retry, json!({"force": true})).await;
    assert_eq!(status, 409, "{body}");
    assert_api_error(&body, 409);
    assert!(
        body["title"]
            .as_str()
            .unwrap()
            .contains(&format!("followed by job {again}")),
        "{body}"
    );
    // A job that did not fail is not retried either.
    let (status, body) = admin(
        &app,
        "operator",
        "POST",
        &format!("/refresh/jobs/{done}/retry"),
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "{body}");

    // The audit log ties the retry to the job it repeats, and records the refusals.
    let events = store
        .audit_query(&fieldgate_store::AuditFilter {
            tenant_id: Some(CUSTOMER),
            app_id: None,
            since_us: None,
            until_us: None,
            limit: 100,
        })
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == "refresh.requested" && e.detail["retryOf"] == failed)
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == "refresh.refused" && e.actor == tenant_admin)
    );
    // Every refused retry too (too soon, superseded, not failed), each naming its job.
    let mut refused_retries: Vec<i64> = events
        .iter()
        .filter(|e| e.action == "refresh.refused" && e.actor == "operator")
        .filter_map(|e| e.detail["retryOf"].as_i64())
        .collect();
    refused_retries.sort();
    assert_eq!(refused_retries, [done, failed, failed]);
}

#[tokio::test]
async fn refresh_routes_name_the_bad_value_and_intervals_stop_at_a_year() {
    let app = app().await;
    for (path, field, why) in [
        ("/tenants/abc/integration", "tenant", "is not a number"),
        (
            "/tenants/99999999999999999999/refresh",
            "tenant",
            "out of range",
        ),
        ("/refresh/jobs/abc", "job", "is not a number"),
        ("/refresh/jobs?limit=abc", "limit", "from 1 to 500"),
        ("/refresh/jobs?limit=0", "limit", "from 1 to 500"),
    ] {
        let (status, body) = admin(&app, "operator", "GET", path, Value::Null).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_api_error(&body, 400);
        let said = body["errors"][field][0].as_str().unwrap_or_default();
        assert!(said.contains(why), "{path}: {body}");
    }
    let settings = format!("/tenants/{CUSTOMER}/integration");
    let (status, body) = admin(
        &app,
        "operator",
        "PATCH",
        &settings,
        json!({"minIntervalSecs": -5}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["errors"]["minIntervalSecs"].is_array(), "{body}");
    // Past a year an interval is no pace of refreshes; the refusal says where the limit is.
    let (status, body) = admin(
        &app,
        "operator",
        "PATCH",
        &settings,
        json!({"minIntervalSecs": i64::MAX}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let said = body["errors"]["minIntervalSecs"][0].as_str().unwrap();
    assert!(said.contains("from 0 to 31536000 seconds"), "{body}");
    // A body that is not an object is told so, not in serde's words for a Rust type.
    let (status, body) = admin(&app, "operator", "PATCH", &settings, json!([])).await;
    assert_eq!(status, 400, "{body}");
    let said = body["errors"]["body"][0].as_str().unwrap();
    assert!(said.contains("must be a JSON object"), "{body}");
    assert!(!said.contains("struct"), "{body}");
    let (status, body) = admin(
        &app,
        "admin:7@3141592653",
        "PATCH",
        &settings,
        json!({"minIntervalSecs": 5}),
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // Settings read as they are written, with the time in the API's form.
    let (status, body) = admin(
        &app,
        "operator",
        "PATCH",
        &settings,
        json!({"minIntervalSecs": 31_536_000}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["effectiveMinIntervalSecs"], 31_536_000);
    assert!(body["updatedOn"].as_str().unwrap().ends_with('Z'), "{body}");
    assert_eq!(body["holds"], Value::Null);
    // Asking for what already holds changes nothing, and writes no audit event.
    let events = async || {
        app.state
            .store
            .audit_events(None, 1000)
            .await
            .unwrap()
            .len()
    };
    let before = events().await;
    for same in [json!({}), json!({"minIntervalSecs": 31_536_000})] {
        let (status, again) = admin(&app, "operator", "PATCH", &settings, same).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["updatedOn"], body["updatedOn"]);
    }
    assert_eq!(events().await, before);

    // A year's interval holds the next refresh back, and the refusal says who may force it.
    queued(&app, json!({})).await;
    let finished = run_queued(&app).await;
    let path = format!("/tenants/{CUSTOMER}/refresh");
    let (status, body) = admin(&app, "operator", "POST", &path, json!({})).await;
    assert_eq!(status, 429, "{body}");
    let title = body["title"].as_str().unwrap();
    assert!(
        title.contains("an operator can force a refresh sooner."),
        "{body}"
    );
    let (_, body) = admin(&app, "operator", "GET", &settings, Value::Null).await;
    assert_eq!(body["holds"]["jobId"], finished.id, "{body}");
}
