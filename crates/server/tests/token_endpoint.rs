//! The cases of shared/cases/token-endpoint.md (T1–T15), each against a real server.

mod common;

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{CUSTOMER, SANDBOX, TestApp, spawn};
use fieldgate_server::keys::Claims;
use fieldgate_store::Environment;
use reqwest::{Response, StatusCode};
use serde_json::Value;

const GRANT: (&str, &str) = ("grant_type", "client_credentials");

async fn post_form(app: &TestApp, env: &str, form: &[(&str, &str)]) -> Response {
    app.http
        .post(format!("{}/connect/token", app.auth_url(env)))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn post_basic(app: &TestApp, env: &str, user_pass: &str, form: &[(&str, &str)]) -> Response {
    app.http
        .post(format!("{}/connect/token", app.auth_url(env)))
        .header(
            "Authorization",
            format!("Basic {}", STANDARD.encode(user_pass)),
        )
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn error_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "T4 on errors"
    );
    assert_eq!(response.headers()["pragma"], "no-cache", "T4 on errors");
    (status, response.json().await.unwrap())
}

/// Percent-encodes every character, as a client that form-encodes before base64 might.
fn encode_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn t1_t4_t11_basic_with_form_encoded_halves_issues_a_token() {
    let app = spawn().await;
    let (id, secret) = app.credentials(CUSTOMER, "integration");
    let encoded = format!("{}:{}", encode_all(&id), encode_all(&secret));
    let response = post_basic(&app, "integration", &encoded, &[GRANT]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 900);
    assert!(body["expires_in"].is_number());
    assert_eq!(body["token_type"], "Bearer");
    assert!(
        body["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "tn.crm.customers:r")
    );
    assert!(body.get("refresh_token").is_none());

    // Plain Basic works too, and the token works with Bearer, bearer and no scheme (T11).
    let plain = post_basic(&app, "integration", &format!("{id}:{secret}"), &[GRANT]).await;
    assert_eq!(plain.status(), 200);
    let token = body["access_token"].as_str().unwrap();
    let path = format!("/crm/v2/tenant/{CUSTOMER}/customers?pageSize=1");
    for auth in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        token.to_string(),
    ] {
        let response = app
            .http
            .get(format!("{}{path}", app.api_url("integration")))
            .header("ST-App-Key", app.app_key())
            .header("Authorization", auth)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    app.stop().await;
}

#[tokio::test]
async fn t2_two_authentication_methods_are_refused() {
    let app = spawn().await;
    let (id, secret) = app.credentials(CUSTOMER, "integration");
    let form = [
        GRANT,
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let (status, body) =
        error_of(post_basic(&app, "integration", &format!("{id}:{secret}"), &form).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
    app.stop().await;
}

#[tokio::test]
async fn t3_get_is_not_allowed() {
    let app = spawn().await;
    let (id, secret) = app.credentials(CUSTOMER, "integration");
    let url = format!(
        "{}/connect/token?grant_type=client_credentials&client_id={id}&client_secret={secret}",
        app.auth_url("integration")
    );
    let response = app.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body = response.text().await.unwrap();
    assert!(!body.contains("access_token"));
    app.stop().await;
}

#[tokio::test]
async fn t5_t6_t13_wrong_secrets_and_unknown_ids_look_the_same() {
    // Many failures on purpose: the throttle on failed attempts has its own test.
    let app = common::spawn_with(|c| c.limits.token_failures_per_minute = 10_000).await;
    let (id, _) = app.credentials(CUSTOMER, "integration");

    let response = post_basic(&app, "integration", &format!("{id}:wrong"), &[GRANT]).await;
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("Basic realm=\""), "{challenge}");
    let (_, body) = error_of(response).await;
    assert_eq!(body["error"], "invalid_client");

    let wrong = [
        GRANT,
        ("client_id", id.as_str()),
        ("client_secret", "cs1.wrong"),
    ];
    let (status, wrong_body) = error_of(post_form(&app, "integration", &wrong).await).await;
    assert!(status == 400 || status == 401);
    assert_eq!(wrong_body["error"], "invalid_client");

    let unknown = [
        GRANT,
        ("client_id", "cid.doesnotexist"),
        ("client_secret", "cs1.wrong"),
    ];
    let (unknown_status, unknown_body) =
        error_of(post_form(&app, "integration", &unknown).await).await;
    assert_eq!((unknown_status, &unknown_body), (status, &wrong_body));

    // Same work on both paths: medians of interleaved samples stay within a generous band.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..40 {
        let t = Instant::now();
        post_form(&app, "integration", &wrong).await;
        a.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        post_form(&app, "integration", &unknown).await;
        b.push(t.elapsed().as_secs_f64());
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let ratio = a[20] / b[20];
    assert!(
        (0.33..3.0).contains(&ratio),
        "median wrong-secret/unknown-id time ratio {ratio}"
    );
    app.stop().await;
}

#[tokio::test]
async fn t7_disabled_or_disconnected_clients_are_told_why() {
    let app = spawn().await;
    let (id, secret) = app.credentials(CUSTOMER, "integration");
    let form = [
        GRANT,
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let control = app.control();

    control.set_client_enabled(&id, false).await.unwrap();
    let (_, body) = error_of(post_form(&app, "integration", &form).await).await;
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
    control.set_client_enabled(&id, true).await.unwrap();
    assert_eq!(post_form(&app, "integration", &form).await.status(), 200);

    let (sid, ssecret) = app.credentials(SANDBOX, "integration");
    let app_id = app.state.store.client(&sid).await.unwrap().unwrap().app_id;
    control
        .disconnect(app_id, SANDBOX, Environment::Integration)
        .await
        .unwrap();
    let form = [
        GRANT,
        ("client_id", sid.as_str()),
        ("client_secret", ssecret.as_str()),
    ];
    let (_, body) = error_of(post_form(&app, "integration", &form).await).await;
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("disconnected")
    );
    app.stop().await;
}

#[tokio::test]
async fn t8_other_grant_types_are_unsupported() {
    let app = spawn().await;
    let (id, secret) = app.credentials(CUSTOMER, "integration");
    let form = [
        ("grant_type", "password"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let (status, body) = error_of(post_form(&app, "integration", &form).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unsupported_grant_type");
    app.stop().await;
}

#[tokio::test]
async fn t9_t10_scopes_narrow_the_token_and_unknown_ones_are_refused() {
    let app = spawn().await;
    let (id, secret) = app.credentials(CUSTOMER, "production");
    let base = [
        GRANT,
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];

    let mut form = base.to_vec();
    form.push(("scope", "tn.crm.customers:r"));
    let response = post_form(&app, "production", &form).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "tn.crm.customers:r");
    let token = body["access_token"].as_str().unwrap();
    let customers = app
        .get(
            "production",
            token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers"),
        )
        .await;
    assert_eq!(customers.status(), 200);
    let jobs = app
        .get(
            "production",
            token,
            &format!("/jpm/v2/tenant/{CUSTOMER}/jobs"),
        )
        .await;
    assert_eq!(jobs.status(), 403);

    let mut form = base.to_vec();
    form.push(("scope[0]", "x"));
    assert_eq!(post_form(&app, "production", &form).await.status(), 200);

    let mut form = base.to_vec();
    form.push(("scope", "tn.crm.customers:r tn.nothing:w"));
    let (status, body) = error_of(post_form(&app, "production", &form).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_scope");
    app.stop().await;
}

#[tokio::test]
async fn t12_clock_skew_within_leeway_is_accepted() {
    let app = spawn().await;
    let (id, _) = app.credentials(CUSTOMER, "integration");
    let env = app.state.env(Environment::Integration);
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        iss: env.auth_url.clone(),
        client_id: id,
        tenant: CUSTOMER.to_string(),
        scope: vec!["tn.crm.customers:r".into()],
        jti: "skew".into(),
        nbf: now + 2,
        iat: now + 2,
        exp: now + 902,
        sv: None,
    };
    let token = env.ring().sign(&claims);
    let response = app
        .get(
            "integration",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers"),
        )
        .await;
    assert_eq!(response.status(), 200);

    let expired = Claims {
        nbf: now - 2000,
        iat: now - 2000,
        exp: now - 1000,
        ..claims
    };
    let response = app
        .get(
            "integration",
            &env.ring().sign(&expired),
            &format!("/crm/v2/tenant/{CUSTOMER}/customers"),
        )
        .await;
    assert_eq!(response.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn t14_t15_credentials_and_tokens_stay_in_their_environment() {
    let app = spawn().await;
    let (id, secret) = app.credentials(CUSTOMER, "integration");
    let form = [
        GRANT,
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let (_, body) = error_of(post_form(&app, "production", &form).await).await;
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("integration environment")
    );

    let token = app.token(CUSTOMER, "integration").await;
    let response = app
        .get(
            "production",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers"),
        )
        .await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["title"].as_str().unwrap().contains("production"),
        "{body}"
    );
    assert_eq!(body["traceId"].as_str().unwrap().len(), 32);

    let token = app.token(CUSTOMER, "production").await;
    let response = app
        .get(
            "integration",
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers"),
        )
        .await;
    assert_eq!(response.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn discovery_documents_name_the_environment_and_its_keys() {
    let app = spawn().await;
    for env in ["integration", "production"] {
        let url = format!("{}/.well-known/openid-configuration", app.auth_url(env));
        let doc: Value = app
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["issuer"], app.auth_url(env));
        assert_eq!(
            doc["token_endpoint"],
            format!("{}/connect/token", app.auth_url(env))
        );
        let jwks: Value = app
            .http
            .get(doc["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(
            (key["kty"].as_str(), key["crv"].as_str()),
            (Some("OKP"), Some("Ed25519"))
        );
        assert!(key["kid"].as_str().unwrap().starts_with(env));
    }
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_get_an_oauth_error() {
    let app = spawn().await;
    let body = format!("grant_type=client_credentials&x={}", "a".repeat(100_000));
    let response = app
        .http
        .post(format!("{}/connect/token", app.auth_url("integration")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(response).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"], "invalid_request");
    app.stop().await;
}

#[tokio::test]
async fn guessing_secrets_is_throttled_without_slowing_valid_clients() {
    let app = common::spawn_with(|c| c.limits.token_failures_per_minute = 3).await;
    let (id, secret) = app.credentials(CUSTOMER, "integration");
    let wrong = [
        GRANT,
        ("client_id", id.as_str()),
        ("client_secret", "cs1.guess"),
    ];
    for _ in 0..3 {
        let (_, body) = error_of(post_form(&app, "integration", &wrong).await).await;
        assert_eq!(body["error"], "invalid_client");
    }
    let response = post_form(&app, "integration", &wrong).await;
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = error_of(response).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (429, Some("temporarily_unavailable"))
    );

    // Other clients keep getting tokens, as many as they ask for.
    let (sid, ssecret) = app.credentials(SANDBOX, "integration");
    let good = [
        GRANT,
        ("client_id", sid.as_str()),
        ("client_secret", ssecret.as_str()),
    ];
    for _ in 0..20 {
        assert_eq!(post_form(&app, "integration", &good).await.status(), 200);
    }
    let _ = secret;
    app.stop().await;
}

#[tokio::test]
async fn the_auth_host_answers_its_own_errors_in_oauth_form() {
    let app = spawn().await;
    let url = format!("{}/.well-known/jwks", app.auth_url("production"));
    let response = app.http.post(url).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET");
    let (_, body) = error_of(response).await;
    assert_eq!(body["error"], "invalid_request");
    let response = app
        .http
        .get(format!("{}/nowhere", app.auth_url("production")))
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(response).await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (404, Some("invalid_request"))
    );
    app.stop().await;
}
