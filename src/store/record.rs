//! The stored form of the records: a compact, versioned binary encoding of
//! challenges, accounts and counters, written by every persistent store (Redis
//! as values; SQLite and PostgreSQL beside the columns they look records up
//! and sweep them by). A field added to a record is added here once, with a
//! new version byte that still reads the older ones.

use crate::challenge::{AccountId, Challenge, ChallengeId, ChallengeParts, CodeCheck, Status};
use crate::clock::Timestamp;
use crate::code::{Alphabet, CodeFormat};
use crate::counter::Counter;
use crate::error::Error;
use crate::policy::Purpose;
use crate::store::cipher::ContactCodec;

const CHALLENGE_V1: u8 = 1;

fn corrupt() -> Error {
    Error::store("stored record is not valid")
}

struct Writer(Vec<u8>);

impl Writer {
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }

    fn text(&mut self, s: &str) {
        // Account ids are ≤ 128 bytes and addresses ≤ 254: a u16 length is plenty.
        let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
        self.bytes(&len.to_be_bytes());
        self.bytes(&s.as_bytes()[..usize::from(len)]);
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.0.len() < n {
            return Err(corrupt());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        self.take(N)?.try_into().map_err(|_| corrupt())
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn text(&mut self) -> Result<&'a str, Error> {
        let len = u16::from_be_bytes(self.array()?);
        std::str::from_utf8(self.take(usize::from(len))?).map_err(|_| corrupt())
    }
}

/// Encodes a challenge.
pub(crate) fn encode_challenge(c: &Challenge, codec: &ContactCodec) -> Vec<u8> {
    let p = c.to_parts();
    let mut w = Writer(Vec::with_capacity(128));
    w.bytes(&[CHALLENGE_V1]);
    w.bytes(p.id.as_bytes());
    w.bytes(&p.salt);
    w.text(p.account.as_str());
    w.text(&codec.seal(&p.destination));
    w.bytes(&p.expires_at.as_unix_millis().to_be_bytes());
    w.bytes(&p.last_sent_at.as_unix_millis().to_be_bytes());
    w.bytes(&p.key_id.to_be_bytes());
    w.bytes(&p.resend_cooldown_secs.to_be_bytes());
    w.bytes(&[
        p.generation,
        p.attempts,
        p.max_attempts,
        p.sends,
        p.max_sends,
        p.format.length(),
        // Flags: bit 0 decoy, bit 1 proof spent (records written before the
        // second flag read as unspent), bit 2 bound to a payment.
        u8::from(p.decoy) | (u8::from(p.proof_spent) << 1) | (u8::from(p.binding.is_some()) << 2),
    ]);
    w.text(p.purpose.as_str());
    w.text(p.format.alphabet().as_str());
    w.text(p.status.as_str());
    // A payment's binding, then the code check, last (records written before
    // them end at the status). The Redis guess script settles a guess itself
    // only when exactly a check follows the status: a bound record's guesses
    // are settled by the keyring's comparison, which sees the payment.
    if let Some(binding) = p.binding {
        w.bytes(&binding);
    }
    if let Some(check) = p.check {
        w.bytes(&[check.generation]);
        w.bytes(&check.tag);
    }
    w.0
}

