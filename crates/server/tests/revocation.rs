//! Enforcement of the credential lifecycle: a disabled client, a retired secret, an expired
//! app key and a disconnected app are refused at the token endpoint at once, and their tokens
//! already issued are refused by the gateway within about a second. Scopes a tenant did not
//! grant are never in a token.

mod common;

use std::time::{Duration, Instant};

use common::{CUSTOMER, TestApp, spawn};
use fieldgate_store::{Environment, SecretSlot};
use secrecy::ExposeSecret;
use serde_json::Value;

const PATH: &str = "/crm/v2/tenant/3141592653/customers?pageSize=1";

/// POSTs a token request; answers the status and body.
async fn token_request(
    app: &TestApp,
    env: &str,
    id: &str,
    secret: &str,
    key: Option<&str>,
) -> (u16, Value) {
    let mut request = app
        .http
        .post(format!("{}/connect/token", app.auth_url(env)))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ]);
    if let Some(key) = key {
        request = request.header("ST-App-Key", key);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn token(app: &TestApp, env: &str, id: &str, secret: &str) -> String {
    let (status, body) = token_request(app, env, id, secret, None).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn call(app: &TestApp, env: &str, key: &str, token: &str, path: &str) -> (u16, Value) {
    let response = app
        .http
        .get(format!("{}{path}", app.api_url(env)))
        .header("ST-App-Key", key)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Calls until the gateway answers `status` with a title containing `why`; fails after 1.5 s
/// (the caches hold a client or key for one second).
async fn refused_within_a_second(
    app: &TestApp,
    env: &str,
    key: &str,
    token: &str,
    path: &str,
    status: u16,
    why: &str,
) {
    let started = Instant::now();
    loop {
        // Timed by when the request was sent: a slow answer is not a late refusal.
        let sent = started.elapsed();
        let (got, body) = call(app, env, key, token, path).await;
        if got == status {
            assert!(body["title"].as_str().unwrap().contains(why), "{body}");
            return;
        }
        assert_eq!(got, 200, "{body}");
        assert!(
            sent < Duration::from_millis(1500),
            "still accepted {sent:?} after the change"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_disabled_client_is_refused_at_once_and_its_tokens_within_a_second() {
    let app = spawn().await;
    let (id, secret) = app.credentials(CUSTOMER, "production");
    let issued = token(&app, "production", &id, &secret).await;
    assert_eq!(
        call(&app, "production", &app.app_key(), &issued, PATH)
            .await
            .0,
        200
    );

    app.control().set_client_enabled(&id, false).await.unwrap();
    let (status, body) = token_request(&app, "production", &id, &secret, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client"))
    );
    refused_within_a_second(
        &app,
        "production",
        &app.app_key(),
        &issued,
        PATH,
        401,
        "disabled",
    )
    .await;

    app.control().set_client_enabled(&id, true).await.unwrap();
    let fresh = token(&app, "production", &id, &secret).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        call(&app, "production", &app.app_key(), &fresh, PATH)
            .await
            .0,
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn a_retired_secret_and_its_tokens_are_refused_while_the_new_one_works() {
    let app = spawn().await;
    let (id, old_secret) = app.credentials(CUSTOMER, "production");
    let control = app.control();
    let old_token = token(&app, "production", &id, &old_secret).await;
    let added = control.add_secret(&id).await.unwrap();
    let new_secret = added.client_secret.expose_secret().to_string();
    let new_token = token(&app, "production", &id, &new_secret).await;
    // Both secrets work during the rotation.
    assert_eq!(
        call(&app, "production", &app.app_key(), &old_token, PATH)
            .await
            .0,
        200
    );

    control.retire_secret(&id, SecretSlot::First).await.unwrap();
    let (status, body) = token_request(&app, "production", &id, &old_secret, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_client")),
        "{body}"
    );
    refused_within_a_second(
        &app,
        "production",
        &app.app_key(),
        &old_token,
        PATH,
        401,
        "retired",
    )
    .await;
    assert_eq!(
        call(&app, "production", &app.app_key(), &new_token, PATH)
            .await
            .0,
        200
    );
    token(&app, "production", &id, &new_secret).await;

    // A new secret in the freed slot does not bring the old tokens back.
    control.add_secret(&id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        call(&app, "production", &app.app_key(), &old_token, PATH)
            .await
            .0,
        401
    );
    app.stop().await;
}

#[tokio::test]
async fn an_old_app_key_works_through_its_grace_period_then_stops() {
    let app = spawn().await;
    let (id, secret) = app.credentials(CUSTOMER, "production");
    let old_key = app.app_key();
    let issued = token(&app, "production", &id, &secret).await;
    let app_id = app.state.store.client(&id).await.unwrap().unwrap().app_id;

    let new_key = app
        .control()
        .regenerate_app_key(app_id, Duration::from_secs(2))
        .await
        .unwrap();
    let new_key = new_key.expose_secret().to_string();
    let regenerated = Instant::now();
    assert_eq!(
        call(&app, "production", &new_key, &issued, PATH).await.0,
        200
    );
    assert_eq!(
        call(&app, "production", &old_key, &issued, PATH).await.0,
        200,
        "in its grace period"
    );
    assert_eq!(
        token_request(&app, "production", &id, &secret, Some(&old_key))
            .await
            .0,
        200
    );

    // Past the grace period the token endpoint refuses the old key at once, the gateway
    // within the cache's second.
    tokio::time::sleep(Duration::from_secs(2).saturating_sub(regenerated.elapsed())).await;
    let (status, body) = token_request(&app, "production", &id, &secret, Some(&old_key)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    assert_eq!(
        token_request(&app, "production", &id, &secret, Some(&new_key))
            .await
            .0,
        200
    );
    refused_within_a_second(&app, "production", &old_key, &issued, PATH, 401, "expired").await;
    assert_eq!(
        call(&app, "production", &new_key, &issued, PATH).await.0,
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn an_app_without_a_live_key_gets_no_tokens() {
    let app = spawn().await;
    let control = app.control();
    let developer = control
        .create_developer("Kim", "kim@dev.test")
        .await
        .unwrap();
    let scopes = vec!["tn.crm.customers:r".to_string()];
    let keyless = control
        .create_app(developer.id, "Keyless", &scopes)
        .await
        .unwrap();
    control
        .connect(&keyless, CUSTOMER, Environment::Production, &scopes)
        .await
        .unwrap();
    let issued = control
        .issue_client(keyless.id, CUSTOMER, Environment::Production)
        .await
        .unwrap();
    let secret = issued.client_secret.expose_secret().to_string();
    let (status, body) = token_request(&app, "production", &issued.client_id, &secret, None).await;
    assert_eq!(status, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("app key"),
        "{body}"
    );

    control.issue_app_key(keyless.id).await.unwrap();
    token(&app, "production", &issued.client_id, &secret).await;
    app.stop().await;
}

#[tokio::test]
async fn a_disconnected_app_is_refused_at_once_and_its_tokens_within_a_second() {
    let app = spawn().await;
    let (id, secret) = app.credentials(CUSTOMER, "integration");
    let issued = token(&app, "integration", &id, &secret).await;
    let app_id = app.state.store.client(&id).await.unwrap().unwrap().app_id;
    app.control()
        .disconnect(app_id, CUSTOMER, Environment::Integration)
        .await
        .unwrap();
    let (status, body) = token_request(&app, "integration", &id, &secret, None).await;
    assert_eq!(status, 400);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("disconnected"),
        "{body}"
    );
    refused_within_a_second(
        &app,
        "integration",
        &app.app_key(),
        &issued,
        PATH,
        401,
        "disconnected",
    )
    .await;
    // The other environment's connection is untouched.
    let (pid, psecret) = app.credentials(CUSTOMER, "production");
    token(&app, "production", &pid, &psecret).await;
    app.stop().await;
}

#[tokio::test]
async fn scopes_the_tenant_did_not_grant_are_never_in_a_token() {
    let app = spawn().await;
    let control = app.control();
    let developer = control
        .create_developer("Kim", "kim@dev.test")
        .await
        .unwrap();
    let asks: Vec<String> = ["tn.crm.customers:r", "tn.crm.locations:r", "tn.jpm.jobs:r"]
        .map(String::from)
        .to_vec();
    let board = control
        .create_app(developer.id, "Board", &asks)
        .await
        .unwrap();
    let key = control
        .issue_app_key(board.id)
        .await
        .unwrap()
        .expose_secret()
        .to_string();
    let prod = Environment::Production;
    control
        .connect(&board, CUSTOMER, prod, &asks[..2])
        .await
        .unwrap();
    let issued = control
        .issue_client(board.id, CUSTOMER, prod)
        .await
        .unwrap();
    let (id, secret) = (
        issued.client_id.clone(),
        issued.client_secret.expose_secret().to_string(),
    );

    let (_, body) = token_request(&app, "production", &id, &secret, None).await;
    assert_eq!(body["scope"], "tn.crm.customers:r tn.crm.locations:r");
    let asked = app
        .http
        .post(format!("{}/connect/token", app.auth_url("production")))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "tn.jpm.jobs:r"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 400);
    assert_eq!(
        asked.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );
    // A scope the app never asked for cannot be granted.
    assert!(
        control
            .connect(&board, CUSTOMER, prod, &["tn.crm.contacts:r".into()])
            .await
            .is_err()
    );

    // Narrowing the grant takes the scope out of new tokens, and out of old ones in use.
    let wide = body["access_token"].as_str().unwrap().to_string();
    let locations = "/crm/v2/tenant/3141592653/locations?pageSize=1";
    assert_eq!(
        call(&app, "production", &key, &wide, locations).await.0,
        200
    );
    control
        .connect(&board, CUSTOMER, prod, &asks[..1])
        .await
        .unwrap();
    let (_, narrow) = token_request(&app, "production", &id, &secret, None).await;
    assert_eq!(narrow["scope"], "tn.crm.customers:r");
    refused_within_a_second(&app, "production", &key, &wide, locations, 403, "scope").await;
    app.stop().await;
}
