//! Services, verifications, API keys and rate limits: in the server's SQLite
//! file (one server), or in PostgreSQL (several servers behind a load
//! balancer). Every statement is written once, with `?N` parameters, and run
//! on either.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use seccode::store::{deadpool_postgres, tokio_postgres};

/// A Verify service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// `VA…`.
    pub sid: String,
    /// The owning account, `AC…`.
    pub account_sid: String,
    /// Its name (shown in messages).
    pub friendly_name: String,
    /// Digits per code, 4–10.
    pub code_length: u8,
    /// Whether SMS bodies carry a "do not share" warning (stored and echoed).
    pub do_not_share_warning_enabled: bool,
    /// Created, Unix milliseconds.
    pub created: i64,
    /// Last updated, Unix milliseconds.
    pub updated: i64,
}

/// A verification: one seccode challenge, and what the API reports of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// `VE` + the challenge id in hex.
    pub sid: String,
    /// Its service.
    pub service_sid: String,
    /// The account.
    pub account_sid: String,
    /// Where the code goes, as given (E.164 or an email address).
    pub to: String,
    /// The contact's identity (how `To` is matched).
    pub identity: String,
    /// `sms`, `call` or `email`.
    pub channel: String,
    /// Where it stands.
    pub status: VerificationStatus,
    /// Send attempts: (Unix ms, channel, `VL…`).
    pub attempts: Vec<(i64, String, String)>,
    /// Created, Unix milliseconds.
    pub created: i64,
    /// Last updated, Unix milliseconds.
    pub updated: i64,
}

/// Where a verification stands, as Twilio names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerificationStatus {
    /// Waiting for its code.
    Pending,
    /// Its code was checked right (or the API approved it).
    Approved,
    /// Canceled through the API.
    Canceled,
    /// Closed after too many wrong checks.
    MaxAttemptsReached,
    /// Its code expired.
    Expired,
}

impl VerificationStatus {
    /// Twilio's name: `pending`, `approved`, `canceled`,
    /// `max_attempts_reached`, `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationStatus::Pending => "pending",
            VerificationStatus::Approved => "approved",
            VerificationStatus::Canceled => "canceled",
            VerificationStatus::MaxAttemptsReached => "max_attempts_reached",
            VerificationStatus::Expired => "expired",
        }
    }

    /// The status named `name`; anything unknown reads as expired (a code
    /// that no longer verifies).
    pub fn parse(name: &str) -> Self {
        match name {
            "pending" => VerificationStatus::Pending,
            "approved" => VerificationStatus::Approved,
            "canceled" => VerificationStatus::Canceled,
            "max_attempts_reached" => VerificationStatus::MaxAttemptsReached,
            _ => VerificationStatus::Expired,
        }
    }
}

/// A challenge's status as the verification's.
impl From<seccode::Status> for VerificationStatus {
    fn from(status: seccode::Status) -> Self {
        match status {
            seccode::Status::Pending => VerificationStatus::Pending,
            seccode::Status::Approved => VerificationStatus::Approved,
            seccode::Status::Canceled => VerificationStatus::Canceled,
            seccode::Status::Locked => VerificationStatus::MaxAttemptsReached,
            _ => VerificationStatus::Expired,
        }
    }
}

impl serde::Serialize for VerificationStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A service's rate limit: a name the verifications' `RateLimits` values are
/// counted under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// `RK…`.
    pub sid: String,
    /// Its service.
    pub service_sid: String,
    /// The account.
    pub account_sid: String,
    /// The key a verification's `RateLimits` names it by.
    pub unique_name: String,
    /// A description.
    pub description: Option<String>,
    /// Created, Unix milliseconds.
    pub created: i64,
    /// Last updated, Unix milliseconds.
    pub updated: i64,
}

/// A bucket of a rate limit: at most `max` verifications per `interval`
/// seconds for each value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// `BL…`.
    pub sid: String,
    /// Its rate limit.
    pub rate_limit_sid: String,
    /// Its service.
    pub service_sid: String,
    /// The account.
    pub account_sid: String,
    /// Verifications per interval.
    pub max: u32,
    /// Seconds.
    pub interval: u32,
    /// Created, Unix milliseconds.
    pub created: i64,
    /// Last updated, Unix milliseconds.
    pub updated: i64,
}

