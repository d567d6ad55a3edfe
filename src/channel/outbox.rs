use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::channel::{DeliveryChannel, Message};
use crate::code::Code;
use crate::contact::Contact;
use crate::error::BoxError;

/// A channel that keeps the messages it is given, for tests and development:
/// read back the last code sent to an address instead of waiting for an SMS.
///
/// It keeps the newest 1 000 messages. Share it with `Arc` between the service and
/// the code that reads it. Never use it in production: it holds codes in memory
/// for anyone with access to it.
///
/// # Examples
///
/// ```
/// use seccode::{Outbox, Contact};
///
/// let outbox = Outbox::new();
/// assert!(outbox.last_code_to(&Contact::email("ann@example.org")?).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Outbox {
    messages: Mutex<VecDeque<Message>>,
    failing: AtomicBool,
}

const KEEP: usize = 1000;

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self {
            messages: Mutex::new(VecDeque::new()),
            failing: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Message>> {
        self.messages.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// All kept messages, oldest first.
    pub fn messages(&self) -> Vec<Message> {
        self.lock().iter().cloned().collect()
    }

    /// Messages sent to `to` (compared by [`Contact::identity`]: any spelling of
    /// the same mailbox or number), oldest first.
    pub fn messages_to(&self, to: &Contact) -> Vec<Message> {
        self.lock()
            .iter()
            .filter(|m| m.to() == to)
            .cloned()
            .collect()
    }

    /// The newest message.
    pub fn last(&self) -> Option<Message> {
        self.lock().back().cloned()
    }

    /// The code in the newest code message sent to `to`, compared by identity.
    pub fn last_code_to(&self, to: &Contact) -> Option<Code> {
        self.lock()
            .iter()
            .rev()
            .filter(|m| m.to() == to)
            .find_map(|m| m.code_value().cloned())
    }

    /// How many messages are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets all messages.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Makes every delivery fail (and keep nothing) while `failing` is true, to
    /// test how an application handles a provider outage.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl DeliveryChannel for Outbox {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err("outbox is set to fail".into());
        }
        let mut messages = self.lock();
        if messages.len() == KEEP {
            messages.pop_front();
        }
        messages.push_back(message.clone());
        Ok(())
    }
}
