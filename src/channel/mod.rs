//! For channel authors: the delivery port [`DeliveryChannel`], the
//! [`Message`]s it sends and their texts. The channels the crate ships
//! ([`Outbox`](crate::Outbox), [`ConsoleChannel`](crate::ConsoleChannel),
//! [`ByKind`](crate::ByKind), `SmtpChannel`, `TwilioSms`, …) are at the crate's
//! root.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::code::Code;
use crate::contact::{Contact, ContactKind};
use crate::policy::Purpose;

pub(crate) mod console;
mod holes;
#[cfg(feature = "http")]
pub(crate) mod http;
pub(crate) mod outbox;
#[cfg(feature = "queue")]
pub(crate) mod queue;
pub(crate) mod route;
#[cfg(feature = "smtp")]
pub(crate) mod smtp;
pub(crate) mod templates;
pub(crate) mod text;

pub use crate::error::BoxError;
use templates::Templates;
pub use templates::{MESSAGE_IDS, SmsEncoding, SmsSegments, Texts, sms_segments};
use text::{CodeText, EmailText};

/// Sends messages: an SMS gateway, an email service, a queue.
///
/// Implementors write `async fn deliver(&self, message: &Message) -> Result<(), BoxError>`.
/// Read the address with [`Message::to`] and [`Contact::expose`], the text with
/// [`Message::subject`] and [`Message::body`]. Return an error only when the
/// message was certainly not accepted: the service then reports
/// [`Error::Delivery`](crate::Error::Delivery) (the send still counts against the
/// limits, so a failing provider cannot be used to pump messages).
pub trait DeliveryChannel: Send + Sync {
    /// Sends one message.
    ///
    /// # Errors
    ///
    /// Whatever the provider reports; it is boxed into `Error::Delivery`.
    fn deliver(&self, message: &Message) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// Takes a message that must **not** be sent — a recovery decoy's, see
    /// [`AccountSecurity`](crate::AccountSecurity) — the way [`DeliveryChannel::deliver`] takes one that
    /// must, so that both cost the caller the same. `Queued` (feature `queue`)
    /// enqueues it and drops it when it reaches the head; the default does
    /// nothing. Never send it.
    ///
    /// # Errors
    ///
    /// What `deliver` would report for the same state (e.g. a full queue).
    fn absorb(&self, message: &Message) -> impl Future<Output = Result<(), BoxError>> + Send {
        let _ = message;
        std::future::ready(Ok(()))
    }
}

impl<C: DeliveryChannel + ?Sized> DeliveryChannel for Arc<C> {
    fn deliver(&self, message: &Message) -> impl Future<Output = Result<(), BoxError>> + Send {
        (**self).deliver(message)
    }

    fn absorb(&self, message: &Message) -> impl Future<Output = Result<(), BoxError>> + Send {
        (**self).absorb(message)
    }
}

/// A delivery failure that says what a retry would do: the error channels return
/// (boxed) so that `Queued` (feature `queue`) and [`Fallback`](crate::Fallback) can tell a
/// permanent refusal (a 4xx, a refused recipient: retrying cannot help) from a
/// transient one (a 5xx, a timeout, a 429 with its `Retry-After`). Errors of other
/// types count as transient. The reason never holds the address or the code.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct DeliveryError {
    reason: String,
    permanent: bool,
    retry_after: Option<Duration>,
}

impl DeliveryError {
    /// A refusal that retrying cannot change.
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: true,
            retry_after: None,
        }
    }

    /// A failure that may pass.
    pub fn transient(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: false,
            retry_after: None,
        }
    }

    /// The same failure, retried no sooner than `after` (a provider's `Retry-After`).
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }

    /// How long the provider asked to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

/// What a message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageKind {
    /// A security code.
    Code,
    /// A notice without a code (e.g. "security info was added").
    Notice,
}

