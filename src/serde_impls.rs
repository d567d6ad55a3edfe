//! `Serialize`/`Deserialize` (feature `serde`) for the values a web layer returns
//! or receives: ids as their text, [`Timestamp`] as RFC 3339, statuses and kinds as
//! their snake-case names. Secrets — codes, keys, proofs, tokens' text types,
//! unmasked contacts — have none.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::challenge::Verification;
use crate::clock::Timestamp;
use crate::contact::{ContactKind, MaskedContact};
use crate::ids::{AccountId, ChallengeId, SecurityInfoId, Status};
use crate::policy::Purpose;

macro_rules! as_text {
    ($ty:ty, $to:expr, $from:expr, $what:literal) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let to: fn(&$ty) -> String = $to;
                s.serialize_str(&to(self))
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                let from: fn(&str) -> Option<$ty> = $from;
                from(&text).ok_or_else(|| D::Error::custom(concat!("not ", $what)))
            }
        }
    };
}

as_text!(
    ChallengeId,
    |i| i.to_string(),
    |t| t.parse().ok(),
    "a challenge id (32 hex digits)"
);
as_text!(
    AccountId,
    |i| i.as_str().to_owned(),
    |t| AccountId::new(t).ok(),
    "an account id (1 to 128 bytes)"
);
as_text!(
    Timestamp,
    |t| t.to_rfc3339(),
    Timestamp::parse_rfc3339,
    "an RFC 3339 time"
);
as_text!(
    Status,
    |s| s.as_str().to_owned(),
    Status::from_name,
    "a challenge status"
);
as_text!(
    Purpose,
    |p| p.as_str().to_owned(),
    Purpose::from_name,
    "a purpose"
);
as_text!(
    ContactKind,
    |k| k.as_str().to_owned(),
    ContactKind::from_name,
    "email or phone"
);
as_text!(
    MaskedContact,
    |m| m.as_str().to_owned(),
    |t| Some(MaskedContact::from_text(t)),
    "a masked contact"
);

impl Serialize for SecurityInfoId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for SecurityInfoId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u32::deserialize(d).map(SecurityInfoId)
    }
}

/// As its [`VerificationView`](crate::VerificationView): the proof stays on the server.
impl Serialize for Verification {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_serialize_as_their_text() {
        let id: ChallengeId = "000102030405060708090a0b0c0d0e0f".parse().unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            r#""000102030405060708090a0b0c0d0e0f""#
        );
        let t = Timestamp::from_unix_millis(1_700_000_000_000);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""2023-11-14T22:13:20Z""#
        );
        assert_eq!(
            serde_json::from_str::<Timestamp>(r#""2023-11-14T22:13:20Z""#).unwrap(),
            t
        );
        assert!(serde_json::from_str::<Timestamp>(r#""soon""#).is_err());
        assert_eq!(
            serde_json::to_string(&Status::Approved).unwrap(),
            r#""approved""#
        );
        assert_eq!(
            serde_json::to_string(&ContactKind::Phone).unwrap(),
            r#""phone""#
        );
        assert_eq!(serde_json::to_string(&SecurityInfoId(7)).unwrap(), "7");
        assert!(serde_json::from_str::<AccountId>(r#""""#).is_err());
    }
}
