//! Files written by earlier versions of `SqliteStore` open, migrate once and
//! read back every record as it was written.
//!
//! `tests/data/schema-v4.sqlite3` (contacts in the clear) and
//! `schema-v4-sealed.sqlite3` (contacts sealed under [`data_keys`]) were written
//! by the crate at schema version 4 (commit 7b7d3fc, the last with records in
//! columns) from [`accounts`], [`challenges`] and [`counters`] below, then
//! checkpointed and vacuumed.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors

mod common;

use seccode::store::{
    AccountParts, AccountStore, Challenge, ChallengeParts, ChallengeStore, Counter, CounterKey,
    Hold, Recovered, TicketRecord,
};
use seccode::{
    Account, AccountId, ChallengeId, CodeFormat, Contact, DataKeys, InfoState, Purpose, SecretKey,
    SecurityInfo, SecurityInfoId, SqliteStore, Status, Timestamp,
};

/// The fixtures' epoch.
const T: u64 = 1_790_000_000_000;

/// `minutes` after [`T`].
fn at(minutes: u64) -> Timestamp {
    Timestamp::from_unix_millis(T + minutes * 60_000)
}

/// The keys `schema-v4-sealed.sqlite3` was sealed with.
fn data_keys() -> DataKeys {
    DataKeys::new(
        4,
        SecretKey::from_bytes([4; 32]),
        SecretKey::from_bytes([5; 32]),
    )
}

fn c(s: &str) -> Contact {
    Contact::parse(s).unwrap()
}

/// An account whose entries are `(contact, verified, replaces)`, with ids from 1
/// and times spread over minutes (fields set after construction:
/// `SecurityInfo` is non-exhaustive).
fn with_info(id: &str, entries: &[(&str, bool, Option<u32>)]) -> Vec<SecurityInfo> {
    let mut account = Account::new(AccountId::new(id).unwrap());
    for (contact, verified, replaces) in entries {
        if *verified {
            account = account.with_verified_contact(c(contact), at(0)).unwrap();
        } else {
            account
                .add_pending(
                    &c(contact),
                    replaces.map(SecurityInfoId),
                    10,
                    std::time::Duration::from_secs(3600),
                    at(0),
                )
                .unwrap();
        }
    }
    let mut info = account.to_parts().info;
    for (n, i) in info.iter_mut().enumerate() {
        i.added_at = at(n as u64 + 1);
        if i.state == InfoState::Verified {
            i.verified_at = Some(at(n as u64 + 2));
        }
    }
    info
}

/// Three accounts: verified and pending entries (one replacing a phone), a
/// recovery window, a hold, tickets and locales.
fn accounts() -> Vec<Account> {
    let alice = AccountParts {
        id: AccountId::new("alice").unwrap(),
        info: with_info(
            "alice",
            &[
                ("Alice.Smith@example.com", true, None),
                ("+14255550101", true, None),
                ("alice@exämple.org", false, None),
                ("+442071838750", false, Some(2)),
            ],
        ),
        next_info_id: 5,
        recovered: Some(Recovered {
            at: at(30),
            originals: vec![c("Alice.Smith@example.com"), c("+14255550101")],
            through: vec![c("Alice.Smith@example.com")],
        }),
        hold: None,
        tickets: vec![TicketRecord {
            digest: [9; 32],
            expires_at: at(45),
        }],
        locale: Some("fr-FR".into()),
        // Files written before recovery codes have none.
        recovery_code: None,
        apps: vec![],
    };
    let bob = AccountParts {
        id: AccountId::new("bob").unwrap(),
        info: with_info(
            "bob",
            &[
                ("bob@example.net", true, None),
                ("+14255550102", true, None),
            ],
        ),
        next_info_id: 4,
        recovered: Some(Recovered {
            at: at(20),
            originals: vec![c("bob@example.net")],
            through: vec![c("+14255550102")],
        }),
        hold: Some(Hold {
            until: at(60 * 24 * 30),
            originals: vec![c("bob@example.net")],
            through: vec![c("+14255550102")],
        }),
        tickets: vec![
            TicketRecord {
                digest: [1; 32],
                expires_at: at(50),
            },
            TicketRecord {
                digest: [2; 32],
                expires_at: at(55),
            },
        ],
        locale: None,
        recovery_code: None,
        apps: vec![],
    };
    let carol = AccountParts {
        id: AccountId::new("carol").unwrap(),
        info: vec![],
        next_info_id: 1,
        recovered: None,
        hold: None,
        tickets: vec![],
        locale: Some("de".into()),
        recovery_code: None,
        apps: vec![],
    };
    [alice, bob, carol]
        .into_iter()
        .map(Account::from_parts)
        .collect()
}