/// Where the server's tables live.
#[derive(Clone)]
pub enum Db {
    /// One SQLite connection (the file the codes may share), used from a
    /// blocking thread.
    Sqlite(Arc<Mutex<Connection>>),
    /// A PostgreSQL pool.
    Postgres(deadpool_postgres::Pool),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Db::Sqlite(_) => "Db::Sqlite",
            Db::Postgres(_) => "Db::Postgres",
        })
    }
}

/// One value in or out of a statement: every column is an integer, a text or
/// bytes (flags are 0 or 1), so one statement fits both databases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// NULL.
    Null,
    /// An integer (SQLite INTEGER, PostgreSQL bigint).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes (SQLite BLOB, PostgreSQL bytea).
    Bytes(Vec<u8>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::Null, Value::Text)
    }
}

impl Value {
    fn int(&self) -> i64 {
        match self {
            Value::Int(v) => *v,
            _ => 0,
        }
    }

    fn text(&self) -> String {
        match self {
            Value::Text(v) => v.clone(),
            _ => String::new(),
        }
    }

    fn opt_text(&self) -> Option<String> {
        match self {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Value::Bytes(v) => v.clone(),
            _ => Vec::new(),
        }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS verify_services (
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    code_length BIGINT NOT NULL,
    do_not_share BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS verify_services_account ON verify_services (account_sid, created, sid);
CREATE TABLE IF NOT EXISTS verify_verifications (
    sid TEXT PRIMARY KEY,
    service_sid TEXT NOT NULL REFERENCES verify_services (sid) ON DELETE CASCADE,
    account_sid TEXT NOT NULL,
    to_text TEXT NOT NULL,
    identity TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS verify_verifications_to ON verify_verifications (service_sid, identity, created);
CREATE TABLE IF NOT EXISTS verify_rate_limits (
    sid TEXT PRIMARY KEY,
    service_sid TEXT NOT NULL REFERENCES verify_services (sid) ON DELETE CASCADE,
    account_sid TEXT NOT NULL,
    unique_name TEXT NOT NULL,
    description TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    UNIQUE (service_sid, unique_name)
);
CREATE TABLE IF NOT EXISTS verify_buckets (
    sid TEXT PRIMARY KEY,
    rate_limit_sid TEXT NOT NULL REFERENCES verify_rate_limits (sid) ON DELETE CASCADE,
    service_sid TEXT NOT NULL,
    account_sid TEXT NOT NULL,
    max BIGINT NOT NULL,
    interval BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS verify_api_keys (
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    secret_sha256 BYTEA NOT NULL,
    created BIGINT NOT NULL
);
";

/// A database error: down or out of reach (the server answers 503 and may be
/// retried), or anything else (500). Its text names the cause's class, never
/// a value.
#[derive(Debug, PartialEq, Eq)]
pub enum DbError {
    /// The database is down or out of reach.
    Unavailable(String),
    /// The database answered with an error.
    Failed(String),
}

impl DbError {
    /// Whether the database is down or out of reach.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, DbError::Unavailable(_))
    }

    /// The cause, without the prefix.
    pub fn cause(&self) -> &str {
        match self {
            DbError::Unavailable(cause) | DbError::Failed(cause) => cause,
        }
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Unavailable(cause) => write!(f, "database unavailable: {cause}"),
            DbError::Failed(cause) => write!(f, "database: {cause}"),
        }
    }
}

impl std::error::Error for DbError {}

fn sqlite_err(e: rusqlite::Error) -> DbError {
    DbError::Failed(e.to_string())
}

fn task_err(e: tokio::task::JoinError) -> DbError {
    DbError::Failed(format!("task: {e}"))
}

/// A PostgreSQL error as the library classifies it: whether it is down, and
/// the error's class or SQLSTATE — never its text, which may quote a value.
fn pg_err(e: impl std::error::Error + 'static) -> DbError {
    let failure = seccode::store::classify_postgres(&e);
    if failure.is_unavailable() {
        DbError::Unavailable(failure.to_string())
    } else {
        DbError::Failed(failure.to_string())
    }
}

/// `?N` parameters as PostgreSQL's `$N`.
fn dollars(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn pg_value(row: &tokio_postgres::Row, i: usize) -> Value {
    use tokio_postgres::types::Type;
    let ty = row.columns().get(i).map(|c| c.type_().clone());
    match ty {
        Some(Type::INT8) => row
            .try_get::<_, Option<i64>>(i)
            .ok()
            .flatten()
            .map_or(Value::Null, Value::Int),
        Some(Type::INT4) => row
            .try_get::<_, Option<i32>>(i)
            .ok()
            .flatten()
            .map_or(Value::Null, |v| Value::Int(i64::from(v))),
        Some(Type::BOOL) => row
            .try_get::<_, Option<bool>>(i)
            .ok()
            .flatten()
            .map_or(Value::Null, |v| Value::Int(i64::from(v))),
        Some(Type::BYTEA) => row
            .try_get::<_, Option<Vec<u8>>>(i)
            .ok()
            .flatten()
            .map_or(Value::Null, Value::Bytes),
        _ => row
            .try_get::<_, Option<String>>(i)
            .ok()
            .flatten()
            .map_or(Value::Null, Value::Text),
    }
}

fn pg_params(params: &[Value]) -> Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> {
    params
        .iter()
        .map(|p| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
            match p {
                Value::Null => Box::new(None::<String>),
                Value::Int(v) => Box::new(*v),
                Value::Text(v) => Box::new(v.clone()),
                Value::Bytes(v) => Box::new(v.clone()),
            }
        })
        .collect()
}

impl Db {
    /// Opens (creating) the tables in the SQLite file `path`.
    ///
    /// # Errors
    ///
    /// The database cannot be opened.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let conn = Connection::open(path).map_err(sqlite_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sqlite_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(sqlite_err)?;
        conn.execute_batch(SCHEMA).map_err(sqlite_err)?;
        Ok(Db::Sqlite(Arc::new(Mutex::new(conn))))
    }

    /// Connects to PostgreSQL at `url` (a pool of up to 16 connections, no
    /// TLS: a database on the same host or a private network) and creates the
    /// tables, under an advisory lock so that servers starting together do it
    /// once.
    ///
    /// # Errors
    ///
    /// The URL is invalid or the database cannot be reached.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        let config: tokio_postgres::Config = url.parse().map_err(pg_err)?;
        let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(16)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(std::time::Duration::from_secs(5)))
            .create_timeout(Some(seccode::PostgresStore::CONNECT_TIMEOUT))
            .recycle_timeout(Some(seccode::PostgresStore::CONNECT_TIMEOUT))
            .build()
            .map_err(pg_err)?;
        let mut client = pool.get().await.map_err(pg_err)?;
        let tx = client.transaction().await.map_err(pg_err)?;
        tx.execute("SELECT pg_advisory_xact_lock(7365636364)", &[])
            .await
            .map_err(pg_err)?;
        tx.batch_execute(SCHEMA).await.map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        drop(client);
        Ok(Db::Postgres(pool))
    }

