//! Contacts encrypted at rest: [`DataKeys`] for the persistent stores.
//!
//! A persistent store holds each contact (a challenge's destination, an account's
//! security info and hold originals) as `c1.<key id>.<base64url(nonce ‖ XChaCha20-
//! Poly1305 ciphertext)>`, and finds verified contacts by a keyed hash of their
//! [identity](crate::Contact::identity) (`i1.<hex HMAC-SHA256>`), so a dump of the
//! database without the keys holds no email address or phone number. The data key
//! rotates (new contacts under the current key; older keys kept to read); the index
//! key must not change, or lookups of existing contacts stop matching.

// `DataKeys` is public in every build; what seals and opens with it is used only
// by the persistent stores.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "redis", feature = "postgres")),
    allow(dead_code)
)]

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::Hmac;
#[cfg(any(feature = "sqlite", feature = "postgres", test))]
use hmac::Mac;
use rand::Rng;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::contact::Contact;
use crate::error::Error;
use crate::keys::SecretKey;

const AAD: &[u8] = b"seccode-contact-v1";

/// The keys a persistent store encrypts contacts with: a current data key (by id),
/// older data keys kept to read what they encrypted, and the index key that
/// contact lookups hash with. Load them from your secrets manager, next to the
/// code keys. `Debug` shows only key ids.
///
/// # Examples
///
/// ```
/// use seccode::{DataKeys, SecretKey};
///
/// let keys = DataKeys::new(2, SecretKey::from_bytes([2; 32]), SecretKey::from_bytes([9; 32]))
///     .with_retired(1, SecretKey::from_bytes([1; 32]))?;
/// assert_eq!(format!("{keys:?}"), "DataKeys { current: 2, key_ids: [2, 1], .. }");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct DataKeys {
    current: u32,
    keys: Vec<(u32, Zeroizing<[u8; 32]>)>,
    /// Read by the account stores (SQLite, PostgreSQL), which look contacts up.
    #[cfg_attr(
        not(any(feature = "sqlite", feature = "postgres", test)),
        allow(dead_code)
    )]
    index: Hmac<Sha256>,
}

impl DataKeys {
    /// Encrypts under `data_key` (known by `id`); hashes lookups under
    /// `index_key`, which must never change for a given store.
    pub fn new(id: u32, data_key: SecretKey, index_key: SecretKey) -> Self {
        let index = match <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(index_key.bytes()) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts keys of any length"),
        };
        Self {
            current: id,
            keys: vec![(id, Zeroizing::new(*data_key.bytes()))],
            index,
        }
    }

    /// The data keys every server of a deployment must share, from environment
    /// variables: `SECCODE_DATA_KEY` (64 hex digits or 32 bytes in base64),
    /// `SECCODE_DATA_KEY_ID` (default 1) and `SECCODE_INDEX_KEY` (which must
    /// never change for a given store).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the variable that is missing or
    /// malformed (never its value).
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`DataKeys::from_env`], reading the variables through `lookup`.
    ///
    /// # Errors
    ///
    /// As [`DataKeys::from_env`].
    pub fn from_lookup(mut lookup: impl FnMut(&str) -> Option<String>) -> Result<Self, Error> {
        let data = crate::keys::key_from(&mut lookup, "SECCODE_DATA_KEY")?;
        let id = crate::keys::id_from(&mut lookup, "SECCODE_DATA_KEY_ID")?;
        let index = crate::keys::key_from(&mut lookup, "SECCODE_INDEX_KEY")?;
        Ok(Self::new(id, data, index))
    }

    /// Adds an older data key, to read contacts it encrypted.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] if `id` is already there.
    pub fn with_retired(mut self, id: u32, data_key: SecretKey) -> Result<Self, Error> {
        if self.keys.iter().any(|(k, _)| *k == id) {
            return Err(Error::InvalidInput {
                field: "data key id",
                reason: "already in the data keys",
            });
        }
        self.keys.push((id, Zeroizing::new(*data_key.bytes())));
        Ok(self)
    }

    fn key(&self, id: u32) -> Option<&[u8; 32]> {
        self.keys
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, key)| &**key)
    }
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<u32> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("DataKeys")
            .field("current", &self.current)
            .field("key_ids", &ids)
            .finish_non_exhaustive()
    }
}

/// How a store writes contacts: in the clear (no keys) or encrypted.
#[derive(Clone, Default)]
pub(crate) struct ContactCodec(Option<Arc<DataKeys>>);

