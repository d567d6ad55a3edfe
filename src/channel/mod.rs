//! The delivery port: [`DeliveryChannel`], the [`Message`]s it sends and their
//! default texts; the [`Outbox`] and [`ConsoleChannel`] implementations.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::code::Code;
use crate::contact::{Contact, ContactKind};
use crate::error::BoxError;
use crate::policy::Purpose;

mod console;
mod outbox;

pub use console::ConsoleChannel;
pub use outbox::Outbox;

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
}

impl<C: DeliveryChannel + ?Sized> DeliveryChannel for Arc<C> {
    fn deliver(&self, message: &Message) -> impl Future<Output = Result<(), BoxError>> + Send {
        (**self).deliver(message)
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
/// text, which holds the code; the text is zeroized on drop.
#[derive(Clone)]
pub struct Message {
    to: Contact,
    purpose: Purpose,
    kind: MessageKind,
    subject: String,
    body: Zeroizing<String>,
    code: Option<Code>,
}

impl Message {
    /// A code message with the default text for its purpose, e.g. "Your security
    /// code is 402918. It expires in 10 minutes."
    pub fn code(to: Contact, purpose: Purpose, code: Code, expires_in: Duration) -> Self {
        let minutes = expires_in.as_secs().div_ceil(60).max(1);
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        let what = match to.kind() {
            ContactKind::Email => "email address",
            ContactKind::Phone => "phone number",
        };
        let why = match purpose {
            Purpose::AddSecurityInfo => format!(" Use it to verify this {what} for your account."),
            Purpose::ChangePhone => {
                " Use it to confirm that you are changing your phone number.".to_owned()
            }
            Purpose::Recovery => " Use it to recover your account.".to_owned(),
            Purpose::IdentityCheck => " Use it to confirm it's you.".to_owned(),
        };
        let body = Zeroizing::new(format!(
            "Your security code is {}.{why} It expires in {minutes} {unit}. \
             If you didn't ask for it, ignore this message and don't share the code.",
            code.expose()
        ));
        let subject = match purpose {
            Purpose::Recovery => "Account recovery code",
            _ => "Your security code",
        };
        Self {
            to,
            purpose,
            kind: MessageKind::Code,
            subject: subject.to_owned(),
            body,
            code: Some(code),
        }
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

    /// The text, including the code. Send it; never log it.
    pub fn body(&self) -> &str {
        &self.body
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
        let debug = format!("{m:?}");
        assert!(
            !debug.contains(&value) && !debug.contains("ann@"),
            "{debug}"
        );
    }
}
