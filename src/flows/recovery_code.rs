//! Recovery codes, as Microsoft accounts have them: one code of 25 characters
//! in five groups, made on request and **shown once**, kept only as a keyed
//! tag, used once — and replaced by a new one (shown once) when it is used.
//! It gets a person back into their account when every other way of proving
//! who they are is gone, without any code being sent.
//!
//! * **Made** by [`AccountSecurity::generate_recovery_code`] for a fresh
//!   identity-check proof (the proof is spent): a new code replaces the
//!   previous one. 25 symbols of Crockford's base32 (no I, L, O or U; 125
//!   bits), e.g. `7KQ2M-XW4PD-9TZRB-HN3CV-05JFE`.
//! * **Used** by [`AccountSecurity::recover_with_code`] on the recovery
//!   flow's token: the attempt counts on the account's recovery failure
//!   budget first (a guesser meets the same throttle and lockout as with sent
//!   codes), and the answer is the same — [`Error::WrongRecoveryCode`], after
//!   the same reads and the same tag — whether the identifier has no account,
//!   an account without a code, or a code that is not this one. A right code
//!   is taken and replaced atomically in the account store (two requests with
//!   the same code recover once), the recovery opens a
//!   [replacement hold](crate::store::HoldState#the-replacement-hold) window
//!   (no contact was used, so any earlier contact can end a hold), every
//!   verified contact is told, and the person gets a single-use
//!   [`Ticket`] and the new code.

use std::fmt;

use rand::Rng;
use zeroize::Zeroizing;

use crate::account::RecoveryCodeRecord;
use crate::challenge::{AccountId, Proof};
use crate::channel::DeliveryChannel;
use crate::channel::templates::NoticeEvent;
use crate::counter::CounterKey;
use crate::error::{Error, RateLimit, Result};
use crate::events::Event;
use crate::flows::AccountSecurity;
use crate::flows::recovery::mint_ticket;
use crate::keys::Keyring;
use crate::policy::Purpose;
use crate::store::{AccountStore, ChallengeStore};

use super::Ticket;

const DOMAIN: &str = "recovery-code";
/// Crockford's base32: digits and letters without I, L, O and U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const GROUPS: usize = 5;
const GROUP_LEN: usize = 5;
const SYMBOLS: usize = GROUPS * GROUP_LEN;

/// A recovery code, to show the person once (`7KQ2M-XW4PD-9TZRB-HN3CV-05JFE`).
/// `Debug` is redacted and the text zeroizes on drop.
pub struct RecoveryCode(Zeroizing<String>);

impl RecoveryCode {
    /// The code as it is shown: five groups of five, joined by dashes.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn generate() -> (Self, Zeroizing<String>) {
        let mut bytes = Zeroizing::new([0u8; SYMBOLS]);
        rand::rng().fill_bytes(&mut *bytes);
        // 32 symbols: five bits of each byte pick one uniformly.
        let plain: Zeroizing<String> = Zeroizing::new(
            bytes
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
                .collect(),
        );
        let mut shown = Zeroizing::new(String::with_capacity(SYMBOLS + GROUPS - 1));
        for (i, c) in plain.chars().enumerate() {
            if i > 0 && i % GROUP_LEN == 0 {
                shown.push('-');
            }
            shown.push(c);
        }
        (Self(shown), plain)
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

/// What a recovery with the recovery code gives: the account, a single-use
/// [`Ticket`] for the page that sets a new password, and the account's new
/// recovery code (the used one no longer works), to show once.
#[derive(Debug)]
#[non_exhaustive]
pub struct RecoveredWithCode {
    /// The account recovered.
    pub account: AccountId,
    /// A single-use ticket ([`AccountSecurity::redeem_ticket`]).
    pub ticket: Ticket,
    /// The next recovery code.
    pub new_code: RecoveryCode,
}

/// The symbols of a typed recovery code: any case, dashes and spaces ignored,
/// `O` read as `0` and `I`/`L` as `1` (Crockford's decoding); `None` unless it
/// is 25 symbols of the alphabet.
fn normalize(input: &str) -> Option<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(SYMBOLS));
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            c if c.is_whitespace() || c == '-' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || out.len() == SYMBOLS {
            return None;
        }
        out.push(c);
    }
    (out.len() == SYMBOLS).then_some(out)
}

/// The keyed tag of `code` (normalized) for `account` under keyring key
/// `key_id`: what the account keeps.
fn tag_of(keyring: &Keyring, key_id: u32, account: &AccountId, code: &str) -> Option<[u8; 32]> {
    let mut data = Zeroizing::new(Vec::with_capacity(account.as_str().len() + 1 + SYMBOLS));
    data.extend_from_slice(account.as_str().as_bytes());
    data.push(0);
    data.extend_from_slice(code.as_bytes());
    keyring.tag_under(key_id, DOMAIN, &data)
}

impl<A: AccountStore, S: ChallengeStore, C: DeliveryChannel> AccountSecurity<A, S, C> {
    /// Makes the account's recovery code, replacing any earlier one, for a
    /// fresh identity-check proof (spent by this call). Show the code once;
    /// the account keeps only its keyed tag.
    ///
    /// # Errors
    ///
    /// [`Error::ProofMismatch`] unless the proof is a fresh identity check
    /// (or was already used); [`Error::OnHold`] during a replacement hold;
    /// [`Error::AccountNotFound`]; [`Error::Store`].
    pub async fn generate_recovery_code(&self, proof: &Proof) -> Result<RecoveryCode> {
        self.check_proof(proof, &[Purpose::IdentityCheck])?;
        let now = self.codes.now();
        let account = proof.account().clone();
        self.account(&account).await?.check_hold(now)?;
        let keyring = self.codes.keyring();
        let key_id = keyring.current_id();
        let (code, plain) = RecoveryCode::generate();
        let tag = tag_of(keyring, key_id, &account, &plain).ok_or(Error::UnknownKey(key_id))?;
        let record = RecoveryCodeRecord {
            tag,
            key_id,
            created_at: now,
        };
        self.spending(proof, async {
            self.accounts
                .update(&account, move |a| {
                    a.set_recovery_code(record.clone());
                    Ok(())
                })
                .await?
                .ok_or(Error::AccountNotFound)
        })
        .await?;
        Ok(code)
    }

