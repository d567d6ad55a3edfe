//! [`PostgresStore`]: challenges, counters and accounts in PostgreSQL, shared by
//! every app server that connects to the same database.

use std::fmt;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::{NoTls, Row};

/// The crates the store is built on, for building a pool of your own (e.g.
/// with a TLS connector) for [`PostgresStore::from_pool`].
pub use {deadpool_postgres, tokio_postgres};

use crate::account::Account;
use crate::challenge::{AccountId, Challenge, ChallengeId};
use crate::clock::Timestamp;
use crate::contact::Contact;
use crate::counter::{Counter, CounterKey};
use crate::error::Error;
use crate::store::cipher::{ContactCodec, DataKeys};
use crate::store::record::{
    decode_account, decode_challenge, decode_counter, encode_account, encode_challenge,
    encode_counter,
};
use crate::store::{
    AccountStore, ChallengeStore, Opened, Refusal, SendBudget, Sends, count_in_order,
};

/// The schema this crate writes, one entry per version: `MIGRATIONS[n]` takes a
/// database from version `n` to `n + 1`. Never edit a released entry; append.
const MIGRATIONS: [&str; 1] = ["
CREATE TABLE seccode_challenges (
    id bytea PRIMARY KEY,
    data bytea NOT NULL,
    failure_key text NOT NULL,
    retain_until bigint NOT NULL
);
CREATE INDEX seccode_challenges_retain_until ON seccode_challenges (retain_until);
CREATE TABLE seccode_counters (
    key text PRIMARY KEY,
    data bytea NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX seccode_counters_expires_at ON seccode_counters (expires_at);
CREATE TABLE seccode_accounts (
    id text PRIMARY KEY,
    data bytea NOT NULL
);
CREATE TABLE seccode_verified_contacts (
    lookup text PRIMARY KEY,
    account text NOT NULL REFERENCES seccode_accounts (id) ON DELETE CASCADE
);
CREATE INDEX seccode_verified_contacts_account ON seccode_verified_contacts (account);
"];

/// The advisory lock that serialises migrations of one database (any constant
/// of our own: "seccode" in ASCII).
const MIGRATION_LOCK: i64 = 0x0073_6563_636f_6465;

/// Each insert also deletes at most this many expired challenges, so that a
/// store nobody sweeps still does not grow without bound.
const SWEEP_ON_INSERT: i64 = 16;

/// Locks (creating an empty placeholder if needed) and reads the failure
/// counter of a challenge, keyed by the challenge's own `failure_key` column:
/// the row lock on the counter is taken in the same statement.
const LOCK_FAILURE_COUNTER: &str = "INSERT INTO seccode_counters (key, data, expires_at) \
     SELECT failure_key, '', 0 FROM seccode_challenges WHERE id = $1 \
     ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key RETURNING key, data";

const WRITE_CHALLENGE: &str = "UPDATE seccode_challenges SET data = $2 WHERE id = $1";
const WRITE_COUNTER: &str = "UPDATE seccode_counters SET data = $2, expires_at = $3 WHERE key = $1";
const DELETE_COUNTER: &str = "DELETE FROM seccode_counters WHERE key = $1";

/// Locks (creating an empty placeholder if needed) and reads one counter.
const LOCK_COUNTER: &str = "INSERT INTO seccode_counters (key, data, expires_at) \
     VALUES ($1, '', 0) ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key RETURNING data";

/// Locks (creating empty placeholders where needed) and reads several
/// counters, in the order given (so that two starts sharing budgets lock them
/// in the same order).
const LOCK_COUNTERS: &str = "INSERT INTO seccode_counters (key, data, expires_at) \
     SELECT key, '', 0 FROM unnest($1::text[]) WITH ORDINALITY AS t(key, n) ORDER BY n \
     ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key RETURNING key, data";

/// Writes several counters locked by [`LOCK_COUNTERS`]: an upsert finds each
/// row by its key's index (a join of the table with the arrays could be
/// planned as a scan of the table).
const WRITE_COUNTERS: &str = "INSERT INTO seccode_counters (key, data, expires_at) \
     SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[]) \
     ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, expires_at = EXCLUDED.expires_at";

/// Deletes several counters (left empty).
const DELETE_COUNTERS: &str = "DELETE FROM seccode_counters WHERE key = ANY($1)";

/// Forgets a few challenges whose retention has passed (run by inserts).
const SWEEP_SOME: &str = "DELETE FROM seccode_challenges WHERE id IN (SELECT id FROM \
     seccode_challenges WHERE retain_until <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)";

/// Stores a new challenge; an id already stored fails the statement (and so
/// the transaction it is in).
const INSERT_CHALLENGE: &str = "INSERT INTO seccode_challenges (id, data, failure_key, \
     retain_until) VALUES ($1, $2, $3, $4)";

/// Challenges, counters and accounts in PostgreSQL.
///
/// * **Why `tokio-postgres` and a `deadpool` pool** rather than `sqlx`: the store
///   needs a handful of fixed statements, row locks and pipelining, not a query
///   builder or compile-time checked queries; the two crates are a fraction of
///   `sqlx`'s build, and a pool built by the application (with its own TLS
///   connector) plugs in through [`PostgresStore::from_pool`].
/// * **One transaction per step, with row locks**: every read-modify-write
///   reads its rows `FOR UPDATE` (a counter that does not exist yet is created
///   empty by an `INSERT … ON CONFLICT DO UPDATE … RETURNING`, which locks it in
///   the same statement), applies the pure closure, writes, and commits — so
///   two servers never interleave on a record, and a contended counter waits
///   for its lock instead of failing. A guess counts, compares and approves in
///   one transaction ([`ChallengeStore::update_with_counter`]), its reads and its writes
///   each sent as one pipelined batch.
/// * **Versioned schema**: the migrations run on connect, under an advisory
///   lock so several servers starting at once migrate once, and are recorded in
///   `seccode_schema`; a database written by a newer crate is refused.
/// * **Expiring**: [`ChallengeStore::sweep`] deletes records past their
///   retention through indexes on their deadlines; each insert also deletes up
///   to 16 expired challenges.
/// * **Contacts encrypted at rest** with [`PostgresStore::with_encryption`]:
///   challenge destinations, security info and hold originals are sealed; the
///   ownership index holds keyed hashes.
/// * **A miss costs what a hit costs** for accounts and verified contacts, as
///   on SQLite: the lookup returns the nearest row either way and a stand-in is
///   decoded and thrown away (account recovery must not tell unknown
///   identifiers by time).
///
/// Requires the `postgres` feature and a Tokio runtime.
///
/// # Examples
///
/// Several app servers share one database — and must share the keys too (the
/// README's "Several servers"): load them from the environment in every
/// process.
///
/// ```no_run
/// use seccode::{DataKeys, Keyring, Outbox, PostgresStore, SecurityCodes};
///
/// # async fn run() -> Result<(), seccode::Error> {
/// // SECCODE_CODE_KEY, SECCODE_RECOVERY_SECRET, SECCODE_DATA_KEY, SECCODE_INDEX_KEY
/// let store = PostgresStore::connect("postgres://seccode@127.0.0.1/seccode")
///     .await?
///     .with_encryption(DataKeys::from_env()?);
/// let codes = SecurityCodes::new(store, Outbox::new(), Keyring::from_env()?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    codec: ContactCodec,
}

/// A PostgreSQL, pool or connection error as a
/// [`StoreFailure`](crate::StoreFailure): the kind of fault and the error's
/// class or SQLSTATE code, never its text (which may quote a value).
fn db(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::store(classify(&e))
}

/// Classifies an error of this crate's PostgreSQL stack (`deadpool_postgres`,
/// `tokio_postgres`, the socket) as the store does: for an application that
/// shares the pool and wants the same answers (unavailable or not) and the
/// same log lines (no error text, which may quote a value).
pub fn classify(e: &(dyn std::error::Error + 'static)) -> crate::error::StoreFailure {
    use crate::error::{StoreFailure, StoreFault};
    let failure = |fault, detail: &str| StoreFailure::new("postgres", fault, detail);
    if let Some(pool) = e.downcast_ref::<deadpool_postgres::PoolError>() {
        return match pool {
            deadpool_postgres::PoolError::Timeout(deadpool_postgres::TimeoutType::Wait) => {
                failure(StoreFault::PoolExhausted, "no pooled connection came free")
            }
            deadpool_postgres::PoolError::Timeout(_) => {
                failure(StoreFault::TimedOut, "connecting timed out")
            }
            deadpool_postgres::PoolError::Backend(inner) => classify(inner),
            _ => failure(StoreFault::Unreachable, "pool closed or not configured"),
        };
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::TimedOut => failure(StoreFault::TimedOut, "timed out"),
                kind => failure(StoreFault::Unreachable, &format!("{kind:?}")),
            };
        }
        if let Some(pg) = c.downcast_ref::<tokio_postgres::Error>() {
            if let Some(code) = pg.code() {
                let code = code.code();
                // Class 08: connection exceptions; class 57: the server is
                // shutting down or starting up (57P01–57P03); 53300: too many
                // connections. The store is out of reach, not refusing.
                let fault = if code.starts_with("08") || code.starts_with("57") || code == "53300" {
                    StoreFault::Unreachable
                } else {
                    StoreFault::Other
                };
                return failure(fault, &format!("SQLSTATE {code}"));
            }
            if pg.is_closed() {
                return failure(StoreFault::Unreachable, "connection closed");
            }
        }
        cause = c.source();
    }
    failure(StoreFault::Other, "client error")
}