/// One message to one contact. `Debug` shows the masked address and never the
/// text, which holds the code; the texts are zeroized on drop.
///
/// A code message carries every form a channel may need, rendered from
/// [`Templates`]: [`Message::body`] (the SMS for a phone, the plain text for an
/// email), [`Message::html`], [`Message::voice`] and [`Message::subject`].
#[derive(Clone)]
pub struct Message {
    to: Contact,
    purpose: Purpose,
    kind: MessageKind,
    subject: String,
    body: Zeroizing<String>,
    html: Option<Zeroizing<String>>,
    voice: Option<Zeroizing<String>>,
    /// For a call: what to say before waiting for a key press, when the
    /// code is read only after one.
    voice_prompt: Option<String>,
    /// For a call: the text-to-speech voice asked for.
    voice_name: Option<String>,
    /// For a call: the digits to press once it is answered.
    send_digits: Option<String>,
    /// The sender asked for instead of the channel's own, and its name.
    sender: Option<Sender>,
    locale: String,
    deadline: Option<Timestamp>,
    code: Option<Code>,
}

/// A sender asked for one message: its address and display name.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sender {
    address: String,
    name: Option<String>,
}

/// `text` with HTML's special characters (`&`, `<`, `>`, `"`, `'`) escaped:
/// for a value filled into an [`EmailText`]'s HTML, which
/// is taken as it is.
///
/// ```
/// use seccode::channel::escape_html;
///
/// assert_eq!(escape_html("A&B <Shop>"), "A&amp;B &lt;Shop&gt;");
/// ```
#[must_use]
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl Message {
    /// A code message with the shipped English text for its purpose, e.g. "Your
    /// security code is 402918. Use it to confirm it's you. It expires in 10
    /// minutes."
    ///
    /// # Panics
    ///
    /// Never: the shipped English templates define and render every message (the
    /// crate's tests render them all).
    pub fn code(to: Contact, purpose: Purpose, code: Code, expires_in: Duration) -> Self {
        // The shipped English templates define every message.
        Self::from_templates(&Templates::builtin(), "en", to, purpose, code, expires_in)
            .expect("the shipped templates render")
    }

    /// A code message rendered from `templates` in `locale`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) if a template does
    /// not render (see [`Templates::render`]).
    pub fn from_templates(
        templates: &Templates,
        locale: &str,
        to: Contact,
        purpose: Purpose,
        code: Code,
        expires_in: Duration,
    ) -> Result<Self, crate::Error> {
        let mut message = Self::rendered(templates, locale, to, purpose, code, expires_in)?;
        message.ended(templates);
        Ok(message)
    }

    /// [`Message::from_templates`] without the templates' last SMS line
    /// ([`Message::ended`] adds it once the message is otherwise complete).
    pub(crate) fn rendered(
        templates: &Templates,
        locale: &str,
        to: Contact,
        purpose: Purpose,
        code: Code,
        expires_in: Duration,
    ) -> Result<Self, crate::Error> {
        let texts = templates.render_texts(purpose, &to, &code, expires_in, locale, true)?;
        let (subject, text, html, sms, voice) = texts.into_parts();
        let (body, html, voice) = match to.kind() {
            ContactKind::Email => (text, Some(html), None),
            ContactKind::Phone => (sms, None, Some(voice)),
            ContactKind::App => {
                return Err(crate::Error::InvalidInput {
                    field: "destination",
                    reason: "an authenticator app receives no messages",
                });
            }
        };
        Ok(Self {
            purpose,
            kind: MessageKind::Code,
            subject,
            body,
            html,
            voice,
            locale: locale.to_owned(),
            deadline: None,
            code: Some(code),
            voice_prompt: None,
            voice_name: None,
            send_digits: None,
            sender: None,
            to,
        })
    }

    /// The same message in `text`'s words: its SMS and spoken text (a
    /// phone's); an email is unchanged.
    pub(crate) fn in_words(&mut self, text: &CodeText) {
        if self.to.kind() == ContactKind::Phone
            && let Some(code) = &self.code
        {
            self.body = Zeroizing::new(text.fill(code.expose()));
            if self.voice.is_some() {
                self.voice = Some(Zeroizing::new(text.fill(&templates::spoken(code.expose()))));
            }
        }
    }

    /// The same message in `email`'s words: its subject, text and HTML (an
    /// email's); a phone's message is unchanged.
    pub(crate) fn in_email_words(&mut self, email: &EmailText) {
        if self.to.kind() == ContactKind::Email
            && let Some(code) = &self.code
        {
            self.subject = email.subject().to_owned();
            self.body = Zeroizing::new(email.text().fill(code.expose()));
            self.html = email
                .html()
                .map(|html| Zeroizing::new(html.fill(code.expose())));
        }
    }

    /// The same message with the templates' last SMS line (a WebOTP origin
    /// or an app hash, [`Templates::sms_ending`]) after everything else of
    /// a phone's SMS.
    pub(crate) fn ended(&mut self, templates: &Templates) {
        if templates.ends_sms()
            && self.to.kind() == ContactKind::Phone
            && let Some(code) = &self.code
        {
            self.body.push_str(&templates.sms_ending(code));
        }
    }

    /// The same message as application `app` sends it (`app: ` before the
    /// SMS, spoken text and subject) and, with `do_not_share`, with the
    /// locale's warning after the SMS and spoken text (an email carries one
    /// already).
    pub(crate) fn worded(
        &mut self,
        templates: &Templates,
        app: Option<&str>,
        transaction: Option<&crate::Transaction<'_>>,
        do_not_share: bool,
    ) {
        let phone = self.to.kind() == ContactKind::Phone;
        // A payment's amount and payee follow the code's sentence, so the
        // payer sees what the code approves (PSD2 RTS Art. 5(1)(a)).
        if let Some(t) = transaction {
            let line = templates.transaction_line(&self.locale, t.amount(), t.payee());
            self.body.push_str(if phone { " " } else { "\n\n" });
            self.body.push_str(&line);
            if let Some(html) = &mut self.html {
                html.push_str(&format!("\n<p>{}</p>", escape_html(&line)));
            }
            if let Some(voice) = &mut self.voice {
                voice.push(' ');
                voice.push_str(&line);
            }
        }
        if let Some(app) = app {
            self.subject = format!("{app}: {}", self.subject);
            if phone {
                self.body = Zeroizing::new(format!("{app}: {}", self.body.as_str()));
            }
            if let Some(voice) = &mut self.voice {
                *voice = Zeroizing::new(format!("{app}: {}", voice.as_str()));
            }
        }
        if do_not_share && phone {
            let warning = templates.do_not_share(&self.locale);
            self.body.push(' ');
            self.body.push_str(&warning);
            if let Some(voice) = &mut self.voice {
                voice.push(' ');
                voice.push_str(&warning);
            }
        }
    }

    /// The same message as a call should read it: after a key press (the
    /// locale's `code-voice-prompt` said first), in the voice `name`, the
    /// call pressing `digits` once answered. A message to an email address
    /// is unchanged.
    pub(crate) fn called(
        &mut self,
        templates: &Templates,
        press_key_first: bool,
        name: Option<&str>,
        digits: Option<&str>,
    ) {
        if self.to.kind() == ContactKind::Phone {
            if press_key_first {
                self.voice_prompt = Some(templates.voice_prompt(&self.locale));
            }
            self.voice_name = name.map(str::to_owned);
            self.send_digits = digits.map(str::to_owned);
        }
    }

    /// The same message with `line` on a line of its own at the end of its
    /// SMS (a phone's body); an email is unchanged.
    pub(crate) fn with_sms_line(&mut self, line: &str) {
        if self.to.kind() == ContactKind::Phone {
            self.body.push_str("\n\n");
            self.body.push_str(line);
        }
    }

    /// The same message, to be dropped rather than sent at or after `deadline`
    /// (a code that arrives after it expired is useless; see `Queued`).
    #[must_use]
    pub fn with_deadline(mut self, deadline: Timestamp) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The same message, written in `locale` (a BCP 47 tag; a notice is `en`
    /// unless this says otherwise).
    #[must_use]
    pub fn with_locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = locale.into();
        self
    }

    /// A notice without a code.
    pub fn notice(
        to: Contact,
        purpose: Purpose,
        subject: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        Self {
            to,
            purpose,
            kind: MessageKind::Notice,
            subject: subject.into(),
            body: Zeroizing::new(body.into()),
            html: None,
            voice: None,
            voice_prompt: None,
            voice_name: None,
            send_digits: None,
            sender: None,
            locale: "en".to_owned(),
            deadline: None,
            code: None,
        }
    }

    /// The recipient.
    pub fn to(&self) -> &Contact {
        &self.to
    }

    /// Why the message is sent.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// Code or notice.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// A subject line, for email.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The text, including the code: the SMS for a phone, the plain-text part
    /// for an email. Send it; never log it.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The HTML part of a code email.
    pub fn html(&self) -> Option<&str> {
        self.html.as_deref().map(String::as_str)
    }

    /// What a voice call to a phone says: the code digit by digit, twice.
    pub fn voice(&self) -> Option<&str> {
        self.voice.as_deref().map(String::as_str)
    }

    /// For a call that reads the code only after a key press
    /// ([`SendOptions::press_key_first`](crate::SendOptions::press_key_first)):
    /// what to say first ("Press any key to hear your security code.").
    pub fn voice_prompt(&self) -> Option<&str> {
        self.voice_prompt.as_deref()
    }

    /// For a call: the text-to-speech voice asked for
    /// ([`SendOptions::call_voice`](crate::SendOptions::call_voice)).
    pub fn voice_name(&self) -> Option<&str> {
        self.voice_name.as_deref()
    }

    /// For a call: the digits (DTMF tones, `w` a half-second wait) to press
    /// once it is answered — an extension, say
    /// ([`SendOptions::send_digits`](crate::SendOptions::send_digits)).
    pub fn send_digits(&self) -> Option<&str> {
        self.send_digits.as_deref()
    }

    /// The sender asked for instead of the channel's configured one
    /// ([`SendOptions::sender`](crate::SendOptions::sender)): a Messaging
    /// Service SID (`MG…`) or an E.164 number for an SMS, an address for an
    /// email. Checked in shape before anything was counted; a channel that
    /// cannot use it ignores it.
    pub fn sender(&self) -> Option<&str> {
        self.sender.as_ref().map(|s| s.address.as_str())
    }

    /// The sender's display name asked for with it
    /// ([`SendOptions::sender_name`](crate::SendOptions::sender_name)).
    pub fn sender_name(&self) -> Option<&str> {
        self.sender.as_ref().and_then(|s| s.name.as_deref())
    }

    /// The same message from `address` (named `name`), when given.
    pub(crate) fn sent_by(&mut self, address: Option<&str>, name: Option<&str>) {
        self.sender = address.map(|address| Sender {
            address: address.to_owned(),
            name: name.map(str::to_owned),
        });
    }

    /// The locale the texts were rendered for (as requested; the texts may come
    /// from a fallback).
    pub fn locale(&self) -> &str {
        &self.locale
    }

    /// When the message stops being worth sending, if ever.
    pub fn deadline(&self) -> Option<Timestamp> {
        self.deadline
    }

    /// The code alone, for channels with their own templates (e.g. an email
    /// provider's template id).
    pub fn code_value(&self) -> Option<&Code> {
        self.code.as_ref()
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("to", &self.to)
            .field("purpose", &self.purpose)
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .field("locale", &self.locale)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::CodeFormat;

    #[test]
    fn default_text_names_code_and_expiry() {
        let f = CodeFormat::default();
        let code = f.render(&f.reduce(&[0x80; 24]));
        let value = code.expose().to_owned();
        let to = Contact::email("ann@example.org").unwrap();
        let m = Message::code(to, Purpose::IdentityCheck, code, Duration::from_secs(600));
        assert!(
            m.body()
                .starts_with(&format!("Your security code is {value}.")),
            "{}",
            m.body()
        );
        assert!(m.body().contains("It expires in 10 minutes."));
        assert!(
            m.html()
                .unwrap()
                .contains(&format!("<strong>{value}</strong>"))
        );
        assert_eq!(m.voice(), None);
        let debug = format!("{m:?}");
        assert!(
            !debug.contains(&value) && !debug.contains("ann@"),
            "{debug}"
        );
    }
}
