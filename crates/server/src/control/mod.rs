//! The control plane's domain services: people and their sessions, apps and app keys, tenants,
//! connections, client credentials and the audit log. The developer portal, the tenant
//! console, the admin API and the CLI all act through [`Control`], so every surface enforces
//! the same rules, and every change writes one audit event naming its [`Actor`].
//!
//! Secrets (passwords, app keys, client secrets, session tokens) are returned once, stored only
//! as keyed digests or Argon2id hashes, and never written to an audit event or a log line.
//! Who may act on what (a developer on their own apps, a tenant admin on their own tenant) is
//! checked by the caller with the `*_of_*` helpers, which answer "not found" for other people's
//! things so their existence does not leak.

use axum::http::StatusCode;
use fieldgate_store::{AuditEvent, Environment, Store, StoreError, Tenant, TenantKind};
use serde_json::{Value, json};

use crate::crypto::{Keys, hex};
use crate::error::ApiError;

mod apps;
mod audit;
mod clients;
mod people;

pub use apps::{AppKeyInfo, ScopeGroup, ScopeInfo, scope_groups};
pub use audit::{DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT};
pub use clients::{ClientInfo, IssuedClient, IssuedSecret, SecretInfo};
pub use people::{NewSession, Role, SESSION_TTL, User};

/// Digest purposes, so an app key can never be presented as a client secret or vice versa.
pub const APP_KEY_PURPOSE: &str = "app-key";
pub const SECRET_PURPOSE: &str = "client-secret";
pub const SESSION_PURPOSE: &str = "session";
const CSRF_PURPOSE: &str = "csrf";

/// Who made a change, as the audit log records it: `operator`, `developer:{id}` or
/// `admin:{user id}@{tenant}`, and the address the request came from.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub address: Option<String>,
}

impl Actor {
    pub fn operator() -> Self {
        Self {
            name: "operator".into(),
            address: None,
        }
    }

    /// The operator, calling from `address` (the admin API, the CLI).
    pub fn operator_at(address: impl Into<String>) -> Self {
        Self {
            name: "operator".into(),
            address: Some(address.into()),
        }
    }

    /// A signed-in person: `developer:{developer id}` or `admin:{user id}@{tenant}`.
    pub fn user(user: &User, address: Option<String>) -> Self {
        let name = match user.role {
            Role::Developer { developer_id } => format!("developer:{developer_id}"),
            Role::TenantAdmin { tenant_id } => format!("admin:{}@{tenant_id}", user.id),
        };
        Self { name, address }
    }
}

/// Why a control-plane operation was refused. `Invalid` names the input field at fault.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0} was not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the email or password is wrong")]
    BadCredentials,
    #[error("too many failed sign-ins; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: u64 },
    #[error(transparent)]
    Store(StoreError),
    #[error("internal failure: {0}")]
    Internal(String),
}

impl ControlError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<StoreError> for ControlError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => ControlError::Conflict(format!("{what} already exists")),
            StoreError::NotFound(what) => ControlError::NotFound(what),
            StoreError::Invalid(why) => ControlError::Invalid {
                field: "request",
                message: why,
            },
            other => ControlError::Store(other),
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::Invalid { field, message } => ApiError::field(field, message),
            ControlError::NotFound(what) => ApiError::not_found(format!("{what} was not found.")),
            ControlError::Conflict(what) => ApiError::new(StatusCode::CONFLICT, format!("{what}.")),
            ControlError::BadCredentials => {
                ApiError::unauthorized("The email or password is wrong.")
            }
            ControlError::Throttled { retry_after_secs } => {
                let mut error = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Too many failed sign-ins. Try again in {retry_after_secs} seconds."),
                );
                error.retry_after = Some(retry_after_secs);
                error
            }
            ControlError::Store(e) => ApiError::from(e),
            ControlError::Internal(why) => {
                tracing::error!(error = %why, "control-plane failure");
                ApiError::internal()
            }
        }
    }
}

pub type ControlResult<T> = Result<T, ControlError>;

/// The control plane, acting for one actor.
pub struct Control<'a> {
    pub store: &'a dyn Store,
    pub keys: &'a Keys,
    pub actor: Actor,
}

pub(crate) fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

impl Control<'_> {
    /// Writes the audit event of a change and its log line. `detail` must hold no secret.
    async fn audit(
        &self,
        action: &str,
        tenant_id: Option<i64>,
        app_id: Option<i64>,
        environment: Option<Environment>,
        detail: Value,
    ) -> Result<(), StoreError> {
        tracing::info!(actor = %self.actor.name, action, tenant_id, app_id, env = ?environment, "control-plane change");
        self.store
            .append_audit(&AuditEvent {
                at_us: now_us(),
                actor: self.actor.name.clone(),
                action: action.into(),
                tenant_id,
                app_id,
                environment,
                address: self.actor.address.clone(),
                detail,
            })
            .await
    }

    /// Writes an audit event for a change made elsewhere (such as a refresh request), with
    /// this control's actor. `detail` must hold no secret.
    pub async fn record(
        &self,
        action: &str,
        tenant_id: Option<i64>,
        app_id: Option<i64>,
        environment: Option<Environment>,
        detail: Value,
    ) -> ControlResult<()> {
        Ok(self
            .audit(action, tenant_id, app_id, environment, detail)
            .await?)
    }

    pub async fn create_tenant(
        &self,
        id: i64,
        name: &str,
        kind: TenantKind,
    ) -> ControlResult<Tenant> {
        if id <= 0 {
            return Err(ControlError::invalid(
                "id",
                "a tenant id is a positive number",
            ));
        }
        let name = required("name", name, 200)?;
        let tenant = Tenant {
            id,
            name: name.clone(),
            kind,
            created_us: now_us(),
        };
        self.store.create_tenant(&tenant).await?;
        self.audit(
            "tenant.created",
            Some(id),
            None,
            None,
            json!({"name": name, "kind": kind}),
        )
        .await?;
        Ok(tenant)
    }

    pub async fn tenant(&self, id: i64) -> ControlResult<Tenant> {
        self.store
            .tenant(id)
            .await?
            .ok_or_else(|| ControlError::NotFound(format!("tenant {id}")))
    }

    pub async fn tenants(&self) -> ControlResult<Vec<Tenant>> {
        Ok(self.store.tenants().await?)
    }

    /// A stateless CSRF token bound to a session: a keyed digest of the session token, so a
    /// form carries it and the server needs no storage to check it.
    pub fn csrf_token(&self, session_token: &str) -> String {
        hex(&self.keys.digest(CSRF_PURPOSE, session_token))
    }

    /// Whether `presented` is the CSRF token of `session_token`, compared in constant time.
    pub fn csrf_matches(&self, session_token: &str, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.csrf_token(session_token);
        expected.len() == presented.len()
            && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// A trimmed, non-empty text of at most `max` characters.
pub(crate) fn required(field: &'static str, value: &str, max: usize) -> ControlResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ControlError::invalid(field, format!("{field} is required")));
    }
    if value.chars().count() > max {
        return Err(ControlError::invalid(
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(value.to_string())
}
