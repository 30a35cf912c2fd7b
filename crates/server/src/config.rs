//! Typed configuration, layered: defaults, then a TOML file, then `FIELDGATE_` variables.
//!
//! Nested keys use a double underscore in the environment:
//! `FIELDGATE_INTEGRATION__API_LISTEN=0.0.0.0:7102`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use fieldgate_store::Environment;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Where the SQLite store and the master key live.
    pub data_dir: PathBuf,
    /// A PostgreSQL URL (`postgres://user@host/db`) for several nodes sharing one store;
    /// without it the embedded SQLite store in `data_dir` is used.
    #[serde(default)]
    pub database_url: Option<String>,
    pub integration: EnvConfig,
    pub production: EnvConfig,
    /// Key from which digests of secrets and the sealing of signing keys are derived. When
    /// absent, one is generated into `{data_dir}/master.key` on first start.
    #[serde(default, skip_serializing)]
    pub master_key: Option<SecretString>,
    /// Records per page of an export feed.
    pub export_page_size: u32,
    /// Lifetime of access tokens, in seconds.
    pub token_ttl_secs: u64,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// `text` or `json`.
    pub log_format: String,
    /// Request rate limits and failed-token throttling.
    #[serde(default)]
    pub limits: crate::limits::LimitConfig,
    /// Health, readiness and Prometheus metrics for operators; `None` serves only the health
    /// checks, on every host.
    #[serde(default)]
    pub ops_listen: Option<SocketAddr>,
    /// The operator admin API (JSON). It starts only when `operator_token` is set.
    #[serde(default)]
    pub admin_listen: Option<SocketAddr>,
    /// The bearer token the admin API requires (`FIELDGATE_OPERATOR_TOKEN`); at least 32
    /// characters. Without it the admin API does not start.
    #[serde(default, skip_serializing)]
    pub operator_token: Option<SecretString>,
    /// The developer portal and tenant console; `None` serves no web pages.
    #[serde(default)]
    pub web_listen: Option<SocketAddr>,
    /// Where browsers reach the portal and console. An `https` URL makes the session cookies
    /// `Secure`; plain `http` is meant for loopback only.
    pub web_url: String,
    /// Refreshes of integration copies.
    #[serde(default)]
    pub refresh: crate::refresh::RefreshConfig,
}

/// The two listeners of one environment and the public URLs clients reach them at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvConfig {
    pub auth_listen: SocketAddr,
    pub api_listen: SocketAddr,
    /// The token issuer: what clients use as the auth base URL.
    pub auth_url: String,
    pub api_url: String,
}

impl EnvConfig {
    fn local(auth_port: u16, api_port: u16) -> Self {
        Self {
            auth_listen: SocketAddr::from(([127, 0, 0, 1], auth_port)),
            api_listen: SocketAddr::from(([127, 0, 0, 1], api_port)),
            auth_url: format!("http://127.0.0.1:{auth_port}"),
            api_url: format!("http://127.0.0.1:{api_port}"),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            database_url: None,
            integration: EnvConfig::local(7101, 7102),
            production: EnvConfig::local(7201, 7202),
            master_key: None,
            export_page_size: 1000,
            token_ttl_secs: 900,
            body_limit_bytes: 2 * 1024 * 1024,
            log_format: "text".into(),
            limits: crate::limits::LimitConfig::default(),
            ops_listen: Some(SocketAddr::from(([127, 0, 0, 1], 7300))),
            admin_listen: Some(SocketAddr::from(([127, 0, 0, 1], 7310))),
            operator_token: None,
            web_listen: Some(SocketAddr::from(([127, 0, 0, 1], 7400))),
            web_url: "http://127.0.0.1:7400".into(),
            refresh: crate::refresh::RefreshConfig::default(),
        }
    }
}

impl Config {
    /// Defaults, then `file` if given, then `FIELDGATE_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        let figment = figment.merge(Env::prefixed("FIELDGATE_").split("__"));
        figment.extract().map_err(Box::new)
    }

    pub fn env(&self, environment: Environment) -> &EnvConfig {
        match environment {
            Environment::Integration => &self.integration,
            Environment::Production => &self.production,
        }
    }

    pub fn env_mut(&mut self, environment: Environment) -> &mut EnvConfig {
        match environment {
            Environment::Integration => &mut self.integration,
            Environment::Production => &mut self.production,
        }
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("fieldgate.db")
    }

    /// Whether browsers reach the web pages over TLS, so cookies can be marked `Secure`.
    pub fn web_is_https(&self) -> bool {
        self.web_url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn layers_file_then_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "fg.toml",
                "export_page_size = 7\n[production]\napi_url = \"http://x\"",
            )?;
            jail.set_env("FIELDGATE_PRODUCTION__API_URL", "http://api.example:9");
            jail.set_env("FIELDGATE_MASTER_KEY", "k".repeat(40));
            let config = Config::load(Some(Path::new("fg.toml"))).map_err(|e| *e)?;
            assert_eq!(config.export_page_size, 7);
            assert_eq!(config.production.api_url, "http://api.example:9");
            assert_eq!(config.integration.auth_url, "http://127.0.0.1:7101");
            assert_eq!(config.web_url, "http://127.0.0.1:7400");
            assert!(!config.web_is_https());
            assert_eq!(config.master_key.unwrap().expose_secret().len(), 40);
            Ok(())
        });
    }

    #[test]
    fn debug_hides_the_master_key() {
        let config = Config {
            master_key: Some("hunter2hunter2".into()),
            operator_token: Some("swordfish-swordfish".into()),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        assert!(!format!("{config:?}").contains("swordfish"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's error type
    fn the_operator_token_and_admin_address_come_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("FIELDGATE_OPERATOR_TOKEN", "t".repeat(40));
            jail.set_env("FIELDGATE_ADMIN_LISTEN", "127.0.0.1:7999");
            let config = Config::load(None).map_err(|e| *e)?;
            assert_eq!(config.operator_token.unwrap().expose_secret().len(), 40);
            assert_eq!(config.admin_listen.unwrap().port(), 7999);
            Ok(())
        });
    }
}