fn ms(t: Timestamp) -> i64 {
    i64::try_from(t.as_unix_millis()).unwrap_or(i64::MAX)
}

impl PostgresStore {
    /// Connections in the pool [`PostgresStore::connect`] builds.
    pub const POOL_SIZE: usize = 16;

    /// How long a request waits for a free connection of that pool before it
    /// fails.
    pub const POOL_WAIT: Duration = Duration::from_secs(30);

    /// How long opening a new connection may take. A PostgreSQL that is down
    /// refuses at once; one that hangs is given up on after this, so requests
    /// fail fast with a [`StoreFailure`](crate::StoreFailure) (`unreachable`
    /// or `timed out`) instead of waiting out [`PostgresStore::POOL_WAIT`].
    pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

    /// Connects to `url` (`postgres://user:password@host:port/database`, or the
    /// key-value form) without TLS — for a database on the same host or a
    /// private network — with a pool of up to [`PostgresStore::POOL_SIZE`]
    /// connections, and migrates the schema. For TLS, build a pool with your
    /// connector and use [`PostgresStore::from_pool`].
    ///
    /// # Under bursts
    ///
    /// A request that finds every connection busy **waits** for one, up to
    /// [`PostgresStore::POOL_WAIT`]; only then does it fail, with an
    /// [`Error::Store`] that says the pool was exhausted. Sends to one
    /// destination serialise on its counters' rows (each holds a row lock for
    /// one short transaction), so a burst of N starts to one destination needs
    /// roughly N × one transaction of wall time: 400 at once over four stores
    /// all succeed here (tests/bursts.rs). If yours are longer, give
    /// [`PostgresStore::from_pool`] a pool with a longer wait or more
    /// connections (and PostgreSQL's `max_connections` room for them).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the URL is invalid, the database cannot be reached,
    /// or its schema is newer than this crate's.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let config: tokio_postgres::Config = url.parse().map_err(db)?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(Self::POOL_SIZE)
            .wait_timeout(Some(Self::POOL_WAIT))
            .create_timeout(Some(Self::CONNECT_TIMEOUT))
            .recycle_timeout(Some(Self::CONNECT_TIMEOUT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(db)?;
        Self::from_pool(pool).await
    }

    /// Uses a pool the application built (e.g. with a rustls connector), and
    /// migrates the schema.
    ///
    /// # Errors
    ///
    /// As [`PostgresStore::connect`].
    pub async fn from_pool(pool: Pool) -> Result<Self, Error> {
        let store = Self {
            pool,
            codec: ContactCodec::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The same store with every contact encrypted at rest under `keys` (see
    /// [`DataKeys`]); contacts written in the clear before still read.
    #[must_use]
    pub fn with_encryption(mut self, keys: DataKeys) -> Self {
        self.codec = ContactCodec::encrypted(keys);
        self
    }

    /// The schema version of the connected database.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the database cannot be read.
    pub async fn schema_version(&self) -> Result<usize, Error> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT max(version) FROM seccode_schema", &[])
            .await
            .map_err(db)?;
        let version: Option<i32> = row.get(0);
        Ok(usize::try_from(version.unwrap_or(0)).unwrap_or(0))
    }

    async fn client(&self) -> Result<Object, Error> {
        self.pool.get().await.map_err(db)
    }

    async fn begin(&self) -> Result<Tx, Error> {
        let tx = Tx::on(self.client().await?);
        tx.conn()?.batch_execute("BEGIN").await.map_err(db)?;
        Ok(tx)
    }

    async fn migrate(&self) -> Result<(), Error> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(db)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS seccode_schema (version integer NOT NULL)")
            .await
            .map_err(db)?;
        let row = tx
            .query_one("SELECT max(version) FROM seccode_schema", &[])
            .await
            .map_err(db)?;
        let current = usize::try_from(row.get::<_, Option<i32>>(0).unwrap_or(0)).unwrap_or(0);
        if current > MIGRATIONS.len() {
            return Err(Error::store(format!(
                "database schema version {current} is newer than this crate's ({})",
                MIGRATIONS.len()
            )));
        }
        for (from, sql) in MIGRATIONS.iter().enumerate().skip(current) {
            tx.batch_execute(sql).await.map_err(db)?;
            let to = i32::try_from(from + 1).unwrap_or(i32::MAX);
            tx.execute("INSERT INTO seccode_schema (version) VALUES ($1)", &[&to])
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    fn challenge(&self, data: &[u8]) -> Result<Challenge, Error> {
        decode_challenge(data, &self.codec)
    }
}

fn counter(data: &[u8]) -> Result<Counter, Error> {
    if data.is_empty() {
        Ok(Counter::default())
    } else {
        decode_counter(data)
    }
}

/// One transaction on a pooled connection, begun and ended by plain `BEGIN`
/// and `COMMIT`, so that they can be pipelined with the statements around
/// them. Dropped before it ends — an error, a cancelled future — it takes its
/// connection out of the pool: closing the connection rolls the transaction
/// back, and no later caller can inherit it half done.
struct Tx {
    client: Option<Object>,
}

impl Tx {
    /// A transaction whose `BEGIN` the caller sends (pipelined with its first
    /// statements).
    fn on(client: Object) -> Self {
        Self {
            client: Some(client),
        }
    }

    fn conn(&self) -> Result<&Object, Error> {
        self.client
            .as_ref()
            .ok_or_else(|| Error::store("the transaction has ended"))
    }

    /// The transaction has ended on the server: the connection goes back to
    /// the pool.
    fn ended(&mut self) {
        drop(self.client.take());
    }

    async fn commit(mut self) -> Result<(), Error> {
        self.conn()?.batch_execute("COMMIT").await.map_err(db)?;
        self.ended();
        Ok(())
    }

    /// Ends the transaction without writing (a refusal, nothing to change).
    async fn rollback(mut self) -> Result<(), Error> {
        self.conn()?.batch_execute("ROLLBACK").await.map_err(db)?;
        self.ended();
        Ok(())
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(Object::take(client));
        }
    }
}

/// Writes a counter back inside the caller's transaction: deleted when empty.
async fn write_counter(tx: &Object, key: &str, counter: &Counter) -> Result<(), Error> {
    if counter.is_empty() {
        let stmt = tx.prepare_cached(DELETE_COUNTER).await.map_err(db)?;
        tx.execute(&stmt, &[&key]).await.map_err(db)?;
    } else {
        let stmt = tx.prepare_cached(WRITE_COUNTER).await.map_err(db)?;
        tx.execute(
            &stmt,
            &[&key, &encode_counter(counter), &ms(counter.expires_at)],
        )
        .await
        .map_err(db)?;
    }
    Ok(())
}

async fn write_challenge(
    tx: &Object,
    codec: &ContactCodec,
    challenge: &Challenge,
) -> Result<(), Error> {
    let stmt = tx.prepare_cached(WRITE_CHALLENGE).await.map_err(db)?;
    tx.execute(
        &stmt,
        &[
            &&challenge.id().as_bytes()[..],
            &encode_challenge(challenge, codec),
        ],
    )
    .await
    .map_err(db)?;
    Ok(())
}

async fn lock_challenge(tx: &Object, id: &ChallengeId) -> Result<Option<Row>, Error> {
    let stmt = tx
        .prepare_cached("SELECT data FROM seccode_challenges WHERE id = $1 FOR UPDATE")
        .await
        .map_err(db)?;
    tx.query_opt(&stmt, &[&&id.as_bytes()[..]])
        .await
        .map_err(db)
}

async fn lock_counter(tx: &Object, key: &str) -> Result<Counter, Error> {
    let stmt = tx.prepare_cached(LOCK_COUNTER).await.map_err(db)?;
    let row = tx.query_one(&stmt, &[&key]).await.map_err(db)?;
    counter(row.get::<_, &[u8]>(0))
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PostgresStore")
            .field("connections", &status.size)
            .field("max_connections", &status.max_size)
            .finish_non_exhaustive()
    }
}

impl ChallengeStore for PostgresStore {
    async fn insert(&self, challenge: Challenge, now: Timestamp) -> Result<(), Error> {
        let client = self.client().await?;
        let sweep = client.prepare_cached(SWEEP_SOME).await.map_err(db)?;
        client
            .execute(&sweep, &[&ms(now), &SWEEP_ON_INSERT])
            .await
            .map_err(db)?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO seccode_challenges (id, data, failure_key, retain_until) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
            )
            .await
            .map_err(db)?;
        let inserted = client
            .execute(
                &stmt,
                &[
                    &&challenge.id().as_bytes()[..],
                    &encode_challenge(&challenge, &self.codec),
                    &challenge.failure_key().storage_key(),
                    &ms(challenge.retain_until()),
                ],
            )
            .await
            .map_err(db)?;
        if inserted == 1 {
            Ok(())
        } else {
            Err(Error::store("challenge id already stored"))
        }
    }

    async fn get(&self, id: &ChallengeId) -> Result<Option<Challenge>, Error> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT data FROM seccode_challenges WHERE id = $1")
            .await
            .map_err(db)?;
        let row = client
            .query_opt(&stmt, &[&&id.as_bytes()[..]])
            .await
            .map_err(db)?;
        row.map(|r| self.challenge(r.get::<_, &[u8]>(0)))
            .transpose()
    }

