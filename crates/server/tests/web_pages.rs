//! The portal's and console's operations over HTTP, checked against what the API then does.

mod common;
mod web;

use reqwest::StatusCode;
use web::Visitor;

/// Status of a list call with this app key and a fresh token of the customer's integration
/// client.
async fn call_with_key(app: &common::TestApp, key: &str) -> u16 {
    let token = app.token(common::CUSTOMER, "integration").await;
    app.http
        .get(format!(
            "{}/crm/v2/tenant/{}/customers?pageSize=1",
            app.api_url("integration"),
            common::CUSTOMER
        ))
        .header("ST-App-Key", key)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Retries for the gateway's one-second cache of app keys.
async fn settles_to(app: &common::TestApp, key: &str, status: u16) {
    for _ in 0..20 {
        if call_with_key(app, key).await == status {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    panic!("the call with the key never answered {status}");
}

#[tokio::test]
async fn regenerating_the_app_key_keeps_the_old_one_for_the_grace_chosen() {
    let app = common::spawn().await;
    let (email, password) = app.login(None);
    let mut dev = Visitor::new(&app.web_url());
    dev.sign_in(&email, &password).await;
    let original = app.app_key();
    let page = "/portal/apps/1";
    assert_eq!(dev.get(page).await.status, StatusCode::OK);

    // A day of grace: both keys work, and the page says until when.
    let regenerated = dev
        .submit(page, "/portal/apps/1/keys", &[("grace_hours", "24")])
        .await;
    assert_eq!(regenerated.status, StatusCode::OK, "{}", regenerated.body);
    let second = regenerated.by_id("app-key").unwrap();
    assert!(second.starts_with("ak1.") && second != original);
    assert!(regenerated.body.contains("keep working for 24 hours"));
    assert!(
        !regenerated.body.contains(&original),
        "an old key is shown again"
    );
    assert_eq!(call_with_key(&app, &second).await, 200);
    assert_eq!(call_with_key(&app, &original).await, 200);

    // No grace: every older key stops at once.
    let third = dev
        .submit(page, "/portal/apps/1/keys", &[("grace_hours", "0")])
        .await
        .by_id("app-key")
        .unwrap();
    settles_to(&app, &original, 401).await;
    settles_to(&app, &second, 401).await;
    assert_eq!(call_with_key(&app, &third).await, 200);
    assert!(dev.get(page).await.body.contains("stopped"));

    // Nonsense grace periods are refused with a reason, and make no key.
    for bad in ["-1", "soon", "100000"] {
        let refused = dev
            .submit(page, "/portal/apps/1/keys", &[("grace_hours", bad)])
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(refused.body.contains("grace period"), "{}", refused.body);
    }
    assert_eq!(call_with_key(&app, &third).await, 200);
    app.stop().await;
}

#[tokio::test]
async fn creating_an_app_needs_a_name_and_a_scope() {
    let app = common::spawn().await;
    let (email, password) = app.login(None);
    let mut dev = Visitor::new(&app.web_url());
    dev.sign_in(&email, &password).await;

    let form = "/portal/apps/new";
    let no_scope = dev.submit(form, "/portal/apps", &[("name", "Empty")]).await;
    assert_eq!(no_scope.status, StatusCode::BAD_REQUEST);
    assert!(no_scope.body.contains("notice error"), "{}", no_scope.body);
    let no_name = [("name", " "), ("scope", "tn.crm.customers:r")];
    let refused = dev.submit(form, "/portal/apps", &no_name).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    // The ticked scope stays ticked for the next try.
    assert!(
        refused
            .body
            .contains(r#"value="tn.crm.customers:r" checked"#)
    );
    let unknown = [("name", "Odd"), ("scope", "tn.nowhere.things:r")];
    assert_eq!(
        dev.submit(form, "/portal/apps", &unknown).await.status,
        StatusCode::BAD_REQUEST
    );
    assert!(!dev.get("/portal").await.body.contains("Odd"));
    app.stop().await;
}

#[tokio::test]
async fn the_portal_lists_connections_and_the_apps_audit_without_tenant_addresses() {
    let app = common::spawn().await;
    let (email, password) = app.login(None);
    let mut dev = Visitor::new(&app.web_url());
    dev.sign_in(&email, &password).await;

    let page = dev.get("/portal/apps/1").await.body;
    for (tenant, env) in [
        (common::CUSTOMER, "integration"),
        (common::CUSTOMER, "production"),
        (common::SANDBOX, "integration"),
    ] {
        let row = format!("({tenant})</td><td>{env}</td>");
        assert!(page.contains(&row), "no connection row {row}");
    }

    // A tenant admin acts from an address; the developer's audit view shows the event, not
    // where the admin was.
    let (admin_email, admin_password) = app.login(Some(common::SANDBOX));
    let mut admin = Visitor::new(&app.web_url());
    admin.sign_in(&admin_email, &admin_password).await;
    let (sandbox_client, _) = app.credentials(common::SANDBOX, "integration");
    let path = format!("/console/clients/{sandbox_client}/disable");
    admin.submit("/console", &path, &[]).await;
    let audit = dev.get("/portal/apps/1/audit").await.body;
    assert!(audit.contains("client.disabled"));
    assert!(audit.contains("admin:"));
    assert!(
        !audit.contains("127.0.0.1"),
        "a tenant admin's address is shown"
    );
    app.stop().await;
}

#[tokio::test]
async fn disconnecting_an_app_stops_its_clients() {
    let app = common::spawn().await;
    let (email, password) = app.login(Some(common::CUSTOMER));
    let mut admin = Visitor::new(&app.web_url());
    admin.sign_in(&email, &password).await;
    let token = app.token(common::CUSTOMER, "production").await;

    let done = admin
        .submit(
            "/console",
            "/console/connections/1/production/disconnect",
            &[],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some("/console?done=disconnected"));
    let home = admin.get("/console?done=disconnected").await.body;
    assert!(home.contains("The app is disconnected"));
    assert!(!home.contains(r#"data-env="production""#));
    assert!(home.contains(r#"data-env="integration""#));

    let (id, secret) = app.credentials(common::CUSTOMER, "production");
    let refused = app
        .http
        .post(format!("{}/connect/token", app.auth_url("production")))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error());
    let path = format!("/crm/v2/tenant/{}/customers", common::CUSTOMER);
    let mut status = 200;
    for _ in 0..20 {
        status = app.get("production", &token, &path).await.status().as_u16();
        if status != 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    assert!(
        status == 401 || status == 403,
        "a disconnected app's token got {status}"
    );

    // Disconnecting again is "not found": there is nothing to disconnect.
    let again = admin
        .submit(
            "/console",
            "/console/connections/1/production/disconnect",
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn a_tenant_grants_only_the_scopes_it_ticks() {
    let app = common::spawn().await;
    let (email, password) = app.login(Some(common::SANDBOX));
    let mut admin = Visitor::new(&app.web_url());
    admin.sign_in(&email, &password).await;

    // The sandbox is integration only: production is not offered, and refused if sent.
    let offer = admin.get("/console/connect?app=1").await;
    assert!(offer.body.contains(r#"<option value="integration">"#));
    assert!(!offer.body.contains(r#"<option value="production">"#));
    let production = [
        ("app", "1"),
        ("environment", "production"),
        ("scope", "tn.crm.customers:r"),
    ];
    let refused = admin
        .submit(
            "/console/connect?app=1",
            "/console/connections",
            &production,
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("integration only"),
        "{}",
        refused.body
    );
    let nothing = [("app", "1"), ("environment", "integration")];
    let refused = admin
        .submit("/console/connect?app=1", "/console/connections", &nothing)
        .await;
    assert!(refused.body.contains("Tick at least one scope"));

    // Granting one scope of the app's many: its tokens carry just that one.
    let one = [
        ("app", "1"),
        ("environment", "integration"),
        ("scope", "tn.crm.customers:r"),
    ];
    let done = admin
        .submit("/console/connect?app=1", "/console/connections", &one)
        .await;
    assert_eq!(done.location.as_deref(), Some("/console?done=connected"));
    let (id, secret) = app.credentials(common::SANDBOX, "integration");
    let body: serde_json::Value = app
        .http
        .post(format!("{}/connect/token", app.auth_url("integration")))
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
    assert_eq!(body["scope"], "tn.crm.customers:r", "{body}");
    app.stop().await;
}
