//! A typed event stream: what happened, with ids, purposes and masked contacts
//! only — never a code, a key or an address.
//!
//! Implement [`Events`] to feed your audit log or metrics. The default is
//! [`TracingEvents`] with the `tracing` feature (on by default): each event a
//! `tracing` event (target `seccode`), so delivery failures and refusals reach
//! an application's logs with no wiring and cost nothing without a
//! subscriber; [`NoEvents`] otherwise.

use std::fmt;
use std::time::Duration;

use crate::challenge::{AccountId, ChallengeId};
use crate::clock::Timestamp;
use crate::contact::MaskedContact;
use crate::error::RateLimit;
use crate::policy::Purpose;

/// Something the service did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A challenge was created and its first code is about to be sent.
    ChallengeIssued {
        /// The challenge.
        challenge: ChallengeId,
        /// Its account.
        account: AccountId,
        /// Its purpose.
        purpose: Purpose,
        /// Where the code goes.
        destination: MaskedContact,
    },
    /// A message with a code was handed to the channel.
    ChallengeDelivered {
        /// The challenge.
        challenge: ChallengeId,
        /// Its purpose.
        purpose: Purpose,
        /// Where the code went.
        destination: MaskedContact,
    },
    /// The right code was entered.
    ChallengeVerified {
        /// The challenge.
        challenge: ChallengeId,
        /// Its account.
        account: AccountId,
        /// Its purpose.
        purpose: Purpose,
    },
    /// A code was rejected.
    ChallengeFailed {
        /// The challenge.
        challenge: ChallengeId,
        /// Its purpose.
        purpose: Purpose,
        /// Guesses left.
        remaining: u8,
    },
    /// A challenge used up its attempts, or its account is locked out.
    ChallengeLocked {
        /// The challenge.
        challenge: ChallengeId,
        /// Its purpose.
        purpose: Purpose,
    },
    /// A code was entered after its challenge expired.
    ChallengeExpired {
        /// The challenge.
        challenge: ChallengeId,
        /// Its purpose.
        purpose: Purpose,
    },
    /// A contact was verified and became security info.
    SecurityInfoAdded {
        /// The account.
        account: AccountId,
        /// The contact.
        contact: MaskedContact,
    },
    /// A contact was removed from an account's security info.
    SecurityInfoRemoved {
        /// The account.
        account: AccountId,
        /// The contact.
        contact: MaskedContact,
    },
    /// Someone asked to recover an account. `account` is `None` when no account
    /// has the identifier: the answer they got looked the same.
    RecoveryStarted {
        /// The account, if the identifier belongs to one.
        account: Option<AccountId>,
    },
    /// A recovery code was entered: the person is back in.
    RecoveryCompleted {
        /// The account.
        account: AccountId,
    },
    /// All of an account's security info was replaced after a recovery: sensitive
    /// operations wait until `until` unless an original contact is proven.
    HoldStarted {
        /// The account.
        account: AccountId,
        /// When the hold ends.
        until: Timestamp,
    },
    /// A hold ended early because an original contact was proven.
    HoldReleased {
        /// The account.
        account: AccountId,
    },
    /// A queued message was accepted by the channel behind the queue.
    DeliverySent {
        /// Why it was sent.
        purpose: Purpose,
        /// Where it went.
        destination: MaskedContact,
        /// Tries it took.
        attempts: u32,
    },
    /// A queued message failed for a reason that may pass; it is tried again.
    DeliveryRetried {
        /// Why it is sent.
        purpose: Purpose,
        /// Where it goes.
        destination: MaskedContact,
        /// The try that failed.
        attempt: u32,
        /// The wait before the next one.
        after: Duration,
    },
    /// A queued message was dropped unsent because its code expired first.
    DeliveryDropped {
        /// Why it was to be sent.
        purpose: Purpose,
        /// Where it was to go.
        destination: MaskedContact,
    },
    /// A queued message failed for good: a permanent refusal, or out of tries.
    DeliveryFailed {
        /// Why it was to be sent.
        purpose: Purpose,
        /// Where it was to go.
        destination: MaskedContact,
        /// Tries made.
        attempts: u32,
    },
    /// A limit refused a request.
    RateLimited {
        /// The account, when known.
        account: Option<AccountId>,
        /// Which limit.
        limit: RateLimit,
        /// How long until the request can succeed.
        retry_after: Duration,
    },
}

/// The events sink a service starts with: [`TracingEvents`] with the `tracing`
/// feature, else [`NoEvents`].
pub(crate) fn default_events() -> std::sync::Arc<dyn Events> {
    #[cfg(feature = "tracing")]
    return std::sync::Arc::new(TracingEvents);
    #[cfg(not(feature = "tracing"))]
    return std::sync::Arc::new(NoEvents);
}

