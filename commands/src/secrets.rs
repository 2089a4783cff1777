//! Encryption of integration secrets at the edge, so that no event holds one in clear text.
//!
//! The domain only ever sees an [`EncryptedSecret`]. This module is the other side: a
//! [`SecretKeys`] keyring built from configuration (`key_id:base64-32-bytes` entries, the first
//! one current) encrypts a [`Secret`] with AES-256-GCM under the current key and decrypts with
//! whichever key the stored value names, so keys can be rotated: add a new key in front, and
//! values encrypted under older keys still decrypt as long as those keys stay configured.
//!
//! Each encryption uses a fresh random 96-bit nonce. The key id and the integration id are
//! authenticated as associated data: a ciphertext copied onto another integration, or relabelled
//! with another key id, fails to decrypt instead of yielding a secret.
//!
//! Key material and clear secrets never print: `Debug` shows key ids only and `Secret(..)`,
//! and both are wiped from memory when dropped.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use keel_domain::integration::EncryptedSecret;
use rand::RngCore;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

/// The size of an AES-256 key, in bytes.
pub const KEY_BYTES: usize = 32;

/// How many random bytes a generated signing secret holds (Standard Webhooks allows 24-64).
pub const SIGNING_SECRET_BYTES: usize = 32;

/// The prefix of a Standard Webhooks signing secret.
pub const SIGNING_SECRET_PREFIX: &str = "whsec_";

/// A secret in clear text. It never prints and is wiped from memory when dropped; read it with
/// [`Secret::expose`] only where it is used (to sign, or to show it once).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a clear secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Secret(secret.into())
    }

    /// The secret's text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A new random signing secret in the Standard Webhooks format: `whsec_` followed by the base64
/// of 32 random bytes from the operating system.
pub fn generate_signing_secret() -> Secret {
    let mut bytes = Zeroizing::new([0u8; SIGNING_SECRET_BYTES]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut());
    Secret(format!(
        "{SIGNING_SECRET_PREFIX}{}",
        STANDARD.encode(bytes.as_ref())
    ))
}

/// Why a keyring could not be built, or a secret not be encrypted or decrypted. Messages name
/// keys by id and never show key material or secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The configuration names no key.
    #[error("no secret encryption key is configured: give at least one `key_id:base64-key`")]
    NoKeys,
    /// A configuration entry is not `key_id:base64-key` (the entry is not shown: it may hold
    /// key material).
    #[error("secret encryption key entry {position} must look like `key_id:base64-key`")]
    MalformedEntry {
        /// The entry's position in the list, from 1.
        position: usize,
    },
    /// A configured key id breaks the key id rule.
    #[error(
        "secret encryption key entry {position} has an invalid key id: use 1-64 letters, \
         digits, '_', '-' or '.'"
    )]
    InvalidKeyId {
        /// The entry's position in the list, from 1.
        position: usize,
    },
    /// A configured key is not standard base64.
    #[error("secret encryption key `{key_id}` is not valid standard base64")]
    KeyNotBase64 {
        /// The key's id.
        key_id: String,
    },
    /// A configured key does not have 32 bytes.
    #[error("secret encryption key `{key_id}` must be {KEY_BYTES} bytes (AES-256), got {length}")]
    WrongKeyLength {
        /// The key's id.
        key_id: String,
        /// How many bytes it has.
        length: usize,
    },
    /// Two configured keys have the same id.
    #[error("secret encryption key id `{key_id}` is configured twice")]
    DuplicateKeyId {
        /// The repeated id.
        key_id: String,
    },
    /// An empty secret was given for encryption.
    #[error("the secret must not be empty")]
    EmptySecret,
    /// A secret longer than the domain accepts was given for encryption.
    #[error("the secret is {length} bytes long; at most {max} are accepted")]
    SecretTooLong {
        /// Its length in bytes.
        length: usize,
        /// The longest accepted.
        max: usize,
    },
    /// The stored secret names a key that is not configured (any more).
    #[error("the secret was encrypted with key `{key_id}`, which is not configured")]
    UnknownKeyId {
        /// The key id the stored secret names.
        key_id: String,
    },
    /// The stored value is not an AES-GCM encryption of text.
    #[error("the encrypted secret is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// Authentication failed: the value was altered, or belongs to another integration or key.
    #[error(
        "the secret cannot be decrypted with key `{key_id}`: it was altered, or belongs to \
         another integration"
    )]
    DecryptionFailed {
        /// The key id the stored secret names.
        key_id: String,
    },
    /// The cipher refused to encrypt (only possible for inputs far beyond the length limit).
    #[error("the secret could not be encrypted")]
    EncryptionFailed,
}

