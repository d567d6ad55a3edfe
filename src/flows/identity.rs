//! Identity checks before sensitive actions.

use crate::account::SecurityInfoId;
use crate::challenge::{AccountId, ChallengeId, Verification};
use crate::channel::DeliveryChannel;
use crate::error::{Error, Result};
use crate::flows::AccountSecurity;
use crate::policy::Purpose;
use crate::service::Sent;
use crate::store::{AccountStore, ChallengeStore};

impl<A: AccountStore, S: ChallengeStore, C: DeliveryChannel> AccountSecurity<A, S, C> {
    /// Sends a code to one of the account's verified contacts before a sensitive
    /// action.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownSecurityInfo`] unless `entry` is a verified email or
    /// phone (an app's code is checked by
    /// [`AccountSecurity::check_authenticator`]); [`Error::OnHold`];
    /// [`Error::AccountNotFound`]; the errors of [`SecurityCodes::start`](crate::SecurityCodes::start).
    pub async fn start_identity_check(
        &self,
        account: &AccountId,
        entry: SecurityInfoId,
    ) -> Result<Sent> {
        let acct = self.account(account).await?;
        acct.check_hold(self.codes.now())?;
        let to = acct
            .info(entry)
            .filter(|i| i.is_verified() && i.contact.kind().is_deliverable())
            .ok_or(Error::UnknownSecurityInfo)?
            .contact
            .clone();
        self.codes
            .start_for(account, Purpose::IdentityCheck, &to, acct.locale())
            .await
    }

    /// Checks an identity-check code; approved, the [`Proof`](crate::Proof) names the account
    /// and the purpose, for [`AccountSecurity::remove_security_info`] or the
    /// application's own sensitive actions.
    ///
    /// # Errors
    ///
    /// [`Error::OnHold`] if a hold started after the code was sent (the proof is
    /// not handed out); as [`SecurityCodes::verify`](crate::SecurityCodes::verify) otherwise.
    pub async fn finish_identity_check(
        &self,
        account: &AccountId,
        challenge: &ChallengeId,
        code: &str,
    ) -> Result<Verification> {
        let outcome = self
            .codes
            .verify_for_account(challenge, Purpose::IdentityCheck, account, code)
            .await?;
        if outcome.is_approved() {
            self.account(account).await?.check_hold(self.codes.now())?;
        }
        Ok(outcome)
    }
}
