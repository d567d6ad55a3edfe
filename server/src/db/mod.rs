//! Services, verifications, API keys and rate limits: in the server's SQLite
//! file (one server), or in PostgreSQL (several servers behind a load
//! balancer). Every statement is written once, with `?N` parameters, and run
//! on either.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use seccode::store::{deadpool_postgres, tokio_postgres};

mod factors;
mod keys;
mod messaging;
mod rate_limits;
mod safe_list;
mod services;
mod verifications;
mod webhooks;

pub use factors::{Entity, Factor, FactorChallenge};
pub use messaging::MessagingConfiguration;
pub use rate_limits::{Bucket, RateLimit};
pub use safe_list::SafeNumber;
pub use services::{Service, VERIFY_EVENTS};
pub use verifications::{Verification, VerificationStatus};
pub use webhooks::{Delivery, Webhook};

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

/// One result row, its values read by column name.
#[derive(Debug)]
struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The value of column `name` (NULL when the query has no such column).
    fn get(&self, name: &str) -> &Value {
        self.columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| self.values.get(i))
            .unwrap_or(&Value::Null)
    }

    fn text(&self, name: &str) -> String {
        self.get(name).text()
    }

    fn opt_text(&self, name: &str) -> Option<String> {
        self.get(name).opt_text()
    }

    fn int(&self, name: &str) -> i64 {
        self.get(name).int()
    }

    fn bytes(&self, name: &str) -> Vec<u8> {
        self.get(name).bytes()
    }
}

