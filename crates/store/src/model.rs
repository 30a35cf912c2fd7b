//! The values the store keeps and the queries it answers.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Environment;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Developer {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub created_us: i64,
}

/// An integration a developer builds, with the scopes it asks tenants for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct App {
    pub id: i64,
    pub developer_id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_us: i64,
}

/// An app key as stored: its keyed digest, never the key.
#[derive(Debug, Clone)]
pub struct AppKey {
    pub digest: Vec<u8>,
    pub app_id: i64,
    pub hint: String,
    pub created_us: i64,
    pub expires_us: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TenantKind {
    /// A customer organisation: production data, and an integration copy of it.
    Customer,
    /// A developer's sandbox: integration only, with the standard sample data.
    Developer,
}

impl TenantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantKind::Customer => "customer",
            TenantKind::Developer => "developer",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    pub id: i64,
    pub name: String,
    pub kind: TenantKind,
    pub created_us: i64,
}

/// An app connected to a tenant in one environment, with the scopes the tenant granted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Connection {
    pub app_id: i64,
    pub tenant_id: i64,
    pub environment: Environment,
    pub scopes: Vec<String>,
    pub created_us: i64,
}

/// Client credentials for one (app, tenant, environment), with two secret slots for rotation.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub app_id: i64,
    pub tenant_id: i64,
    pub environment: Environment,
    pub secret1: Option<Vec<u8>>,
    pub secret2: Option<Vec<u8>>,
    pub enabled: bool,
    pub created_us: i64,
    /// When each slot's secret was set (µs); tokens carry it, so retiring a secret refuses
    /// the tokens it obtained.
    pub secret1_us: Option<i64>,
    pub secret2_us: Option<i64>,
}

/// What the token endpoint needs to know of a client, read in one query: the client, the
/// scopes its app asks for and the scopes the tenant granted (`None` once disconnected).
#[derive(Debug, Clone)]
pub struct ClientGrant {
    pub client: Client,
    pub app_scopes: Vec<String>,
    pub granted: Option<Vec<String>>,
    /// Whether the app holds an app key that has not expired; without one its tokens are
    /// useless, so none is issued.
    pub app_key_live: bool,
}

/// A token signing key of one environment; the private half is sealed with the master key.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kid: String,
    pub environment: Environment,
    pub private_sealed: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_us: i64,
    pub retire_after_us: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at_us: i64,
    /// `operator`, `developer:{id}`, `admin:{tenant}` or `system`.
    pub actor: String,
    /// What happened, such as `client.created` or `token.issued`.
    pub action: String,
    pub tenant_id: Option<i64>,
    pub app_id: Option<i64>,
    pub environment: Option<Environment>,
    pub address: Option<String>,
    pub detail: Value,
}

/// One record of a resource. `doc` is the record's JSON as served.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub created_us: i64,
    pub modified_us: i64,
    pub active: bool,
    pub doc: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActiveFilter {
    #[default]
    True,
    False,
    Any,
}

impl FromStr for ActiveFilter {
    type Err = String;

    /// `True`, `False` or `Any`, in any case, as clients send them.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "true" => Ok(ActiveFilter::True),
            "false" => Ok(ActiveFilter::False),
            "any" => Ok(ActiveFilter::Any),
            _ => Err(format!("`{s}` is not one of True, False, Any")),
        }
    }
}

/// A comparison on a property of the records' JSON documents.
#[derive(Debug, Clone)]
pub struct FieldFilter {
    /// Property names from the document root, such as `["address", "zip"]`.
    pub path: Vec<String>,
    pub op: FilterOp,
}

#[derive(Debug, Clone)]
pub enum FilterOp {
    Eq(Value),
    /// Case-insensitive equality for strings.
    EqText(String),
    In(Vec<Value>),
    Gte(Value),
    Lt(Value),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Id,
    CreatedOn,
    ModifiedOn,
    /// A property of the document.
    Field(Vec<String>),
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub parent_id: Option<i64>,
    pub ids: Option<Vec<i64>>,
    pub active: ActiveFilter,
    pub created_before_us: Option<i64>,
    pub created_on_or_after_us: Option<i64>,
    pub modified_before_us: Option<i64>,
    pub modified_on_or_after_us: Option<i64>,
    pub fields: Vec<FieldFilter>,
    /// Sort key and whether it is descending; ties are broken by id.
    pub sort: Option<(SortKey, bool)>,
    pub offset: u64,
    pub limit: u32,
    pub include_total: bool,
}

#[derive(Debug, Clone)]
pub struct ListPage {
    pub records: Vec<Record>,
    pub has_more: bool,
    pub total: Option<i64>,
}

/// Where an export walk resumes: after a (modifiedOn, id) position, or from a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFrom {
    Start,
    After { modified_us: i64, id: i64 },
    Since { modified_us: i64 },
}

#[derive(Debug, Clone)]
pub struct ExportQuery {
    pub from: ExportFrom,
    pub limit: u32,
}

// ---- People, sessions and the credential lifecycle ----

/// A person who signs in: a developer (portal) or an admin of one tenant (console).
/// Exactly one of `developer_id` and `tenant_id` is set.
#[derive(Clone)]
pub struct UserRecord {
    pub id: i64,
    /// Lowercased; unique.
    pub email: String,
    pub name: String,
    /// An Argon2id PHC string.
    pub password_hash: String,
    pub developer_id: Option<i64>,
    pub tenant_id: Option<i64>,
    pub created_us: i64,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("developer_id", &self.developer_id)
            .field("tenant_id", &self.tenant_id)
            .finish_non_exhaustive()
    }
}

/// A signed-in session as stored: the keyed digest of its token, never the token.
#[derive(Clone)]
pub struct Session {
    pub digest: Vec<u8>,
    pub user_id: i64,
    pub created_us: i64,
    pub expires_us: i64,
}

/// One of a client's two secret slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecretSlot {
    #[serde(rename = "1")]
    First,
    #[serde(rename = "2")]
    Second,
}

impl SecretSlot {
    pub fn number(self) -> u8 {
        match self {
            SecretSlot::First => 1,
            SecretSlot::Second => 2,
        }
    }

    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            1 => Some(SecretSlot::First),
            2 => Some(SecretSlot::Second),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            SecretSlot::First => SecretSlot::Second,
            SecretSlot::Second => SecretSlot::First,
        }
    }
}

/// Which audit events to read; every bound is optional. Newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub tenant_id: Option<i64>,
    pub app_id: Option<i64>,
    /// Events at or after this time (µs).
    pub since_us: Option<i64>,
    /// Events before this time (µs).
    pub until_us: Option<i64>,
    pub limit: u32,
}
