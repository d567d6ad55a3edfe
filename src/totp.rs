//! Authenticator apps: time-based one-time passwords (TOTP, RFC 6238) over
//! HOTP (RFC 4226), the six-digit codes that change every 30 seconds in
//! Microsoft Authenticator, Google Authenticator, 1Password and the rest.
//!
//! * **Secrets** ([`TotpSecret`]) are drawn at random with the length of the
//!   algorithm's output — 160 bits for HMAC-SHA1 (RFC 4226 §4 asks for at least
//!   128 and recommends 160), 256 and 512 for SHA-256 and SHA-512 — shown once
//!   as an `otpauth://` URI (a QR code) and as base32 for typing, redacted in
//!   `Debug` and zeroized on drop.
//! * **Codes** are accepted for the current time step and `skew` steps either
//!   side (default one: a phone clock a little off still works), every
//!   candidate compared in constant time, and **never a step at or before the
//!   last one accepted** ([`TotpSettings::matching_step`]): a code seen over a
//!   shoulder or replayed from a log is refused. The caller stores the step it
//!   accepted atomically with the acceptance.
//!
//! # Examples
//!
//! ```
//! use seccode::{TotpSecret, TotpSettings};
//!
//! let settings = TotpSettings::default(); // HMAC-SHA1, 6 digits, 30 s, ±1 step
//! let secret = TotpSecret::generate(settings.algorithm(), &mut rand::rng());
//! let uri = settings.uri(&secret, "Contoso", "ann@example.org");
//! assert!(uri.starts_with("otpauth://totp/Contoso:ann%40example.org?secret="));
//!
//! // What the app shows at 12:00:00, and what the server accepts.
//! let now = 1_700_000_000;
//! let code = settings.code_at(&secret, now);
//! assert_eq!(settings.matching_step(&secret, &code, now, None), Some(now / 30));
//! // The same code again: refused, its step is spent.
//! assert_eq!(settings.matching_step(&secret, &code, now, Some(now / 30)), None);
//! ```

use std::fmt;

use chacha20poly1305::aead::Aead;
use chacha20poly1305::aead::Payload;
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::{CryptoRng, Rng};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::PolicyError;
use crate::keys::Keyring;

/// The HMAC an authenticator's codes are made with (RFC 6238 §1.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TotpAlgorithm {
    /// HMAC-SHA1: what authenticator apps assume when a URI names none.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl TotpAlgorithm {
    /// The name in an `otpauth://` URI (`SHA1`, `SHA256`, `SHA512`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TotpAlgorithm::Sha1 => "SHA1",
            TotpAlgorithm::Sha256 => "SHA256",
            TotpAlgorithm::Sha512 => "SHA512",
        }
    }

    /// The algorithm a URI or a stored record names.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "SHA1" => Some(TotpAlgorithm::Sha1),
            "SHA256" => Some(TotpAlgorithm::Sha256),
            "SHA512" => Some(TotpAlgorithm::Sha512),
            _ => None,
        }
    }

    /// The length of a new secret: the hash's output (20, 32 or 64 bytes).
    pub const fn secret_len(self) -> usize {
        match self {
            TotpAlgorithm::Sha1 => 20,
            TotpAlgorithm::Sha256 => 32,
            TotpAlgorithm::Sha512 => 64,
        }
    }
}

