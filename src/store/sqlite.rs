//! [`SqliteStore`]: challenges, counters and accounts in one SQLite file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::account::{
    Account, AccountParts, Hold, InfoState, Recovered, SecurityInfo, SecurityInfoId, TicketRecord,
};
use crate::challenge::{AccountId, Challenge, ChallengeId, ChallengeParts, Status};
use crate::clock::Timestamp;
use crate::code::{Alphabet, CodeFormat};
use crate::contact::Contact;
use crate::counter::{Counter, CounterKey, CounterKind};
use crate::error::Error;
use crate::policy::Purpose;
use crate::store::cipher::{ContactCodec, DataKeys};
use crate::store::{AccountStore, ChallengeStore, SendBudget, Sends};

/// Each insert also deletes at most this many expired challenges, so that a
/// store nobody sweeps still does not grow without bound.
const SWEEP_ON_INSERT: i64 = 16;

/// The schema's migrations, in order: `MIGRATIONS[n]` takes a file from
/// version `n` to `n + 1` (`PRAGMA user_version`). Never edit a released
/// entry; append. A new file runs them all.
///
/// 1. The first release's tables.
/// 2. `verified_contacts.lookup` is [`Contact::identity`] (NFKC, IDNA A-label
///    domain, E.164); version 1 lower-cased the address as typed (a step in
///    Rust: [`migrate_lookups_to_identity`]).
/// 3. `challenges.proof_spent`: single-use proofs across servers.
/// 4. `accounts.locale`: the language of an account's codes.
const MIGRATIONS: [Migration; 4] = [
    Migration::Sql(SCHEMA_V1),
    Migration::Rust(migrate_lookups_to_identity),
    Migration::Sql("ALTER TABLE challenges ADD COLUMN proof_spent INTEGER NOT NULL DEFAULT 0"),
    Migration::Sql("ALTER TABLE accounts ADD COLUMN locale TEXT"),
];