/// Decodes what [`encode_challenge`] wrote.
pub(crate) fn decode_challenge(bytes: &[u8], codec: &ContactCodec) -> Result<Challenge, Error> {
    let mut r = Reader(bytes);
    if r.u8()? != CHALLENGE_V1 {
        return Err(corrupt());
    }
    let id = ChallengeId::from_bytes(r.array()?);
    let salt = r.array()?;
    let account = AccountId::new(r.text()?)?;
    let destination = codec.open(r.text()?)?;
    let expires_at = Timestamp::from_unix_millis(r.u64()?);
    let last_sent_at = Timestamp::from_unix_millis(r.u64()?);
    let key_id = r.u32()?;
    let resend_cooldown_secs = r.u32()?;
    let [
        generation,
        attempts,
        max_attempts,
        sends,
        max_sends,
        length,
        flags,
    ] = r.array()?;
    let purpose = Purpose::from_name(r.text()?).ok_or_else(corrupt)?;
    let alphabet = Alphabet::from_name(r.text()?).ok_or_else(corrupt)?;
    let status = Status::from_name(r.text()?).ok_or_else(corrupt)?;
    let binding = if flags & 4 != 0 {
        Some(r.array()?)
    } else {
        None
    };
    let check = match r.0.len() {
        0 => None,
        _ => Some(CodeCheck {
            generation: r.u8()?,
            tag: r.array()?,
        }),
    };
    if !r.0.is_empty() {
        return Err(corrupt());
    }
    Ok(Challenge::from_parts(ChallengeParts {
        id,
        salt,
        account,
        destination,
        expires_at,
        last_sent_at,
        key_id,
        generation,
        resend_cooldown_secs,
        attempts,
        max_attempts,
        sends,
        max_sends,
        purpose,
        format: CodeFormat::new(alphabet, length)?,
        status,
        decoy: flags & 1 != 0,
        proof_spent: flags & 2 != 0,
        check,
        binding,
    }))
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
const ACCOUNT_V1: u8 = 1;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
const ACCOUNT_V2: u8 = 2;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
const ACCOUNT_V3: u8 = 3;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl Writer {
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    fn time(&mut self, t: Timestamp) {
        self.bytes(&t.as_unix_millis().to_be_bytes());
    }

    fn count(&mut self, n: usize) {
        self.bytes(&u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes());
    }

    fn contacts(&mut self, contacts: &[crate::contact::Contact], codec: &ContactCodec) {
        self.count(contacts.len());
        for c in contacts.iter().take(usize::from(u16::MAX)) {
            self.text(&codec.seal(c));
        }
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl Reader<'_> {
    fn time(&mut self) -> Result<Timestamp, Error> {
        Ok(Timestamp::from_unix_millis(self.u64()?))
    }

    fn flag(&mut self) -> Result<bool, Error> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(corrupt()),
        }
    }

    fn count(&mut self) -> Result<usize, Error> {
        Ok(usize::from(u16::from_be_bytes(self.array()?)))
    }

    fn contacts(&mut self, codec: &ContactCodec) -> Result<Vec<crate::contact::Contact>, Error> {
        (0..self.count()?)
            .map(|_| codec.open(self.text()?))
            .collect()
    }
}

/// Encodes an account (all but its id, which the store keys it by), with every
/// contact sealed by `codec`.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn encode_account(a: &crate::account::Account, codec: &ContactCodec) -> Vec<u8> {
    use crate::account::InfoState;
    let p = a.to_parts();
    let mut w = Writer(Vec::with_capacity(256));
    w.bytes(&[ACCOUNT_V3]);
    w.u32(p.next_info_id);
    match &p.locale {
        Some(tag) => {
            w.bytes(&[1]);
            w.text(tag);
        }
        None => w.bytes(&[0]),
    }
    w.count(p.info.len());
    for i in p.info.iter().take(usize::from(u16::MAX)) {
        w.u32(i.id.0);
        w.text(&codec.seal(&i.contact));
        w.bytes(&[u8::from(i.state == InfoState::Verified)]);
        w.time(i.added_at);
        w.bytes(&[u8::from(i.verified_at.is_some())]);
        w.time(i.verified_at.unwrap_or(Timestamp::UNIX_EPOCH));
        w.bytes(&[u8::from(i.replaces.is_some())]);
        w.u32(i.replaces.map_or(0, |r| r.0));
    }
    let windows = [
        p.recovered.as_ref().map(|r| (r.at, &r.originals)),
        p.hold.as_ref().map(|h| (h.until, &h.originals)),
    ];
    for window in windows {
        match window {
            Some((at, originals)) => {
                w.bytes(&[1]);
                w.time(at);
                w.contacts(originals, codec);
            }
            None => w.bytes(&[0]),
        }
    }
    w.count(p.tickets.len());
    for t in p.tickets.iter().take(usize::from(u16::MAX)) {
        w.bytes(&t.digest);
        w.time(t.expires_at);
    }
    // Version 2 appends the contacts the window's (or hold's) recoveries went
    // through; a version-1 record reads as none.
    for through in [
        p.recovered.as_ref().map(|r| &r.through),
        p.hold.as_ref().map(|h| &h.through),
    ] {
        w.contacts(through.map_or(&[][..], Vec::as_slice), codec);
    }
    // Version 3 appends the recovery code's record (a flag, then the tag, the
    // key id and when it was made); earlier versions read as none.
    match &p.recovery_code {
        Some(code) => {
            w.bytes(&[1]);
            w.bytes(&code.tag);
            w.u32(code.key_id);
            w.time(code.created_at);
        }
        None => w.bytes(&[0]),
    }
    // Then the authenticator apps: entry, settings, the sealed secret (already
    // encrypted under the keyring), the last step accepted.
    w.count(p.apps.len());
    for app in p.apps.iter().take(usize::from(u16::MAX)) {
        let s = app.settings;
        w.u32(app.entry.0);
        w.text(s.algorithm().as_str());
        w.bytes(&[s.digits(), s.skew()]);
        w.u32(s.period_secs());
        w.count(app.sealed_secret.len());
        w.bytes(&app.sealed_secret);
        w.bytes(&[u8::from(app.last_step.is_some())]);
        w.bytes(&app.last_step.unwrap_or(0).to_be_bytes());
    }
    w.0
}

