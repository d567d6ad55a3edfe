//! Made-up recovery answers for identifiers no account has.
//!
//! An answer for an unknown identifier must look like an answer for a real
//! account, to anyone who asks any number of times:
//!
//! * **The same distribution.** A made-up account has a number of verified
//!   contacts, and kinds for them, drawn from a [`DecoyProfile`] — by default a
//!   guess at typical accounts; an application sets it from its own statistics.
//!   The identifier is one of the contacts, at a uniformly drawn position, as it
//!   is for a real account that someone looks up by one of its contacts; the
//!   others are drawn independently of each other. If real accounts' contacts are
//!   drawn the same way, this is exactly the distribution of a real answer given
//!   the kind of the identifier typed. The kinds of the other contacts are drawn *given the
//!   identifier's kind* (an account looked up by its phone number usually has an
//!   email address too): [`DecoyProfile::learn`] takes both distributions from
//!   your own accounts.
//! * **Apps too.** Recovery lists "a code from my authenticator app" for an
//!   account with a verified app; a made-up account lists one at the rate
//!   your accounts have one ([`DecoyProfile::app_percent`], learnt with the
//!   rest — **0 by default**, so an application that offers apps must learn
//!   its profile, or set the rate, or the choice tells real accounts apart).
//! * **Stable.** Everything is derived from an HMAC of the identifier's
//!   [identity](crate::Contact::identity) under the keyring's recovery secret
//!   ([`Keyring::with_recovery_secret`](crate::Keyring::with_recovery_secret)),
//!   which does not rotate with the code keys: asking again, in another case or
//!   spelling, after a restart or a key rotation, gives the same answer.
//! * **Masked alike.** Made-up contacts are contacts, masked by the same rules
//!   from their identity.

use sha2::{Digest, Sha256};

use crate::account::Account;
use crate::challenge::AccountId;
use crate::clock::Timestamp;
use crate::contact::{Contact, ContactKind};
use crate::hex::encode as hex;

pub(crate) const DECOY_DOMAIN: &str = "recovery-decoy";

/// The shape of made-up recovery answers: how many verified contacts an account
/// has and of which kinds. Set it from your own accounts' statistics
/// ([`FlowSettings::with_decoy_profile`](crate::FlowSettings::with_decoy_profile))
/// so made-up answers look like yours.
///
/// # Examples
///
/// ```
/// use seccode::DecoyProfile;
///
/// // 20 % of accounts have one verified contact, 50 % two, 30 % three; 60 % of
/// // contacts are email addresses.
/// let profile = DecoyProfile::new(&[20, 50, 30], 60)?;
/// assert_eq!(profile.email_percent(), 60);
/// assert!(DecoyProfile::new(&[], 50).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoyProfile {
    /// Relative weights of 1, 2, … verified contacts.
    counts: [u16; Self::MAX_CONTACTS],
    /// The share of an account's other contacts that are email addresses, when
    /// it is looked up by an email address.
    email_percent: u8,
    /// The same, when it is looked up by a phone number.
    email_percent_for_phone: u8,
    /// The share of accounts with a verified authenticator app.
    app_percent: u8,
    domains: &'static [&'static str],
}

impl DecoyProfile {
    /// The most contacts a made-up account has.
    pub const MAX_CONTACTS: usize = 8;

