//! Token signing keys per environment: kept in the store (sealed), published as a JWKS.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use fieldgate_store::{Environment, SigningKey, Store};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::crypto::{Keys, random_string};

/// What an access token says. `tenant` is a string, as the real service writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub client_id: String,
    pub tenant: String,
    pub scope: Vec<String>,
    pub jti: String,
    pub nbf: i64,
    pub iat: i64,
    pub exp: i64,
}

/// Tokens are checked with this much leeway on `exp` and `nbf`, for clients with skewed clocks.
pub const LEEWAY_SECS: u64 = 60;

/// The keys one environment signs with and accepts.
pub struct KeyRing {
    issuer: String,
    signing: (String, EncodingKey),
    verifying: HashMap<String, DecodingKey>,
    validation: Validation,
    jwks: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] fieldgate_store::StoreError),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("signing key {0} is malformed")]
    Malformed(String),
}

impl KeyRing {
    /// Loads the environment's keys, creating the first one if there is none yet.
    pub async fn load(
        store: &dyn Store,
        keys: &Keys,
        environment: Environment,
        issuer: &str,
    ) -> Result<Self, KeyError> {
        let mut stored = store.signing_keys(environment).await?;
        if stored.is_empty() {
            store.add_signing_key(&generate(keys, environment)).await?;
            stored = store.signing_keys(environment).await?;
        }
        let now = chrono::Utc::now().timestamp_micros();
        let newest = stored
            .iter()
            .find(|k| k.retire_after_us.is_none_or(|t| t > now))
            .unwrap_or(&stored[0]);
        let private = keys.unseal(&newest.private_sealed)?;
        let signing = (newest.kid.clone(), EncodingKey::from_ed_der(&private));

        let mut verifying = HashMap::new();
        let mut jwks = Vec::new();
        for key in stored
            .iter()
            .filter(|k| k.retire_after_us.is_none_or(|t| t > now))
        {
            if key.public_key.len() != 32 {
                return Err(KeyError::Malformed(key.kid.clone()));
            }
            verifying.insert(key.kid.clone(), DecodingKey::from_ed_der(&key.public_key));
            jwks.push(json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "use": "sig",
                "alg": "EdDSA",
                "kid": key.kid,
                "x": URL_SAFE_NO_PAD.encode(&key.public_key),
            }));
        }

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss"]);
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.leeway = LEEWAY_SECS;

        Ok(Self {
            issuer: issuer.to_string(),
            signing,
            verifying,
            validation,
            jwks: json!({ "keys": jwks }),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing.0.clone());
        header.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&header, claims, &self.signing.1).expect("Ed25519 signing succeeds")
    }

    /// Checks signature, issuer, `exp` and `nbf`; `None` names what was wrong.
    pub fn verify(&self, token: &str) -> Result<Claims, &'static str> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "the token is malformed")?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or("the token was not issued by this environment's auth server")?;
        match jsonwebtoken::decode::<Claims>(token, key, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(e) => Err(match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => "the token has expired",
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => "the token is not valid yet",
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                    "the token was not issued by this environment's auth server"
                }
                _ => "the token is invalid",
            }),
        }
    }

    pub fn jwks(&self) -> &Value {
        &self.jwks
    }
}

fn generate(keys: &Keys, environment: Environment) -> SigningKey {
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let der = key.to_pkcs8_der().expect("Ed25519 keys encode as PKCS#8");
    SigningKey {
        kid: format!("{}-{}", environment, random_string(12)),
        environment,
        private_sealed: keys.seal(der.as_bytes()),
        public_key: key.verifying_key().to_bytes().to_vec(),
        created_us: chrono::Utc::now().timestamp_micros(),
        retire_after_us: None,
    }
}
