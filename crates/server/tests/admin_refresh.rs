//! The admin API's refresh routes over HTTP: behind the operator token, run by the serving
//! process's runner, refused too soon unless forced, and audited.

mod common;

use std::time::{Duration, Instant};

use common::{CUSTOMER, OPERATOR_TOKEN, SANDBOX, TestApp, assert_api_error, spawn};
use reqwest::Method;
use serde_json::{Value, json};

async fn json_of(response: reqwest::Response, status: u16) -> (reqwest::header::HeaderMap, Value) {
    let got = response.status().as_u16();
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    (headers, body)
}

async fn request(app: &TestApp, tenant: i64, body: Value, status: u16) -> Value {
    let response = app
        .admin(Method::POST, &format!("/admin/v1/tenants/{tenant}/refresh"))
        .json(&body)
        .send()
        .await
        .unwrap();
    json_of(response, status).await.1
}

/// Polls the job's view until it is done or failed, keeping every view seen.
async fn until_finished(app: &TestApp, id: i64) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let response = app
            .admin(Method::GET, &format!("/admin/v1/refresh/jobs/{id}"))
            .send()
            .await
            .unwrap();
        let view = json_of(response, 200).await.1;
        let status = view["status"].as_str().unwrap().to_string();
        seen.push(view);
        if status == "done" || status == "failed" {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} never finished: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn refresh_routes_need_the_operator_token() {
    let app = spawn().await;
    let base = app.admin_url();
    for (method, path) in [
        (
            Method::POST,
            format!("/admin/v1/tenants/{CUSTOMER}/refresh"),
        ),
        (Method::GET, format!("/admin/v1/tenants/{CUSTOMER}/refresh")),
        (
            Method::GET,
            format!("/admin/v1/tenants/{CUSTOMER}/integration"),
        ),
        (Method::GET, "/admin/v1/refresh/jobs".to_string()),
    ] {
        let response = app
            .http
            .request(method.clone(), format!("{base}{path}"))
            .bearer_auth(format!("{OPERATOR_TOKEN}-wrong"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let (_, body) = json_of(response, 401).await;
        assert_api_error(&body, 401);
        let response = app
            .http
            .request(method, format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }
    // Nothing was queued by the refused requests.
    let (_, jobs) = json_of(
        app.admin(Method::GET, "/admin/v1/refresh/jobs")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(jobs["data"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn an_operator_refresh_runs_to_done_and_a_second_waits_unless_forced() {
    let app = spawn().await;

    let (_, settings) = json_of(
        app.admin(
            Method::GET,
            &format!("/admin/v1/tenants/{CUSTOMER}/integration"),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(settings["source"], "production");
    assert_eq!(settings["effectiveMinIntervalSecs"], 3600);
    assert!(
        settings["confirmation"]
            .as_str()
            .unwrap()
            .contains("Every change made in integration since the last refresh will be lost")
    );

    let job = request(&app, CUSTOMER, json!({}), 202).await;
    assert_eq!(job["status"], "queued");
    assert_eq!(job["tenantId"], CUSTOMER);
    assert_eq!(job["requestedBy"], "operator");
    let id = job["id"].as_i64().unwrap();

    // The serving process's runner takes it without being asked.
    let seen = until_finished(&app, id).await;
    let done = seen.last().unwrap();
    assert_eq!(done["status"], "done", "{done}");
    assert!(done["rowsTotal"].as_i64().unwrap() > 0, "{done}");
    assert_eq!(done["rowsCopied"], done["rowsTotal"]);
    assert_eq!(done["percent"], 100.0);
    assert_eq!(done["error"], Value::Null);
    assert!(done["generation"].as_i64().is_some());

    // Too soon: 429 with Retry-After, counting down from the configured hour.
    let response = app
        .admin(
            Method::POST,
            &format!("/admin/v1/tenants/{CUSTOMER}/refresh"),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (headers, refused) = json_of(response, 429).await;
    assert_api_error(&refused, 429);
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((3500..=3600).contains(&wait), "{wait}");
    assert!(refused["title"].as_str().unwrap().contains("Try again in"));

    // The operator may force it.
    let forced = request(&app, CUSTOMER, json!({"force": true, "masked": true}), 202).await;
    let forced_id = forced["id"].as_i64().unwrap();
    assert_eq!(forced["masked"], true);
    let seen = until_finished(&app, forced_id).await;
    assert_eq!(seen.last().unwrap()["status"], "done");

    // The tenant's jobs, newest first, and the audit events of all three requests.
    let (_, listed) = json_of(
        app.admin(
            Method::GET,
            &format!("/admin/v1/tenants/{CUSTOMER}/refresh"),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let ids: Vec<i64> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [forced_id, id]);
    let (_, audit) = json_of(
        app.admin(
            Method::GET,
            &format!("/admin/v1/audit?tenantId={CUSTOMER}&limit=20"),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "operator")
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("refresh."))
        .collect();
    assert_eq!(
        actions[..3],
        ["refresh.requested", "refresh.refused", "refresh.requested"]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_sandbox_has_no_production_to_copy_and_unknown_jobs_are_404() {
    let app = spawn().await;
    let refused = request(&app, SANDBOX, json!({"source": "production"}), 400).await;
    assert_api_error(&refused, 400);
    assert!(
        refused["title"]
            .as_str()
            .unwrap()
            .contains("developer sandbox")
    );
    assert!(refused["errors"]["source"].is_array(), "{refused}");
    let unmaskable = json!({"source": "sample", "masked": true});
    let refused = request(&app, SANDBOX, unmaskable, 400).await;
    assert_api_error(&refused, 400);
    let said = refused["errors"]["masked"][0].as_str().unwrap();
    assert!(said.contains("no personal data"), "{refused}");
    // Nor can sample data be set to be masked; the tenant's settings stay as they were.
    let settings = format!("/admin/v1/tenants/{SANDBOX}/integration");
    let response = app
        .admin(Method::PATCH, &settings)
        .json(&json!({"source": "sample", "masked": true}))
        .send()
        .await
        .unwrap();
    let (_, body) = json_of(response, 400).await;
    assert!(body["errors"]["masked"].is_array(), "{body}");
    let response = app.admin(Method::GET, &settings).send().await.unwrap();
    assert_eq!(json_of(response, 200).await.1["masked"], false);
    // A masked customer moved to sample data keeps no masking to read as masked samples.
    let customer = format!("/admin/v1/tenants/{CUSTOMER}/integration");
    for (change, masked) in [
        (json!({"source": "production", "masked": true}), true),
        (json!({"source": "sample"}), false),
    ] {
        let response = app
            .admin(Method::PATCH, &customer)
            .json(&change)
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(response, 200).await.1["masked"], masked, "{change}");
    }
    // The 202 points at the job's progress view.
    let response = app
        .admin(
            Method::POST,
            &format!("/admin/v1/tenants/{SANDBOX}/refresh"),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (headers, job) = json_of(response, 202).await;
    assert_eq!(
        headers["location"].to_str().unwrap(),
        format!("/admin/v1/refresh/jobs/{}", job["id"])
    );
    assert_eq!(job["source"], "sample");
    let seen = until_finished(&app, job["id"].as_i64().unwrap()).await;
    assert_eq!(seen.last().unwrap()["status"], "done");

    let response = app
        .admin(Method::GET, "/admin/v1/refresh/jobs/999999")
        .send()
        .await
        .unwrap();
    let (_, body) = json_of(response, 404).await;
    assert_api_error(&body, 404);
    let response = app
        .admin(Method::POST, "/admin/v1/tenants/42/refresh")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // An unknown tenant's job list is a 404 too, not an empty list.
    let response = app
        .admin(Method::GET, "/admin/v1/tenants/42/refresh")
        .send()
        .await
        .unwrap();
    let (_, body) = json_of(response, 404).await;
    assert_api_error(&body, 404);
    assert_eq!(body["title"], "tenant 42 does not exist");
    app.stop().await;
}
