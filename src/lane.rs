//! Send lanes: which budgets a message counts on, by who asks for it and for
//! whom. The design is in the [`policy`](crate::Limits#budgets-that-protect-people-and-budgets-that-protect-money)
//! module docs.

use std::fmt;

use crate::policy::{Policy, Purpose};

/// Whose message this is, which decides the people's budgets it counts on
/// (every lane also counts on the budgets that cap spend: the country calling
/// code and the whole service). See the
/// [policy docs](crate::Limits#budgets-that-protect-people-and-budgets-that-protect-money).
///
/// | lane | people's budgets |
/// |---|---|
/// | [`Owner`](SendLane::Owner) | this account to this contact |
/// | [`Unproven`](SendLane::Unproven) | the destination (every account's sends to it together), the account |
/// | [`Recovery`](SendLane::Recovery) | the destination's anonymous recovery budget, the requester's |
/// | [`Tenant`](SendLane::Tenant) | this tenant to this destination, the account |
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendLane<'a> {
    /// A signed-in owner's message to a contact the account has proven (its
    /// verified security info, or a hold's original). It counts on a budget of
    /// its own per account and contact, which no other account and no
    /// anonymous request can spend, and may use the owner's reserve of the
    /// spend caps ([`Limits::owner_reserve_percent`](crate::Limits::owner_reserve_percent)).
    Owner,
    /// A message to a contact the account has not proven yet (adding security
    /// info, a new phone number). It counts on the destination's budget, which
    /// every account sending to it shares — a contact being added by strangers
    /// cannot be made to receive more — and on the account's.
    Unproven,
    /// An anonymous recovery. It counts on the destination's recovery budget
    /// ([`Limits::recovery_sends`](crate::Limits::recovery_sends)), which
    /// neither the owner's lane nor the accounts adding the contact share, and,
    /// when the application names the requester (a client address, a device
    /// cookie), on the requester's budget, so that one client cannot use up a
    /// contact's recovery budget for everyone.
    Recovery {
        /// Who asks, as the application identifies clients; hashed, never
        /// stored.
        requester: Option<&'a str>,
    },
    /// A multi-tenant service's message (e.g. one API account of
    /// `seccode-server`) to any destination: a budget per tenant and
    /// destination, so that one tenant cannot silence a number for the others,
    /// and the account's.
    Tenant(&'a str),
}

impl SendLane<'_> {
    /// The lane a purpose implies when none is given: identity checks and
    /// change-phone confirmations go to the account's own proven contacts
    /// ([`SendLane::Owner`]); codes that add security info to a contact being
    /// proven ([`SendLane::Unproven`]); recovery codes are anonymous
    /// ([`SendLane::Recovery`] without a requester).
    pub const fn for_purpose(purpose: Purpose) -> SendLane<'static> {
        match purpose {
            Purpose::IdentityCheck | Purpose::ChangePhone => SendLane::Owner,
            Purpose::AddSecurityInfo => SendLane::Unproven,
            Purpose::Recovery => SendLane::Recovery { requester: None },
        }
    }
}

impl fmt::Debug for SendLane<'_> {
    /// The requester and tenant are left out: they may be client addresses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendLane::Owner => f.write_str("Owner"),
            SendLane::Unproven => f.write_str("Unproven"),
            SendLane::Recovery { requester } => f
                .debug_struct("Recovery")
                .field("requester", &requester.map(|_| "<redacted>"))
                .finish(),
            SendLane::Tenant(_) => f.write_str("Tenant(<redacted>)"),
        }
    }
}

/// How one message is sent: its language, its lane and — for a new
/// challenge — the policy it is issued under.
///
/// # Examples
///
/// ```
/// use seccode::{CodeFormat, Policy, SendLane, SendOptions};
///
/// let eight_digits = Policy::builder().format(CodeFormat::digits(8)?).build()?;
/// let options = SendOptions::default()
///     .locale("pt-BR")
///     .lane(SendLane::Recovery { requester: Some("203.0.113.7") })
///     .policy(&eight_digits);
/// assert_eq!(options.locale_tag(), Some("pt-BR"));
/// assert_eq!(options.send_policy().map(|p| p.format().length()), Some(8));
/// assert!(!format!("{options:?}").contains("203.0.113.7"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[must_use]
pub struct SendOptions<'a> {
    pub(crate) locale: Option<&'a str>,
    pub(crate) lane: Option<SendLane<'a>>,
    pub(crate) policy: Option<&'a Policy>,
    pub(crate) app_hash: Option<&'a str>,
    pub(crate) app_name: Option<&'a str>,
    pub(crate) do_not_share: bool,
    pub(crate) transaction: Option<crate::Transaction<'a>>,
    pub(crate) safe_listed: bool,
    pub(crate) press_key_first: bool,
    pub(crate) call_voice: Option<&'a str>,
    pub(crate) send_digits: Option<&'a str>,
    pub(crate) sender: Option<&'a str>,
    pub(crate) sender_name: Option<&'a str>,
    pub(crate) code_text: Option<&'a crate::CodeText>,
    pub(crate) email_text: Option<&'a crate::EmailText>,
}

