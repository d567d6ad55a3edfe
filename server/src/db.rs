//! Services and verifications in the server's SQLite file (the codes, attempts
//! and limits are seccode's, in the same file).

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

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
    /// `pending`, `approved`, `canceled`, `max_attempts_reached`, `expired`.
    pub status: String,
    /// Send attempts: (Unix ms, channel, `VL…`).
    pub attempts: Vec<(i64, String, String)>,
    /// Created, Unix milliseconds.
    pub created: i64,
    /// Last updated, Unix milliseconds.
    pub updated: i64,
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

/// The server's tables, on their own connection to the shared file.
#[derive(Clone)]
pub struct Db(Arc<Mutex<Connection>>);

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS verify_services (
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    code_length INTEGER NOT NULL,
    do_not_share INTEGER NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
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
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS verify_verifications_to ON verify_verifications (service_sid, identity, created);
CREATE TABLE IF NOT EXISTS verify_rate_limits (
    sid TEXT PRIMARY KEY,
    service_sid TEXT NOT NULL REFERENCES verify_services (sid) ON DELETE CASCADE,
    account_sid TEXT NOT NULL,
    unique_name TEXT NOT NULL,
    description TEXT,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    UNIQUE (service_sid, unique_name)
);
CREATE TABLE IF NOT EXISTS verify_buckets (
    sid TEXT PRIMARY KEY,
    rate_limit_sid TEXT NOT NULL REFERENCES verify_rate_limits (sid) ON DELETE CASCADE,
    service_sid TEXT NOT NULL,
    account_sid TEXT NOT NULL,
    max INTEGER NOT NULL,
    interval INTEGER NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS verify_api_keys (
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    created INTEGER NOT NULL
);
";

fn db(e: rusqlite::Error) -> String {
    format!("database: {e}")
}

impl Db {
    /// Opens (creating) the tables in `path`.
    ///
    /// # Errors
    ///
    /// The database cannot be opened.
    pub fn open(path: &Path) -> Result<Db, String> {
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Db(Arc::new(Mutex::new(conn))))
    }

    /// Runs `f` on the connection on a blocking thread.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, String> {
        let conn = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn).map_err(db)
        })
        .await
        .map_err(|e| format!("database task: {e}"))?
    }

    /// One trivial query: whether the database answers.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn ping(&self) -> Result<(), String> {
        self.run(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
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
    ) -> Result<(String, String), String> {
        use sha2::Digest;
        let mut raw = [0u8; 32];
        rand::fill(&mut raw);
        let sid = format!("SK{}", crate::config::hex(&raw[..16]));
        let secret = crate::config::hex(&raw[16..]);
        let digest = sha2::Sha256::digest(secret.as_bytes()).to_vec();
        let (account, name, key_sid) = (account.to_owned(), name.to_owned(), sid.clone());
        self.run(move |c| {
            c.execute(
                "INSERT INTO verify_api_keys VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key_sid, account, name, digest, now],
            )
            .map(drop)
        })
        .await?;
        Ok((sid, secret))
    }

    /// Deletes an API key; whether it existed.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn revoke_key(&self, sid: &str) -> Result<bool, String> {
        let sid = sid.to_owned();
        self.run(move |c| {
            c.execute("DELETE FROM verify_api_keys WHERE sid = ?1", [sid])
                .map(|n| n > 0)
        })
        .await
    }

    /// An API key's account and secret digest.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn api_key(&self, sid: &str) -> Result<Option<(String, [u8; 32])>, String> {
        let sid = sid.to_owned();
        let row = self
            .run(move |c| {
                c.query_row(
                    "SELECT account_sid, secret_sha256 FROM verify_api_keys WHERE sid = ?1",
                    [sid],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)),
                )
                .optional()
            })
            .await?;
        Ok(row.and_then(|(account, digest)| Some((account, digest.try_into().ok()?))))
    }

    /// Stores a new service.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn insert_service(&self, s: Service) -> Result<(), String> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO verify_services VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    s.sid,
                    s.account_sid,
                    s.friendly_name,
                    s.code_length,
                    s.do_not_share_warning_enabled,
                    s.created,
                    s.updated
                ],
            )
            .map(drop)
        })
        .await
    }

    /// Replaces a service's settings.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn update_service(&self, s: Service) -> Result<(), String> {
        self.run(move |c| {
            c.execute(
                "UPDATE verify_services SET friendly_name = ?2, code_length = ?3, \
                 do_not_share = ?4, updated = ?5 WHERE sid = ?1",
                params![
                    s.sid,
                    s.friendly_name,
                    s.code_length,
                    s.do_not_share_warning_enabled,
                    s.updated
                ],
            )
            .map(drop)
        })
        .await
    }

    /// A service of `account`.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn service(&self, account: &str, sid: &str) -> Result<Option<Service>, String> {
        let (account, sid) = (account.to_owned(), sid.to_owned());
        self.run(move |c| {
            c.query_row(
                "SELECT sid, account_sid, friendly_name, code_length, do_not_share, created, updated \
                 FROM verify_services WHERE sid = ?1 AND account_sid = ?2",
                params![sid, account],
                read_service,
            )
            .optional()
        })
        .await
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
    ) -> Result<(Vec<Service>, bool), String> {
        let account = account.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT sid, account_sid, friendly_name, code_length, do_not_share, created, updated \
                 FROM verify_services WHERE account_sid = ?1 ORDER BY created, sid LIMIT ?2 OFFSET ?3",
            )?;
            let mut rows: Vec<Service> = stmt
                .query_map(
                    params![account, i64::from(size) + 1, i64::from(page) * i64::from(size)],
                    read_service,
                )?
                .collect::<Result<_, _>>()?;
            let more = rows.len() > size as usize;
            rows.truncate(size as usize);
            Ok((rows, more))
        })
        .await
    }

    /// Deletes a service and its verifications; whether it existed.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn delete_service(&self, account: &str, sid: &str) -> Result<bool, String> {
        let (account, sid) = (account.to_owned(), sid.to_owned());
        self.run(move |c| {
            c.execute(
                "DELETE FROM verify_services WHERE sid = ?1 AND account_sid = ?2",
                params![sid, account],
            )
            .map(|n| n > 0)
        })
        .await
    }

    /// Stores or replaces a verification.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn save_verification(&self, v: Verification) -> Result<(), String> {
        let attempts = serde_json::to_string(&v.attempts).unwrap_or_else(|_| "[]".to_owned());
        self.run(move |c| {
            c.execute(
                "REPLACE INTO verify_verifications VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    v.sid,
                    v.service_sid,
                    v.account_sid,
                    v.to,
                    v.identity,
                    v.channel,
                    v.status,
                    attempts,
                    v.created,
                    v.updated
                ],
            )
            .map(drop)
        })
        .await
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
    ) -> Result<Option<Verification>, String> {
        let (service, sid) = (service.to_owned(), sid.to_owned());
        self.run(move |c| {
            c.query_row(
                &format!("{SELECT_VERIFICATION} WHERE service_sid = ?1 AND sid = ?2"),
                params![service, sid],
                read_verification,
            )
            .optional()
        })
        .await
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
    ) -> Result<Option<Verification>, String> {
        let (service, identity) = (service.to_owned(), identity.to_owned());
        self.run(move |c| {
            c.query_row(
                &format!(
                    "{SELECT_VERIFICATION} WHERE service_sid = ?1 AND identity = ?2 \
                     ORDER BY created DESC, rowid DESC LIMIT 1"
                ),
                params![service, identity],
                read_verification,
            )
            .optional()
        })
        .await
    }
}

