//! [`SqliteStore`]: challenges, counters and accounts in one SQLite file.

mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::account::Account;
use crate::challenge::{AccountId, Challenge, ChallengeId};
use crate::clock::Timestamp;
use crate::contact::Contact;
use crate::counter::{Counter, CounterKey, CounterKind};
use crate::error::Error;
use crate::store::cipher::{ContactCodec, DataKeys};
use crate::store::record::{
    decode_account, decode_challenge, decode_counter, encode_account, encode_challenge,
    encode_counter,
};
use crate::store::{AccountStore, ChallengeStore, Opened, Refusal, SendBudget, Sends};

/// Each insert also deletes at most this many expired challenges, so that a
/// store nobody sweeps still does not grow without bound.
const SWEEP_ON_INSERT: i64 = 16;

/// Challenges, counters and accounts in one SQLite file, shared safely by every
/// thread and process that opens it.
///
/// Requires the `sqlite` feature.
///
/// * **Atomic**: every read-modify-write runs in one `BEGIN IMMEDIATE`
///   transaction, which takes SQLite's write lock before reading, so two
///   processes cannot interleave on a record. A busy database is waited for up to
///   5 s, then reported as [`Error::Store`] (the safe direction: nothing was
///   counted or approved).
/// * **Durable**: WAL journal, `synchronous = FULL`: a committed attempt survives
///   a crash of the process or of the machine, so a restart never hands out a
///   guess that was already counted.
/// * **Not blocking the runtime**: each store owns one worker thread and its
///   connection; async calls send it a job and await the answer, so a slow disk
///   stalls no executor thread. Open one store per process and share it (it is
///   cheap to put in an `Arc`).
/// * **One stored form**: each challenge, counter and account is kept as the
///   bytes Redis and PostgreSQL keep (the crate's versioned record encoding),
///   beside the columns it is found and swept by; a field added to a record
///   needs no schema change.
/// * **Versioned schema**, created and migrated on open (`PRAGMA user_version`,
///   one numbered list of steps); a file written by a newer version of the
///   crate is refused, and files of every earlier version are migrated.
/// * **Expiring**: [`ChallengeStore::sweep`] deletes records past their retention
///   through indexes on their deadlines; each insert also deletes up to 16
///   expired challenges, so a store nobody sweeps stays bounded too.
///
/// # Examples
///
/// ```
/// use seccode::{Keyring, Outbox, SecurityCodes, SqliteStore};
///
/// let dir = std::env::temp_dir().join(format!("seccode-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let store = SqliteStore::open(dir.join("codes.sqlite3"))?;
/// let codes = SecurityCodes::new(store, Outbox::new(), Keyring::generate());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    path: PathBuf,
}

type Job = Box<dyn FnOnce(&mut Connection, &ContactCodec) + Send>;

