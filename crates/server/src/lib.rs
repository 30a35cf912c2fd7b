//! fieldgate's server: the auth hosts, the gateway and the catalog-driven resource engine of
//! the integration and production environments.

pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod control;
pub mod crypto;
pub mod demo;
pub mod engine;
pub mod error;
pub mod gateway;
pub mod keys;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod refresh;
pub mod state;
pub mod web;

use std::sync::Arc;

use fieldgate_store::Store;
use fieldgate_store::postgres::PgStore;
use fieldgate_store::sqlite::SqliteStore;

pub use app::Running;
pub use config::Config;
pub use state::AppState;

/// Opens the store and keys a config names, ready to build the state.
pub async fn open(config: &Config) -> anyhow::Result<(Arc<dyn Store>, crypto::Keys)> {
    if let Some(url) = &config.database_url {
        // Every node must derive the same digests and open the same sealed keys.
        let master = config.master_key.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "with a shared database, set FIELDGATE_MASTER_KEY, the same on every node"
            )
        })?;
        let keys = crypto::Keys::from_master(master)?;
        let store = PgStore::connect(url)
            .await
            .map_err(|e| anyhow::anyhow!("connecting to the database: {e}"))?;
        return Ok((Arc::new(store), keys));
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let keys = crypto::Keys::load_or_create(config.master_key.as_ref(), &config.data_dir)?;
    let store = SqliteStore::open(&config.database_path()).await?;
    Ok((Arc::new(store), keys))
}

/// Binds the listeners, builds the state and serves both environments.
pub async fn start(
    mut config: Config,
    store: Arc<dyn Store>,
    keys: crypto::Keys,
) -> anyhow::Result<(Arc<AppState>, Running)> {
    let listeners = app::bind(&mut config).await?;
    let state = AppState::new(config, store, keys).await?;
    let running = app::serve(state.clone(), listeners, true);
    Ok((state, running))
}
