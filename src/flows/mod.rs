mod add_info;
mod authenticator;
mod change_phone;
mod decoys;
mod hold;
mod identity;
mod recovery;
mod recovery_code;
mod remove;
mod seal;

use std::fmt;
use std::time::Duration;

use crate::account::{Account, SecurityInfoView};
use crate::challenge::{AccountId, Proof};
use crate::channel::templates::NoticeEvent;
use crate::channel::templates::Templates;
use crate::channel::{DeliveryChannel, Message};
use crate::clock::Timestamp;
use crate::contact::Contact;
use crate::counter::CounterKey;
use crate::error::{Error, RateLimit, Result};
use crate::events::Event;
use crate::policy::Purpose;
use crate::service::SecurityCodes;
use crate::store::{AccountStore, ChallengeStore};
use crate::totp::TotpSettings;

pub use authenticator::AppEnrolment;
pub use decoys::DecoyProfile;
pub use hold::HoldView;
pub use recovery::{Confirmation, RecoveryChoice, RecoveryStart, Ticket};
pub use recovery_code::{RecoveredWithCode, RecoveryCode};
pub use seal::SealedProof;

/// Limits and lifetimes of the account flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowSettings {
    max_security_info: usize,
    hold_period: Duration,
    proof_lifetime: Duration,
    ticket_lifetime: Duration,
    recovery_lifetime: Duration,
    decoy_profile: DecoyProfile,
    require_phone: bool,
    totp: TotpSettings,
}

impl Default for FlowSettings {
    fn default() -> Self {
        Self {
            max_security_info: 10,
            hold_period: Duration::from_secs(30 * 24 * 3600),
            proof_lifetime: Duration::from_secs(10 * 60),
            ticket_lifetime: Duration::from_secs(15 * 60),
            recovery_lifetime: Duration::from_secs(30 * 60),
            decoy_profile: DecoyProfile::default(),
            require_phone: false,
            totp: TotpSettings::default(),
        }
    }
}

impl FlowSettings {
    /// Entries per account, pending ones included (default 10; at least 1).
    #[must_use]
    pub fn with_max_security_info(mut self, max: usize) -> Self {
        self.max_security_info = max.max(1);
        self
    }

    /// The replacement hold (default 30 days, as Microsoft accounts).
    #[must_use]
    pub fn with_hold_period(mut self, period: Duration) -> Self {
        self.hold_period = period;
        self
    }

    /// How long a [`Proof`] (and a sealed copy) may be used for a sensitive step
    /// (default 10 minutes; at most 15 minutes, how long a finished challenge is
    /// kept, since a proof is spent on its challenge record).
    #[must_use]
    pub fn with_proof_lifetime(mut self, lifetime: Duration) -> Self {
        self.proof_lifetime = lifetime.min(crate::challenge::RETENTION);
        self
    }

    /// How long a recovery ticket is accepted (default 15 minutes).
    #[must_use]
    pub fn with_ticket_lifetime(mut self, lifetime: Duration) -> Self {
        self.ticket_lifetime = lifetime;
        self
    }

    /// How long a recovery token is accepted (default 30 minutes).
    #[must_use]
    pub fn with_recovery_lifetime(mut self, lifetime: Duration) -> Self {
        self.recovery_lifetime = lifetime;
        self
    }

    /// The shape of made-up recovery answers (default: [`DecoyProfile::default`]).
    #[must_use]
    pub fn with_decoy_profile(mut self, profile: DecoyProfile) -> Self {
        self.decoy_profile = profile;
        self
    }

    /// Whether an account must keep a verified phone number: then removing the
    /// last one is refused with [`Error::LastPhone`] — in a phone change, add the
    /// new number first (default: no).
    #[must_use]
    pub fn with_phone_required(mut self, required: bool) -> Self {
        self.require_phone = required;
        self
    }

    /// How authenticator apps added from now on make their codes, and how
    /// many time steps either side are accepted (default: HMAC-SHA1, 6
    /// digits, 30 s, ±1 — what the common apps scan). Apps added before keep
    /// theirs.
    #[must_use]
    pub fn with_totp(mut self, settings: TotpSettings) -> Self {
        self.totp = settings;
        self
    }