/// A SQLite error as a [`StoreFailure`](crate::StoreFailure): a busy or
/// locked file is a time-out (another process held it longer than the busy
/// timeout); the rest by SQLite's error code, never the message.
fn db(e: rusqlite::Error) -> Error {
    use crate::error::{StoreFailure, StoreFault};
    let failure = match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreFailure::new("sqlite", StoreFault::TimedOut, "database busy")
        }
        Some(rusqlite::ErrorCode::CannotOpen) => {
            StoreFailure::new("sqlite", StoreFault::Unreachable, "cannot open the file")
        }
        Some(code) => StoreFailure::new("sqlite", StoreFault::Other, format!("{code:?}")),
        None => StoreFailure::new("sqlite", StoreFault::Other, "client error"),
    };
    Error::store(failure)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, migrates its schema and
    /// starts the store's worker thread.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the file cannot be opened, is not a database, was
    /// written by a newer schema version, or holds encrypted contacts (open it
    /// with [`SqliteStore::open_encrypted`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::start(path.as_ref(), ContactCodec::default())
    }

    /// As [`SqliteStore::open`], with every contact encrypted at rest under
    /// `keys` (see [`DataKeys`]): challenge destinations, security info and hold
    /// originals are stored encrypted, verified contacts are found by a keyed
    /// hash of their identity. Contacts a file holds in the clear (written before)
    /// are encrypted on open, in one transaction, and the file is vacuumed so
    /// the pages that held them go too. Do not let processes without the keys
    /// write to the file meanwhile: what they write stays in the clear.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`]. A file whose contacts are encrypted, opened
    /// with [`SqliteStore::open`] (without keys), is refused with
    /// [`Error::Store`] naming this method.
    pub fn open_encrypted(path: impl AsRef<Path>, keys: DataKeys) -> Result<Self, Error> {
        Self::start(path.as_ref(), ContactCodec::encrypted(keys))
    }

    fn start(path: &Path, codec: ContactCodec) -> Result<Self, Error> {
        let path = path.to_path_buf();
        let mut conn = Connection::open(&path).map_err(db)?;
        schema::prepare(&mut conn, &codec)?;
        let (jobs, inbox) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("seccode-sqlite".into())
            .spawn(move || {
                // Ends when the last sender (the store) is dropped.
                for job in inbox {
                    job(&mut conn, &codec);
                }
            })
            .map_err(Error::store)?;
        Ok(Self { jobs, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the worker's connection and awaits its result.
    async fn call<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &ContactCodec) -> Result<T, Error> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn, codec| {
            // The caller may have gone (its future dropped); nothing to do then.
            let _ = reply.send(f(conn, codec));
        });
        self.jobs
            .send(job)
            .map_err(|_| Error::store("sqlite worker has stopped"))?;
        answer
            .await
            .map_err(|_| Error::store("sqlite worker dropped a request"))?
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Starts a transaction that takes the write lock before it reads, so no other
/// connection can change a record between our read and our write.
fn immediate(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>, Error> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)
}

// ----- records ----------------------------------------------------------------------

fn ms(t: Timestamp) -> i64 {
    i64::try_from(t.as_unix_millis()).unwrap_or(i64::MAX)
}

fn get_challenge(
    conn: &Connection,
    codec: &ContactCodec,
    id: &ChallengeId,
) -> Result<Option<Challenge>, Error> {
    let data: Option<Vec<u8>> = conn
        .prepare_cached("SELECT data FROM challenges WHERE id = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([&id.as_bytes()[..]], |r| r.get(0))
                .optional()
        })
        .map_err(db)?;
    data.map(|d| decode_challenge(&d, codec)).transpose()
}

fn write_challenge(
    conn: &Connection,
    codec: &ContactCodec,
    c: &Challenge,
    insert: bool,
) -> Result<(), Error> {
    let data = encode_challenge(c, codec);
    let id = &c.id().as_bytes()[..];
    // An update rewrites the record and leaves the id and the retention
    // (indexed, never changed after insert) alone, so no index entry is
    // touched; REPLACE would delete and reinsert the row and its index entries.
    let written = if insert {
        conn.prepare_cached("INSERT INTO challenges (id, data, retain_until) VALUES (?1, ?2, ?3)")
            .and_then(|mut stmt| stmt.execute(params![id, data, ms(c.retain_until())]))
    } else {
        conn.prepare_cached("UPDATE challenges SET data = ?2 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![id, data]))
    };
    written.map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Error::store("challenge id already stored")
        }
        other => db(other),
    })?;
    Ok(())
}

fn counter_key(key: &CounterKey) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(17);
    bytes.push(match key.kind() {
        CounterKind::AccountFailures => 1,
        CounterKind::DestinationSends => 2,
        CounterKind::RecoveryFailures => 3,
        CounterKind::RecoveryConfirmations => 4,
        CounterKind::AccountSends => 5,
        CounterKind::CallingCodeSends => 6,
        CounterKind::GlobalSends => 7,
        CounterKind::Custom => 8,
        CounterKind::OwnerSends => 9,
        CounterKind::RecoverySends => 10,
        CounterKind::RequesterSends => 11,
        CounterKind::TenantSends => 12,
    });
    bytes.extend_from_slice(key.digest());
    bytes
}

fn get_counter(conn: &Connection, key: &[u8]) -> Result<Option<Counter>, Error> {
    let data: Option<Vec<u8>> = conn
        .prepare_cached("SELECT data FROM counters WHERE key = ?1")
        .and_then(|mut stmt| stmt.query_row([key], |r| r.get(0)).optional())
        .map_err(db)?;
    data.map(|d| decode_counter(&d)).transpose()
}

