//! The ids that name accounts, challenges and security info entries. They sit at
//! the bottom of the crate: this module imports nothing of it, and every other
//! module may import it.

use std::fmt;
use std::str::FromStr;

use rand::CryptoRng;

/// A string that is not a valid id. [`crate::Error`] converts it into
/// [`Error::InvalidInput`](crate::Error::InvalidInput).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// An account id must be 1 to 128 bytes.
    #[error("account id must be 1 to 128 bytes")]
    AccountId,
    /// A challenge id is 32 hex digits.
    #[error("challenge id must be 32 hex digits")]
    ChallengeId,
}

impl IdError {
    /// The argument that was wrong.
    pub const fn field(self) -> &'static str {
        match self {
            IdError::AccountId => "account id",
            IdError::ChallengeId => "challenge id",
        }
    }

    /// What is wrong with it.
    pub const fn reason(self) -> &'static str {
        match self {
            IdError::AccountId => "must be 1 to 128 bytes",
            IdError::ChallengeId => "expected 32 hex digits",
        }
    }
}

/// A challenge's random 128-bit id. Not a secret (it goes to the client), but
/// unguessable, so it also names the challenge in multi-page flows.
///
/// Displays and parses as 32 lowercase hex digits.
///
/// # Examples
///
/// ```
/// use seccode::ChallengeId;
///
/// let id: ChallengeId = "000102030405060708090a0b0c0d0e0f".parse()?;
/// assert_eq!(id.to_string(), "000102030405060708090a0b0c0d0e0f");
/// assert!("xyz".parse::<ChallengeId>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChallengeId([u8; 16]);

impl ChallengeId {
    /// A fresh random id.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The id from its 16 bytes (e.g. read back from a store).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The same id with its last two bytes set to `tag`: where a partitioned
    /// store (a Redis Cluster) keeps the challenge — next to its account's
    /// failure counter. The other 112 bits stay random.
    #[must_use]
    pub const fn placed(mut self, tag: u16) -> Self {
        let [hi, lo] = tag.to_be_bytes();
        self.0[14] = hi;
        self.0[15] = lo;
        self
    }

    /// The placement tag: the id's last two bytes (see [`ChallengeId::placed`]).
    pub const fn placement(&self) -> u16 {
        u16::from_be_bytes([self.0[14], self.0[15]])
    }
}

impl fmt::Display for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

impl fmt::Debug for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChallengeId({self})")
    }
}

impl FromStr for ChallengeId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if s.len() != 32 || !s.is_ascii() {
            return Err(IdError::ChallengeId);
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| IdError::ChallengeId)?;
            // from_str_radix accepts a sign; a hex digit pair has none.
            if pair.starts_with(['+', '-']) {
                return Err(IdError::ChallengeId);
            }
            *byte = u8::from_str_radix(pair, 16).map_err(|_| IdError::ChallengeId)?;
        }
        Ok(Self(bytes))
    }
}

/// The application's identifier of an account (a user id, a UUID…): 1 to 128
/// bytes. Not a secret; it appears in `Debug` and events.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(Box<str>);

impl AccountId {
    /// The longest id accepted.
    pub const MAX_LEN: usize = 128;

    /// Wraps an application's account id.
    ///
    /// # Errors
    ///
    /// [`IdError::AccountId`] if `id` is empty or longer than 128 bytes.
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        if id.is_empty() || id.len() > Self::MAX_LEN {
            return Err(IdError::AccountId);
        }
        Ok(Self(id.into_boxed_str()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({:?})", &*self.0)
    }
}

/// Names one security info entry within its account. Ids are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecurityInfoId(pub u32);

impl fmt::Display for SecurityInfoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a challenge is in its life (the names of Twilio Verify's statuses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Waiting for the code.
    Pending,
    /// The code was entered; the challenge is spent.
    Approved,
    /// Canceled by the application or the user.
    Canceled,
    /// The code's lifetime ran out.
    Expired,
    /// All attempts were used up.
    Locked,
}

impl Status {
    /// A stable snake-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Canceled => "canceled",
            Status::Expired => "expired",
            Status::Locked => "locked",
        }
    }

    /// Whether no code can be sent or verified any more.
    pub const fn is_final(self) -> bool {
        !matches!(self, Status::Pending)
    }

    /// Reads back [`Status::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Approved,
            Self::Canceled,
            Self::Expired,
            Self::Locked,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_ids_round_trip_as_hex() {
        let id = ChallengeId::from_bytes(
            *b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\xfc\xfd\xfe\xff",
        );
        let text = id.to_string();
        assert_eq!(text, "000102030405060708090a0bfcfdfeff");
        assert_eq!(text.parse::<ChallengeId>(), Ok(id));
        assert_eq!(text.to_uppercase().parse::<ChallengeId>(), Ok(id));
        for bad in [
            "",
            "xyz",
            &text[..30],
            "+0000102030405060708090a0bfcfdfe",
            "é00102030405060708090a0bfcfdfef",
        ] {
            assert_eq!(
                bad.parse::<ChallengeId>(),
                Err(IdError::ChallengeId),
                "{bad}"
            );
        }
    }

    #[test]
    fn account_ids_are_bounded() {
        assert_eq!(AccountId::new(""), Err(IdError::AccountId));
        assert_eq!(AccountId::new("x".repeat(129)), Err(IdError::AccountId));
        assert_eq!(
            AccountId::new("x".repeat(128)).map(|a| a.as_str().len()),
            Ok(128)
        );
    }
}
