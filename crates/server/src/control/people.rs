//! People: developers and tenant admins, their passwords (Argon2id, hashed off the async
//! runtime), sign-in with throttled failures, and sessions.

use std::sync::OnceLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use fieldgate_store::{Developer, Session, UserRecord};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::json;

use super::{Control, ControlError, ControlResult, SESSION_PURPOSE, now_us, required};
use crate::crypto::random_string;

/// How long a session lasts after sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Failed sign-ins allowed per email and per address within [`FAILURE_SPAN_MS`].
const FAILURES_PER_EMAIL: u32 = 5;
const FAILURES_PER_ADDRESS: u32 = 20;
/// The span of the failure counts. The shared rate log keeps entries for two minutes at most,
/// so the span stays within that.
const FAILURE_SPAN_MS: i64 = 60_000;

const MIN_PASSWORD: usize = 10;
/// Argon2 takes any length; this bounds the work an attacker can ask of one request.
const MAX_PASSWORD: usize = 1024;

/// What a person is: a developer (the portal) or an admin of one tenant (the console).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Role {
    #[serde(rename_all = "camelCase")]
    Developer { developer_id: i64 },
    #[serde(rename_all = "camelCase")]
    TenantAdmin { tenant_id: i64 },
}

/// A person who signs in, without their password hash.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_us: i64,
}

impl User {
    fn from_record(r: UserRecord) -> ControlResult<Self> {
        let role = match (r.developer_id, r.tenant_id) {
            (Some(developer_id), None) => Role::Developer { developer_id },
            (None, Some(tenant_id)) => Role::TenantAdmin { tenant_id },
            _ => {
                return Err(ControlError::Internal(format!(
                    "person {} is neither a developer nor a tenant admin",
                    r.id
                )));
            }
        };
        Ok(Self {
            id: r.id,
            email: r.email,
            name: r.name,
            role,
            created_us: r.created_us,
        })
    }

    pub fn developer_id(&self) -> Option<i64> {
        match self.role {
            Role::Developer { developer_id } => Some(developer_id),
            Role::TenantAdmin { .. } => None,
        }
    }

    pub fn tenant_id(&self) -> Option<i64> {
        match self.role {
            Role::TenantAdmin { tenant_id } => Some(tenant_id),
            Role::Developer { .. } => None,
        }
    }
}

/// A session just created: its token (for the cookie; shown nowhere else) and its expiry.
pub struct NewSession {
    pub token: SecretString,
    pub expires_us: i64,
}

/// Lowercased and trimmed; refused unless it looks like an address.
fn normal_email(email: &str) -> ControlResult<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if !valid {
        return Err(ControlError::invalid(
            "email",
            "enter an email address such as name@example.com",
        ));
    }
    Ok(email)
}

fn check_password(password: &str) -> ControlResult<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(ControlError::invalid(
            "password",
            format!("a password needs at least {MIN_PASSWORD} characters"),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(ControlError::invalid(
            "password",
            format!("a password has at most {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

/// Hashes with Argon2id on a blocking thread: it takes tens of milliseconds of CPU by design.
async fn hash_password(password: &str) -> ControlResult<String> {
    let password = SecretString::from(password.to_string());
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ControlError::Internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| ControlError::Internal(e.to_string()))?
}

/// Verifies on a blocking thread. Without a stored hash it verifies against a fixed one, so
/// unknown emails take as long as wrong passwords.
async fn verify_password(password: &str, hash: Option<String>) -> ControlResult<bool> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let password = SecretString::from(password.to_string());
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| {
            DUMMY
                .get_or_init(|| {
                    let salt = SaltString::generate(&mut rand::rngs::OsRng);
                    Argon2::default()
                        .hash_password(random_string(20).as_bytes(), &salt)
                        .map(|h| h.to_string())
                        .unwrap_or_default()
                })
                .clone()
        });
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| ControlError::Internal(format!("a stored password hash: {e}")))?;
        let ok = Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        Ok(ok && known)
    })
    .await
    .map_err(|e| ControlError::Internal(e.to_string()))?
}