/// Applies `f` to the challenge `id` inside the caller's transaction, writing it
/// back only if it changed.
fn update_challenge_in<R>(
    tx: &Connection,
    codec: &ContactCodec,
    id: &ChallengeId,
    f: &mut impl FnMut(&mut Challenge) -> R,
) -> Result<Option<R>, Error> {
    let Some(mut challenge) = get_challenge(tx, codec, id)? else {
        return Ok(None);
    };
    let before = challenge.clone();
    let out = f(&mut challenge);
    if challenge != before {
        write_challenge(tx, codec, &challenge, false)?;
    }
    Ok(Some(out))
}

/// Applies `f` to the counter `key` inside the caller's transaction.
fn update_counter_in<R>(
    tx: &Connection,
    key: &[u8],
    f: &mut impl FnMut(&mut Counter) -> R,
) -> Result<R, Error> {
    let before = get_counter(tx, key)?.unwrap_or_default();
    let mut counter = before;
    let out = f(&mut counter);
    if counter.is_empty() {
        if !before.is_empty() {
            tx.execute("DELETE FROM counters WHERE key = ?1", [key])
                .map_err(db)?;
        }
    } else if counter != before {
        tx.prepare_cached(
            "INSERT INTO counters (key, data, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![key, encode_counter(&counter), ms(counter.expires_at)])
        })
        .map_err(db)?;
    }
    Ok(out)
}

// ----- accounts -------------------------------------------------------------------

/// Reads one account. **A miss costs what a hit costs**: account recovery reads a
/// made-up id for unknown identifiers and must take the time reading a real
/// account takes (see [`AccountSecurity`](crate::AccountSecurity)). So the query
/// returns the account with the smallest id at or after `id` (wrapping to the
/// first), which is `id` itself on a hit and a stand-in on a miss; the record is
/// decoded (its contacts opened) either way, and a stand-in is thrown away.
fn load_account(
    conn: &Connection,
    codec: &ContactCodec,
    id: &AccountId,
) -> Result<Option<Account>, Error> {
    let row: Option<(String, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT * FROM (SELECT id, data FROM accounts WHERE id >= ?1 ORDER BY id LIMIT 1) \
             UNION ALL SELECT * FROM (SELECT id, data FROM accounts ORDER BY id LIMIT 1) LIMIT 1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db)?;
    let Some((found, data)) = row else {
        return Ok(None);
    };
    let account = decode_account(id.clone(), &data, codec)?;
    Ok((found == id.as_str()).then_some(account))
}

/// Writes `account` over whatever is stored, inside the caller's transaction:
/// [`Error::ContactInUse`] if another account verified one of its contacts.
fn save_account(conn: &Connection, codec: &ContactCodec, account: &Account) -> Result<(), Error> {
    let id = account.id().as_str();
    let lookups: Vec<String> = account
        .verified()
        .map(|i| codec.index(&i.contact))
        .collect();
    for lookup in &lookups {
        let owner: Option<String> = conn
            .prepare_cached("SELECT account FROM verified_contacts WHERE lookup = ?1")
            .and_then(|mut stmt| stmt.query_row([lookup], |r| r.get(0)).optional())
            .map_err(db)?;
        if owner.is_some_and(|o| o != id) {
            return Err(Error::ContactInUse);
        }
    }
    conn.prepare_cached(
        "INSERT INTO accounts (id, data) VALUES (?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET data = excluded.data",
    )
    .and_then(|mut stmt| stmt.execute(params![id, encode_account(account, codec)]))
    .map_err(db)?;
    conn.prepare_cached("DELETE FROM verified_contacts WHERE account = ?1")
        .and_then(|mut stmt| stmt.execute([id]))
        .map_err(db)?;
    for lookup in &lookups {
        conn.prepare_cached("INSERT INTO verified_contacts (lookup, account) VALUES (?1, ?2)")
            .and_then(|mut stmt| stmt.execute(params![lookup, id]))
            .map_err(db)?;
    }
    Ok(())
}

