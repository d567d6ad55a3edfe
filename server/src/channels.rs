//! The delivery channels the configuration names, routed by the kind of contact and
//! measured per channel.

use seccode::channel::{BoxError, DeliveryChannel, Message};
use seccode::{SmtpChannel, TwilioSms, Webhook};

/// How SMS leave.
pub(crate) enum Sms {
    Webhook(Webhook),
    Twilio(TwilioSms),
}

/// The delivery channels the configuration names: email and phone numbers
/// each go to theirs.
pub struct Channels {
    pub(crate) sms: Option<Sms>,
    pub(crate) email: Option<SmtpChannel>,
    pub(crate) call: Option<Webhook>,
    /// Whether phone numbers are called (the `call` channel) rather than sent
    /// an SMS.
    pub(crate) voice: bool,
    pub(crate) metrics: crate::metrics::Metrics,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("sms", &self.sms.is_some())
            .field("email", &self.email.is_some())
            .finish()
    }
}

impl DeliveryChannel for Channels {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        let email = message.to().kind() == seccode::ContactKind::Email;
        let channel = match (email, self.voice) {
            (true, _) => "email",
            (false, true) => "call",
            (false, false) => "sms",
        };
        let started = std::time::Instant::now();
        let result = match (channel, &self.email, &self.sms, &self.call) {
            ("email", Some(smtp), _, _) => smtp.deliver(message).await,
            ("call", _, _, Some(call)) => call.deliver(message).await,
            ("sms", _, Some(Sms::Webhook(w)), _) => w.deliver(message).await,
            ("sms", _, Some(Sms::Twilio(t)), _) => t.deliver(message).await,
            _ => Err("no channel is configured for this contact".into()),
        };
        self.metrics
            .delivery_seconds
            .with_label_values(&[channel])
            .observe(started.elapsed().as_secs_f64());
        let outcome = if result.is_ok() { "ok" } else { "error" };
        self.metrics
            .deliveries
            .with_label_values(&[channel, outcome])
            .inc();
        result
    }
}
