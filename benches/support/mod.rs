//! Shared by the benches.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// The memory store's futures are always ready: poll once, no runtime in the way.
#[allow(dead_code)] // not every bench uses it
pub fn ready<F: Future>(f: F) -> F::Output {
    match pin!(f)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-memory future was not ready"),
    }
}

/// The benches' service configuration: ten attempts per challenge (the most a
/// policy allows, so a wrong-code benchmark gets nine guesses per challenge) and
/// no destination cap (issuing thousands of codes is not rate limited).
#[allow(dead_code)] // not every bench uses it
pub fn config() -> seccode::Config {
    let policy = seccode::Policy::builder()
        .max_attempts(10)
        .build()
        .expect("a valid policy");
    // Benches issue millions of codes: no send budget may stop them.
    let hour = std::time::Duration::from_secs(3600);
    let limits = seccode::Limits::builder()
        .destination_sends(u32::MAX, hour)
        .send_caps(u32::MAX, u32::MAX, u32::MAX, hour)
        .recovery_sends(u32::MAX, u32::MAX)
        .build()
        .expect("valid limits");
    seccode::Config::default()
        .with_policy(seccode::Purpose::Recovery, policy)
        .with_limits(limits)
}

/// A code of the same length that differs in its first digit.
#[allow(dead_code)] // not every bench uses it
pub fn wrong(code: &str) -> String {
    let first = if code.starts_with('0') { '1' } else { '0' };
    format!("{first}{}", &code[1..])
}

/// A channel that keeps the last code instead of sending it.
#[allow(dead_code)] // not every bench uses it
#[derive(Default)]
pub struct Capture(pub std::sync::Mutex<Option<String>>);

impl seccode::channel::DeliveryChannel for Capture {
    async fn deliver(
        &self,
        message: &seccode::channel::Message,
    ) -> Result<(), seccode::channel::BoxError> {
        let code = message.code_value().map(|c| c.expose().to_owned());
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = code;
        Ok(())
    }
}