/// The encryption keys of integration secrets, by id; one of them is current.
#[derive(Clone)]
pub struct SecretKeys {
    ciphers: BTreeMap<String, Aes256Gcm>,
    current: String,
}

impl SecretKeys {
    /// Builds a keyring from `key_id:base64-key` entries; the first one is current (used to
    /// encrypt), the others only decrypt. Each key is 32 bytes, in standard base64.
    pub fn from_entries<I, S>(entries: I) -> Result<Self, SecretError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut ciphers = BTreeMap::new();
        let mut current = None;
        for (index, entry) in entries.into_iter().enumerate() {
            let position = index + 1;
            let (key_id, key) = entry
                .as_ref()
                .trim()
                .split_once(':')
                .ok_or(SecretError::MalformedEntry { position })?;
            if !EncryptedSecret::is_valid_key_id(key_id) {
                return Err(SecretError::InvalidKeyId { position });
            }
            let owned_id = || key_id.to_owned();
            let bytes = Zeroizing::new(
                STANDARD
                    .decode(key)
                    .map_err(|_| SecretError::KeyNotBase64 { key_id: owned_id() })?,
            );
            let cipher =
                Aes256Gcm::new_from_slice(&bytes).map_err(|_| SecretError::WrongKeyLength {
                    key_id: owned_id(),
                    length: bytes.len(),
                })?;
            if ciphers.insert(owned_id(), cipher).is_some() {
                return Err(SecretError::DuplicateKeyId { key_id: owned_id() });
            }
            current.get_or_insert_with(owned_id);
        }
        let current = current.ok_or(SecretError::NoKeys)?;
        Ok(SecretKeys { ciphers, current })
    }

    /// Builds a keyring from a comma-separated list of entries (see
    /// [`SecretKeys::from_entries`]), as an environment variable holds it:
    /// `2026-02:base64...,2026-01:base64...`.
    pub fn parse(list: &str) -> Result<Self, SecretError> {
        Self::from_entries(list.split(',').filter(|entry| !entry.trim().is_empty()))
    }

    /// The id of the key new secrets are encrypted with.
    pub fn current_key_id(&self) -> &str {
        &self.current
    }

    /// Every configured key id, in order.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.ciphers.keys().map(String::as_str)
    }

    /// Whether a stored secret is encrypted with an older key and should be re-encrypted (by
    /// rotating the integration's secret) before that key is removed from configuration.
    pub fn is_outdated(&self, encrypted: &EncryptedSecret) -> bool {
        encrypted.key_id != self.current
    }

    /// Encrypts `secret` for integration `integration_id` with the current key.
    pub fn encrypt(
        &self,
        integration_id: Uuid,
        secret: &Secret,
    ) -> Result<EncryptedSecret, SecretError> {
        let plaintext = secret.expose().as_bytes();
        if plaintext.is_empty() {
            return Err(SecretError::EmptySecret);
        }
        if plaintext.len() > EncryptedSecret::MAX_PLAINTEXT_BYTES {
            return Err(SecretError::SecretTooLong {
                length: plaintext.len(),
                max: EncryptedSecret::MAX_PLAINTEXT_BYTES,
            });
        }
        let cipher = self
            .ciphers
            .get(&self.current)
            .ok_or_else(|| SecretError::UnknownKeyId {
                key_id: self.current.clone(),
            })?;
        let mut nonce = [0u8; EncryptedSecret::NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(&self.current, integration_id);
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SecretError::EncryptionFailed)?;
        Ok(EncryptedSecret {
            key_id: self.current.clone(),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(ciphertext),
        })
    }

    /// Decrypts a secret stored for integration `integration_id`, with the key it names.
    pub fn decrypt(
        &self,
        integration_id: Uuid,
        encrypted: &EncryptedSecret,
    ) -> Result<Secret, SecretError> {
        let key_id = &encrypted.key_id;
        let cipher = self
            .ciphers
            .get(key_id)
            .ok_or_else(|| SecretError::UnknownKeyId {
                key_id: key_id.clone(),
            })?;
        let nonce = STANDARD
            .decode(&encrypted.nonce)
            .map_err(|_| SecretError::Malformed {
                reason: "the nonce is not standard base64",
            })?;
        if nonce.len() != EncryptedSecret::NONCE_BYTES {
            return Err(SecretError::Malformed {
                reason: "the nonce is not 12 bytes",
            });
        }
        let ciphertext =
            STANDARD
                .decode(&encrypted.ciphertext)
                .map_err(|_| SecretError::Malformed {
                    reason: "the ciphertext is not standard base64",
                })?;
        let aad = associated_data(key_id, integration_id);
        let plaintext = Zeroizing::new(
            cipher
                .decrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: &ciphertext,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| SecretError::DecryptionFailed {
                    key_id: key_id.clone(),
                })?,
        );
        let text = std::str::from_utf8(&plaintext).map_err(|_| SecretError::Malformed {
            reason: "the decrypted secret is not UTF-8 text",
        })?;
        Ok(Secret::new(text))
    }
}

