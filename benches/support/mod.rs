//! Shared by the benches.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// The memory store's futures are always ready: poll once, no runtime in the way.
pub fn ready<F: Future>(f: F) -> F::Output {
    match pin!(f)
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-memory future was not ready"),
    }
}
