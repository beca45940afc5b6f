//! Signed image URLs: `/img/{signature}/{options…}/{image_id}`.
//!
//! Resizing is expensive, so the origin and the edge only do it for URLs the shop itself made:
//! the signature is the base64url (no padding) HMAC-SHA256 of the rest of the path
//! (`/{options…}/{image_id}`, starting with its `/`) under a secret key. Several keys are accepted
//! at once so a key can be rotated without breaking the URLs already in pages and caches: add the
//! new key first, sign with it, drop the old one later. Comparison is constant-time (the MAC
//! crate's `verify_slice`), and every key is tried whatever the outcome, so timing tells nothing
//! about which key or how many bytes matched.
//!
//! With no keys configured signing is off: the segment is conventionally `_` and is not checked.
//! With keys configured, `_` (or an empty segment) is [`SignatureError::Missing`] and anything else
//! that fails is [`SignatureError::Invalid`]; both are a 403.
//!
//! Keys are passed in (the origin reads `IMAGE_SIGNING_KEYS`, the edge a Worker secret); this
//! module never reads the environment.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::InvalidInput;

type HmacSha256 = Hmac<Sha256>;

/// The signature segment that means "unsigned".
pub const UNSIGNED: &str = "_";

/// Why a signature was refused. Both map to 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Keys are configured but the URL carries no signature (`_` or empty).
    #[error("this image URL must be signed")]
    Missing,
    /// The signature does not match the path under any configured key.
    #[error("the image URL signature is invalid")]
    Invalid,
}

impl SignatureError {
    /// A stable machine-readable code for logs and problem bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "signature_missing",
            Self::Invalid => "signature_invalid",
        }
    }
}

/// The set of keys that URLs may be signed with; empty means signing is off.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SigningKeys(Vec<Vec<u8>>);

impl std::fmt::Debug for SigningKeys {
    // Never print the secrets themselves.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKeys({} keys)", self.0.len())
    }
}

