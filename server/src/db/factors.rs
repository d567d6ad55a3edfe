//! The `verify_entities`, `verify_factors` and `verify_factor_challenges`
//! tables: Verify's TOTP resources — an entity (one of the application's
//! users), its authenticator factors (each with its secret sealed under the
//! code key) and the challenges answered with their codes.

use super::{Db, DbError, Row, Value};

/// An entity: one user of the application, by the identity it gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    /// `YE…`.
    pub sid: String,
    /// Its service.
    pub service_sid: String,
    /// The account.
    pub account_sid: String,
    /// The application's identifier for the user.
    pub identity: String,
    /// Created, Unix milliseconds.
    pub created: i64,
    /// Last updated, Unix milliseconds.
    pub updated: i64,
}

/// A TOTP factor of an entity. `Debug` leaves the sealed secret out.
#[derive(Clone, PartialEq, Eq)]
pub struct Factor {
    /// `YF…`.
    pub sid: String,
    /// Its entity.
    pub entity_sid: String,
    /// Its service.
    pub service_sid: String,
    /// The account.
    pub account_sid: String,
    /// The entity's identity.
    pub identity: String,
    /// A name for people.
    pub friendly_name: String,
    /// Whether a code from it has been accepted once.
    pub verified: bool,
    /// `sha1`, `sha256` or `sha512`.
    pub alg: String,
    /// Digits per code.
    pub code_length: u8,
    /// Seconds per step.
    pub time_step: u32,
    /// Steps accepted either side of the current one.
    pub skew: u8,
    /// The secret, sealed under the code key and bound to the factor's sid.
    pub sealed: Vec<u8>,
    /// The last step a code was accepted for.
    pub last_step: Option<u64>,
    /// Created, Unix milliseconds.
    pub created: i64,
    /// Last updated, Unix milliseconds.
    pub updated: i64,
}

impl std::fmt::Debug for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factor")
            .field("sid", &self.sid)
            .field("entity_sid", &self.entity_sid)
            .field("verified", &self.verified)
            .finish_non_exhaustive()
    }
}

/// A challenge of a factor: pending until a code from it is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FactorChallenge {
    /// `YC…`.
    pub sid: String,
    /// Its factor.
    pub factor_sid: String,
    /// Its entity.
    pub entity_sid: String,
    /// Its service.
    pub service_sid: String,
    /// The account.
    pub account_sid: String,
    /// The entity's identity.
    pub identity: String,
    /// `pending` or `approved` (`expired` is read from `expires`).
    pub status: String,
    /// The application's hidden details (a JSON object's text), if any.
    pub hidden_details: Option<String>,
    /// When it expires, Unix milliseconds.
    pub expires: i64,
    /// When it was approved, Unix milliseconds.
    pub responded: Option<i64>,
    /// Created, Unix milliseconds.
    pub created: i64,
    /// Last updated, Unix milliseconds.
    pub updated: i64,
}

macro_rules! select_entities {
    ($rest:literal) => {
        concat!(
            "SELECT sid, service_sid, account_sid, identity, created, updated \
             FROM verify_entities ",
            $rest
        )
    };
}

macro_rules! select_factors {
    ($rest:literal) => {
        concat!(
            "SELECT sid, entity_sid, service_sid, account_sid, identity, friendly_name, \
             verified, alg, code_length, time_step, skew, sealed, last_step, created, updated \
             FROM verify_factors ",
            $rest
        )
    };
}

macro_rules! select_challenges {
    ($rest:literal) => {
        concat!(
            "SELECT sid, factor_sid, entity_sid, service_sid, account_sid, identity, status, \
             hidden_details, expires, responded, created, updated \
             FROM verify_factor_challenges ",
            $rest
        )
    };
}

fn read_entity(r: &Row) -> Entity {
    Entity {
        sid: r.text("sid"),
        service_sid: r.text("service_sid"),
        account_sid: r.text("account_sid"),
        identity: r.text("identity"),
        created: r.int("created"),
        updated: r.int("updated"),
    }
}

