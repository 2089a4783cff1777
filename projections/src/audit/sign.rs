//! Ed25519 signatures of the audit chain's checkpoints.
//!
//! The projection signs every checkpoint it stores with an [`AuditSigner`] whose private key
//! lives outside the database (the server's configuration), and exports sign the head they
//! end on. Whoever can write to the database can recompute every hash of a rewritten chain,
//! but cannot sign its checkpoints: [`AuditKey::check`] with the published public key finds
//! them. Ed25519 signatures are deterministic, so a rebuild with the same key writes the same
//! rows.

use super::chain::checkpoint_message;
use crate::error::ProjectionError;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Holds the private key that signs checkpoints.
pub struct AuditSigner {
    key: SigningKey,
    public: AuditKey,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        write!(f, "AuditSigner({})", self.public.key_id)
    }
}

impl AuditSigner {
    /// A signer from the 32-byte Ed25519 secret seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let public = AuditKey::from_verifying(key.verifying_key());
        AuditSigner { key, public }
    }

    /// A new random key.
    pub fn generate() -> Self {
        Self::from_seed(rand::random())
    }

    /// Reads a PKCS#8 PEM private key (as `openssl genpkey -algorithm ed25519` writes it).
    pub fn read_pem_file(path: &Path) -> Result<Self, ProjectionError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ProjectionError::AuditKey(format!("cannot read {}: {e}", path.display()))
        })?;
        let key = SigningKey::from_pkcs8_pem(&text).map_err(|e| {
            ProjectionError::AuditKey(format!(
                "{} is not an Ed25519 PKCS#8 PEM private key: {e}",
                path.display()
            ))
        })?;
        Ok(Self::from_seed(key.to_bytes()))
    }

    /// The key as PKCS#8 PEM text.
    pub fn to_pem(&self) -> Result<String, ProjectionError> {
        self.key
            .to_pkcs8_pem(Default::default())
            .map(|pem| pem.to_string())
            .map_err(|e| ProjectionError::AuditKey(format!("cannot encode the key: {e}")))
    }

    /// The public half.
    pub fn public(&self) -> &AuditKey {
        &self.public
    }

    /// Signs a checkpoint: `(key id, signature hex)`.
    pub fn sign(&self, tenant_id: &str, seq: i64, position: i64, hash: &str) -> (String, String) {
        let message = checkpoint_message(tenant_id, seq, position, hash);
        let signature = self.key.sign(&message);
        (
            self.public.key_id.clone(),
            hex::encode(signature.to_bytes()),
        )
    }
}

/// A public key that checks checkpoint signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditKey {
    key: VerifyingKey,
    /// The first 16 hex digits of SHA-256 over the 32 public key bytes.
    pub key_id: String,
}

/// The public key as served on `/.well-known/keel-audit-key` and printed by
/// `keel audit public-key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicKeyView {
    /// `ed25519`.
    pub algorithm: &'static str,
    /// The key id checkpoints name: the first 16 hex digits of SHA-256 over the key's bytes.
    pub key_id: String,
    /// The 32 key bytes, standard base64.
    pub public_key_base64: String,
    /// The 32 key bytes, hex.
    pub public_key_hex: String,
}

impl AuditKey {
    fn from_verifying(key: VerifyingKey) -> Self {
        let key_id = hex::encode(Sha256::digest(key.as_bytes()))[..16].to_owned();
        AuditKey { key, key_id }
    }

    /// Parses the 32 public key bytes given as hex (64 digits) or base64.
    pub fn parse(text: &str) -> Result<Self, ProjectionError> {
        let text = text.trim();
        let bytes = hex::decode(text)
            .ok()
            .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
            .ok_or_else(|| ProjectionError::AuditKey("not hex or base64".into()))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ProjectionError::AuditKey("an Ed25519 public key has 32 bytes".into()))?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self::from_verifying)
            .map_err(|e| ProjectionError::AuditKey(format!("not an Ed25519 public key: {e}")))
    }

    /// The key as shown to auditors.
    pub fn view(&self) -> PublicKeyView {
        PublicKeyView {
            algorithm: "ed25519",
            key_id: self.key_id.clone(),
            public_key_base64: base64::engine::general_purpose::STANDARD
                .encode(self.key.as_bytes()),
            public_key_hex: hex::encode(self.key.as_bytes()),
        }
    }

    /// Checks a checkpoint's signature; the error says what is wrong.
    pub fn check(
        &self,
        tenant_id: &str,
        seq: i64,
        position: i64,
        hash: &str,
        key_id: Option<&str>,
        signature: Option<&str>,
    ) -> Result<(), String> {
        let (Some(key_id), Some(signature)) = (key_id, signature) else {
            return Err("it is unsigned".into());
        };
        if key_id != self.key_id {
            return Err(format!(
                "it is signed by key {key_id}, not by key {}",
                self.key_id
            ));
        }
        let signature = hex::decode(signature)
            .ok()
            .and_then(|bytes| Signature::from_slice(&bytes).ok())
            .ok_or("its signature is malformed")?;
        self.key
            .verify(
                &checkpoint_message(tenant_id, seq, position, hash),
                &signature,
            )
            .map_err(|_| format!("its signature does not verify with key {}", self.key_id))
    }
}

/// Writes a new random key to `path` as PKCS#8 PEM, readable by its owner only (0600); the
/// file must not exist.
pub fn generate_key_file(path: &Path) -> Result<AuditSigner, ProjectionError> {
    use std::io::Write as _;
    let signer = AuditSigner::generate();
    let pem = signer.to_pem()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| ProjectionError::AuditKey(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| ProjectionError::AuditKey(format!("cannot write {}: {e}", path.display())))?;
    Ok(signer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_key_only() {
        let signer = AuditSigner::from_seed([7; 32]);
        let (key_id, signature) = signer.sign("t", 1000, 5, "ab");
        let key = AuditKey::parse(&signer.public().view().public_key_base64).unwrap();
        assert_eq!(key, *signer.public());
        assert!(key
            .check("t", 1000, 5, "ab", Some(&key_id), Some(&signature))
            .is_ok());
        assert!(key
            .check("t", 1000, 5, "ac", Some(&key_id), Some(&signature))
            .is_err());
        assert!(key.check("t", 1000, 5, "ab", None, None).is_err());
        let other = AuditSigner::from_seed([8; 32]);
        let (other_id, forged) = other.sign("t", 1000, 5, "ab");
        assert!(key
            .check("t", 1000, 5, "ab", Some(&other_id), Some(&forged))
            .unwrap_err()
            .contains("not by key"));
        assert!(key
            .check("t", 1000, 5, "ab", Some(&key_id), Some(&forged))
            .unwrap_err()
            .contains("does not verify"));
    }

    #[test]
    fn a_key_survives_its_pem_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        let written = generate_key_file(&path).unwrap();
        let read = AuditSigner::read_pem_file(&path).unwrap();
        assert_eq!(written.public(), read.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(generate_key_file(&path).is_err(), "never overwritten");
    }
}
