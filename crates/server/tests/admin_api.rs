//! The operator admin API over HTTP: its token, and every operation end to end.

mod common;

use common::{CUSTOMER, OPERATOR_TOKEN, SANDBOX, assert_api_error, spawn};
use reqwest::Method;
use serde_json::{Value, json};

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    body
}

#[tokio::test]
async fn requests_without_the_operator_token_or_with_a_wrong_one_get_401() {
    let app = spawn().await;
    let url = format!("{}/admin/v1/tenants", app.admin_url());
    let cases = [
        None,
        Some(format!("Bearer {OPERATOR_TOKEN}x")),
        Some("Bearer ".to_string() + &OPERATOR_TOKEN[..10]),
        Some(format!("Basic {OPERATOR_TOKEN}")),
        Some(OPERATOR_TOKEN.to_string()),
    ];
    for header in cases {
        let mut request = app.http.get(&url);
        if let Some(h) = &header {
            request = request.header("Authorization", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{header:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert_api_error(&body, 401);
        assert!(!body.to_string().contains(OPERATOR_TOKEN));
    }
    // Unknown routes are refused before being found, without the token too.
    let response = app
        .http
        .get(format!("{}/admin/v1/nope", app.admin_url()))
        .send()
        .await;
    assert_eq!(response.unwrap().status(), 401);

    let listed = json_of(
        app.admin(Method::GET, "/admin/v1/tenants")
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
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [SANDBOX, CUSTOMER]);
    app.stop().await;
}

#[tokio::test]
async fn every_operation_end_to_end() {
    let app = spawn().await;
    let post = |path: &str, body: Value| app.admin(Method::POST, path).json(&body).send();

    // Tenants and their admins.
    let tenant = json_of(
        post(
            "/admin/v1/tenants",
            json!({"id": 5_000_000_001i64, "name": "Bolt Electric"}),
        )
        .await
        .unwrap(),
        201,
    )
    .await;
    assert_eq!(tenant["kind"], "customer");
    let again = json_of(
        post(
            "/admin/v1/tenants",
            json!({"id": 5_000_000_001i64, "name": "Bolt"}),
        )
        .await
        .unwrap(),
        409,
    )
    .await;
    assert_api_error(&again, 409);
    let bad = json_of(
        post("/admin/v1/tenants", json!({"id": 7, "name": "  "}))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_api_error(&bad, 400);
    assert!(bad["errors"]["name"].is_array(), "{bad}");
    let bad = json_of(
        post("/admin/v1/tenants", json!({"name": "No id"}))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(
        bad["errors"]["body"][0].as_str().unwrap().contains("id"),
        "{bad}"
    );
    let t = "/admin/v1/tenants/5000000001";
    json_of(app.admin(Method::GET, t).send().await.unwrap(), 200).await;
    let missing = json_of(
        app.admin(Method::GET, "/admin/v1/tenants/42")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    assert_api_error(&missing, 404);
    let bad = json_of(
        app.admin(Method::GET, "/admin/v1/tenants/abc")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(bad["errors"]["tenant"].is_array());

    let admin = json_of(
        post(
            &format!("{t}/admins"),
            json!({"name": "Ada", "email": "Ada@Bolt.test", "password": "a long enough password"}),
        )
        .await
        .unwrap(),
        201,
    )
    .await;
    assert_eq!(admin["email"], "ada@bolt.test");
    assert_eq!(
        admin["role"],
        json!({"kind": "tenantAdmin", "tenantId": 5_000_000_001i64})
    );
    let short = json_of(
        post(
            &format!("{t}/admins"),
            json!({"name": "Bo", "email": "bo@bolt.test", "password": "short"}),
        )
        .await
        .unwrap(),
        400,
    )
    .await;
    assert!(short["errors"]["password"].is_array());
    let admins = json_of(
        app.admin(Method::GET, &format!("{t}/admins"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(admins["data"].as_array().unwrap().len(), 1);
    assert!(
        !admins.to_string().contains("argon2"),
        "no password hash is shown"
    );

    // Developers, apps and app keys.
    let dev = json_of(
        post(
            "/admin/v1/developers",
            json!({"name": "Lee", "email": "lee@dev.test", "password": "another long password"}),
        )
        .await
        .unwrap(),
        201,
    )
    .await;
    let dev_id = dev["id"].as_i64().unwrap();
    assert!(dev["userId"].is_i64());
    json_of(
        app.admin(Method::GET, &format!("/admin/v1/developers/{dev_id}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let devs = json_of(
        app.admin(Method::GET, "/admin/v1/developers")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(devs["data"].as_array().unwrap().len(), 2);

    let scopes = ["tn.crm.customers:r", "tn.crm.locations:r"];
    let bad = json_of(
        post(
            "/admin/v1/apps",
            json!({"developerId": dev_id, "name": "Meter", "scopes": ["tn.nope:r"]}),
        )
        .await
        .unwrap(),
        400,
    )
    .await;
    assert!(
        bad["errors"]["scopes"][0]
            .as_str()
            .unwrap()
            .contains("tn.nope:r")
    );
    let created = json_of(
        post(
            "/admin/v1/apps",
            json!({"developerId": dev_id, "name": "Meter", "scopes": scopes}),
        )
        .await
        .unwrap(),
        201,
    )
    .await;
    let app_id = created["id"].as_i64().unwrap();
    let of_dev = json_of(
        app.admin(Method::GET, &format!("/admin/v1/apps?developerId={dev_id}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(of_dev["data"][0]["id"], app_id);
    let key = json_of(
        post(&format!("/admin/v1/apps/{app_id}/keys"), json!({}))
            .await
            .unwrap(),
        201,
    )
    .await;
    let app_key = key["appKey"].as_str().unwrap().to_string();
    let keys = json_of(
        app.admin(Method::GET, &format!("/admin/v1/apps/{app_id}/keys"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(keys["data"][0]["hint"], &app_key[..8]);
    assert!(!keys.to_string().contains(&app_key));
    let scopes_doc = json_of(
        app.admin(Method::GET, "/admin/v1/scopes")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(
        scopes_doc["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["module"] == "crm")
    );

    // Connections and clients.
    let c = format!("{t}/connections");
    let sandbox_prod = json_of(
        post(
            &format!("/admin/v1/tenants/{SANDBOX}/connections"),
            json!({"appId": app_id, "environment": "production"}),
        )
        .await
        .unwrap(),
        400,
    )
    .await;
    assert!(sandbox_prod["errors"]["environment"].is_array());
    let bad_env = json_of(
        post(&c, json!({"appId": app_id, "environment": "staging"}))
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(bad_env["errors"]["environment"].is_array());
    let conn = json_of(
        post(
            &c,
            json!({"appId": app_id, "environment": "production", "scopes": ["tn.crm.customers:r"]}),
        )
        .await
        .unwrap(),
        201,
    )
    .await;
    assert_eq!(conn["scopes"], json!(["tn.crm.customers:r"]));
    let listed = json_of(app.admin(Method::GET, &c).send().await.unwrap(), 200).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let shown = json_of(
        app.admin(Method::GET, &format!("/admin/v1/apps/{app_id}"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(shown["connections"][0]["tenantId"], 5_000_000_001i64);

    let unconnected = json_of(
        post(
            &format!("{t}/clients"),
            json!({"appId": app_id, "environment": "integration"}),
        )
        .await
        .unwrap(),
        400,
    )
    .await;
    assert!(unconnected["errors"]["appId"].is_array());
    let issued = json_of(
        post(
            &format!("{t}/clients"),
            json!({"appId": app_id, "environment": "production"}),
        )
        .await
        .unwrap(),
        201,
    )
    .await;
    let client_id = issued["clientId"].as_str().unwrap().to_string();
    let secret = issued["clientSecret"].as_str().unwrap().to_string();

    // The credentials work, and only the granted scope is in the token.
    let token = app
        .http
        .post(format!("{}/connect/token", app.auth_url("production")))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ])
        .send()
        .await
        .unwrap();
    let token = json_of(token, 200).await;
    assert_eq!(token["scope"], "tn.crm.customers:r");

    let cl = format!("/admin/v1/clients/{client_id}");
    let second = json_of(
        post(&format!("{cl}/secrets"), json!({})).await.unwrap(),
        201,
    )
    .await;
    assert_eq!(second["slot"], 2);
    let full = json_of(
        post(&format!("{cl}/secrets"), json!({})).await.unwrap(),
        409,
    )
    .await;
    assert_api_error(&full, 409);
    let retired = json_of(
        app.admin(Method::DELETE, &format!("{cl}/secrets/1"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(retired["secrets"][0]["setOn"], Value::Null);
    let last = json_of(
        app.admin(Method::DELETE, &format!("{cl}/secrets/2"))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(last["errors"]["slot"].is_array());
    let bad_slot = json_of(
        app.admin(Method::DELETE, &format!("{cl}/secrets/3"))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(bad_slot["errors"]["slot"].is_array());
    let disabled = json_of(
        post(&format!("{cl}/disable"), json!({})).await.unwrap(),
        200,
    )
    .await;
    assert_eq!(disabled["enabled"], false);
    let enabled = json_of(post(&format!("{cl}/enable"), json!({})).await.unwrap(), 200).await;
    assert_eq!(enabled["enabled"], true);
    let clients = json_of(
        app.admin(Method::GET, &format!("{t}/clients"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(clients["data"][0]["clientId"], client_id.as_str());
    json_of(
        app.admin(Method::GET, "/admin/v1/clients/cid.nope")
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;

    let gone = json_of(
        app.admin(Method::DELETE, &format!("{c}/{app_id}/production"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(gone["connected"], false);
    json_of(
        app.admin(Method::DELETE, &format!("{c}/{app_id}/production"))
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let after = json_of(app.admin(Method::GET, &cl).send().await.unwrap(), 200).await;
    assert_eq!(
        after["enabled"], false,
        "a disconnect disables the app's clients"
    );

    // The audit log: every change, filterable by tenant, app and time; no secret in it.
    let audit = json_of(
        app.admin(Method::GET, "/admin/v1/audit?tenantId=5000000001")
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
        .rev()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "tenant.created",
            "tenant_admin.created",
            "connection.created",
            "client.created",
            "client.secret_added",
            "client.secret_retired",
            "client.disabled",
            "client.enabled",
            "connection.deleted",
        ]
    );
    let first = &audit["data"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(first["actor"], "operator");
    assert_eq!(first["address"], "127.0.0.1");
    let of_app = json_of(
        app.admin(
            Method::GET,
            &format!("/admin/v1/audit?appId={app_id}&limit=2"),
        )
        .send()
        .await
        .unwrap(),
        200,
    )
    .await;
    assert_eq!(of_app["data"].as_array().unwrap().len(), 2);
    assert_eq!(of_app["data"][0]["action"], "connection.deleted");
    let future = json_of(
        app.admin(Method::GET, "/admin/v1/audit?since=2999-01-01")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(future["data"], json!([]));
    let past = json_of(
        app.admin(Method::GET, "/admin/v1/audit?until=2000-01-01T00:00:00Z")
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(past["data"], json!([]));
    let bad = json_of(
        app.admin(Method::GET, "/admin/v1/audit?since=yesterday")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(bad["errors"]["since"].is_array());
    let bad = json_of(
        app.admin(Method::GET, "/admin/v1/audit?tenant=1")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(bad["errors"]["tenant"].is_array());
    let everything = app
        .admin(Method::GET, "/admin/v1/audit?limit=1000")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for secret in [
        &secret,
        second["clientSecret"].as_str().unwrap(),
        &app_key,
        token["access_token"].as_str().unwrap(),
    ] {
        assert!(!everything.contains(secret));
    }
    assert!(!everything.contains("a long enough password"));

    // Framework refusals answer in the problem format too.
    let wrong_method = app
        .admin(Method::PUT, "/admin/v1/tenants")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_api_error(&wrong_method.json().await.unwrap(), 405);
    let not_json = app
        .admin(Method::POST, "/admin/v1/tenants")
        .body("id=1")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 415);
    app.stop().await;
}