fn read_factor(r: &Row) -> Factor {
    Factor {
        sid: r.text("sid"),
        entity_sid: r.text("entity_sid"),
        service_sid: r.text("service_sid"),
        account_sid: r.text("account_sid"),
        identity: r.text("identity"),
        friendly_name: r.text("friendly_name"),
        verified: r.int("verified") != 0,
        alg: r.text("alg"),
        code_length: u8::try_from(r.int("code_length")).unwrap_or(6),
        time_step: u32::try_from(r.int("time_step")).unwrap_or(30),
        skew: u8::try_from(r.int("skew")).unwrap_or(1),
        sealed: r.bytes("sealed"),
        last_step: match r.get("last_step") {
            Value::Int(v) => u64::try_from(*v).ok(),
            _ => None,
        },
        created: r.int("created"),
        updated: r.int("updated"),
    }
}

fn read_challenge(r: &Row) -> FactorChallenge {
    FactorChallenge {
        sid: r.text("sid"),
        factor_sid: r.text("factor_sid"),
        entity_sid: r.text("entity_sid"),
        service_sid: r.text("service_sid"),
        account_sid: r.text("account_sid"),
        identity: r.text("identity"),
        status: r.text("status"),
        hidden_details: r.opt_text("hidden_details"),
        expires: r.int("expires"),
        responded: match r.get("responded") {
            Value::Int(v) => Some(*v),
            _ => None,
        },
        created: r.int("created"),
        updated: r.int("updated"),
    }
}

fn step_value(step: u64) -> Value {
    Value::Int(i64::try_from(step).unwrap_or(i64::MAX))
}