impl Control<'_> {
    /// A developer account that can sign in to the portal. The email is unique, lowercased.
    pub async fn sign_up_developer(
        &self,
        name: &str,
        email: &str,
        password: &str,
    ) -> ControlResult<(Developer, User)> {
        let name = required("name", name, 200)?;
        let email = normal_email(email)?;
        check_password(password)?;
        if self.store.user_by_email(&email).await?.is_some() {
            return Err(ControlError::Conflict(format!(
                "a person with email {email} already exists"
            )));
        }
        let hash = hash_password(password).await?;
        let developer = self.create_developer(&name, &email).await?;
        let user = self
            .store_user(&name, &email, hash, Some(developer.id), None)
            .await?;
        Ok((developer, user))
    }

    /// A developer without a sign-in, for operators; `sign_up_developer` adds one.
    pub async fn create_developer(&self, name: &str, email: &str) -> ControlResult<Developer> {
        let name = required("name", name, 200)?;
        let email = normal_email(email)?;
        let developer = self.store.create_developer(&name, &email).await?;
        self.audit(
            "developer.created",
            None,
            None,
            None,
            json!({"developerId": developer.id, "email": email, "name": name}),
        )
        .await?;
        Ok(developer)
    }

    pub async fn developer(&self, id: i64) -> ControlResult<Developer> {
        self.store
            .developer(id)
            .await?
            .ok_or_else(|| ControlError::NotFound(format!("developer {id}")))
    }

    pub async fn developers(&self) -> ControlResult<Vec<Developer>> {
        Ok(self.store.developers().await?)
    }

    /// An admin of one tenant, who signs in to its console.
    pub async fn create_tenant_admin(
        &self,
        tenant_id: i64,
        name: &str,
        email: &str,
        password: &str,
    ) -> ControlResult<User> {
        let name = required("name", name, 200)?;
        let email = normal_email(email)?;
        check_password(password)?;
        self.tenant(tenant_id).await?;
        let hash = hash_password(password).await?;
        self.store_user(&name, &email, hash, None, Some(tenant_id))
            .await
    }

    async fn store_user(
        &self,
        name: &str,
        email: &str,
        password_hash: String,
        developer_id: Option<i64>,
        tenant_id: Option<i64>,
    ) -> ControlResult<User> {
        let mut record = UserRecord {
            id: 0,
            email: email.into(),
            name: name.into(),
            password_hash,
            developer_id,
            tenant_id,
            created_us: now_us(),
        };
        record.id = self.store.create_user(&record).await?;
        let user = User::from_record(record)?;
        let action = if developer_id.is_some() {
            "developer.user_created"
        } else {
            "tenant_admin.created"
        };
        self.audit(
            action,
            tenant_id,
            None,
            None,
            json!({"userId": user.id, "email": email, "developerId": developer_id}),
        )
        .await?;
        Ok(user)
    }

    pub async fn user(&self, id: i64) -> ControlResult<User> {
        let record = self.store.user(id).await?;
        User::from_record(record.ok_or_else(|| ControlError::NotFound(format!("person {id}")))?)
    }

    pub async fn tenant_admins(&self, tenant_id: i64) -> ControlResult<Vec<User>> {
        self.tenant(tenant_id).await?;
        let records = self.store.users_of_tenant(tenant_id).await?;
        records.into_iter().map(User::from_record).collect()
    }

    /// Checks an email and password and opens a session. Failures are counted per email and
    /// per source address in the shared rate log, and past the limit refused for a while
    /// before any password is checked.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        address: &str,
    ) -> ControlResult<(User, NewSession)> {
        let email = email.trim().to_lowercase();
        let keys = [
            (format!("fg:login:e:{email}"), FAILURES_PER_EMAIL),
            (format!("fg:login:a:{address}"), FAILURES_PER_ADDRESS),
        ];
        for (key, limit) in &keys {
            if let Err(wait_ms) = self.store.rate_peek(key, *limit, FAILURE_SPAN_MS).await? {
                tracing::info!(%address, "sign-in refused: too many failures");
                return Err(ControlError::Throttled {
                    retry_after_secs: (wait_ms.max(1) as u64).div_ceil(1000),
                });
            }
        }

        let record = self.store.user_by_email(&email).await?;
        let hash = record.as_ref().map(|r| r.password_hash.clone());
        let valid = password.len() <= MAX_PASSWORD * 4 && verify_password(password, hash).await?;
        let Some(record) = record.filter(|_| valid) else {
            for (key, limit) in &keys {
                let _ = self.store.rate_hit(key, *limit, FAILURE_SPAN_MS).await?;
            }
            tracing::info!(%address, "sign-in failed");
            return Err(ControlError::BadCredentials);
        };

        let user = User::from_record(record)?;
        let token = format!("fs1.{}", random_string(40));
        let created_us = now_us();
        let expires_us = created_us + SESSION_TTL.as_micros() as i64;
        self.store
            .create_session(&Session {
                digest: self.keys.digest(SESSION_PURPOSE, &token).to_vec(),
                user_id: user.id,
                created_us,
                expires_us,
            })
            .await?;
        tracing::info!(user = user.id, "signed in");
        Ok((
            user,
            NewSession {
                token: SecretString::from(token),
                expires_us,
            },
        ))
    }

    /// The person a session token belongs to, while the session lasts.
    pub async fn session(&self, token: &str) -> ControlResult<Option<User>> {
        let digest = self.keys.digest(SESSION_PURPOSE, token);
        match self.store.session_user(&digest, now_us()).await? {
            Some(record) => Ok(Some(User::from_record(record)?)),
            None => Ok(None),
        }
    }

    pub async fn sign_out(&self, token: &str) -> ControlResult<()> {
        let digest = self.keys.digest(SESSION_PURPOSE, token);
        Ok(self.store.delete_session(&digest).await?)
    }
}
