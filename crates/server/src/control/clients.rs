//! Connections of apps to tenants, and client credentials with two secret slots for rotation.

use fieldgate_store::{App, Client, Connection, Environment, SecretSlot, TenantKind};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::json;

use super::{Control, ControlError, ControlResult, SECRET_PURPOSE, now_us};
use crate::crypto::random_string;

/// A client id with its secret, as shown once at creation.
pub struct IssuedClient {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// A secret added to a client's empty slot, as shown once.
pub struct IssuedSecret {
    pub slot: SecretSlot,
    pub client_secret: SecretString,
}

/// A client as people see it: which slots hold a secret and since when, never the secrets.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    pub client_id: String,
    pub app_id: i64,
    pub tenant_id: i64,
    pub environment: Environment,
    pub enabled: bool,
    pub created_us: i64,
    pub secrets: Vec<SecretInfo>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    /// 1 or 2.
    pub slot: u8,
    /// When the slot's secret was set; `None` while the slot is empty.
    pub set_us: Option<i64>,
}

impl From<Client> for ClientInfo {
    fn from(c: Client) -> Self {
        let slot = |slot: u8, digest: &Option<Vec<u8>>, at: Option<i64>| SecretInfo {
            slot,
            set_us: digest.as_ref().map(|_| at.unwrap_or(c.created_us)),
        };
        Self {
            secrets: vec![
                slot(1, &c.secret1, c.secret1_us),
                slot(2, &c.secret2, c.secret2_us),
            ],
            client_id: c.client_id,
            app_id: c.app_id,
            tenant_id: c.tenant_id,
            environment: c.environment,
            enabled: c.enabled,
            created_us: c.created_us,
        }
    }
}

fn new_secret() -> String {
    format!("cs1.{}", random_string(40))
}

