//! The console's integration data over HTTP: what the copy holds, the confirmation step, a
//! refresh followed through the JSON the page polls, and what another tenant or no session gets.

mod common;
mod web;

use std::time::{Duration, Instant};

use common::{CUSTOMER, SANDBOX, assert_api_error};
use reqwest::StatusCode;
use serde_json::Value;
use web::Visitor;

async fn admin_of(app: &common::TestApp, tenant: i64) -> Visitor {
    let (email, password) = app.login(Some(tenant));
    let mut admin = Visitor::new(&app.web_url());
    admin.sign_in(&email, &password).await;
    admin
}

/// Ticks the confirmation on the console's refresh page and submits it.
async fn confirm_refresh(admin: &mut Visitor) -> web::Page {
    admin
        .submit(
            "/console/refresh",
            "/console/refresh",
            &[("confirm", "yes")],
        )
        .await
}

/// The id of the newest refresh job the console lists.
fn newest_job(page: &web::Page) -> i64 {
    let marker = "class=\"refresh-job\" data-job=\"";
    let start = page.body.find(marker).expect("a refresh job is listed") + marker.len();
    let end = page.body[start..].find('"').unwrap();
    page.body[start..start + end].parse().unwrap()
}

/// The first customer's (id, name) as the API of `env` has it.
async fn first_customer(app: &common::TestApp, env: &str) -> (i64, String) {
    let token = app.token(CUSTOMER, env).await;
    let body = app
        .get_json(
            env,
            &token,
            &format!("/crm/v2/tenant/{CUSTOMER}/customers?pageSize=1&sort=%2Bid"),
        )
        .await;
    let first = &body["data"][0];
    (
        first["id"].as_i64().unwrap(),
        first["name"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn an_admin_confirms_a_masked_refresh_and_follows_it_to_done() {
    let app = common::spawn().await;
    let mut admin = admin_of(&app, CUSTOMER).await;
    let home = admin.get("/console").await;
    assert_eq!(home.status, StatusCode::OK);
    // What integration holds now, apart from what the next refresh makes it.
    assert_eq!(
        home.by_id("integration-holds").as_deref(),
        Some("the data it was set up with (no refresh has finished yet)")
    );
    assert_eq!(
        home.by_id("integration-next").as_deref(),
        Some("a copy of production")
    );
    assert!(home.body.contains("id=\"no-refreshes\""), "{}", home.body);
    assert!(home.body.contains("value=\"production\""));

    let saved = admin
        .submit(
            "/console",
            "/console/integration",
            &[("source", "production"), ("masked", "yes")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let home = admin.get("/console").await;
    assert_eq!(
        home.by_id("integration-next").as_deref(),
        Some("a copy of production, masked")
    );
    assert_eq!(
        home.by_id("integration-holds").as_deref(),
        Some("the data it was set up with (no refresh has finished yet)"),
        "saving a setting changes no data"
    );

    // The confirmation page says what is lost; without the tick nothing is requested.
    let confirm = admin.get("/console/refresh").await;
    assert_eq!(confirm.status, StatusCode::OK);
    let text = confirm.by_id("confirmation-text").unwrap();
    assert!(text.contains("personal data replaced"), "{text}");
    assert!(text.contains("will be lost"), "{text}");
    let unticked = admin
        .submit("/console/refresh", "/console/refresh", &[])
        .await;
    assert_eq!(unticked.status, StatusCode::BAD_REQUEST);
    assert!(unticked.body.contains("Tick the box"));
    assert!(admin.get("/console").await.body.contains("no-refreshes"));

    let production = first_customer(&app, "production").await;
    let requested = confirm_refresh(&mut admin).await;
    assert_eq!(
        requested.status,
        StatusCode::SEE_OTHER,
        "{}",
        requested.body
    );
    assert_eq!(
        requested.location.as_deref(),
        Some("/console?done=refresh-requested#integration-data")
    );
    let home = admin.get("/console?done=refresh-requested").await;
    assert!(home.body.contains("The refresh is requested"));
    let id = newest_job(&home);

    // The JSON the page polls moves forward to done.
    let deadline = Instant::now() + Duration::from_secs(60);
    let last: Value = loop {
        let page = admin.get(&format!("/console/refresh/jobs/{id}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let view: Value = serde_json::from_str(&page.body).unwrap();
        assert_eq!(view["tenantId"], CUSTOMER);
        assert!(view["masked"].as_bool().unwrap());
        match view["status"].as_str().unwrap() {
            "done" | "failed" => break view,
            _ => {}
        }
        assert!(Instant::now() < deadline, "the refresh never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(last["status"], "done", "{last}");
    assert_eq!(last["rowsCopied"], last["rowsTotal"]);
    assert!(last["rowsTotal"].as_i64().unwrap() > 0);

    // Integration now holds the masked copy: same ids, other names.
    let masked = first_customer(&app, "integration").await;
    assert_eq!(masked.0, production.0);
    assert_ne!(masked.1, production.1);

    // Done jobs are no longer polled; a second refresh so soon is refused with the reason.
    let home = admin.get("/console").await;
    assert!(
        home.body
            .contains(&format!("data-job=\"{id}\" data-status=\"done\""))
    );
    assert_eq!(
        home.by_id("integration-holds").as_deref(),
        Some("a copy of production, masked")
    );
    assert!(!home.body.contains("data-poll="));
    let again = confirm_refresh(&mut admin).await;
    assert_eq!(
        again.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        again.body
    );
    assert!(again.body.contains("id=\"form-error\""));

    // The tenant's audit log has the change of settings and the request, naming the admin.
    let audit = admin.get("/console/audit").await.body;
    assert!(audit.contains("integration.settings_changed"), "{audit}");
    assert!(audit.contains("refresh.requested"), "{audit}");

    // Another tenant's admin, and no session at all, learn nothing of the job.
    let mut other = admin_of(&app, SANDBOX).await;
    let foreign = other.get(&format!("/console/refresh/jobs/{id}")).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_api_error(&serde_json::from_str(&foreign.body).unwrap(), 404);
    let not_an_id = other.get("/console/refresh/jobs/abc").await;
    assert_eq!(not_an_id.status, StatusCode::NOT_FOUND);
    assert_api_error(&serde_json::from_str(&not_an_id.body).unwrap(), 404);
    let mut nobody = Visitor::new(&app.web_url());
    let anonymous = nobody.get(&format!("/console/refresh/jobs/{id}")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_api_error(&serde_json::from_str(&anonymous.body).unwrap(), 401);
    let (email, password) = app.login(None);
    let mut developer = Visitor::new(&app.web_url());
    developer.sign_in(&email, &password).await;
    let wrong_role = developer.get(&format!("/console/refresh/jobs/{id}")).await;
    assert_eq!(wrong_role.status, StatusCode::FORBIDDEN);
    assert_api_error(&serde_json::from_str(&wrong_role.body).unwrap(), 403);
}

#[tokio::test]
async fn a_sandbox_is_offered_only_sample_data() {
    let app = common::spawn().await;
    let mut admin = admin_of(&app, SANDBOX).await;
    let home = admin.get("/console").await;
    assert_eq!(
        home.by_id("integration-holds").as_deref(),
        Some("the standard sample data")
    );
    assert!(!home.body.contains("value=\"production\""));
    let refused = admin
        .submit(
            "/console",
            "/console/integration",
            &[("source", "production")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let nonsense = admin
        .submit(
            "/console",
            "/console/integration",
            &[("source", "yesterday")],
        )
        .await;
    assert_eq!(nonsense.status, StatusCode::BAD_REQUEST);
    assert!(nonsense.body.contains("Choose production data"));
    assert_eq!(
        admin
            .get("/console")
            .await
            .by_id("integration-next")
            .as_deref(),
        Some("the standard sample data")
    );
}

#[tokio::test]
async fn a_failed_refresh_is_offered_again_and_retried_from_the_console() {
    // No runner here: the test plays it, so the job fails exactly when and how it says.
    let app = common::spawn_with(|c| c.refresh.run_jobs = false).await;
    let mut admin = admin_of(&app, CUSTOMER).await;
    let requested = confirm_refresh(&mut admin).await;
    assert_eq!(
        requested.status,
        StatusCode::SEE_OTHER,
        "{}",
        requested.body
    );
    let queued = admin.get("/console").await;
    let id = newest_job(&queued);
    assert!(queued.body.contains(&format!(
        "data-job=\"{id}\" data-status=\"queued\" data-poll=\"/console/refresh/jobs/{id}\""
    )));
    assert!(
        !queued.body.contains("/retry\""),
        "a queued job offers a retry"
    );

    let store = app.state.store.as_ref();
    let claimed = store.claim_refresh_job("test").await.unwrap().unwrap();
    assert_eq!(claimed.id, id);
    store
        .finish_refresh_job(id, Err("the disk is full".into()))
        .await
        .unwrap();
    let failed = admin.get("/console").await;
    assert!(
        failed
            .body
            .contains(&format!("data-job=\"{id}\" data-status=\"failed\""))
    );
    assert!(failed.body.contains("the disk is full"));
    let retry = format!("/console/refresh/jobs/{id}/retry");
    assert!(failed.body.contains(&format!("action=\"{retry}\"")));

    let retried = admin.submit("/console", &retry, &[]).await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER, "{}", retried.body);
    let again = admin.get("/console").await;
    let second = newest_job(&again);
    assert!(second > id, "no new job was queued");
    assert!(
        again
            .body
            .contains(&format!("data-job=\"{second}\" data-status=\"queued\""))
    );

    // Another tenant's admin cannot retry it.
    let mut other = admin_of(&app, SANDBOX).await;
    let foreign = other.submit("/console", &retry, &[]).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}