/// Challenge number `n` for `account`, pending, not a decoy, proof unspent.
fn challenge(
    n: u8,
    account: &str,
    purpose: Purpose,
    to: &str,
    format: CodeFormat,
) -> ChallengeParts {
    ChallengeParts {
        id: ChallengeId::from_bytes([n; 16]),
        salt: [n + 100; 16],
        account: AccountId::new(account).unwrap(),
        destination: c(to),
        expires_at: at(10 + u64::from(n)),
        last_sent_at: at(u64::from(n)),
        key_id: 1,
        generation: n,
        resend_cooldown_secs: 30,
        attempts: n % 3,
        max_attempts: 5,
        sends: 1 + n % 2,
        max_sends: 5,
        purpose,
        format,
        status: Status::Pending,
        decoy: false,
        proof_spent: false,
        // Records written before code checks have none.
        check: None,
        binding: None,
    }
}

/// Challenges of three purposes, formats and states (one decoy, one spent proof).
fn challenges() -> Vec<Challenge> {
    let pending = challenge(
        1,
        "alice",
        Purpose::IdentityCheck,
        "Alice.Smith@example.com",
        CodeFormat::digits(6).unwrap(),
    );
    let spent = ChallengeParts {
        status: Status::Approved,
        proof_spent: true,
        ..challenge(
            2,
            "bob",
            Purpose::ChangePhone,
            "+14255550102",
            CodeFormat::alphanumeric(8).unwrap(),
        )
    };
    let decoy = ChallengeParts {
        status: Status::Locked,
        decoy: true,
        ..challenge(
            3,
            "ghost-7f3a",
            Purpose::Recovery,
            "nobody@example.com",
            CodeFormat::digits(8).unwrap(),
        )
    };
    [pending, spent, decoy]
        .into_iter()
        .map(Challenge::from_parts)
        .collect()
}

/// Two counters, one blocking.
fn counters() -> Vec<(CounterKey, Counter)> {
    vec![
        (
            CounterKey::account_failures(&AccountId::new("alice").unwrap()),
            Counter {
                count: 3,
                window_start: at(1),
                blocked_until: Timestamp::UNIX_EPOCH,
                expires_at: at(61),
            },
        ),
        (
            CounterKey::destination_sends(&c("+14255550102")),
            Counter {
                count: 7,
                window_start: at(2),
                blocked_until: at(40),
                expires_at: at(62),
            },
        ),
    ]
}

/// A copy of a fixture in a fresh directory (the test opens and migrates it).
fn copy(fixture: &str, name: &str) -> (common::TempDir, std::path::PathBuf) {
    let dir = common::temp_dir(name);
    let path = dir.join("db.sqlite3");
    std::fs::copy(format!("tests/data/{fixture}"), &path).unwrap();
    (dir, path)
}

fn user_version(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// Every byte of the file and its log, for scanning.
fn file_bytes(path: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    bytes.extend(std::fs::read(path.with_extension("sqlite3-wal")).unwrap_or_default());
    bytes
}

/// Each contact of the fixtures as written, as it would appear in a file that
/// holds it in the clear.
const CLEAR_TEXTS: [&str; 6] = [
    "Alice.Smith@example.com",
    "+14255550101",
    "+442071838750",
    "bob@example.net",
    "+14255550102",
    "nobody@example.com",
];

fn leaks(bytes: &[u8]) -> Vec<&'static str> {
    CLEAR_TEXTS
        .into_iter()
        .filter(|t| bytes.windows(t.len()).any(|w| w == t.as_bytes()))
        .collect()
}