/// One step of [`MIGRATIONS`].
enum Migration {
    /// Statements run as they are.
    Sql(&'static str),
    /// A step that reads and rewrites rows.
    Rust(fn(&rusqlite::Transaction<'_>) -> Result<(), Error>),
}

/// The schema version this crate writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const SCHEMA_V1: &str = "
CREATE TABLE challenges (
    id BLOB PRIMARY KEY,
    salt BLOB NOT NULL,
    account TEXT NOT NULL,
    destination TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    last_sent_at INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    resend_cooldown_secs INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    sends INTEGER NOT NULL,
    max_sends INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    alphabet TEXT NOT NULL,
    length INTEGER NOT NULL,
    status TEXT NOT NULL,
    decoy INTEGER NOT NULL,
    retain_until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX challenges_retain_until ON challenges (retain_until);
CREATE TABLE counters (
    key BLOB PRIMARY KEY,
    count INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX counters_expires_at ON counters (expires_at);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    next_info_id INTEGER NOT NULL,
    recovered_at INTEGER,
    hold_until INTEGER
);
CREATE TABLE security_info (
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id INTEGER NOT NULL,
    contact TEXT NOT NULL,
    verified INTEGER NOT NULL,
    added_at INTEGER NOT NULL,
    verified_at INTEGER,
    replaces INTEGER,
    PRIMARY KEY (account, id)
);
CREATE TABLE originals (
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    position INTEGER NOT NULL,
    contact TEXT NOT NULL,
    PRIMARY KEY (account, role, position)
);
CREATE TABLE tickets (
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    digest BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX tickets_account ON tickets (account);
CREATE TABLE verified_contacts (
    lookup TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE INDEX verified_contacts_account ON verified_contacts (account);
";

/// Challenges, counters and accounts in one SQLite file, shared safely by every
/// thread and process that opens it.
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
/// * **Versioned schema**, created and migrated on open (`PRAGMA user_version`); a
///   file written by a newer version of the crate is refused.
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
    /// [`Error::Store`] if the file cannot be opened, is not a database, or was
    /// written by a newer schema version.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::start(path.as_ref(), ContactCodec::default())
    }

    /// As [`SqliteStore::open`], with every contact encrypted at rest under
    /// `keys` (see [`DataKeys`]): challenge destinations, security info and hold
    /// originals are stored encrypted, verified contacts are found by a keyed
    /// hash of their identity. Contacts a file holds in the clear (written before)
    /// are encrypted on open, in one transaction. A file with encrypted contacts
    /// opened without keys cannot read them (`Error::Store`).
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub fn open_encrypted(path: impl AsRef<Path>, keys: DataKeys) -> Result<Self, Error> {
        Self::start(path.as_ref(), ContactCodec::encrypted(keys))
    }

    fn start(path: &Path, codec: ContactCodec) -> Result<Self, Error> {
        let path = path.to_path_buf();
        let mut conn = Connection::open(&path).map_err(db)?;
        configure(&mut conn)?;
        if codec.is_encrypted() {
            encrypt_clear_contacts(&mut conn, &codec)?;
        }
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

fn configure(conn: &mut Connection) -> Result<(), Error> {
    conn.busy_timeout(Duration::from_secs(5)).map_err(db)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(db)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    let tx = immediate(conn)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db)?;
    if version > SCHEMA_VERSION {
        return Err(Error::store(format!(
            "database schema version {version} is newer than this crate's ({SCHEMA_VERSION})"
        )));
    }
    for step in MIGRATIONS
        .iter()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        match step {
            Migration::Sql(sql) => tx.execute_batch(sql).map_err(db)?,
            Migration::Rust(step) => step(&tx)?,
        }
    }
    if version < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(db)?;
    }
    tx.commit().map_err(db)
}

/// Version 1 → 2: rebuilds the ownership index under [`Contact::identity`].
///
/// Version 1 keyed it by the lower-cased address as typed, so two spellings of one
/// mailbox (`x@exämple.com`, `x@xn--exmple-cua.com`) could be verified on two
/// accounts. Where that happened, the earliest verification keeps the contact and
/// later ones go back to pending: a contact is never moved, and a pending entry is
/// used for nothing until it is proven again (when it would meet
/// [`Error::ContactInUse`]).
fn migrate_lookups_to_identity(tx: &rusqlite::Transaction<'_>) -> Result<(), Error> {
    tx.execute("DELETE FROM verified_contacts", [])
        .map_err(db)?;
    let rows = {
        let mut stmt = tx
            .prepare(
                "SELECT account, id, contact FROM security_info WHERE verified = 1 \
                 ORDER BY verified_at, account, id",
            )
            .map_err(db)?;
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?
    };
    for (account, info_id, contact) in rows {
        let identity = Contact::from_stored(&contact)?.identity().to_owned();
        let inserted = tx
            .execute(
                "INSERT INTO verified_contacts (lookup, account) VALUES (?1, ?2) \
                 ON CONFLICT (lookup) DO NOTHING",
                params![identity, account],
            )
            .map_err(db)?;
        let owner: String = tx
            .query_row(
                "SELECT account FROM verified_contacts WHERE lookup = ?1",
                [&identity],
                |r| r.get(0),
            )
            .map_err(db)?;
        if inserted == 0 && owner != account {
            tx.execute(
                "UPDATE security_info SET verified = 0, verified_at = NULL \
                 WHERE account = ?1 AND id = ?2",
                params![account, info_id],
            )
            .map_err(db)?;
        }
    }
    Ok(())
}

/// Encrypts the contacts a file holds in the clear (written before encryption was
/// turned on), in one transaction: destinations, security info, hold originals,
/// and the ownership index (hashed).
fn encrypt_clear_contacts(conn: &mut Connection, codec: &ContactCodec) -> Result<(), Error> {
    let mut converted = 0usize;
    let tx = immediate(conn)?;
    let clear = |sql: &str| -> Result<Vec<(Vec<u8>, String)>, Error> {
        let mut stmt = tx.prepare(sql).map_err(db)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        Ok(rows)
    };
    for (rowid, text) in
        clear("SELECT id, destination FROM challenges WHERE destination NOT LIKE 'c1.%'")?
    {
        let sealed = codec.seal(&codec.open(&text)?);
        tx.execute(
            "UPDATE challenges SET destination = ?1 WHERE id = ?2",
            params![sealed, rowid],
        )
        .map_err(db)?;
    }
    for (table, column) in [("security_info", "contact"), ("originals", "contact")] {
        let sql = format!(
            "SELECT CAST(rowid AS BLOB), {column} FROM {table} WHERE {column} NOT LIKE 'c1.%'"
        );
        for (rowid, text) in clear(&sql)? {
            let sealed = codec.seal(&codec.open(&text)?);
            let rowid: i64 = String::from_utf8_lossy(&rowid)
                .parse()
                .map_err(|_| corrupt("row id"))?;
            converted += tx
                .execute(
                    &format!("UPDATE {table} SET {column} = ?1 WHERE rowid = ?2"),
                    params![sealed, rowid],
                )
                .map_err(db)?;
        }
    }
    let lookups = clear(
        "SELECT CAST(lookup AS BLOB), lookup FROM verified_contacts WHERE lookup NOT LIKE 'i1.%'",
    )?;
    for (_, identity) in lookups {
        let index = codec.index(&Contact::from_stored(&identity)?);
        converted += tx
            .execute(
                "UPDATE verified_contacts SET lookup = ?1 WHERE lookup = ?2",
                params![index, identity],
            )
            .map_err(db)?;
    }
    tx.commit().map_err(db)?;
    if converted > 0 {
        // Rewrite the file and empty the log, so the freed pages that held the
        // clear text go too.
        conn.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(db)?;
    }
    Ok(())
}

// ----- encoding ------------------------------------------------------------------

fn ms(t: Timestamp) -> i64 {
    i64::try_from(t.as_unix_millis()).unwrap_or(i64::MAX)
}

fn ts(v: i64) -> Timestamp {
    Timestamp::from_unix_millis(u64::try_from(v).unwrap_or(0))
}

fn corrupt(what: &'static str) -> Error {
    Error::store(format!("stored {what} is not valid"))
}

const CHALLENGE_COLUMNS: &str = "id, salt, account, destination, expires_at, last_sent_at, key_id, \
     resend_cooldown_secs, generation, attempts, max_attempts, sends, max_sends, purpose, \
     alphabet, length, status, decoy, retain_until, proof_spent";

fn read_challenge(
    row: &rusqlite::Row<'_>,
    codec: &ContactCodec,
) -> rusqlite::Result<Result<Challenge, Error>> {
    let id: Vec<u8> = row.get(0)?;
    let salt: Vec<u8> = row.get(1)?;
    let account: String = row.get(2)?;
    let destination: String = row.get(3)?;
    let purpose: String = row.get(13)?;
    let alphabet: String = row.get(14)?;
    let status: String = row.get(16)?;
    let parts = (|| -> Result<ChallengeParts, Error> {
        Ok(ChallengeParts {
            id: ChallengeId::from_bytes(id.try_into().map_err(|_| corrupt("challenge id"))?),
            salt: salt.try_into().map_err(|_| corrupt("salt"))?,
            account: AccountId::new(account)?,
            destination: codec.open(&destination)?,
            expires_at: ts(row.get(4).map_err(db)?),
            last_sent_at: ts(row.get(5).map_err(db)?),
            key_id: row.get(6).map_err(db)?,
            resend_cooldown_secs: row.get(7).map_err(db)?,
            generation: row.get(8).map_err(db)?,
            attempts: row.get(9).map_err(db)?,
            max_attempts: row.get(10).map_err(db)?,
            sends: row.get(11).map_err(db)?,
            max_sends: row.get(12).map_err(db)?,
            purpose: Purpose::from_name(&purpose).ok_or(corrupt("purpose"))?,
            format: CodeFormat::new(
                Alphabet::from_name(&alphabet).ok_or(corrupt("alphabet"))?,
                row.get(15).map_err(db)?,
            )?,
            status: Status::from_name(&status).ok_or(corrupt("status"))?,
            decoy: row.get(17).map_err(db)?,
            proof_spent: row.get(19).map_err(db)?,
        })
    })();
    Ok(parts.map(Challenge::from_parts))
}

fn write_challenge(
    conn: &Connection,
    codec: &ContactCodec,
    c: &Challenge,
    insert: bool,
) -> Result<(), Error> {
    let p = c.to_parts();
    let (id, salt, destination) = (
        &p.id.as_bytes()[..],
        &p.salt[..],
        codec.seal(&p.destination),
    );
    let (expires_at, last_sent_at, retain_until) =
        (ms(p.expires_at), ms(p.last_sent_at), ms(c.retain_until()));
    let values: [&dyn rusqlite::ToSql; 20] = [
        &id,
        &salt,
        &p.account.as_str(),
        &destination,
        &expires_at,
        &last_sent_at,
        &p.key_id,
        &p.resend_cooldown_secs,
        &p.generation,
        &p.attempts,
        &p.max_attempts,
        &p.sends,
        &p.max_sends,
        &p.purpose.as_str(),
        &p.format.alphabet().as_str(),
        &p.format.length(),
        &p.status.as_str(),
        &p.decoy,
        &p.proof_spent,
        // Last: an update leaves it out.
        &retain_until,
    ];
    // An update rewrites the row in place and leaves the id and the retention
    // (indexed, never changed after insert) alone, so no index entry is
    // touched; REPLACE would delete and reinsert the row and its index entries.
    let (sql, values) = if insert {
        (
            "INSERT INTO challenges (id, salt, account, destination, expires_at, last_sent_at, \
             key_id, resend_cooldown_secs, generation, attempts, max_attempts, sends, max_sends, \
             purpose, alphabet, length, status, decoy, proof_spent, retain_until) VALUES (?1, ?2, \
             ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
            &values[..],
        )
    } else {
        (
            "UPDATE challenges SET salt = ?2, account = ?3, destination = ?4, expires_at = ?5, \
             last_sent_at = ?6, key_id = ?7, resend_cooldown_secs = ?8, generation = ?9, \
             attempts = ?10, max_attempts = ?11, sends = ?12, max_sends = ?13, purpose = ?14, \
             alphabet = ?15, length = ?16, status = ?17, decoy = ?18, proof_spent = ?19 \
             WHERE id = ?1",
            &values[..19],
        )
    };
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute(values))
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Error::store("challenge id already stored")
            }
            other => db(other),
        })?;
    Ok(())
}