impl<'a> SendOptions<'a> {
    /// The message in `tag` (a BCP 47 tag such as `pt-BR`; unknown ones fall
    /// back as [`Templates`](crate::Templates) describes). Default: the
    /// templates' default locale.
    pub fn locale(mut self, tag: &'a str) -> Self {
        self.locale = Some(tag);
        self
    }

    /// The message counts on `lane`'s budgets. Default:
    /// [`SendLane::for_purpose`].
    pub fn lane(mut self, lane: SendLane<'a>) -> Self {
        self.lane = Some(lane);
        self
    }

    /// A new challenge is issued under `policy` — its code format, lifetime,
    /// attempts, sends and resend cooldown — instead of the configured policy
    /// of its purpose ([`Config::with_policy`](crate::Config::with_policy)).
    /// The challenge keeps what it was issued with: resends, new codes and
    /// guesses follow it, and input not shaped like a code of *its* format
    /// counts nothing. [`SecurityCodes::resend`](crate::SecurityCodes::resend)
    /// and [`new_code`](crate::SecurityCodes::new_code) ignore it. Useful where
    /// the format is chosen per tenant or per request (seccode-server's
    /// `CodeLength`), without a `SecurityCodes` per format.
    pub fn policy(mut self, policy: &'a Policy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// An SMS ends with `hash`, the Android app's 11-character hash for the
    /// SMS Retriever API, on a line of its own (where the templates add none:
    /// see [`Templates::with_android_app_hash`](crate::Templates::with_android_app_hash)
    /// for one hash for every message). Other channels ignore it. For
    /// seccode-server's `AppHash`, one app per verification.
    pub fn android_app_hash(mut self, hash: &'a str) -> Self {
        self.app_hash = Some(hash);
        self
    }

    /// The message names the application that sends it: `name: ` before the
    /// SMS, the spoken text and the email's subject ("Contoso: Your security
    /// code is 402918. …"), so a person who gets a code they did not ask for
    /// knows whose it is. 1 to 30 characters without line breaks or other
    /// control characters ([`Error::InvalidInput`](crate::Error::InvalidInput)
    /// otherwise, before anything is counted or stored). Default: no name.
    pub fn app_name(mut self, name: &'a str) -> Self {
        self.app_name = Some(name);
        self
    }

    /// With `true`, an SMS and a call end with the locale's warning not to
    /// share the code ("Don't share it with anyone."; the `code-do-not-share`
    /// message of the [templates](crate::Templates)). An email says so
    /// already. In English, German and French the warned SMS still fits one
    /// segment; in languages that need UCS-2 (Spanish, Portuguese, Japanese:
    /// 70 characters a segment) it takes two. Default: off.
    pub fn do_not_share_warning(mut self, on: bool) -> Self {
        self.do_not_share = on;
        self
    }

    /// The code is bound to a payment (PSD2's dynamic linking): the message
    /// names its amount and payee (the locale's `code-transaction` text), and
    /// only [`SecurityCodes::verify_transaction`](crate::SecurityCodes::verify_transaction)
    /// with the same payment approves it. Pass it again with a resend so the
    /// message names it again (a resend naming another payment is refused,
    /// [`Error::InvalidInput`](crate::Error::InvalidInput)).
    /// [`new_code`](crate::SecurityCodes::new_code) keeps the binding.
    pub fn transaction(mut self, transaction: crate::Transaction<'a>) -> Self {
        self.transaction = Some(transaction);
        self
    }

    /// With `true`, the destination is on the application's safe list (a
    /// number it owns or tests with): the message skips the caps that guard
    /// the bill against SMS pumping — the destination's calling code's and
    /// the whole service's ([`Limits`](crate::Limits)) — and only those: the
    /// budgets of its lane (per destination, per account, per requester)
    /// still count it. Default: off.
    pub fn safe_listed(mut self, on: bool) -> Self {
        self.safe_listed = on;
        self
    }

    /// With `true`, a call reads the code only after the person presses a
    /// key (so that a voicemail does not record it): the message carries the
    /// locale's prompt (`code-voice-prompt`, [`Message::voice_prompt`](crate::channel::Message::voice_prompt))
    /// for the voice gateway to say first. Other messages ignore it. Default:
    /// off.
    pub fn press_key_first(mut self, on: bool) -> Self {
        self.press_key_first = on;
        self
    }

    /// A call is read in the text-to-speech voice `name` (as the voice
    /// gateway names its voices, e.g. `Polly.Joanna`; 1 to 64 letters,
    /// digits, `.`, `-`, `_` or `:`, else
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) before anything is
    /// counted). Other messages ignore it. Default: the gateway's own.
    pub fn call_voice(mut self, name: &'a str) -> Self {
        self.call_voice = Some(name);
        self
    }