/// An authenticator's shared secret. Shown once (as a URI and as base32),
/// then kept only sealed; `Debug` is redacted and the bytes zeroize on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// A new random secret as long as `algorithm`'s output.
    pub fn generate<R: CryptoRng + ?Sized>(algorithm: TotpAlgorithm, rng: &mut R) -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; algorithm.secret_len()]);
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A secret from its bytes (a stored one, or a test vector).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// The bytes. Never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as people type it into an app: base32 (RFC 4648) without
    /// padding, in groups of four.
    pub fn to_base32(&self) -> Zeroizing<String> {
        let plain = Zeroizing::new(BASE32_NOPAD.encode(&self.0));
        let mut grouped = Zeroizing::new(String::with_capacity(plain.len() * 5 / 4));
        for (i, c) in plain.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                grouped.push(' ');
            }
            grouped.push(c);
        }
        grouped
    }

    /// Reads a base32 secret as an app shows it: any case, spaces and
    /// padding ignored.
    ///
    /// # Errors
    ///
    /// [`PolicyError`] when the text is not base32 or holds fewer than 16
    /// bytes (RFC 4226 §4: at least 128 bits).
    pub fn from_base32(text: &str) -> Result<Self, PolicyError> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '=')
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        let bytes = Zeroizing::new(
            BASE32_NOPAD
                .decode(cleaned.as_bytes())
                .map_err(|_| PolicyError::TotpSecret)?,
        );
        if bytes.len() < 16 {
            return Err(PolicyError::TotpSecret);
        }
        Ok(Self(bytes))
    }
}

/// The keyring domain of the key that seals secrets.
const SEAL_DOMAIN: &str = "authenticator-secret";

impl TotpSecret {
    /// Seals the secret for storage under the keyring's current key:
    /// XChaCha20-Poly1305 under a key derived for this use, bound to
    /// `context` (what the secret belongs to: it opens only with the same
    /// context). The result is `key id ‖ nonce ‖ ciphertext`; it names its
    /// key, so it opens after a rotation while that key stays in the ring.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`](crate::Error::UnknownKey) if the keyring's
    /// current key cannot be derived from.
    pub fn seal(&self, keyring: &Keyring, context: &[u8]) -> crate::Result<Vec<u8>> {
        let key_id = keyring.current_id();
        let key = keyring
            .derived_key(key_id, SEAL_DOMAIN)
            .ok_or(crate::Error::UnknownKey(key_id))?;
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = XChaCha20Poly1305::new(&(*key).into())
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: self.expose(),
                    aad: context,
                },
            )
            .map_err(|_| crate::Error::InvalidInput {
                field: "authenticator secret",
                reason: "could not be sealed",
            })?;
        let mut out = Vec::with_capacity(4 + 24 + sealed.len());
        out.extend_from_slice(&key_id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`TotpSecret::seal`] made with the same `context`; `None`
    /// if it does not open (another context's, altered, or its key left the
    /// ring).
    pub fn open(keyring: &Keyring, context: &[u8], sealed: &[u8]) -> Option<Self> {
        let (id, rest) = sealed.split_first_chunk::<4>()?;
        let (nonce, ciphertext) = rest.split_first_chunk::<24>()?;
        let nonce = XNonce::from(*nonce);
        let key = keyring.derived_key(u32::from_be_bytes(*id), SEAL_DOMAIN)?;
        let plain = Zeroizing::new(
            XChaCha20Poly1305::new(&(*key).into())
                .decrypt(
                    &nonce,
                    Payload {
                        msg: ciphertext,
                        aad: context,
                    },
                )
                .ok()?,
        );
        Some(Self::from_bytes(&plain))
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// How an authenticator's codes are made and accepted: the algorithm, the
/// number of digits (6 to 8), the time step (default 30 s) and how many steps
/// either side of the current one are accepted (default 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TotpSettings {
    algorithm: TotpAlgorithm,
    digits: u8,
    period_secs: u32,
    skew: u8,
}

impl Default for TotpSettings {
    fn default() -> Self {
        Self {
            algorithm: TotpAlgorithm::Sha1,
            digits: 6,
            period_secs: 30,
            skew: 1,
        }
    }
}

