//! API key tokens: how they look, how they are made, and how they are hashed.
//!
//! A token is `keel_` followed by 43 URL-safe base64 characters (32 random bytes). Only its
//! SHA-256 is stored; the first 12 characters are kept as a non-secret prefix for lists.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Length of the display prefix kept with a key.
const PREFIX_LEN: usize = 12;

/// A freshly generated key: the secret token (shown once) and what is stored of it.
pub struct NewToken {
    /// The whole secret token, for the caller to keep.
    pub token: String,
    /// Its non-secret start.
    pub prefix: String,
    /// Its SHA-256, hex.
    pub hash: String,
}

/// Generates a new random token.
pub fn generate() -> NewToken {
    from_token(format!("keel_{}", random_url_safe::<32>()))
}

/// `N` random bytes from the operating system, in URL-safe base64 without padding (also the
/// challenge tokens of custom domains).
pub fn random_url_safe<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a given token.
pub fn from_token(token: String) -> NewToken {
    NewToken {
        prefix: token.chars().take(PREFIX_LEN).collect(),
        hash: hash(&token),
        token,
    }
}

/// The stored form of a token: SHA-256, hex. Tokens carry 256 random bits, so a fast hash is
/// safe here (no dictionary to attack), and lookups stay cheap.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether a string has the shape of a Keel token (it may still be unknown or revoked).
pub fn looks_like_token(candidate: &str) -> bool {
    candidate.strip_prefix("keel_").is_some_and(|rest| {
        rest.len() >= 32
            && rest.len() <= 128
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_and_distinct() {
        let a = generate();
        let b = generate();
        assert!(looks_like_token(&a.token));
        assert_ne!(a.token, b.token);
        assert_eq!(a.prefix.len(), PREFIX_LEN);
        assert!(a.token.starts_with(&a.prefix));
        assert_eq!(a.hash, hash(&a.token));
        assert_eq!(a.hash.len(), 64);
    }

    #[test]
    fn malformed_tokens_are_recognised() {
        for bad in [
            "",
            "keel_",
            "keel_short",
            "nope_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "keel_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
        ] {
            assert!(!looks_like_token(bad), "{bad}");
        }
    }
}
