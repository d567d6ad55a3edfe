//! Proofs that cross requests and servers: a [`Proof`] sealed into an opaque,
//! URL-safe token and read back, single use everywhere.
//!
//! * **Sealed**: XChaCha20-Poly1305 (RustCrypto) under a key derived from the
//!   keyring's current key for this purpose alone, with a random 192-bit nonce;
//!   the token names the key id, so tokens sealed before a rotation open while the
//!   old key stays in the ring (as retired). Forged, altered or foreign tokens do
//!   not open; the token reveals nothing (account, contact) to its holder, not
//!   even their lengths: every plaintext is padded to one length.
//! * **Bound and expiring**: the sealed fields are the challenge, account,
//!   purpose, destination and verification time; a token opens only until
//!   `verified_at + FlowSettings::proof_lifetime`.
//! * **Single use**: every step that consumes a proof marks it spent on its
//!   challenge record, atomically in the store ([`Challenge::spend_proof`]), so
//!   a replay fails on every server that shares the store — for a sealed token
//!   and for the in-process [`Proof`] alike. A step that fails (a duplicate
//!   contact, a hold, the last contact) gives the proof back.
//!
//! [`Challenge::spend_proof`]: crate::Challenge::spend_proof

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::Rng;
use zeroize::Zeroizing;

use crate::challenge::{AccountId, ChallengeId, Proof};
use crate::channel::DeliveryChannel;
use crate::clock::Timestamp;
use crate::contact::Contact;
use crate::error::{Error, Result};
use crate::flows::AccountSecurity;
use crate::policy::Purpose;
use crate::store::{AccountStore, ChallengeStore};

const DOMAIN: &str = "proof-seal";
const AAD: &[u8] = b"seccode-proof-v1";
const PREFIX: &str = "p1.";

/// Every sealed plaintext is padded to this length: the largest one (a 128-byte
/// account id and a 254-byte address, with the fixed fields) fits, so a
/// token's length says nothing about the account or the contact.
const PADDED_LEN: usize = 16 + 8 + 8 + 1 + (2 + AccountId::MAX_LEN) + (2 + 254);

/// A sealed [`Proof`]: opaque, URL-safe text to carry to the next page (a form
/// field, a query parameter, a cookie). A bearer secret for its short life:
/// `Debug` is redacted and the text zeroizes on drop.
pub struct SealedProof(Zeroizing<String>);

impl SealedProof {
    /// The token.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SealedProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedProof(<redacted>)")
    }
}

fn cipher(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*key).into())
}