/// The store holds exactly the fixture's records: accounts, challenges,
/// counters, and the ownership index of every verified contact.
async fn assert_holds_the_fixture(store: &SqliteStore) {
    for account in accounts() {
        let read = AccountStore::get(store, account.id()).await.unwrap();
        assert_eq!(read.as_ref(), Some(&account), "{}", account.id());
        for info in account.security_info() {
            let owner = store.find_verified(&info.contact).await.unwrap();
            let expected = info.is_verified().then(|| account.id().clone());
            assert_eq!(owner, expected, "{}", info.contact.expose());
        }
    }
    for challenge in challenges() {
        let read = ChallengeStore::get(store, challenge.id()).await.unwrap();
        assert_eq!(read.as_ref(), Some(&challenge));
    }
    for (key, counter) in counters() {
        assert_eq!(store.get_counter(&key).await.unwrap(), Some(counter));
    }
}

#[tokio::test]
async fn a_schema_4_file_reads_back_every_record_in_the_stored_form() {
    let (_dir, path) = copy("schema-v4.sqlite3", "migrate-v4");
    assert_eq!(user_version(&path), 4);
    let store = SqliteStore::open(&path).unwrap();
    assert_holds_the_fixture(&store).await;
    // The records are written again and read back; the index still refuses a
    // contact another account verified.
    let carol = AccountId::new("carol").unwrap();
    let taken = AccountStore::update(&store, &carol, |a| {
        *a = a
            .clone()
            .with_verified_contact(Contact::parse("BOB@example.net").unwrap(), at(99))?;
        Ok(())
    })
    .await;
    assert!(
        matches!(taken, Err(seccode::Error::ContactInUse)),
        "{taken:?}"
    );
    drop(store);
    // Migrated once: version 5, the column tables gone, and reopening reads
    // the same records.
    assert_eq!(user_version(&path), 5);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        tables,
        [
            "accounts",
            "challenges",
            "counters",
            "settings",
            "verified_contacts"
        ]
    );
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    assert_holds_the_fixture(&store).await;
}

#[tokio::test]
async fn a_sealed_schema_4_file_migrates_with_its_keys_and_is_refused_without_them() {
    let (_dir, path) = copy("schema-v4-sealed.sqlite3", "migrate-v4-sealed");
    assert!(
        leaks(&file_bytes(&path)).is_empty(),
        "the fixture is sealed"
    );
    // Without the keys: refused, naming the way to open it, and left as it was.
    let err = SqliteStore::open(&path).unwrap_err();
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("open_encrypted"), "{source}");
    assert_eq!(user_version(&path), 4);
    // With them: migrated, every record reads back, nothing in the clear.
    let store = SqliteStore::open_encrypted(&path, data_keys()).unwrap();
    assert_holds_the_fixture(&store).await;
    drop(store);
    assert_eq!(user_version(&path), 5);
    assert!(
        leaks(&file_bytes(&path)).is_empty(),
        "{:?}",
        leaks(&file_bytes(&path))
    );
    // Still refused without them after the migration.
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, seccode::Error::Store(_)));
}

#[tokio::test]
async fn a_clear_schema_4_file_opened_with_keys_is_migrated_and_sealed() {
    let (_dir, path) = copy("schema-v4.sqlite3", "migrate-v4-seal");
    assert_eq!(
        leaks(&file_bytes(&path)).len(),
        CLEAR_TEXTS.len(),
        "the scan finds them"
    );
    let store = SqliteStore::open_encrypted(&path, data_keys()).unwrap();
    assert_holds_the_fixture(&store).await;
    drop(store);
    assert!(
        leaks(&file_bytes(&path)).is_empty(),
        "{:?}",
        leaks(&file_bytes(&path))
    );
}