impl Db {
    /// Stores a new entity; `false` if the service has one with its
    /// identity already.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn create_entity(&self, e: Entity) -> Result<bool, DbError> {
        let stored = self
            .execute(
                "INSERT INTO verify_entities (sid, service_sid, account_sid, identity, created, \
                 updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (service_sid, identity) DO NOTHING",
                vec![
                    e.sid.into(),
                    e.service_sid.into(),
                    e.account_sid.into(),
                    e.identity.into(),
                    e.created.into(),
                    e.updated.into(),
                ],
            )
            .await?;
        Ok(stored == 1)
    }

    /// The service's entity with `identity`.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn entity(&self, service: &str, identity: &str) -> Result<Option<Entity>, DbError> {
        let rows = self
            .query(
                select_entities!("WHERE service_sid = ?1 AND identity = ?2"),
                vec![service.into(), identity.into()],
            )
            .await?;
        Ok(rows.first().map(read_entity))
    }

    /// The service's entities, oldest first.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn entities(&self, service: &str) -> Result<Vec<Entity>, DbError> {
        let rows = self
            .query(
                select_entities!("WHERE service_sid = ?1 ORDER BY created, sid"),
                vec![service.into()],
            )
            .await?;
        Ok(rows.iter().map(read_entity).collect())
    }

    /// Deletes an entity with its factors and challenges.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn delete_entity(&self, service: &str, identity: &str) -> Result<bool, DbError> {
        let n = self
            .execute(
                "DELETE FROM verify_entities WHERE service_sid = ?1 AND identity = ?2",
                vec![service.into(), identity.into()],
            )
            .await?;
        Ok(n == 1)
    }

    /// Stores a new factor, unless its entity has `max` already; `false`
    /// then. (A soft cap: two creations at once may both pass the count.)
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn create_factor(&self, f: Factor, max: i64) -> Result<bool, DbError> {
        let count = self
            .query(
                "SELECT COUNT(*) AS n FROM verify_factors WHERE entity_sid = ?1",
                vec![f.entity_sid.clone().into()],
            )
            .await?;
        if count.first().map_or(0, |r| r.int("n")) >= max {
            return Ok(false);
        }
        self.execute(
            "INSERT INTO verify_factors (sid, entity_sid, service_sid, account_sid, identity, \
             friendly_name, verified, alg, code_length, time_step, skew, sealed, last_step, \
             created, updated) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, ?13, ?14)",
            vec![
                f.sid.into(),
                f.entity_sid.into(),
                f.service_sid.into(),
                f.account_sid.into(),
                f.identity.into(),
                f.friendly_name.into(),
                i64::from(f.verified).into(),
                f.alg.into(),
                i64::from(f.code_length).into(),
                i64::from(f.time_step).into(),
                i64::from(f.skew).into(),
                Value::Bytes(f.sealed),
                f.created.into(),
                f.updated.into(),
            ],
        )
        .await?;
        Ok(true)
    }

    /// Stores a factor's name and settings.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn update_factor(&self, f: &Factor) -> Result<(), DbError> {
        self.execute(
            "UPDATE verify_factors SET friendly_name = ?2, alg = ?3, code_length = ?4, \
             time_step = ?5, skew = ?6, updated = ?7 WHERE sid = ?1",
            vec![
                f.sid.clone().into(),
                f.friendly_name.clone().into(),
                f.alg.clone().into(),
                i64::from(f.code_length).into(),
                i64::from(f.time_step).into(),
                i64::from(f.skew).into(),
                f.updated.into(),
            ],
        )
        .await
        .map(drop)
    }

    /// Accepts time step `step` of a factor — and verifies it — if no step
    /// at or after it was accepted: one statement, so two requests with one
    /// code succeed once. Whether it was accepted.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn take_factor_step(&self, sid: &str, step: u64, now: i64) -> Result<bool, DbError> {
        let n = self
            .execute(
                "UPDATE verify_factors SET last_step = ?2, verified = 1, updated = ?3 \
                 WHERE sid = ?1 AND (last_step IS NULL OR last_step < ?2)",
                vec![sid.into(), step_value(step), now.into()],
            )
            .await?;
        Ok(n == 1)
    }

    /// An entity's factor.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn factor(&self, entity: &str, sid: &str) -> Result<Option<Factor>, DbError> {
        let rows = self
            .query(
                select_factors!("WHERE entity_sid = ?1 AND sid = ?2"),
                vec![entity.into(), sid.into()],
            )
            .await?;
        Ok(rows.first().map(read_factor))
    }

    /// An entity's factors, oldest first.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn factors(&self, entity: &str) -> Result<Vec<Factor>, DbError> {
        let rows = self
            .query(
                select_factors!("WHERE entity_sid = ?1 ORDER BY created, sid"),
                vec![entity.into()],
            )
            .await?;
        Ok(rows.iter().map(read_factor).collect())
    }

    /// Deletes a factor and its challenges.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn delete_factor(&self, entity: &str, sid: &str) -> Result<bool, DbError> {
        let n = self
            .execute(
                "DELETE FROM verify_factors WHERE entity_sid = ?1 AND sid = ?2",
                vec![entity.into(), sid.into()],
            )
            .await?;
        Ok(n == 1)
    }

    /// Stores a new challenge.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn create_factor_challenge(&self, c: FactorChallenge) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO verify_factor_challenges (sid, factor_sid, entity_sid, service_sid, \
             account_sid, identity, status, hidden_details, expires, responded, created, updated) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
             NULLIF(CAST(?10 AS BIGINT), -1), ?11, ?12)",
            vec![
                c.sid.into(),
                c.factor_sid.into(),
                c.entity_sid.into(),
                c.service_sid.into(),
                c.account_sid.into(),
                c.identity.into(),
                c.status.into(),
                c.hidden_details.into(),
                c.expires.into(),
                // -1 for none: a typed parameter on PostgreSQL.
                c.responded.unwrap_or(-1).into(),
                c.created.into(),
                c.updated.into(),
            ],
        )
        .await
        .map(drop)
    }

    /// Approves a pending challenge; whether it was pending.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn approve_factor_challenge(&self, sid: &str, now: i64) -> Result<bool, DbError> {
        let n = self
            .execute(
                "UPDATE verify_factor_challenges SET status = 'approved', responded = ?2, \
                 updated = ?2 WHERE sid = ?1 AND status = 'pending'",
                vec![sid.into(), now.into()],
            )
            .await?;
        Ok(n == 1)
    }

    /// An entity's challenge.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn factor_challenge(
        &self,
        entity: &str,
        sid: &str,
    ) -> Result<Option<FactorChallenge>, DbError> {
        let rows = self
            .query(
                select_challenges!("WHERE entity_sid = ?1 AND sid = ?2"),
                vec![entity.into(), sid.into()],
            )
            .await?;
        Ok(rows.first().map(read_challenge))
    }

    /// An entity's challenges, oldest first.
    ///
    /// # Errors
    ///
    /// The database fails.
    pub async fn factor_challenges(&self, entity: &str) -> Result<Vec<FactorChallenge>, DbError> {
        let rows = self
            .query(
                select_challenges!("WHERE entity_sid = ?1 ORDER BY created, sid"),
                vec![entity.into()],
            )
            .await?;
        Ok(rows.iter().map(read_challenge).collect())
    }
}
