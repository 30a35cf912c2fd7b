//! Apps, the scopes they ask for, and their app keys with grace-period regeneration.

use std::time::Duration;

use fieldgate_catalog::Catalog;
use fieldgate_store::{App, AppKey, Connection};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::json;

use super::{APP_KEY_PURPOSE, Control, ControlError, ControlResult, now_us, required};
use crate::crypto::random_string;

/// The longest grace period an old app key may keep working after regeneration.
pub const MAX_GRACE: Duration = Duration::from_secs(90 * 24 * 3600);

/// An app key as people see it: never the key or its digest, only a hint to tell keys apart.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppKeyInfo {
    /// The key's first characters.
    pub hint: String,
    pub created_us: i64,
    /// When it stops working; `None` for a key without an end.
    pub expires_us: Option<i64>,
    /// Whether it works now.
    pub active: bool,
}

/// The scopes of one catalog module, for a picker grouped by module.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeGroup {
    pub module: String,
    pub title: String,
    pub scopes: Vec<ScopeInfo>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScopeInfo {
    /// Such as `tn.crm.customers:r`.
    pub scope: String,
    /// The resource part, such as `customers`.
    pub resource: String,
    /// `read` or `write`.
    pub access: &'static str,
}

/// Every scope of the catalog, grouped by module, read before write per resource.
pub fn scope_groups() -> Vec<ScopeGroup> {
    Catalog::get()
        .modules
        .iter()
        .filter(|m| !m.scopes.is_empty())
        .map(|m| {
            let mut scopes: Vec<ScopeInfo> = m
                .scopes
                .iter()
                .map(|s| {
                    let (name, access) = s.rsplit_once(':').unwrap_or((s, ""));
                    ScopeInfo {
                        scope: s.clone(),
                        resource: name.rsplit('.').next().unwrap_or(name).to_string(),
                        access: if access == "w" { "write" } else { "read" },
                    }
                })
                .collect();
            scopes.sort_by(|a, b| (&a.resource, a.access).cmp(&(&b.resource, b.access)));
            ScopeGroup {
                module: m.name.clone(),
                title: m.title.clone(),
                scopes,
            }
        })
        .collect()
}

/// Scopes checked against the catalog, without repeats, sorted.
fn checked_scopes(scopes: &[String]) -> ControlResult<Vec<String>> {
    let known = Catalog::get().all_scopes();
    let mut out: Vec<String> = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let scope = scope.trim();
        if known.binary_search_by(|k| k.as_str().cmp(scope)).is_err() {
            return Err(ControlError::invalid(
                "scopes",
                format!("`{scope}` is not a scope of the API"),
            ));
        }
        out.push(scope.to_string());
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(ControlError::invalid(
            "scopes",
            "pick at least one scope the app needs",
        ));
    }
    Ok(out)
}

impl Control<'_> {
    /// An app of a developer, asking for scopes from the catalog.
    pub async fn create_app(
        &self,
        developer_id: i64,
        name: &str,
        scopes: &[String],
    ) -> ControlResult<App> {
        let name = required("name", name, 200)?;
        let scopes = checked_scopes(scopes)?;
        self.developer(developer_id).await?;
        let app = self.store.create_app(developer_id, &name, &scopes).await?;
        self.audit(
            "app.created",
            None,
            Some(app.id),
            None,
            json!({"name": name, "developerId": developer_id, "scopes": scopes}),
        )
        .await?;
        Ok(app)
    }

    pub async fn app(&self, id: i64) -> ControlResult<App> {
        self.store
            .app(id)
            .await?
            .ok_or_else(|| ControlError::NotFound(format!("app {id}")))
    }

    /// The app if it belongs to the developer; another developer's app is "not found".
    pub async fn app_of_developer(&self, developer_id: i64, app_id: i64) -> ControlResult<App> {
        match self.store.app(app_id).await? {
            Some(app) if app.developer_id == developer_id => Ok(app),
            _ => Err(ControlError::NotFound(format!("app {app_id}"))),
        }
    }

    pub async fn apps_of_developer(&self, developer_id: i64) -> ControlResult<Vec<App>> {
        Ok(self.store.apps(Some(developer_id)).await?)
    }

    /// Every app, for operators.
    pub async fn all_apps(&self) -> ControlResult<Vec<App>> {
        Ok(self.store.apps(None).await?)
    }

    /// Issues a further app key with no end; the returned key is the only copy. Older keys
    /// keep working; [`Control::regenerate_app_key`] ends them.
    pub async fn issue_app_key(&self, app_id: i64) -> ControlResult<SecretString> {
        self.app(app_id).await?;
        let (key, record) = self.new_app_key(app_id);
        self.store.add_app_key(&record).await?;
        self.audit(
            "app_key.issued",
            None,
            Some(app_id),
            None,
            json!({"hint": record.hint}),
        )
        .await?;
        Ok(key)
    }

    /// A new app key that works at once; every older key of the app stops working after
    /// `grace` (zero: at once). The returned key is the only copy.
    pub async fn regenerate_app_key(
        &self,
        app_id: i64,
        grace: Duration,
    ) -> ControlResult<SecretString> {
        if grace > MAX_GRACE {
            return Err(ControlError::invalid(
                "graceSeconds",
                format!(
                    "the grace period is at most {} days",
                    MAX_GRACE.as_secs() / 86_400
                ),
            ));
        }
        self.app(app_id).await?;
        let (key, record) = self.new_app_key(app_id);
        let old_until = record.created_us + grace.as_micros() as i64;
        self.store.rotate_app_key(&record, old_until).await?;
        self.audit(
            "app_key.regenerated",
            None,
            Some(app_id),
            None,
            json!({
                "hint": record.hint,
                "graceSeconds": grace.as_secs(),
                "oldKeysExpireAt": fieldgate_store::format_time(old_until),
            }),
        )
        .await?;
        Ok(key)
    }

    fn new_app_key(&self, app_id: i64) -> (SecretString, AppKey) {
        let key = format!("ak1.{}", random_string(40));
        let record = AppKey {
            digest: self.keys.digest(APP_KEY_PURPOSE, &key).to_vec(),
            app_id,
            hint: key[..8].to_string(),
            created_us: now_us(),
            expires_us: None,
        };
        (SecretString::from(key), record)
    }

    /// The app's keys, newest first, without digests.
    pub async fn app_keys_of(&self, app_id: i64) -> ControlResult<Vec<AppKeyInfo>> {
        self.app(app_id).await?;
        let now = now_us();
        Ok(self
            .store
            .app_keys_of(app_id)
            .await?
            .into_iter()
            .map(|k| AppKeyInfo {
                active: k.expires_us.is_none_or(|t| t > now),
                hint: k.hint,
                created_us: k.created_us,
                expires_us: k.expires_us,
            })
            .collect())
    }

    /// Which tenants connected the app, in which environment, with which scopes.
    pub async fn connections_of_app(&self, app_id: i64) -> ControlResult<Vec<Connection>> {
        self.app(app_id).await?;
        Ok(self.store.connections_of_app(app_id).await?)
    }
}