/// What each ciphertext is bound to: the format version, the key id and the integration.
fn associated_data(key_id: &str, integration_id: Uuid) -> String {
    format!("keel/integration-secret/v1/{key_id}/{integration_id}")
}

impl FromStr for SecretKeys {
    type Err = SecretError;

    fn from_str(list: &str) -> Result<Self, SecretError> {
        SecretKeys::parse(list)
    }
}

impl fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKeys")
            .field("current", &self.current)
            .field("key_ids", &self.ciphers.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Base64 of 32 bytes 0, 1, ... 31, and of 32 bytes of 7.
    const KEY_1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const KEY_2: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

    fn keys(entries: &[&str]) -> SecretKeys {
        SecretKeys::from_entries(entries).unwrap()
    }

    fn integration() -> Uuid {
        Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_4001)
    }

    fn sealed(keys: &SecretKeys, secret: &str) -> EncryptedSecret {
        keys.encrypt(integration(), &Secret::new(secret)).unwrap()
    }

    /// The ciphertext with one bit of its first byte flipped.
    fn flipped(ciphertext: &str) -> String {
        let mut bytes = STANDARD.decode(ciphertext).unwrap();
        bytes[0] ^= 1;
        STANDARD.encode(bytes)
    }

    #[test]
    fn a_secret_round_trips_and_the_result_passes_the_domain_checks() {
        let ring = keys(&[&format!("k1:{KEY_1}")]);
        let encrypted = sealed(&ring, "whsec_abc");
        assert_eq!(encrypted.key_id, "k1");
        assert!(EncryptedSecret::check_key_id(&encrypted.key_id).is_ok());
        assert!(EncryptedSecret::check_nonce(&encrypted.nonce).is_ok());
        assert!(EncryptedSecret::check_ciphertext(&encrypted.ciphertext).is_ok());
        assert!(!encrypted.ciphertext.contains("whsec_abc"));
        let secret = ring.decrypt(integration(), &encrypted).unwrap();
        assert_eq!(secret.expose(), "whsec_abc");
    }

    #[test]
    fn each_encryption_uses_a_fresh_nonce() {
        let ring = keys(&[&format!("k1:{KEY_1}")]);
        let (a, b) = (sealed(&ring, "same"), sealed(&ring, "same"));
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn a_secret_under_an_unknown_key_id_is_refused() {
        let encrypted = sealed(&keys(&[&format!("k1:{KEY_1}")]), "s");
        let other = keys(&[&format!("k2:{KEY_2}")]);
        assert_eq!(
            other.decrypt(integration(), &encrypted).unwrap_err(),
            SecretError::UnknownKeyId {
                key_id: "k1".into()
            }
        );
    }

    #[test]
    fn tampered_values_are_refused() {
        let ring = keys(&[&format!("k1:{KEY_1}"), &format!("k2:{KEY_2}")]);
        let encrypted = sealed(&ring, "whsec_abc");
        let failed = |key_id: &str| SecretError::DecryptionFailed {
            key_id: key_id.into(),
        };
        let tampered = EncryptedSecret {
            ciphertext: flipped(&encrypted.ciphertext),
            ..encrypted.clone()
        };
        assert_eq!(ring.decrypt(integration(), &tampered), Err(failed("k1")));
        let tampered = EncryptedSecret {
            nonce: flipped(&encrypted.nonce),
            ..encrypted.clone()
        };
        assert_eq!(ring.decrypt(integration(), &tampered), Err(failed("k1")));
        let relabelled = EncryptedSecret {
            key_id: "k2".into(),
            ..encrypted.clone()
        };
        assert_eq!(ring.decrypt(integration(), &relabelled), Err(failed("k2")));
        // Copied onto another integration, the value is useless there.
        assert_eq!(ring.decrypt(Uuid::nil(), &encrypted), Err(failed("k1")));
        let garbled = EncryptedSecret {
            nonce: "not base64!".into(),
            ..encrypted
        };
        assert!(matches!(
            ring.decrypt(integration(), &garbled),
            Err(SecretError::Malformed { .. })
        ));
    }

    #[test]
    fn old_keys_still_decrypt_after_a_rotation() {
        let before = keys(&[&format!("k1:{KEY_1}")]);
        let old = sealed(&before, "old secret");
        let after = SecretKeys::parse(&format!(" k2:{KEY_2} , k1:{KEY_1} ,")).unwrap();
        assert_eq!(after.current_key_id(), "k2");
        assert_eq!(after.key_ids().collect::<Vec<_>>(), vec!["k1", "k2"]);
        assert_eq!(
            after.decrypt(integration(), &old).unwrap().expose(),
            "old secret"
        );
        assert!(after.is_outdated(&old));
        let new = sealed(&after, "new secret");
        assert_eq!(new.key_id, "k2");
        assert!(!after.is_outdated(&new));
        // Once the old key is removed, what it encrypted can no longer be read.
        let retired: SecretKeys = format!("k2:{KEY_2}").parse().unwrap();
        assert_eq!(
            retired.decrypt(integration(), &old).unwrap_err(),
            SecretError::UnknownKeyId {
                key_id: "k1".into()
            }
        );
    }

    #[test]
    fn configuration_errors_are_clear_and_never_show_key_material() {
        let cases: Vec<(String, SecretError)> = vec![
            (String::new(), SecretError::NoKeys),
            (
                KEY_1.to_owned(),
                SecretError::MalformedEntry { position: 1 },
            ),
            (
                format!("k1:{KEY_1},bad id:{KEY_2}"),
                SecretError::InvalidKeyId { position: 2 },
            ),
            (
                "k1:not*base64".to_owned(),
                SecretError::KeyNotBase64 {
                    key_id: "k1".into(),
                },
            ),
            (
                "k1:AAECAwQF".to_owned(),
                SecretError::WrongKeyLength {
                    key_id: "k1".into(),
                    length: 6,
                },
            ),
            (
                format!("k1:{KEY_1},k1:{KEY_2}"),
                SecretError::DuplicateKeyId {
                    key_id: "k1".into(),
                },
            ),
        ];
        for (config, expected) in cases {
            let error = SecretKeys::parse(&config).unwrap_err();
            assert!(!error.to_string().contains("AAEC"), "{error}");
            assert_eq!(error, expected, "{config}");
        }
        assert_eq!(
            SecretError::WrongKeyLength {
                key_id: "k1".into(),
                length: 6
            }
            .to_string(),
            "secret encryption key `k1` must be 32 bytes (AES-256), got 6"
        );
    }

    #[test]
    fn debug_output_shows_key_ids_but_no_material_or_secret() {
        let ring = keys(&[&format!("k2:{KEY_2}"), &format!("k1:{KEY_1}")]);
        let shown = format!("{ring:?}");
        assert_eq!(
            shown,
            r#"SecretKeys { current: "k2", key_ids: ["k1", "k2"] }"#
        );
        assert_eq!(format!("{:?}", Secret::new("whsec_abc")), "Secret(..)");
    }

    #[test]
    fn empty_and_oversized_secrets_are_refused() {
        let ring = keys(&[&format!("k1:{KEY_1}")]);
        assert_eq!(
            ring.encrypt(integration(), &Secret::new("")),
            Err(SecretError::EmptySecret)
        );
        let huge = Secret::new("x".repeat(EncryptedSecret::MAX_PLAINTEXT_BYTES + 1));
        assert!(matches!(
            ring.encrypt(integration(), &huge),
            Err(SecretError::SecretTooLong {
                length: 4097,
                max: 4096
            })
        ));
        let largest = Secret::new("x".repeat(EncryptedSecret::MAX_PLAINTEXT_BYTES));
        let encrypted = ring.encrypt(integration(), &largest).unwrap();
        assert!(EncryptedSecret::check_ciphertext(&encrypted.ciphertext).is_ok());
    }

    #[test]
    fn generated_signing_secrets_follow_the_standard_webhooks_format() {
        let secret = generate_signing_secret();
        let encoded = secret.expose().strip_prefix("whsec_").unwrap();
        assert_eq!(
            STANDARD.decode(encoded).unwrap().len(),
            SIGNING_SECRET_BYTES
        );
        assert_ne!(generate_signing_secret(), secret);
    }
}