/// Decodes what [`encode_account`] wrote, for the account `id`.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn decode_account(
    id: AccountId,
    bytes: &[u8],
    codec: &ContactCodec,
) -> Result<crate::account::Account, Error> {
    use crate::account::{
        Account, AccountParts, InfoState, Recovered, SecurityInfo, SecurityInfoId, TicketRecord,
    };
    let mut r = Reader(bytes);
    let version = r.u8()?;
    if !(ACCOUNT_V1..=ACCOUNT_V3).contains(&version) {
        return Err(corrupt());
    }
    let next_info_id = r.u32()?;
    let locale = if r.flag()? {
        Some(r.text()?.to_owned())
    } else {
        None
    };
    let mut info = Vec::new();
    for _ in 0..r.count()? {
        let id = SecurityInfoId(r.u32()?);
        let contact = codec.open(r.text()?)?;
        let state = if r.flag()? {
            InfoState::Verified
        } else {
            InfoState::Pending
        };
        let added_at = r.time()?;
        let verified_at = (r.flag()?, r.time()?);
        let replaces = (r.flag()?, r.u32()?);
        info.push(SecurityInfo {
            id,
            contact,
            state,
            added_at,
            verified_at: verified_at.0.then_some(verified_at.1),
            replaces: replaces.0.then_some(SecurityInfoId(replaces.1)),
        });
    }
    let mut window = || -> Result<Option<(Timestamp, Vec<crate::contact::Contact>)>, Error> {
        if r.flag()? {
            Ok(Some((r.time()?, r.contacts(codec)?)))
        } else {
            Ok(None)
        }
    };
    let recovered = window()?;
    let hold = window()?;
    let mut tickets = Vec::new();
    for _ in 0..r.count()? {
        tickets.push(TicketRecord {
            digest: r.array()?,
            expires_at: r.time()?,
        });
    }
    let (recovered_through, hold_through) = if version >= ACCOUNT_V2 {
        (r.contacts(codec)?, r.contacts(codec)?)
    } else {
        (Vec::new(), Vec::new())
    };
    let recovered = recovered.map(|(at, originals)| Recovered {
        at,
        originals,
        through: recovered_through,
    });
    let hold = hold.map(|(until, originals)| crate::hold::Hold {
        until,
        originals,
        through: hold_through,
    });
    let recovery_code = if version >= ACCOUNT_V3 && r.flag()? {
        Some(crate::account::RecoveryCodeRecord {
            tag: r.array()?,
            key_id: r.u32()?,
            created_at: r.time()?,
        })
    } else {
        None
    };
    let mut apps = Vec::new();
    if version >= ACCOUNT_V3 {
        for _ in 0..r.count()? {
            let entry = SecurityInfoId(r.u32()?);
            let algorithm = crate::totp::TotpAlgorithm::from_name(r.text()?).ok_or_else(corrupt)?;
            let [digits, skew] = r.array()?;
            let period = r.u32()?;
            let settings = crate::totp::TotpSettings::new(algorithm, digits, period, skew)
                .map_err(|_| corrupt())?;
            let len = r.count()?;
            let sealed_secret = r.take(len)?.to_vec();
            let has_step = r.flag()?;
            let step = r.u64()?;
            apps.push(crate::account::AppRecord {
                entry,
                settings,
                sealed_secret,
                last_step: has_step.then_some(step),
            });
        }
    }
    if !r.0.is_empty() {
        return Err(corrupt());
    }
    Ok(Account::from_parts(AccountParts {
        id,
        info,
        next_info_id,
        recovered,
        hold,
        tickets,
        locale,
        recovery_code,
        apps,
    }))
}

