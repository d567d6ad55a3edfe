//! Keys and code derivation.
//!
//! A code is never stored. It is `HMAC-SHA256(key, tag ‖ format ‖ id ‖ salt ‖
//! generation)` — 48 bytes of input, so with the HMAC state pre-keyed a derivation
//! costs two SHA-256 compressions — reduced to the code's alphabet by
//! a multiply-shift reduction (`CodeFormat::reduce`). A dump of the store without the key reveals nothing
//! about any code (the crate's answer to OWASP ASVS 5.0 §6.5.2, which asks for
//! salted hashing of short secrets: there is no hash to attack offline).
//!
//! `ct_eq` is the only place in the crate that compares secrets.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use rand::CryptoRng;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::code::{CodeFormat, CodeValue};

type HmacSha256 = Hmac<Sha256>;

/// Domain separation: a code's HMAC input starts with this tag.
const TAG: &[u8; 10] = b"seccode-v1";
const INPUT_LEN: usize = TAG.len() + 2 + 16 + 16 + 4;
const _: () = assert!(INPUT_LEN <= 55, "one SHA-256 block after the key block");

/// A 256-bit secret key for deriving codes. Zeroized on drop, redacted in `Debug`.
///
/// # Examples
///
/// ```
/// use seccode::SecretKey;
///
/// let key = SecretKey::from_bytes([7; 32]);
/// assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
/// let random = SecretKey::generate(&mut rand::rng());
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// A key from 32 bytes of secret, e.g. read from a secrets manager.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes, for deriving keys inside the crate.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A fresh random key.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// The keys codes are derived under: one current key for new challenges, and older
/// keys kept so that challenges issued before a rotation still verify.
///
/// Each challenge records the id of the key it was issued under. Retire a key from
/// the ring once its last challenge has expired (one code lifetime after rotating).
///
/// # Examples
///
/// ```
/// use seccode::{Keyring, SecretKey};
///
/// let old = SecretKey::from_bytes([1; 32]);
/// let new = SecretKey::from_bytes([2; 32]);
/// let ring = Keyring::new(2, new).with_retired(1, old)?;
/// assert_eq!(ring.current_id(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Keyring {
    current: u32,
    keys: Vec<(u32, HmacSha256)>,
    recovery: Option<HmacSha256>,
}

impl Keyring {
    /// A ring whose current key is `key`, known by `id`.
    pub fn new(id: u32, key: SecretKey) -> Self {
        Self {
            current: id,
            keys: vec![(id, keyed(&key))],
            recovery: None,
        }
    }

    /// A ring with one fresh random key (id 1): fine for tests and single-process
    /// demos, but codes do not survive a restart with a new key.
    pub fn generate() -> Self {
        Self::new(1, SecretKey::generate(&mut rand::rng()))
    }

    /// Adds an older key that still verifies but no longer issues.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) if `id` is already in the ring.
    pub fn with_retired(mut self, id: u32, key: SecretKey) -> crate::Result<Self> {
        if self.keys.iter().any(|(k, _)| *k == id) {
            return Err(crate::Error::InvalidInput {
                field: "key id",
                reason: "already in the keyring",
            });
        }
        self.keys.push((id, keyed(&key)));
        Ok(self)
    }

    /// Sets the long-lived secret that made-up recovery answers are derived from
    /// (see [`crate::flows`]). It must not change when code keys rotate — the
    /// answers for an unknown identifier would change while a real account's do
    /// not — so keep it in your secrets manager next to the code keys and never
    /// rotate it casually. Without it the current code key is used, and made-up
    /// answers change at each rotation.
    #[must_use]
    pub fn with_recovery_secret(mut self, secret: SecretKey) -> Self {
        self.recovery = Some(keyed(&secret));
        self
    }

    /// The id of the key new challenges are issued under.
    pub fn current_id(&self) -> u32 {
        self.current
    }

    /// Derives the code of one challenge generation, or `None` if the ring does not
    /// hold `key_id`.
    pub(crate) fn derive(&self, key_id: u32, input: &DerivationInput<'_>) -> Option<CodeValue> {
        let (_, state) = self.keys.iter().find(|(id, _)| *id == key_id)?;
        let mut mac = state.clone();
        let mut message = [0u8; INPUT_LEN];
        message[..10].copy_from_slice(TAG);
        message[10] = input.format.alphabet().tag();
        message[11] = input.format.length();
        message[12..28].copy_from_slice(input.id);
        message[28..44].copy_from_slice(input.salt);
        message[44..48].copy_from_slice(&input.generation.to_be_bytes());
        mac.update(&message);
        // `CtOutput` zeroizes itself on drop.
        let tag = mac.finalize();
        Some(input.format.reduce(tag.as_bytes()))
    }
}

impl Keyring {
    /// `HMAC-SHA256(current key, domain ‖ 0 ‖ data)`: authenticates the crate's own
    /// tokens and makes its decoys deterministic. Domains keep these apart from
    /// code derivation, whose input starts with a fixed 10-byte tag.
    pub(crate) fn tag(&self, domain: &str, data: &[u8]) -> [u8; 32] {
        self.tag_with(self.current, domain, data).unwrap_or([0; 32])
    }