    /// A call presses `digits` once it is answered, before it speaks — an
    /// extension behind a switchboard (`ww1234#`: `w` waits half a second):
    /// 1 to 32 of `0`–`9`, `*`, `#` and `w`, else
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) before anything is
    /// counted. The voice gateway gets it as
    /// [`Message::send_digits`](crate::channel::Message::send_digits)
    /// ([`Webhook`](crate::Webhook)'s `send_digits`). Other messages ignore
    /// it. Default: none.
    pub fn send_digits(mut self, digits: &'a str) -> Self {
        self.send_digits = Some(digits);
        self
    }

    /// The message goes out from `sender` instead of the channel's configured
    /// sender: a Twilio Messaging Service SID (`MG` and 32 hex digits) or a
    /// number in E.164 for an SMS ([`TwilioSms`](crate::TwilioSms) sends it as
    /// `MessagingServiceSid` or `From`), an email address for an email
    /// ([`SmtpChannel`](crate::SmtpChannel) writes it in `From`); a
    /// [`Webhook`](crate::Webhook) passes it on as `sender`. Anything else is
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) before anything is
    /// counted. Which senders an application may use is its own decision
    /// (seccode-server: a service's Messaging Configurations, and email
    /// senders of the configured domains). Default: the channel's own.
    pub fn sender(mut self, sender: &'a str) -> Self {
        self.sender = Some(sender);
        self
    }

    /// The sender's display name, with [`SendOptions::sender`] (an email's
    /// `From: "name" <address>`): 1 to 64 characters, no control characters.
    pub fn sender_name(mut self, name: &'a str) -> Self {
        self.sender_name = Some(name);
        self
    }

    /// An SMS or call says `text` (the code where its `{code}` stands)
    /// instead of the templates' words — see [`CodeText`](crate::CodeText)
    /// for what still follows it. [`SendOptions::app_name`] and
    /// [`SendOptions::do_not_share_warning`] do not change it (the text is
    /// the whole sentence); an email keeps its templates' texts. Pass it
    /// again with a resend for the same words. Default: the templates'.
    pub fn code_text(mut self, text: &'a crate::CodeText) -> Self {
        self.code_text = Some(text);
        self
    }

    /// An email says `email` (its subject, text and HTML, the code where
    /// their `{code}` stands) instead of the templates' words — see
    /// [`EmailText`](crate::EmailText) for what still follows them. An SMS
    /// or a call keeps its words ([`SendOptions::code_text`] for its own).
    /// Default: the templates'.
    pub fn email_text(mut self, email: &'a crate::EmailText) -> Self {
        self.email_text = Some(email);
        self
    }

    /// The application's name asked for, if any.
    pub fn app_name_text(&self) -> Option<&'a str> {
        self.app_name
    }

    /// The locale asked for, if any.
    pub fn locale_tag(&self) -> Option<&'a str> {
        self.locale
    }

    /// The lane asked for, if any.
    pub fn send_lane(&self) -> Option<SendLane<'a>> {
        self.lane
    }

    /// The policy asked for, if any.
    pub fn send_policy(&self) -> Option<&'a Policy> {
        self.policy
    }
}
