//! Contacts encrypted at rest: a dump of a persistent store, read as raw bytes,
//! holds no email address and no phone number of the 10 000 accounts and
//! challenges written to it — and the store still works, finds contacts by any
//! spelling, and encrypts what an older file held in the clear.

#![allow(clippy::unwrap_used)] // tests stop loudly on unexpected errors
// Every test here needs a persistent store.
#![cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]

mod common;

use std::sync::Arc;

use seccode::SendOptions;
use seccode::store::AccountStore;
use seccode::{
    Account, AccountId, Config, Contact, DataKeys, Keyring, Limits, Outbox, Purpose, SecretKey,
    SecurityCodes,
};

const N: usize = 10_000;

fn keys() -> DataKeys {
    DataKeys::new(
        1,
        SecretKey::from_bytes([0x41; 32]),
        SecretKey::from_bytes([0x42; 32]),
    )
}

fn email(i: usize) -> String {
    format!("person{i:05}@private-mail.example")
}

fn phone(i: usize) -> String {
    format!("+4474{i:08}")
}

/// Every place a contact could hide in `bytes`: its address, its local part, its
/// domain, its phone digits.
fn leaks(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut found = Vec::new();
    for needle in ["private-mail", "person0", "+4474"] {
        if text.contains(needle) {
            found.push(needle.to_owned());
        }
    }
    found
}

