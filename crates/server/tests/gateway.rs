//! The gateway and routing over HTTP: refusals, revocation, hosts and the API's error format.

mod common;

use common::{CUSTOMER, SANDBOX, assert_api_error, spawn};
use serde_json::{Value, json};

#[tokio::test]
async fn the_gateway_refuses_what_it_must() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let url = |tenant: i64| {
        format!(
            "{}/crm/v2/tenant/{tenant}/customers",
            app.api_url("integration")
        )
    };

    // Another tenant's path.
    let response = app
        .get(
            "integration",
            &token,
            &format!("/crm/v2/tenant/{SANDBOX}/customers"),
        )
        .await;
    assert_eq!(response.status(), 403);
    assert_api_error(&response.json().await.unwrap(), 403);

    // Missing and wrong app keys, missing token.
    let response = app
        .http
        .get(url(CUSTOMER))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_api_error(&body, 401);
    assert!(body["title"].as_str().unwrap().contains("ST-App-Key"));
    let response = app
        .http
        .get(url(CUSTOMER))
        .header("ST-App-Key", "ak1.wrong")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .http
        .get(url(CUSTOMER))
        .header("ST-App-Key", app.app_key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .get(
            "integration",
            "not.a.token",
            &format!("/crm/v2/tenant/{CUSTOMER}/customers"),
        )
        .await;
    assert_eq!(response.status(), 401);

    // An app key of another app, with a valid token.
    let control = app.control();
    let other = control
        .create_app(1, "Other", &["tn.crm.customers:r".into()])
        .await
        .unwrap();
    let other_key = control.issue_app_key(other.id).await.unwrap();
    let response = app
        .http
        .get(url(CUSTOMER))
        .header(
            "ST-App-Key",
            secrecy::ExposeSecret::expose_secret(&other_key),
        )
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn unimplemented_operations_and_unknown_paths_answer_in_the_api_format() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "production").await;
    let api = app.api_url("production");

    let response = app
        .http
        .put(format!("{api}/jpm/v2/tenant/{CUSTOMER}/jobs/5/cancel"))
        .header("ST-App-Key", app.app_key())
        .bearer_auth(&token)
        .json(&json!({"reasonId": 1, "memo": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 501);
    let body: Value = response.json().await.unwrap();
    assert_api_error(&body, 501);
    assert!(
        body["title"].as_str().unwrap().contains("Jobs_Cancel"),
        "{body}"
    );

    let response = app
        .get(
            "production",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/nothing-here"),
        )
        .await;
    assert_eq!(response.status(), 404);
    assert_api_error(&response.json().await.unwrap(), 404);

    let response = app
        .http
        .delete(format!("{api}/crm/v2/tenant/{CUSTOMER}/customers"))
        .header("ST-App-Key", app.app_key())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert!(
        response.headers()["allow"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
    assert_api_error(&response.json().await.unwrap(), 405);

    let response = app
        .get(
            "production",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers?pageSize=5001"),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"].get("pageSize").is_some());
    let response = app
        .get(
            "production",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers?sort=-Nope"),
        )
        .await;
    assert_eq!(response.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn paths_ignore_case_and_percent_encoding_and_401s_name_bearer() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "integration").await;
    let plain = app
        .get_json(
            "integration",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers?pageSize=2"),
        )
        .await;
    for path in [
        format!("/CRM/v2/Tenant/{CUSTOMER}/Customers?pageSize=2"),
        format!("/crm/v2/tenant/{CUSTOMER}/cust%6fmers/?pageSize=2"),
    ] {
        assert_eq!(
            app.get_json("integration", &token, &path).await,
            plain,
            "{path}"
        );
    }
    let response = app
        .get(
            "integration",
            "garbage",
            &format!("/crm/v2/tenant/{CUSTOMER}/customers"),
        )
        .await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    app.stop().await;
}

#[tokio::test]
async fn disconnecting_an_app_refuses_tokens_already_issued() {
    let app = spawn().await;
    let token = app.token(CUSTOMER, "production").await;
    let path = format!("/crm/v2/tenant/{CUSTOMER}/customers?pageSize=1");
    assert_eq!(app.get("production", &token, &path).await.status(), 200);
    let (id, _) = app.credentials(CUSTOMER, "production");
    let app_id = app.state.store.client(&id).await.unwrap().unwrap().app_id;
    let control = app.control();
    control
        .disconnect(app_id, CUSTOMER, fieldgate_store::Environment::Production)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    loop {
        // Timed by when the request was sent: a slow answer is not a late refusal.
        let sent = started.elapsed();
        let response = app.get("production", &token, &path).await;
        if response.status() == 401 {
            let body: Value = response.json().await.unwrap();
            assert!(
                body["title"].as_str().unwrap().contains("disconnected"),
                "{body}"
            );
            break;
        }
        assert!(
            sent < std::time::Duration::from_millis(1500),
            "still accepted {sent:?} after the disconnect"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn four_hosts_on_one_listener_are_told_apart_by_host() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let app = common::spawn_with(|c| {
        for (env, name) in [
            (&mut c.integration, "integration"),
            (&mut c.production, "production"),
        ] {
            env.auth_listen = addr;
            env.api_listen = addr;
            env.auth_url = format!("https://auth-{name}.example.com");
            env.api_url = format!("https://api-{name}.example.com");
        }
    })
    .await;
    let url = |path: &str| format!("http://{addr}{path}");
    let (id, secret) = app.credentials(CUSTOMER, "production");
    let token: Value = app
        .http
        .post(url("/connect/token"))
        .header("Host", "auth-production.example.com:443")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    let list = |host: &'static str| {
        app.http
            .get(url(&format!(
                "/crm/v2/tenant/{CUSTOMER}/customers?pageSize=1"
            )))
            .header("Host", host)
            .header("ST-App-Key", app.app_key())
            .bearer_auth(token)
            .send()
    };
    assert_eq!(
        list("api-production.example.com").await.unwrap().status(),
        200
    );
    assert_eq!(
        list("api-integration.example.com").await.unwrap().status(),
        401
    );
    let unknown = list("elsewhere.example.com").await.unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["traceId"].as_str().unwrap().len(), 32);
    let health = app.http.get(url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    app.stop().await;
}