fn get_challenge(
    conn: &Connection,
    codec: &ContactCodec,
    id: &ChallengeId,
) -> Result<Option<Challenge>, Error> {
    let sql = format!("SELECT {CHALLENGE_COLUMNS} FROM challenges WHERE id = ?1");
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_row([&id.as_bytes()[..]], |row| read_challenge(row, codec))
                .optional()
        })
        .map_err(db)?
        .transpose()
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
    conn.prepare_cached(
        "SELECT count, window_start, blocked_until, expires_at FROM counters WHERE key = ?1",
    )
    .and_then(|mut stmt| {
        stmt.query_row([key], |r| {
            Ok(Counter {
                count: r.get(0)?,
                window_start: ts(r.get(1)?),
                blocked_until: ts(r.get(2)?),
                expires_at: ts(r.get(3)?),
            })
        })
        .optional()
    })
    .map_err(db)
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
            "INSERT INTO counters (key, count, window_start, blocked_until, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key) DO UPDATE SET count = excluded.count, \
             window_start = excluded.window_start, blocked_until = excluded.blocked_until, \
             expires_at = excluded.expires_at",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                key,
                counter.count,
                ms(counter.window_start),
                ms(counter.blocked_until),
                ms(counter.expires_at),
            ])
        })
        .map_err(db)?;
    }
    Ok(out)
}