    /// Recovers an account with its recovery code, on the token of
    /// [`AccountSecurity::start_recovery`] (offer "use a recovery code" beside
    /// the contacts, for every identifier alike). The attempt counts on the
    /// account's recovery failure budget before it is compared (a made-up
    /// account's for an unknown identifier); every miss — no account, no
    /// code, another code — answers [`Error::WrongRecoveryCode`] after the
    /// same reads. A right code is taken and replaced in one atomic update
    /// (two requests with it recover once), the recovery opens a
    /// [replacement hold](crate::store::HoldState#the-replacement-hold)
    /// window, every verified contact is told, and the answer carries a
    /// single-use [`Ticket`] and the next code, to show once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`]; [`Error::InvalidInput`] if `code` is not 25
    /// symbols of the code's alphabet (counted nothing: it could match no
    /// code); [`Error::RateLimited`] while the account's recovery failures
    /// are throttled or locked; [`Error::WrongRecoveryCode`] for every other
    /// miss; [`Error::Store`].
    pub async fn recover_with_code(&self, token: &str, code: &str) -> Result<RecoveredWithCode> {
        let identifier = self.read_recovery_token(token)?;
        let typed = normalize(code).ok_or(Error::InvalidInput {
            field: "recovery code",
            reason: "25 letters and digits, in five groups of five",
        })?;
        let party = self.recovery_choices(&identifier).await?;
        let account = party.account.clone();
        let now = self.codes.now();
        // Counted before it is compared: an attempt is a failure until it
        // proves otherwise (a made-up account's counter for an unknown
        // identifier, so that both meet the same throttle).
        let failures = CounterKey::failures(Purpose::Recovery, &account);
        self.count_failure_first(&failures, RateLimit::RecoveryFailures, None)
            .await?;
        // The same reads and tag whatever the identifier: a made-up account
        // reads a stand-in record, and without a code the comparison is with
        // a stand-in tag.
        let keyring = self.codes.keyring();
        let stored = self.accounts.get(&account).await?;
        let key_id = stored
            .as_ref()
            .and_then(|a| a.recovery_code())
            .map_or(keyring.current_id(), |r| r.key_id);
        let tag = tag_of(keyring, key_id, &account, &typed);
        let right = stored
            .as_ref()
            .zip(tag)
            .is_some_and(|(a, t)| a.recovery_code_matches(&t))
            && !party.decoy;
        let Some(tag) = tag.filter(|_| right) else {
            return Err(Error::WrongRecoveryCode);
        };
        // Taken and replaced in one atomic update: of two requests with the
        // same code, one recovers.
        let next_key = keyring.current_id();
        let (new_code, plain) = RecoveryCode::generate();
        let next_tag =
            tag_of(keyring, next_key, &account, &plain).ok_or(Error::UnknownKey(next_key))?;
        let next = RecoveryCodeRecord {
            tag: next_tag,
            key_id: next_key,
            created_at: now,
        };
        let (ticket, digest) = mint_ticket(&account);
        let (hold_period, expires) = (
            self.settings.hold_period,
            now + self.settings.ticket_lifetime,
        );
        let taken = self
            .accounts
            .update(&account, move |a| {
                if !a.recovery_code_matches(&tag) {
                    return Ok(false);
                }
                a.set_recovery_code(next.clone());
                a.record_recovery_by_code(hold_period, now);
                a.add_ticket(digest, expires, now);
                Ok(true)
            })
            .await?
            .unwrap_or(false);
        if !taken {
            return Err(Error::WrongRecoveryCode);
        }
        self.clear_failures(&failures).await?;
        self.codes.events().emit(&Event::RecoveryCompleted {
            account: account.clone(),
        });
        self.after_change(
            &account,
            None,
            &[],
            None,
            NoticeEvent::RecoveredWithCode,
            None,
            None,
        )
        .await?;
        Ok(RecoveredWithCode {
            account,
            ticket,
            new_code,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn codes_are_25_symbols_in_five_groups_and_read_back_however_typed() {
        let (code, plain) = RecoveryCode::generate();
        let shown = code.expose();
        assert_eq!(shown.len(), 29);
        assert_eq!(shown.split('-').count(), 5);
        assert!(shown.split('-').all(|g| g.len() == 5));
        assert_eq!(normalize(shown).unwrap().as_str(), plain.as_str());
        let typed = shown.to_lowercase().replace('-', " ");
        assert_eq!(normalize(&typed).unwrap().as_str(), plain.as_str());
        assert_eq!(
            normalize("oooo0-iiiii-lllll-22222-33333").unwrap().as_str(),
            "0000011111111112222233333"
        );
        assert!(normalize("UUUUU-22222-33333-44444-55555").is_none(), "no U");
        assert!(normalize("22222-33333-44444-55555").is_none(), "too short");
        assert!(
            normalize("22222-33333-44444-55555-666666").is_none(),
            "too long"
        );
        assert_eq!(format!("{code:?}"), "RecoveryCode(<redacted>)");
    }
}
