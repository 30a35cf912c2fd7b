//! The cases of shared/cases/client-quirks.md (C1–C9): what real clients send.

mod common;

use std::collections::HashSet;

use common::{CUSTOMER, SANDBOX, spawn, spawn_with};
use serde_json::Value;

#[tokio::test]
async fn c1_a_bare_token_is_accepted() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "production").await;
    let response = app
        .http
        .get(format!(
            "{}/crm/v2/tenant/{CUSTOMER}/customers",
            app.api_url("production")
        ))
        .header("ST-App-Key", app.app_key())
        .header("Authorization", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn c2_a_new_token_before_every_call_keeps_working() {
    // As fast as the test can go, far past the API's 60 requests/s; C10 covers that limit.
    let app = spawn_with(|c| c.limits.per_second = 100_000).await;
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let token = app.token(CUSTOMER, "integration").await;
        assert!(seen.insert(token.clone()), "every token is new");
        let response = app
            .get(
                "integration",
                &token,
                &format!("/jpm/v2/tenant/{CUSTOMER}/jobs?pageSize=1"),
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    app.stop().await;
}

#[tokio::test]
async fn c3_case_insensitive_booleans_and_an_empty_from() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let base = format!("/jpm/v2/tenant/{CUSTOMER}/export/jobs");
    let quirky = app
        .get_json(
            "integration",
            &token,
            &format!("{base}?includeRecentChanges=False&from="),
        )
        .await;
    let plain = app.get_json("integration", &token, &base).await;
    assert_eq!(quirky, plain);
    assert!(!quirky["data"].as_array().unwrap().is_empty());
    for value in ["true", "TRUE", "True", "false"] {
        let response = app
            .get(
                "integration",
                &token,
                &format!("{base}?includeRecentChanges={value}"),
            )
            .await;
        assert_eq!(response.status(), 200, "{value}");
    }
    let response = app
        .get(
            "integration",
            &token,
            &format!("{base}?includeRecentChanges=maybe"),
        )
        .await;
    assert_eq!(response.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn c4_both_datetime_spellings_parse_and_the_filter_is_inclusive() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let base = format!("/crm/v2/tenant/{CUSTOMER}/customers");
    let all = app
        .get_json(
            "integration",
            &token,
            &format!("{base}?pageSize=5000&sort=%2BModifiedOn"),
        )
        .await;
    let data = all["data"].as_array().unwrap();
    let pivot = &data[data.len() / 2];
    let modified = pivot["modifiedOn"].as_str().unwrap(); // 2025-01-02T03:04:05.1234560Z
    let micros = &modified[20..26];
    let offset_form = format!("{}.{micros}+00:00", &modified[..19]);
    let expected = data
        .iter()
        .filter(|c| c["modifiedOn"].as_str().unwrap() >= modified)
        .count();
    for value in [offset_form.replace('+', "%2B"), modified.to_string()] {
        let page = app
            .get_json(
                "integration",
                &token,
                &format!("{base}?pageSize=5000&modifiedOnOrAfter={value}"),
            )
            .await;
        let got = page["data"].as_array().unwrap();
        assert_eq!(got.len(), expected, "{value}");
        assert!(
            got.iter().any(|c| c["id"] == pivot["id"]),
            "inclusive at {value}"
        );
    }
    // Digits past the microsecond still count: just after the pivot excludes it.
    let later = format!("{}1Z", &modified[..26]);
    let page = app
        .get_json(
            "integration",
            &token,
            &format!("{base}?pageSize=5000&modifiedOnOrAfter={later}"),
        )
        .await;
    assert!(
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != pivot["id"])
    );
    let unencoded = format!("{base}?pageSize=5000&modifiedOnOrAfter={offset_form}");
    let page = app.get_json("integration", &token, &unencoded).await;
    assert_eq!(
        page["data"].as_array().unwrap().len(),
        expected,
        "a + sent unencoded"
    );
    let midnight = app
        .get_json(
            "integration",
            &token,
            &format!("{base}?modifiedOnOrAfter=2024-01-01T00:00:00Z"),
        )
        .await;
    assert_eq!(midnight["page"], 1);
    app.stop().await;
}

#[tokio::test]
async fn c5_page_size_5000_with_inactive_rows() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let path = format!(
        "/jpm/v2/tenant/{CUSTOMER}/appointments?pageSize=5000&active=Any&includeTotal=true"
    );
    let page = app.get_json("integration", &token, &path).await;
    let data = page["data"].as_array().unwrap();
    assert_eq!(page["pageSize"], 5000);
    assert_eq!(data.len() as i64, page["totalCount"].as_i64().unwrap());
    assert_eq!(page["hasMore"], false);
    assert!(
        data.iter().any(|a| a["active"] == false),
        "inactive rows are included"
    );
    let active = app
        .get_json(
            "integration",
            &token,
            &format!("/jpm/v2/tenant/{CUSTOMER}/appointments?pageSize=5000"),
        )
        .await;
    assert!(active["data"].as_array().unwrap().len() < data.len());
    app.stop().await;
}