    /// The hold period.
    pub fn hold_period(&self) -> Duration {
        self.hold_period
    }
}

/// The account flows: security codes plus accounts.
///
/// Build it from a [`SecurityCodes`] and an [`AccountStore`]; see the
/// [module docs](crate::AccountSecurity) for the flows and their calls.
///
/// # How the flows work
///
/// The account flows of Microsoft-style security info, on top of
/// [`SecurityCodes`] and an [`AccountStore`].
///
/// | flow | calls |
/// |---|---|
/// | **add security info** | [`start_add_security_info`](AccountSecurity::start_add_security_info) → [`finish_add_security_info`](AccountSecurity::finish_add_security_info) |
/// | **change phone number** | [`start_change_phone`](AccountSecurity::start_change_phone) (last four digits) → [`confirm_current_phone`](AccountSecurity::confirm_current_phone) → [`start_new_phone`](AccountSecurity::start_new_phone) → [`finish_change_phone`](AccountSecurity::finish_change_phone) |
/// | **remove security info** | an identity check, then [`remove_security_info`](AccountSecurity::remove_security_info) |
/// | **recover an account** | [`start_recovery`](AccountSecurity::start_recovery) → [`choose_recovery_contact`](AccountSecurity::choose_recovery_contact) (full address or last four digits) → [`finish_recovery`](AccountSecurity::finish_recovery) → optionally [`issue_ticket`](AccountSecurity::issue_ticket) / [`redeem_ticket`](AccountSecurity::redeem_ticket) |
/// | **identity check** | [`start_identity_check`](AccountSecurity::start_identity_check) → [`finish_identity_check`](AccountSecurity::finish_identity_check) |
/// | **end a hold early** | [`start_hold_release`](AccountSecurity::start_hold_release) → [`finish_hold_release`](AccountSecurity::finish_hold_release) |
///
/// Every code and notice these flows send is rendered in the account's language
/// ([`Account::with_locale`](crate::Account::with_locale)), or in the templates'
/// default when it has none — a recovery code reaches its owner in the owner's
/// language, whatever the browser that asked for it speaks.
///
/// # Recovery does not reveal whether an account exists
///
/// [`start_recovery`](AccountSecurity::start_recovery) answers every well-formed
/// identifier with a token and a list of masked contacts. For an identifier no
/// account has, the list is made up — deterministically from a keyed HMAC of the
/// identifier, so asking twice gives the same answer — with the identifier itself
/// among the choices, as it would be for a real account. Confirming a made-up
/// choice runs the same checks and counters as a real one, and a correct
/// confirmation starts a *decoy* challenge: stored, counted and limited like a
/// real one, never delivered, never approved. Nothing about the identifier is
/// stored beyond those bounded, expiring records.
///
/// What the crate cannot equalise is your channel's latency: deliver through a
/// queue (return from `deliver` once the message is enqueued) so that a real send
/// does not take longer than a decoy.
///
/// # Proofs across requests and servers
///
/// A [`Proof`] seals into an opaque token ([`AccountSecurity::seal`], XChaCha20-
/// Poly1305 under a key derived from the keyring, key id inside so rotation keeps
/// tokens open, expiring with the proof) that any server with the key opens
/// ([`AccountSecurity::unseal`]). Steps that consume a proof take it by reference
/// and mark it spent on its challenge record, atomically in the shared store, so
/// a proof — sealed or not — works once on every server; a step that fails (a
/// duplicate contact, a hold, the last contact) gives it back.
///
/// # Failure budgets an attacker cannot aim
///
/// Failures on the unauthenticated recovery pages never block the signed-in
/// owner. Each kind has a budget of its own ([`CounterKind`](crate::store::CounterKind)),
/// all throttled alike (see [`Limits`](crate::Limits): free failures, then waits
/// doubling up to 15 minutes, a cap of 100 and a 1-hour lockout):
///
/// | failures | budget keyed by |
/// |---|---|
/// | wrong codes of identity checks, add info, change phone; wrong last four digits of a signed-in phone change | the account (signed-in) |
/// | wrong recovery codes | the account (recovery) |
/// | wrong recovery confirmations (full address, last four digits) | the identifier's identity, known or not |
///
/// A confirmation is counted before it is compared and a right one clears the
/// count. Keying confirmations by the identifier, for unknown identifiers as for
/// known ones, means hitting one identifier's limit says nothing about any other
/// identifier or account. The trade-off: an attacker who knows an identifier can
/// still slow its recoveries down (15-minute waits, a 1-hour lockout after about
/// 20 hours of failing), never the owner's signed-in checks. The messages a
/// recovery sends have budgets of their own too (see
/// [`SendLane`](crate::SendLane)): per destination, and per requester when the
/// application names it in
/// [`choose_recovery_contact`](AccountSecurity::choose_recovery_contact).
///
/// # Replacement hold
///
/// As on Microsoft accounts: if, within the hold period (default 30 days) after a
/// recovery, the account ends up with **none** of the contacts it had before that
/// recovery, a hold of that period starts. During it, adding or removing security
/// info, changing the phone number and identity checks fail with
/// [`Error::OnHold`] — also steps started before the hold, when they finish —
/// unless one of the original contacts is proven again
/// ([`start_hold_release`](AccountSecurity::start_hold_release)) — one that no
/// recovery of the window went through, since whoever recovered may hold that
/// one. During the window and the hold, only the originals are offered for
/// recovery: security info added meanwhile waits until it ends. It protects an
/// owner whose account was recovered by someone else who then replaced
/// everything. The rules that keep an attacker from resetting or turning it are
/// in [`HoldState`](crate::store::HoldState).
///
/// One file per flow: `add_info`, `change_phone`, `remove`, `identity`, `recovery`
/// (with `decoys`) and `hold`.
pub struct AccountSecurity<A, S, C> {
    codes: SecurityCodes<S, C>,
    accounts: A,
    settings: FlowSettings,
}