impl<A: AccountStore, S: ChallengeStore, C: DeliveryChannel> AccountSecurity<A, S, C> {
    /// Seals `proof` for the next request: an XChaCha20-Poly1305 token under a key
    /// derived from the keyring's current key, bound to the proof's challenge,
    /// account, purpose and destination, opening until the proof's lifetime ends,
    /// and single use through the step that spends the proof.
    ///
    /// # Errors
    ///
    /// [`Error::ProofMismatch`] if the proof is already too old to seal.
    pub fn seal(&self, proof: &Proof) -> Result<SealedProof> {
        let expires = proof.verified_at() + self.settings.proof_lifetime;
        if self.codes.now() >= expires {
            return Err(Error::ProofMismatch);
        }
        let keyring = self.codes.keyring();
        let key_id = keyring.current_id();
        let key = keyring
            .derived_key(key_id, DOMAIN)
            .ok_or(Error::UnknownKey(key_id))?;
        let mut plain = Zeroizing::new(Vec::with_capacity(128));
        plain.extend_from_slice(proof.challenge().as_bytes());
        plain.extend_from_slice(&proof.verified_at().as_unix_millis().to_be_bytes());
        plain.extend_from_slice(&expires.as_unix_millis().to_be_bytes());
        plain.push(u8::try_from(proof.purpose().index()).unwrap_or(u8::MAX));
        for text in [proof.account().as_str(), proof.destination().expose()] {
            let len = u16::try_from(text.len()).map_err(|_| Error::ProofMismatch)?;
            plain.extend_from_slice(&len.to_be_bytes());
            plain.extend_from_slice(text.as_bytes());
        }
        if plain.len() > PADDED_LEN {
            return Err(Error::ProofMismatch);
        }
        plain.resize(PADDED_LEN, 0);
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher(&key)
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: AAD,
                },
            )
            .map_err(|_| Error::ProofMismatch)?;
        let mut out = Vec::with_capacity(4 + 24 + sealed.len());
        out.extend_from_slice(&key_id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(SealedProof(Zeroizing::new(format!(
            "{PREFIX}{}",
            URL_SAFE_NO_PAD.encode(out)
        ))))
    }

    /// Opens a token from [`AccountSecurity::seal`] into a [`Proof`] for the next
    /// step (which spends it). Opening does not spend it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`] if the token is malformed, forged, sealed under a
    /// key the ring no longer holds, or expired.
    pub fn unseal(&self, token: &str) -> Result<Proof> {
        let bytes = token
            .trim()
            .strip_prefix(PREFIX)
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .ok_or(Error::InvalidToken)?;
        if bytes.len() < 4 + 24 + 16 {
            return Err(Error::InvalidToken);
        }
        let (key_id, rest) = bytes.split_at(4);
        let key_id = u32::from_be_bytes(key_id.try_into().map_err(|_| Error::InvalidToken)?);
        let (nonce, sealed) = rest.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| Error::InvalidToken)?;
        let key = self
            .codes
            .keyring()
            .derived_key(key_id, DOMAIN)
            .ok_or(Error::InvalidToken)?;
        let plain = Zeroizing::new(
            cipher(&key)
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: sealed,
                        aad: AAD,
                    },
                )
                .map_err(|_| Error::InvalidToken)?,
        );
        let mut r = &plain[..];
        let mut take = |n: usize| -> Result<&[u8]> {
            if r.len() < n {
                return Err(Error::InvalidToken);
            }
            let (head, tail) = r.split_at(n);
            r = tail;
            Ok(head)
        };
        let challenge =
            ChallengeId::from_bytes(take(16)?.try_into().map_err(|_| Error::InvalidToken)?);
        let millis = |b: &[u8]| -> Result<Timestamp> {
            Ok(Timestamp::from_unix_millis(u64::from_be_bytes(
                b.try_into().map_err(|_| Error::InvalidToken)?,
            )))
        };
        let verified_at = millis(take(8)?)?;
        let expires = millis(take(8)?)?;
        let purpose = *Purpose::ALL
            .get(usize::from(take(1)?[0]))
            .ok_or(Error::InvalidToken)?;
        let mut text = || -> Result<String> {
            let len = u16::from_be_bytes(take(2)?.try_into().map_err(|_| Error::InvalidToken)?);
            String::from_utf8(take(usize::from(len))?.to_vec()).map_err(|_| Error::InvalidToken)
        };
        let account = AccountId::new(text()?).map_err(|_| Error::InvalidToken)?;
        let destination = Contact::from_stored(&text()?).map_err(|_| Error::InvalidToken)?;
        if r.iter().any(|&b| b != 0) {
            return Err(Error::InvalidToken);
        }
        if self.codes.now() >= expires {
            return Err(Error::InvalidToken);
        }
        Ok(Proof::unsealed(
            challenge,
            account,
            purpose,
            destination,
            verified_at,
        ))
    }

    /// Runs `step` with `proof` spent: marks it spent on its challenge (once, in
    /// the store), and gives it back if the step fails.
    pub(crate) async fn spending<T>(
        &self,
        proof: &Proof,
        step: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let id = *proof.challenge();
        self.codes
            .store()
            .update(&id, |c| c.spend_proof())
            .await?
            .ok_or(Error::ProofMismatch)??;
        match step.await {
            Ok(out) => Ok(out),
            Err(e) => {
                // Best effort: if this fails too, the proof stays spent (the safe
                // direction) and the person verifies again.
                let _ = self.codes.store().update(&id, |c| c.unspend_proof()).await;
                Err(e)
            }
        }
    }
}
