//! Three nodes over one PostgreSQL database (the real server on 127.0.0.1:5432) with shared
//! rate limits in a Redis of the test's own, stopped halfway.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldgate_server::config::Config;
use fieldgate_server::control::{Actor, Control};
use fieldgate_server::{AppState, Running, demo};
use serde_json::Value;
use sqlx::Connection;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database of this test's own, dropped when done.
struct Database {
    name: String,
}

impl Database {
    async fn create() -> Self {
        let name = format!("fg_multinode_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(ADMIN_URL)
            .await
            .expect("PostgreSQL on 127.0.0.1:5432");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        Self { name }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for Database {
    /// Dropped even when the test fails; psql, because Drop cannot await.
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-qAtc"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A private redis-server on a free port, so stopping it touches no other test.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Node {
    state: Arc<AppState>,
    running: Running,
}

impl Node {
    fn auth(&self) -> String {
        format!("http://{}", self.state.config.production.auth_listen)
    }

    fn api(&self) -> String {
        format!("http://{}", self.state.config.production.api_listen)
    }
}

/// Nodes share the public URLs (the issuer), as behind a load balancer, and listen apart.
fn node_config(database_url: &str, redis_port: u16) -> Config {
    let mut config = Config {
        database_url: Some(database_url.to_string()),
        master_key: Some(
            "a master key shared by every node of this test"
                .to_string()
                .into(),
        ),
        ops_listen: Some("127.0.0.1:0".parse().unwrap()),
        web_listen: Some("127.0.0.1:0".parse().unwrap()),
        web_url: "https://console.fieldgate.test".into(),
        ..Config::default()
    };
    for (env, name) in [
        (&mut config.integration, "integration"),
        (&mut config.production, "production"),
    ] {
        env.auth_listen = "127.0.0.1:0".parse().unwrap();
        env.api_listen = "127.0.0.1:0".parse().unwrap();
        env.auth_url = format!("https://auth-{name}.fieldgate.test");
        env.api_url = format!("https://api-{name}.fieldgate.test");
    }
    config.limits.redis_url = Some(format!("redis://127.0.0.1:{redis_port}"));
    config
}

async fn start_node(config: Config) -> Node {
    let (store, keys) = fieldgate_server::open(&config).await.unwrap();
    let mut config = config;
    let listeners = fieldgate_server::app::bind(&mut config).await.unwrap();
    let state = AppState::new(config, store, keys).await.unwrap();
    let running = fieldgate_server::app::serve(state.clone(), listeners, true);
    Node { state, running }
}

async fn token(http: &reqwest::Client, node: &Node, id: &str, secret: &str) -> String {
    let body: Value = http
        .post(format!("{}/connect/token", node.auth()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

async fn list_status(
    http: &reqwest::Client,
    node: &Node,
    key: &str,
    token: &str,
    tenant: i64,
) -> u16 {
    http.get(format!(
        "{}/crm/v2/tenant/{tenant}/customers?pageSize=1",
        node.api()
    ))
    .header("ST-App-Key", key)
    .bearer_auth(token)
    .send()
    .await
    .unwrap()
    .status()
    .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_share_tokens_revocations_and_rate_limits() {
    let database = Database::create().await;
    let mut redis = Redis::start();
    let http = reqwest::Client::new();

    // Three nodes start together over the empty database; migrations must not race.
    let configs: Vec<Config> = (0..3)
        .map(|_| node_config(&database.url(), redis.port))
        .collect();
    let nodes: Vec<Node> = futures_join(configs).await;

    let doc = demo::create(
        nodes[0].state.store.as_ref(),
        &nodes[0].state.keys,
        &nodes[0].state.config,
        demo::DemoOptions { scale: 20 },
    )
    .await
    .unwrap();
    let key = doc["appKey"].as_str().unwrap().to_string();
    let tenant = demo::CUSTOMER_TENANT;
    let creds = &doc["tenants"][0]["credentials"]["production"];
    let (id, secret) = (
        creds["clientId"].as_str().unwrap(),
        creds["clientSecret"].as_str().unwrap(),
    );

    // A token issued by node A works on B and C.
    let t = token(&http, &nodes[0], id, secret).await;
    for node in &nodes {
        assert_eq!(list_status(&http, node, &key, &t, tenant).await, 200);
    }

    // 300 requests in about a second, spread over the three nodes: about 60 get through.
    let admitted = burst_over(&http, &nodes, &key, &t, tenant).await;
    assert!(
        (55..=65).contains(&admitted),
        "{admitted} admitted; limit 60/s shared in Redis"
    );

    // Redis stops: every node keeps serving, now on its own counters.
    redis.stop();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for node in &nodes {
        assert_eq!(list_status(&http, node, &key, &t, tenant).await, 200);
        assert!(node.state.limiter.is_degraded());
    }
    let ops = nodes[1].state.config.ops_listen.unwrap();
    let ready: Value = http
        .get(format!("http://{ops}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    assert!(
        ready["rateLimits"].as_str().unwrap().starts_with("local"),
        "{ready}"
    );
    let metrics = http
        .get(format!("http://{ops}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("fieldgate_rate_limit_shared 0"),
        "{metrics}"
    );
    let burst = (0..80).map(|_| list_status(&http, &nodes[2], &key, &t, tenant));
    let local: Vec<u16> = futures_util::future::join_all(burst).await;
    let local_admitted = local.iter().filter(|s| **s == 200).count();
    assert!(
        (55..=70).contains(&local_admitted),
        "local limit on one node: {local_admitted}"
    );

    // A client disabled through node A is refused by B within a second.
    let control = Control {
        store: nodes[0].state.store.as_ref(),
        keys: &nodes[0].state.keys,
        actor: Actor::operator(),
    };
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // A secret retired through node A: B refuses the tokens it obtained within a second,
    // and takes those of the new secret, issued by C.
    let added = control.add_secret(id).await.unwrap();
    let new_secret = secrecy::ExposeSecret::expose_secret(&added.client_secret).to_string();
    let t2 = token(&http, &nodes[2], id, &new_secret).await;
    control
        .retire_secret(id, fieldgate_store::SecretSlot::First)
        .await
        .unwrap();
    let retired_at = Instant::now();
    loop {
        let sent = retired_at.elapsed();
        if list_status(&http, &nodes[1], &key, &t, tenant).await == 401 {
            break;
        }
        assert!(
            sent < Duration::from_millis(1500),
            "old token still accepted {sent:?} after the retirement"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(list_status(&http, &nodes[1], &key, &t2, tenant).await, 200);
    let t = t2;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    control.set_client_enabled(id, false).await.unwrap();
    let disabled_at = Instant::now();
    // What is timed is when each accepted request was sent, so a slow answer on a busy
    // machine does not count against the second.
    loop {
        let sent = disabled_at.elapsed();
        let status = list_status(&http, &nodes[1], &key, &t, tenant).await;
        if status == 401 {
            break;
        }
        assert!(
            sent <= Duration::from_millis(1100),
            "still {status} for a request sent {sent:?} after the disable"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    for node in nodes {
        node.running.shutdown().await;
    }
    drop(database);
}

async fn futures_join(configs: Vec<Config>) -> Vec<Node> {
    let handles: Vec<_> = configs
        .into_iter()
        .map(|c| tokio::spawn(start_node(c)))
        .collect();
    let mut nodes = Vec::new();
    for h in handles {
        nodes.push(h.await.unwrap());
    }
    nodes
}

/// Sends 300 requests over about 0.9 s, round-robin over the nodes; returns how many got 200.
async fn burst_over(
    http: &reqwest::Client,
    nodes: &[Node],
    key: &str,
    token: &str,
    tenant: i64,
) -> usize {
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut handles = Vec::new();
    for i in 0..300usize {
        let (http, key, token) = (http.clone(), key.to_string(), token.to_string());
        let api = nodes[i % nodes.len()].api();
        handles.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_micros(3_000 * i as u64)).await;
            let response = http
                .get(format!("{api}/crm/v2/tenant/{tenant}/customers?pageSize=1"))
                .header("ST-App-Key", key)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    let admitted = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(admitted + refused, 300, "{statuses:?}");
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_redis_the_database_shares_the_rate_limit() {
    let database = Database::create().await;
    let http = reqwest::Client::new();
    let configs: Vec<Config> = (0..3)
        .map(|_| {
            let mut config = node_config(&database.url(), 0);
            config.limits.redis_url = None;
            config
        })
        .collect();
    let nodes = futures_join(configs).await;
    let doc = demo::create(
        nodes[0].state.store.as_ref(),
        &nodes[0].state.keys,
        &nodes[0].state.config,
        demo::DemoOptions { scale: 5 },
    )
    .await
    .unwrap();
    let key = doc["appKey"].as_str().unwrap().to_string();
    let creds = &doc["tenants"][0]["credentials"]["production"];
    let (id, secret) = (
        creds["clientId"].as_str().unwrap(),
        creds["clientSecret"].as_str().unwrap(),
    );
    let t = token(&http, &nodes[1], id, secret).await;
    let admitted = burst_over(&http, &nodes, &key, &t, demo::CUSTOMER_TENANT).await;
    assert!(
        (55..=65).contains(&admitted),
        "{admitted} admitted; limit 60/s shared in PostgreSQL"
    );
    for node in nodes {
        assert!(!node.state.limiter.is_degraded());
        node.running.shutdown().await;
    }
    drop(database);
}