    async fn update<R, F>(&self, id: &ChallengeId, mut f: F) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Challenge) -> R + Send + 'static,
        R: Send + 'static,
    {
        let tx = self.begin().await?;
        let Some(row) = lock_challenge(tx.conn()?, id).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        let mut challenge = self.challenge(row.get::<_, &[u8]>(0))?;
        let before = challenge.clone();
        let out = f(&mut challenge);
        if challenge == before {
            tx.rollback().await?;
        } else {
            write_challenge(tx.conn()?, &self.codec, &challenge).await?;
            tx.commit().await?;
        }
        Ok(Some(out))
    }

    async fn update_counter<R, F>(
        &self,
        key: &CounterKey,
        _now: Timestamp,
        mut f: F,
    ) -> Result<R, Error>
    where
        F: FnMut(&mut Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        let key = key.storage_key();
        let tx = self.begin().await?;
        let mut c = lock_counter(tx.conn()?, &key).await?;
        let out = f(&mut c);
        write_counter(tx.conn()?, &key, &c).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn get_counter(&self, key: &CounterKey) -> Result<Option<Counter>, Error> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT data FROM seccode_counters WHERE key = $1")
            .await
            .map_err(db)?;
        let row = client
            .query_opt(&stmt, &[&key.storage_key()])
            .await
            .map_err(db)?;
        Ok(row
            .map(|r| counter(r.get::<_, &[u8]>(0)))
            .transpose()?
            .filter(|c| !c.is_empty()))
    }

    async fn sweep(&self, now: Timestamp) -> Result<usize, Error> {
        let client = self.client().await?;
        let challenges = client
            .execute(
                "DELETE FROM seccode_challenges WHERE retain_until <= $1",
                &[&ms(now)],
            )
            .await
            .map_err(db)?;
        let counters = client
            .execute(
                "DELETE FROM seccode_counters WHERE expires_at <= $1",
                &[&ms(now)],
            )
            .await
            .map_err(db)?;
        Ok(usize::try_from(challenges + counters).unwrap_or(usize::MAX))
    }

    /// One transaction in two pipelined round trips: `BEGIN`, every budget's
    /// counter locked and read in one statement, the failure counter read;
    /// then the counters written, the challenge inserted and `COMMIT`. A
    /// refusal rolls back instead.
    async fn open(
        &self,
        challenge: Challenge,
        budgets: Vec<SendBudget>,
        now: Timestamp,
    ) -> Result<Opened, Error> {
        let mut tx = Tx::on(self.client().await?);
        let conn = tx.conn()?;
        let (lock, read, write, forget, sweep, insert) = tokio::join!(
            conn.prepare_cached(LOCK_COUNTERS),
            conn.prepare_cached("SELECT data FROM seccode_counters WHERE key = $1"),
            conn.prepare_cached(WRITE_COUNTERS),
            conn.prepare_cached(DELETE_COUNTERS),
            conn.prepare_cached(SWEEP_SOME),
            conn.prepare_cached(INSERT_CHALLENGE),
        );
        let (lock, read, write) = (lock.map_err(db)?, read.map_err(db)?, write.map_err(db)?);
        let (forget, sweep, insert) =
            (forget.map_err(db)?, sweep.map_err(db)?, insert.map_err(db)?);
        let keys: Vec<String> = budgets.iter().map(|b| b.key.storage_key()).collect();
        let failure_key = challenge.failure_key().storage_key();
        // One round trip, sent in this order: BEGIN, the budgets' locks, the
        // failure counter.
        let (begun, locked, failures) = tokio::join!(
            conn.batch_execute("BEGIN"),
            async { conn.query(&lock, &[&keys]).await },
            async { conn.query_opt(&read, &[&failure_key]).await },
        );
        begun.map_err(db)?;
        let (locked, failures) = (locked.map_err(db)?, failures.map_err(db)?);
        let blocked = failures
            .map(|r| counter(r.get::<_, &[u8]>(0)))
            .transpose()?
            .and_then(|c| c.blocked_for(now));
        if let Some(wait) = blocked {
            tx.rollback().await?;
            return Ok(Err(Refusal::Locked(wait)));
        }
        let (mut kept, mut data, mut expires, mut emptied) = (vec![], vec![], vec![], vec![]);
        for (index, (b, key)) in budgets.iter().zip(keys).enumerate() {
            let row = locked
                .iter()
                .find(|r| r.get::<_, &str>(0) == key)
                .ok_or_else(|| Error::store("a budget's counter was not locked"))?;
            let mut c = counter(row.get::<_, &[u8]>(1))?;
            if let Err(retry_after) = b.apply(&mut c, now) {
                tx.rollback().await?;
                return Ok(Err(Refusal::Budget { index, retry_after }));
            }
            if c.is_empty() {
                emptied.push(key);
            } else {
                data.push(encode_counter(&c));
                expires.push(ms(c.expires_at));
                kept.push(key);
            }
        }
        let id = &challenge.id().as_bytes()[..];
        let record = encode_challenge(&challenge, &self.codec);
        // One more round trip: the counters, a few expired challenges
        // forgotten, the new one, COMMIT. Should a statement fail (an id
        // already stored), the server turns the COMMIT into a rollback.
        let (wrote, forgot, swept, inserted, committed) = tokio::join!(
            async { conn.execute(&write, &[&kept, &data, &expires]).await },
            async { conn.execute(&forget, &[&emptied]).await },
            async { conn.execute(&sweep, &[&ms(now), &SWEEP_ON_INSERT]).await },
            async {
                let retain = ms(challenge.retain_until());
                conn.execute(&insert, &[&id, &record, &failure_key, &retain])
                    .await
            },
            conn.batch_execute("COMMIT"),
        );
        committed.map_err(db)?;
        tx.ended();
        wrote.map_err(db)?;
        forgot.map_err(db)?;
        swept.map_err(db)?;
        inserted.map_err(|e| {
            if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                Error::store("challenge id already stored")
            } else {
                db(e)
            }
        })?;
        Ok(Ok(()))
    }

    /// All budgets in one transaction, rolled back on a refusal.
    async fn count_sends(&self, budgets: Vec<SendBudget>, now: Timestamp) -> Result<Sends, Error> {
        let tx = self.begin().await?;
        let counted = count_in_order(&budgets, |b| {
            let tx = &tx;
            async move {
                let key = b.key.storage_key();
                let mut c = lock_counter(tx.conn()?, &key).await?;
                let counted = b.apply(&mut c, now);
                if counted.is_ok() {
                    write_counter(tx.conn()?, &key, &c).await?;
                }
                Ok(counted)
            }
        })
        .await?;
        if counted.is_ok() {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(counted)
    }

    /// The challenge and its failure counter locked and read in one pipelined
    /// batch, written back in another, committed once.
    async fn update_with_counter<R, F>(
        &self,
        id: &ChallengeId,
        _now: Timestamp,
        mut f: F,
    ) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Challenge, &mut Counter) -> R + Send + 'static,
        R: Send + 'static,
    {
        let mut tx = Tx::on(self.client().await?);
        let conn = tx.conn()?;
        // Every statement prepared first (cached per connection), so that each
        // pipelined request below is sent the moment it is first polled, in
        // order.
        let (read, lock, write, keep, forget) = tokio::join!(
            conn.prepare_cached("SELECT data FROM seccode_challenges WHERE id = $1 FOR UPDATE"),
            conn.prepare_cached(LOCK_FAILURE_COUNTER),
            conn.prepare_cached(WRITE_CHALLENGE),
            conn.prepare_cached(WRITE_COUNTER),
            conn.prepare_cached(DELETE_COUNTER),
        );
        let (read, lock, write) = (read.map_err(db)?, lock.map_err(db)?, write.map_err(db)?);
        let (keep, forget) = (keep.map_err(db)?, forget.map_err(db)?);
        let id_bytes = &id.as_bytes()[..];
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&id_bytes];
        // One round trip, sent in this order: BEGIN, the challenge's lock, its
        // counter's.
        let (begun, row, counter_row) = tokio::join!(
            conn.batch_execute("BEGIN"),
            conn.query_opt(&read, &params),
            conn.query_opt(&lock, &params),
        );
        begun.map_err(db)?;
        let (Some(row), Some(counter_row)) = (row.map_err(db)?, counter_row.map_err(db)?) else {
            tx.rollback().await?;
            return Ok(None);
        };
        let mut challenge = self.challenge(row.get::<_, &[u8]>(0))?;
        let key: String = counter_row.get(0);
        let mut c = counter(counter_row.get::<_, &[u8]>(1))?;
        let before = challenge.clone();
        let out = f(&mut challenge, &mut c);
        let data = (challenge != before).then(|| encode_challenge(&challenge, &self.codec));
        let (counter_data, expires) = (encode_counter(&c), ms(c.expires_at));
        // One more round trip: both writes, then the COMMIT. Should a write
        // fail, the server turns the COMMIT into a rollback and the error is
        // ours.
        let (wrote_challenge, wrote_counter, committed) = tokio::join!(
            async {
                match &data {
                    Some(data) => conn.execute(&write, &[&id_bytes, data]).await.map(drop),
                    None => Ok(()),
                }
            },
            async {
                if c.is_empty() {
                    conn.execute(&forget, &[&key]).await
                } else {
                    conn.execute(&keep, &[&key, &counter_data, &expires]).await
                }
            },
            conn.batch_execute("COMMIT"),
        );
        committed.map_err(db)?;
        tx.ended();
        wrote_challenge.map_err(db)?;
        wrote_counter.map_err(db)?;
        Ok(Some(out))
    }
}