/// Encodes a counter in 28 bytes.
pub(crate) fn encode_counter(c: &Counter) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(28));
    w.bytes(&c.count.to_be_bytes());
    w.bytes(&c.window_start.as_unix_millis().to_be_bytes());
    w.bytes(&c.blocked_until.as_unix_millis().to_be_bytes());
    w.bytes(&c.expires_at.as_unix_millis().to_be_bytes());
    w.0
}

/// Decodes what [`encode_counter`] wrote.
pub(crate) fn decode_counter(bytes: &[u8]) -> Result<Counter, Error> {
    let mut r = Reader(bytes);
    Ok(Counter {
        count: r.u32()?,
        window_start: Timestamp::from_unix_millis(r.u64()?),
        blocked_until: Timestamp::from_unix_millis(r.u64()?),
        expires_at: Timestamp::from_unix_millis(r.u64()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::SendKind;
    use crate::contact::Contact;
    use crate::policy::Policy;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn records_round_trip_and_garbage_is_refused() {
        let t0 = Timestamp::from_unix_millis(1_700_000_000_000);
        let policy = Policy::builder()
            .format(CodeFormat::alphanumeric(8).unwrap())
            .build()
            .unwrap();
        let mut c = Challenge::issue(
            AccountId::new("acct-é").unwrap(),
            Purpose::ChangePhone,
            Contact::phone("+14255550100").unwrap(),
            &policy,
            7,
            &mut StdRng::seed_from_u64(3),
            t0,
        )
        .into_decoy();
        c.record_send(SendKind::First, t0).unwrap();
        let clear = ContactCodec::default();
        let bytes = encode_challenge(&c, &clear);
        assert_eq!(decode_challenge(&bytes, &clear).unwrap(), c);
        assert!(decode_challenge(&bytes[..bytes.len() - 1], &clear).is_err());
        assert!(decode_challenge(&[9], &clear).is_err());
        // Encrypted: the number is not in the record, and it reads back.
        let sealed = ContactCodec::encrypted(crate::store::cipher::DataKeys::new(
            1,
            crate::keys::SecretKey::from_bytes([1; 32]),
            crate::keys::SecretKey::from_bytes([2; 32]),
        ));
        let bytes = encode_challenge(&c, &sealed);
        assert!(!bytes.windows(10).any(|w| w == b"4255550100"));
        assert_eq!(decode_challenge(&bytes, &sealed).unwrap(), c);
        assert!(
            decode_challenge(&bytes, &clear).is_err(),
            "no keys, no contact"
        );
        let counter = Counter {
            count: 3,
            window_start: t0,
            blocked_until: Timestamp::UNIX_EPOCH,
            expires_at: t0,
        };
        assert_eq!(decode_counter(&encode_counter(&counter)).unwrap(), counter);
        assert!(decode_counter(&[0; 27]).is_err());
    }
}
