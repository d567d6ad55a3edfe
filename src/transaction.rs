//! Codes bound to a payment (PSD2's dynamic linking).

use std::fmt;

use crate::error::{Error, Result};
use crate::keys::Keyring;

/// The keyring domain of a transaction's binding.
const DOMAIN: &str = "transaction-binding";

/// A payment a code is bound to — its amount and payee, as the payer sees
/// them — for PSD2's dynamic linking (Commission Delegated Regulation (EU)
/// 2018/389, Art. 5): the message names both, and the code approves only a
/// check that names the same amount and payee; a check with another amount or
/// payee, or with none, fails as a wrong code does (and counts as one).
///
/// Start with [`SendOptions::transaction`](crate::SendOptions::transaction),
/// check with [`SecurityCodes::verify_transaction`](crate::SecurityCodes::verify_transaction).
/// The challenge keeps only a keyed tag of the two (16 bytes): a store dump
/// tells neither amount nor payee.
///
/// # Examples
///
/// ```
/// use seccode::Transaction;
///
/// let payment = Transaction::new("€39.99", "Acme Inc.")?;
/// assert_eq!((payment.amount(), payment.payee()), ("€39.99", "Acme Inc."));
/// assert!(Transaction::new("", "Acme Inc.").is_err());
/// assert!(Transaction::new("€39.99", "Acme\nInc.").is_err());
/// # Ok::<(), seccode::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Transaction<'a> {
    amount: &'a str,
    payee: &'a str,
}

impl<'a> Transaction<'a> {
    /// The longest amount, in characters.
    pub const MAX_AMOUNT: usize = 32;
    /// The longest payee, in characters.
    pub const MAX_PAYEE: usize = 64;

    /// A payment of `amount` (as shown, currency included: `€39.99`) to
    /// `payee`. Both are compared exactly as given, after trimming spaces.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for an empty or over-long amount or payee, or
    /// one with a line break or other control character.
    pub fn new(amount: &'a str, payee: &'a str) -> Result<Self> {
        let check = |text: &str, max: usize, field: &'static str| {
            let length = text.chars().count();
            if (1..=max).contains(&length) && !text.chars().any(char::is_control) {
                Ok(())
            } else {
                Err(Error::InvalidInput {
                    field,
                    reason: "1 to 32 (amount) or 64 (payee) characters without line breaks",
                })
            }
        };
        let (amount, payee) = (amount.trim(), payee.trim());
        check(amount, Self::MAX_AMOUNT, "amount")?;
        check(payee, Self::MAX_PAYEE, "payee")?;
        Ok(Self { amount, payee })
    }

    /// The amount, as shown.
    pub fn amount(&self) -> &'a str {
        self.amount
    }

    /// The payee, as shown.
    pub fn payee(&self) -> &'a str {
        self.payee
    }

    /// The tag a challenge under key `key_id` keeps: HMAC of amount and payee
    /// under the keyring, cut to 16 bytes; `None` if the ring lacks the key.
    pub(crate) fn binding(&self, keyring: &Keyring, key_id: u32) -> Option<[u8; 16]> {
        let mut data = Vec::with_capacity(self.amount.len() + 1 + self.payee.len());
        data.extend_from_slice(self.amount.as_bytes());
        data.push(0);
        data.extend_from_slice(self.payee.as_bytes());
        let tag = keyring.tag_under(key_id, DOMAIN, &data)?;
        let mut out = [0u8; 16];
        out.copy_from_slice(&tag[..16]);
        Some(out)
    }
}

impl fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("amount", &self.amount)
            .field("payee", &self.payee)
            .finish()
    }
}