/// The nearest row at or after `$1`, wrapping to the first: the row itself on a
/// hit, a stand-in on a miss, so both cost one row read and one decode.
const NEAREST_ACCOUNT: &str = "(SELECT id, data FROM seccode_accounts WHERE id >= $1 ORDER BY id \
     LIMIT 1) UNION ALL (SELECT id, data FROM seccode_accounts ORDER BY id LIMIT 1) LIMIT 1";

const NEAREST_LOOKUP: &str = "(SELECT lookup, account FROM seccode_verified_contacts \
     WHERE lookup >= $1 ORDER BY lookup LIMIT 1) UNION ALL (SELECT lookup, account FROM \
     seccode_verified_contacts ORDER BY lookup LIMIT 1) LIMIT 1";

impl PostgresStore {
    /// Writes an account and its ownership index inside the caller's
    /// transaction; [`Error::ContactInUse`] if another account verified one of
    /// its contacts (the caller then drops the transaction: nothing stored).
    async fn save_account(&self, tx: &Object, account: &Account) -> Result<(), Error> {
        let id = account.id().as_str();
        let upsert = tx
            .prepare_cached(
                "INSERT INTO seccode_accounts (id, data) VALUES ($1, $2) \
                 ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data",
            )
            .await
            .map_err(db)?;
        tx.execute(&upsert, &[&id, &encode_account(account, &self.codec)])
            .await
            .map_err(db)?;
        let lookups: Vec<String> = account
            .verified()
            .map(|i| self.codec.index(&i.contact))
            .collect();
        let forget = tx
            .prepare_cached(
                "DELETE FROM seccode_verified_contacts WHERE account = $1 AND lookup <> ALL($2)",
            )
            .await
            .map_err(db)?;
        tx.execute(&forget, &[&id, &lookups]).await.map_err(db)?;
        let claim = tx
            .prepare_cached(
                "INSERT INTO seccode_verified_contacts (lookup, account) VALUES ($1, $2) \
                 ON CONFLICT (lookup) DO UPDATE SET lookup = EXCLUDED.lookup RETURNING account",
            )
            .await
            .map_err(db)?;
        for lookup in &lookups {
            // Waits for a concurrent claim of the same contact to commit, then
            // answers its owner.
            let owner: String = tx
                .query_one(&claim, &[lookup, &id])
                .await
                .map_err(db)?
                .get(0);
            if owner != id {
                return Err(Error::ContactInUse);
            }
        }
        Ok(())
    }
}

