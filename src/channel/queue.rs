//! [`Queued`]: deliver through a bounded in-process queue, so that a request
//! returns once its message is accepted rather than sent.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::RngExt;
use tokio::sync::{Notify, Semaphore, mpsc};

use crate::channel::{DeliveryChannel, DeliveryError, Message};
use crate::clock::{Clock, SystemClock};
use crate::error::{BoxError, Error};
use crate::events::{Event, Events};

/// How a [`Queued`] channel queues and retries.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use seccode::QueueConfig;
///
/// let config = QueueConfig::default()
///     .with_capacity(10_000)
///     .with_workers(16)
///     .with_retries(6, Duration::from_millis(250), Duration::from_secs(60));
/// assert_eq!(config.capacity(), 10_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    capacity: usize,
    workers: usize,
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for QueueConfig {
    /// 1 024 messages waiting, 8 sending at once, 5 tries with waits from 500 ms
    /// doubling to 30 s.
    fn default() -> Self {
        Self {
            capacity: 1024,
            workers: 8,
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl QueueConfig {
    /// Messages that may wait (at least 1); a full queue refuses at once.
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Messages sent at once (at least 1).
    #[must_use]
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Tries per message (at least 1) and the exponential backoff between them:
    /// a wait drawn uniformly below `base · 2^(try − 1)`, at most `max` ("full
    /// jitter"), and never shorter than a provider's `Retry-After`.
    #[must_use]
    pub fn with_retries(mut self, max_attempts: u32, base: Duration, max: Duration) -> Self {
        self.max_attempts = max_attempts.max(1);
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    /// Messages that may wait.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Messages sent at once.
    pub fn workers(&self) -> usize {
        self.workers
    }
}

/// What waits in the queue: a message to send, or a decoy's to drop at the head.
struct Job {
    message: Message,
    send: bool,
}

struct Shared<C> {
    channel: C,
    clock: Arc<dyn Clock>,
    events: Arc<dyn Events>,
    config: QueueConfig,
    /// Messages enqueued and not yet finished.
    pending: AtomicUsize,
    /// Woken whenever `pending` drops to zero.
    idle: Notify,
}

/// A channel in front of a channel: [`DeliveryChannel::deliver`] returns as soon
/// as the message is in a bounded queue, and workers send it through `C` with
/// retries.
///
/// * **Fast and uniform answers.** A request never waits for a provider, and a
///   recovery for an unknown identifier — whose decoy message goes through the
///   same queue and is dropped at the head ([`DeliveryChannel::absorb`]) —
///   takes the time a real one takes.
/// * **Bounded.** A full queue refuses at once with [`Error::Delivery`]; the send
///   still counts against the limits.
/// * **Retries**: a transient failure ([`DeliveryError::transient`], or any error
///   of another type) is retried with exponential backoff and jitter, never
///   sooner than a provider's `Retry-After`; a permanent one
///   ([`DeliveryError::permanent`]: a 4xx, a refused recipient) is not.
/// * **Deadlines**: a code message is dropped, not sent, once its code has
///   expired ([`Message::deadline`], read on the queue's clock).
/// * **Events** for each message: [`Event::DeliverySent`],
///   [`Event::DeliveryRetried`], [`Event::DeliveryDropped`],
///   [`Event::DeliveryFailed`].
/// * **Graceful shutdown**: [`Queued::shutdown`] stops taking messages and
///   drains the queue, for at most a given time.
///
/// Needs a Tokio runtime (feature `queue`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use seccode::{AccountId, Contact, Keyring, MemoryChallengeStore, Outbox, Purpose, QueueConfig, Queued, SecurityCodes, SendOptions};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build()?.block_on(async {
/// let outbox = Arc::new(Outbox::new()); // your SMTP or SMS channel
/// let queue = Arc::new(Queued::start(outbox.clone(), QueueConfig::default())?);
/// let codes = SecurityCodes::new(MemoryChallengeStore::new(), queue.clone(), Keyring::generate());
/// let to = Contact::email("ann@example.org")?;
/// codes.start(&AccountId::new("ann")?, Purpose::IdentityCheck, &to, SendOptions::default()).await?; // returns at once
/// assert_eq!(queue.shutdown(Duration::from_secs(5)).await, 0); // drained
/// assert!(outbox.last_code_to(&to).is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Queued<C> {
    intake: Mutex<Option<mpsc::Sender<Job>>>,
    shared: Arc<Shared<C>>,
    slots: Arc<Semaphore>,
    dispatcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl<C> Queued<C>
where
    C: DeliveryChannel + 'static,
{
    /// Starts the queue's workers on the current Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Delivery`] when called outside a Tokio runtime.
    pub fn start(channel: C, config: QueueConfig) -> Result<Self, Error> {
        Self::start_with(
            channel,
            config,
            SystemClock,
            crate::events::default_events(),
        )
    }

    /// As [`Queued::start`], reading deadlines from `clock` and reporting to
    /// `events`.
    ///
    /// # Errors
    ///
    /// [`Error::Delivery`] when called outside a Tokio runtime.
    pub fn start_with(
        channel: C,
        config: QueueConfig,
        clock: impl Clock + 'static,
        events: impl Events + 'static,
    ) -> Result<Self, Error> {
        let (clock, events): (Arc<dyn Clock>, Arc<dyn Events>) =
            (Arc::new(clock), Arc::new(events));
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::delivery("the delivery queue needs a Tokio runtime"))?;
        let (tx, mut rx) = mpsc::channel::<Job>(config.capacity);
        let shared = Arc::new(Shared {
            channel,
            clock,
            events,
            config,
            pending: AtomicUsize::new(0),
            idle: Notify::new(),
        });
        let slots = Arc::new(Semaphore::new(config.workers));
        let dispatcher = runtime.spawn({
            let (shared, slots) = (shared.clone(), slots.clone());
            async move {
                // A free worker first, then a job: a job is never held outside
                // the queue, so the queue's capacity is what it says.
                loop {
                    let Ok(slot) = slots.clone().acquire_owned().await else {
                        break;
                    };
                    let Some(job) = rx.recv().await else {
                        break;
                    };
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        shared.process(job).await;
                        if shared.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
                            shared.idle.notify_waiters();
                        }
                        drop(slot);
                    });
                }
            }
        });
        Ok(Self {
            intake: Mutex::new(Some(tx)),
            shared,
            slots,
            dispatcher: Mutex::new(Some(dispatcher)),
        })
    }

    fn enqueue(&self, message: &Message, send: bool) -> Result<(), BoxError> {
        let intake = self.intake.lock().unwrap_or_else(|p| p.into_inner());
        let Some(tx) = intake.as_ref() else {
            return Err(Box::new(DeliveryError::transient(
                "the delivery queue is shut down",
            )));
        };
        self.shared.pending.fetch_add(1, Ordering::SeqCst);
        tx.try_send(Job {
            message: message.clone(),
            send,
        })
        .map_err(|e| -> BoxError {
            self.shared.pending.fetch_sub(1, Ordering::SeqCst);
            Box::new(DeliveryError::transient(match e {
                mpsc::error::TrySendError::Full(_) => "the delivery queue is full",
                mpsc::error::TrySendError::Closed(_) => "the delivery queue is shut down",
            }))
        })
    }

    /// Messages waiting or being sent.
    pub fn pending(&self) -> usize {
        self.shared.pending.load(Ordering::SeqCst)
    }

    /// Waits until every message taken so far has been sent, dropped or has
    /// failed (useful in tests and examples; a service does not wait).
    pub async fn flushed(&self) {
        loop {
            let notified = self.shared.idle.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.pending() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Stops taking messages, then waits up to `drain_for` for the queue to
    /// empty and every message in flight to finish. Returns how many messages
    /// were still waiting or in flight when it gave up (0: drained).
    pub async fn shutdown(&self, drain_for: Duration) -> usize {
        // With the intake closed, the dispatcher ends once the queue is empty.
        drop(self.intake.lock().unwrap_or_else(|p| p.into_inner()).take());
        let dispatcher = self
            .dispatcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let workers = u32::try_from(self.shared.config.workers).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(drain_for, async {
            if let Some(d) = dispatcher {
                let _ = d.await;
            }
            // Every worker slot comes back when its message is done.
            let _all = self.slots.acquire_many(workers).await;
        })
        .await;
        match drained {
            Ok(()) => 0,
            Err(_) => self.pending(),
        }
    }
}

impl<C: DeliveryChannel> Shared<C> {
    async fn process(&self, job: Job) {
        let Job { message, send } = job;
        if !send {
            return;
        }
        let (purpose, destination) = (message.purpose(), message.to().masked());
        let expired = |now| message.deadline().is_some_and(|d| now >= d);
        let mut attempt = 0u32;
        loop {
            if expired(self.clock.now()) {
                self.events.emit(&Event::DeliveryDropped {
                    purpose,
                    destination,
                });
                return;
            }
            attempt += 1;
            let error = match self.channel.deliver(&message).await {
                Ok(()) => {
                    self.events.emit(&Event::DeliverySent {
                        purpose,
                        destination,
                        attempts: attempt,
                    });
                    return;
                }
                Err(e) => e,
            };
            let known = error.downcast_ref::<DeliveryError>();
            if known.is_some_and(DeliveryError::is_permanent) || attempt >= self.config.max_attempts
            {
                self.events.emit(&Event::DeliveryFailed {
                    purpose,
                    destination,
                    attempts: attempt,
                });
                return;
            }
            let wait = self.backoff(attempt).max(
                known
                    .and_then(DeliveryError::retry_after)
                    .unwrap_or_default(),
            );
            if expired(self.clock.now() + wait) {
                self.events.emit(&Event::DeliveryDropped {
                    purpose,
                    destination,
                });
                return;
            }
            self.events.emit(&Event::DeliveryRetried {
                purpose,
                destination: destination.clone(),
                attempt,
                after: wait,
            });
            tokio::time::sleep(wait).await;
        }
    }

    /// Full jitter: uniform below `base · 2^(attempt − 1)`, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .config
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(20))
            .min(self.config.max_delay);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }
}

impl<C> DeliveryChannel for Queued<C>
where
    C: DeliveryChannel + 'static,
{
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        self.enqueue(message, true)
    }

    async fn absorb(&self, message: &Message) -> Result<(), BoxError> {
        self.enqueue(message, false)
    }
}

impl<C> fmt::Debug for Queued<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queued")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}
