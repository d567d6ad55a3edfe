//! Where codes' records live: the SQLite file (default, one server),
//! PostgreSQL (with the server's tables), or Redis (challenges and counters
//! shared by several servers).

use std::sync::Arc;
use std::time::Duration;

use seccode::PostgresStore;

use seccode::{
    Attempt, Challenge, ChallengeId, ChallengeStore, CountedGuess, Counter, CounterKey, Error,
    GuessRule, RedisStore, SendBudget, SqliteStore, Timestamp, Verification,
};

/// The configured challenge store.
#[derive(Clone, Debug)]
pub enum Store {
    /// The server's SQLite file.
    Sqlite(Arc<SqliteStore>),
    /// Redis.
    Redis(Box<RedisStore>),
    /// PostgreSQL.
    Postgres(Box<PostgresStore>),
}

/// Calls the same method on whichever store is configured.
macro_rules! each {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite(inner) => {
                let $store: &SqliteStore = inner;
                $call
            }
            Store::Redis(inner) => {
                let $store: &RedisStore = inner;
                $call
            }
            Store::Postgres(inner) => {
                let $store: &PostgresStore = inner;
                $call
            }
        }
    };
}

impl ChallengeStore for Store {
    async fn insert(&self, challenge: Challenge, now: Timestamp) -> Result<(), Error> {
        each!(self, s => s.insert(challenge, now).await)
    }

    async fn get(&self, id: &ChallengeId) -> Result<Option<Challenge>, Error> {
        each!(self, s => ChallengeStore::get(s, id).await)
    }

    async fn update<R, F>(&self, id: &ChallengeId, f: F) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Challenge) -> R + Send + 'static,
        R: Send + 'static,
    {
        each!(self, s => ChallengeStore::update(s, id, f).await)
    }

    async fn update_counter<R, F>(&self, key: &CounterKey, now: Timestamp, f: F) -> Result<R, Error>
    where
        F: FnMut(&mut Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        each!(self, s => s.update_counter(key, now, f).await)
    }

    async fn get_counter(&self, key: &CounterKey) -> Result<Option<Counter>, Error> {
        each!(self, s => s.get_counter(key).await)
    }

    async fn sweep(&self, now: Timestamp) -> Result<usize, Error> {
        each!(self, s => s.sweep(now).await)
    }

    async fn update_and_count<V, E, R, F, G>(
        &self,
        id: &ChallengeId,
        now: Timestamp,
        f: F,
        g: G,
    ) -> Result<seccode::store::Counted<V, R, E>, Error>
    where
        F: FnMut(&mut Challenge) -> Result<(V, CounterKey), E> + Send + 'static,
        G: FnMut(&mut Counter) -> R + Send + 'static,
        V: Send + 'static,
        E: Send + 'static,
        R: Send + 'static,
    {
        each!(self, s => s.update_and_count(id, now, f, g).await)
    }

    async fn count_sends(
        &self,
        budgets: Vec<SendBudget>,
        now: Timestamp,
    ) -> Result<Result<(), (usize, Duration)>, Error> {
        each!(self, s => s.count_sends(budgets, now).await)
    }

    fn has_update_pair(&self) -> bool {
        each!(self, s => s.has_update_pair())
    }

    async fn update_pair<R, F>(
        &self,
        id: &ChallengeId,
        now: Timestamp,
        f: F,
    ) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Challenge, &mut Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        each!(self, s => s.update_pair(id, now, f).await)
    }

    async fn count_guess(
        &self,
        id: &ChallengeId,
        rule: GuessRule,
        now: Timestamp,
    ) -> Result<CountedGuess, Error> {
        each!(self, s => s.count_guess(id, rule, now).await)
    }

    async fn approve_guess(
        &self,
        id: &ChallengeId,
        attempt: Attempt,
        now: Timestamp,
    ) -> Result<Option<Verification>, Error> {
        each!(self, s => s.approve_guess(id, attempt, now).await)
    }

    fn placement(&self, key: &CounterKey) -> Option<u16> {
        each!(self, s => s.placement(key))
    }
}
