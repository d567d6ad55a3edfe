//! The SQLite file's schema and its migrations.
//!
//! Since version 5 a file holds each record in the crate's stored form (the
//! bytes of [`record`](crate::store::record), as Redis and PostgreSQL do), next
//! to the columns it is found or swept by:
//!
//! * `challenges (id, data, retain_until)`, `counters (key, data, expires_at)`;
//! * `accounts (id, data)` and the ownership index `verified_contacts (lookup,
//!   account)`: a verified contact's identity (or its keyed hash) → its account;
//! * `settings (name, value)`: `contacts` is `sealed` once every contact in the
//!   file is encrypted with [`DataKeys`](crate::DataKeys), `clear` otherwise.
//!
//! Versions 1–4 kept each field in a column and an account in five tables; the
//! readers of that layout live here, for the one migration that leaves it.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{db, immediate, ms, save_account};
use crate::account::{
    Account, AccountParts, Hold, InfoState, Recovered, SecurityInfo, SecurityInfoId, TicketRecord,
};
use crate::challenge::{AccountId, Challenge, ChallengeId, ChallengeParts, Status};
use crate::clock::Timestamp;
use crate::code::{Alphabet, CodeFormat};
use crate::contact::Contact;
use crate::counter::Counter;
use crate::error::Error;
use crate::policy::Purpose;
use crate::store::cipher::ContactCodec;
use crate::store::record::{encode_account, encode_challenge, encode_counter};

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
/// 5. Records in the stored form ([`store_whole_records`]).
const MIGRATIONS: [Migration; 5] = [
    Migration::Sql(SCHEMA_V1),
    Migration::Rust(migrate_lookups_to_identity),
    Migration::Sql("ALTER TABLE challenges ADD COLUMN proof_spent INTEGER NOT NULL DEFAULT 0"),
    Migration::Sql("ALTER TABLE accounts ADD COLUMN locale TEXT"),
    Migration::Rust(store_whole_records),
];