impl<A, S, C> AccountSecurity<A, S, C> {
    /// Flows over `codes` and `accounts` with the default [`FlowSettings`].
    pub fn new(codes: SecurityCodes<S, C>, accounts: A) -> Self {
        Self {
            codes,
            accounts,
            settings: FlowSettings::default(),
        }
    }

    /// The same flows with other settings.
    #[must_use]
    pub fn with_settings(mut self, settings: FlowSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The code service.
    pub fn codes(&self) -> &SecurityCodes<S, C> {
        &self.codes
    }

    /// The account store.
    pub fn accounts(&self) -> &A {
        &self.accounts
    }

    /// The settings.
    pub fn settings(&self) -> &FlowSettings {
        &self.settings
    }
}

impl<A: AccountStore, S: ChallengeStore, C: DeliveryChannel> AccountSecurity<A, S, C> {
    async fn account(&self, id: &AccountId) -> Result<Account> {
        self.accounts.get(id).await?.ok_or(Error::AccountNotFound)
    }

    /// The account's security info, masked.
    ///
    /// # Errors
    ///
    /// [`Error::AccountNotFound`]; [`Error::Store`].
    pub async fn security_info(&self, account: &AccountId) -> Result<Vec<SecurityInfoView>> {
        Ok(self
            .account(account)
            .await?
            .security_info()
            .iter()
            .map(|i| i.view())
            .collect())
    }

    /// The account's hold, if one is running.
    ///
    /// # Errors
    ///
    /// [`Error::AccountNotFound`]; [`Error::Store`].
    pub async fn hold(&self, account: &AccountId) -> Result<Option<HoldView>> {
        let now = self.codes.now();
        let account = self.account(account).await?;
        Ok(account.hold(now).map(|h| HoldView {
            until: h.until,
            originals: h.releasers().map(Contact::masked).collect(),
        }))
    }

    /// Counts a failed contact proof on the account's failure counter, the same
    /// counter wrong codes use.
    async fn failed_proof(&self, account: &AccountId) -> Error {
        let key = CounterKey::account_failures(account);
        match self
            .count_failure_first(&key, RateLimit::AccountFailures, Some(account))
            .await
        {
            Err(e) => e,
            Ok(()) => Error::ContactProofFailed,
        }
    }

