//! The web console in a real headless Chromium: the whole credential story, as a developer and
//! a tenant admin live it, with the API called between the steps.

mod common;
mod webdriver;

use std::time::{Duration, Instant};

use serde_json::Value;
use webdriver::Browser;

/// The harness itself: the sign-in page loads, is styled from the binary, and a screenshot
/// can be taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_page_loads_in_chromium() {
    let app = common::spawn().await;
    let web = app.web_url();
    let browser = Browser::start().await;
    browser
        .run("sign-in-page", async |b| {
            b.step("open the sign-in page").await;
            b.goto(&format!("{web}/sign-in")).await?;
            anyhow::ensure!(b.text("h1").await? == "Sign in");
            b.find("input[name=csrf]").await?;
            let png = b.client.screenshot().await?;
            anyhow::ensure!(png.starts_with(b"\x89PNG"), "not a PNG screenshot");
            Ok(())
        })
        .await;
    app.stop().await;
}

/// What an integration does with its credentials: a token, then a list of customers.
struct Api<'a> {
    app: &'a common::TestApp,
    key: String,
    tenant: i64,
}

impl Api<'_> {
    /// Status of the token request, and the token when it is issued.
    async fn token(&self, id: &str, secret: &str) -> (u16, Option<String>) {
        let response = self
            .app
            .http
            .post(format!(
                "{}/connect/token",
                self.app.auth_url("integration")
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        (status, body["access_token"].as_str().map(str::to_string))
    }

    async fn customers(&self, token: &str) -> u16 {
        self.app
            .http
            .get(format!(
                "{}/crm/v2/tenant/{}/customers?pageSize=1",
                self.app.api_url("integration"),
                self.tenant
            ))
            .header("ST-App-Key", &self.key)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// A token is issued with these credentials, and the call with it succeeds (within the
    /// gateway's one-second cache of what it knows of the client).
    async fn works(&self, id: &str, secret: &str) -> anyhow::Result<String> {
        let (status, token) = self.token(id, secret).await;
        let token = token.ok_or_else(|| anyhow::anyhow!("token refused: {status}"))?;
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let called = self.customers(&token).await;
            if called == 200 {
                return Ok(token);
            }
            anyhow::ensure!(Instant::now() < deadline, "the API call answered {called}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The call with `token` is refused within the gateway's one-second cache.
    async fn refused_soon(&self, token: &str) -> anyhow::Result<u16> {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let status = self.customers(token).await;
            if status != 200 {
                return Ok(status);
            }
            anyhow::ensure!(Instant::now() < deadline, "the call still works");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_story_in_chromium() {
    let app = common::spawn().await;
    let web = app.web_url();
    let (admin_email, admin_password) = app.login(Some(common::CUSTOMER));
    let browser = Browser::start().await;
    browser
        .run("credential-story", async |b| {
            b.step("a developer signs up").await;
            b.goto(&format!("{web}/sign-up")).await?;
            b.fill("#name", "Story Developer").await?;
            b.fill("#email", "story@dev.fieldgate.test").await?;
            b.fill("#password", "a long enough password").await?;
            b.click("#sign-up").await?;
            b.arrive("/portal").await?;

            b.step("the developer creates an app").await;
            b.click("#new-app").await?;
            b.fill("#name", "Story App").await?;
            b.click(r#"input[value="tn.crm.customers:r"]"#).await?;
            b.click(r#"input[value="tn.crm.customers:w"]"#).await?;
            b.step("the developer submits the app").await;
            b.click("#create-app").await?;
            let key = b.text("#app-key").await?;
            let app_id = b.text("#app-id").await?;
            anyhow::ensure!(key.starts_with("ak1."), "no app key shown: {key}");
            b.click(r#"button[data-copy="app-key"]"#).await?;
            let copied = b.text(r#"button[data-copy="app-key"]"#).await?;
            anyhow::ensure!(copied != "Copy", "the copy button did nothing");
            b.step("the developer signs out").await;
            b.click("#sign-out").await?;

            b.step("a tenant admin connects the app").await;
            b.fill("#email", &admin_email).await?;
            b.fill("#password", &admin_password).await?;
            b.click("#sign-in").await?;
            b.arrive("/console").await?;
            b.goto(&format!("{web}/console/connect")).await?;
            b.fill("#app", &app_id).await?;
            b.click("#find").await?;
            let asked = b.text("#connect-form h2").await?;
            anyhow::ensure!(asked == "Story App", "looked up {asked}");
            b.find(r#"input[value="tn.crm.customers:w"]:checked"#)
                .await?;
            b.step("the admin accepts the scopes").await;
            b.click("#connect").await?;
            b.find("#notice").await?;

            b.step("the admin issues integration credentials").await;
            let connection = format!(r#"section[data-app="{app_id}"][data-env="integration"]"#);
            b.click(&format!("{connection} button.issue-client"))
                .await?;
            let client_id = b.text("#issued-client-id").await?;
            let first_secret = b.text("#issued-secret").await?;
            let api = Api {
                app: &app,
                key: key.clone(),
                tenant: common::CUSTOMER,
            };

            b.step("an API call with them works").await;
            let token = api.works(&client_id, &first_secret).await?;

            b.step("the admin disables the client; the call is refused")
                .await;
            let row = format!(r#"tr.client[data-client="{client_id}"]"#);
            b.click(&format!("{row} button.disable")).await?;
            b.find(&format!(r#"{row}[data-enabled="false"]"#)).await?;
            let (status, _) = api.token(&client_id, &first_secret).await;
            anyhow::ensure!(
                status == 400 || status == 401,
                "a disabled client got {status}"
            );
            api.refused_soon(&token).await?;

            b.step("the admin enables it; it works again").await;
            b.click(&format!("{row} button.enable")).await?;
            b.find(&format!(r#"{row}[data-enabled="true"]"#)).await?;
            api.works(&client_id, &first_secret).await?;

            b.step("the admin adds a second secret; both work").await;
            b.click(&format!("{row} button.add-secret")).await?;
            let second_secret = b.wait_text("#issued-secret", |t| t != first_secret).await?;
            let old_token = api.works(&client_id, &first_secret).await?;
            api.works(&client_id, &second_secret).await?;

            b.step("the admin retires the first; the old secret stops working")
                .await;
            b.click(&format!(r#"{row} li.slot[data-slot="1"] button.retire"#))
                .await?;
            b.wait_text("#notice", |t| t.contains("retired")).await?;
            let (status, _) = api.token(&client_id, &first_secret).await;
            anyhow::ensure!(
                status == 401 || status == 400,
                "the retired secret got {status}"
            );
            api.refused_soon(&old_token).await?;
            api.works(&client_id, &second_secret).await?;

            b.step("the tenant's audit log tells the story, without secrets")
                .await;
            b.goto(&format!("{web}/console/audit")).await?;
            let audit = b.text("#audit").await?;
            for action in [
                "connection.created",
                "client.created",
                "client.disabled",
                "client.enabled",
                "client.secret_added",
                "client.secret_retired",
            ] {
                anyhow::ensure!(audit.contains(action), "the audit log lacks {action}");
            }
            for secret in [&first_secret, &second_secret, &key] {
                anyhow::ensure!(
                    !audit.contains(secret.as_str()),
                    "a secret is in the audit log"
                );
            }
            b.step("the admin refreshes the integration data after confirming")
                .await;
            b.goto(&format!("{web}/console")).await?;
            b.click("a.refresh").await?;
            let warning = b.text("#confirmation-text").await?;
            anyhow::ensure!(warning.contains("will be lost"), "warned: {warning}");
            b.click("#confirm").await?;
            b.click("button.request-refresh").await?;
            b.arrive("/console").await?;
            b.step("the console follows the refresh until it is done")
                .await;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let status = b.text("tr.refresh-job .status").await?;
                if status == "done" {
                    break;
                }
                anyhow::ensure!(status != "failed", "the refresh failed");
                anyhow::ensure!(Instant::now() < deadline, "the refresh never finished");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let rows = b.text("tr.refresh-job .rows").await?;
            let (copied, total) = rows.split_once(" / ").unwrap_or_default();
            anyhow::ensure!(copied == total && total != "0", "rows shown: {rows}");
            api.works(&client_id, &second_secret).await?;

            b.step("disconnecting asks first; dismissing keeps the connection")
                .await;
            b.goto(&format!("{web}/console")).await?;
            b.click(&format!("{connection} button.disconnect")).await?;
            let question = b.client.get_alert_text().await?;
            anyhow::ensure!(question.contains("Story App"), "asked: {question}");
            b.client.dismiss_alert().await?;
            b.find(&connection).await?;
            api.works(&client_id, &second_secret).await?;

            b.step("the admin signs out").await;
            b.click("#sign-out").await?;

            b.step("the developer sees the tenant connected").await;
            b.fill("#email", "story@dev.fieldgate.test").await?;
            b.fill("#password", "a long enough password").await?;
            b.click("#sign-in").await?;
            b.click("a.app-link").await?;
            let connections = b.text("#connections").await?;
            anyhow::ensure!(
                connections.contains(&common::CUSTOMER.to_string())
                    && connections.contains("integration"),
                "the portal does not list the connection: {connections}"
            );
            Ok(())
        })
        .await;
    app.stop().await;
}
