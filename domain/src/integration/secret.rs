//! The signing secret as the domain sees it: encrypted, never in clear text.
//!
//! The edge (`keel_commands::secrets`) generates a secret, shows it to the user once, and
//! encrypts it with AES-256-GCM under a key from configuration. Commands, events and state only
//! ever hold the result, an [`EncryptedSecret`]: which key encrypted it (so keys can be rotated),
//! the nonce, and the ciphertext with its authentication tag. The domain cannot decrypt it; it
//! checks its structure, so that a caller bug (a clear secret in the ciphertext field, a nonce of
//! the wrong size) is refused when decided instead of failing at the first delivery.

use super::values::{quoted, InvalidValue};
use serde::{Deserialize, Serialize};

/// A secret encrypted with AES-256-GCM. Binary parts are standard base64 with padding.
///
/// Its fields are public because it is command input as well as a stored value: `decide`
/// checks them with [`EncryptedSecret::check_key_id`], [`EncryptedSecret::check_nonce`] and
/// [`EncryptedSecret::check_ciphertext`] before recording it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptedSecret {
    /// The id of the encryption key in the keyring, e.g. `2026-01`.
    pub key_id: String,
    /// The 96-bit nonce, base64.
    pub nonce: String,
    /// The ciphertext followed by the 128-bit authentication tag, base64.
    pub ciphertext: String,
}

impl EncryptedSecret {
    /// The size of an AES-GCM nonce, in bytes.
    pub const NONCE_BYTES: usize = 12;
    /// The size of an AES-GCM authentication tag, in bytes.
    pub const TAG_BYTES: usize = 16;
    /// The longest clear secret accepted, in bytes: room for a REST connector's access token.
    pub const MAX_PLAINTEXT_BYTES: usize = 4096;
    /// The longest key id accepted, in bytes.
    pub const MAX_KEY_ID_LEN: usize = 64;

    /// Whether `raw` is a valid key id: 1-64 ASCII letters, digits, '_', '-' or '.'. A ':' is
    /// excluded because it separates the id from the key in configuration.
    pub fn is_valid_key_id(raw: &str) -> bool {
        (1..=Self::MAX_KEY_ID_LEN).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    }

    /// Checks a key id (see [`EncryptedSecret::is_valid_key_id`]).
    pub fn check_key_id(raw: &str) -> Result<(), InvalidValue> {
        if Self::is_valid_key_id(raw) {
            Ok(())
        } else {
            Err(InvalidValue::new(format!(
                "{} is invalid: use 1-{} letters, digits, '_', '-' or '.'",
                quoted(raw),
                Self::MAX_KEY_ID_LEN
            )))
        }
    }

    /// Checks a nonce: the base64 of exactly 12 bytes.
    pub fn check_nonce(raw: &str) -> Result<(), InvalidValue> {
        match base64_decoded_len(raw) {
            Some(Self::NONCE_BYTES) => Ok(()),
            _ => Err(InvalidValue::new(format!(
                "must be the standard base64 of a {}-byte nonce",
                Self::NONCE_BYTES
            ))),
        }
    }

    /// Checks a ciphertext: the base64 of a 1 to 4096-byte encrypted secret followed by its
    /// 16-byte tag. The input is never echoed, in case a caller sent the clear secret here.
    pub fn check_ciphertext(raw: &str) -> Result<(), InvalidValue> {
        let min = Self::TAG_BYTES + 1;
        let max = Self::TAG_BYTES + Self::MAX_PLAINTEXT_BYTES;
        match base64_decoded_len(raw) {
            Some(len) if (min..=max).contains(&len) => Ok(()),
            Some(len) => Err(InvalidValue::new(format!(
                "must hold {min} to {max} bytes (an encrypted secret and its tag; got {len})"
            ))),
            None => Err(InvalidValue::new(
                "must be standard base64 (the secret encrypted with AES-256-GCM, never the \
                 secret itself)",
            )),
        }
    }
}

/// The value of one standard base64 character, or `None` for a character outside the alphabet.
fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// How many bytes a canonical, padded standard base64 text decodes to; `None` if it is not one
/// (empty, wrong length, foreign characters, misplaced padding, or non-zero unused bits, which
/// strict decoders such as the edge's refuse).
pub(super) fn base64_decoded_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.chunks_exact(4).remainder().is_empty() {
        return None;
    }
    let padding = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 {
        return None;
    }
    let data = &bytes[..bytes.len() - padding];
    let values: Option<Vec<u8>> = data.iter().map(|&b| base64_value(b)).collect();
    let last = *values?.last()?;
    let unused_bits_are_zero = match padding {
        1 => last & 0b11 == 0,
        2 => last & 0b1111 == 0,
        _ => true,
    };
    unused_bits_are_zero.then(|| bytes.len() / 4 * 3 - padding)
}