/// Prepared statements kept per SQLite connection: more than the server's
/// distinct statements.
const STATEMENT_CACHE: usize = 256;

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
CREATE TABLE IF NOT EXISTS verify_service_voices (
    service_sid TEXT PRIMARY KEY REFERENCES verify_services (sid) ON DELETE CASCADE,
    tts_name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verify_service_templates (
    service_sid TEXT PRIMARY KEY REFERENCES verify_services (sid) ON DELETE CASCADE,
    template_sid TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verify_service_whatsapp (
    service_sid TEXT PRIMARY KEY REFERENCES verify_services (sid) ON DELETE CASCADE,
    msg_service_sid TEXT,
    from_number TEXT
);
CREATE TABLE IF NOT EXISTS verify_payments (
    verification_sid TEXT PRIMARY KEY REFERENCES verify_verifications (sid) ON DELETE CASCADE,
    amount TEXT NOT NULL,
    payee TEXT NOT NULL
);
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
CREATE TABLE IF NOT EXISTS verify_entities (
    sid TEXT PRIMARY KEY,
    service_sid TEXT NOT NULL REFERENCES verify_services (sid) ON DELETE CASCADE,
    account_sid TEXT NOT NULL,
    identity TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    UNIQUE (service_sid, identity)
);
CREATE TABLE IF NOT EXISTS verify_factors (
    sid TEXT PRIMARY KEY,
    entity_sid TEXT NOT NULL REFERENCES verify_entities (sid) ON DELETE CASCADE,
    service_sid TEXT NOT NULL,
    account_sid TEXT NOT NULL,
    identity TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    verified BIGINT NOT NULL,
    alg TEXT NOT NULL,
    code_length BIGINT NOT NULL,
    time_step BIGINT NOT NULL,
    skew BIGINT NOT NULL,
    sealed BYTEA NOT NULL,
    last_step BIGINT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS verify_factors_entity ON verify_factors (entity_sid, created);
CREATE TABLE IF NOT EXISTS verify_factor_challenges (
    sid TEXT PRIMARY KEY,
    factor_sid TEXT NOT NULL REFERENCES verify_factors (sid) ON DELETE CASCADE,
    entity_sid TEXT NOT NULL,
    service_sid TEXT NOT NULL,
    account_sid TEXT NOT NULL,
    identity TEXT NOT NULL,
    status TEXT NOT NULL,
    hidden_details TEXT,
    expires BIGINT NOT NULL,
    responded BIGINT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS verify_factor_challenges_entity ON verify_factor_challenges (entity_sid, created);
CREATE TABLE IF NOT EXISTS verify_safe_list (
    account_sid TEXT NOT NULL,
    phone_number TEXT NOT NULL,
    sid TEXT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (account_sid, phone_number)
);
CREATE TABLE IF NOT EXISTS verify_webhooks (
    sid TEXT PRIMARY KEY,
    service_sid TEXT NOT NULL REFERENCES verify_services (sid) ON DELETE CASCADE,
    account_sid TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    event_types TEXT NOT NULL,
    url TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    version TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS verify_webhook_outbox (
    id TEXT PRIMARY KEY,
    webhook_sid TEXT NOT NULL REFERENCES verify_webhooks (sid) ON DELETE CASCADE,
    account_sid TEXT NOT NULL,
    url TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    due BIGINT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS verify_webhook_outbox_due ON verify_webhook_outbox (due);
CREATE INDEX IF NOT EXISTS verify_verifications_pending ON verify_verifications (status, created);
CREATE TABLE IF NOT EXISTS verify_attempt_tags (
    attempt_sid TEXT PRIMARY KEY,
    verification_sid TEXT NOT NULL REFERENCES verify_verifications (sid) ON DELETE CASCADE,
    tags TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verify_attempt_tags_verification ON verify_attempt_tags (verification_sid);
CREATE TABLE IF NOT EXISTS verify_messaging_configurations (
    service_sid TEXT NOT NULL REFERENCES verify_services (sid) ON DELETE CASCADE,
    account_sid TEXT NOT NULL,
    country TEXT NOT NULL,
    messaging_service_sid TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (service_sid, country)
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

/// The parameters as `tokio-postgres` takes them.
fn pg_refs(
    boxed: &[Box<dyn tokio_postgres::types::ToSql + Sync + Send>],
) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    boxed
        .iter()
        .map(|b| &**b as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect()
}

/// Runs `f` on the SQLite connection, on Tokio's blocking pool.
async fn on_sqlite<T: Send + 'static>(
    conn: &Arc<Mutex<Connection>>,
    f: impl FnOnce(&Connection) -> Result<T, DbError> + Send + 'static,
) -> Result<T, DbError> {
    let conn = conn.clone();
    tokio::task::spawn_blocking(move || {
        let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    })
    .await
    .map_err(task_err)?
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
        // Every statement the server runs stays prepared: rusqlite keeps 16
        // by default, fewer than the server has, and one evicted on a
        // start's path is parsed and planned again on the next.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
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
    async fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>, DbError> {
        match self {
            Db::Sqlite(conn) => {
                on_sqlite(conn, move |conn| {
                    let mut stmt = conn.prepare_cached(sql).map_err(sqlite_err)?;
                    let width = stmt.column_count();
                    let columns: Arc<[String]> = stmt.column_names().map(str::to_owned).collect();
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
                                .map(|values| Row {
                                    columns: columns.clone(),
                                    values,
                                })
                        })
                        .map_err(sqlite_err)?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()
                        .map_err(sqlite_err)
                })
                .await
            }
            Db::Postgres(pool) => {
                let client = pool.get().await.map_err(pg_err)?;
                let stmt = client.prepare_cached(&dollars(sql)).await.map_err(pg_err)?;
                let boxed = pg_params(&params);
                let rows = client
                    .query(&stmt, &pg_refs(&boxed))
                    .await
                    .map_err(pg_err)?;
                let columns: Arc<[String]> =
                    stmt.columns().iter().map(|c| c.name().to_owned()).collect();
                Ok(rows
                    .iter()
                    .map(|r| Row {
                        columns: columns.clone(),
                        values: (0..r.len()).map(|i| pg_value(r, i)).collect(),
                    })
                    .collect())
            }
        }
    }

    /// Runs a statement and returns how many rows it changed.
    async fn execute(&self, sql: &'static str, params: Vec<Value>) -> Result<u64, DbError> {
        match self {
            Db::Sqlite(conn) => {
                on_sqlite(conn, move |conn| {
                    let mut stmt = conn.prepare_cached(sql).map_err(sqlite_err)?;
                    stmt.execute(rusqlite::params_from_iter(params.iter()))
                        .map(|n| n as u64)
                        .map_err(sqlite_err)
                })
                .await
            }
            Db::Postgres(pool) => {
                let client = pool.get().await.map_err(pg_err)?;
                let stmt = client.prepare_cached(&dollars(sql)).await.map_err(pg_err)?;
                let boxed = pg_params(&params);
                client
                    .execute(&stmt, &pg_refs(&boxed))
                    .await
                    .map_err(pg_err)
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
}
