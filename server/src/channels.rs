//! The delivery channels the configuration names: the library's [`ByKind`]
//! routes email addresses and phone numbers each to theirs, and every channel
//! is timed and counted in the metrics under its name.

use seccode::channel::{BoxError, DeliveryChannel, Message};
use seccode::{ByKind, SmtpChannel, TwilioSms, Webhook};

/// What phone numbers go through: an SMS (Twilio's Messages API or a
/// webhook) or a call (a webhook that places it).
pub(crate) enum Phone {
    /// An SMS through a webhook.
    SmsWebhook(Webhook),
    /// An SMS through Twilio's Messages API.
    Twilio(TwilioSms),
    /// A voice call placed by a webhook.
    Call(Webhook),
}

impl DeliveryChannel for Phone {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        match self {
            Phone::SmsWebhook(w) | Phone::Call(w) => w.deliver(message).await,
            Phone::Twilio(t) => t.deliver(message).await,
        }
    }
}

/// A channel the configuration may leave out: a message to one that is not
/// configured fails.
pub(crate) struct Configured<C>(pub(crate) Option<C>);

impl<C> Configured<C> {
    /// Whether the configuration names it.
    pub(crate) fn is_configured(&self) -> bool {
        self.0.is_some()
    }
}

impl<C: DeliveryChannel> DeliveryChannel for Configured<C> {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        match &self.0 {
            Some(channel) => channel.deliver(message).await,
            None => Err("no channel is configured for this contact".into()),
        }
    }
}

/// A channel timed (`seccode_delivery_seconds`) and counted
/// (`seccode_deliveries_total`, by outcome) under `name`.
pub(crate) struct Measured<C> {
    pub(crate) name: &'static str,
    pub(crate) inner: C,
    pub(crate) metrics: crate::metrics::Metrics,
}

impl<C: DeliveryChannel> DeliveryChannel for Measured<C> {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        let started = std::time::Instant::now();
        let result = self.inner.deliver(message).await;
        self.metrics
            .delivery_seconds
            .with_label_values(&[self.name])
            .observe(started.elapsed().as_secs_f64());
        let outcome = if result.is_ok() { "ok" } else { "error" };
        self.metrics
            .deliveries
            .with_label_values(&[self.name, outcome])
            .inc();
        result
    }
}

/// Email and phone channels, each measured; phone numbers get an SMS or,
/// in the calling twin, a call.
pub type Channels = ByKind<Measured<Configured<SmtpChannel>>, Measured<Configured<Phone>>>;

/// The channels: `email`, and `phone` under the metric name `phone_name`.
pub(crate) fn build(
    email: Option<SmtpChannel>,
    phone: Option<Phone>,
    phone_name: &'static str,
    metrics: &crate::metrics::Metrics,
) -> Channels {
    ByKind {
        email: Measured {
            name: "email",
            inner: Configured(email),
            metrics: metrics.clone(),
        },
        phone: Measured {
            name: phone_name,
            inner: Configured(phone),
            metrics: metrics.clone(),
        },
    }
}
