//! The demo's shared state: the seccode flows on one SQLite file, and the demo's
//! own tables in the same file — its secrets (so every process derives the same
//! codes and signs the same cookies), demo passwords, and the dev mailbox.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rand::Rng;
use rusqlite::{Connection, OptionalExtension, params};
use seccode::channel::{BoxError, DeliveryChannel, Message, MessageKind};
use seccode::store::AccountStore;
use seccode::{
    Account, AccountId, AccountSecurity, Contact, DecoyProfile, FlowSettings, Keyring, SecretKey,
    SecurityCodes, SqliteStore,
};
use sha2::{Digest, Sha256};

pub type Flows = AccountSecurity<Arc<SqliteStore>, Arc<SqliteStore>, Mailbox>;

/// What every handler shares.
pub struct AppState {
    pub flows: Flows,
    pub db: Db,
    /// Signs session cookies.
    pub cookie_key: [u8; 32],
}

/// The demo's own tables, beside seccode's in the same SQLite file.
#[derive(Clone)]
pub struct Db(Arc<Mutex<Connection>>);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS demo_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS demo_passwords (account TEXT PRIMARY KEY, digest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS demo_sessions (account TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS demo_mailbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sent_at INTEGER NOT NULL,
    masked_to TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL
);
";

/// One message in the dev mailbox.
pub struct Mail {
    pub id: i64,
    pub masked_to: String,
    pub kind: String,
    pub subject: String,
    pub body: String,
}

impl Db {
    pub fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self(Arc::new(Mutex::new(conn))))
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A 32-byte secret by name: created once by whichever process comes first,
    /// read by every other.
    pub fn secret(&self, name: &str) -> Result<[u8; 32], rusqlite::Error> {
        let conn = self.conn();
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        conn.execute(
            "INSERT OR IGNORE INTO demo_secrets (name, value) VALUES (?1, ?2)",
            params![name, &fresh[..]],
        )?;
        let value: Vec<u8> = conn.query_row(
            "SELECT value FROM demo_secrets WHERE name = ?1",
            [name],
            |r| r.get(0),
        )?;
        let mut out = [0u8; 32];
        if value.len() == 32 {
            out.copy_from_slice(&value);
        }
        Ok(out)
    }

    fn digest(account: &str, password: &str) -> Vec<u8> {
        // A demo, not a password store: use argon2id or similar in a real app.
        Sha256::digest(format!("seccode-demo\0{account}\0{password}")).to_vec()
    }

    pub fn set_password(&self, account: &AccountId, password: &str) -> Result<(), rusqlite::Error> {
        self.conn().execute(
            "REPLACE INTO demo_passwords (account, digest) VALUES (?1, ?2)",
            params![account.as_str(), Self::digest(account.as_str(), password)],
        )?;
        Ok(())
    }

    pub fn password_ok(&self, account: &AccountId, password: &str) -> bool {
        let stored: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT digest FROM demo_passwords WHERE account = ?1",
                [account.as_str()],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten();
        let typed = Self::digest(account.as_str(), password);
        stored.is_some_and(|s| subtle::ConstantTimeEq::ct_eq(&s[..], &typed[..]).into())
    }

    /// The account's session version: a session cookie naming another one has
    /// ended. A read that fails answers -1, which no cookie names (the safe
    /// direction: signed out).
    pub fn session_version(&self, account: &AccountId) -> i64 {
        self.conn()
            .query_row(
                "SELECT version FROM demo_sessions WHERE account = ?1",
                [account.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_or(-1, |v| v.unwrap_or(0))
    }

    /// Ends every session of `account`, on every process.
    pub fn end_sessions(&self, account: &AccountId) -> Result<(), rusqlite::Error> {
        self.conn().execute(
            "INSERT INTO demo_sessions (account, version) VALUES (?1, 1) \
             ON CONFLICT (account) DO UPDATE SET version = version + 1",
            [account.as_str()],
        )?;
        Ok(())
    }

    pub fn deliver(&self, message: &Message) -> Result<(), rusqlite::Error> {
        let kind = match message.kind() {
            MessageKind::Code => "code",
            _ => "notice",
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.conn().execute(
            "INSERT INTO demo_mailbox (sent_at, masked_to, kind, subject, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now, message.to().masked().as_str(), kind, message.subject(), message.body()],
        )?;
        Ok(())
    }

    /// The newest messages first.
    pub fn mailbox(&self, limit: usize) -> Result<Vec<Mail>, rusqlite::Error> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, masked_to, kind, subject, body FROM demo_mailbox ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(Mail {
                id: r.get(0)?,
                masked_to: r.get(1)?,
                kind: r.get(2)?,
                subject: r.get(3)?,
                body: r.get(4)?,
            })
        })?;
        rows.collect()
    }
}