/// One step of [`MIGRATIONS`].
enum Migration {
    /// Statements run as they are.
    Sql(&'static str),
    /// A step that reads and rewrites rows (with the contact codec the file is
    /// opened with).
    Rust(fn(&Transaction<'_>, &ContactCodec) -> Result<(), Error>),
}

/// The schema version this crate writes (`PRAGMA user_version`).
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

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

/// Version 5's tables, created beside the old ones as `<name>_v5` and renamed
/// once the old ones are gone (SQLite rewrites the foreign key with the name).
const SCHEMA_V5: &str = "
CREATE TABLE challenges_v5 (
    id BLOB PRIMARY KEY,
    data BLOB NOT NULL,
    retain_until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE counters_v5 (
    key BLOB PRIMARY KEY,
    data BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE accounts_v5 (
    id TEXT PRIMARY KEY,
    data BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE verified_contacts_v5 (
    lookup TEXT PRIMARY KEY,
    account TEXT NOT NULL REFERENCES accounts_v5 (id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
";

const SCHEMA_V5_SWAP: &str = "
DROP TABLE security_info;
DROP TABLE originals;
DROP TABLE tickets;
DROP TABLE verified_contacts;
DROP TABLE accounts;
DROP TABLE challenges;
DROP TABLE counters;
ALTER TABLE challenges_v5 RENAME TO challenges;
ALTER TABLE counters_v5 RENAME TO counters;
ALTER TABLE accounts_v5 RENAME TO accounts;
ALTER TABLE verified_contacts_v5 RENAME TO verified_contacts;
CREATE INDEX challenges_retain_until ON challenges (retain_until);
CREATE INDEX counters_expires_at ON counters (expires_at);
CREATE INDEX verified_contacts_account ON verified_contacts (account);
";

/// What `settings.contacts` says of a file's contacts.
const SEALED: &str = "sealed";
const CLEAR: &str = "clear";

/// Configures a connection, migrates the file to [`SCHEMA_VERSION`] and makes
/// its contacts match `codec`: a file in the clear opened with keys is sealed
/// (in one transaction, then vacuumed, so the freed pages that held the clear
/// text go too); a sealed file opened without keys is refused.
pub(super) fn prepare(conn: &mut Connection, codec: &ContactCodec) -> Result<(), Error> {
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(db)?;
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
            Migration::Rust(step) => step(&tx, codec)?,
        }
    }
    if version < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(db)?;
    }
    let contacts: Option<String> = tx
        .query_row(
            "SELECT value FROM settings WHERE name = 'contacts'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    let sealed = contacts.as_deref() == Some(SEALED);
    if sealed && !codec.is_encrypted() {
        return Err(encrypted_without_keys());
    }
    let seal = !sealed && codec.is_encrypted();
    if seal {
        seal_records(&tx, codec)?;
    }
    tx.commit().map_err(db)?;
    // A migrated file is vacuumed too: its old tables' pages may hold contacts
    // in the clear that it now holds sealed.
    if seal || (0 < version && version < SCHEMA_VERSION) {
        conn.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(db)?;
    }
    Ok(())
}

fn encrypted_without_keys() -> Error {
    Error::store("the file's contacts are encrypted: open it with SqliteStore::open_encrypted")
}

/// Records whether every contact in the file is sealed.
fn mark_contacts(tx: &Transaction<'_>, codec: &ContactCodec) -> Result<(), Error> {
    let value = if codec.is_encrypted() { SEALED } else { CLEAR };
    tx.execute(
        "INSERT INTO settings (name, value) VALUES ('contacts', ?1) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [value],
    )
    .map_err(db)?;
    Ok(())
}

/// Rewrites every challenge and account with `codec` (which opens clear and
/// sealed contacts alike and seals what it writes), rebuilding the ownership
/// index under its keyed hash.
fn seal_records(tx: &Transaction<'_>, codec: &ContactCodec) -> Result<(), Error> {
    use crate::store::record::{decode_account, decode_challenge};
    type Rows = Vec<(Vec<u8>, Vec<u8>)>;
    let rows = |sql: &str| -> Result<Rows, Error> {
        let mut stmt = tx.prepare(sql).map_err(db)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        Ok(rows)
    };
    for (id, data) in rows("SELECT id, data FROM challenges")? {
        let challenge = decode_challenge(&data, codec)?;
        tx.execute(
            "UPDATE challenges SET data = ?1 WHERE id = ?2",
            params![encode_challenge(&challenge, codec), id],
        )
        .map_err(db)?;
    }
    tx.execute("DELETE FROM verified_contacts", [])
        .map_err(db)?;
    for (id, data) in rows("SELECT CAST(id AS BLOB), data FROM accounts")? {
        let id = AccountId::new(String::from_utf8(id).map_err(|_| corrupt("account id"))?)?;
        let account = decode_account(id, &data, codec)?;
        save_account(tx, codec, &account)?;
    }
    mark_contacts(tx, codec)
}

fn corrupt(what: &'static str) -> Error {
    Error::store(format!("stored {what} is not valid"))
}

fn ts(v: i64) -> Timestamp {
    Timestamp::from_unix_millis(u64::try_from(v).unwrap_or(0))
}

/// Version 1 → 2: rebuilds the ownership index under [`Contact::identity`].
///
/// Version 1 keyed it by the lower-cased address as typed, so two spellings of one
/// mailbox (`x@exämple.com`, `x@xn--exmple-cua.com`) could be verified on two
/// accounts. Where that happened, the earliest verification keeps the contact and
/// later ones go back to pending: a contact is never moved, and a pending entry is
/// used for nothing until it is proven again (when it would meet
/// [`Error::ContactInUse`]).
fn migrate_lookups_to_identity(tx: &Transaction<'_>, _: &ContactCodec) -> Result<(), Error> {
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

/// Version 4 → 5: every challenge, counter and account rewritten in the stored
/// form, the ownership index rebuilt from the accounts, the column tables
/// dropped. Contacts are written as `codec` writes them (sealed with keys, in
/// the clear without); a version-4 file that holds sealed contacts needs the
/// keys to be read, so opening it without them is refused and leaves it as it
/// was.
fn store_whole_records(tx: &Transaction<'_>, codec: &ContactCodec) -> Result<(), Error> {
    if !codec.is_encrypted() {
        let sealed: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM challenges WHERE destination LIKE 'c1.%') \
                 OR EXISTS (SELECT 1 FROM security_info WHERE contact LIKE 'c1.%') \
                 OR EXISTS (SELECT 1 FROM originals WHERE contact LIKE 'c1.%')",
                [],
                |r| r.get(0),
            )
            .map_err(db)?;
        if sealed {
            return Err(encrypted_without_keys());
        }
    }
    tx.execute_batch(SCHEMA_V5).map_err(db)?;
    let challenges = {
        let mut stmt = tx
            .prepare(&format!("SELECT {V4_CHALLENGE_COLUMNS} FROM challenges"))
            .map_err(db)?;
        stmt.query_map([], |row| {
            Ok(read_v4_challenge(row, codec).map(|c| (c, row.get::<_, i64>(18))))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?
    };
    for read in challenges {
        let (challenge, retain_until) = read?;
        tx.execute(
            "INSERT INTO challenges_v5 (id, data, retain_until) VALUES (?1, ?2, ?3)",
            params![
                &challenge.id().as_bytes()[..],
                encode_challenge(&challenge, codec),
                retain_until.map_err(db)?,
            ],
        )
        .map_err(db)?;
    }
    let counters = {
        let mut stmt = tx
            .prepare("SELECT key, count, window_start, blocked_until, expires_at FROM counters")
            .map_err(db)?;
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                Counter {
                    count: r.get(1)?,
                    window_start: ts(r.get(2)?),
                    blocked_until: ts(r.get(3)?),
                    expires_at: ts(r.get(4)?),
                },
            ))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?
    };
    for (key, counter) in counters {
        tx.execute(
            "INSERT INTO counters_v5 (key, data, expires_at) VALUES (?1, ?2, ?3)",
            params![key, encode_counter(&counter), ms(counter.expires_at)],
        )
        .map_err(db)?;
    }
    let ids = {
        let mut stmt = tx.prepare("SELECT id FROM accounts").map_err(db)?;
        stmt.query_map([], |r| r.get::<_, String>(0))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?
    };
    for id in ids {
        let account = read_v4_account(tx, codec, AccountId::new(id)?)?;
        let id = account.id().as_str();
        tx.execute(
            "INSERT INTO accounts_v5 (id, data) VALUES (?1, ?2)",
            params![id, encode_account(&account, codec)],
        )
        .map_err(db)?;
        for info in account.verified() {
            tx.execute(
                "INSERT INTO verified_contacts_v5 (lookup, account) VALUES (?1, ?2)",
                params![codec.index(&info.contact), id],
            )
            .map_err(db)?;
        }
    }
    tx.execute_batch(SCHEMA_V5_SWAP).map_err(db)?;
    mark_contacts(tx, codec)
}

const V4_CHALLENGE_COLUMNS: &str = "id, salt, account, destination, expires_at, last_sent_at, \
     key_id, resend_cooldown_secs, generation, attempts, max_attempts, sends, max_sends, \
     purpose, alphabet, length, status, decoy, retain_until, proof_spent";

/// A challenge row of versions 1–4 ([`V4_CHALLENGE_COLUMNS`]).
fn read_v4_challenge(row: &rusqlite::Row<'_>, codec: &ContactCodec) -> Result<Challenge, Error> {
    let text = |i: usize| row.get::<_, String>(i).map_err(db);
    let id: Vec<u8> = row.get(0).map_err(db)?;
    let salt: Vec<u8> = row.get(1).map_err(db)?;
    Ok(Challenge::from_parts(ChallengeParts {
        id: ChallengeId::from_bytes(id.try_into().map_err(|_| corrupt("challenge id"))?),
        salt: salt.try_into().map_err(|_| corrupt("salt"))?,
        account: AccountId::new(text(2)?)?,
        destination: codec.open(&text(3)?)?,
        expires_at: ts(row.get(4).map_err(db)?),
        last_sent_at: ts(row.get(5).map_err(db)?),
        key_id: row.get(6).map_err(db)?,
        resend_cooldown_secs: row.get(7).map_err(db)?,
        generation: row.get(8).map_err(db)?,
        attempts: row.get(9).map_err(db)?,
        max_attempts: row.get(10).map_err(db)?,
        sends: row.get(11).map_err(db)?,
        max_sends: row.get(12).map_err(db)?,
        purpose: Purpose::from_name(&text(13)?).ok_or(corrupt("purpose"))?,
        format: CodeFormat::new(
            Alphabet::from_name(&text(14)?).ok_or(corrupt("alphabet"))?,
            row.get(15).map_err(db)?,
        )?,
        status: Status::from_name(&text(16)?).ok_or(corrupt("status"))?,
        decoy: row.get(17).map_err(db)?,
        proof_spent: row.get(19).map_err(db)?,
        check: None,
        binding: None,
    }))
}

/// An account of versions 1–4: its row and its rows in `security_info`,
/// `originals` (by role) and `tickets`.
fn read_v4_account(
    tx: &Transaction<'_>,
    codec: &ContactCodec,
    id: AccountId,
) -> Result<Account, Error> {
    let (next_info_id, recovered_at, hold_until, locale): (
        u32,
        Option<i64>,
        Option<i64>,
        Option<String>,
    ) = tx
        .query_row(
            "SELECT next_info_id, recovered_at, hold_until, locale FROM accounts WHERE id = ?1",
            [id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(db)?;
    let mut stmt = tx
        .prepare(
            "SELECT id, contact, verified, added_at, verified_at, replaces FROM security_info \
             WHERE account = ?1 ORDER BY id",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([id.as_str()], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<u32>>(5)?,
            ))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let mut info = Vec::new();
    for (info_id, contact, verified, added_at, verified_at, replaces) in rows {
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
    let role = |role: &str| -> Result<Vec<Contact>, Error> {
        let mut stmt = tx
            .prepare(
                "SELECT contact FROM originals WHERE account = ?1 AND role = ?2 ORDER BY position",
            )
            .map_err(db)?;
        let sealed = stmt
            .query_map([id.as_str(), role], |r| r.get::<_, String>(0))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        sealed.iter().map(|s| codec.open(s)).collect()
    };
    let recovered = match recovered_at {
        Some(at) => Some(Recovered {
            at: ts(at),
            originals: role("recovered")?,
            through: role("recovered_through")?,
        }),
        None => None,
    };
    let hold = match hold_until {
        Some(until) => Some(Hold {
            until: ts(until),
            originals: role("hold")?,
            through: role("hold_through")?,
        }),
        None => None,
    };
    let mut stmt = tx
        .prepare("SELECT digest, expires_at FROM tickets WHERE account = ?1")
        .map_err(db)?;
    let tickets = stmt
        .query_map([id.as_str()], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?
        .into_iter()
        .map(|(digest, expires_at)| {
            Ok(TicketRecord {
                digest: digest.try_into().map_err(|_| corrupt("ticket"))?,
                expires_at: ts(expires_at),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Account::from_parts(AccountParts {
        id,
        info,
        next_info_id,
        recovered,
        hold,
        tickets,
        locale,
        recovery_code: None,
        apps: Vec::new(),
    }))
}