// ----- ports ------------------------------------------------------------------------

/// Stores a new challenge inside the caller's transaction, after forgetting a
/// few whose retention has passed.
fn insert_challenge(
    tx: &Connection,
    codec: &ContactCodec,
    challenge: &Challenge,
    now: Timestamp,
) -> Result<(), Error> {
    tx.prepare_cached(
        "DELETE FROM challenges WHERE id IN \
         (SELECT id FROM challenges WHERE retain_until <= ?1 LIMIT ?2)",
    )
    .and_then(|mut stmt| stmt.execute(params![ms(now), SWEEP_ON_INSERT]))
    .map_err(db)?;
    write_challenge(tx, codec, challenge, true)
}

/// Counts a message on each of `budgets` in order inside the caller's
/// transaction, stopping at the first that refuses it (the caller then drops
/// the transaction: nothing counted).
fn count_sends_in(tx: &Connection, budgets: &[SendBudget], now: Timestamp) -> Result<Sends, Error> {
    for (index, b) in budgets.iter().enumerate() {
        let counted = update_counter_in(tx, &counter_key(&b.key), &mut |c: &mut Counter| {
            b.apply(c, now)
        })?;
        if let Err(retry_after) = counted {
            return Ok(Err((index, retry_after)));
        }
    }
    Ok(Ok(()))
}

impl ChallengeStore for SqliteStore {
    async fn insert(&self, challenge: Challenge, now: Timestamp) -> Result<(), Error> {
        self.call(move |conn, codec| {
            let tx = immediate(conn)?;
            insert_challenge(&tx, codec, &challenge, now)?;
            tx.commit().map_err(db)
        })
        .await
    }

    /// The failure counter read, the budgets counted and the challenge stored
    /// in one transaction: one commit, and a refusal rolls everything back.
    async fn open(
        &self,
        challenge: Challenge,
        budgets: Vec<SendBudget>,
        now: Timestamp,
    ) -> Result<Opened, Error> {
        self.call(move |conn, codec| {
            let tx = immediate(conn)?;
            let failures = get_counter(&tx, &counter_key(&challenge.failure_key()))?;
            if let Some(wait) = failures.and_then(|c| c.blocked_for(now)) {
                return Ok(Err(Refusal::Locked(wait)));
            }
            if let Err((index, retry_after)) = count_sends_in(&tx, &budgets, now)? {
                return Ok(Err(Refusal::Budget { index, retry_after }));
            }
            insert_challenge(&tx, codec, &challenge, now)?;
            tx.commit().map_err(db)?;
            Ok(Ok(()))
        })
        .await
    }

    async fn get(&self, id: &ChallengeId) -> Result<Option<Challenge>, Error> {
        let id = *id;
        self.call(move |conn, codec| get_challenge(conn, codec, &id))
            .await
    }

    async fn update<R, F>(&self, id: &ChallengeId, mut f: F) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Challenge) -> R + Send + 'static,
        R: Send + 'static,
    {
        let id = *id;
        self.call(move |conn, codec| {
            let tx = immediate(conn)?;
            let out = update_challenge_in(&tx, codec, &id, &mut f)?;
            tx.commit().map_err(db)?;
            Ok(out)
        })
        .await
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
        let key = counter_key(key);
        self.call(move |conn, _codec| {
            let tx = immediate(conn)?;
            let out = update_counter_in(&tx, &key, &mut f)?;
            tx.commit().map_err(db)?;
            Ok(out)
        })
        .await
    }

    async fn count_sends(&self, budgets: Vec<SendBudget>, now: Timestamp) -> Result<Sends, Error> {
        self.call(move |conn, _codec| {
            // All of a message's send budgets in one transaction: one commit, and
            // a refusal rolls the earlier ones back (dropping `tx`).
            let tx = immediate(conn)?;
            let counted = count_sends_in(&tx, &budgets, now)?;
            if counted.is_ok() {
                tx.commit().map_err(db)?;
            }
            Ok(counted)
        })
        .await
    }

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
        let id = *id;
        self.call(move |conn, codec| {
            // The challenge and its failure counter in one transaction: a guess is
            // counted, compared and (if right) approved with one commit.
            let tx = immediate(conn)?;
            let out = update_challenge_in(&tx, codec, &id, &mut |c: &mut Challenge| {
                let key = counter_key(&c.failure_key());
                update_counter_in(&tx, &key, &mut |counter: &mut Counter| f(c, counter))
            })?;
            let Some(out) = out else {
                return Ok(None);
            };
            let out = out?;
            tx.commit().map_err(db)?;
            Ok(Some(out))
        })
        .await
    }

    async fn get_counter(&self, key: &CounterKey) -> Result<Option<Counter>, Error> {
        let key = counter_key(key);
        self.call(move |conn, _codec| get_counter(conn, &key)).await
    }

    async fn sweep(&self, now: Timestamp) -> Result<usize, Error> {
        self.call(move |conn, _codec| {
            let tx = immediate(conn)?;
            let challenges = tx
                .execute("DELETE FROM challenges WHERE retain_until <= ?1", [ms(now)])
                .map_err(db)?;
            let counters = tx
                .execute("DELETE FROM counters WHERE expires_at <= ?1", [ms(now)])
                .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(challenges + counters)
        })
        .await
    }
}