impl Control<'_> {
    /// Connects an app to a tenant in one environment, granting some of the scopes it asks
    /// for. Connecting again replaces the grant. A developer sandbox has no production.
    pub async fn connect(
        &self,
        app: &App,
        tenant_id: i64,
        environment: Environment,
        granted: &[String],
    ) -> ControlResult<Connection> {
        let tenant = self.tenant(tenant_id).await?;
        if tenant.kind == TenantKind::Developer && environment == Environment::Production {
            return Err(ControlError::invalid(
                "environment",
                format!("tenant {tenant_id} is a developer sandbox: integration only"),
            ));
        }
        if let Some(extra) = granted.iter().find(|s| !app.scopes.contains(s)) {
            return Err(ControlError::invalid(
                "scopes",
                format!("the app does not ask for scope {extra}"),
            ));
        }
        let mut scopes = granted.to_vec();
        scopes.sort();
        scopes.dedup();
        let existed = self
            .store
            .connection(app.id, tenant_id, environment)
            .await?
            .is_some();
        let connection = Connection {
            app_id: app.id,
            tenant_id,
            environment,
            scopes,
            created_us: now_us(),
        };
        self.store.put_connection(&connection).await?;
        let action = if existed {
            "connection.updated"
        } else {
            "connection.created"
        };
        self.audit(
            action,
            Some(tenant_id),
            Some(app.id),
            Some(environment),
            json!({"scopes": connection.scopes}),
        )
        .await?;
        Ok(connection)
    }

    /// Connects an app by id; see [`Control::connect`].
    pub async fn connect_app(
        &self,
        app_id: i64,
        tenant_id: i64,
        environment: Environment,
        granted: &[String],
    ) -> ControlResult<Connection> {
        let app = self.app(app_id).await?;
        self.connect(&app, tenant_id, environment, granted).await
    }

    /// Disconnects an app: its clients for the tenant and environment are disabled in the
    /// same step, so they get no tokens and connecting again does not revive them.
    pub async fn disconnect(
        &self,
        app_id: i64,
        tenant_id: i64,
        environment: Environment,
    ) -> ControlResult<()> {
        let clients: Vec<String> = self
            .store
            .clients_of_tenant(tenant_id)
            .await?
            .into_iter()
            .filter(|c| c.app_id == app_id && c.environment == environment && c.enabled)
            .map(|c| c.client_id)
            .collect();
        self.store
            .delete_connection(app_id, tenant_id, environment)
            .await?;
        self.audit(
            "connection.deleted",
            Some(tenant_id),
            Some(app_id),
            Some(environment),
            json!({"disabledClients": clients}),
        )
        .await?;
        Ok(())
    }

    pub async fn connections_of_tenant(&self, tenant_id: i64) -> ControlResult<Vec<Connection>> {
        self.tenant(tenant_id).await?;
        Ok(self.store.connections_of_tenant(tenant_id).await?)
    }

    /// Issues client credentials for (app, tenant, environment); the secret is the only copy.
    pub async fn issue_client(
        &self,
        app_id: i64,
        tenant_id: i64,
        environment: Environment,
    ) -> ControlResult<IssuedClient> {
        if self
            .store
            .connection(app_id, tenant_id, environment)
            .await?
            .is_none()
        {
            return Err(ControlError::invalid(
                "appId",
                format!("app {app_id} is not connected to tenant {tenant_id} in {environment}"),
            ));
        }
        let client_id = format!("cid.{}", random_string(26));
        let secret = new_secret();
        let created_us = now_us();
        self.store
            .create_client(&Client {
                client_id: client_id.clone(),
                app_id,
                tenant_id,
                environment,
                secret1: Some(self.keys.digest(SECRET_PURPOSE, &secret).to_vec()),
                secret2: None,
                enabled: true,
                created_us,
                secret1_us: Some(created_us),
                secret2_us: None,
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

    pub async fn client(&self, client_id: &str) -> ControlResult<ClientInfo> {
        Ok(self.stored_client(client_id).await?.into())
    }

    async fn stored_client(&self, client_id: &str) -> ControlResult<Client> {
        self.store
            .client(client_id)
            .await?
            .ok_or_else(|| ControlError::NotFound(format!("client {client_id}")))
    }

    /// The client if it belongs to the tenant; another tenant's client is "not found".
    pub async fn client_of_tenant(
        &self,
        tenant_id: i64,
        client_id: &str,
    ) -> ControlResult<ClientInfo> {
        match self.store.client(client_id).await? {
            Some(c) if c.tenant_id == tenant_id => Ok(c.into()),
            _ => Err(ControlError::NotFound(format!("client {client_id}"))),
        }
    }

    pub async fn clients_of_tenant(&self, tenant_id: i64) -> ControlResult<Vec<ClientInfo>> {
        self.tenant(tenant_id).await?;
        let clients = self.store.clients_of_tenant(tenant_id).await?;
        Ok(clients.into_iter().map(ClientInfo::from).collect())
    }

    /// Puts a new secret in the client's empty slot, for rotation: both work until one is
    /// retired. Refused when both slots are in use.
    pub async fn add_secret(&self, client_id: &str) -> ControlResult<IssuedSecret> {
        let client = self.stored_client(client_id).await?;
        let slot = match (&client.secret1, &client.secret2) {
            (None, _) => SecretSlot::First,
            (Some(_), None) => SecretSlot::Second,
            (Some(_), Some(_)) => {
                return Err(ControlError::Conflict(format!(
                    "client {client_id} already holds two secrets; retire one first"
                )));
            }
        };
        let secret = new_secret();
        let digest = self.keys.digest(SECRET_PURPOSE, &secret);
        self.store
            .set_secret_slot(client_id, slot, Some(&digest[..]), now_us())
            .await?;
        self.audit(
            "client.secret_added",
            Some(client.tenant_id),
            Some(client.app_id),
            Some(client.environment),
            json!({"clientId": client_id, "slot": slot.number()}),
        )
        .await?;
        Ok(IssuedSecret {
            slot,
            client_secret: SecretString::from(secret),
        })
    }

    /// Empties a secret slot: the secret and the tokens it obtained stop working. Refused for
    /// the client's only secret.
    pub async fn retire_secret(&self, client_id: &str, slot: SecretSlot) -> ControlResult<()> {
        let client = self.stored_client(client_id).await?;
        self.store
            .set_secret_slot(client_id, slot, None, now_us())
            .await
            .map_err(|e| match ControlError::from(e) {
                ControlError::Invalid { message, .. } => ControlError::invalid("slot", message),
                other => other,
            })?;
        self.audit(
            "client.secret_retired",
            Some(client.tenant_id),
            Some(client.app_id),
            Some(client.environment),
            json!({"clientId": client_id, "slot": slot.number()}),
        )
        .await?;
        Ok(())
    }

    /// Pauses (`false`) or restores (`true`) a client: a paused one gets no tokens, and its
    /// tokens already out are refused within a second.
    pub async fn set_client_enabled(&self, client_id: &str, enabled: bool) -> ControlResult<()> {
        let client = self.stored_client(client_id).await?;
        if enabled
            && self
                .store
                .connection(client.app_id, client.tenant_id, client.environment)
                .await?
                .is_none()
        {
            return Err(ControlError::invalid(
                "clientId",
                format!(
                    "app {} is not connected to tenant {} in {}; connect it first",
                    client.app_id, client.tenant_id, client.environment
                ),
            ));
        }
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
        .await?;
        Ok(())
    }
}