impl SigningKeys {
    /// Parses a comma-separated list (the format of `IMAGE_SIGNING_KEYS`). Blank entries are
    /// ignored, so an empty string means "no keys". Each key is used as its UTF-8 bytes and must be
    /// at least 16 bytes long: a short key is a configuration mistake worth stopping for.
    pub fn parse(list: &str) -> Result<Self, InvalidInput> {
        let mut keys = Vec::new();
        for key in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            if key.len() < 16 {
                return Err(InvalidInput::new(
                    "IMAGE_SIGNING_KEYS",
                    "each key must be at least 16 bytes long",
                ));
            }
            keys.push(key.as_bytes().to_vec());
        }
        Ok(Self(keys))
    }

    /// Builds the set from raw keys (the first one is the one to sign new URLs with).
    pub fn from_keys<K: AsRef<[u8]>>(keys: &[K]) -> Self {
        Self(keys.iter().map(|k| k.as_ref().to_vec()).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The key new URLs are signed with (the first one), if any.
    pub fn current(&self) -> Option<&[u8]> {
        self.0.first().map(Vec::as_slice)
    }

    /// Signs `path` with the current key, or returns [`UNSIGNED`] when there is none.
    pub fn sign(&self, path: &str) -> String {
        match self.current() {
            Some(key) => sign(key, path),
            None => UNSIGNED.to_owned(),
        }
    }

    /// [`verify`] against these keys.
    pub fn verify(&self, signature: &str, path: &str) -> Result<(), SignatureError> {
        verify(&self.0, signature, path)
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length (long ones are hashed, short ones padded): cannot fail.
    HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length")
}

/// The signature of `path` (everything after the signature segment, starting with `/`).
pub fn sign(key: &[u8], path: &str) -> String {
    let mut m = mac(key);
    m.update(path.as_bytes());
    URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
}

/// Checks `signature` for `path` against every key in `keys`.
///
/// No keys: always `Ok` (signing is off; the segment is not checked). Keys: `_` or empty is
/// `Missing`; a value that is not 43 base64url characters or matches no key is `Invalid`.
pub fn verify<K: AsRef<[u8]>>(
    keys: &[K],
    signature: &str,
    path: &str,
) -> Result<(), SignatureError> {
    if keys.is_empty() {
        return Ok(());
    }
    if signature.is_empty() || signature == UNSIGNED {
        return Err(SignatureError::Missing);
    }
    // 32 bytes encode to exactly 43 characters without padding; refuse anything else before
    // decoding so that garbage of any length costs nothing.
    if signature.len() != 43 {
        return Err(SignatureError::Invalid);
    }
    let Ok(tag) = URL_SAFE_NO_PAD.decode(signature) else {
        return Err(SignatureError::Invalid);
    };
    let mut ok = false;
    for key in keys {
        let mut m = mac(key.as_ref());
        m.update(path.as_bytes());
        // Constant-time comparison; no early exit across keys either.
        ok |= m.verify_slice(&tag).is_ok();
    }
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str =
        "/w:300/h:300/fit:cover/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const OLD: &[u8] = b"old-key-0123456789abcdef";
    const NEW: &[u8] = b"new-key-0123456789abcdef";

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let sig = sign(b"Jefe", "what do ya want for nothing?");
        assert_eq!(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM");
        assert_eq!(sig.len(), 43);
    }

    #[test]
    fn accepts_a_valid_signature() {
        let sig = sign(NEW, PATH);
        assert_eq!(verify(&[NEW], &sig, PATH), Ok(()));
    }

    #[test]
    fn rejects_a_wrong_signature_path_or_key() {
        let sig = sign(NEW, PATH);
        let other_path = PATH.replace("w:300", "w:301");
        assert_eq!(
            verify(&[NEW], &sig, &other_path),
            Err(SignatureError::Invalid)
        );
        assert_eq!(verify(&[OLD], &sig, PATH), Err(SignatureError::Invalid));
        // One character flipped.
        let mut bad = sig.clone().into_bytes();
        bad[0] = if bad[0] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        assert_eq!(verify(&[NEW], &bad, PATH), Err(SignatureError::Invalid));
        // Truncated, too long, not base64url, padded.
        assert_eq!(
            verify(&[NEW], &sig[..42], PATH),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(&[NEW], &format!("{sig}A"), PATH),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(&[NEW], &"!".repeat(43), PATH),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(&[NEW], &format!("{sig}="), PATH),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn rotation_accepts_old_and_new_keys() {
        let keys = SigningKeys::from_keys(&[NEW, OLD]);
        assert_eq!(keys.verify(&sign(OLD, PATH), PATH), Ok(()));
        assert_eq!(keys.verify(&sign(NEW, PATH), PATH), Ok(()));
        assert_eq!(
            keys.sign(PATH),
            sign(NEW, PATH),
            "new URLs use the first key"
        );
        // After the old key is dropped its URLs stop working.
        let keys = SigningKeys::from_keys(&[NEW]);
        assert_eq!(
            keys.verify(&sign(OLD, PATH), PATH),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn unsigned_marker_with_and_without_keys() {
        let none: [&[u8]; 0] = [];
        assert_eq!(verify(&none, UNSIGNED, PATH), Ok(()));
        assert_eq!(SigningKeys::default().sign(PATH), "_");
        assert_eq!(verify(&[NEW], UNSIGNED, PATH), Err(SignatureError::Missing));
        assert_eq!(verify(&[NEW], "", PATH), Err(SignatureError::Missing));
        assert_eq!(SignatureError::Missing.code(), "signature_missing");
    }

    #[test]
    fn parses_the_key_list() {
        let keys =
            SigningKeys::parse(" new-key-0123456789abcdef , ,old-key-0123456789abcdef").unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys.current(), Some(NEW));
        assert!(SigningKeys::parse("").unwrap().is_empty());
        let err = SigningKeys::parse("short").unwrap_err();
        assert_eq!(err.field, "IMAGE_SIGNING_KEYS");
        assert!(
            !format!("{keys:?}").contains("new-key"),
            "Debug must not leak keys"
        );
    }
}