impl AccountStore for SqliteStore {
    async fn create(&self, account: Account) -> Result<(), Error> {
        self.call(move |conn, codec| {
            let tx = immediate(conn)?;
            let exists: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ?1)",
                    [account.id().as_str()],
                    |r| r.get(0),
                )
                .map_err(db)?;
            if exists {
                return Err(Error::AccountExists);
            }
            save_account(&tx, codec, &account)?;
            tx.commit().map_err(db)
        })
        .await
    }

    async fn get(&self, id: &AccountId) -> Result<Option<Account>, Error> {
        let id = id.clone();
        self.call(move |conn, codec| load_account(conn, codec, &id))
            .await
    }

    async fn find_verified(&self, contact: &Contact) -> Result<Option<AccountId>, Error> {
        let contact = contact.clone();
        // A miss costs what a hit costs (see `load_account`): read the first row
        // at or after the identity, and keep it only if it is the identity's.
        self.call(move |conn, codec| {
            let lookup = codec.index(&contact);
            let row: Option<(String, String)> = conn
                .prepare_cached(
                    "SELECT * FROM (SELECT lookup, account FROM verified_contacts \
                     WHERE lookup >= ?1 ORDER BY lookup LIMIT 1) UNION ALL SELECT * FROM \
                     (SELECT lookup, account FROM verified_contacts ORDER BY lookup LIMIT 1) \
                     LIMIT 1",
                )
                .and_then(|mut stmt| {
                    stmt.query_row([&lookup], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(db)?;
            let owner = row.and_then(|(found, owner)| (found == lookup).then_some(owner));
            owner.map(AccountId::new).transpose().map_err(Error::from)
        })
        .await
    }

    async fn update<R, F>(&self, id: &AccountId, mut f: F) -> Result<Option<R>, Error>
    where
        F: FnMut(&mut Account) -> Result<R, Error> + Send + 'static,
        R: Send + 'static,
    {
        let id = id.clone();
        self.call(move |conn, codec| {
            let tx = immediate(conn)?;
            let Some(mut account) = load_account(&tx, codec, &id)? else {
                return Ok(None);
            };
            // An error from `f` or from the uniqueness check drops `tx`: rollback.
            let out = f(&mut account)?;
            save_account(&tx, codec, &account)?;
            tx.commit().map_err(db)?;
            Ok(Some(out))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::schema::SCHEMA_VERSION;
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("seccode-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("db.sqlite3")
    }

    #[test]
    fn schema_version_is_recorded_and_newer_files_refused() {
        let path = temp_path("schema");
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, Error::Store(_)));
        assert!(
            std::error::Error::source(&err)
                .unwrap()
                .to_string()
                .contains("newer")
        );
    }

    #[test]
    fn reopening_keeps_the_schema() {
        let path = temp_path("reopen");
        drop(SqliteStore::open(&path).unwrap());
        drop(SqliteStore::open(&path).unwrap());
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