    /// [`Keyring::tag`] under the recovery secret (or the current key without one).
    pub(crate) fn recovery_tag(&self, domain: &str, data: &[u8]) -> [u8; 32] {
        match &self.recovery {
            Some(state) => mac_tag(state, domain, data),
            None => self.tag(domain, data),
        }
    }

    fn tag_with(&self, key_id: u32, domain: &str, data: &[u8]) -> Option<[u8; 32]> {
        let (_, state) = self.keys.iter().find(|(id, _)| *id == key_id)?;
        Some(mac_tag(state, domain, data))
    }

    /// A 256-bit key for `domain` derived from key `key_id`, or `None` if the ring
    /// does not hold it: `HMAC(key, "seccode-tag:" ‖ domain ‖ 0)`.
    pub(crate) fn derived_key(
        &self,
        key_id: u32,
        domain: &str,
    ) -> Option<zeroize::Zeroizing<[u8; 32]>> {
        self.tag_with(key_id, domain, &[])
            .map(zeroize::Zeroizing::new)
    }

    /// Whether `tag` (a prefix of a [`Keyring::tag`]) was made under any key in the ring.
    pub(crate) fn verify_tag(&self, domain: &str, data: &[u8], tag: &[u8]) -> bool {
        let mut ok = false;
        for (id, _) in &self.keys {
            if let Some(full) = self.tag_with(*id, domain, data) {
                ok |= tag.len() <= full.len() && ct_eq(&full[..tag.len()], tag);
            }
        }
        ok && !tag.is_empty()
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<u32> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("key_ids", &ids)
            .field("recovery_secret", &self.recovery.is_some())
            .finish_non_exhaustive()
    }
}

fn mac_tag(state: &HmacSha256, domain: &str, data: &[u8]) -> [u8; 32] {
    let mut mac = state.clone();
    mac.update(b"seccode-tag:");
    mac.update(domain.as_bytes());
    mac.update(&[0]);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn keyed(key: &SecretKey) -> HmacSha256 {
    // HMAC takes keys of any length; 32 bytes never fails.
    match HmacSha256::new_from_slice(&key.0) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// What a code is derived from.
pub(crate) struct DerivationInput<'a> {
    pub(crate) format: CodeFormat,
    pub(crate) id: &'a [u8; 16],
    pub(crate) salt: &'a [u8; 16],
    pub(crate) generation: u32,
}

/// Constant-time equality of two secrets. Unequal lengths return early: lengths
/// are public (a code's length is its format's).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(generation: u32) -> DerivationInput<'static> {
        DerivationInput {
            format: CodeFormat::default(),
            id: &[1; 16],
            salt: &[2; 16],
            generation,
        }
    }

    #[test]
    fn derivation_is_deterministic_and_keyed() {
        let a = Keyring::new(1, SecretKey::from_bytes([9; 32]));
        let b = Keyring::new(1, SecretKey::from_bytes([8; 32]));
        assert_eq!(a.derive(1, &input(0)), a.derive(1, &input(0)));
        assert_ne!(a.derive(1, &input(0)), b.derive(1, &input(0)));
        assert_ne!(a.derive(1, &input(0)), a.derive(1, &input(1)));
        assert_eq!(a.derive(2, &input(0)), None);
    }

    #[test]
    fn derivation_matches_hmac_sha256_test_vector() {
        // Recompute the HMAC with a fresh, non-cloned state and reduce it the same way.
        let key = [0x42; 32];
        let ring = Keyring::new(5, SecretKey::from_bytes(key));
        let mut message = Vec::new();
        message.extend_from_slice(b"seccode-v1");
        message.extend_from_slice(&[0, 6]);
        message.extend_from_slice(&[1; 16]);
        message.extend_from_slice(&[2; 16]);
        message.extend_from_slice(&7u32.to_be_bytes());
        assert_eq!(message.len(), 48);
        let mut mac = HmacSha256::new_from_slice(&key).unwrap();
        mac.update(&message);
        let tag = mac.finalize().into_bytes();
        let want = CodeFormat::default().reduce(&tag[..24]);
        assert_eq!(ring.derive(5, &input(7)), Some(want));
    }

    #[test]
    fn retired_keys_still_derive() {
        let ring = Keyring::new(2, SecretKey::from_bytes([2; 32]))
            .with_retired(1, SecretKey::from_bytes([1; 32]))
            .unwrap();
        let old = Keyring::new(1, SecretKey::from_bytes([1; 32]));
        assert_eq!(ring.derive(1, &input(0)), old.derive(1, &input(0)));
        assert!(
            Keyring::new(1, SecretKey::from_bytes([1; 32]))
                .with_retired(1, SecretKey::from_bytes([3; 32]))
                .is_err()
        );
    }

    #[test]
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"123456", b"123456"));
        assert!(!ct_eq(b"123456", b"123457"));
        assert!(!ct_eq(b"12345", b"123456"));
    }

    #[test]
    fn debug_reveals_no_key_material() {
        let ring = Keyring::new(3, SecretKey::from_bytes([0xAB; 32]));
        let text = format!("{ring:?} {:?}", SecretKey::from_bytes([0xAB; 32]));
        assert!(!text.to_lowercase().contains("ab, ab") && !text.contains("171"));
        assert!(text.contains("key_ids: [3]"));
    }
}
