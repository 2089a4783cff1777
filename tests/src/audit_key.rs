//! The audit signing key of the tests: one fixed Ed25519 key that every test server and tool
//! signs audit checkpoints with on both backends (PostgreSQL requires a configured key), and a
//! configuration file naming it for the `keel` tools.

use keel_projections::audit::AuditSigner;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The seed of the tests' key (tests that need another key use another seed).
pub const TEST_AUDIT_SEED: [u8; 32] = [42; 32];

struct Files {
    _dir: tempfile::TempDir,
    key: PathBuf,
    config: PathBuf,
}

fn files() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let key = dir.path().join("audit-key.pem");
        let pem = test_audit_signer().to_pem().expect("the key encodes");
        std::fs::write(&key, pem).expect("write the test audit key");
        let config = dir.path().join("keel.toml");
        std::fs::write(
            &config,
            format!("audit_signing_key_file = \"{}\"\n", key.display()),
        )
        .expect("write the test configuration");
        Files {
            _dir: dir,
            key,
            config,
        }
    })
}

/// The tests' signing key.
pub fn test_audit_signer() -> AuditSigner {
    AuditSigner::from_seed(TEST_AUDIT_SEED)
}

/// Its PKCS#8 PEM file.
pub fn test_audit_key_file() -> &'static Path {
    &files().key
}

/// A configuration file that sets only `audit_signing_key_file` to [`test_audit_key_file`].
pub fn test_config_file() -> &'static Path {
    &files().config
}