fn config() -> Config {
    let hour = std::time::Duration::from_secs(3600);
    let limits = Limits::builder()
        .send_caps(10, 1_000_000, 1_000_000, hour)
        .build()
        .unwrap();
    Config::default().with_limits(limits)
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_file_holds_no_contact_in_the_clear() {
    use seccode::SqliteStore;

    let dir = common::temp_dir("at-rest-sqlite");
    let path = dir.join("db.sqlite3");
    let store = Arc::new(SqliteStore::open_encrypted(&path, keys()).unwrap());
    let outbox = Arc::new(Outbox::new());
    let codes = SecurityCodes::new(
        store.clone(),
        outbox.clone(),
        Keyring::new(1, SecretKey::from_bytes([3; 32])),
    )
    .with_config(config());
    for i in 0..N {
        let id = AccountId::new(format!("acct-{i}")).unwrap();
        let account = Account::new(id.clone())
            .with_verified_contact(Contact::email(&email(i)).unwrap(), codes.now())
            .unwrap()
            .with_verified_contact(Contact::phone(&phone(i)).unwrap(), codes.now())
            .unwrap();
        store.create(account).await.unwrap();
        let to = if i % 2 == 0 { email(i) } else { phone(i) };
        codes
            .start(
                &id,
                Purpose::IdentityCheck,
                &Contact::parse(&to).unwrap(),
                SendOptions::default(),
            )
            .await
            .unwrap();
    }
    // It works: lookups by any spelling, contacts read back, codes verify.
    let found = store
        .find_verified(&Contact::email(&email(42).to_uppercase()).unwrap())
        .await
        .unwrap();
    assert_eq!(found, Some(AccountId::new("acct-42").unwrap()));
    let account = store
        .get(&AccountId::new("acct-7").unwrap())
        .await
        .unwrap()
        .unwrap();
    let contacts: Vec<&str> = account.verified().map(|i| i.contact.expose()).collect();
    assert_eq!(contacts, [email(7), phone(7)]);
    drop((codes, store));
    // The file and its write-ahead log: no address, no number.
    for file in ["db.sqlite3", "db.sqlite3-wal"] {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_default();
        assert!(leaks(&bytes).is_empty(), "{file}: {:?}", leaks(&bytes));
    }
    assert!(
        !leaks(b"person00001@private-mail.example").is_empty(),
        "the scan finds them"
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_file_written_in_the_clear_is_encrypted_on_open() {
    use seccode::SqliteStore;

    let dir = common::temp_dir("at-rest-migrate");
    let path = dir.join("db.sqlite3");
    let id = AccountId::new("old").unwrap();
    {
        let store = SqliteStore::open(&path).unwrap();
        let account = Account::new(id.clone())
            .with_verified_contact(
                Contact::email(&email(1)).unwrap(),
                seccode::Timestamp::UNIX_EPOCH,
            )
            .unwrap();
        store.create(account).await.unwrap();
    }
    let bytes = std::fs::read(&path).unwrap_or_default();
    let wal = std::fs::read(dir.join("db.sqlite3-wal")).unwrap_or_default();
    assert!(
        !leaks(&[bytes, wal].concat()).is_empty(),
        "written in the clear"
    );
    {
        let store = SqliteStore::open_encrypted(&path, keys()).unwrap();
        let found = store
            .find_verified(&Contact::email(&email(1)).unwrap())
            .await
            .unwrap();
        assert_eq!(found, Some(id.clone()));
        let account = store.get(&id).await.unwrap().unwrap();
        assert_eq!(
            account.verified().next().unwrap().contact.expose(),
            email(1)
        );
    }
    // Sealed and vacuumed: neither the file nor its log holds the address.
    let bytes = std::fs::read(&path).unwrap_or_default();
    let wal = std::fs::read(dir.join("db.sqlite3-wal")).unwrap_or_default();
    let found = leaks(&[bytes, wal].concat());
    assert!(found.is_empty(), "{found:?}");
    // Without the keys, the file does not open (its contacts would not read).
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, seccode::Error::Store(_)));
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread")]
async fn redis_records_hold_no_contact_in_the_clear() {
    use seccode::RedisStore;

    let server = common::RedisServer::start("at-rest");
    let store = Arc::new(
        RedisStore::connect_with_prefix(&server.url, "rest")
            .await
            .unwrap()
            .with_encryption(keys()),
    );
    let outbox = Arc::new(Outbox::new());
    let codes = SecurityCodes::new(
        store.clone(),
        outbox.clone(),
        Keyring::new(1, SecretKey::from_bytes([3; 32])),
    )
    .with_config(config());
    let mut last = None;
    for i in 0..N {
        let id = AccountId::new(format!("acct-{i}")).unwrap();
        let to = Contact::parse(&if i % 2 == 0 { email(i) } else { phone(i) }).unwrap();
        last = Some((
            codes
                .start(&id, Purpose::IdentityCheck, &to, SendOptions::default())
                .await
                .unwrap(),
            to,
        ));
    }
    // It works: the last code verifies.
    let (sent, to) = last.unwrap();
    let code = outbox.last_code_to(&to).unwrap();
    let v = codes
        .verify(&sent.id, Purpose::IdentityCheck, code.expose())
        .await
        .unwrap();
    assert!(v.is_approved());
    // An RDB dump of the whole server: no address, no number.
    let dump = std::env::temp_dir().join(format!("seccode-at-rest-{}.rdb", std::process::id()));
    let port = server
        .url
        .trim_start_matches("redis://127.0.0.1:")
        .trim_end_matches('/');
    let status = std::process::Command::new("redis-cli")
        .args(["-p", port, "--rdb"])
        .arg(&dump)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&dump).unwrap();
    let _ = std::fs::remove_file(&dump);
    assert!(
        bytes.len() > 100_000,
        "the dump holds the records ({} bytes)",
        bytes.len()
    );
    assert!(leaks(&bytes).is_empty(), "{:?}", leaks(&bytes));
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_dump_holds_no_contact_in_the_clear() {
    use seccode::PostgresStore;

    let server = common::PostgresServer::start("at-rest");
    // The control: without data keys, a dump shows the contact — the scan sees
    // what PostgreSQL writes.
    let clear = PostgresStore::connect(&server.database("clear"))
        .await
        .unwrap();
    let account = Account::new(AccountId::new("clear").unwrap())
        .with_verified_contact(
            Contact::email(&email(1)).unwrap(),
            seccode::Timestamp::UNIX_EPOCH,
        )
        .unwrap();
    clear.create(account).await.unwrap();
    assert!(
        !leaks(&server.dump("clear")).is_empty(),
        "the scan finds them"
    );

    let store = Arc::new(
        PostgresStore::connect(&server.database("rest"))
            .await
            .unwrap()
            .with_encryption(keys()),
    );
    let outbox = Arc::new(Outbox::new());
    let codes = Arc::new(
        SecurityCodes::new(
            store.clone(),
            outbox.clone(),
            Keyring::new(1, SecretKey::from_bytes([3; 32])),
        )
        .with_config(config()),
    );
    // Sixteen writers at once (a commit waits for the disk; they share it).
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let (store, codes) = (store.clone(), codes.clone());
            tokio::spawn(async move {
                for i in (w..N).step_by(16) {
                    let id = AccountId::new(format!("acct-{i}")).unwrap();
                    let account = Account::new(id.clone())
                        .with_verified_contact(Contact::email(&email(i)).unwrap(), codes.now())
                        .unwrap()
                        .with_verified_contact(Contact::phone(&phone(i)).unwrap(), codes.now())
                        .unwrap();
                    store.create(account).await.unwrap();
                    let to = if i % 2 == 0 { email(i) } else { phone(i) };
                    codes
                        .start(
                            &id,
                            Purpose::IdentityCheck,
                            &Contact::parse(&to).unwrap(),
                            SendOptions::default(),
                        )
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    // It works: lookups by any spelling, contacts read back, codes verify.
    let found = store
        .find_verified(&Contact::email(&email(42).to_uppercase()).unwrap())
        .await
        .unwrap();
    assert_eq!(found, Some(AccountId::new("acct-42").unwrap()));
    let account = store
        .get(&AccountId::new("acct-7").unwrap())
        .await
        .unwrap()
        .unwrap();
    let contacts: Vec<&str> = account.verified().map(|i| i.contact.expose()).collect();
    assert_eq!(contacts, [email(7), phone(7)]);
    let to = Contact::phone(&phone(43)).unwrap();
    let sent = codes
        .start(
            &AccountId::new("acct-43").unwrap(),
            Purpose::IdentityCheck,
            &to,
            SendOptions::default(),
        )
        .await
        .unwrap();
    let code = outbox.last_code_to(&to).unwrap();
    let v = codes
        .verify(&sent.id, Purpose::IdentityCheck, code.expose())
        .await
        .unwrap();
    assert!(v.is_approved());
    // A pg_dump of the database: no address, no number.
    let dump = server.dump("rest");
    assert!(
        dump.len() > 1_000_000,
        "the dump holds the records ({} bytes)",
        dump.len()
    );
    assert!(leaks(&dump).is_empty(), "{:?}", leaks(&dump));
}

/// Adds an app to a new account `id` of `accounts` (its last step accepted
/// at the clock's time plus 30 s) and answers the secret and the code of that
/// step.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn an_app_on<A: AccountStore + 'static, S: seccode::store::ChallengeStore + 'static>(
    flows: &seccode::AccountSecurity<A, S, Arc<Outbox>>,
    clock: &seccode::ManualClock,
    id: &AccountId,
) -> (seccode::SecurityInfoId, seccode::TotpSecret, String) {
    use seccode::{Clock, TotpSecret, TotpSettings};
    let account = Account::new(id.clone())
        .with_verified_contact(Contact::email("owner@example.org").unwrap(), clock.now())
        .unwrap();
    flows.accounts().create(account).await.unwrap();
    let enrolment = flows.start_add_authenticator(id, "Contoso").await.unwrap();
    let secret = TotpSecret::from_base32(enrolment.secret()).unwrap();
    let now = || clock.now().as_unix_millis() / 1000;
    let code = TotpSettings::default().code_at(&secret, now());
    flows
        .finish_add_authenticator(id, enrolment.entry, &code)
        .await
        .unwrap();
    clock.advance(std::time::Duration::from_secs(30));
    let code = TotpSettings::default().code_at(&secret, now()).to_string();
    flows
        .check_authenticator(id, enrolment.entry, &code)
        .await
        .unwrap();
    (enrolment.entry, secret, code)
}

/// Whether `bytes` hold `secret`'s bytes or its base32.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn holds_secret(bytes: &[u8], secret: &seccode::TotpSecret) -> bool {
    let base32 = secret.to_base32().replace(' ', "");
    String::from_utf8_lossy(bytes).contains(&base32)
        || bytes
            .windows(secret.expose().len())
            .any(|w| w == secret.expose())
}

/// An authenticator app's secret is kept sealed under the keyring in every
/// account store: a SQLite file (opened without `DataKeys`) holds neither the
/// secret's bytes nor its base32; and the last step accepted survives a
/// restart, so a code used before it is refused after.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn an_app_secret_is_sealed_in_the_file_and_its_last_step_survives_a_restart() {
    use seccode::{AccountSecurity, Clock, Error, ManualClock, SqliteStore, TotpSettings};

    let dir = common::temp_dir("at-rest-app");
    let path = dir.join("db.sqlite3");
    let clock = Arc::new(ManualClock::new(common::T0));
    let flows = |store: Arc<SqliteStore>| {
        let codes = SecurityCodes::new(
            store.clone(),
            Arc::new(Outbox::new()),
            Keyring::new(1, SecretKey::from_bytes([3; 32])),
        )
        .with_clock(clock.clone());
        AccountSecurity::new(codes, store)
    };
    let id = AccountId::new("app-owner").unwrap();
    let first = flows(Arc::new(SqliteStore::open(&path).unwrap()));
    let (entry, secret, code) = an_app_on(&first, &clock, &id).await;
    drop(first);
    let bytes: Vec<u8> = ["db.sqlite3", "db.sqlite3-wal"]
        .iter()
        .flat_map(|f| std::fs::read(dir.join(f)).unwrap_or_default())
        .collect();
    assert!(!holds_secret(&bytes, &secret), "no secret in the file");

    let again = flows(Arc::new(SqliteStore::open(&path).unwrap()));
    assert!(matches!(
        again.check_authenticator(&id, entry, &code).await,
        Err(Error::WrongAppCode)
    ));
    clock.advance(std::time::Duration::from_secs(30));
    let next = TotpSettings::default().code_at(&secret, clock.now().as_unix_millis() / 1000);
    again.check_authenticator(&id, entry, &next).await.unwrap();
}

/// The same on PostgreSQL: a dump holds no secret, a step used before a
/// reconnect is refused after, and 32 checks at once with one fresh code —
/// from 32 tasks over the pool — succeed once.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_secret_is_sealed_in_postgres_and_one_step_succeeds_once() {
    use seccode::{AccountSecurity, Clock, Error, ManualClock, PostgresStore, TotpSettings};

    let server = common::PostgresServer::start("at-rest-app");
    let url = server.database("apps");
    let clock = Arc::new(ManualClock::new(common::T0));
    let flows = |store: Arc<PostgresStore>| {
        let codes = SecurityCodes::new(
            store.clone(),
            Arc::new(Outbox::new()),
            Keyring::new(1, SecretKey::from_bytes([3; 32])),
        )
        .with_clock(clock.clone());
        Arc::new(AccountSecurity::new(codes, store))
    };
    let id = AccountId::new("app-owner").unwrap();
    let first = flows(Arc::new(PostgresStore::connect(&url).await.unwrap()));
    let (entry, secret, code) = an_app_on(&first, &clock, &id).await;
    drop(first);
    assert!(
        !holds_secret(&server.dump("apps"), &secret),
        "no secret in the dump"
    );

    let again = flows(Arc::new(PostgresStore::connect(&url).await.unwrap()));
    assert!(matches!(
        again.check_authenticator(&id, entry, &code).await,
        Err(Error::WrongAppCode)
    ));
    clock.advance(std::time::Duration::from_secs(30));
    let next = TotpSettings::default()
        .code_at(&secret, clock.now().as_unix_millis() / 1000)
        .to_string();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (flows, id, next) = (again.clone(), id.clone(), next.clone());
            tokio::spawn(async move { flows.check_authenticator(&id, entry, &next).await.is_ok() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1, "one step, one success");
}