    /// Runs a query and returns its rows.
    async fn query(
        &self,
        sql: &'static str,
        params: Vec<Value>,
    ) -> Result<Vec<Vec<Value>>, DbError> {
        match self {
            Db::Sqlite(conn) => {
                let conn = conn.clone();
                tokio::task::spawn_blocking(move || {
                    let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                    let mut stmt = conn.prepare_cached(sql).map_err(sqlite_err)?;
                    let width = stmt.column_count();
                    let rows = stmt
                        .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                            (0..width)
                                .map(|i| {
                                    Ok(match r.get::<_, rusqlite::types::Value>(i)? {
                                        rusqlite::types::Value::Null => Value::Null,
                                        rusqlite::types::Value::Integer(v) => Value::Int(v),
                                        rusqlite::types::Value::Text(v) => Value::Text(v),
                                        rusqlite::types::Value::Blob(v) => Value::Bytes(v),
                                        rusqlite::types::Value::Real(v) => {
                                            Value::Text(v.to_string())
                                        }
                                    })
                                })
                                .collect::<rusqlite::Result<Vec<Value>>>()
                        })
                        .map_err(sqlite_err)?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()
                        .map_err(sqlite_err)
                })
                .await
                .map_err(task_err)?
            }
            Db::Postgres(pool) => {
                let client = pool.get().await.map_err(pg_err)?;
                let stmt = client.prepare_cached(&dollars(sql)).await.map_err(pg_err)?;
                let boxed = pg_params(&params);
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = boxed
                    .iter()
                    .map(|b| &**b as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                let rows = client.query(&stmt, &refs).await.map_err(pg_err)?;
                Ok(rows
                    .iter()
                    .map(|r| (0..r.len()).map(|i| pg_value(r, i)).collect())
                    .collect())
            }
        }
    }

    /// Runs a statement and returns how many rows it changed.
    async fn execute(&self, sql: &'static str, params: Vec<Value>) -> Result<u64, DbError> {
        match self {
            Db::Sqlite(conn) => {
                let conn = conn.clone();
                tokio::task::spawn_blocking(move || {
                    let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                    let mut stmt = conn.prepare_cached(sql).map_err(sqlite_err)?;
                    stmt.execute(rusqlite::params_from_iter(params.iter()))
                        .map(|n| n as u64)
                        .map_err(sqlite_err)
                })
                .await
                .map_err(task_err)?
            }
            Db::Postgres(pool) => {
                let client = pool.get().await.map_err(pg_err)?;
                let stmt = client.prepare_cached(&dollars(sql)).await.map_err(pg_err)?;
                let boxed = pg_params(&params);
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = boxed
                    .iter()
                    .map(|b| &**b as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                client.execute(&stmt, &refs).await.map_err(pg_err)
            }
        }
    }

    /// Whether the tables are in PostgreSQL (else in the SQLite file).
    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// One trivial query: whether the database answers.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.query("SELECT 1", Vec::new()).await.map(drop)
    }

    /// Creates an API key for `account`: its SID (`SK…`) and its secret, which
    /// is shown once and stored only as its SHA-256.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn create_key(
        &self,
        account: &str,
        name: &str,
        now: i64,
    ) -> Result<(String, String), DbError> {
        use sha2::Digest;
        let mut raw = [0u8; 32];
        rand::fill(&mut raw);
        let sid = format!("SK{}", crate::config::hex(&raw[..16]));
        let secret = crate::config::hex(&raw[16..]);
        let digest = sha2::Sha256::digest(secret.as_bytes()).to_vec();
        self.execute(
            "INSERT INTO verify_api_keys (sid, account_sid, friendly_name, secret_sha256, created) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            vec![
                sid.clone().into(),
                account.into(),
                name.into(),
                Value::Bytes(digest),
                now.into(),
            ],
        )
        .await?;
        Ok((sid, secret))
    }

    /// Deletes an API key; whether it existed.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn revoke_key(&self, sid: &str) -> Result<bool, DbError> {
        self.execute(
            "DELETE FROM verify_api_keys WHERE sid = ?1",
            vec![sid.into()],
        )
        .await
        .map(|n| n > 0)
    }

    /// An API key's account and secret digest.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn api_key(&self, sid: &str) -> Result<Option<(String, [u8; 32])>, DbError> {
        let rows = self
            .query(
                "SELECT account_sid, secret_sha256 FROM verify_api_keys WHERE sid = ?1",
                vec![sid.into()],
            )
            .await?;
        Ok(rows
            .first()
            .and_then(|r| Some((r[0].text(), r[1].bytes().try_into().ok()?))))
    }

    /// Stores a new service.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn insert_service(&self, s: Service) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO verify_services (sid, account_sid, friendly_name, code_length, \
             do_not_share, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            vec![
                s.sid.into(),
                s.account_sid.into(),
                s.friendly_name.into(),
                i64::from(s.code_length).into(),
                i64::from(s.do_not_share_warning_enabled).into(),
                s.created.into(),
                s.updated.into(),
            ],
        )
        .await
        .map(drop)
    }

    /// Replaces a service's settings.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn update_service(&self, s: Service) -> Result<(), DbError> {
        self.execute(
            "UPDATE verify_services SET friendly_name = ?2, code_length = ?3, \
             do_not_share = ?4, updated = ?5 WHERE sid = ?1",
            vec![
                s.sid.into(),
                s.friendly_name.into(),
                i64::from(s.code_length).into(),
                i64::from(s.do_not_share_warning_enabled).into(),
                s.updated.into(),
            ],
        )
        .await
        .map(drop)
    }

    /// A service of `account`.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn service(&self, account: &str, sid: &str) -> Result<Option<Service>, DbError> {
        let rows = self
            .query(
                "SELECT sid, account_sid, friendly_name, code_length, do_not_share, created, updated \
                 FROM verify_services WHERE sid = ?1 AND account_sid = ?2",
                vec![sid.into(), account.into()],
            )
            .await?;
        Ok(rows.first().map(|r| read_service(r)))
    }

    /// One page of `account`'s services, oldest first, and whether more follow.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn services(
        &self,
        account: &str,
        page: u32,
        size: u32,
    ) -> Result<(Vec<Service>, bool), DbError> {
        let rows = self
            .query(
                "SELECT sid, account_sid, friendly_name, code_length, do_not_share, created, updated \
                 FROM verify_services WHERE account_sid = ?1 ORDER BY created, sid LIMIT ?2 OFFSET ?3",
                vec![
                    account.into(),
                    (i64::from(size) + 1).into(),
                    (i64::from(page) * i64::from(size)).into(),
                ],
            )
            .await?;
        let mut services: Vec<Service> = rows.iter().map(|r| read_service(r)).collect();
        let more = services.len() > size as usize;
        services.truncate(size as usize);
        Ok((services, more))
    }

    /// Deletes a service and its verifications; whether it existed.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn delete_service(&self, account: &str, sid: &str) -> Result<bool, DbError> {
        self.execute(
            "DELETE FROM verify_services WHERE sid = ?1 AND account_sid = ?2",
            vec![sid.into(), account.into()],
        )
        .await
        .map(|n| n > 0)
    }

    /// Stores or replaces a verification.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn save_verification(&self, v: Verification) -> Result<(), DbError> {
        let attempts = serde_json::to_string(&v.attempts).unwrap_or_else(|_| "[]".to_owned());
        self.execute(
            "INSERT INTO verify_verifications (sid, service_sid, account_sid, to_text, identity, \
             channel, status, attempts, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
             ?9, ?10) ON CONFLICT (sid) DO UPDATE SET channel = ?6, status = ?7, attempts = ?8, \
             updated = ?10",
            vec![
                v.sid.into(),
                v.service_sid.into(),
                v.account_sid.into(),
                v.to.into(),
                v.identity.into(),
                v.channel.into(),
                v.status.as_str().into(),
                attempts.into(),
                v.created.into(),
                v.updated.into(),
            ],
        )
        .await
        .map(drop)
    }

    /// Sets a verification's status and update time, nothing else (another
    /// server may have appended a send attempt meanwhile); whether it exists.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn set_status(
        &self,
        service: &str,
        sid: &str,
        status: VerificationStatus,
        updated: i64,
    ) -> Result<bool, DbError> {
        self.execute(
            "UPDATE verify_verifications SET status = ?3, updated = ?4 \
             WHERE service_sid = ?1 AND sid = ?2",
            vec![
                service.into(),
                sid.into(),
                status.as_str().into(),
                updated.into(),
            ],
        )
        .await
        .map(|n| n > 0)
    }

    /// A verification of a service, by SID.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn verification(
        &self,
        service: &str,
        sid: &str,
    ) -> Result<Option<Verification>, DbError> {
        let rows = self
            .query(
                "SELECT sid, service_sid, account_sid, to_text, identity, channel, status, \
                 attempts, created, updated FROM verify_verifications \
                 WHERE service_sid = ?1 AND sid = ?2",
                vec![service.into(), sid.into()],
            )
            .await?;
        Ok(rows.first().map(|r| read_verification(r)))
    }

    /// The newest verification of a service to a contact identity.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn latest_to(
        &self,
        service: &str,
        identity: &str,
    ) -> Result<Option<Verification>, DbError> {
        let rows = self
            .query(
                "SELECT sid, service_sid, account_sid, to_text, identity, channel, status, \
                 attempts, created, updated FROM verify_verifications \
                 WHERE service_sid = ?1 AND identity = ?2 ORDER BY created DESC, sid DESC LIMIT 1",
                vec![service.into(), identity.into()],
            )
            .await?;
        Ok(rows.first().map(|r| read_verification(r)))
    }

    /// Stores or replaces a rate limit; `false` if another of the service's
    /// rate limits has its unique name.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn save_rate_limit(&self, r: RateLimit) -> Result<bool, DbError> {
        let clash = self
            .query(
                "SELECT sid FROM verify_rate_limits WHERE service_sid = ?1 AND unique_name = ?2 \
                 AND sid <> ?3",
                vec![
                    r.service_sid.clone().into(),
                    r.unique_name.clone().into(),
                    r.sid.clone().into(),
                ],
            )
            .await?;
        if !clash.is_empty() {
            return Ok(false);
        }
        self.execute(
            "INSERT INTO verify_rate_limits (sid, service_sid, account_sid, unique_name, \
             description, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (sid) DO UPDATE SET unique_name = ?4, description = ?5, updated = ?7",
            vec![
                r.sid.into(),
                r.service_sid.into(),
                r.account_sid.into(),
                r.unique_name.into(),
                r.description.into(),
                r.created.into(),
                r.updated.into(),
            ],
        )
        .await?;
        Ok(true)
    }

    /// A service's rate limits, oldest first.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn rate_limits(&self, service: &str) -> Result<Vec<RateLimit>, DbError> {
        let rows = self
            .query(
                "SELECT sid, service_sid, account_sid, unique_name, description, created, updated \
                 FROM verify_rate_limits WHERE service_sid = ?1 ORDER BY created, sid",
                vec![service.into()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| RateLimit {
                sid: r[0].text(),
                service_sid: r[1].text(),
                account_sid: r[2].text(),
                unique_name: r[3].text(),
                description: r[4].opt_text(),
                created: r[5].int(),
                updated: r[6].int(),
            })
            .collect())
    }

    /// Deletes a rate limit (and its buckets); whether it existed.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn delete_rate_limit(&self, service: &str, sid: &str) -> Result<bool, DbError> {
        self.execute(
            "DELETE FROM verify_rate_limits WHERE service_sid = ?1 AND sid = ?2",
            vec![service.into(), sid.into()],
        )
        .await
        .map(|n| n > 0)
    }

    /// Stores or replaces a bucket.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn save_bucket(&self, b: Bucket) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO verify_buckets (sid, rate_limit_sid, service_sid, account_sid, max, \
             interval, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (sid) DO UPDATE SET max = ?5, interval = ?6, updated = ?8",
            vec![
                b.sid.into(),
                b.rate_limit_sid.into(),
                b.service_sid.into(),
                b.account_sid.into(),
                i64::from(b.max).into(),
                i64::from(b.interval).into(),
                b.created.into(),
                b.updated.into(),
            ],
        )
        .await
        .map(drop)
    }

    /// A rate limit's buckets, oldest first.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn buckets(&self, rate_limit: &str) -> Result<Vec<Bucket>, DbError> {
        let rows = self
            .query(
                "SELECT sid, rate_limit_sid, service_sid, account_sid, max, interval, created, \
                 updated FROM verify_buckets WHERE rate_limit_sid = ?1 ORDER BY created, sid",
                vec![rate_limit.into()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Bucket {
                sid: r[0].text(),
                rate_limit_sid: r[1].text(),
                service_sid: r[2].text(),
                account_sid: r[3].text(),
                max: u32::try_from(r[4].int()).unwrap_or(0),
                interval: u32::try_from(r[5].int()).unwrap_or(0),
                created: r[6].int(),
                updated: r[7].int(),
            })
            .collect())
    }

    /// Deletes a bucket; whether it existed.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn delete_bucket(&self, rate_limit: &str, sid: &str) -> Result<bool, DbError> {
        self.execute(
            "DELETE FROM verify_buckets WHERE rate_limit_sid = ?1 AND sid = ?2",
            vec![rate_limit.into(), sid.into()],
        )
        .await
        .map(|n| n > 0)
    }
}

fn read_service(r: &[Value]) -> Service {
    Service {
        sid: r[0].text(),
        account_sid: r[1].text(),
        friendly_name: r[2].text(),
        code_length: u8::try_from(r[3].int()).unwrap_or(6),
        do_not_share_warning_enabled: r[4].int() != 0,
        created: r[5].int(),
        updated: r[6].int(),
    }
}

fn read_verification(r: &[Value]) -> Verification {
    Verification {
        sid: r[0].text(),
        service_sid: r[1].text(),
        account_sid: r[2].text(),
        to: r[3].text(),
        identity: r[4].text(),
        channel: r[5].text(),
        status: VerificationStatus::parse(&r[6].text()),
        attempts: serde_json::from_str(&r[7].text()).unwrap_or_default(),
        created: r[8].int(),
        updated: r[9].int(),
    }
}