    /// Counts one attempt on the failure counter `key` before anything is
    /// compared — an attempt is a failure until it proves otherwise —, refused
    /// (`limit`, announced as an event naming `account`) while a throttle or a
    /// lockout runs.
    pub(super) async fn count_failure_first(
        &self,
        key: &CounterKey,
        limit: RateLimit,
        account: Option<&AccountId>,
    ) -> Result<()> {
        let (now, limits) = (self.codes.now(), *self.codes.config().limits());
        let counted = self
            .codes
            .store()
            .update_counter(key, now, move |c| c.count_failure(&limits, now))
            .await?;
        if let Err(retry_after) = counted {
            self.codes.events().emit(&Event::RateLimited {
                account: account.cloned(),
                limit,
                retry_after,
            });
            return Err(Error::RateLimited { limit, retry_after });
        }
        Ok(())
    }

    /// How many entries an account may have, and how long a pending one
    /// lasts (its add-security-info code's lifetime).
    pub(super) fn pending_bounds(&self) -> (usize, Duration) {
        (
            self.settings.max_security_info,
            self.codes
                .config()
                .policy(Purpose::AddSecurityInfo)
                .lifetime(),
        )
    }

    /// Clears the failure counter `key` after a success.
    pub(super) async fn clear_failures(&self, key: &CounterKey) -> Result<()> {
        self.codes
            .store()
            .update_counter(key, self.codes.now(), |c| c.clear())
            .await
    }

    fn check_proof(&self, proof: &Proof, purposes: &[Purpose]) -> Result<()> {
        let fresh = self.codes.now() < proof.verified_at() + self.settings.proof_lifetime;
        if fresh && purposes.contains(&proof.purpose()) {
            Ok(())
        } else {
            Err(Error::ProofMismatch)
        }
    }

    /// Emits a hold that started and tells the account's verified contacts (except
    /// `skip`) — and a removed contact — what changed, in the account's language.
    /// Best effort: a failed notice does not undo the change.
    #[allow(clippy::too_many_arguments)] // one call per flow, each names its parts
    async fn after_change(
        &self,
        account: &AccountId,
        hold: Option<Timestamp>,
        skip: &[&Contact],
        removed: Option<&Contact>,
        event: NoticeEvent,
        contact: Option<&Contact>,
        old: Option<&Contact>,
    ) -> Result<()> {
        if let Some(until) = hold {
            self.codes.events().emit(&Event::HoldStarted {
                account: account.clone(),
                until,
            });
        }
        let acct = self.account(account).await?;
        let days = self.settings.hold_period.as_secs().div_ceil(86_400);
        let templates = self.codes.templates();
        let locale = acct
            .locale()
            .map_or_else(|| templates.default_locale(), str::to_owned);
        let (contact, old) = (
            contact.map(|c| c.masked().to_string()).unwrap_or_default(),
            old.map(|c| c.masked().to_string()),
        );
        let render = |t: &Templates, locale: &str| {
            t.render_notice(event, &contact, old.as_deref(), days, locale)
        };
        // The change is made: an override that does not render must not turn it
        // into an error, nor silence the notice. The shipped text stands in.
        let Ok((subject, body)) =
            render(templates, &locale).or_else(|_| render(&Templates::builtin(), &locale))
        else {
            return Ok(());
        };
        let recipients = acct
            .verified()
            .map(|i| &i.contact)
            .filter(|c| c.kind().is_deliverable() && !skip.contains(c))
            .chain(removed);
        for to in recipients {
            let purpose = Purpose::IdentityCheck;
            let notice = Message::notice(to.clone(), purpose, subject.as_str(), body.as_str())
                .with_locale(locale.as_str());
            let _best_effort = self.codes.notify(&notice).await;
        }
        Ok(())
    }
}

impl<A: fmt::Debug, S: fmt::Debug, C: fmt::Debug> fmt::Debug for AccountSecurity<A, S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountSecurity")
            .field("codes", &self.codes)
            .field("accounts", &self.accounts)
            .field("settings", &self.settings)
            .finish()
    }
}
