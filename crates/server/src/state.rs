//! What every handler shares: the store, the keys, the catalog and each environment's key ring.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use arc_swap::ArcSwap;
use std::time::Duration;

use fieldgate_catalog::Catalog;
use fieldgate_store::{Environment, Store};

use crate::config::Config;
use crate::crypto::Keys;
use crate::engine::Routes;
use crate::engine::project::Plans;
use crate::keys::Claims;
use crate::keys::{KeyError, KeyRing};
use crate::limits::RateLimiter;

pub struct AppState {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub keys: Keys,
    pub catalog: &'static Catalog,
    pub routes: Routes,
    /// Compiled response projections, by schema.
    pub plans: Plans,
    pub limiter: RateLimiter,
    integration: Arc<EnvState>,
    production: Arc<EnvState>,
    /// App key → app id, expiry and digest hint, cached briefly so the gateway rarely reads
    /// the store.
    pub app_keys: moka::sync::Cache<String, Option<KnownAppKey>>,
    /// Client id → what the gateway checks of it, cached briefly.
    pub clients: moka::sync::Cache<String, Option<Arc<KnownClient>>>,
    /// Runs this process's share of integration refresh jobs.
    pub refresh: Arc<crate::refresh::Runner>,
}

/// What the gateway keeps of an app key: its app, its expiry (µs) and a hint of its digest.
pub type KnownAppKey = (i64, Option<i64>, Arc<str>);

/// What the gateway keeps of a token's client: its app, whether it is enabled, and the scopes
/// its tenant grants now (`None` once the app is disconnected).
pub struct KnownClient {
    pub app_id: i64,
    pub enabled: bool,
    pub granted: Option<std::collections::HashSet<String>>,
    /// When each secret slot in use was set; a token naming another has a retired secret.
    pub secrets: [Option<i64>; 2],
}

impl KnownClient {
    /// Whether the secret a token names (by the time it was set) is still one of the client's.
    pub fn holds_secret(&self, set_us: i64) -> bool {
        self.secrets.contains(&Some(set_us))
    }
}

/// One environment as its handlers see it.
pub struct EnvState {
    pub environment: Environment,
    pub auth_url: String,
    pub api_url: String,
    /// Swapped whole when keys added by other nodes are loaded.
    ring: ArcSwap<KeyRing>,
    last_reload_us: AtomicI64,
    /// Tokens whose signature and issuer were verified, so a token used many times is checked
    /// once; expiry is still checked on every use. Keyed by the signature segment, which is
    /// short, and holding the whole token to compare on a hit.
    pub verified: moka::sync::Cache<String, Arc<(String, Claims)>>,
}

/// How long a verified token stays in the gateway's cache, and how many bytes the cache holds.
const VERIFIED_TOKEN_TTL: Duration = Duration::from_secs(60);
const VERIFIED_TOKENS_BYTES: u64 = 32 * 1024 * 1024;

/// How long the gateway trusts a cached app key or client; a disabled client is refused on
/// every node within this time.
pub const CONTROL_CACHE_TTL: Duration = Duration::from_secs(1);

impl EnvState {
    pub fn ring(&self) -> arc_swap::Guard<Arc<KeyRing>> {
        self.ring.load()
    }

    /// Reloads the environment's keys from the store, at most once a second: another node may
    /// have created or rotated a key this one has not seen.
    pub async fn reload_keys(&self, store: &dyn Store, keys: &Keys) -> Result<bool, KeyError> {
        let now = chrono::Utc::now().timestamp_micros();
        let last = self.last_reload_us.load(Ordering::Relaxed);
        if now - last < 1_000_000
            || self
                .last_reload_us
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
        {
            return Ok(false);
        }
        let ring = KeyRing::load(store, keys, self.environment, &self.auth_url).await?;
        self.ring.store(Arc::new(ring));
        Ok(true)
    }
}

impl AppState {
    pub async fn new(
        config: Config,
        store: Arc<dyn Store>,
        keys: Keys,
    ) -> Result<Arc<Self>, KeyError> {
        let mut envs = Vec::new();
        for environment in Environment::ALL {
            let env = config.env(environment);
            let ring = KeyRing::load(store.as_ref(), &keys, environment, &env.auth_url).await?;
            envs.push(Arc::new(EnvState {
                environment,
                auth_url: env.auth_url.clone(),
                api_url: env.api_url.clone(),
                ring: ArcSwap::from_pointee(ring),
                last_reload_us: AtomicI64::new(0),
                verified: moka::sync::Cache::builder()
                    .time_to_live(VERIFIED_TOKEN_TTL)
                    .weigher(|_: &String, v: &Arc<(String, Claims)>| 2 * v.0.len() as u32 + 512)
                    .max_capacity(VERIFIED_TOKENS_BYTES)
                    .build(),
            }));
        }
        let production = envs.pop().expect("two environments");
        let integration = envs.pop().expect("two environments");
        let catalog = Catalog::get();
        crate::ops::metrics_handle();
        let shared = config.database_url.is_some().then(|| store.clone());
        let limiter = RateLimiter::new(config.limits.clone(), shared)?;
        limiter.probe().await;
        let refresh = Arc::new(crate::refresh::Runner::new(
            store.clone(),
            &keys,
            config.refresh.clone(),
        ));
        Ok(Arc::new(Self {
            refresh,
            config,
            store,
            keys,
            catalog,
            routes: Routes::new(catalog),
            plans: Plans::default(),
            limiter,
            integration,
            production,
            app_keys: short_lived_cache(),
            clients: short_lived_cache(),
        }))
    }

    /// What the admin API works with.
    pub fn admin(self: &Arc<Self>) -> crate::admin::AdminState {
        crate::admin::AdminState {
            store: self.store.clone(),
            keys: self.keys.clone(),
            operator_token: self.config.operator_token.clone(),
            app: Some(self.clone()),
        }
    }

    pub fn env(&self, environment: Environment) -> &Arc<EnvState> {
        match environment {
            Environment::Integration => &self.integration,
            Environment::Production => &self.production,
        }
    }
}

fn short_lived_cache<K, V>() -> moka::sync::Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    moka::sync::Cache::builder()
        .time_to_live(CONTROL_CACHE_TTL)
        .max_capacity(100_000)
        .build()
}
