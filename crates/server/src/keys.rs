//! Token signing keys per environment: kept in the store (sealed), published as a JWKS.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use fieldgate_store::{Environment, SigningKey, Store};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
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
    /// Which of the client's secrets obtained the token: the time (µs) its slot was set. Once
    /// that secret is retired the gateway refuses the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sv: Option<i64>,
}

/// Tokens are checked with this much leeway on `exp` and `nbf`, for clients with skewed clocks.
pub const LEEWAY_SECS: u64 = 60;

/// What `verify` says of a token signed by a key this ring does not hold (yet).
pub const UNKNOWN_KEY: &str = "the token was not issued by this environment's auth server";

/// The keys one environment signs with and accepts.
pub struct KeyRing {
    issuer: String,
    /// The signing key and the encoded JWS header naming it, prepared once: deriving an
    /// Ed25519 key from its bytes costs as much as a signature, so it is not done per token.
    signing: ed25519_dalek::SigningKey,
    encoded_header: String,
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
    #[error("the Redis URL for rate limits is not valid: {0}")]
    Redis(#[from] redis::RedisError),
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
        let signing = ed25519_dalek::SigningKey::from_pkcs8_der(&private)
            .map_err(|_| KeyError::Malformed(newest.kid.clone()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(newest.kid.clone());
        header.typ = Some("at+jwt".into());
        let header_json = serde_json::to_vec(&header).expect("headers serialize");
        let encoded_header = URL_SAFE_NO_PAD.encode(header_json);

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
            encoded_header,
            verifying,
            validation,
            jwks: json!({ "keys": jwks }),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A compact JWS (RFC 7515 §7.1) of the claims: header, claims and Ed25519 signature.
    pub fn sign(&self, claims: &Claims) -> String {
        use ed25519_dalek::Signer;
        let payload = serde_json::to_vec(claims).expect("claims serialize");
        let mut token =
            String::with_capacity(self.encoded_header.len() + payload.len() * 4 / 3 + 100);
        token.push_str(&self.encoded_header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signature = self.signing.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
        token
    }

    /// Checks signature, issuer, `exp` and `nbf`; `None` names what was wrong.
    pub fn verify(&self, token: &str) -> Result<Claims, &'static str> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "the token is malformed")?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or(UNKNOWN_KEY)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use fieldgate_store::sqlite::SqliteStore;
    use secrecy::SecretString;

    #[tokio::test]
    async fn tokens_verify_with_jsonwebtoken_and_tampering_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
        let keys = Keys::from_master(&SecretString::from("k".repeat(32))).unwrap();
        let ring = KeyRing::load(&store, &keys, Environment::Production, "http://auth")
            .await
            .unwrap();
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: "http://auth".into(),
            client_id: "cid.x".into(),
            tenant: "3141592653".into(),
            scope: vec!["tn.crm.customers:r".into()],
            jti: "j".into(),
            nbf: now,
            iat: now,
            exp: now + 900,
            sv: None,
        };
        let token = ring.sign(&claims);
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert!(header.kid.unwrap().starts_with("production-"));
        let verified = ring.verify(&token).unwrap();
        assert_eq!(
            (verified.tenant.as_str(), verified.exp),
            ("3141592653", now + 900)
        );

        let parts: Vec<&str> = token.split('.').collect();
        let forged = Claims {
            tenant: "1".into(),
            ..claims.clone()
        };
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        assert!(ring.verify(&tampered).is_err());

        let other = KeyRing::load(&store, &keys, Environment::Integration, "http://auth")
            .await
            .unwrap();
        assert!(
            other.verify(&token).is_err(),
            "the other environment's keys do not verify it"
        );
        let wrong_issuer = KeyRing::load(&store, &keys, Environment::Production, "http://other")
            .await
            .unwrap();
        assert!(wrong_issuer.verify(&token).is_err());
    }
}