#[tokio::test]
async fn c6_a_get_with_a_json_body_ignores_the_body() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let response = app
        .http
        .get(format!(
            "{}/crm/v2/tenant/{CUSTOMER}/customers?pageSize=3",
            app.api_url("integration")
        ))
        .header("ST-App-Key", app.app_key())
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn c7_a_walk_that_stops_only_on_an_empty_page() {
    let app = spawn_with(|c| c.export_page_size = 25).await;
    let token = app.token(SANDBOX, "integration").await;
    let base = format!("/jpm/v2/tenant/{SANDBOX}/export/jobs");
    let mut from = String::new();
    let mut ids = HashSet::new();
    let mut pages = 0;
    loop {
        let page = app
            .get_json("integration", &token, &format!("{base}?from={from}"))
            .await;
        let data = page["data"].as_array().unwrap();
        let next = page["continueFrom"].as_str().unwrap().to_string();
        if data.is_empty() {
            assert_eq!(page["hasMore"], false);
            break;
        }
        assert_ne!(
            next, from,
            "a page with records repeated the token it was sent"
        );
        for job in data {
            assert!(ids.insert(job["id"].as_i64().unwrap()));
        }
        from = next;
        pages += 1;
        assert!(pages < 100, "the walk does not end");
    }
    assert!(pages > 1, "the walk spans several pages");
    let all = app
        .get_json(
            "integration",
            &token,
            &format!("/jpm/v2/tenant/{SANDBOX}/jobs?active=Any&includeTotal=true"),
        )
        .await;
    assert_eq!(ids.len() as i64, all["totalCount"].as_i64().unwrap());
    app.stop().await;
}

#[tokio::test]
async fn c8_from_a_date_starts_at_records_modified_on_or_after_it() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let base = format!("/crm/v2/tenant/{CUSTOMER}/export/customers");
    let mut everything = Vec::new();
    let mut from = String::from("2020-01-01");
    loop {
        let page = app
            .get_json("integration", &token, &format!("{base}?from={from}"))
            .await;
        everything.extend(page["data"].as_array().unwrap().iter().cloned());
        from = page["continueFrom"].as_str().unwrap().to_string();
        if page["hasMore"] == false {
            break;
        }
    }
    let all = app
        .get_json(
            "integration",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers?active=Any&includeTotal=true"),
        )
        .await;
    assert_eq!(everything.len() as i64, all["totalCount"].as_i64().unwrap());

    // From a date inside the data: exactly the records modified on or after it, in order.
    let mut times: Vec<&str> = everything
        .iter()
        .map(|c| c["modifiedOn"].as_str().unwrap())
        .collect();
    times.sort();
    let date = &times[times.len() / 2][..10];
    let page = app
        .get_json("integration", &token, &format!("{base}?from={date}"))
        .await;
    let data = page["data"].as_array().unwrap();
    let expected = times.iter().filter(|t| &t[..10] >= date).count();
    assert_eq!(data.len(), expected.min(100));
    assert!(
        data.iter()
            .all(|c| &c["modifiedOn"].as_str().unwrap()[..10] >= date)
    );
    let order: Vec<&str> = data
        .iter()
        .map(|c| c["modifiedOn"].as_str().unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]));
    app.stop().await;
}

#[tokio::test]
async fn c9_both_task_management_spellings_reach_the_same_resource() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let a = app
        .get_json(
            "integration",
            &token,
            &format!("/taskmanagement/v2/tenant/{CUSTOMER}/tasks"),
        )
        .await;
    let b = app
        .get_json(
            "integration",
            &token,
            &format!("/task-management/v2/tenant/{CUSTOMER}/tasks"),
        )
        .await;
    assert_eq!(a, b);
    assert_eq!(a["page"], 1);
    app.stop().await;
}

#[tokio::test]
async fn c10_over_the_limit_answers_429_with_retry_after() {
    let app = spawn_with(|c| c.limits.per_second = 5).await;
    let token = app.token(CUSTOMER, "integration").await;
    let path = format!("/crm/v2/tenant/{CUSTOMER}/customers?pageSize=1");
    let mut statuses = Vec::new();
    let mut refused = None;
    for _ in 0..20 {
        let response = app.get("integration", &token, &path).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 && refused.is_none() {
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            let body: Value = response.json().await.unwrap();
            refused = Some((retry, body));
        }
    }
    let admitted = statuses.iter().filter(|s| **s == 200).count();
    assert!((5..=7).contains(&admitted), "{statuses:?}");
    let (retry, body) = refused.expect("some requests were refused");
    assert!(retry >= 1);
    assert_eq!(body["status"], 429);
    assert!(
        body["title"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{retry} seconds.")),
        "{body}"
    );
    assert_eq!(body["traceId"].as_str().unwrap().len(), 32);

    // Another tenant of the same app has its own budget.
    let sandbox = app.token(SANDBOX, "integration").await;
    let other = app
        .get(
            "integration",
            &sandbox,
            &format!("/crm/v2/tenant/{SANDBOX}/customers"),
        )
        .await;
    assert_eq!(other.status(), 200);
    app.stop().await;
}
