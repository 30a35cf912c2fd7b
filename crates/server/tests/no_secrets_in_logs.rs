//! A whole credential story with every log line captured at debug level: no secret it
//! issued or used (passwords, app keys, client secrets, access and session tokens, the
//! operator token) appears in any log line, in the audit log or in clear in the store's files.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;
use common::{CUSTOMER, OPERATOR_TOKEN, spawn};
use fieldgate_server::control::{Actor, Control};
use fieldgate_store::AuditFilter;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// Every log line of this test process.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_a_log_line_or_the_audit_log() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let app = spawn().await;
    let mut secrets: Vec<String> = vec![OPERATOR_TOKEN.into(), app.app_key()];
    for person in app.doc["people"].as_array().unwrap() {
        secrets.push(person["password"].as_str().unwrap().into());
    }
    for tenant in app.doc["tenants"].as_array().unwrap() {
        for c in tenant["credentials"].as_object().unwrap().values() {
            secrets.push(c["clientSecret"].as_str().unwrap().into());
        }
    }
    let admin = |method: Method, path: &str, body: Value| {
        let request = app.admin(method, path).json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            response.json::<Value>().await.unwrap()
        }
    };

    // People: their passwords, and a session of each.
    let dev_password = "developer password one";
    let admin_password = "tenant admin password two";
    secrets.extend([dev_password.into(), admin_password.into()]);
    let dev = admin(
        Method::POST,
        "/admin/v1/developers",
        json!({"name": "Lee", "email": "lee@dev.test", "password": dev_password}),
    )
    .await;
    let t = format!("/admin/v1/tenants/{CUSTOMER}");
    admin(
        Method::POST,
        &format!("{t}/admins"),
        json!({"name": "Ada", "email": "ada@acme.test", "password": admin_password}),
    )
    .await;
    let control = Control {
        store: app.state.store.as_ref(),
        keys: &app.state.keys,
        actor: Actor::operator(),
    };
    for (email, password) in [
        ("lee@dev.test", dev_password),
        ("ada@acme.test", admin_password),
    ] {
        let (_, session) = control.sign_in(email, password, "10.9.9.9").await.unwrap();
        secrets.push(session.token.expose_secret().to_string());
        // A wrong password is a secret too, as the person may have mistyped a real one.
        let _ = control
            .sign_in(email, "a mistyped password", "10.9.9.9")
            .await;
    }
    secrets.push("a mistyped password".into());

    // An app, its keys, a connection and client credentials with a rotation.
    let created = admin(
        Method::POST,
        "/admin/v1/apps",
        json!({"developerId": dev["id"], "name": "Meter", "scopes": ["tn.crm.customers:r"]}),
    )
    .await;
    let app_id = created["id"].as_i64().unwrap();
    let first_key = admin(
        Method::POST,
        &format!("/admin/v1/apps/{app_id}/keys"),
        json!({}),
    )
    .await;
    let key = admin(
        Method::POST,
        &format!("/admin/v1/apps/{app_id}/keys"),
        json!({"graceSeconds": 60}),
    )
    .await;
    let app_key = key["appKey"].as_str().unwrap().to_string();
    secrets.extend([
        first_key["appKey"].as_str().unwrap().into(),
        app_key.clone(),
    ]);
    admin(
        Method::POST,
        &format!("{t}/connections"),
        json!({"appId": app_id, "environment": "production"}),
    )
    .await;
    let issued = admin(
        Method::POST,
        &format!("{t}/clients"),
        json!({"appId": app_id, "environment": "production"}),
    )
    .await;
    let client_id = issued["clientId"].as_str().unwrap().to_string();
    let secret = issued["clientSecret"].as_str().unwrap().to_string();
    let second = admin(
        Method::POST,
        &format!("/admin/v1/clients/{client_id}/secrets"),
        json!({}),
    )
    .await;
    let second_secret = second["clientSecret"].as_str().unwrap().to_string();
    secrets.extend([secret.clone(), second_secret.clone()]);

    // Tokens, in the body and by HTTP Basic, used at the gateway; a wrong secret is refused.
    let auth = format!("{}/connect/token", app.auth_url("production"));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let body: Value = app
        .http
        .post(&auth)
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap().to_string();
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{second_secret}"));
    let body: Value = app
        .http
        .post(&auth)
        .header("Authorization", format!("Basic {basic}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.extend([token.clone(), body["access_token"].as_str().unwrap().into()]);
    let wrong = "cs1.thisisnotthesecretatall0000000000000000";
    secrets.push(wrong.into());
    let refused = app
        .http
        .post(&auth)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", wrong),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let path = format!(
        "{}/crm/v2/tenant/{CUSTOMER}/customers?pageSize=1",
        app.api_url("production")
    );
    let ok = app
        .http
        .get(&path)
        .header("ST-App-Key", &app_key)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let bad = app
        .http
        .get(&path)
        .header("ST-App-Key", "ak1.notakey")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let demo_token = app.token(CUSTOMER, "production").await;
    secrets.push(demo_token.clone());
    assert_eq!(
        app.get(
            "production",
            &demo_token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers")
        )
        .await
        .status(),
        200
    );

    // Retire, pause, restore, disconnect.
    admin(
        Method::DELETE,
        &format!("/admin/v1/clients/{client_id}/secrets/1"),
        json!(null),
    )
    .await;
    admin(
        Method::POST,
        &format!("/admin/v1/clients/{client_id}/disable"),
        json!({}),
    )
    .await;
    admin(
        Method::POST,
        &format!("/admin/v1/clients/{client_id}/enable"),
        json!({}),
    )
    .await;
    admin(
        Method::DELETE,
        &format!("{t}/connections/{app_id}/production"),
        json!(null),
    )
    .await;
    let unauthorised = app
        .http
        .get(format!("{}/admin/v1/tenants", app.admin_url()))
        .bearer_auth("wrong-operator-token-guess")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), 401);
    secrets.push("wrong-operator-token-guess".into());

    let audit = app
        .state
        .store
        .audit_query(&AuditFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        audit.len() >= 15,
        "the story wrote its audit events: {}",
        audit.len()
    );
    let audit = serde_json::to_string(&audit).unwrap();
    let dir = app.state.config.data_dir.clone();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("fieldgate.db")
        {
            files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    app.stop().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("control-plane change"),
        "the logs were captured"
    );
    assert!(logs.contains("token refused"));
    assert!(!files.is_empty());
    for secret in &secrets {
        assert!(secret.len() >= 10, "{secret}");
        assert!(
            !logs.contains(secret.as_str()),
            "a log line holds the secret {secret}"
        );
        assert!(
            !audit.contains(secret.as_str()),
            "the audit log holds the secret {secret}"
        );
        // Tokens are not stored at all, and every other secret only as a digest or hash.
        for (name, bytes) in &files {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{name} holds the secret {secret} in clear");
        }
    }
}