    /// Mail domains of made-up email addresses by default.
    pub const DOMAINS: &'static [&'static str] = &[
        "gmail.com",
        "outlook.com",
        "hotmail.com",
        "yahoo.com",
        "icloud.com",
    ];

    /// A profile: `counts[i]` is the relative weight of accounts with `i + 1`
    /// verified contacts; `email_percent` the share of contacts that are email
    /// addresses.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) unless 1 to 8 weights,
    /// not all zero, and `email_percent` at most 100.
    pub fn new(counts: &[u16], email_percent: u8) -> crate::Result<Self> {
        let invalid = |reason| crate::Error::InvalidInput {
            field: "decoy profile",
            reason,
        };
        if counts.is_empty() || counts.len() > Self::MAX_CONTACTS {
            return Err(invalid("give 1 to 8 weights"));
        }
        if counts.iter().all(|&w| w == 0) {
            return Err(invalid("the weights must not all be zero"));
        }
        if email_percent > 100 {
            return Err(invalid("email_percent is at most 100"));
        }
        let mut weights = [0; Self::MAX_CONTACTS];
        weights[..counts.len()].copy_from_slice(counts);
        Ok(Self {
            counts: weights,
            email_percent,
            email_percent_for_phone: email_percent,
            app_percent: 0,
            domains: Self::DOMAINS,
        })
    }

    /// The same profile where, for an identifier of `kind`, `email_percent` of
    /// the account's *other* contacts are email addresses: the kinds are drawn
    /// given the identifier's, as real accounts' are (one looked up by its phone
    /// number nearly always lists an email address too).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) if `email_percent`
    /// is above 100.
    pub fn with_email_percent_for(
        mut self,
        kind: ContactKind,
        email_percent: u8,
    ) -> crate::Result<Self> {
        if email_percent > 100 {
            return Err(crate::Error::InvalidInput {
                field: "decoy profile",
                reason: "email_percent is at most 100",
            });
        }
        match kind {
            ContactKind::Email => self.email_percent = email_percent,
            ContactKind::Phone => self.email_percent_for_phone = email_percent,
            ContactKind::App => {
                return Err(crate::Error::InvalidInput {
                    field: "decoy profile",
                    reason: "an identifier is an email address or a phone number",
                });
            }
        }
        Ok(self)
    }

    /// The same profile where `app_percent` of accounts list an authenticator
    /// app among their recovery choices (drawn independently of the number
    /// and kinds of their contacts).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) if `app_percent`
    /// is above 100.
    pub fn with_app_percent(mut self, app_percent: u8) -> crate::Result<Self> {
        if app_percent > 100 {
            return Err(crate::Error::InvalidInput {
                field: "decoy profile",
                reason: "app_percent is at most 100",
            });
        }
        self.app_percent = app_percent;
        Ok(self)
    }

    /// A profile learnt from accounts: how many verified contacts they have,
    /// — for each kind of identifier someone may type — the share of the
    /// *other* verified contacts that are email addresses, and the share of
    /// accounts with a verified authenticator app. Feed it your accounts
    /// (or a sample) at start-up so made-up answers are shaped like real ones.
    /// Accounts without verified contacts are skipped; an empty sample gives
    /// the default.
    ///
    /// # Examples
    ///
    /// ```
    /// use seccode::{Account, AccountId, Contact, ContactKind, DecoyProfile, Timestamp};
    ///
    /// let now = Timestamp::from_unix_millis(0);
    /// let accounts: Vec<Account> = (0..10)
    ///     .map(|i| {
    ///         Account::new(AccountId::new(format!("user-{i}")).unwrap())
    ///             .with_verified_contact(Contact::email(&format!("u{i}@example.org")).unwrap(), now)
    ///             .and_then(|a| a.with_verified_contact(Contact::phone(&format!("+1425555010{i}")).unwrap(), now))
    ///     })
    ///     .collect::<Result<_, _>>()?;
    /// let profile = DecoyProfile::learn(&accounts);
    /// assert_eq!(profile.weight(2), u16::MAX);
    /// assert_eq!(profile.email_percent_for(ContactKind::Phone), 100);
    /// assert_eq!(profile.email_percent_for(ContactKind::Email), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn learn<'a>(accounts: impl IntoIterator<Item = &'a Account>) -> Self {
        let mut counts = [0u64; Self::MAX_CONTACTS];
        // [identifier kind][other is email, others]
        let mut kinds = [[0u64; 2]; 2];
        let mut with_app = 0u64;
        for account in accounts {
            // The contacts recovery sends to: emails and phones (an app is one
            // more choice, counted apart).
            let contacts: Vec<&Contact> = account
                .verified()
                .map(|i| &i.contact)
                .filter(|c| c.kind().is_deliverable())
                .collect();
            let Some(slot) = contacts.len().checked_sub(1) else {
                continue;
            };
            counts[slot.min(Self::MAX_CONTACTS - 1)] += 1;
            if account
                .verified()
                .any(|i| i.contact.kind() == ContactKind::App)
            {
                with_app += 1;
            }
            let emails = contacts
                .iter()
                .filter(|c| c.kind() == ContactKind::Email)
                .count() as u64;
            let others = contacts.len() as u64 - 1;
            for typed in &contacts {
                let (row, email_others) = match typed.kind() {
                    ContactKind::Email => (0, emails - 1),
                    ContactKind::Phone | ContactKind::App => (1, emails),
                };
                kinds[row][0] += email_others;
                kinds[row][1] += others;
            }
        }
        let most = counts.iter().copied().max().unwrap_or(0);
        if most == 0 {
            return Self::default();
        }
        let mut weights = [0u16; Self::MAX_CONTACTS];
        for (w, &n) in weights.iter_mut().zip(&counts) {
            // Scaled so the commonest count weighs u16::MAX; a rare count keeps
            // at least weight 1.
            *w = if n == 0 {
                0
            } else {
                u16::try_from((n * u64::from(u16::MAX)).div_ceil(most)).unwrap_or(u16::MAX)
            };
        }
        let default = Self::default();
        let accounts: u64 = counts.iter().sum();
        let percent = |[email, all]: [u64; 2], fallback: u8| {
            (email * 100 + all / 2)
                .checked_div(all)
                .map_or(fallback, |p| u8::try_from(p).unwrap_or(100))
        };
        Self {
            counts: weights,
            email_percent: percent(kinds[0], default.email_percent),
            email_percent_for_phone: percent(kinds[1], default.email_percent_for_phone),
            app_percent: percent([with_app, accounts], default.app_percent),
            domains: Self::DOMAINS,
        }
    }

    /// The same profile with made-up email addresses at these domains (lower-case
    /// ASCII, e.g. your users' most common providers).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for an empty list or a
    /// domain that is not lower-case ASCII letters, digits, dots and dashes.
    pub fn with_domains(mut self, domains: &'static [&'static str]) -> crate::Result<Self> {
        let ok = |d: &&str| {
            !d.is_empty()
                && d.contains('.')
                && d.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        };
        if domains.is_empty() || !domains.iter().all(ok) {
            return Err(crate::Error::InvalidInput {
                field: "decoy profile",
                reason: "domains must be lower-case ASCII names",
            });
        }
        self.domains = domains;
        Ok(self)
    }

    /// The share of contacts that are email addresses, in percent, beside an
    /// email identifier.
    pub fn email_percent(&self) -> u8 {
        self.email_percent
    }

    /// The share of an account's other contacts that are email addresses, in
    /// percent, when it is looked up by an identifier of `kind`.
    pub fn email_percent_for(&self, kind: ContactKind) -> u8 {
        match kind {
            ContactKind::Email => self.email_percent,
            ContactKind::Phone | ContactKind::App => self.email_percent_for_phone,
        }
    }

    /// The share of accounts, in percent, whose recovery lists an
    /// authenticator app.
    pub fn app_percent(&self) -> u8 {
        self.app_percent
    }

    /// The weight of accounts with `n` verified contacts.
    pub fn weight(&self, n: usize) -> u16 {
        n.checked_sub(1)
            .and_then(|i| self.counts.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// The mail domains of made-up addresses.
    pub fn domains(&self) -> &'static [&'static str] {
        self.domains
    }
}