impl TotpSettings {
    /// Settings other than the default.
    ///
    /// # Errors
    ///
    /// [`PolicyError`] unless `digits` is 6 to 8, the period 1 to 300 seconds
    /// and the skew at most 2 steps (each accepted step adds a chance for a
    /// guess).
    pub fn new(
        algorithm: TotpAlgorithm,
        digits: u8,
        period_secs: u32,
        skew: u8,
    ) -> Result<Self, PolicyError> {
        if !(6..=8).contains(&digits) {
            return Err(PolicyError::TotpDigits);
        }
        if !(1..=300).contains(&period_secs) {
            return Err(PolicyError::TotpPeriod);
        }
        if skew > 2 {
            return Err(PolicyError::TotpSkew);
        }
        Ok(Self {
            algorithm,
            digits,
            period_secs,
            skew,
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> TotpAlgorithm {
        self.algorithm
    }

    /// Digits per code.
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// The time step in seconds.
    pub fn period_secs(&self) -> u32 {
        self.period_secs
    }

    /// Steps accepted either side of the current one.
    pub fn skew(&self) -> u8 {
        self.skew
    }

    /// The time step of `unix_secs` (seconds since 1970, RFC 6238 `T`).
    pub fn step_at(&self, unix_secs: u64) -> u64 {
        unix_secs / u64::from(self.period_secs)
    }

    /// The code an app shows at `unix_secs`, zero-padded to the digits.
    pub fn code_at(&self, secret: &TotpSecret, unix_secs: u64) -> Zeroizing<String> {
        self.code_of_step(secret, self.step_at(unix_secs))
    }

    fn code_of_step(&self, secret: &TotpSecret, step: u64) -> Zeroizing<String> {
        let value = hotp(self.algorithm, secret.expose(), step, self.digits);
        Zeroizing::new(format!("{value:0width$}", width = usize::from(self.digits)))
    }

    /// The time step whose code `input` is, among the current step at
    /// `unix_secs` and [`skew`](TotpSettings::skew) steps either side, and
    /// only if it comes after `last_step` (the step last accepted for this
    /// authenticator): `None` for a wrong code, a code of a step already
    /// used, or input that is no code (spaces between digits are ignored).
    /// Every candidate step is compared, in constant time.
    pub fn matching_step(
        &self,
        secret: &TotpSecret,
        input: &str,
        unix_secs: u64,
        last_step: Option<u64>,
    ) -> Option<u64> {
        let typed: Zeroizing<String> = Zeroizing::new(
            input
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .collect(),
        );
        if typed.len() != usize::from(self.digits) || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Exactly `digits` ASCII digits: their value names the code (leading
        // zeros included, the length being fixed).
        let typed_value = Zeroizing::new(
            typed
                .bytes()
                .fold(0u32, |v, b| v * 10 + u32::from(b - b'0')),
        );
        let now = self.step_at(unix_secs);
        let skew = u64::from(self.skew);
        // Keyed once; each candidate step clones the keyed state.
        let keyed = Keyed::new(self.algorithm, secret.expose());
        let mut found: Option<u64> = None;
        for step in now.saturating_sub(skew)..=now.saturating_add(skew) {
            let value = Zeroizing::new(keyed.hotp(step, self.digits));
            let same: bool = value.ct_eq(&*typed_value).into();
            let fresh = last_step.is_none_or(|last| step > last);
            if same && fresh {
                found = Some(step);
            }
        }
        found
    }

    /// The `otpauth://totp/` URI an app scans (Google's Key Uri Format): the
    /// label `issuer:account`, the secret in base32, the issuer again, and
    /// the algorithm, digits and period. A bearer secret: show it once.
    pub fn uri(&self, secret: &TotpSecret, issuer: &str, account: &str) -> Zeroizing<String> {
        use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
        // Everything but RFC 3986's unreserved characters.
        const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let issuer = utf8_percent_encode(issuer, COMPONENT).to_string();
        let account = utf8_percent_encode(account, COMPONENT);
        let secret = Zeroizing::new(BASE32_NOPAD.encode(secret.expose()));
        Zeroizing::new(format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm={}&digits={}&period={}",
            secret.as_str(),
            self.algorithm.as_str(),
            self.digits,
            self.period_secs,
        ))
    }
}

/// HOTP (RFC 4226 §5.3): `HMAC(secret, counter)` dynamically truncated to 31
/// bits, modulo `10^digits`.
pub fn hotp(algorithm: TotpAlgorithm, secret: &[u8], counter: u64, digits: u8) -> u32 {
    Keyed::new(algorithm, secret).hotp(counter, digits)
}

/// An HMAC state keyed with an authenticator's secret, cloned per counter.
enum Keyed {
    Sha1(Option<Hmac<sha1::Sha1>>),
    Sha256(Option<Hmac<sha2::Sha256>>),
    Sha512(Option<Hmac<sha2::Sha512>>),
}

impl Keyed {
    fn new(algorithm: TotpAlgorithm, secret: &[u8]) -> Self {
        // HMAC takes keys of any length: `new_from_slice` never fails.
        match algorithm {
            TotpAlgorithm::Sha1 => Keyed::Sha1(KeyInit::new_from_slice(secret).ok()),
            TotpAlgorithm::Sha256 => Keyed::Sha256(KeyInit::new_from_slice(secret).ok()),
            TotpAlgorithm::Sha512 => Keyed::Sha512(KeyInit::new_from_slice(secret).ok()),
        }
    }

    fn hotp(&self, counter: u64, digits: u8) -> u32 {
        let message = counter.to_be_bytes();
        let mac: Zeroizing<Vec<u8>> = Zeroizing::new(match self {
            Keyed::Sha1(k) => mac_of(k.as_ref(), &message),
            Keyed::Sha256(k) => mac_of(k.as_ref(), &message),
            Keyed::Sha512(k) => mac_of(k.as_ref(), &message),
        });
        let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
        let word = match mac.get(offset..offset + 4) {
            Some(&[a, b, c, d]) => u32::from_be_bytes([a & 0x7f, b, c, d]),
            _ => 0,
        };
        word % 10u32.pow(u32::from(digits.min(9)))
    }
}

fn mac_of<M: Mac + Clone>(keyed: Option<&M>, message: &[u8]) -> Vec<u8> {
    match keyed {
        Some(keyed) => {
            let mut mac = keyed.clone();
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const SHA1_SEED: &[u8] = b"12345678901234567890";
    const SHA256_SEED: &[u8] = b"12345678901234567890123456789012";
    const SHA512_SEED: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    #[test]
    fn a_sealed_secret_opens_only_with_its_context_and_after_a_rotation() {
        use crate::keys::SecretKey;
        let old = Keyring::new(1, SecretKey::from_bytes([1; 32]));
        let secret = TotpSecret::from_bytes(SHA1_SEED);
        let sealed = secret.seal(&old, b"factor-a").unwrap();
        assert!(!sealed.windows(SHA1_SEED.len()).any(|w| w == SHA1_SEED));
        let opened = TotpSecret::open(&old, b"factor-a", &sealed).unwrap();
        assert_eq!(opened.expose(), SHA1_SEED);
        assert!(TotpSecret::open(&old, b"factor-b", &sealed).is_none());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(TotpSecret::open(&old, b"factor-a", &altered).is_none());
        let rotated = Keyring::new(2, SecretKey::from_bytes([2; 32]))
            .with_retired(1, SecretKey::from_bytes([1; 32]))
            .unwrap();
        assert!(TotpSecret::open(&rotated, b"factor-a", &sealed).is_some());
        let other = Keyring::new(1, SecretKey::from_bytes([3; 32]));
        assert!(TotpSecret::open(&other, b"factor-a", &sealed).is_none());
    }

    #[test]
    fn hotp_matches_rfc_4226_appendix_d() {
        let want = [
            755_224, 287_082, 359_152, 969_429, 338_314, 254_676, 287_922, 162_583, 399_871,
            520_489,
        ];
        for (counter, want) in want.into_iter().enumerate() {
            assert_eq!(
                hotp(TotpAlgorithm::Sha1, SHA1_SEED, counter as u64, 6),
                want,
                "counter {counter}"
            );
        }
    }

    #[test]
    fn totp_matches_rfc_6238_appendix_b() {
        let rows: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (time, sha1, sha256, sha512) in rows {
            for (algorithm, seed, want) in [
                (TotpAlgorithm::Sha1, SHA1_SEED, sha1),
                (TotpAlgorithm::Sha256, SHA256_SEED, sha256),
                (TotpAlgorithm::Sha512, SHA512_SEED, sha512),
            ] {
                let settings = TotpSettings::new(algorithm, 8, 30, 1).unwrap();
                let code = settings.code_at(&TotpSecret::from_bytes(seed), time);
                assert_eq!(code.as_str(), want, "{algorithm:?} at {time}");
            }
        }
    }

    #[test]
    fn drift_of_one_step_either_side_is_accepted_and_two_is_not() {
        let settings = TotpSettings::default();
        let secret = TotpSecret::from_bytes(SHA1_SEED);
        let now = 1_700_000_015;
        let step = settings.step_at(now);
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let at = (i64::try_from(now).unwrap() + offset * 30) as u64;
            let code = settings.code_at(&secret, at);
            let want = accepted.then(|| step.checked_add_signed(offset).unwrap());
            assert_eq!(
                settings.matching_step(&secret, &code, now, None),
                want,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn a_step_at_or_before_the_last_accepted_is_refused() {
        let settings = TotpSettings::default();
        let secret = TotpSecret::from_bytes(SHA1_SEED);
        let now = 1_700_000_015;
        let step = settings.step_at(now);
        let code = settings.code_at(&secret, now);
        assert_eq!(
            settings.matching_step(&secret, &code, now, Some(step - 1)),
            Some(step)
        );
        assert_eq!(
            settings.matching_step(&secret, &code, now, Some(step)),
            None
        );
        // The previous step's code, still within the skew, once a later step
        // was used: refused too.
        let earlier = settings.code_at(&secret, now - 30);
        assert_eq!(
            settings.matching_step(&secret, &earlier, now, Some(step)),
            None
        );
        assert_eq!(settings.matching_step(&secret, "12345", now, None), None);
        assert_eq!(settings.matching_step(&secret, "abcdef", now, None), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(
            settings.matching_step(&secret, &spaced, now, None),
            Some(step)
        );
    }

    #[test]
    fn secrets_round_trip_through_base32_and_never_show_in_debug() {
        let secret = TotpSecret::generate(TotpAlgorithm::Sha1, &mut rand::rng());
        assert_eq!(secret.expose().len(), 20, "160 bits");
        let typed = secret.to_base32();
        assert_eq!(
            TotpSecret::from_base32(&typed.to_lowercase()).unwrap(),
            secret
        );
        assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
        assert!(
            TotpSecret::from_base32("JBSWY3DP").is_err(),
            "40 bits is too short"
        );
        assert!(TotpSecret::from_base32("not base32!").is_err());
        let settings = TotpSettings::new(TotpAlgorithm::Sha256, 8, 60, 1).unwrap();
        let uri = settings.uri(&secret, "Contoso Ltd", "ann@example.org");
        let plain = BASE32_NOPAD.encode(secret.expose());
        assert_eq!(
            uri.as_str(),
            format!(
                "otpauth://totp/Contoso%20Ltd:ann%40example.org?secret={plain}&issuer=Contoso%20Ltd&algorithm=SHA256&digits=8&period=60"
            )
        );
        assert!(TotpSettings::new(TotpAlgorithm::Sha1, 5, 30, 1).is_err());
        assert!(TotpSettings::new(TotpAlgorithm::Sha1, 6, 30, 3).is_err());
    }
}
