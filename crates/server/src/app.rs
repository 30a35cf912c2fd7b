//! Listeners: an auth host and an API host per environment, the operator listener and the web
//! pages. Hosts configured on the same address share one listener and are told apart by the
//! `Host` header.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::header;
use axum::response::IntoResponse;
use fieldgate_store::Environment;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::api::{self, ApiState};
use crate::auth::{self, AuthState};
use crate::config::Config;
use crate::error::ApiError;
use crate::state::AppState;

/// Listeners bound before the state is built, so port 0 can be resolved into public URLs.
pub struct Listeners {
    bound: BTreeMap<SocketAddr, TcpListener>,
    ops_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    web_addr: Option<SocketAddr>,
}

/// Binds every configured address once. A public URL whose port is 0 takes the bound port.
pub async fn bind(config: &mut Config) -> std::io::Result<Listeners> {
    let mut bound: BTreeMap<SocketAddr, TcpListener> = BTreeMap::new();
    for environment in Environment::ALL {
        let env = config.env_mut(environment);
        for (host, addr, url) in [
            ("auth", &mut env.auth_listen, &mut env.auth_url),
            ("api", &mut env.api_listen, &mut env.api_url),
        ] {
            let listener = match bound.get(addr) {
                Some(_) => None,
                None => Some(TcpListener::bind(*addr).await.map_err(|e| {
                    let key = format!("FIELDGATE_{environment}__{host}_LISTEN").to_uppercase();
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "cannot listen on {addr} for the {environment} {host} host ({e}); \
                             set {key} and the matching URL to use another address"
                        ),
                    )
                })?),
            };
            let requested = *addr;
            if let Some(listener) = listener {
                let actual = listener.local_addr()?;
                bound.insert(actual, listener);
                *addr = actual;
            }
            if requested.port() == 0 && url.ends_with(":0") {
                *url = format!("{}{}", url.trim_end_matches('0'), addr.port());
            }
        }
    }
    let mut ops_addr = None;
    if let Some(addr) = config.ops_listen.as_mut() {
        let listener = TcpListener::bind(*addr).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {addr} for operators ({e}); set FIELDGATE_OPS_LISTEN"),
            )
        })?;
        *addr = listener.local_addr()?;
        ops_addr = Some(*addr);
        bound.insert(*addr, listener);
    }
    let admin_addr = bind_admin(config, &mut bound).await?;
    let web_addr = bind_web(config, &mut bound, admin_addr).await?;
    Ok(Listeners {
        bound,
        ops_addr,
        admin_addr,
        web_addr,
    })
}

/// The admin API's listener, only when an operator token is configured: without one nobody
/// could call it, and an open port would only invite guesses.
async fn bind_admin(
    config: &mut Config,
    bound: &mut BTreeMap<SocketAddr, TcpListener>,
) -> std::io::Result<Option<SocketAddr>> {
    let Some(addr) = config.admin_listen.as_mut() else {
        return Ok(None);
    };
    if config.operator_token.is_none() {
        tracing::info!(
            "the admin API is off: set FIELDGATE_OPERATOR_TOKEN (operator_token) to start it \
             on {addr}"
        );
        return Ok(None);
    }
    if bound.contains_key(addr) {
        return Err(std::io::Error::other(format!(
            "the admin API needs its own address; {addr} is already in use by another host \
             (set FIELDGATE_ADMIN_LISTEN)"
        )));
    }
    let listener = TcpListener::bind(*addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {addr} for the admin API ({e}); set FIELDGATE_ADMIN_LISTEN"),
        )
    })?;
    *addr = listener.local_addr()?;
    bound.insert(*addr, listener);
    Ok(Some(*addr))
}

/// The portal and console may share an API host's listener (told apart by `Host`) or have
/// their own.
async fn bind_web(
    config: &mut Config,
    bound: &mut BTreeMap<SocketAddr, TcpListener>,
    admin_addr: Option<SocketAddr>,
) -> std::io::Result<Option<SocketAddr>> {
    let Some(addr) = config.web_listen.as_mut() else {
        return Ok(None);
    };
    if admin_addr == Some(*addr) {
        return Err(std::io::Error::other(format!(
            "the web console cannot share {addr} with the admin API (set FIELDGATE_WEB_LISTEN)"
        )));
    }
    let requested = *addr;
    if !bound.contains_key(addr) {
        let listener = TcpListener::bind(*addr).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot listen on {addr} for the web console ({e}); set \
                     FIELDGATE_WEB_LISTEN and FIELDGATE_WEB_URL to use another address"
                ),
            )
        })?;
        *addr = listener.local_addr()?;
        bound.insert(*addr, listener);
    }
    if requested.port() == 0 && config.web_url.ends_with(":0") {
        config.web_url = format!("{}{}", config.web_url.trim_end_matches('0'), addr.port());
    }
    Ok(Some(*addr))
}

/// One environment's two routers.
pub fn routers(state: &Arc<AppState>, environment: Environment, gateway: bool) -> (Router, Router) {
    let env = state.env(environment).clone();
    let auth = auth::router(AuthState {
        app: state.clone(),
        env: env.clone(),
    });
    let api = api::router(ApiState {
        app: state.clone(),
        env,
        gateway,
    });
    (auth, api)
}