impl AccountStore for PostgresStore {
    async fn create(&self, account: Account) -> Result<(), Error> {
        let tx = self.begin().await?;
        let stmt = tx
            .conn()?
            .prepare_cached(
                "INSERT INTO seccode_accounts (id, data) VALUES ($1, '') ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(db)?;
        let inserted = tx
            .conn()?
            .execute(&stmt, &[&account.id().as_str()])
            .await
            .map_err(db)?;
        let saved = if inserted == 0 {
            Err(Error::AccountExists)
        } else {
            self.save_account(tx.conn()?, &account).await
        };
        match saved {
            Ok(()) => tx.commit().await,
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }

    async fn get(&self, id: &AccountId) -> Result<Option<Account>, Error> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(NEAREST_ACCOUNT).await.map_err(db)?;
        let Some(row) = client.query_opt(&stmt, &[&id.as_str()]).await.map_err(db)? else {
            return Ok(None);
        };
        let found: &str = row.get(0);
        // Decoded whether or not it is the account asked for: a miss costs
        // what a hit costs.
        let account = decode_account(AccountId::new(found)?, row.get::<_, &[u8]>(1), &self.codec)?;
        Ok((found == id.as_str()).then(|| {
            let mut parts = account.to_parts();
            parts.id = id.clone();
            Account::from_parts(parts)
        }))
    }

    async fn find_verified(&self, contact: &Contact) -> Result<Option<AccountId>, Error> {
        let lookup = self.codec.index(contact);
        let client = self.client().await?;
        let stmt = client.prepare_cached(NEAREST_LOOKUP).await.map_err(db)?;
        let row = client.query_opt(&stmt, &[&lookup]).await.map_err(db)?;
        let owner = row.and_then(|r| {
            let found: &str = r.get(0);
            (found == lookup).then(|| r.get::<_, String>(1))
        });
        owner.map(AccountId::new).transpose().map_err(Error::from)
    }

    async fn update<R, F>(&self, id: &AccountId, mut f: F) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Account) -> Result<R, Error> + Send + 'static,
        R: Send + 'static,
    {
        let tx = self.begin().await?;
        let stmt = tx
            .conn()?
            .prepare_cached("SELECT data FROM seccode_accounts WHERE id = $1 FOR UPDATE")
            .await
            .map_err(db)?;
        let Some(row) = tx
            .conn()?
            .query_opt(&stmt, &[&id.as_str()])
            .await
            .map_err(db)?
        else {
            tx.rollback().await?;
            return Ok(None);
        };
        let mut account = decode_account(id.clone(), row.get::<_, &[u8]>(0), &self.codec)?;
        let saved = match f(&mut account) {
            Ok(out) => self.save_account(tx.conn()?, &account).await.map(|()| out),
            Err(e) => Err(e),
        };
        match saved {
            Ok(out) => {
                tx.commit().await?;
                Ok(Some(out))
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }
}