impl Default for DecoyProfile {
    /// 30 % of accounts with one verified contact, 45 % with two, 20 % with three,
    /// 5 % with four; beside an email identifier half of the other contacts are
    /// email addresses, beside a phone number 80 % (accounts looked up by phone
    /// mostly have an email address too); no authenticator apps. A guess:
    /// learn yours with [`DecoyProfile::learn`].
    fn default() -> Self {
        Self {
            counts: [30, 45, 20, 5, 0, 0, 0, 0],
            email_percent: 50,
            email_percent_for_phone: 80,
            app_percent: 0,
            domains: Self::DOMAINS,
        }
    }
}

/// A deterministic stream of numbers from a 32-byte seed: SHA-256 of the seed and
/// a block counter. Fixed here, not a library RNG, so that made-up answers never
/// change with a dependency's version.
pub(crate) struct Stream {
    seed: [u8; 32],
    block: [u8; 32],
    counter: u32,
    used: usize,
}

impl Stream {
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        Self {
            seed,
            block: [0; 32],
            counter: 0,
            used: 32,
        }
    }

    fn next_u64(&mut self) -> u64 {
        if self.used + 8 > 32 {
            let mut h = Sha256::new();
            h.update(self.seed);
            h.update(self.counter.to_be_bytes());
            self.block = h.finalize().into();
            self.counter += 1;
            self.used = 0;
        }
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&self.block[self.used..self.used + 8]);
        self.used += 8;
        u64::from_le_bytes(bytes)
    }

    /// 16 bytes of the stream.
    fn bytes16(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        out[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        out
    }

    /// A number in `0..n` (multiply-shift; the bias, below `n / 2^64`, does not
    /// matter for made-up answers).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// An index drawn by `weights`.
    pub(crate) fn weighted(&mut self, weights: &[u16]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut pick = self.below(total.max(1));
        for (i, &w) in weights.iter().enumerate() {
            if pick < u64::from(w) {
                return i;
            }
            pick -= u64::from(w);
        }
        0
    }
}