/// `host[:port]` of a URL, as a `Host` header would carry it; a default port is dropped on
/// both sides, so `api.example.com` and `api.example.com:443` match.
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    normal_host(rest.split('/').next().unwrap_or_default())
}

/// Whether a URL names this machine (`127.x`, `localhost` or `[::1]`), where plain http never
/// leaves the host.
pub fn is_loopback_url(url: &str) -> bool {
    let authority = authority(url);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn normal_host(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    match host
        .strip_suffix(":443")
        .or_else(|| host.strip_suffix(":80"))
    {
        Some(bare) => bare.to_string(),
        None => host,
    }
}

fn by_host(routes: Vec<(String, Router)>) -> Router {
    if routes.len() == 1 {
        return routes.into_iter().next().expect("one route").1;
    }
    let routes = Arc::new(routes);
    Router::new().fallback(move |req: Request| {
        let routes = routes.clone();
        async move {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(normal_host)
                .unwrap_or_default();
            // Health checks answer whatever the Host: load balancers probe by address.
            let health = matches!(req.uri().path(), "/healthz" | "/readyz");
            let found = routes.iter().find(|(authority, _)| *authority == host);
            match found.or_else(|| health.then(|| &routes[0])) {
                Some((_, router)) => router.clone().oneshot(req).await.into_response(),
                None => ApiError::not_found(format!(
                    "No fieldgate host is configured for Host `{host}`."
                ))
                .with_trace(&crate::error::new_trace_id())
                .into_response(),
            }
        }
    })
}

/// A running server: its addresses, and a way to stop it that lets requests in flight finish.
pub struct Running {
    pub addrs: Vec<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }

    /// Waits until every listener has stopped.
    pub async fn wait(self) -> std::io::Result<()> {
        for task in self.tasks {
            task.await.map_err(std::io::Error::other)??;
        }
        Ok(())
    }

    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

/// Serves both environments on the bound listeners.
pub fn serve(state: Arc<AppState>, listeners: Listeners, gateway: bool) -> Running {
    let mut per_addr: BTreeMap<SocketAddr, Vec<(String, Router)>> = BTreeMap::new();
    for environment in Environment::ALL {
        let (auth, api) = routers(&state, environment, gateway);
        let env = state.config.env(environment);
        per_addr
            .entry(env.auth_listen)
            .or_default()
            .push((authority(&env.auth_url), auth));
        per_addr
            .entry(env.api_listen)
            .or_default()
            .push((authority(&env.api_url), api));
    }

    if let Some(ops) = listeners.ops_addr {
        per_addr
            .entry(ops)
            .or_default()
            .push((String::new(), crate::ops::router(state.clone())));
    }
    if let Some(admin) = listeners.admin_addr {
        tracing::info!(%admin, "admin API listening");
        per_addr
            .entry(admin)
            .or_default()
            .push((String::new(), crate::admin::router(state.admin())));
    }
    if let Some(web) = listeners.web_addr {
        per_addr.entry(web).or_default().push((
            authority(&state.config.web_url),
            crate::web::router(state.clone()),
        ));
    }

    let (stop, stopped) = watch::channel(false);
    let mut addrs = Vec::new();
    let mut tasks = Vec::new();
    for (addr, listener) in listeners.bound {
        let router = by_host(per_addr.remove(&addr).unwrap_or_default());
        let mut stopped = stopped.clone();
        addrs.push(addr);
        tasks.push(tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
        }));
    }
    // Queued refresh jobs: every process runs a runner, and each job goes to exactly one.
    if state.config.refresh.run_jobs {
        let runner = state.refresh.clone();
        let stopped = stopped.clone();
        tasks.push(tokio::spawn(async move {
            runner.run(stopped).await;
            Ok(())
        }));
    }
    // Keys another node created or rotated reach this node's JWKS within a minute, and its
    // gateway at once (it reloads on meeting an unknown key id).
    let mut stopped = stopped.clone();
    tasks.push(tokio::spawn(async move {
        let mut every = tokio::time::interval(KEY_RELOAD_EVERY);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = stopped.wait_for(|s| *s) => return Ok(()),
            }
            for environment in Environment::ALL {
                let env = state.env(environment);
                if let Err(e) = env.reload_keys(state.store.as_ref(), &state.keys).await {
                    tracing::warn!(%environment, error = %e, "reloading signing keys failed");
                }
            }
        }
    }));
    Running { addrs, stop, tasks }
}

const KEY_RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Serves one environment's API without the gateway, on a loopback address only, so a
/// benchmark can measure what the gateway costs against the same handlers in one run.
pub async fn serve_ungated(
    state: Arc<AppState>,
    environment: Environment,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    if !addr.ip().is_loopback() {
        return Err(std::io::Error::other(
            "the ungated benchmark listener must be on loopback",
        ));
    }
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let (_, api) = routers(&state, environment, false);
    tracing::warn!(%bound, %environment, "serving an API WITHOUT the gateway, for benchmarks");
    Ok((
        bound,
        tokio::spawn(async move { axum::serve(listener, api).await }),
    ))
}