impl ContactCodec {
    pub(crate) fn encrypted(keys: DataKeys) -> Self {
        Self(Some(Arc::new(keys)))
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn is_encrypted(&self) -> bool {
        self.0.is_some()
    }

    /// The stored form of `contact`.
    pub(crate) fn seal(&self, contact: &Contact) -> String {
        let Some(keys) = &self.0 else {
            return contact.expose().to_owned();
        };
        let Some(key) = keys.key(keys.current) else {
            return contact.expose().to_owned();
        };
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = XChaCha20Poly1305::new(&(*key).into()).encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: contact.expose().as_bytes(),
                aad: AAD,
            },
        );
        match sealed {
            Ok(ct) => {
                let mut out = nonce.to_vec();
                out.extend_from_slice(&ct);
                format!("c1.{}.{}", keys.current, URL_SAFE_NO_PAD.encode(out))
            }
            // Encryption of a short message cannot fail; never write it clear.
            Err(_) => String::from("c1.0."),
        }
    }

    /// Reads a stored contact: encrypted (with the keys), or written in the clear
    /// (before encryption was turned on).
    pub(crate) fn open(&self, stored: &str) -> Result<Contact, Error> {
        let Some(rest) = stored.strip_prefix("c1.") else {
            return Contact::from_stored(stored).map_err(Error::from);
        };
        let keys = self.0.as_ref().ok_or_else(|| {
            Error::store("contacts are encrypted: open the store with its data keys")
        })?;
        let corrupt = || Error::store("an encrypted contact does not open with these data keys");
        let (id, body) = rest.split_once('.').ok_or_else(corrupt)?;
        let key = id
            .parse()
            .ok()
            .and_then(|id| keys.key(id))
            .ok_or_else(corrupt)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| corrupt())?;
        if bytes.len() < 24 + 16 {
            return Err(corrupt());
        }
        let (nonce, ct) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| corrupt())?;
        let plain = Zeroizing::new(
            XChaCha20Poly1305::new(&(*key).into())
                .decrypt(&XNonce::from(nonce), Payload { msg: ct, aad: AAD })
                .map_err(|_| corrupt())?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| corrupt())?;
        Contact::from_stored(text).map_err(Error::from)
    }

    /// The form lookups use: the identity in the clear, or its keyed hash.
    #[cfg(any(feature = "sqlite", feature = "postgres", test))]
    pub(crate) fn index(&self, contact: &Contact) -> String {
        match &self.0 {
            None => contact.identity().to_owned(),
            Some(keys) => {
                let mut mac = keys.index.clone();
                mac.update(contact.identity().as_bytes());
                format!("i1.{}", crate::hex::encode(&mac.finalize().into_bytes()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_round_trip_and_hide_in_their_stored_form() {
        let keys = DataKeys::new(
            1,
            SecretKey::from_bytes([1; 32]),
            SecretKey::from_bytes([5; 32]),
        );
        let codec = ContactCodec::encrypted(keys.clone());
        let c = Contact::parse("John.Doe@example.com").unwrap();
        let sealed = codec.seal(&c);
        assert!(
            sealed.starts_with("c1.1.") && !sealed.contains("John") && !sealed.contains("example")
        );
        assert_ne!(sealed, codec.seal(&c), "a fresh nonce each time");
        let back = codec.open(&sealed).unwrap();
        assert_eq!((back.expose(), back.identity()), (c.expose(), c.identity()));
        // Lookups hash the identity: any spelling, the same index; nothing readable.
        let index = codec.index(&c);
        assert_eq!(
            index,
            codec.index(&Contact::parse("john.doe@EXAMPLE.com").unwrap())
        );
        assert!(index.starts_with("i1.") && !index.contains("john"));
        // Clear text written before encryption still reads.
        assert_eq!(
            codec.open("+14255550123").unwrap().identity(),
            "+14255550123"
        );
        // After a rotation the old key reads; without keys, or with others, nothing does.
        let rotated = ContactCodec::encrypted(
            DataKeys::new(
                2,
                SecretKey::from_bytes([2; 32]),
                SecretKey::from_bytes([5; 32]),
            )
            .with_retired(1, SecretKey::from_bytes([1; 32]))
            .unwrap(),
        );
        assert_eq!(rotated.open(&sealed).unwrap(), c);
        assert!(rotated.seal(&c).starts_with("c1.2."));
        assert!(ContactCodec::default().open(&sealed).is_err());
        let stranger = ContactCodec::encrypted(DataKeys::new(
            1,
            SecretKey::from_bytes([7; 32]),
            SecretKey::from_bytes([5; 32]),
        ));
        assert!(stranger.open(&sealed).is_err());
    }
}