/// A made-up email address: a local part of 4 to 12 letters and digits (2 or 3 in
/// one case out of ten) at one of the profile's domains.
pub(crate) fn made_up_email(stream: &mut Stream, profile: &DecoyProfile) -> Option<Contact> {
    const SYMBOLS: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let len = if stream.below(10) == 0 {
        2 + stream.below(2)
    } else {
        4 + stream.below(9)
    };
    let mut address: String = (0..len)
        .map(|i| {
            // Local parts start with a letter.
            let n = if i == 0 { 26 } else { 36 };
            char::from(SYMBOLS[stream.below(n) as usize])
        })
        .collect();
    address.push('@');
    address.push_str(profile.domains[stream.below(profile.domains.len() as u64) as usize]);
    Contact::from_stored(&address).ok()
}

/// A made-up phone number with `like`'s country calling code and length, or a
/// North American one.
pub(crate) fn made_up_phone(stream: &mut Stream, like: Option<&Contact>) -> Option<Contact> {
    let (prefix, digits) = match like.map(Contact::identity) {
        // Keep the country code; draw every digit after it.
        Some(e164) => {
            let code_len = like
                .and_then(Contact::calling_code)
                .map_or(1, |c| c.to_string().len());
            (&e164[..=code_len], e164.len() - 1 - code_len)
        }
        None => ("+1", 10),
    };
    let mut number = String::from(prefix);
    for i in 0..digits {
        // A national number does not start with 0.
        let d = if i == 0 {
            1 + stream.below(9)
        } else {
            stream.below(10)
        };
        number.push(char::from(b'0' + d as u8));
    }
    Contact::from_stored(&number).ok()
}