// ----- accounts -------------------------------------------------------------------

/// Reads one account. **A miss costs what a hit costs**: account recovery reads a
/// made-up id for unknown identifiers and must take the time reading a real
/// account takes (see [`AccountSecurity`](crate::AccountSecurity)). So the first query returns the account
/// with the smallest id at or after `id` (wrapping to the first), which is `id`
/// itself on a hit and a stand-in on a miss; the same queries then read that
/// account's rows, whether or not it has a recovery window or a hold, and a
/// stand-in is thrown away.
fn load_account(
    conn: &Connection,
    codec: &ContactCodec,
    id: &AccountId,
) -> Result<Option<Account>, Error> {
    type Head = (String, i64, Option<i64>, Option<i64>, Option<String>);
    let head: Option<Head> = conn
        .prepare_cached(
            "SELECT * FROM (SELECT id, next_info_id, recovered_at, hold_until, locale FROM accounts \
             WHERE id >= ?1 ORDER BY id LIMIT 1) UNION ALL SELECT * FROM (SELECT id, \
             next_info_id, recovered_at, hold_until, locale FROM accounts ORDER BY id LIMIT 1) LIMIT 1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([id.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
        })
        .map_err(db)?;
    let read = head
        .as_ref()
        .map_or(id.as_str(), |h| h.0.as_str())
        .to_owned();
    let head = head.filter(|h| h.0 == id.as_str());
    let id_read = read.as_str();
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, contact, verified, added_at, verified_at, replaces FROM security_info \
             WHERE account = ?1 ORDER BY id",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([id_read], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<u32>>(5)?,
            ))
        })
        .map_err(db)?;
    let mut info = Vec::new();
    for row in rows {
        let (info_id, contact, verified, added_at, verified_at, replaces) = row.map_err(db)?;
        info.push(SecurityInfo {
            id: SecurityInfoId(info_id),
            contact: codec.open(&contact)?,
            state: if verified {
                InfoState::Verified
            } else {
                InfoState::Pending
            },
            added_at: ts(added_at),
            verified_at: verified_at.map(ts),
            replaces: replaces.map(SecurityInfoId),
        });
    }
    // Every role's contacts in one query: a hold's and a window's originals,
    // and the contacts their recoveries went through.
    let mut roles: [(&str, Vec<Contact>); 4] = [
        ("recovered", Vec::new()),
        ("hold", Vec::new()),
        ("recovered_through", Vec::new()),
        ("hold_through", Vec::new()),
    ];
    let mut stmt = conn
        .prepare_cached(
            "SELECT role, contact FROM originals WHERE account = ?1 ORDER BY role, position",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([id_read], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(db)?;
    for row in rows {
        let (role, sealed) = row.map_err(db)?;
        let list = roles
            .iter_mut()
            .find(|(name, _)| *name == role)
            .ok_or_else(|| corrupt("originals"))?;
        list.1.push(codec.open(&sealed)?);
    }
    let [
        (_, recovered_originals),
        (_, hold_originals),
        (_, recovered_through),
        (_, hold_through),
    ] = roles;
    let mut stmt = conn
        .prepare_cached("SELECT digest, expires_at FROM tickets WHERE account = ?1")
        .map_err(db)?;
    let tickets = stmt
        .query_map([id_read], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(db)?
        .map(|t| {
            let (digest, expires_at) = t.map_err(db)?;
            Ok(TicketRecord {
                digest: digest.try_into().map_err(|_| corrupt("ticket"))?,
                expires_at: ts(expires_at),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let Some((_, next_info_id, recovered_at, hold_until, locale)) = head else {
        return Ok(None);
    };
    Ok(Some(Account::from_parts(AccountParts {
        id: id.clone(),
        info,
        next_info_id: u32::try_from(next_info_id).map_err(|_| corrupt("account"))?,
        recovered: recovered_at.map(|at| Recovered {
            at: ts(at),
            originals: recovered_originals,
            through: recovered_through,
        }),
        hold: hold_until.map(|until| Hold {
            until: ts(until),
            originals: hold_originals,
            through: hold_through,
        }),
        tickets,
        locale,
    })))
}

/// Writes `account` over whatever is stored, inside the caller's transaction.
fn save_account(conn: &Connection, codec: &ContactCodec, account: &Account) -> Result<(), Error> {
    let p = account.to_parts();
    let id = p.id.as_str();
    for info in account.verified() {
        let owner: Option<String> = conn
            .query_row(
                "SELECT account FROM verified_contacts WHERE lookup = ?1",
                [codec.index(&info.contact)],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        if owner.is_some_and(|o| o != id) {
            return Err(Error::ContactInUse);
        }
    }
    conn.execute(
        "INSERT INTO accounts (id, next_info_id, recovered_at, hold_until, locale) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET next_info_id = ?2, \
         recovered_at = ?3, hold_until = ?4, locale = ?5",
        params![
            id,
            p.next_info_id,
            p.recovered.as_ref().map(|r| ms(r.at)),
            p.hold.as_ref().map(|h| ms(h.until)),
            p.locale,
        ],
    )
    .map_err(db)?;
    for table in ["security_info", "originals", "tickets", "verified_contacts"] {
        conn.execute(&format!("DELETE FROM {table} WHERE account = ?1"), [id])
            .map_err(db)?;
    }
    for i in &p.info {
        conn.execute(
            "INSERT INTO security_info (account, id, contact, verified, added_at, verified_at, replaces) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id,
                i.id.0,
                codec.seal(&i.contact),
                i.is_verified(),
                ms(i.added_at),
                i.verified_at.map(ms),
                i.replaces.map(|r| r.0),
            ],
        )
        .map_err(db)?;
        if i.is_verified() {
            conn.execute(
                "INSERT INTO verified_contacts (lookup, account) VALUES (?1, ?2)",
                params![codec.index(&i.contact), id],
            )
            .map_err(db)?;
        }
    }
    let roles = [
        ("recovered", p.recovered.as_ref().map(|r| &r.originals)),
        ("hold", p.hold.as_ref().map(|h| &h.originals)),
        (
            "recovered_through",
            p.recovered.as_ref().map(|r| &r.through),
        ),
        ("hold_through", p.hold.as_ref().map(|h| &h.through)),
    ];
    for (role, contacts) in roles {
        for (position, c) in contacts.into_iter().flatten().enumerate() {
            conn.execute(
                "INSERT INTO originals (account, role, position, contact) VALUES (?1, ?2, ?3, ?4)",
                params![id, role, position as i64, codec.seal(c)],
            )
            .map_err(db)?;
        }
    }
    for t in &p.tickets {
        conn.execute(
            "INSERT INTO tickets (account, digest, expires_at) VALUES (?1, ?2, ?3)",
            params![id, &t.digest[..], ms(t.expires_at)],
        )
        .map_err(db)?;
    }
    Ok(())
}

// ----- ports ------------------------------------------------------------------------

impl ChallengeStore for SqliteStore {
    async fn insert(&self, challenge: Challenge, now: Timestamp) -> Result<(), Error> {
        self.call(move |conn, codec| {
            let tx = immediate(conn)?;
            tx.execute(
                "DELETE FROM challenges WHERE id IN \
                 (SELECT id FROM challenges WHERE retain_until <= ?1 LIMIT ?2)",
                params![ms(now), SWEEP_ON_INSERT],
            )
            .map_err(db)?;
            write_challenge(&tx, codec, &challenge, true)?;
            tx.commit().map_err(db)
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
            for (index, b) in budgets.iter().enumerate() {
                let counted =
                    update_counter_in(&tx, &counter_key(&b.key), &mut |c: &mut Counter| {
                        b.apply(c, now)
                    })?;
                if let Err(retry_after) = counted {
                    return Ok(Err((index, retry_after)));
                }
            }
            tx.commit().map_err(db)?;
            Ok(Ok(()))
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