/// The dev mailbox as a delivery channel: every message lands in the demo's
/// table, with the address masked and the text in full, for the /mailbox page.
/// Never do this in production: it keeps codes.
#[derive(Clone)]
pub struct Mailbox(pub Db);

impl DeliveryChannel for Mailbox {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        let db = self.0.clone();
        let message = message.clone();
        tokio::task::spawn_blocking(move || db.deliver(&message))
            .await
            .map_err(|e| -> BoxError { Box::new(e) })?
            .map_err(|e| -> BoxError { Box::new(e) })
    }
}

/// The demo accounts, created once; their password is shown on the sign-in page.
pub const DEMO_PASSWORD: &str = "demo-password";
pub const DEMO_ACCOUNTS: [(&str, &str, &str); 2] = [
    ("john", "john.doe@example.com", "+1 425 555 0123"),
    ("jane", "jane.roe@example.com", "+44 7400 123456"),
];

/// Opens the stores on `path` and seeds the demo accounts if they are missing.
pub async fn open(path: &Path) -> Result<Arc<AppState>, Box<dyn std::error::Error>> {
    let db = Db::open(path)?;
    // Contacts encrypted at rest; the demo keeps its keys in its own table (a real
    // deployment loads them from a secrets manager).
    let data_keys = seccode::DataKeys::new(
        1,
        SecretKey::from_bytes(db.secret("data_key")?),
        SecretKey::from_bytes(db.secret("index_key")?),
    );
    let store = Arc::new(SqliteStore::open_encrypted(path, data_keys)?);
    let keyring = Keyring::new(1, SecretKey::from_bytes(db.secret("code_key")?))
        .with_recovery_secret(SecretKey::from_bytes(db.secret("recovery_secret")?));
    let codes = SecurityCodes::new(store.clone(), Mailbox(db.clone()), keyring);
    // Made-up recovery answers list an authenticator app as often as real
    // accounts do: a deployment learns the rate from its accounts
    // (`DecoyProfile::learn`); the demo's few accounts say little, so it
    // states one.
    let profile = DecoyProfile::default().with_app_percent(20)?;
    let flows = AccountSecurity::new(codes, store)
        .with_settings(FlowSettings::default().with_decoy_profile(profile));
    for (id, email, phone) in DEMO_ACCOUNTS {
        let id = AccountId::new(id)?;
        if flows.accounts().get(&id).await?.is_some() {
            continue;
        }
        let now = flows.codes().now();
        let account = Account::new(id.clone())
            .with_verified_contact(Contact::email(email)?, now)?
            .with_verified_contact(Contact::phone(phone)?, now)?;
        match flows.accounts().create(account).await {
            // Another process seeded it first.
            Ok(()) | Err(seccode::Error::AccountExists) => {}
            Err(e) => return Err(e.into()),
        }
        db.set_password(&id, DEMO_PASSWORD)?;
    }
    let cookie_key = db.secret("cookie_key")?;
    Ok(Arc::new(AppState {
        flows,
        db,
        cookie_key,
    }))
}