/// The made-up account that answers a recovery for an identifier no account has:
/// its id (`decoy:` and 32 hex digits of the seed, which no application id
/// collides with by chance) and its verified contacts, the identifier among them,
/// and an authenticator app at the profile's rate (drawn after the contacts, so
/// that a profile without apps answers as it did before apps existed).
pub(crate) fn decoy_account(
    identifier: &Contact,
    seed: &[u8; 32],
    profile: &DecoyProfile,
    now: Timestamp,
) -> Account {
    let mut stream = Stream::new(*seed);
    let count = stream.weighted(&profile.counts) + 1;
    let position = stream.below(count as u64) as usize;
    let phone_like = (identifier.kind() == ContactKind::Phone).then_some(identifier);
    let email_percent = profile.email_percent_for(identifier.kind());
    let id = AccountId::new(format!("decoy:{}", hex(&seed[..16])))
        .expect("38 bytes is a valid account id");
    let mut account = Account::new(id);
    for i in 0..count {
        let contact = if i == position {
            Some(identifier.clone())
        } else if stream.below(100) < u64::from(email_percent) {
            made_up_email(&mut stream, profile)
        } else {
            made_up_phone(&mut stream, phone_like)
        };
        // Made-up contacts are built in stored form and always read back; one equal
        // to a contact already drawn (vanishingly rare) is skipped.
        if let Some(contact) = contact
            && account.verified_entry(&contact).is_none()
        {
            account = account
                .with_verified_contact(contact, now)
                .expect("a contact the account does not have yet");
        }
    }
    if stream.below(100) < u64::from(profile.app_percent) {
        let app = Contact::authenticator_with_id(&stream.bytes16());
        account = account
            .with_verified_contact(app, now)
            .expect("an app id the account does not have yet");
    }
    account
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

    #[test]
    fn decoys_are_deterministic_and_contain_the_identifier() {
        let profile = DecoyProfile::default();
        let id = Contact::parse("+44 7400 123456").unwrap();
        for seed in 0u8..200 {
            let a = decoy_account(&id, &[seed; 32], &profile, T0);
            let b = decoy_account(&id, &[seed; 32], &profile, T0);
            assert_eq!(a, b);
            let n = a.verified().count();
            assert!((1..=4).contains(&n), "{n}");
            assert!(a.verified_entry(&id).is_some());
            for c in a.verified() {
                if c.contact.kind() == ContactKind::Phone {
                    assert!(c.contact.identity().starts_with("+44"));
                    assert_eq!(c.contact.identity().len(), id.identity().len());
                }
            }
        }
    }

    #[test]
    fn decoy_kinds_follow_the_identifiers_kind_as_learnt() {
        // Real accounts: every one has an email and a phone. Looked up by phone,
        // a real answer always lists an email; a decoy drawn with kinds
        // independent of the identifier's did so about half the time.
        let accounts: Vec<Account> = (0..50)
            .map(|i| {
                Account::new(AccountId::new(format!("u{i}")).unwrap())
                    .with_verified_contact(
                        Contact::parse(&format!("u{i}@example.org")).unwrap(),
                        T0,
                    )
                    .unwrap()
                    .with_verified_contact(Contact::parse(&format!("+1425555{i:04}")).unwrap(), T0)
                    .unwrap()
            })
            .collect();
        let profile = DecoyProfile::learn(&accounts);
        let phone = Contact::parse("+14255559999").unwrap();
        let email = Contact::parse("nobody@example.net").unwrap();
        for seed in 0u8..=255 {
            for (identifier, other) in [(&phone, ContactKind::Email), (&email, ContactKind::Phone)]
            {
                let a = decoy_account(identifier, &[seed; 32], &profile, T0);
                let kinds: Vec<ContactKind> = a.verified().map(|i| i.contact.kind()).collect();
                assert_eq!(kinds.len(), 2, "as every real account");
                assert!(kinds.contains(&other), "{kinds:?}");
            }
        }
        assert_eq!(DecoyProfile::learn(&[]), DecoyProfile::default());
    }

    #[test]
    fn apps_are_learnt_and_listed_at_the_learnt_rate() {
        // A quarter of the accounts have an app beside their email.
        let accounts: Vec<Account> = (0..100)
            .map(|i| {
                let a = Account::new(AccountId::new(format!("u{i}")).unwrap())
                    .with_verified_contact(
                        Contact::parse(&format!("u{i}@example.org")).unwrap(),
                        T0,
                    )
                    .unwrap();
                if i % 4 == 0 {
                    a.with_verified_contact(Contact::authenticator_with_id(&[i; 16]), T0)
                        .unwrap()
                } else {
                    a
                }
            })
            .collect();
        let profile = DecoyProfile::learn(&accounts);
        assert_eq!(profile.app_percent(), 25);
        assert_eq!(profile.weight(1), u16::MAX, "an app is no contact to count");
        let email = Contact::parse("nobody@example.net").unwrap();
        let mut with_app = 0;
        for seed in 0u8..=255 {
            for second in 0u8..4 {
                let mut bytes = [seed; 32];
                bytes[31] = second;
                let a = decoy_account(&email, &bytes, &profile, T0);
                let apps = a
                    .verified()
                    .filter(|i| i.contact.kind() == ContactKind::App)
                    .count();
                assert!(apps <= 1);
                with_app += apps;
            }
        }
        // 1024 draws at 25 %: 256 expected, sd ≈ 13.9.
        assert!((200..=312).contains(&with_app), "{with_app}");
        // Without apps in the profile, answers are those drawn before apps
        // existed: the app is drawn after the contacts.
        let plain = DecoyProfile::learn(&accounts[1..4]);
        assert_eq!(plain.app_percent(), 0);
        let with = plain.with_app_percent(100).unwrap();
        let (a, b) = (
            decoy_account(&email, &[9; 32], &plain, T0),
            decoy_account(&email, &[9; 32], &with, T0),
        );
        let deliverable = |x: &Account| -> Vec<Contact> {
            x.verified()
                .map(|i| i.contact.clone())
                .filter(|c| c.kind().is_deliverable())
                .collect()
        };
        assert_eq!(deliverable(&a), deliverable(&b));
        assert_eq!(b.verified().count(), a.verified().count() + 1);
        assert!(DecoyProfile::default().with_app_percent(101).is_err());
    }

    #[test]
    fn weighted_draws_follow_the_weights() {
        let mut s = Stream::new([1; 32]);
        let mut seen = [0u32; 3];
        for _ in 0..30_000 {
            seen[s.weighted(&[1, 2, 0])] += 1;
        }
        assert_eq!(seen[2], 0);
        assert!((9_000..11_000).contains(&seen[0]), "{seen:?}");
    }
}