/// Receives [`Event`]s. Called inline on the request path: keep it quick (hand
/// off to a channel or a buffered logger).
pub trait Events: Send + Sync {
    /// Observes one event.
    fn emit(&self, event: &Event);
}

/// Ignores every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEvents;

impl Events for NoEvents {
    #[inline]
    fn emit(&self, _event: &Event) {}
}

impl<E: Events + ?Sized> Events for std::sync::Arc<E> {
    fn emit(&self, event: &Event) {
        (**self).emit(event)
    }
}

/// Keeps every event in memory, for tests and development.
#[derive(Default)]
pub struct EventLog(std::sync::Mutex<Vec<Event>>);

impl EventLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// All events so far, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Events for EventLog {
    fn emit(&self, event: &Event) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.clone());
    }
}

impl fmt::Debug for EventLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLog").finish_non_exhaustive()
    }
}

/// Writes each event as a `tracing` event (target `seccode`), with its fields in
/// `Debug` form: at `WARN` what needs an operator — a message that failed for
/// good or was dropped unsent — and at `INFO` the rest. The events sink of
/// [`SecurityCodes`](crate::SecurityCodes) and [`Queued`](crate::Queued) by
/// default. Requires the `tracing` feature (a default feature).
#[cfg(feature = "tracing")]
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingEvents;

#[cfg(feature = "tracing")]
impl Events for TracingEvents {
    fn emit(&self, event: &Event) {
        match event {
            Event::DeliveryFailed { .. } | Event::DeliveryDropped { .. } => {
                tracing::warn!(target: "seccode", event = ?event);
            }
            _ => tracing::info!(target: "seccode", event = ?event),
        }
    }
}

#[cfg(all(test, feature = "tracing"))]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Metadata, Subscriber};

    /// A subscriber that writes each event's fields into a string.
    struct Capture(Arc<Mutex<String>>);

    struct Fields<'a>(&'a mut String);

    impl Visit for Fields<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            self.0.push_str(&format!("{}={value:?};", field.name()));
        }
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            let mut out = self.0.lock().unwrap_or_else(|p| p.into_inner());
            out.push_str(event.metadata().level().as_str());
            out.push(' ');
            out.push_str(event.metadata().target());
            out.push(':');
            event.record(&mut Fields(&mut out));
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    #[test]
    fn tracing_events_carry_masked_fields() {
        let out = Arc::new(Mutex::new(String::new()));
        let contact = crate::Contact::email("secret.person@example.org").unwrap();
        tracing::subscriber::with_default(Capture(out.clone()), || {
            TracingEvents.emit(&Event::SecurityInfoAdded {
                account: AccountId::new("a-1").unwrap(),
                contact: contact.masked(),
            });
        });
        let text = out.lock().unwrap().clone();
        assert!(text.starts_with("INFO seccode:"), "{text}");
        assert!(
            text.contains("SecurityInfoAdded") && text.contains("se•••@example.org"),
            "{text}"
        );
        assert!(!text.contains("secret.person"), "{text}");
    }

    /// With the default features a service reports to `tracing` without
    /// wiring, and a message that failed for good is a warning.
    #[test]
    fn a_service_reports_to_tracing_by_default_and_failed_deliveries_warn() {
        use crate::channel::outbox::Outbox;
        use crate::{Keyring, MemoryChallengeStore, Purpose, SecurityCodes, SendOptions};
        let out = Arc::new(Mutex::new(String::new()));
        let codes = SecurityCodes::new(
            MemoryChallengeStore::new(),
            Outbox::new(),
            Keyring::generate(),
        );
        let account = AccountId::new("a-1").unwrap();
        let to = crate::Contact::email("secret.person@example.org").unwrap();
        tracing::subscriber::with_default(Capture(out.clone()), || {
            let start = codes.start(
                &account,
                Purpose::IdentityCheck,
                &to,
                SendOptions::default(),
            );
            let mut start = std::pin::pin!(start);
            let waker = std::task::Waker::noop();
            let polled = start
                .as_mut()
                .poll(&mut std::task::Context::from_waker(waker));
            assert!(
                matches!(polled, std::task::Poll::Ready(Ok(_))),
                "{polled:?}"
            );
            default_events().emit(&Event::DeliveryFailed {
                purpose: Purpose::IdentityCheck,
                destination: to.masked(),
                attempts: 5,
            });
        });
        let text = out.lock().unwrap().clone();
        assert!(
            text.contains("INFO seccode:event=ChallengeIssued"),
            "{text}"
        );
        assert!(text.contains("WARN seccode:event=DeliveryFailed"), "{text}");
        assert!(!text.contains("secret.person"), "{text}");
    }
}
