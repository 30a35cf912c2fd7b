//! Secrets: generating them, keyed digests for storing them, sealing keys at rest.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::Rng;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Bytes as lower-case hex digits.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Letters and digits only, so ids, secrets and keys need no URL or form encoding anywhere.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A digest of a secret as stored: HMAC-SHA256 under a key only the server holds.
pub type Digest = [u8; 32];

/// Keys derived from the master key. Cloning is cheap; nothing here is ever logged.
#[derive(Clone)]
pub struct Keys {
    digest_key: [u8; 32],
    seal: Aes256Gcm,
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the master key must be at least 32 characters")]
    WeakMasterKey,
    #[error("a sealed value could not be opened; was the master key changed?")]
    Unseal,
    #[error("reading or writing the master key file: {0}")]
    Io(#[from] std::io::Error),
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    pub fn from_master(master: &SecretString) -> Result<Self, CryptoError> {
        let master = master.expose_secret().as_bytes();
        if master.len() < 32 {
            return Err(CryptoError::WeakMasterKey);
        }
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut mac =
                <HmacSha256 as Mac>::new_from_slice(master).expect("any key length works");
            mac.update(label);
            mac.finalize().into_bytes().into()
        };
        let seal_key = derive(b"fieldgate seal v1");
        Ok(Self {
            digest_key: derive(b"fieldgate digest v1"),
            seal: Aes256Gcm::new_from_slice(&seal_key).expect("32-byte key"),
        })
    }

    /// The master key from config, else from `{data_dir}/master.key`, created on first use.
    pub fn load_or_create(
        configured: Option<&SecretString>,
        data_dir: &Path,
    ) -> Result<Self, CryptoError> {
        if let Some(master) = configured {
            return Self::from_master(master);
        }
        let path = data_dir.join("master.key");
        if !path.exists() {
            std::fs::create_dir_all(data_dir)?;
            write_private(&path, &random_string(64))?;
        }
        let text = std::fs::read_to_string(&path)?;
        Self::from_master(&SecretString::from(text.trim().to_string()))
    }

    /// A keyed digest of a secret; `purpose` keeps digests of different kinds apart.
    pub fn digest(&self, purpose: &str, secret: &str) -> Digest {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.digest_key).expect("any key length works");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let nonce: [u8; 12] = OsRng.r#gen();
        let mut out = nonce.to_vec();
        out.extend(
            self.seal
                .encrypt(Nonce::from_slice(&nonce), plain)
                .expect("AES-GCM seals"),
        );
        out
    }

    pub fn unseal(&self, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 12 {
            return Err(CryptoError::Unseal);
        }
        let (nonce, body) = sealed.split_at(12);
        self.seal
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| CryptoError::Unseal)
    }
}

/// Constant-time comparison of a presented digest with a stored one.
pub fn digests_match(presented: &Digest, stored: Option<&[u8]>) -> bool {
    match stored {
        Some(stored) if stored.len() == presented.len() => presented.ct_eq(stored).into(),
        _ => false,
    }
}

/// A random string from [`ALPHABET`]; 26 characters carry more than 128 bits.
pub fn random_string(len: usize) -> String {
    let mut rng = OsRng;
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_master(&SecretString::from("m".repeat(32))).unwrap()
    }

    #[test]
    fn digests_are_keyed_and_purpose_bound() {
        let k = keys();
        assert_eq!(k.digest("secret", "abc"), k.digest("secret", "abc"));
        assert_ne!(k.digest("secret", "abc"), k.digest("appkey", "abc"));
        let other = Keys::from_master(&SecretString::from("n".repeat(32))).unwrap();
        assert_ne!(k.digest("secret", "abc"), other.digest("secret", "abc"));
        let d = k.digest("secret", "abc");
        assert!(digests_match(&d, Some(&d[..])));
        assert!(!digests_match(&d, Some(&k.digest("secret", "abd")[..])));
        assert!(!digests_match(&d, None));
    }

    #[test]
    fn sealing_round_trips_and_detects_tampering() {
        let k = keys();
        let mut sealed = k.seal(b"private key");
        assert_eq!(k.unseal(&sealed).unwrap(), b"private key");
        sealed[14] ^= 1;
        assert!(k.unseal(&sealed).is_err());
    }

    #[test]
    fn random_strings_use_the_safe_alphabet() {
        let s = random_string(40);
        assert_eq!(s.len(), 40);
        assert!(s.bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(s, random_string(40));
        assert!(Keys::from_master(&SecretString::from("short".to_string())).is_err());
    }
}
