//! A real server on free ports with the demo's tenants, for end-to-end tests over HTTP.
#![allow(dead_code)]

use std::sync::Arc;

use fieldgate_server::config::Config;
use fieldgate_server::{AppState, Running, demo};
use serde_json::Value;

pub struct TestApp {
    pub state: Arc<AppState>,
    pub running: Option<Running>,
    pub doc: Value,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub const CUSTOMER: i64 = demo::CUSTOMER_TENANT;
/// The operator token every test server's admin API takes.
pub const OPERATOR_TOKEN: &str = "test-operator-token-0123456789abcdef";
pub const SANDBOX: i64 = demo::SANDBOX_TENANT;

/// Starts fieldgate on port 0 with the demo data at a small scale.
pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    for env in [&mut config.integration, &mut config.production] {
        env.auth_listen = "127.0.0.1:0".parse().unwrap();
        env.api_listen = "127.0.0.1:0".parse().unwrap();
        env.auth_url = "http://127.0.0.1:0".into();
        env.api_url = "http://127.0.0.1:0".into();
    }
    config.export_page_size = 100;
    config.ops_listen = Some("127.0.0.1:0".parse().unwrap());
    config.web_listen = Some("127.0.0.1:0".parse().unwrap());
    config.web_url = "http://127.0.0.1:0".into();
    config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    config.operator_token = Some(OPERATOR_TOKEN.to_string().into());
    adjust(&mut config);

    let (store, keys) = fieldgate_server::open(&config).await.unwrap();
    let mut bound_config = config.clone();
    let listeners = fieldgate_server::app::bind(&mut bound_config)
        .await
        .unwrap();
    let doc = demo::create(
        store.as_ref(),
        &keys,
        &bound_config,
        demo::DemoOptions { scale: 40 },
    )
    .await
    .unwrap();
    let state = AppState::new(bound_config, store, keys).await.unwrap();
    let running = fieldgate_server::app::serve(state.clone(), listeners, true);
    TestApp {
        state,
        running: Some(running),
        doc,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl TestApp {
    pub fn auth_url(&self, env: &str) -> String {
        self.doc["environments"][env]["authUrl"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn api_url(&self, env: &str) -> String {
        self.doc["environments"][env]["apiUrl"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Where the portal and console answer.
    pub fn web_url(&self) -> String {
        self.state.config.web_url.clone()
    }

    /// (email, password) of the demo's developer (`tenant` = `None`) or a tenant's admin.
    pub fn login(&self, tenant: Option<i64>) -> (String, String) {
        let login = self.doc["people"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["tenantId"].as_i64() == tenant)
            .unwrap();
        (
            login["email"].as_str().unwrap().into(),
            login["password"].as_str().unwrap().into(),
        )
    }

    pub fn admin_url(&self) -> String {
        self.doc["adminUrl"].as_str().unwrap().to_string()
    }

    /// A request to the admin API with the operator token.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.admin_url()))
            .bearer_auth(OPERATOR_TOKEN)
    }

    pub fn app_key(&self) -> String {
        self.doc["appKey"].as_str().unwrap().to_string()
    }

    /// (client id, secret) of a demo tenant in an environment.
    pub fn credentials(&self, tenant: i64, env: &str) -> (String, String) {
        let t = self.doc["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == tenant)
            .unwrap();
        let c = &t["credentials"][env];
        (
            c["clientId"].as_str().unwrap().into(),
            c["clientSecret"].as_str().unwrap().into(),
        )
    }

    pub async fn token(&self, tenant: i64, env: &str) -> String {
        let (id, secret) = self.credentials(tenant, env);
        let response = self
            .http
            .post(format!("{}/connect/token", self.auth_url(env)))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    /// GET an API path with the app key and a bearer token.
    pub async fn get(&self, env: &str, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.api_url(env)))
            .header("ST-App-Key", self.app_key())
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, env: &str, token: &str, path: &str) -> Value {
        let response = self.get(env, token, path).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Sends a JSON body to an API path with the app key and a bearer token.
    pub async fn send(
        &self,
        method: reqwest::Method,
        env: &str,
        token: &str,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.http
            .request(method, format!("{}{path}", self.api_url(env)))
            .header("ST-App-Key", self.app_key())
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// The control plane, as an operator acting on this server's store.
    pub fn control(&self) -> fieldgate_server::control::Control<'_> {
        fieldgate_server::control::Control {
            store: self.state.store.as_ref(),
            keys: &self.state.keys,
            actor: fieldgate_server::control::Actor::operator(),
        }
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

/// The body is an `ApiErrorResponse`, its members in order, with this status and a trace id.
pub fn assert_api_error(body: &Value, status: u16) {
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["type", "title", "status", "traceId", "errors", "data"],
        "{body}"
    );
    assert_eq!(body["status"], status);
    assert_eq!(body["traceId"].as_str().unwrap().len(), 32);
}
