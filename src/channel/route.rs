//! Channels made of channels: [`ByKind`] routes by the kind of contact,
//! [`Fallback`] tries a second channel when the first fails. Both are channels
//! themselves, so they compose (`ByKind { email: smtp, phone: Fallback(twilio, webhook) }`).

use crate::channel::{DeliveryChannel, DeliveryError, Message};
use crate::contact::ContactKind;
use crate::error::BoxError;

/// Email through one channel, SMS (and voice) through another.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use seccode::{ByKind, ConsoleChannel, Outbox};
///
/// let outbox = Arc::new(Outbox::new());
/// let channel = ByKind { email: outbox.clone(), phone: ConsoleChannel };
/// # let _ = channel;
/// ```
#[derive(Clone, Debug, Default)]
pub struct ByKind<E, P> {
    /// Delivers to email addresses.
    pub email: E,
    /// Delivers to phone numbers.
    pub phone: P,
}

impl<E: DeliveryChannel, P: DeliveryChannel> DeliveryChannel for ByKind<E, P> {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        match message.to().kind() {
            ContactKind::Email => self.email.deliver(message).await,
            ContactKind::Phone => self.phone.deliver(message).await,
            ContactKind::App => Err("an authenticator app receives no messages".into()),
        }
    }

    async fn absorb(&self, message: &Message) -> Result<(), BoxError> {
        match message.to().kind() {
            ContactKind::Email => self.email.absorb(message).await,
            ContactKind::Phone => self.phone.absorb(message).await,
            ContactKind::App => Err("an authenticator app receives no messages".into()),
        }
    }
}

/// The first channel, and the second if the first fails. The message goes out at
/// most twice: a primary that fails after the provider accepted the message may
/// lead to a duplicate, never to a loss.
///
/// The error when both fail names both reasons; it is permanent only if both
/// were.
#[derive(Clone, Debug, Default)]
pub struct Fallback<P, S>(pub P, pub S);

impl<P: DeliveryChannel, S: DeliveryChannel> DeliveryChannel for Fallback<P, S> {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        let first = match self.0.deliver(message).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let second = match self.1.deliver(message).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let permanent = |e: &BoxError| {
            e.downcast_ref::<DeliveryError>()
                .is_some_and(DeliveryError::is_permanent)
        };
        let reason = format!("primary: {first}; fallback: {second}");
        Err(Box::new(if permanent(&first) && permanent(&second) {
            DeliveryError::permanent(reason)
        } else {
            DeliveryError::transient(reason)
        }))
    }

    async fn absorb(&self, message: &Message) -> Result<(), BoxError> {
        self.0.absorb(message).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outbox;
    use crate::contact::Contact;
    use crate::policy::Purpose;
    use std::sync::Arc;

    fn ready<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        match f
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("not ready"),
        }
    }

    fn notice(to: &str) -> Message {
        Message::notice(
            Contact::parse(to).unwrap(),
            Purpose::IdentityCheck,
            "s",
            "b",
        )
    }

    #[test]
    fn by_kind_routes_email_and_phone_apart() {
        let (email, phone) = (Arc::new(Outbox::new()), Arc::new(Outbox::new()));
        let c = ByKind {
            email: email.clone(),
            phone: phone.clone(),
        };
        ready(c.deliver(&notice("a@example.org"))).unwrap();
        ready(c.deliver(&notice("+44 7400 123456"))).unwrap();
        ready(c.deliver(&notice("b@example.org"))).unwrap();
        assert_eq!((email.len(), phone.len()), (2, 1));
    }

    #[test]
    fn fallback_tries_the_second_channel_once_the_first_fails() {
        let (first, second) = (Arc::new(Outbox::new()), Arc::new(Outbox::new()));
        let c = Fallback(first.clone(), second.clone());
        ready(c.deliver(&notice("a@example.org"))).unwrap();
        assert_eq!((first.len(), second.len()), (1, 0));
        first.set_failing(true);
        ready(c.deliver(&notice("a@example.org"))).unwrap();
        assert_eq!((first.len(), second.len()), (1, 1));
        second.set_failing(true);
        let e = ready(c.deliver(&notice("a@example.org"))).unwrap_err();
        assert!(e.to_string().starts_with("primary: "), "{e}");
        assert!(!e.to_string().contains("a@example.org"));
    }
}
