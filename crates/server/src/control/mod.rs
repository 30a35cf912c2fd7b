//! Control-plane operations: developers, apps and their keys, tenants, connections and client
//! credentials. Each change writes an audit event; secrets are returned once and stored only
//! as keyed digests.

use fieldgate_store::{
    App, AppKey, AuditEvent, Client, Connection, Developer, Environment, Store, StoreError, Tenant,
    TenantKind,
};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::crypto::{Keys, random_string};

/// Digest purposes, so an app key can never be presented as a client secret or vice versa.
pub const APP_KEY_PURPOSE: &str = "app-key";
pub const SECRET_PURPOSE: &str = "client-secret";

/// Who made a change, as the audit log records it.
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
}

/// A client id with its secret, as shown once at creation.
pub struct IssuedClient {
    pub client_id: String,
    pub client_secret: SecretString,
}

pub struct Control<'a> {
    pub store: &'a dyn Store,
    pub keys: &'a Keys,
    pub actor: Actor,
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

impl Control<'_> {
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

    pub async fn create_developer(&self, name: &str, email: &str) -> Result<Developer, StoreError> {
        let developer = self.store.create_developer(name, email).await?;
        self.audit(
            "developer.created",
            None,
            None,
            None,
            json!({"developerId": developer.id, "email": email}),
        )
        .await?;
        Ok(developer)
    }

    pub async fn create_app(
        &self,
        developer_id: i64,
        name: &str,
        scopes: &[String],
    ) -> Result<App, StoreError> {
        let app = self.store.create_app(developer_id, name, scopes).await?;
        self.audit(
            "app.created",
            None,
            Some(app.id),
            None,
            json!({"name": name, "scopes": scopes}),
        )
        .await?;
        Ok(app)
    }

    /// Issues a new app key; the returned key is the only copy.
    pub async fn issue_app_key(&self, app_id: i64) -> Result<SecretString, StoreError> {
        let key = format!("ak1.{}", random_string(40));
        let hint = key[..8].to_string();
        self.store
            .add_app_key(&AppKey {
                digest: self.keys.digest(APP_KEY_PURPOSE, &key).to_vec(),
                app_id,
                hint: hint.clone(),
                created_us: now_us(),
                expires_us: None,
            })
            .await?;
        self.audit(
            "app_key.issued",
            None,
            Some(app_id),
            None,
            json!({"hint": hint}),
        )
        .await?;
        Ok(SecretString::from(key))
    }

    pub async fn create_tenant(
        &self,
        id: i64,
        name: &str,
        kind: TenantKind,
    ) -> Result<Tenant, StoreError> {
        let tenant = Tenant {
            id,
            name: name.into(),
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

    /// Connects an app to a tenant in one environment, granting some of the scopes it asks for.
    pub async fn connect(
        &self,
        app: &App,
        tenant_id: i64,
        environment: Environment,
        granted: &[String],
    ) -> Result<Connection, StoreError> {
        if let Some(extra) = granted.iter().find(|s| !app.scopes.contains(s)) {
            return Err(StoreError::Invalid(format!(
                "the app does not ask for scope {extra}"
            )));
        }
        let connection = Connection {
            app_id: app.id,
            tenant_id,
            environment,
            scopes: granted.to_vec(),
            created_us: now_us(),
        };
        self.store.put_connection(&connection).await?;
        self.audit(
            "connection.created",
            Some(tenant_id),
            Some(app.id),
            Some(environment),
            json!({"scopes": granted}),
        )
        .await?;
        Ok(connection)
    }

    pub async fn disconnect(
        &self,
        app_id: i64,
        tenant_id: i64,
        environment: Environment,
    ) -> Result<(), StoreError> {
        self.store
            .delete_connection(app_id, tenant_id, environment)
            .await?;
        self.audit(
            "connection.deleted",
            Some(tenant_id),
            Some(app_id),
            Some(environment),
            json!({}),
        )
        .await
    }

    /// Issues client credentials for (app, tenant, environment); the secret is the only copy.
    pub async fn issue_client(
        &self,
        app_id: i64,
        tenant_id: i64,
        environment: Environment,
    ) -> Result<IssuedClient, StoreError> {
        if self
            .store
            .connection(app_id, tenant_id, environment)
            .await?
            .is_none()
        {
            return Err(StoreError::Invalid(format!(
                "app {app_id} is not connected to tenant {tenant_id} in {environment}"
            )));
        }
        let client_id = format!("cid.{}", random_string(26));
        let secret = format!("cs1.{}", random_string(40));
        self.store
            .create_client(&Client {
                client_id: client_id.clone(),
                app_id,
                tenant_id,
                environment,
                secret1: Some(self.keys.digest(SECRET_PURPOSE, &secret).to_vec()),
                secret2: None,
                enabled: true,
                created_us: now_us(),
            })
            .await?;
        self.audit(
            "client.created",
            Some(tenant_id),
            Some(app_id),
            Some(environment),
            json!({"clientId": client_id}),
        )
        .await?;
        Ok(IssuedClient {
            client_id,
            client_secret: SecretString::from(secret),
        })
    }

    pub async fn set_client_enabled(
        &self,
        client_id: &str,
        enabled: bool,
    ) -> Result<(), StoreError> {
        let client = self
            .store
            .client(client_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("client {client_id}")))?;
        self.store.set_client_enabled(client_id, enabled).await?;
        let action = if enabled {
            "client.enabled"
        } else {
            "client.disabled"
        };
        self.audit(
            action,
            Some(client.tenant_id),
            Some(client.app_id),
            Some(client.environment),
            json!({"clientId": client_id}),
        )
        .await
    }
}