impl Db {
    /// Stores or replaces a rate limit; `false` if another of the service's
    /// rate limits has its unique name.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn save_rate_limit(&self, r: RateLimit) -> Result<bool, String> {
        self.run(move |c| {
            let clash: bool = c.query_row(
                "SELECT EXISTS (SELECT 1 FROM verify_rate_limits WHERE service_sid = ?1 \
                 AND unique_name = ?2 AND sid <> ?3)",
                params![r.service_sid, r.unique_name, r.sid],
                |row| row.get(0),
            )?;
            if clash {
                return Ok(false);
            }
            c.execute(
                "INSERT INTO verify_rate_limits VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (sid) DO UPDATE SET unique_name = ?4, description = ?5, updated = ?7",
                params![
                    r.sid,
                    r.service_sid,
                    r.account_sid,
                    r.unique_name,
                    r.description,
                    r.created,
                    r.updated
                ],
            )?;
            Ok(true)
        })
        .await
    }

    /// A service's rate limits, by unique name order.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn rate_limits(&self, service: &str) -> Result<Vec<RateLimit>, String> {
        let service = service.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT sid, service_sid, account_sid, unique_name, description, created, updated \
                 FROM verify_rate_limits WHERE service_sid = ?1 ORDER BY created, sid",
            )?;
            stmt.query_map([service], |r| {
                Ok(RateLimit {
                    sid: r.get(0)?,
                    service_sid: r.get(1)?,
                    account_sid: r.get(2)?,
                    unique_name: r.get(3)?,
                    description: r.get(4)?,
                    created: r.get(5)?,
                    updated: r.get(6)?,
                })
            })?
            .collect()
        })
        .await
    }

    /// Deletes a rate limit (and its buckets); whether it existed.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn delete_rate_limit(&self, service: &str, sid: &str) -> Result<bool, String> {
        let (service, sid) = (service.to_owned(), sid.to_owned());
        self.run(move |c| {
            c.execute(
                "DELETE FROM verify_rate_limits WHERE service_sid = ?1 AND sid = ?2",
                params![service, sid],
            )
            .map(|n| n > 0)
        })
        .await
    }

    /// Stores or replaces a bucket.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn save_bucket(&self, b: Bucket) -> Result<(), String> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO verify_buckets VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT (sid) DO UPDATE SET max = ?5, interval = ?6, updated = ?8",
                params![
                    b.sid,
                    b.rate_limit_sid,
                    b.service_sid,
                    b.account_sid,
                    b.max,
                    b.interval,
                    b.created,
                    b.updated
                ],
            )
            .map(drop)
        })
        .await
    }

    /// A rate limit's buckets, oldest first.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn buckets(&self, rate_limit: &str) -> Result<Vec<Bucket>, String> {
        let rate_limit = rate_limit.to_owned();
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT sid, rate_limit_sid, service_sid, account_sid, max, interval, created, \
                 updated FROM verify_buckets WHERE rate_limit_sid = ?1 ORDER BY created, sid",
            )?;
            stmt.query_map([rate_limit], |r| {
                Ok(Bucket {
                    sid: r.get(0)?,
                    rate_limit_sid: r.get(1)?,
                    service_sid: r.get(2)?,
                    account_sid: r.get(3)?,
                    max: r.get(4)?,
                    interval: r.get(5)?,
                    created: r.get(6)?,
                    updated: r.get(7)?,
                })
            })?
            .collect()
        })
        .await
    }

    /// Deletes a bucket; whether it existed.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn delete_bucket(&self, rate_limit: &str, sid: &str) -> Result<bool, String> {
        let (rate_limit, sid) = (rate_limit.to_owned(), sid.to_owned());
        self.run(move |c| {
            c.execute(
                "DELETE FROM verify_buckets WHERE rate_limit_sid = ?1 AND sid = ?2",
                params![rate_limit, sid],
            )
            .map(|n| n > 0)
        })
        .await
    }
}

const SELECT_VERIFICATION: &str = "SELECT sid, service_sid, account_sid, to_text, identity, channel, \
     status, attempts, created, updated FROM verify_verifications";

fn read_service(r: &rusqlite::Row<'_>) -> rusqlite::Result<Service> {
    Ok(Service {
        sid: r.get(0)?,
        account_sid: r.get(1)?,
        friendly_name: r.get(2)?,
        code_length: r.get(3)?,
        do_not_share_warning_enabled: r.get(4)?,
        created: r.get(5)?,
        updated: r.get(6)?,
    })
}

fn read_verification(r: &rusqlite::Row<'_>) -> rusqlite::Result<Verification> {
    let attempts: String = r.get(7)?;
    Ok(Verification {
        sid: r.get(0)?,
        service_sid: r.get(1)?,
        account_sid: r.get(2)?,
        to: r.get(3)?,
        identity: r.get(4)?,
        channel: r.get(5)?,
        status: r.get(6)?,
        attempts: serde_json::from_str(&attempts).unwrap_or_default(),
        created: r.get(8)?,
        updated: r.get(9)?,
    })
}
