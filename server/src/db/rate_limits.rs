//! The `verify_rate_limits` and `verify_buckets` tables: a service's rate
//! limits and their buckets.

use super::{Db, DbError, Row};

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

/// A `SELECT` of every column [`read_rate_limit`] reads, with `$rest`.
macro_rules! select_rate_limits {
    ($rest:literal) => {
        concat!(
            "SELECT sid, service_sid, account_sid, unique_name, description, created, updated \
             FROM verify_rate_limits ",
            $rest
        )
    };
}

/// A `SELECT` of every column [`read_bucket`] reads, with `$rest`.
macro_rules! select_buckets {
    ($rest:literal) => {
        concat!(
            "SELECT sid, rate_limit_sid, service_sid, account_sid, max, interval, created, \
             updated FROM verify_buckets ",
            $rest
        )
    };
}

impl Db {
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
                select_rate_limits!("WHERE service_sid = ?1 ORDER BY created, sid"),
                vec![service.into()],
            )
            .await?;
        Ok(rows.iter().map(read_rate_limit).collect())
    }

    /// A service's rate limit, by SID.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn rate_limit(&self, service: &str, sid: &str) -> Result<Option<RateLimit>, DbError> {
        let rows = self
            .query(
                select_rate_limits!("WHERE service_sid = ?1 AND sid = ?2"),
                vec![service.into(), sid.into()],
            )
            .await?;
        Ok(rows.first().map(read_rate_limit))
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
                select_buckets!("WHERE rate_limit_sid = ?1 ORDER BY created, sid"),
                vec![rate_limit.into()],
            )
            .await?;
        Ok(rows.iter().map(read_bucket).collect())
    }

    /// A rate limit's bucket, by SID.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn bucket(&self, rate_limit: &str, sid: &str) -> Result<Option<Bucket>, DbError> {
        let rows = self
            .query(
                select_buckets!("WHERE rate_limit_sid = ?1 AND sid = ?2"),
                vec![rate_limit.into(), sid.into()],
            )
            .await?;
        Ok(rows.first().map(read_bucket))
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

fn read_rate_limit(r: &Row) -> RateLimit {
    RateLimit {
        sid: r.text("sid"),
        service_sid: r.text("service_sid"),
        account_sid: r.text("account_sid"),
        unique_name: r.text("unique_name"),
        description: r.opt_text("description"),
        created: r.int("created"),
        updated: r.int("updated"),
    }
}

fn read_bucket(r: &Row) -> Bucket {
    Bucket {
        sid: r.text("sid"),
        rate_limit_sid: r.text("rate_limit_sid"),
        service_sid: r.text("service_sid"),
        account_sid: r.text("account_sid"),
        max: u32::try_from(r.int("max")).unwrap_or(0),
        interval: u32::try_from(r.int("interval")).unwrap_or(0),
        created: r.int("created"),
        updated: r.int("updated"),
    }
}
