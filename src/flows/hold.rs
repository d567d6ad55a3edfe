//! Ending a replacement hold early by proving an original contact.

use crate::challenge::{AccountId, ChallengeId, Verification};
use crate::channel::DeliveryChannel;
use crate::clock::Timestamp;
use crate::contact::MaskedContact;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::flows::AccountSecurity;
use crate::policy::Purpose;
use crate::service::Sent;
use crate::store::{AccountStore, ChallengeStore};

/// An account's hold, as shown to the person.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HoldView {
    /// When it ends by itself.
    pub until: Timestamp,
    /// The original contacts that can end the hold early, masked, by index for
    /// [`AccountSecurity::start_hold_release`]: every contact the account had
    /// before the recovery, except those a recovery of the window went through
    /// (whoever recovered may hold them). Empty if only those remain: the hold
    /// then runs until `until`.
    pub originals: Vec<MaskedContact>,
}

impl<A: AccountStore, S: ChallengeStore, C: DeliveryChannel> AccountSecurity<A, S, C> {
    /// Sends an identity-check code to one of the hold's original contacts (by
    /// index in [`HoldView::originals`]), even though it may no longer be on the
    /// account.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownSecurityInfo`] if there is no hold or no such original;
    /// [`Error::AccountNotFound`]; the errors of [`SecurityCodes::start`](crate::SecurityCodes::start).
    pub async fn start_hold_release(&self, account: &AccountId, original: usize) -> Result<Sent> {
        let now = self.codes.now();
        let acct = self.account(account).await?;
        let to = acct
            .hold(now)
            .and_then(|h| h.releasers().nth(original))
            .ok_or(Error::UnknownSecurityInfo)?
            .clone();
        self.codes
            .start_for(account, Purpose::IdentityCheck, &to, acct.locale())
            .await
    }

    /// Checks the code sent by [`AccountSecurity::start_hold_release`]; approved for
    /// an original contact, the hold ends.
    ///
    /// # Errors
    ///
    /// [`Error::ProofMismatch`] if the code was right but went to a contact that is
    /// not one of the hold's originals; as [`SecurityCodes::verify`](crate::SecurityCodes::verify) otherwise.
    pub async fn finish_hold_release(
        &self,
        account: &AccountId,
        challenge: &ChallengeId,
        code: &str,
    ) -> Result<Verification> {
        let outcome = self
            .codes
            .verify_for_account(challenge, Purpose::IdentityCheck, account, code)
            .await?;
        let Verification::Approved(proof) = &outcome else {
            return Ok(outcome);
        };
        let now = self.codes.now();
        let released = self
            .accounts
            .update(account, {
                let proven = proof.destination().clone();
                move |a| Ok(a.release_hold(&proven, now))
            })
            .await?
            .unwrap_or(false);
        if !released {
            return Err(Error::ProofMismatch);
        }
        self.codes.events().emit(&Event::HoldReleased {
            account: account.clone(),
        });
        Ok(outcome)
    }
}
