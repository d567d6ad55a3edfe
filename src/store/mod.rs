//! The storage port: [`ChallengeStore`], and the in-memory implementation.
//!
//! # Contract
//!
//! Logic lives in the pure core; a store is dumb and atomic. Its one real
//! primitive is an **atomic read-modify-write of one record with a pure closure**
//! ([`ChallengeStore::update`], [`ChallengeStore::update_counter`]): no other
//! update of the same record may interleave between the read and the write, also
//! across threads and processes sharing the store. Memory does it under a shard
//! lock, SQLite in one `BEGIN IMMEDIATE` transaction, Redis in a version-checked
//! script.
//!
//! The closures are pure, cheap and may be called more than once (a store that
//! retries on a write conflict calls them again on the fresh record); only the
//! result of the call whose write committed may be returned.
//!
//! **Failure direction.** If a store cannot tell whether a write committed (a
//! timeout, a lost connection), it must return an error, never a success: the
//! service then reports a store failure, and the attempt stays counted — the safe
//! direction. A store must never lose a committed increment or return a record
//! older than one it already returned.
//!
//! Records expire: a challenge may be forgotten after
//! [`Challenge::retain_until`], a counter after [`Counter::expires_at`], and
//! an empty counter at once, so stores do not grow without bound.

use std::future::Future;

use crate::challenge::{Challenge, ChallengeId};
use crate::clock::Timestamp;
use crate::counter::{Counter, CounterKey};
use crate::error::Error;

pub mod memory;

/// Where challenges and counters live. See the [module docs](self) for the
/// contract every implementation keeps.
///
/// Implementors write `async fn`; the service is generic over the store, so calls
/// are not boxed.
pub trait ChallengeStore: Send + Sync {
    /// Stores a new challenge.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails, is full, or already holds the id (a
    /// store must never overwrite a challenge).
    fn insert(
        &self,
        challenge: Challenge,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Reads a challenge: a snapshot, for display only — never decide on it.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails.
    fn get(
        &self,
        id: &ChallengeId,
    ) -> impl Future<Output = Result<Option<Challenge>, Error>> + Send;

    /// Atomically applies `f` to the challenge and stores the result; `None` if
    /// there is no such challenge.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails or cannot tell whether the write committed.
    fn update<R, F>(
        &self,
        id: &ChallengeId,
        f: F,
    ) -> impl Future<Output = Result<Option<R>, Error>> + Send
    where
        F: FnMut(&mut Challenge) -> R + Send,
        R: Send;

    /// Atomically applies `f` to a counter (an empty one if absent) and stores the
    /// result; an empty result may be deleted.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails or cannot tell whether the write committed.
    fn update_counter<R, F>(
        &self,
        key: &CounterKey,
        f: F,
    ) -> impl Future<Output = Result<R, Error>> + Send
    where
        F: FnMut(&mut Counter) -> R + Send,
        R: Send;

    /// Reads a counter snapshot, for display or a cheap pre-check.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails.
    fn get_counter(
        &self,
        key: &CounterKey,
    ) -> impl Future<Output = Result<Option<Counter>, Error>> + Send;

    /// Forgets records past their retention; returns how many. Stores that expire
    /// records by themselves may return 0.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store fails.
    fn sweep(&self, now: Timestamp) -> impl Future<Output = Result<usize, Error>> + Send;
}

/// A shared store: several services (e.g. one per keyring during a rotation) can
/// use one store.
impl<T: ChallengeStore> ChallengeStore for std::sync::Arc<T> {
    fn insert(
        &self,
        challenge: Challenge,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        (**self).insert(challenge, now)
    }

    fn get(
        &self,
        id: &ChallengeId,
    ) -> impl Future<Output = Result<Option<Challenge>, Error>> + Send {
        (**self).get(id)
    }

    fn update<R, F>(
        &self,
        id: &ChallengeId,
        f: F,
    ) -> impl Future<Output = Result<Option<R>, Error>> + Send
    where
        F: FnMut(&mut Challenge) -> R + Send,
        R: Send,
    {
        (**self).update(id, f)
    }

    fn update_counter<R, F>(
        &self,
        key: &CounterKey,
        f: F,
    ) -> impl Future<Output = Result<R, Error>> + Send
    where
        F: FnMut(&mut Counter) -> R + Send,
        R: Send,
    {
        (**self).update_counter(key, f)
    }

    fn get_counter(
        &self,
        key: &CounterKey,
    ) -> impl Future<Output = Result<Option<Counter>, Error>> + Send {
        (**self).get_counter(key)
    }

    fn sweep(&self, now: Timestamp) -> impl Future<Output = Result<usize, Error>> + Send {
        (**self).sweep(now)
    }
}
