//! Where codes' records live: the SQLite file (default, one server),
//! PostgreSQL (with the server's tables), or Redis (challenges and counters
//! shared by several servers).

use std::sync::Arc;

use seccode::PostgresStore;

use crate::health::Health;
use seccode::store::{Challenge, ChallengeStore, Counter, CounterKey, Guess, SendBudget, Sends};
use seccode::{ChallengeId, Error, RedisStore, SqliteStore, Timestamp, Verification};

/// Which store holds the codes' records.
#[derive(Clone, Debug)]
pub enum Backend {
    /// The server's SQLite file.
    Sqlite(Arc<SqliteStore>),
    /// Redis.
    Redis(Box<RedisStore>),
    /// PostgreSQL.
    Postgres(Box<PostgresStore>),
}

impl Backend {
    /// Its name in logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Redis(_) => "redis",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// The configured challenge store, reporting every call's outcome to the
/// server's [`Health`] (a store's loss and return are logged once each).
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    health: Arc<Health>,
}

impl Store {
    /// `backend`, reporting to `health`.
    pub fn new(backend: Backend, health: Arc<Health>) -> Self {
        Self { backend, health }
    }

    /// The backend.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }
}

/// Calls the same method on whichever store is configured.
macro_rules! each {
    ($self:ident, $store:ident => $call:expr) => {
        match &$self.backend {
            Backend::Sqlite(inner) => {
                let $store: &SqliteStore = inner;
                $call
            }
            Backend::Redis(inner) => {
                let $store: &RedisStore = inner;
                $call
            }
            Backend::Postgres(inner) => {
                let $store: &PostgresStore = inner;
                $call
            }
        }
    };
}

/// As [`each!`], noting the outcome in the server's health.
macro_rules! observed {
    ($self:ident, $store:ident => $call:expr) => {{
        let outcome = each!($self, $store => $call);
        $self.health.observe($self.backend.name(), &outcome);
        outcome
    }};
}

impl ChallengeStore for Store {
    async fn insert(&self, challenge: Challenge, now: Timestamp) -> Result<(), Error> {
        observed!(self, s => s.insert(challenge, now).await)
    }

    async fn get(&self, id: &ChallengeId) -> Result<Option<Challenge>, Error> {
        observed!(self, s => ChallengeStore::get(s, id).await)
    }

    async fn update<R, F>(&self, id: &ChallengeId, f: F) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Challenge) -> R + Send + 'static,
        R: Send + 'static,
    {
        observed!(self, s => ChallengeStore::update(s, id, f).await)
    }

    async fn update_counter<R, F>(&self, key: &CounterKey, now: Timestamp, f: F) -> Result<R, Error>
    where
        F: FnMut(&mut Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        observed!(self, s => s.update_counter(key, now, f).await)
    }

    async fn get_counter(&self, key: &CounterKey) -> Result<Option<Counter>, Error> {
        observed!(self, s => s.get_counter(key).await)
    }

    async fn sweep(&self, now: Timestamp) -> Result<usize, Error> {
        observed!(self, s => s.sweep(now).await)
    }

    async fn update_with_counter<R, F>(
        &self,
        id: &ChallengeId,
        now: Timestamp,
        f: F,
    ) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Challenge, &mut Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        observed!(self, s => s.update_with_counter(id, now, f).await)
    }

    async fn guess(
        &self,
        id: &ChallengeId,
        guess: Guess,
        now: Timestamp,
    ) -> Result<Verification, Error> {
        observed!(self, s => s.guess(id, guess, now).await)
    }

    async fn count_sends(&self, budgets: Vec<SendBudget>, now: Timestamp) -> Result<Sends, Error> {
        observed!(self, s => s.count_sends(budgets, now).await)
    }

    fn placement(&self, key: &CounterKey) -> Option<u16> {
        each!(self, s => s.placement(key))
    }
}
